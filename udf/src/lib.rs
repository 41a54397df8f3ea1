//! reeldb's SQL functions, as DataFusion user-defined functions.
//!
//! Every scalar, aggregate and window function reeldb adds to SQL is registered through
//! [`register_all`], which the query layer's `reeldb_query::functions::register_all` calls
//! along with the table functions (and that a distributed DataFusion engine would call too).
//! This crate is the home of `similarity()` and `distance()`, of the model functions
//! (`embed()`, `embed_image()`, `classify()`, `top_label()`, `detect_faces()`, `phash()`, `hamming()`) and of
//! the models behind them (`model/`: the built-in image descriptor, ONNX Runtime, CLIP and
//! sentence-transformer layouts, face detectors and alignment, the registry of a database's
//! models).
//!
//! # Adding a SQL function
//! 1. One file per function under `src/scalar/` (clustering and projection: `src/analysis/`),
//!    with a struct `XxxFunc` implementing DataFusion's `ScalarUDFImpl` (`WindowUDFImpl`,
//!    `AggregateUDFImpl`) and user docs as data: a `Documentation` in one of the sections of
//!    [`doc_sections`], with a syntax line, every argument, and an example in the form
//!    DataFusion's docs use (a fenced `sql` block of `> statement;` and its result table)
//!    over the example table of `reeldb_query::functions::docs`.
//! 2. A `LazyLock` singleton `xxx_udf()` in that file (or, for a function that needs the
//!    database's models, a constructor taking the [`ModelRegistry`]), listed in
//!    [`all_functions`] ([`all_aggregate_functions`], [`all_window_functions`]). A table
//!    function lives in the query crate instead and is listed in
//!    `reeldb_query::functions::all_table_functions`.
//! 3. `.slt` cases under `tests/slt/`, error cases included.
//! 4. Regenerate the reference, `docs/sql-functions.md`, which is rendered from the
//!    functions' documentation (a test fails while it differs; it also runs every example
//!    and compares the result), and commit it:
//!    `REELDB_UPDATE_DOCS=1 cargo test -p reeldb-tests --test integration function_docs`.

pub mod analysis;
pub mod model;
pub mod picture;
pub mod scalar;
pub mod vector_arg;

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, DocSection, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use analysis::cluster_method::ClusterMethod;
pub use analysis::cluster_window::cluster_udwf;
pub use analysis::label_agreement::{adjusted_rand_index_udaf, purity_udaf};
pub use analysis::outliers_window::outliers_udwf;
pub use analysis::project_window::project_udwf;
pub use analysis::silhouette_aggregate::silhouette_udaf;
pub use model::registry::ModelRegistry;
pub use scalar::classify::ClassifyFunc;
pub use scalar::detect_faces::DetectFacesFunc;
pub use scalar::distance::distance_udf;
pub use scalar::embed::EmbedFunc;
pub use scalar::embed_image::EmbedImageFunc;
pub use scalar::normalize::normalize_udf;
pub use scalar::pairwise::{Measure, PairwiseVectorFunc, metric_argument};
pub use scalar::phash::{hamming_udf, phash_udf};
pub use scalar::similarity::similarity_udf;
pub use scalar::top_label::top_label_udf;
pub use scalar::vector_add::vector_add_udf;
pub use scalar::vector_concat::vector_concat_udf;
pub use scalar::vector_mean::vector_mean_udaf;
pub use scalar::vector_scale::vector_scale_udf;
pub use scalar::vector_sub::vector_sub_udf;

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

/// The documentation section of the clustering and projection functions.
pub const DOC_SECTION_ANALYSIS: DocSection = DocSection {
    include: true,
    label: "Clustering Functions",
    description: Some("Cluster vectors, project them to 2-D maps, and measure clusterings."),
};

/// The documentation section of the graph functions.
pub const DOC_SECTION_GRAPH: DocSection = DocSection {
    include: true,
    label: "Graph Functions",
    description: Some(
        "Build the graph of which identities appear together across frames, and rank its nodes.",
    ),
};

/// The documentation section of the picture functions.
pub const DOC_SECTION_PICTURE: DocSection = DocSection {
    include: true,
    label: "Picture Functions",
    description: Some(
        "Draw rows as pictures, returned as PNG bytes (BLOB): contact sheets, image clouds, \
         scatter plots, heatmaps and timelines. Row arguments come by position (or by name); \
         options are constants given by name, `columns => 10`.",
    ),
};

/// The documentation sections of reeldb's functions, in the order the reference shows them.
pub fn doc_sections() -> Vec<DocSection> {
    vec![
        DOC_SECTION_VECTOR,
        DOC_SECTION_MODEL,
        DOC_SECTION_ANALYSIS,
        DOC_SECTION_GRAPH,
        DOC_SECTION_PICTURE,
    ]
}

/// Every window function reeldb adds to SQL.
pub fn all_window_functions() -> Vec<Arc<WindowUDF>> {
    vec![cluster_udwf(), outliers_udwf(), project_udwf()]
}

/// Every aggregate function reeldb adds to SQL.
pub fn all_aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    let mut functions = vec![
        silhouette_udaf(),
        purity_udaf(),
        adjusted_rand_index_udaf(),
        vector_mean_udaf(),
    ];
    functions.extend(picture::all_picture_functions());
    functions
}

/// Every scalar function reeldb adds to SQL; the model functions find models in `models`.
pub fn all_functions(models: &Arc<ModelRegistry>) -> Vec<Arc<ScalarUDF>> {
    vec![
        similarity_udf(),
        distance_udf(),
        vector_add_udf(),
        vector_sub_udf(),
        vector_scale_udf(),
        vector_concat_udf(),
        normalize_udf(),
        phash_udf(),
        hamming_udf(),
        top_label_udf(),
        picture::image_size::image_size_udf(),
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
    for function in all_window_functions() {
        ctx.register_udwf(function.as_ref().clone());
    }
    for function in all_aggregate_functions() {
        ctx.register_udaf(function.as_ref().clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Within this crate; `reeldb_query::functions` checks all kinds, table functions and
    /// DataFusion's built-ins included.
    #[test]
    fn no_two_functions_share_a_name() {
        let mut names = HashSet::new();
        let scalar = all_functions(&Arc::new(ModelRegistry::builtin_only()));
        let scalar = scalar.iter().map(|f| (f.name(), f.aliases()));
        let aggregate = all_aggregate_functions();
        let aggregate = aggregate.iter().map(|f| (f.name(), f.aliases()));
        let window = all_window_functions();
        let window = window.iter().map(|f| (f.name(), f.aliases()));
        for (name, aliases) in scalar.chain(aggregate).chain(window) {
            for name in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
                assert!(names.insert(name.to_lowercase()), "duplicate name {name}");
            }
        }
    }
}
