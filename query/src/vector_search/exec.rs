//! `VectorTopKExec`: runs a [`super::node::VectorTopKNode`]: evaluates the filters to a
//! bitmap of matching rows per data file, asks the engine for the top k, and reads those
//! rows from the Parquet files.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning};
use datafusion::physical_plan::execution_plan::apply_expression_roots;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, SchedulingType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties,
};
use futures::StreamExt;
use rayon::prelude::*;
use reeldb_engine::SearchRequest;

use super::node::VectorTopKNode;
use super::rows::{DataFileFooters, fetch_rows, matching_rows};
use crate::error::external;
use crate::table::ReeldbTable;

/// See the module documentation.
#[derive(Debug)]
pub struct VectorTopKExec {
    node: VectorTopKNode,
    /// The filters, bound to a schema of the table columns `filter_columns`.
    predicates: Vec<Arc<dyn PhysicalExpr>>,
    filter_columns: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl VectorTopKExec {
    /// An executable plan for `node`, with its filters already bound.
    pub fn new(
        node: VectorTopKNode,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
        filter_columns: Vec<usize>,
    ) -> Self {
        let schema: SchemaRef = Arc::new(node.schema.as_arrow().clone());
        let properties = one_batch_properties(&schema);
        VectorTopKExec {
            node,
            predicates,
            filter_columns,
            schema,
            properties,
        }
    }
}

/// The properties of an operator that emits one batch, computed off the async workers (so
/// there is nothing to make cooperative), in one partition.
pub(crate) fn one_batch_properties(schema: &SchemaRef) -> Arc<PlanProperties> {
    Arc::new(
        PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        )
        .with_scheduling_type(SchedulingType::Cooperative),
    )
}

impl DisplayAs for VectorTopKExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "VectorTopKExec: ")?;
        self.node.describe(f)
    }
}

impl ExecutionPlan for VectorTopKExec {
    fn name(&self) -> &str {
        "VectorTopKExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        apply_expression_roots(self.predicates.iter(), f)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            internal_err!("VectorTopKExec has no children")
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("VectorTopKExec has one partition, not {partition}");
        }
        let node = self.node.clone();
        let predicates = self.predicates.clone();
        let filter_columns = self.filter_columns.clone();
        let schema = Arc::clone(&self.schema);
        let output_schema = Arc::clone(&schema);
        // Reading files and scoring vectors block; keep them off the async workers.
        let batch = async move {
            tokio::task::spawn_blocking(move || {
                run(&node, &predicates, &filter_columns, &output_schema)
            })
            .await
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?
        };
        let stream = futures::stream::once(batch).filter_map(|result| async move {
            match result {
                Ok(batch) if batch.num_rows() == 0 => None,
                other => Some(other),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

fn run(
    node: &VectorTopKNode,
    predicates: &[Arc<dyn PhysicalExpr>],
    filter_columns: &[usize],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let files = DataFileFooters::new(&node.table.0)?;
    let masks = filter_masks(&files, filter_columns, predicates)?;
    let request = SearchRequest {
        table: node.table.0.name(),
        column: &node.column,
        query: &node.query.0,
        metric: node.metric,
        k: node.k,
        filter: masks.as_deref(),
        mode: node.search.clone(),
        cache_vector_files: node.cache_vector_files,
    };
    let ranked = search_table(&node.table.0, &request, node.nulls_first)?;
    let projection: Vec<usize> = match &node.projection {
        Some(projection) => projection.clone(),
        None => (0..schema.fields().len()).collect(),
    };
    ranked.fetch(
        &files,
        node.table.0.name(),
        &projection,
        schema,
        node.cache_vector_files,
    )
}

/// Which rows of each data file of `files` satisfy every predicate (bound to a schema of the
/// table columns `filter_columns`); `None` when there are no predicates.
pub fn filter_masks(
    files: &DataFileFooters,
    filter_columns: &[usize],
    predicates: &[Arc<dyn PhysicalExpr>],
) -> Result<Option<Vec<Option<BooleanBuffer>>>> {
    if predicates.is_empty() {
        return Ok(None);
    }
    // One file per task: reading and evaluating the filter columns is the cost.
    let masks = (0..files.len())
        .into_par_iter()
        .map(|index| matching_rows(files, index, filter_columns, predicates).map(Some))
        .collect::<Result<_>>()?;
    Ok(Some(masks))
}

/// The rows a search chose, nearest first: `(file, row, distance)`; NULL scores have no
/// distance.
pub struct RankedRows(pub Vec<(usize, usize, Option<f32>)>);

/// Runs `request` over the snapshot `table` reads, shared by [`VectorTopKExec`], the lateral
/// operator and the `knn()` function. The chosen rows are those SQL's `ORDER BY ... LIMIT k`
/// picks: rows with a NULL score first (`nulls_first`) or after the others.
pub fn search_table(
    table: &ReeldbTable,
    request: &SearchRequest<'_>,
    nulls_first: bool,
) -> Result<RankedRows> {
    let result = table.snapshot().vector_search(request).map_err(external)?;
    Ok(RankedRows(result.ranked(request.k, nulls_first)))
}

impl RankedRows {
    /// Reads the rows from `files`, the data files of table `table`, in rank order, with the
    /// table columns `projection`, shaped as `schema`. `cache_vector_files`: whether flat
    /// vector files may be written.
    pub fn fetch(
        &self,
        files: &DataFileFooters,
        table: &str,
        projection: &[usize],
        schema: &SchemaRef,
        cache_vector_files: bool,
    ) -> Result<RecordBatch> {
        let mut by_file: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(file, row, _) in &self.0 {
            by_file.entry(file).or_default().push(row);
        }
        let mut batches = Vec::with_capacity(by_file.len());
        // Where each (file, row) lands in the concatenated batch.
        let mut position: BTreeMap<(usize, usize), u32> = BTreeMap::new();
        let mut offset = 0u32;
        for (file, mut rows) in by_file {
            rows.sort_unstable();
            rows.dedup();
            for &row in &rows {
                position.insert((file, row), offset);
                offset += 1;
            }
            batches.push(fetch_rows(
                files,
                table,
                file,
                &rows,
                projection,
                schema,
                cache_vector_files,
            )?);
        }
        let batch = concat_batches(schema, &batches)?;
        let order: UInt32Array = self
            .0
            .iter()
            .map(|&(file, row, _)| position[&(file, row)])
            .collect();
        let columns = batch
            .columns()
            .iter()
            .map(|column| take(column, &order, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(order.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(schema),
            columns,
            &options,
        )?)
    }
}
