//! Projections of vectors to two dimensions for maps: PCA and t-SNE, and the
//! trustworthiness measure that says how well a map keeps neighbours. Pure computation over
//! [`crate::cluster::Points`].

pub mod pca;
mod quadtree;
pub mod trustworthiness;
pub mod tsne;
