//! Physical planning of [`VectorTopKNode`], and the query planner that knows it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result};
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::utils::expr_to_columns;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use super::exec::VectorTopKExec;
use super::node::VectorTopKNode;

/// Plans [`VectorTopKNode`]s as [`VectorTopKExec`]s.
#[derive(Debug, Default)]
pub struct VectorTopKPlanner;

#[async_trait]
impl ExtensionPlanner for VectorTopKPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        _physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<VectorTopKNode>() else {
            return Ok(None);
        };
        // The filters are evaluated on batches holding only the columns they use.
        let table_schema = node.table.0.schema();
        let mut columns = std::collections::HashSet::new();
        for filter in &node.filters {
            expr_to_columns(filter, &mut columns)?;
        }
        let mut filter_columns: Vec<usize> = columns
            .iter()
            .map(|c| table_schema.index_of(&c.name))
            .collect::<std::result::Result<_, _>>()?;
        filter_columns.sort_unstable();
        filter_columns.dedup();
        let filter_schema = table_schema.project(&filter_columns)?;
        let df_schema =
            DFSchema::try_from_qualified_schema(node.table_name.clone(), &filter_schema)?;
        let predicates = node
            .filters
            .iter()
            .map(|filter| session.create_physical_expr(filter.clone(), &df_schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Arc::new(VectorTopKExec::new(
            node.clone(),
            predicates,
            filter_columns,
        ))))
    }
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
