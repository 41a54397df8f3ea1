//! Table functions over a table's clusters: `choose_k()` (measures for choosing K) and
//! `cluster_similarity()` (how alike the clusters of two partitions are). They read a
//! table of the statement's snapshot and compute their rows when the result is read.

pub mod choose_k;
pub mod cluster_similarity;
pub mod computed;
pub mod table_input;

pub use choose_k::ChooseKFunction;
pub use cluster_similarity::ClusterSimilarityFunction;
