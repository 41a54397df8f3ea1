//! HNSW vector indexes (`hnsw_rs`): built in `build.rs`, written, checked and loaded in
//! `persist.rs`, searched in `search.rs`.
//!
//! A build writes hnsw_rs's dump (`graph.hnsw.graph`, `graph.hnsw.data`) into a fresh
//! directory `indexes/<name>-<version>/`, syncs it, and records the files with their sizes and
//! checksums in a [`VectorIndexEntry`] that the same transaction publishes. A crash before the
//! commit leaves an unreferenced directory, which vacuum deletes; a crash after it leaves a
//! complete, checked index. So the index never disagrees with the data it says it covers.
//!
//! Each graph node's id is `(file ordinal) << 32 | row`, where the ordinal is the data file's
//! position in [`VectorIndexEntry::covered`]. Cosine graphs hold normalised vectors and use
//! `1 − a·b`; l2 graphs use the squared distance (same order, no square root). The search
//! code re-ranks every hit with the exact metric, so these internal distances never leak.

use hnsw_rs::prelude::Distance;
use reeldb_linalg::Metric;
use reeldb_linalg::distance::{dot, l1, squared_l2};

use crate::manifest::VectorIndexEntry;

mod build;
mod persist;
mod search;

pub use build::SEQUENTIAL_BUILD_BELOW;
pub(crate) use build::build_index;
use persist::LoadedGraph;

/// The dump's base name inside a build directory.
const DUMP_NAME: &str = "graph";
/// hnsw_rs's maximum number of layers.
const MAX_LAYERS: usize = 16;

/// The distance hnsw_rs uses inside a graph (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphDistance {
    metric: Metric,
}

impl Distance<f32> for GraphDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.metric {
            // hnsw_rs requires distances ≥ 0; rounding can make 1 − a·b of unit vectors -1e-7.
            Metric::Cosine => (1.0 - dot(a, b)).max(0.0),
            Metric::L2 => squared_l2(a, b),
            Metric::L1 => l1(a, b),
            // Refused when the index is created; kept total for safety.
            Metric::Dot => (1.0 - dot(a, b)).max(0.0),
        }
    }
}

/// The id of `row` of the data file at `ordinal` in the covered list.
pub(crate) fn node_id(ordinal: usize, row: usize) -> usize {
    (ordinal << 32) | row
}

/// The (file ordinal, row) of a node id.
pub(crate) fn split_node_id(id: usize) -> (usize, usize) {
    (id >> 32, id & 0xFFFF_FFFF)
}

/// A vector index ready to search.
pub struct VectorIndex {
    entry: VectorIndexEntry,
    metric: Metric,
    graph: LoadedGraph,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

impl VectorIndex {
    /// The manifest entry of this index.
    pub fn entry(&self) -> &VectorIndexEntry {
        &self.entry
    }

    /// The metric the graph was built with.
    pub fn metric(&self) -> Metric {
        self.metric
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        for (ordinal, row) in [(0, 0), (1, 5), (700, 4_000_000_000)] {
            assert_eq!(split_node_id(node_id(ordinal, row)), (ordinal, row));
        }
    }
}
