//! reeldb's vector maths: the distance kernels, exact nearest neighbours, clustering, outlier
//! scores and 2-D projections, over vectors held in memory; and the graphs of identities built
//! from the clusters (co-occurrence across frames, PageRank).
//!
//! Everything here is pure computation on `f32` slices: no files, no Arrow, no SQL. The
//! storage engine uses the kernels for its scans and indexes; the SQL functions (`cluster()`,
//! `project()`, `silhouette()`, ...) call the algorithms on a partition's vectors. Keeping
//! them in a crate of their own, as Lance keeps `lance-linalg`, lets the maths be tested and
//! benchmarked without building the storage or SQL stacks, and keeps the SIMD `unsafe` in
//! one small place (`distance.rs` and `neighbours/tiles.rs`).
//!
//! ```
//! use reeldb_linalg::cluster::dbscan::{DbscanParams, dbscan};
//! use reeldb_linalg::Points;
//!
//! // Two tight pairs, far apart.
//! let data = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
//! let points = Points::new(&data, 2)?;
//! let params = DbscanParams { min_samples: 2, ..DbscanParams::new(0.5) };
//! let labels = dbscan(&points, &params)?;
//! assert_eq!(labels, [0, 0, 1, 1]);
//! # Ok::<(), reeldb_linalg::Error>(())
//! ```
//!
//! # Determinism
//! Every algorithm gives bit-identical results for the same input and seed, whatever the
//! number of threads: work is split by rows, and reductions run in a fixed order. Random
//! choices come from [`SeededRng`], a generator of our own whose stream never changes with a
//! crate version.
//!
//! # Adding an algorithm
//! Take a [`Points`] (already checked: whole rows, finite values) and a parameter struct with
//! defaults; check the parameters first and return [`Error::InvalidArgument`] naming the
//! parameter and the values it takes; use the kernels of [`distance`] or the neighbour scans
//! of [`neighbours`]; add a unit test against a reference (scikit-learn's output, committed
//! by a script) and a timing test behind `#[ignore]`.

pub mod cluster;
pub mod distance;
mod error;
pub mod graph;
pub mod neighbours;
pub mod outliers;
pub mod points;
pub mod projection;
pub mod rng;

pub use distance::Metric;
pub use error::{Error, Result};
pub use points::Points;
pub use rng::SeededRng;
