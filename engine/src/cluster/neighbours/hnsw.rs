//! Approximate radius neighbourhoods from an in-memory HNSW graph (`hnsw_rs`): each point's
//! `k` nearest by graph search, `k` doubling while the farthest found is still within the
//! radius. A graph search can miss true neighbours (it explores only part of the graph), so
//! a neighbourhood may come out smaller than the exact one; it never holds a point beyond
//! the radius, because every hit is measured with [`Prepared::distance`].
//!
//! The graph is built one insertion at a time: hnsw_rs draws node levels from a seeded
//! generator, so a sequential build (and so every answer) is the same on every run, where a
//! parallel build would depend on thread timing. The searches run in parallel; each is
//! deterministic.

use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::prelude::Distance;
use rayon::prelude::*;

use super::{ClusterMetric, NeighbourPairs, Prepared};
use crate::distance::{dot, squared_l2};

/// Links per node (HNSW's M).
const LINKS: usize = 16;
/// Candidate list size while building.
const EF_CONSTRUCTION: usize = 100;
/// The smallest candidate list size while searching (it is at least `k`).
const MIN_EF_SEARCH: usize = 64;
/// hnsw_rs's maximum number of layers.
const MAX_LAYERS: usize = 16;

/// The graph's distance: exactly [`Prepared::distance`] for cosine, its square for Euclidean
/// (same order, no square root).
#[derive(Debug, Clone, Copy)]
struct GraphDistance(ClusterMetric);

impl Distance<f32> for GraphDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.0 {
            ClusterMetric::Euclidean => squared_l2(a, b),
            // As `Prepared::distance_to`; hnsw_rs requires distances ≥ 0.
            ClusterMetric::Cosine => (1.0 - dot(a, b)).max(0.0),
        }
    }
}

impl GraphDistance {
    /// The graph's distance as a [`Prepared::distance`] (the same bits).
    fn to_distance(self, graph_distance: f32) -> f32 {
        match self.0 {
            ClusterMetric::Euclidean => graph_distance.sqrt(),
            ClusterMetric::Cosine => graph_distance,
        }
    }
}

/// Every pair `i < j` such that the graph search from `i` finds `j` within `radius`, or the
/// one from `j` finds `i` (so the neighbourhoods are symmetric, as exact ones are). Searches
/// start at `first_k` neighbours.
pub(crate) fn hnsw_radius_pairs(
    prepared: &Prepared,
    radius: f32,
    first_k: usize,
) -> NeighbourPairs {
    let n = prepared.len();
    if n == 0 || radius.is_nan() || radius < 0.0 {
        return NeighbourPairs::from_lists(&vec![Vec::new(); n]);
    }
    let distance = GraphDistance(prepared.metric());
    let graph = Hnsw::<f32, GraphDistance>::new(LINKS, n, MAX_LAYERS, EF_CONSTRUCTION, distance);
    for i in 0..n {
        graph.insert_slice((prepared.row(i), i));
    }
    let found: Vec<Vec<u32>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let query = prepared.row(i);
            let mut k = first_k.clamp(1, n);
            loop {
                let hits = graph.search(query, k, k.max(MIN_EF_SEARCH));
                let all_within = hits
                    .iter()
                    .all(|hit| distance.to_distance(hit.distance) <= radius);
                // Fewer hits than asked: the search reached every node it could.
                if all_within && hits.len() == k && k < n {
                    k = (2 * k).min(n);
                    continue;
                }
                let mut within: Vec<u32> = hits
                    .iter()
                    .filter(|hit| hit.d_id != i && distance.to_distance(hit.distance) <= radius)
                    .map(|hit| hit.d_id as u32)
                    .collect();
                within.sort_unstable();
                return within;
            }
        })
        .collect();
    let mut later: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, neighbours) in found.iter().enumerate() {
        for &j in neighbours {
            let (low, high) = if (j as usize) < i {
                (j as usize, i as u32)
            } else {
                (i, j)
            };
            later[low].push(high);
        }
    }
    later.par_iter_mut().for_each(|list| {
        list.sort_unstable();
        list.dedup();
    });
    NeighbourPairs::from_lists(&later)
}
