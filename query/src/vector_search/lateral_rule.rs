//! The analyzer rule that answers per-row nearest-neighbour subqueries with a
//! [`LateralVectorTopKNode`]:
//!
//! ```sql
//! SELECT a.id, n.id, n.s FROM frames a, LATERAL (
//!     SELECT id, similarity(a.embedding, b.embedding) AS s FROM frames b ORDER BY s DESC LIMIT 5) n
//! ```
//!
//! DataFusion 55 cannot run a lateral subquery with `ORDER BY ... LIMIT` (it leaves the outer
//! references in the plan and fails in physical planning). The rule matches, before the
//! optimizer decorrelates anything:
//!
//! ```text
//! Join (inner, no condition)                       Projection: outer.*, n.*  (renames)
//!   outer                                            Projection*: outer.*, <subquery's>
//!   SubqueryAlias n?                       =>          LateralVectorTopK: query=<outer vector>,
//!     Subquery                                           k, filters, correlated filters
//!       Projection* / Limit k / Projection*                outer
//!         Sort: <ranking>
//!           Projection* / Filter*
//!             SubqueryAlias b? / TableScan: reeldb table
//! ```
//!
//! where the ranking, followed through the projections, is `similarity(<outer>, b.col)` DESC or
//! `distance(...)` ASC with `<outer>` an expression of the outer row alone. The subquery's
//! projections are kept (with outer references made plain columns and the outer columns passed
//! through), so scores are computed by the same expressions as the SQL. It runs as an analyzer
//! rule because DataFusion's optimizer drops the outer columns the subquery reads from the outer
//! plan's projection before a later rule could see them.

use datafusion::datasource::TableProvider;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Column, DFSchemaRef, Result, TableReference, plan_err};
use datafusion::logical_expr::logical_plan::{FetchType, SkipType};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    Expr, Extension, Join, JoinType, LogicalPlan, Projection, SortExpr, Subquery, TableScan,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use reeldb_engine::vector::vector_dimension;

use super::lateral_node::LateralVectorTopKNode;
use super::node::TableHandle;
use super::options::ReeldbOptions;
use super::rule::whole_reeldb_table;
use super::rule::{choose_search, has_subquery, nearest_first_ranking, resolve_through};

/// See the module documentation.
#[derive(Debug)]
pub struct LateralVectorTopKRule {
    cache_vector_files: bool,
}

impl LateralVectorTopKRule {
    /// The rule; `cache_vector_files` is false for read-only databases.
    pub fn new(cache_vector_files: bool) -> Self {
        LateralVectorTopKRule { cache_vector_files }
    }
}

impl AnalyzerRule for LateralVectorTopKRule {
    fn name(&self) -> &str {
        "lateral_vector_top_k"
    }

    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        let options = config
            .extensions
            .get::<ReeldbOptions>()
            .cloned()
            .unwrap_or_default();
        plan.transform_up_with_subqueries(|plan| {
            let LogicalPlan::Join(join) = &plan else {
                return Ok(Transformed::no(plan));
            };
            match self.rewrite_join(join, &options, config)? {
                Some(rewritten) => Ok(Transformed::yes(rewritten)),
                None if is_correlated_limit(&join.right) => plan_err!(
                    "a LATERAL subquery with LIMIT that reads the outer row runs only as a \
                     nearest-neighbour search: ORDER BY similarity(<outer vector>, <vector \
                     column>) DESC, or distance(...) ASC, then LIMIT k, over one table with an \
                     optional WHERE; for other rankings, join and keep row_number() OVER \
                     (PARTITION BY ...) <= k"
                ),
                None => Ok(Transformed::no(plan)),
            }
        })
        .data()
    }
}

