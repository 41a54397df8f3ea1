//! The clustering, outlier and projection functions of SQL: `cluster()`, `outliers()` and
//! `project()` (window functions), `silhouette()`, `purity()` and `adjusted_rand_index()`
//! (aggregates, also usable with OVER), and what they share with the query layer's
//! `choose_k()`, `cluster_similarity()` and `CLUSTER` statement: the methods, their
//! parameters, and the reading of a partition's vectors. The algorithms are in
//! `reeldb_linalg::cluster`, `reeldb_linalg::outliers` and `reeldb_linalg::projection`.

pub mod cluster_method;
pub mod cluster_window;
pub mod label_agreement;
pub mod literal_args;
pub mod outliers_window;
pub mod params;
pub mod partition_vectors;
pub mod project_window;
pub mod projection_method;
pub mod silhouette_aggregate;
