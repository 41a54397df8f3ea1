//! Clustering of vectors: DBSCAN, HDBSCAN and k-means, the table that helps choose K, the
//! quality measures (silhouette, purity, adjusted Rand index) and the similarity of two
//! clusters. Pure computation over [`Points`](crate::Points): no SQL, no files. `reeldb-udf` exposes it as
//! window and aggregate functions, `reeldb-query` as table functions and the `CLUSTER`
//! statement.
//!
//! Labels are `i64`: clusters are numbered from 0 in the order the algorithm finds them, and
//! noise is [`NOISE`] (-1), as in scikit-learn.

pub mod choose_k;
pub mod dbscan;
pub mod hdbscan;
pub mod kmeans;
pub mod pair_similarity;
pub mod quality;

/// The label of a point that belongs to no cluster.
pub const NOISE: i64 = -1;
