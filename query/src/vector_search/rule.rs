//! The optimizer rule that answers `ORDER BY similarity(col, q) DESC LIMIT k` (and
//! `distance(col, q) ASC`) with a [`VectorTopKNode`] instead of scoring and sorting every row.
//!
//! It matches, after DataFusion's own rules have run:
//!
//! ```text
//! Sort: <e> DESC|ASC, fetch=k            Sort: <e>, fetch=k            (unchanged)
//!   Projection*                    =>      Projection*                 (unchanged)
//!     Filter*                                VectorTopK: table, column, q, k, filters
//!       TableScan: reeldb table
//! ```
//!
//! where `<e>`, followed through the projections, is `similarity(col, constant [, metric])` or
//! `distance(...)` with `col` a vector column of the table. Everything above the scan stays, so
//! the scores, the order and ties are computed by the same expressions as without the rule;
//! the node only has to return the right k rows. Anything else is left alone and runs as an
//! ordinary scan and sort.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    Expr, Extension, LogicalPlan, Projection, Sort, SortExpr, TableScan,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use reeldb_engine::SearchMode;
use reeldb_engine::vector::vector_dimension;
use reeldb_linalg::distance::Metric;
use reeldb_udf::{Measure, PairwiseVectorFunc};

use super::node::{QueryVector, TableHandle, VectorTopKNode};
use super::options::ReeldbOptions;
use crate::table::ReeldbTable;

/// See the module documentation.
#[derive(Debug)]
pub struct VectorTopKRule {
    cache_vector_files: bool,
}

impl VectorTopKRule {
    /// The rule; `cache_vector_files` is false for read-only databases.
    pub fn new(cache_vector_files: bool) -> Self {
        VectorTopKRule { cache_vector_files }
    }
}

impl OptimizerRule for VectorTopKRule {
    fn name(&self) -> &str {
        "vector_top_k"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Sort(sort) = &plan else {
            return Ok(Transformed::no(plan));
        };
        let (Some(k), [sort_expr]) = (sort.fetch, sort.expr.as_slice()) else {
            return Ok(Transformed::no(plan));
        };
        let config_options = config.options();
        let options = config_options
            .extensions
            .get::<ReeldbOptions>()
            .cloned()
            .unwrap_or_default();
        let wanted = Wanted {
            sort: sort_expr,
            k,
            options: &options,
            cache_vector_files: self.cache_vector_files,
        };
        // The planner may alias a sort expression; the alias is only a name.
        let target = sort_expr.expr.clone().unalias_nested().data;
        match replace_scan(&sort.input, target, &wanted)? {
            Some(input) => Ok(Transformed::yes(LogicalPlan::Sort(Sort {
                expr: sort.expr.clone(),
                input: Arc::new(input),
                fetch: sort.fetch,
            }))),
            None => Ok(Transformed::no(plan)),
        }
    }
}

struct Wanted<'a> {
    sort: &'a SortExpr,
    k: usize,
    options: &'a ReeldbOptions,
    cache_vector_files: bool,
}

/// `plan` with its bottom `Filter*`/`TableScan` replaced by a [`VectorTopKNode`], if `target`
/// (an expression over `plan`'s output) is a nearest-neighbour ranking of a table's vectors.
fn replace_scan(
    plan: &LogicalPlan,
    target: Expr,
    wanted: &Wanted<'_>,
) -> Result<Option<LogicalPlan>> {
    match plan {
        LogicalPlan::Projection(projection) => {
            let Some(target) = resolve_through(projection, target)? else {
                return Ok(None);
            };
            let Some(input) = replace_scan(&projection.input, target, wanted)? else {
                return Ok(None);
            };
            Ok(Some(LogicalPlan::Projection(
                Projection::try_new_with_schema(
                    projection.expr.clone(),
                    Arc::new(input),
                    Arc::clone(&projection.schema),
                )?,
            )))
        }
        LogicalPlan::Filter(_) | LogicalPlan::TableScan(_) => {
            let mut filters = Vec::new();
            let mut current = plan;
            while let LogicalPlan::Filter(filter) = current {
                filters.extend(split_conjunction(&filter.predicate).into_iter().cloned());
                current = &filter.input;
            }
            let LogicalPlan::TableScan(scan) = current else {
                return Ok(None);
            };
            // Inexact pushdown keeps each predicate in the Filter as well as in the scan.
            for filter in &scan.filters {
                if !filters.contains(filter) {
                    filters.push(filter.clone());
                }
            }
            Ok(top_k_node(scan, filters, &target, wanted)?.map(|node| {
                LogicalPlan::Extension(Extension {
                    node: Arc::new(node),
                })
            }))
        }
        _ => Ok(None),
    }
}

/// Whether `expr` holds a subquery (which the search operators cannot evaluate).
pub(super) fn has_subquery(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
        ))
    })
    .unwrap_or(true)
}

/// The reeldb table `scan` reads, if it reads every data file of it (not a subset).
pub(super) fn whole_reeldb_table(scan: &TableScan) -> Option<Arc<ReeldbTable>> {
    let provider: Arc<dyn std::any::Any + Send + Sync> = source_as_provider(&scan.source).ok()?;
    let table = provider.downcast::<ReeldbTable>().ok()?;
    table.reads_whole_table().then_some(table)
}

