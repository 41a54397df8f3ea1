//! `LateralVectorTopKExec`: runs a [`LateralVectorTopKNode`]. For each batch of outer rows it
//! computes their query vectors, searches the table for each row (in parallel), reads the
//! neighbours' columns in one pass over the data files, and emits each outer row joined with
//! its neighbours, nearest first.
//!
//! Correlated filters (`WHERE b.id <> a.id`) can only be checked once a neighbour is joined to
//! its outer row, so the search asks for more rows than it needs (twice as many) and asks
//! again, doubling, for any outer row that still has fewer than k passing ones, until the
//! table has no more. Uncorrelated filters become one bitmap of matching rows, computed once.

use datafusion::datasource::TableProvider;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{interleave, take_record_batch};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, exec_err, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning};
use datafusion::physical_plan::execution_plan::{
    EmissionType, SchedulingType, apply_expression_roots,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PhysicalExpr,
    PlanProperties,
};
use futures::StreamExt;
use rayon::prelude::*;
use reeldb_engine::SearchRequest;
use reeldb_engine::vector::vector_dimension;
use reeldb_udf::vector_arg::VectorColumn;

use super::exec::{RankedRows, filter_masks, search_table};
use super::lateral_node::LateralVectorTopKNode;
use super::rows::DataFileFooters;
use crate::error::external;

/// The rows of each data file that may be returned (see [`filter_masks`]).
type Masks = Option<Vec<Option<BooleanBuffer>>>;

/// See the module documentation.
#[derive(Debug)]
pub struct LateralVectorTopKExec {
    node: LateralVectorTopKNode,
    input: Arc<dyn ExecutionPlan>,
    /// The query vector, over the input's columns.
    query: Arc<dyn PhysicalExpr>,
    /// The uncorrelated filters, over the table columns `filter_columns`.
    predicates: Vec<Arc<dyn PhysicalExpr>>,
    filter_columns: Vec<usize>,
    /// The correlated filters, over the output schema.
    correlated: Vec<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    /// The uncorrelated filters' bitmap, shared by the partitions once one has computed it.
    masks: Arc<Mutex<Option<Arc<Masks>>>>,
    /// The table's data files, opened once for the filters and every batch's row fetch.
    files: Arc<Mutex<Option<Arc<DataFileFooters>>>>,
}

/// The bound expressions of a [`LateralVectorTopKExec`].
pub struct LateralExprs {
    /// The query vector, over the input's columns.
    pub query: Arc<dyn PhysicalExpr>,
    /// The uncorrelated filters, over the table columns `filter_columns`.
    pub predicates: Vec<Arc<dyn PhysicalExpr>>,
    /// See `predicates`.
    pub filter_columns: Vec<usize>,
    /// The correlated filters, over the node's output schema.
    pub correlated: Vec<Arc<dyn PhysicalExpr>>,
}

impl LateralVectorTopKExec {
    /// An executable plan for `node` over `input`, with its expressions bound.
    pub fn new(
        node: LateralVectorTopKNode,
        input: Arc<dyn ExecutionPlan>,
        exprs: LateralExprs,
    ) -> Self {
        let schema: SchemaRef = Arc::new(node.schema.as_arrow().clone());
        let properties = Arc::new(
            PlanProperties::new(
                EquivalenceProperties::new(Arc::clone(&schema)),
                Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
                EmissionType::Incremental,
                input.boundedness(),
            )
            // Every batch waits for a blocking task, which yields to the runtime.
            .with_scheduling_type(SchedulingType::Cooperative),
        );
        LateralVectorTopKExec {
            node,
            input,
            query: exprs.query,
            predicates: exprs.predicates,
            filter_columns: exprs.filter_columns,
            correlated: exprs.correlated,
            schema,
            properties,
            masks: Arc::new(Mutex::new(None)),
            files: Arc::new(Mutex::new(None)),
        }
    }

    fn with_input(&self, input: Arc<dyn ExecutionPlan>) -> Self {
        LateralVectorTopKExec::new(
            self.node.clone(),
            input,
            LateralExprs {
                query: Arc::clone(&self.query),
                predicates: self.predicates.clone(),
                filter_columns: self.filter_columns.clone(),
                correlated: self.correlated.clone(),
            },
        )
    }
}

impl DisplayAs for LateralVectorTopKExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LateralVectorTopKExec: ")?;
        self.node.describe(f)
    }
}

