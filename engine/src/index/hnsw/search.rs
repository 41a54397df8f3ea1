//! Searching a loaded HNSW graph.

use hnsw_rs::prelude::FilterT;
use reeldb_linalg::Metric;

use super::{VectorIndex, split_node_id};

impl VectorIndex {
    /// The `k` nodes nearest to `query` that `keep` accepts, searched with candidate list
    /// size `ef`; as `(file ordinal, row)` pairs, nearest first.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: Option<&(dyn Fn(usize, usize) -> bool + Sync)>,
    ) -> Vec<(usize, usize)> {
        let normalised;
        let query = if self.metric == Metric::Cosine {
            let norm = reeldb_linalg::distance::norm(query);
            normalised = query.iter().map(|x| x / norm).collect::<Vec<_>>();
            &normalised[..]
        } else {
            query
        };
        let filter = |id: &usize| {
            let (ordinal, row) = split_node_id(*id);
            keep.is_none_or(|keep| keep(ordinal, row))
        };
        // hnsw_rs stops a search early only without a filter; with one it goes on through
        // every candidate closer than the current results (about ten times the work at
        // ef 16 on siftsmall), so pass one only when some nodes must be skipped.
        let filter = keep.is_some().then_some(&filter as &dyn FilterT);
        self.graph.with_dependent(|_, graph| {
            graph
                .search_filter(query, k, ef.max(k), filter)
                .into_iter()
                .map(|n| split_node_id(n.d_id))
                .collect()
        })
    }
}
