//! Vector indexes: how a table's vectors are organised so that a top-k search does not have
//! to score every row.
//!
//! Each index family has a folder with the same roles (as lance-index): `build` makes the
//! structure from a table's flat vector files, `search` answers a query from it, and
//! `persist` writes it into a directory of its own, checks and loads it. HNSW (`hnsw/`) is
//! the only family today; [`IndexSpec`] is what `CREATE VECTOR INDEX ... WITH (...)` asks
//! for. The manifest records each built index ([`crate::VectorIndexEntry`]) with the data
//! files it covers, so an index is tied to the snapshot it was built from.
//!
//! # Adding an index type
//! Mirror `hnsw/`'s files, give the manifest entry a method name that selects it, and make
//! [`crate::Snapshot::vector_search`] search it; keep the on-disk layout in `docs/format.md`.

pub mod hnsw;
mod spec;

pub use spec::IndexSpec;
