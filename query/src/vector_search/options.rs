//! Session settings of vector search: `SET reeldb.ef_search = 128`,
//! `SET reeldb.use_vector_index = false`.

use datafusion::common::config::ConfigExtension;
use datafusion::common::extensions_options;

extensions_options! {
    /// reeldb's settings, under the `reeldb.` prefix.
    pub struct ReeldbOptions {
        /// HNSW candidate list size for searches in this session; 0 uses each index's own
        /// default (its `ef_search` parameter). Larger finds more of the true neighbours,
        /// more slowly.
        pub ef_search: usize, default = 0
        /// Whether nearest-neighbour queries may use vector indexes; `false` makes every
        /// search an exact scan (to measure recall, say).
        pub use_vector_index: bool, default = true
    }
}

impl ConfigExtension for ReeldbOptions {
    const PREFIX: &'static str = "reeldb";
}
