//! Every function reeldb adds to SQL, registered in one place.
//!
//! The scalar, aggregate and window functions come from `reeldb-udf`
//! ([`reeldb_udf::register_all`]); the table functions (`knn()`, `choose_k()`,
//! `cluster_similarity()`, `face_cooccurrence()`, `pagerank()`) are defined in this crate, because they read the statement's
//! snapshot from the session's catalog. [`register_all`] registers both, and
//! [`all_functions`] lists them with their documentation, from which [`docs`] renders
//! `docs/sql-functions.md`.

pub mod docs;

use std::sync::Arc;

use datafusion::catalog::{MemoryCatalogProvider, TableFunctionImpl};
use datafusion::logical_expr::{Documentation, DocumentationBuilder};
use datafusion::prelude::SessionContext;
use reeldb_udf::ModelRegistry;
use reeldb_udf::analysis::params::ParamSpec;

use crate::cluster_tables::{ChooseKFunction, ClusterSimilarityFunction};
use crate::graph_tables::{FaceCooccurrenceFunction, PageRankFunction};
use crate::vector_search::KnnFunction;

/// A table function with its SQL name and user docs, which DataFusion 55's
/// `TableFunctionImpl` has no place for.
pub trait DocumentedTableFunction: TableFunctionImpl {
    /// The SQL name.
    fn name(&self) -> &'static str;

    /// The user docs, in the form DataFusion's own functions use.
    fn documentation(&self) -> &Documentation;
}

/// Documents each of `specs` as an argument (named as in `'name=value'`), so that a function's
/// docs list the parameters it reads.
pub(crate) fn with_param_arguments(
    builder: DocumentationBuilder,
    specs: &[ParamSpec],
) -> DocumentationBuilder {
    specs.iter().fold(builder, |builder, spec| {
        builder.with_argument(spec.name, capitalised(spec.help))
    })
}

/// `text` with its first letter in upper case.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every table function reeldb adds to SQL, over the tables the session binds in `catalog`.
pub fn all_table_functions(
    catalog: &Arc<MemoryCatalogProvider>,
    cache_vector_files: bool,
) -> Vec<Arc<dyn DocumentedTableFunction>> {
    vec![
        Arc::new(ChooseKFunction::new(Arc::clone(catalog))),
        Arc::new(ClusterSimilarityFunction::new(Arc::clone(catalog))),
        Arc::new(KnnFunction::new(Arc::clone(catalog), cache_vector_files)),
        Arc::new(FaceCooccurrenceFunction::new(Arc::clone(catalog))),
        Arc::new(PageRankFunction::new(Arc::clone(catalog))),
    ]
}

/// Registers every function reeldb adds to SQL with `ctx`: the model functions over
/// `models`, the table functions over the tables the session binds in `catalog`.
pub fn register_all(
    ctx: &SessionContext,
    models: &Arc<ModelRegistry>,
    catalog: &Arc<MemoryCatalogProvider>,
    cache_vector_files: bool,
) {
    reeldb_udf::register_all(ctx, models);
    for function in all_table_functions(catalog, cache_vector_files) {
        ctx.register_udtf(function.name(), function);
    }
}

/// What kind of SQL function a function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunctionKind {
    /// One value per row.
    Scalar,
    /// One value per group.
    Aggregate,
    /// One value per row, computed over its window.
    Window,
    /// A table, in `FROM`.
    Table,
}

impl FunctionKind {
    /// How the docs name it: "scalar", "aggregate", "window" or "table".
    pub fn label(self) -> &'static str {
        match self {
            FunctionKind::Scalar => "scalar",
            FunctionKind::Aggregate => "aggregate",
            FunctionKind::Window => "window",
            FunctionKind::Table => "table",
        }
    }
}

/// One function reeldb adds to SQL, as the docs and the tests see it.
#[derive(Debug, Clone)]
pub struct FunctionEntry {
    /// The SQL name.
    pub name: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// What kind of function it is.
    pub kind: FunctionKind,
    /// Its user docs, if it has them (every one should; a test checks).
    pub documentation: Option<Documentation>,
}

/// Every function [`register_all`] registers, of all kinds, in no particular order.
pub fn all_functions(
    models: &Arc<ModelRegistry>,
    catalog: &Arc<MemoryCatalogProvider>,
    cache_vector_files: bool,
) -> Vec<FunctionEntry> {
    let mut entries = Vec::new();
    for function in reeldb_udf::all_functions(models) {
        entries.push(FunctionEntry {
            name: function.name().to_string(),
            aliases: function.aliases().to_vec(),
            kind: FunctionKind::Scalar,
            documentation: function.documentation().cloned(),
        });
    }
    for function in reeldb_udf::all_aggregate_functions() {
        entries.push(FunctionEntry {
            name: function.name().to_string(),
            aliases: function.aliases().to_vec(),
            kind: FunctionKind::Aggregate,
            documentation: function.documentation().cloned(),
        });
    }
    for function in reeldb_udf::all_window_functions() {
        entries.push(FunctionEntry {
            name: function.name().to_string(),
            aliases: function.aliases().to_vec(),
            kind: FunctionKind::Window,
            documentation: function.documentation().cloned(),
        });
    }
    for function in all_table_functions(catalog, cache_vector_files) {
        entries.push(FunctionEntry {
            name: function.name().to_string(),
            aliases: Vec::new(),
            kind: FunctionKind::Table,
            documentation: Some(function.documentation().clone()),
        });
    }
    entries
}

/// [`all_functions`] as a session without a database has them: what the reference lists.
pub fn function_entries() -> Vec<FunctionEntry> {
    all_functions(
        &Arc::new(ModelRegistry::builtin_only()),
        &Arc::new(MemoryCatalogProvider::new()),
        false,
    )
}

#[cfg(test)]
mod tests;
