//! `ComputedTable`: the result of a table function that is computed when it is read (not
//! when the query is planned, so `EXPLAIN` stays cheap), as one batch.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties,
};
use futures::future::BoxFuture;

use crate::vector_search::exec::one_batch_properties;

/// Computes the whole result of a call.
pub type Compute = Arc<dyn Fn() -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync>;

/// A table function's result, computed when read.
pub struct ComputedTable {
    /// What computes it, for `EXPLAIN` (`choose_k: table=frames column=clip`).
    description: String,
    schema: SchemaRef,
    compute: Compute,
}

impl ComputedTable {
    /// A table of `schema` whose rows `compute` makes.
    pub fn new(description: String, schema: SchemaRef, compute: Compute) -> Self {
        ComputedTable {
            description,
            schema,
            compute,
        }
    }
}

impl fmt::Debug for ComputedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputedTable")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TableProvider for ComputedTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let schema = Arc::new(self.schema.project(&projection)?);
        Ok(Arc::new(ComputedExec {
            description: self.description.clone(),
            properties: one_batch_properties(&schema),
            schema,
            projection,
            compute: Arc::clone(&self.compute),
        }))
    }
}

/// Computes a [`ComputedTable`] when executed.
#[derive(Clone)]
struct ComputedExec {
    description: String,
    schema: SchemaRef,
    projection: Vec<usize>,
    properties: Arc<PlanProperties>,
    compute: Compute,
}

impl fmt::Debug for ComputedExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComputedExec: {}", self.description)
    }
}

impl DisplayAs for ComputedExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ComputedExec: {}", self.description)
    }
}

impl ExecutionPlan for ComputedExec {
    fn name(&self) -> &str {
        "ComputedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            internal_err!("ComputedExec has no children")
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("ComputedExec has one partition, not {partition}");
        }
        let compute = Arc::clone(&self.compute);
        let projection = self.projection.clone();
        let batch = async move {
            let batch = compute().await?;
            batch
                .project(&projection)
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::once(batch),
        )))
    }
}
