//! `knn(table, column, query, k [, metric [, ef_search]])`: the k nearest rows of a table to a
//! query vector, as a table function.
//!
//! The result has the table's columns plus `_distance` and `_similarity`, nearest first; rows
//! whose score is NULL are not neighbours and are left out. `query` is a vector constant or a
//! scalar subquery (`(SELECT embedding FROM frames WHERE id = 42)`), which runs when the
//! result is read. The metric defaults to that of the column's index, else cosine; the search
//! uses that index when the metrics agree, with `ef_search` from the call, the session
//! (`SET reeldb.ef_search`) or the index.

use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{
    MemoryCatalogProvider, Session, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, exec_err, internal_err, plan_err};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Documentation, Expr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties, collect,
};
use reeldb_engine::vector::vector_dimension;
use reeldb_engine::{SearchMode, SearchRequest};
use reeldb_linalg::distance::Metric;
use reeldb_udf::DOC_SECTION_VECTOR;
use reeldb_udf::vector_arg::{VectorColumn, constant_vector};

use super::exec::{one_batch_properties, search_table};
use super::options::ReeldbOptions;
use super::rows::DataFileFooters;
use super::rule::choose_search;
use crate::catalog::bound_snapshot;
use crate::functions::DocumentedTableFunction;
use crate::table::ReeldbTable;
use crate::table_function_args::TableArgs;

const NAME: &str = "knn";
const USAGE: &str = "knn('table', 'column', query vector, k [, 'metric' [, ef_search]])";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "The k nearest rows of a table to a query vector, nearest first: the table's columns \
         plus `_distance` and `_similarity`. Rows whose score is NULL are not neighbours and \
         are left out. The metric defaults to that of the column's vector index, else cosine; \
         the search uses that index when the metrics agree.",
        "knn(table, column, query, k [, metric [, ef_search]])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, video, round(_distance, 3) AS distance FROM knn('frames', 'embedding', [0.02, 0.97], 3, 'l2');