/// The pieces of a lateral top-k subquery, top to bottom.
struct LateralSubquery<'a> {
    /// The name the join gives the subquery's columns (`None`: they keep their own).
    alias: Option<&'a TableReference>,
    /// How many rows to skip, then how many to return.
    skip: usize,
    fetch: usize,
    /// Every projection, bottom-up (the sort and limit between them only order and cut).
    projections: Vec<&'a Projection>,
    /// How many of `projections` are below the sort.
    below_sort: usize,
    sort: &'a SortExpr,
    /// The predicates of the `WHERE` clause.
    filters: Vec<Expr>,
    /// The schema the lowest projection and the filters read: the scan's, renamed by the
    /// table's alias.
    scan_schema: &'a DFSchemaRef,
    scan: &'a TableScan,
}

impl LateralSubquery<'_> {
    /// The table position of `column`, a column of `scan_schema`.
    fn table_position(&self, column: &Column) -> Option<usize> {
        let index = self.scan_schema.maybe_index_of_column(column)?;
        match &self.scan.projection {
            Some(projection) => projection.get(index).copied(),
            None => Some(index),
        }
    }
}

/// `plan` as a subquery in `FROM`, with its alias if it has one.
fn aliased_subquery(plan: &LogicalPlan) -> Option<(Option<&TableReference>, &Subquery)> {
    match plan {
        LogicalPlan::SubqueryAlias(alias) => match alias.input.as_ref() {
            LogicalPlan::Subquery(subquery) => Some((Some(&alias.alias), subquery)),
            _ => None,
        },
        LogicalPlan::Subquery(subquery) => Some((None, subquery)),
        _ => None,
    }
}

/// Takes `plan` apart as a lateral top-k subquery; `None` if it has another shape.
fn match_subquery(right: &LogicalPlan) -> Result<Option<LateralSubquery<'_>>> {
    let Some((alias, subquery)) = aliased_subquery(right) else {
        return Ok(None);
    };
    let mut plan = subquery.subquery.as_ref();
    let mut above: Vec<&Projection> = Vec::new();
    while let LogicalPlan::Projection(projection) = plan {
        above.push(projection);
        plan = &projection.input;
    }
    let LogicalPlan::Limit(limit) = plan else {
        return Ok(None);
    };
    let (FetchType::Literal(Some(fetch)), SkipType::Literal(skip)) =
        (limit.get_fetch_type()?, limit.get_skip_type()?)
    else {
        return Ok(None);
    };
    plan = &limit.input;
    while let LogicalPlan::Projection(projection) = plan {
        above.push(projection);
        plan = &projection.input;
    }
    let LogicalPlan::Sort(sort) = plan else {
        return Ok(None);
    };
    let [sort_expr] = sort.expr.as_slice() else {
        return Ok(None);
    };
    plan = &sort.input;
    let mut below: Vec<&Projection> = Vec::new();
    while let LogicalPlan::Projection(projection) = plan {
        below.push(projection);
        plan = &projection.input;
    }
    let mut filters = Vec::new();
    while let LogicalPlan::Filter(filter) = plan {
        filters.extend(split_conjunction(&filter.predicate).into_iter().cloned());
        plan = &filter.input;
    }
    let scan_schema = plan.schema();
    if let LogicalPlan::SubqueryAlias(alias) = plan {
        plan = &alias.input;
    }
    let LogicalPlan::TableScan(scan) = plan else {
        return Ok(None);
    };
    if scan.fetch.is_some() || !scan.filters.is_empty() {
        return Ok(None);
    }
    let below_sort = below.len();
    let projections = below
        .into_iter()
        .rev()
        .chain(above.into_iter().rev())
        .collect();
    Ok(Some(LateralSubquery {
        alias,
        skip,
        fetch,
        projections,
        below_sort,
        sort: sort_expr,
        filters,
        scan_schema,
        scan,
    }))
}

/// Whether `right` is a subquery that reads the outer row and has a `LIMIT` (which
/// DataFusion cannot run).
fn is_correlated_limit(right: &LogicalPlan) -> bool {
    let Some((_, subquery)) = aliased_subquery(right) else {
        return false;
    };
    !subquery.outer_ref_columns.is_empty()
        && subquery
            .subquery
            .exists(|plan| Ok(matches!(plan, LogicalPlan::Limit(_))))
            .unwrap_or(false)
}

