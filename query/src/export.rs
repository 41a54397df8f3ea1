//! Files reeldb writes for other programs to read. Each writer takes a plain Rust value
//! (no SQL), writes every file atomically (a temporary file in the same directory, then a
//! rename), and refuses a directory inside a reeldb database, which only the engine writes.
//!
//! - [`gephi`]: the graph of identities for Gephi (`nodes.csv`, `edges.csv`, `graph.gexf`,
//!   `crops/`).
//! - [`face_graph`]: that graph made from a faces table through SQL (`reeldb export ...
//!   gephi`).

pub mod face_graph;
pub mod gephi;

pub use face_graph::{FaceGraphOptions, face_graph};
pub use gephi::{GephiEdge, GephiFiles, GephiGraph, GephiNode, write_gephi};