+----+-------+----------+
| id | video | distance |
+----+-------+----------+
| 4  | news  | 0.036    |
| 11 | sport | 0.073    |
| 10 | sport | 0.085    |
+----+-------+----------+
```"#,
    )
    .with_argument("table", "The table's name, as text")
    .with_argument("column", "The name of its vector column, as text")
    .with_argument(
        "query",
        "The query vector: a constant (a list such as [0.1, 0.2], text '[0.1, 0.2]', \
         embed(...)) or a scalar subquery that gives one vector, run when the result is read",
    )
    .with_argument("k", "How many neighbours: a whole number above 0")
    .with_argument(
        "metric",
        "'cosine', 'dot', 'l2' (or 'euclidean'), 'l1' (or 'manhattan'); by default the \
         metric of the column's vector index, else 'cosine'",
    )
    .with_argument(
        "ef_search",
        "How wide the index search is, a whole number above 0; by default the session's \
         SET reeldb.ef_search, else the index's",
    )
    .with_related_udf("similarity")
    .with_related_udf("distance")
    .build()
});

/// The `knn` table function of a session.
#[derive(Debug)]
pub struct KnnFunction {
    catalog: Arc<MemoryCatalogProvider>,
    cache_vector_files: bool,
}

impl KnnFunction {
    /// The function over the tables the session binds in `catalog`.
    pub fn new(catalog: Arc<MemoryCatalogProvider>, cache_vector_files: bool) -> Self {
        KnnFunction {
            catalog,
            cache_vector_files,
        }
    }
}

impl DocumentedTableFunction for KnnFunction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn documentation(&self) -> &Documentation {
        &DOCUMENTATION
    }
}

/// The query vector of a call.
#[derive(Debug, Clone)]
enum QueryArg {
    Constant(Vec<f32>),
    /// A scalar subquery, planned; it runs when the result is read.
    Subquery(Arc<dyn ExecutionPlan>),
}

impl TableFunctionImpl for KnnFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let args = TableArgs::new(NAME, USAGE, &call);
        args.expect_between(4, 6)?;
        let table_name = args.text(0, "table name")?;
        let column = args.text(1, "vector column name")?;
        let k = args.whole_number(3, "k")?;
        let snapshot = bound_snapshot(&self.catalog)?;
        let table = ReeldbTable::new(Arc::clone(&snapshot), &table_name)
            .map_err(|e| DataFusionError::Plan(format!("{NAME}(): {e}")))?;
        let table_schema = table.schema();
        let Some(dim) = table_schema
            .field_with_name(&column)
            .ok()
            .and_then(|f| vector_dimension(f.data_type()))
        else {
            return plan_err!(
                "{NAME}(): table '{table_name}' has no vector column '{column}'; its columns are {}",
                table_schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let entry = snapshot
            .table(&table_name)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let column_index = entry.indexes.iter().find(|i| i.column == column);
        let metric = match args.exprs().get(4) {
            Some(_) => args
                .text(4, "metric")?
                .parse::<Metric>()
                .map_err(|e| DataFusionError::Plan(format!("{NAME}(): {e}")))?,
            None => column_index
                .and_then(|i| i.metric.parse().ok())
                .unwrap_or(Metric::Cosine),
        };
        let options = args
            .session()
            .config_options()
            .extensions
            .get::<ReeldbOptions>()
            .cloned()
            .unwrap_or_default();
        let ef_search = args
            .exprs()
            .get(5)
            .map(|_| args.whole_number(5, "ef_search"))
            .transpose()?;
        let search = choose_search(&table, &column, metric, &options, ef_search);
        let query = match &args.exprs()[2] {
            Expr::ScalarSubquery(subquery) => QuerySource::Subquery(Arc::clone(&subquery.subquery)),
            expr => {
                let value = args.constant(expr)?;
                match constant_vector(NAME, 3, &value)? {
                    Some(vector) if vector.len() == dim => QuerySource::Constant(vector),
                    Some(vector) => {
                        return plan_err!(
                            "{NAME}(): the query vector has {} values, but '{column}' holds vectors of dimension {dim}",
                            vector.len()
                        );
                    }
                    None => return plan_err!("{NAME}(): the query vector is NULL"),
                }
            }
        };
        let mut fields: Vec<Field> = table_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("_distance", DataType::Float64, false));
        fields.push(Field::new("_similarity", DataType::Float64, false));
        Ok(Arc::new(KnnTable {
            call: Arc::new(KnnCall {
                table: Arc::new(table),
                column,
                dim,
                k,
                metric,
                search,
                cache_vector_files: self.cache_vector_files,
                schema: Arc::new(Schema::new(fields)),
            }),
            query,
        }))
    }
}

/// Where the query vector comes from, before planning.
#[derive(Debug, Clone)]
enum QuerySource {
    Constant(Vec<f32>),
    Subquery(Arc<datafusion::logical_expr::LogicalPlan>),
}

/// What one `knn()` call asks for, apart from its query vector.
#[derive(Debug)]
struct KnnCall {
    table: Arc<ReeldbTable>,
    column: String,
    dim: usize,
    k: usize,
    metric: Metric,
    search: SearchMode,
    cache_vector_files: bool,
    /// The table's columns, `_distance` and `_similarity`.
    schema: SchemaRef,
}

/// The result of one `knn()` call.
#[derive(Debug)]
struct KnnTable {
    call: Arc<KnnCall>,
    query: QuerySource,
}

#[async_trait]
impl TableProvider for KnnTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.call.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = &self.call.table;
        for file in table.files() {
            table
                .snapshot()
                .check_data_file(file)
                .map_err(crate::error::external)?;
        }
        let query = match &self.query {
            QuerySource::Constant(vector) => QueryArg::Constant(vector.clone()),
            QuerySource::Subquery(plan) => {
                QueryArg::Subquery(state.create_physical_plan(plan).await?)
            }
        };
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.call.schema.fields().len()).collect());
        let schema = Arc::new(self.call.schema.project(&projection)?);
        let properties = one_batch_properties(&schema);
        Ok(Arc::new(KnnExec {
            call: Arc::clone(&self.call),
            query,
            projection,
            schema,
            properties,
        }))
    }
}

/// Runs a `knn()` call.
#[derive(Debug, Clone)]
struct KnnExec {
    call: Arc<KnnCall>,
    query: QueryArg,
    /// The columns of `call.schema` returned.
    projection: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for KnnExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "KnnExec: table={} column={} metric={} k={} {}",
            self.call.table.name(),
            self.call.column,
            self.call.metric,
            self.call.k,
            self.call.search
        )
    }
}

impl ExecutionPlan for KnnExec {
    fn name(&self) -> &str {
        "KnnExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        match &self.query {
            QueryArg::Subquery(plan) => vec![plan],
            QueryArg::Constant(_) => Vec::new(),
        }
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let query = match (&self.query, children.len()) {
            (QueryArg::Constant(_), 0) => self.query.clone(),
            (QueryArg::Subquery(_), 1) => QueryArg::Subquery(children.remove(0)),
            _ => return internal_err!("KnnExec: wrong number of children"),
        };
        let mut exec = KnnExec::clone(&self);
        exec.query = query;
        Ok(Arc::new(exec))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("KnnExec has one partition, not {partition}");
        }
        let call = Arc::clone(&self.call);
        let query = self.query.clone();
        let projection = self.projection.clone();
        let batch = async move {
            let query = match query {
                QueryArg::Constant(vector) => vector,
                QueryArg::Subquery(plan) => {
                    subquery_vector(plan, context, call.dim, &call.column).await?
                }
            };
            tokio::task::spawn_blocking(move || -> Result<RecordBatch> {
                Ok(call.run(&query)?.project(&projection)?)
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::once(batch),
        )))
    }
}

impl KnnCall {
    /// The nearest rows to `query` with all of `self.schema`'s columns, nearest first. Rows
    /// whose score is NULL are not neighbours and are left out.
    fn run(&self, query: &[f32]) -> Result<RecordBatch> {
        let request = SearchRequest {
            table: self.table.name(),
            column: &self.column,
            query,
            metric: self.metric,
            k: self.k,
            filter: None,
            mode: self.search.clone(),
            cache_vector_files: self.cache_vector_files,
        };
        let mut ranked = search_table(&self.table, &request, false)?;
        ranked.0.retain(|(_, _, distance)| distance.is_some());
        let distances: Vec<f32> = ranked.0.iter().filter_map(|(_, _, d)| *d).collect();
        let table_columns: Vec<usize> = (0..self.schema.fields().len() - 2).collect();
        let table_schema = Arc::new(self.schema.project(&table_columns)?);
        let rows = ranked.fetch(
            &DataFileFooters::new(&self.table)?,
            self.table.name(),
            &table_columns,
            &table_schema,
            self.cache_vector_files,
        )?;
        let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
        columns.push(Arc::new(Float64Array::from_iter_values(
            distances.iter().map(|&d| f64::from(d)),
        )));
        columns.push(Arc::new(Float64Array::from_iter_values(
            distances
                .iter()
                .map(|&d| f64::from(self.metric.similarity_from_distance(d))),
        )));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.num_rows())),
        )?)
    }
}

/// Runs the query-vector subquery: it must give one vector of dimension `dim`.
async fn subquery_vector(
    plan: Arc<dyn ExecutionPlan>,
    context: Arc<TaskContext>,
    dim: usize,
    column: &str,
) -> Result<Vec<f32>> {
    let batches = collect(plan, context).await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows != 1 {
        return exec_err!(
            "{NAME}(): the query subquery returned {rows} rows; it must return exactly one vector"
        );
    }
    let batch = batches
        .iter()
        .find(|b| b.num_rows() == 1)
        .ok_or_else(|| DataFusionError::Internal("no row".into()))?;
    if batch.num_columns() != 1 {
        return exec_err!("{NAME}(): the query subquery must return one column, a vector");
    }
    let vectors = VectorColumn::new(NAME, 3, batch.column(0))?;
    match vectors.get(0) {
        Some(vector) if vector.len() == dim => Ok(vector.to_vec()),
        Some(vector) => exec_err!(
            "{NAME}(): the query vector has {} values, but '{column}' holds vectors of dimension {dim}",
            vector.len()
        ),
        None => exec_err!("{NAME}(): the query subquery returned a NULL vector"),
    }
}