/// Whether `expr` reads a column of the outer query.
fn has_outer_reference(expr: &Expr) -> bool {
    expr.exists(|e| Ok(matches!(e, Expr::OuterReferenceColumn(..))))
        .unwrap_or(true)
}

/// `expr` with its outer references made plain columns (of the outer row).
fn outer_references_as_columns(expr: Expr) -> Result<Expr> {
    expr.transform_up(|e| match e {
        Expr::OuterReferenceColumn(_, column) => Ok(Transformed::yes(Expr::Column(column))),
        other => Ok(Transformed::no(other)),
    })
    .data()
}

impl LateralVectorTopKRule {
    fn rewrite_join(
        &self,
        join: &Join,
        options: &ReeldbOptions,
        config: &ConfigOptions,
    ) -> Result<Option<LogicalPlan>> {
        let unconditional = match &join.filter {
            None => true,
            Some(Expr::Literal(value, _)) => value == &true.into(),
            Some(_) => false,
        };
        if join.join_type != JoinType::Inner || !join.on.is_empty() || !unconditional {
            return Ok(None);
        }
        let Some(subquery) = match_subquery(&join.right)? else {
            return Ok(None);
        };
        let Some(table) = whole_reeldb_table(subquery.scan) else {
            return Ok(None);
        };
        // The ranking, as an expression over the scan's columns and the outer row.
        let mut target = subquery.sort.expr.clone().unalias_nested().data;
        for projection in subquery.projections[..subquery.below_sort].iter().rev() {
            match resolve_through(projection, target)? {
                Some(resolved) => target = resolved,
                None => return Ok(None),
            }
        }
        let Some(ranking) = nearest_first_ranking(&target, subquery.sort.asc) else {
            return Ok(None);
        };
        let (column, outer_vector) = match ranking.args {
            [Expr::Column(column), other] | [other, Expr::Column(column)]
                if has_outer_reference(other) && other.column_refs().is_empty() =>
            {
                (column, other)
            }
            _ => return Ok(None),
        };
        let Some(vector_position) = subquery.table_position(column) else {
            return Ok(None);
        };
        let table_schema = table.schema();
        let vector_field = table_schema.field(vector_position);
        if vector_dimension(vector_field.data_type()).is_none() {
            return Ok(None);
        }
        let (mut filters, mut correlated_filters) = (Vec::new(), Vec::new());
        for filter in &subquery.filters {
            if has_subquery(filter) {
                return Ok(None);
            }
            if has_outer_reference(filter) {
                correlated_filters.push(outer_references_as_columns(filter.clone())?);
            } else {
                filters.push(filter.clone());
            }
        }
        // The table columns the kept expressions read.
        let lowest_reads = subquery
            .projections
            .first()
            .map(|projection| projection.expr.as_slice())
            .unwrap_or_default();
        let mut projection: Vec<usize> = Vec::new();
        for expr in lowest_reads.iter().chain(&correlated_filters) {
            for column in expr.column_refs() {
                if let Some(position) = subquery.table_position(column) {
                    projection.push(position);
                }
            }
        }
        projection.sort_unstable();
        projection.dedup();
        let table_name = match subquery.scan_schema.qualified_field(0).0 {
            Some(qualifier) => qualifier.clone(),
            None => subquery.scan.table_name.clone(),
        };
        let table_handle = TableHandle(Arc::clone(&table));
        let input = join.left.as_ref().clone();
        let schema =
            LateralVectorTopKNode::joined_schema(&input, &table_name, &table_handle, &projection)?;
        let search = choose_search(&table, vector_field.name(), ranking.metric, options, None);
        let node = LateralVectorTopKNode {
            input,
            query: outer_references_as_columns(outer_vector.clone())?,
            table_name: table_name.clone(),
            table: table_handle,
            projection: projection.clone(),
            column: vector_field.name().clone(),
            function: ranking.function.name_str().to_string(),
            metric: ranking.metric,
            k: subquery.fetch,
            skip: subquery.skip,
            // The optimizer does not see these (see the node's `expressions`): simplify them
            // here, as it would, so that constants are folded once.
            filters: simplify(filters, subquery.scan_schema, config)?,
            correlated_filters: simplify(correlated_filters, &schema, config)?,
            nulls_first: subquery.sort.nulls_first,
            search,
            cache_vector_files: self.cache_vector_files,
            schema: Arc::clone(&schema),
        };
        let outer_columns = join.left.schema().columns();
        let mut plan = LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        });
        // Where each column of the previous stage's output now is in `plan`.
        let mut placed: Vec<Option<Column>> = (0..subquery.scan_schema.fields().len())
            .map(|index| {
                let position = match &subquery.scan.projection {
                    Some(scan_projection) => scan_projection[index],
                    None => index,
                };
                projection.binary_search(&position).ok().map(|_| {
                    Column::new(
                        Some(table_name.clone()),
                        table_schema.field(position).name(),
                    )
                })
            })
            .collect();
        let mut previous_schema = subquery.scan_schema;
        for stage in &subquery.projections {
            let mut exprs: Vec<Expr> = outer_columns.iter().cloned().map(Expr::Column).collect();
            for (expr, (qualifier, field)) in stage.expr.iter().zip(stage.schema.iter()) {
                let Some(expr) = place_columns(expr.clone(), previous_schema, &placed)? else {
                    return Ok(None);
                };
                exprs.push(expr.alias_qualified(qualifier.cloned(), field.name()));
            }
            plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan))?);
            let schema = plan.schema();
            placed = (outer_columns.len()..schema.fields().len())
                .map(|index| Some(Column::from(schema.qualified_field(index))))
                .collect();
            previous_schema = &stage.schema;
        }
        // The join names the subquery's columns by its alias.
        if let Some(alias) = subquery.alias {
            let mut exprs: Vec<Expr> = outer_columns.iter().cloned().map(Expr::Column).collect();
            for (column, field) in placed.iter().zip(previous_schema.fields()) {
                let Some(column) = column else {
                    return Ok(None);
                };
                exprs.push(
                    Expr::Column(column.clone()).alias_qualified(Some(alias.clone()), field.name()),
                );
            }
            plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan))?);
        }
        // Anything else (duplicate names, say) is left to DataFusion.
        let same_columns = plan.schema().fields().len() == join.schema.fields().len()
            && plan
                .schema()
                .iter()
                .zip(join.schema.iter())
                .all(|((q1, f1), (q2, f2))| q1 == q2 && f1.name() == f2.name());
        Ok(same_columns.then_some(plan))
    }
}