impl ExecutionPlan for LateralVectorTopKExec {
    fn name(&self) -> &str {
        "LateralVectorTopKExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        apply_expression_roots(
            std::iter::once(&self.query)
                .chain(&self.predicates)
                .chain(&self.correlated),
            f,
        )
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(self.with_input(input))),
            _ => internal_err!("LateralVectorTopKExec has one child"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let table_schema = self.node.table.0.schema();
        let Some(dim) = table_schema
            .field_with_name(&self.node.column)
            .ok()
            .and_then(|field| vector_dimension(field.data_type()))
        else {
            return internal_err!("'{}' is not a vector column", self.node.column);
        };
        let job = Arc::new(LateralJob {
            dim,
            node: self.node.clone(),
            query: Arc::clone(&self.query),
            predicates: self.predicates.clone(),
            filter_columns: self.filter_columns.clone(),
            correlated: self.correlated.clone(),
            schema: Arc::clone(&self.schema),
            masks: Arc::clone(&self.masks),
            files: Arc::clone(&self.files),
        });
        let stream = input.then(move |batch| {
            let job = Arc::clone(&job);
            async move {
                let batch = batch?;
                // Reading files and scoring vectors block; keep them off the async workers.
                tokio::task::spawn_blocking(move || job.neighbours(&batch))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }
        });
        let stream = stream.filter(|result| {
            let keep = !matches!(result, Ok(batch) if batch.num_rows() == 0);
            async move { keep }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// What one partition's stream needs to answer a batch of outer rows.
struct LateralJob {
    node: LateralVectorTopKNode,
    query: Arc<dyn PhysicalExpr>,
    predicates: Vec<Arc<dyn PhysicalExpr>>,
    filter_columns: Vec<usize>,
    correlated: Vec<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    masks: Arc<Mutex<Option<Arc<Masks>>>>,
    files: Arc<Mutex<Option<Arc<DataFileFooters>>>>,
    /// The dimension of the table's vectors.
    dim: usize,
}

impl LateralJob {
    /// The table's data files, opened by the first batch that reads one.
    fn files(&self) -> Result<Arc<DataFileFooters>> {
        let mut files = self
            .files
            .lock()
            .map_err(|_| DataFusionError::Internal("a data file task panicked".into()))?;
        if let Some(files) = files.as_ref() {
            return Ok(Arc::clone(files));
        }
        let opened = Arc::new(DataFileFooters::new(&self.node.table.0)?);
        *files = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// The uncorrelated filters' bitmap, computed by the first batch that needs it.
    fn masks(&self) -> Result<Arc<Masks>> {
        let mut masks = self
            .masks
            .lock()
            .map_err(|_| DataFusionError::Internal("a filter bitmap task panicked".into()))?;
        if let Some(masks) = masks.as_ref() {
            return Ok(Arc::clone(masks));
        }
        let computed = Arc::new(filter_masks(
            &*self.files()?,
            &self.filter_columns,
            &self.predicates,
        )?);
        *masks = Some(Arc::clone(&computed));
        Ok(computed)
    }

    /// Each row of `outer` joined with its neighbours, nearest first.
    fn neighbours(&self, outer: &RecordBatch) -> Result<RecordBatch> {
        let node = &self.node;
        let masks = self.masks()?;
        let queries = self.query.evaluate(outer)?.into_array(outer.num_rows())?;
        let queries = VectorColumn::new(&node.function, 1, &queries)?;
        let wanted = node.k.saturating_add(node.skip);
        // With correlated filters, some neighbours will be rejected: ask for more.
        let first_ask = if self.correlated.is_empty() {
            wanted
        } else {
            wanted.saturating_mul(2).max(wanted + 1)
        };
        let mut pending: Vec<(usize, usize)> =
            (0..outer.num_rows()).map(|row| (row, first_ask)).collect();
        // Each round's joined rows, and for each outer row the (round, row) of its results.
        let mut rounds: Vec<RecordBatch> = Vec::new();
        let mut chosen: Vec<Vec<(usize, usize)>> = vec![Vec::new(); outer.num_rows()];
        while !pending.is_empty() {
            let ranked = pending
                .par_iter()
                .map(|&(row, ask)| self.rank(queries.get(row), ask, masks.as_deref()))
                .collect::<Result<Vec<RankedRows>>>()?;
            let mut outer_rows = Vec::new();
            let mut hits = Vec::new();
            for (&(row, _), rows) in pending.iter().zip(&ranked) {
                outer_rows.extend(std::iter::repeat_n(row as u32, rows.0.len()));
                hits.extend_from_slice(&rows.0);
            }
            let joined = self.join(outer, &UInt32Array::from(outer_rows), RankedRows(hits))?;
            let passes = self.correlated_pass(&joined)?;
            let round = rounds.len();
            let mut offset = 0;
            let mut next = Vec::new();
            for (&(row, ask), rows) in pending.iter().zip(&ranked) {
                let found = rows.0.len();
                let passing: Vec<usize> = (offset..offset + found)
                    .filter(|&i| passes.as_ref().is_none_or(|passes| passes.value(i)))
                    .collect();
                offset += found;
                // Fewer rows than asked for means the table has no more.
                if passing.len() >= wanted || found < ask {
                    chosen[row] = passing
                        .into_iter()
                        .skip(node.skip)
                        .take(node.k)
                        .map(|i| (round, i))
                        .collect();
                } else {
                    next.push((row, ask.saturating_mul(2)));
                }
            }
            rounds.push(joined);
            pending = next;
        }
        let picks: Vec<(usize, usize)> = chosen.into_iter().flatten().collect();
        let columns = (0..self.schema.fields().len())
            .map(|column| {
                let arrays: Vec<&dyn Array> = rounds
                    .iter()
                    .map(|round| round.column(column).as_ref())
                    .collect();
                Ok(interleave(&arrays, &picks)?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(picks.len())),
        )?)
    }

    /// The `ask` nearest rows to `query` among those the masks allow, nearest first. A NULL
    /// query scores every row NULL, so SQL may return any rows: these are the first `ask`.
    fn rank(
        &self,
        query: Option<&[f32]>,
        ask: usize,
        masks: Option<&[Option<BooleanBuffer>]>,
    ) -> Result<RankedRows> {
        let node = &self.node;
        let Some(query) = query else {
            return first_rows(&node.table.0, masks, ask);
        };
        if query.len() != self.dim {
            return exec_err!(
                "{}(): the vectors have {} and {} values; both must have the same dimension",
                node.function,
                query.len(),
                self.dim
            );
        }
        let request = SearchRequest {
            table: node.table.0.name(),
            column: &node.column,
            query,
            metric: node.metric,
            k: ask,
            filter: masks,
            mode: node.search.clone(),
            cache_vector_files: node.cache_vector_files,
        };
        search_table(&node.table.0, &request, node.nulls_first)
    }

    /// The rows of `outer` at `outer_rows`, each joined with the table row at the same place
    /// in `hits`.
    fn join(
        &self,
        outer: &RecordBatch,
        outer_rows: &UInt32Array,
        hits: RankedRows,
    ) -> Result<RecordBatch> {
        let node = &self.node;
        let outer_columns = outer.num_columns();
        let inner_schema = Arc::new(
            self.schema
                .project(&(outer_columns..self.schema.fields().len()).collect::<Vec<_>>())?,
        );
        let inner = hits.fetch(
            &*self.files()?,
            node.table.0.name(),
            &node.projection,
            &inner_schema,
            node.cache_vector_files,
        )?;
        let outer = take_record_batch(outer, outer_rows)?;
        let columns: Vec<ArrayRef> = outer
            .columns()
            .iter()
            .chain(inner.columns())
            .cloned()
            .collect();
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(outer_rows.len())),
        )?)
    }

    /// Which joined rows satisfy every correlated filter; `None` if there are none.
    fn correlated_pass(&self, joined: &RecordBatch) -> Result<Option<BooleanBuffer>> {
        if self.correlated.is_empty() {
            return Ok(None);
        }
        let mut passes = BooleanBuffer::new_set(joined.num_rows());
        for predicate in &self.correlated {
            let outcome = predicate.evaluate(joined)?.into_array(joined.num_rows())?;
            let Some(outcome) = outcome.as_boolean_opt() else {
                return exec_err!("a lateral subquery's filter did not evaluate to booleans");
            };
            let mut satisfied = outcome.values().clone();
            if let Some(nulls) = outcome.nulls() {
                satisfied = &satisfied & nulls.inner();
            }
            passes = &passes & &satisfied;
        }
        Ok(Some(passes))
    }
}

/// The first `count` rows of `table` that `masks` allow, in file order, without scores.
fn first_rows(
    table: &crate::table::ReeldbTable,
    masks: Option<&[Option<BooleanBuffer>]>,
    count: usize,
) -> Result<RankedRows> {
    let snapshot = table.snapshot();
    let entry = snapshot.table(table.name()).map_err(external)?;
    let mut rows = Vec::with_capacity(count);
    for (file_index, file) in entry.files.iter().enumerate() {
        let mask = masks
            .and_then(|masks| masks.get(file_index))
            .and_then(Option::as_ref);
        let allowed =
            (0..file.rows as usize).filter(|&row| mask.is_none_or(|mask| mask.value(row)));
        for row in allowed {
            if rows.len() == count {
                return Ok(RankedRows(rows));
            }
            rows.push((file_index, row, None));
        }
    }
    Ok(RankedRows(rows))
}
