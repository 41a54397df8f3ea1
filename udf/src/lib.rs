//! reeldb's SQL functions, as DataFusion user-defined functions.
//!
//! Every function reeldb adds to SQL is registered through [`register_all`], the one entry
//! point the query layer calls (and that a distributed DataFusion engine would call too).
//! This crate is the home of `similarity()` and `distance()`, of the model functions
//! (`embed()`, `embed_image()`, `classify()`, `detect_faces()`, `phash()`, `hamming()`) and of
//! the models behind them (`model/`: the built-in image descriptor, ONNX Runtime, CLIP and
//! sentence-transformer layouts, face detectors and alignment, the registry of a database's
//! models).
//!
//! # Adding a SQL function
//! 1. One file per function under `src/scalar/` (or `aggregate/`, `window/`, `table/`), with a
//!    struct `XxxFunc` implementing DataFusion's `ScalarUDFImpl` and user docs as data.
//! 2. A `LazyLock` singleton `xxx_udf()` in that file (or, for a function that needs the
//!    database's models, a constructor taking the [`ModelRegistry`]), listed in
//!    [`all_functions`].
//! 3. `.slt` cases under `tests/slt/`, error cases included.

pub mod model;
pub mod scalar;
pub mod vector_arg;

use std::sync::Arc;

use datafusion::logical_expr::{DocSection, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use model::registry::ModelRegistry;
pub use scalar::classify::ClassifyFunc;
pub use scalar::detect_faces::DetectFacesFunc;
pub use scalar::distance::distance_udf;
pub use scalar::embed::EmbedFunc;
pub use scalar::embed_image::EmbedImageFunc;
pub use scalar::pairwise::{Measure, PairwiseVectorFunc, metric_argument};
pub use scalar::phash::{hamming_udf, phash_udf};
pub use scalar::similarity::similarity_udf;

/// The documentation section of the vector functions.
pub const DOC_SECTION_VECTOR: DocSection = DocSection {
    include: true,
    label: "Vector Functions",
    description: Some("Compare, search and transform embedding vectors."),
};

/// The documentation section of the model functions.
pub const DOC_SECTION_MODEL: DocSection = DocSection {
    include: true,
    label: "Model Functions",
    description: Some("Embed images and texts with models, classify, and hash images."),
};

/// Every scalar function reeldb adds to SQL; the model functions find models in `models`.
pub fn all_functions(models: &Arc<ModelRegistry>) -> Vec<Arc<ScalarUDF>> {
    vec![
        similarity_udf(),
        distance_udf(),
        phash_udf(),
        hamming_udf(),
        Arc::new(ScalarUDF::new_from_impl(EmbedFunc::new(Arc::clone(models)))),
        Arc::new(ScalarUDF::new_from_impl(EmbedImageFunc::new(Arc::clone(
            models,
        )))),
        Arc::new(ScalarUDF::new_from_impl(ClassifyFunc::new(Arc::clone(
            models,
        )))),
        Arc::new(ScalarUDF::new_from_impl(DetectFacesFunc::new(Arc::clone(
            models,
        )))),
    ]
}

/// Registers every reeldb function with `ctx`, the model functions over `models`.
pub fn register_all(ctx: &SessionContext, models: &Arc<ModelRegistry>) {
    for function in all_functions(models) {
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
        for function in all_functions(&Arc::new(ModelRegistry::builtin_only())) {
            assert!(
                names.insert(function.name().to_string()),
                "{}",
                function.name()
            );
        }
    }
}