/// A nearest-first ranking: `similarity(a, b [, metric])` sorted descending, or `distance(...)`
/// ascending.
pub(super) struct Ranking<'a> {
    /// The function, `similarity` or `distance`.
    pub function: &'a PairwiseVectorFunc,
    /// The metric, named by the call or cosine.
    pub metric: Metric,
    /// The two vector arguments.
    pub args: [&'a Expr; 2],
}

/// `target` as a [`Ranking`], if sorting it (`ascending` or not) puts the nearest rows first.
pub(super) fn nearest_first_ranking(target: &Expr, ascending: bool) -> Option<Ranking<'_>> {
    let Expr::ScalarFunction(call) = target else {
        return None;
    };
    let function = call.func.inner().downcast_ref::<PairwiseVectorFunc>()?;
    // similarity ranks descending, distance ascending; the other direction asks for the
    // farthest rows, which an index cannot find.
    let nearest_first = match function.measure() {
        Measure::Similarity => !ascending,
        Measure::Distance => ascending,
    };
    if !nearest_first {
        return None;
    }
    let metric = match call.args.get(2) {
        None => Metric::Cosine,
        // A bad name is left to the function, which reports it when it runs.
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(name)) | ScalarValue::Utf8View(Some(name)),
            _,
        )) => name.parse().ok()?,
        Some(_) => return None,
    };
    match call.args.as_slice() {
        [a, b] | [a, b, _] => Some(Ranking {
            function,
            metric,
            args: [a, b],
        }),
        _ => None,
    }
}

/// `target` with the columns of `projection`'s output replaced by the expressions that
/// compute them; `None` if a column is not found.
pub(super) fn resolve_through(projection: &Projection, target: Expr) -> Result<Option<Expr>> {
    let mut resolved = true;
    let expr = target
        .transform_up(|expr| match &expr {
            Expr::Column(column) => match projection.schema.maybe_index_of_column(column) {
                Some(index) => Ok(Transformed::yes(projection.expr[index].clone().unalias())),
                None => {
                    resolved = false;
                    Ok(Transformed::no(expr))
                }
            },
            _ => Ok(Transformed::no(expr)),
        })?
        .data;
    Ok(resolved.then_some(expr))
}

fn top_k_node(
    scan: &TableScan,
    filters: Vec<Expr>,
    target: &Expr,
    wanted: &Wanted<'_>,
) -> Result<Option<VectorTopKNode>> {
    if scan.fetch.is_some() || filters.iter().any(has_subquery) {
        return Ok(None);
    }
    let Some(table) = whole_reeldb_table(scan) else {
        return Ok(None);
    };
    let Some(ranking) = nearest_first_ranking(target, wanted.sort.asc) else {
        return Ok(None);
    };
    let (function, metric) = (ranking.function, ranking.metric);
    let (column, constant) = match (ranking.args[0], ranking.args[1]) {
        (Expr::Column(column), Expr::Literal(value, _))
        | (Expr::Literal(value, _), Expr::Column(column)) => (column, value),
        _ => return Ok(None),
    };
    let table_schema = table.snapshot().table_schema(table.name());
    let Ok(table_schema) = table_schema else {
        return Ok(None);
    };
    let Some(dim) = table_schema
        .field_with_name(&column.name)
        .ok()
        .and_then(|field| vector_dimension(field.data_type()))
    else {
        return Ok(None);
    };
    if !scan.projected_schema.has_column(column) {
        return Ok(None);
    }
    // A NULL, malformed or wrong-length query is left to the function, which reports it.
    let Ok(Some(query)) = reeldb_udf::vector_arg::constant_vector(function.name_str(), 2, constant)
    else {
        return Ok(None);
    };
    if query.len() != dim {
        return Ok(None);
    }
    let search = choose_search(&table, &column.name, metric, wanted.options, None);
    Ok(Some(VectorTopKNode {
        table_name: scan.table_name.clone(),
        table: TableHandle(Arc::clone(&table)),
        projection: scan.projection.clone(),
        schema: Arc::clone(&scan.projected_schema),
        column: column.name.clone(),
        query: QueryVector(query),
        metric,
        k: wanted.k,
        filters,
        nulls_first: wanted.sort.nulls_first,
        search,
        cache_vector_files: wanted.cache_vector_files,
    }))
}

/// The index to search: one on `column` built with `metric`, unless the session turned
/// indexes off. Its candidate list size is `ef_search` if given, else the session's
/// (`SET reeldb.ef_search`), else the index's own.
pub(super) fn choose_search(
    table: &ReeldbTable,
    column: &str,
    metric: Metric,
    options: &ReeldbOptions,
    ef_search: Option<usize>,
) -> SearchMode {
    if !options.use_vector_index {
        return SearchMode::Exact;
    }
    let Ok(entry) = table.snapshot().table(table.name()) else {
        return SearchMode::Exact;
    };
    entry
        .indexes
        .iter()
        .find(|index| index.column == column && index.metric == metric.name())
        .map_or(SearchMode::Exact, |index| SearchMode::Index {
            name: index.name.clone(),
            ef_search: ef_search.or((options.ef_search > 0).then_some(options.ef_search)),
        })
}
