//! reeldb's SQL functions, as DataFusion user-defined functions.
//!
//! Every function reeldb adds to SQL is registered through [`register_all`], the one entry
//! point the query layer calls (and that a distributed DataFusion engine would call too).
//! This crate is the home of `similarity()` and `distance()` (and, later, `embed()` and
//! `cluster()`).
//!
//! # Adding a SQL function
//! 1. One file per function under `src/scalar/` (or `aggregate/`, `window/`, `table/`), with a
//!    struct `XxxFunc` implementing DataFusion's `ScalarUDFImpl` and user docs as data.
//! 2. A `LazyLock` singleton `xxx_udf()` in that file, listed in [`all_functions`].
//! 3. `.slt` cases under `tests/slt/`, error cases included.

pub mod scalar;
pub mod vector_arg;

use std::sync::Arc;

use datafusion::logical_expr::{DocSection, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use scalar::distance::distance_udf;
pub use scalar::pairwise::{Measure, PairwiseVectorFunc, metric_argument};
pub use scalar::similarity::similarity_udf;

/// The documentation section of the vector functions.
pub const DOC_SECTION_VECTOR: DocSection = DocSection {
    include: true,
    label: "Vector Functions",
    description: Some("Compare, search and transform embedding vectors."),
};

/// Every scalar function reeldb adds to SQL.
pub fn all_functions() -> Vec<Arc<ScalarUDF>> {
    vec![similarity_udf(), distance_udf()]
}

/// Registers every reeldb function with `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for function in all_functions() {
        ctx.register_udf(function.as_ref().clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_two_functions_share_a_name() {
        let mut names = HashSet::new();
        for function in all_functions() {
            assert!(
                names.insert(function.name().to_string()),
                "{}",
                function.name()
            );
        }
    }
}