/// `exprs` (over `schema`) simplified as DataFusion's optimizer would.
fn simplify(exprs: Vec<Expr>, schema: &DFSchemaRef, config: &ConfigOptions) -> Result<Vec<Expr>> {
    if exprs.is_empty() {
        return Ok(exprs);
    }
    let context = SimplifyContext::builder()
        .with_schema(Arc::clone(schema))
        .with_config_options(Arc::new(config.clone()))
        .build();
    let simplifier = ExprSimplifier::new(context);
    exprs
        .into_iter()
        .map(|expr| simplifier.simplify(expr))
        .collect()
}

/// `expr`, read over `schema`, with each column replaced by where it now is (`placed`, by
/// position in `schema`) and outer references made plain columns; `None` if a column it reads
/// was not kept.
fn place_columns(
    expr: Expr,
    schema: &DFSchemaRef,
    placed: &[Option<Column>],
) -> Result<Option<Expr>> {
    let mut complete = true;
    let expr = expr
        .unalias()
        .transform_up(|e| match e {
            Expr::Column(column) => {
                match schema
                    .maybe_index_of_column(&column)
                    .and_then(|index| placed[index].clone())
                {
                    Some(placed) => Ok(Transformed::yes(Expr::Column(placed))),
                    None => {
                        complete = false;
                        Ok(Transformed::no(Expr::Column(column)))
                    }
                }
            }
            Expr::OuterReferenceColumn(_, column) => Ok(Transformed::yes(Expr::Column(column))),
            other => Ok(Transformed::no(other)),
        })?
        .data;
    Ok(complete.then_some(expr))
}
