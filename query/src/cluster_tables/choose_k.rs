//! `choose_k(table, column, k_min, k_max [, seed [, runs]] [, 'partition=col'])`: one row per
//! K with the measures that help choose the number of k-means clusters.
//!
//! Per K (and per partition): inertia, the mean distance of a row to its centre (compact
//! clusters: small), the mean distance between centres (distinct clusters: large), the
//! silhouette, and two stabilities as adjusted Rand indexes: across `runs` seeds at this K,
//! and between this K's clusters and the previous K's (the K-selection of "An Efficient and
//! Explanatory Image and Text Clustering System", §3.4.1).

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{
    MemoryCatalogProvider, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::logical_expr::Documentation;
use reeldb_linalg::Points;
use reeldb_linalg::cluster::choose_k::{ChooseKParams, KScore, choose_k};
use reeldb_udf::DOC_SECTION_ANALYSIS;
use reeldb_udf::analysis::params::{ParamKind, ParamSpec};

use super::computed::ComputedTable;
use super::table_input::InputColumns;
use crate::functions::{DocumentedTableFunction, with_param_arguments};
use crate::table_function_args::TableArgs;

const NAME: &str = "choose_k";
const USAGE: &str = "choose_k('table', 'vector column', k_min, k_max [, seed [, runs]] \
                     [, 'partition=column'] [, 'silhouette_sample=n'])";

/// The parameters after the table and column, in positional order.
pub const CHOOSE_K_PARAMS: &[ParamSpec] = &[
    ParamSpec::required(
        "k_min",
        ParamKind::Whole,
        "required: the smallest K, at least 1",
    ),
    ParamSpec::required("k_max", ParamKind::Whole, "required: the largest K"),
    ParamSpec::optional("seed", ParamKind::Whole, "default 0"),
    ParamSpec::optional(
        "runs",
        ParamKind::Whole,
        "k-means runs per K from different seeds, the best kept; default 5",
    ),
    ParamSpec::optional(
        "partition",
        ParamKind::Text,
        "a column: choose K for each of its values on its own",
    ),
    ParamSpec::optional(
        "silhouette_sample",
        ParamKind::Whole,
        "rows the silhouette is measured on (seeded sample); default 10000",
    ),
];

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    let builder = Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "One row per K (and per partition) with the measures that help choose the number of \
         k-means clusters: `inertia`, `mean_intra_distance` (a row to its centre; compact \
         clusters: small), `mean_inter_centroid_distance` (between centres; distinct \
         clusters: large), the `silhouette`, and two stabilities as adjusted Rand indexes: \
         `seed_stability` across `runs` seeds at this K, and `k_stability` between this K's \
         clusters and the previous K's. Computed when the result is read. Parameters after \
         the column go by position or as 'name=value'.",
        "choose_k(table, column, k_min, k_max [, seed [, runs]] [, 'partition=column'] \
         [, 'silhouette_sample=n'])",
    )
    .with_sql_example(
        r#"```sql
> SELECT k, round(inertia, 3) AS inertia, round(silhouette, 3) AS silhouette FROM choose_k('frames', 'embedding', 2, 4) ORDER BY k;
+---+---------+------------+
| k | inertia | silhouette |
+---+---------+------------+
| 2 | 0.11    | 0.883      |
| 3 | 0.08    | 0.593      |
| 4 | 0.05    | 0.306      |
+---+---------+------------+
```"#,
    )
    .with_argument("table", "The table's name, as text")
    .with_argument("column", "The name of its vector column, as text");
    with_param_arguments(builder, CHOOSE_K_PARAMS)
        .with_related_udf("cluster")
        .with_related_udf("silhouette")
        .build()
});

/// The `choose_k` table function of a session.
#[derive(Debug)]
pub struct ChooseKFunction {
    catalog: Arc<MemoryCatalogProvider>,
}

impl ChooseKFunction {
    /// The function over the tables the session binds in `catalog`.
    pub fn new(catalog: Arc<MemoryCatalogProvider>) -> Self {
        ChooseKFunction { catalog }
    }
}

impl DocumentedTableFunction for ChooseKFunction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn documentation(&self) -> &Documentation {
        &DOCUMENTATION
    }
}

impl TableFunctionImpl for ChooseKFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let args = TableArgs::new(NAME, USAGE, &call);
        args.expect_at_least(4)?;
        let table = args.text(0, "table name")?;
        let column = args.text(1, "vector column name")?;
        let params = args.params(
            &format!("{NAME}('{table}', '{column}', ...)"),
            CHOOSE_K_PARAMS,
            2,
        )?;
        let mut choice = ChooseKParams::new(
            params.count("k_min", 1)?.unwrap_or(1),
            params.count("k_max", 1)?.unwrap_or(1),
        );
        if choice.k_min > choice.k_max {
            return plan_err!(
                "{NAME}(): k_min ({}) is above k_max ({}); give the smaller first",
                choice.k_min,
                choice.k_max
            );
        }
        if let Some(seed) = params.whole("seed") {
            choice.seed = seed as u64;
        }
        if let Some(runs) = params.count("runs", 1)? {
            choice.runs = runs;
        }
        if let Some(sample) = params.count("silhouette_sample", 2)? {
            choice.silhouette_sample = sample;
        }
        let partition = params.text("partition").map(str::to_string);
        let input = InputColumns::resolve(
            NAME,
            &self.catalog,
            &table,
            &column,
            None,
            partition.as_deref(),
        )?;
        let mut fields = Vec::new();
        if let Some(partition) = &partition {
            fields.push(Field::new(partition, DataType::Utf8, false));
        }
        fields.extend([
            Field::new("k", DataType::UInt64, false),
            Field::new("inertia", DataType::Float64, false),
            Field::new("mean_intra_distance", DataType::Float64, false),
            Field::new("mean_inter_centroid_distance", DataType::Float64, false),
            Field::new("silhouette", DataType::Float64, true),
            Field::new("seed_stability", DataType::Float64, false),
            Field::new("k_stability", DataType::Float64, true),
        ]);
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let description = format!(
            "{NAME}: table={table} column={column} k={}..={}",
            choice.k_min, choice.k_max
        );
        let result_schema = Arc::clone(&schema);
        let has_partition = partition.is_some();
        let compute = Arc::new(move || {
            let input = input.clone();
            let choice = choice.clone();
            let schema = Arc::clone(&result_schema);
            Box::pin(async move {
                let rows = input.read(NAME).await?;
                tokio::task::spawn_blocking(move || {
                    score_partitions(&rows, &choice, has_partition, schema)
                })
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
            }) as _
        });
        Ok(Arc::new(ComputedTable::new(description, schema, compute)))
    }
}

/// Runs `choose_k` on each partition and lays the scores out as rows.
fn score_partitions(
    input: &super::table_input::TableInput,
    choice: &ChooseKParams,
    has_partition: bool,
    schema: SchemaRef,
) -> Result<RecordBatch> {
    let mut keys = Vec::new();
    let mut scores: Vec<KScore> = Vec::new();
    for (key, rows) in &input.partitions {
        let points = Points::new(&rows.values, input.dim).map_err(external)?;
        let partition_scores = choose_k(&points, choice).map_err(|e| {
            let place = if key.is_empty() {
                String::new()
            } else {
                format!(" (partition '{key}')")
            };
            DataFusionError::Execution(format!("{NAME}(){place}: {e}"))
        })?;
        keys.extend(std::iter::repeat_n(key.clone(), partition_scores.len()));
        scores.extend(partition_scores);
    }
    let mut columns: Vec<ArrayRef> = Vec::new();
    if has_partition {
        columns.push(Arc::new(StringArray::from(keys)));
    }
    let floats = |f: &dyn Fn(&KScore) -> Option<f64>| -> ArrayRef {
        Arc::new(scores.iter().map(f).collect::<Float64Array>())
    };
    columns.push(Arc::new(
        scores.iter().map(|s| s.k as u64).collect::<UInt64Array>(),
    ));
    columns.push(floats(&|s| Some(s.inertia)));
    columns.push(floats(&|s| Some(s.mean_intra_distance)));
    columns.push(floats(&|s| Some(s.mean_inter_centroid_distance)));
    columns.push(floats(&|s| s.silhouette));
    columns.push(floats(&|s| Some(s.seed_stability)));
    columns.push(floats(&|s| s.k_stability));
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn external(error: reeldb_linalg::Error) -> DataFusionError {
    DataFusionError::Execution(format!("{NAME}(): {error}"))
}
