//! Physical planning of [`VectorTopKNode`] and [`LateralVectorTopKNode`], and the query
//! planner that knows them.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result, TableReference, internal_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::utils::expr_to_columns;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use super::exec::VectorTopKExec;
use super::lateral_exec::{LateralExprs, LateralVectorTopKExec};
use super::lateral_node::LateralVectorTopKNode;
use super::node::VectorTopKNode;
use crate::table::ReeldbTable;

/// Plans [`VectorTopKNode`]s as [`VectorTopKExec`]s and [`LateralVectorTopKNode`]s as
/// [`LateralVectorTopKExec`]s.
#[derive(Debug, Default)]
pub struct VectorTopKPlanner;

#[async_trait]
impl ExtensionPlanner for VectorTopKPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        if let Some(node) = node.as_any().downcast_ref::<LateralVectorTopKNode>() {
            return plan_lateral(node, physical_inputs, session).map(Some);
        }
        let Some(node) = node.as_any().downcast_ref::<VectorTopKNode>() else {
            return Ok(None);
        };
        let (predicates, filter_columns) =
            bind_table_filters(session, &node.table.0, &node.table_name, &node.filters)?;
        Ok(Some(Arc::new(VectorTopKExec::new(
            node.clone(),
            predicates,
            filter_columns,
        ))))
    }
}

fn plan_lateral(
    node: &LateralVectorTopKNode,
    physical_inputs: &[Arc<dyn ExecutionPlan>],
    session: &dyn Session,
) -> Result<Arc<dyn ExecutionPlan>> {
    let [input] = physical_inputs else {
        return internal_err!("LateralVectorTopK has one input");
    };
    let query = session.create_physical_expr(node.query.clone(), node.input.schema())?;
    let (predicates, filter_columns) =
        bind_table_filters(session, &node.table.0, &node.table_name, &node.filters)?;
    let correlated = node
        .correlated_filters
        .iter()
        .map(|filter| session.create_physical_expr(filter.clone(), &node.schema))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(LateralVectorTopKExec::new(
        node.clone(),
        Arc::clone(input),
        LateralExprs {
            query,
            predicates,
            filter_columns,
            correlated,
        },
    )))
}

/// Bound filters and the table positions of the columns they read.
pub(super) type BoundFilters = (Vec<Arc<dyn PhysicalExpr>>, Vec<usize>);

/// `filters` over the columns of `table` (qualified by `qualifier`), bound to a schema of only
/// the table columns they use, and those columns' table positions (ascending): the filters
/// are evaluated on batches read with that projection.
pub(super) fn bind_table_filters(
    session: &dyn Session,
    table: &ReeldbTable,
    qualifier: &TableReference,
    filters: &[Expr],
) -> Result<BoundFilters> {
    let table_schema = table.schema();
    let mut columns = std::collections::HashSet::new();
    for filter in filters {
        expr_to_columns(filter, &mut columns)?;
    }
    let mut filter_columns: Vec<usize> = columns
        .iter()
        .map(|c| table_schema.index_of(&c.name))
        .collect::<std::result::Result<_, _>>()?;
    filter_columns.sort_unstable();
    filter_columns.dedup();
    let filter_schema = table_schema.project(&filter_columns)?;
    let df_schema = DFSchema::try_from_qualified_schema(qualifier.clone(), &filter_schema)?;
    let predicates = filters
        .iter()
        .map(|filter| session.create_physical_expr(filter.clone(), &df_schema))
        .collect::<Result<Vec<_>>>()?;
    Ok((predicates, filter_columns))
}

/// DataFusion's planner, with reeldb's extension nodes.
#[derive(Debug, Default)]
pub struct ReeldbQueryPlanner;

#[async_trait]
impl QueryPlanner for ReeldbQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(VectorTopKPlanner)])
            .create_physical_plan(logical_plan, session)
            .await
    }
}
