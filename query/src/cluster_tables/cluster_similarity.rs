//! `cluster_similarity(table, vector, label [, partition [, left [, right]]] [, 'top_n=n'])`:
//! how alike two clusters are, for every pair of clusters of two partitions (two videos).
//!
//! The similarity of a pair is the mean of the `top_n` (default 10) largest cosine
//! similarities between a vector of one cluster and a vector of the other: the measure of
//! "An Efficient and Explanatory Image and Text Clustering System", §5.4, which compares the
//! topic clusters of an English and a Chinese broadcast. Rows come most similar first. Noise
//! (-1) is no cluster. Without a partition column, every pair of clusters of the table is
//! compared.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{
    MemoryCatalogProvider, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::logical_expr::Documentation;
use rayon::prelude::*;
use reeldb_linalg::Points;
use reeldb_linalg::cluster::NOISE;
use reeldb_linalg::cluster::pair_similarity::top_mean_similarity;
use reeldb_udf::DOC_SECTION_ANALYSIS;
use reeldb_udf::analysis::params::{ParamKind, ParamSpec};

use super::computed::ComputedTable;
use super::table_input::{InputColumns, TableInput};
use crate::functions::{DocumentedTableFunction, with_param_arguments};
use crate::table_function_args::TableArgs;

const NAME: &str = "cluster_similarity";
const USAGE: &str = "cluster_similarity('table', 'vector column', 'label column' \
                     [, 'partition column' [, 'left value' [, 'right value']]] [, 'top_n=n'])";

/// The parameters after the table, vector and label columns, in positional order.
pub const CLUSTER_SIMILARITY_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "partition",
        ParamKind::Text,
        "a column (such as video): compare the clusters of one value with another's",
    ),
    ParamSpec::optional("left", ParamKind::Text, "the partition value on the left"),
    ParamSpec::optional("right", ParamKind::Text, "the partition value on the right"),
    ParamSpec::optional(
        "top_n",
        ParamKind::Whole,
        "how many of the largest pair similarities are averaged; default 10",
    ),
];

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    let builder = Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "How alike two clusters are, for every pair of clusters of two partitions (two \
         videos): the mean of the `top_n` largest cosine similarities between a vector of one \
         cluster and a vector of the other. One row per pair, most similar first: \
         `left_<partition>`, `left_cluster`, `right_<partition>`, `right_cluster`, \
         `similarity` and `pairs` (the vector pairs compared). Noise (-1) is no cluster. \
         Without a partition column, every pair of clusters of the table is compared; with \
         one but no values, every pair of its values. Computed when the result is read. \
         Parameters after the label column go by position or as 'name=value'.",
        "cluster_similarity(table, vector, label [, partition [, left [, right]]] \
         [, 'top_n=n'])",
    )
    .with_sql_example(
        r#"```sql
> SELECT left_cluster, right_cluster, round(similarity, 3) AS similarity, pairs FROM cluster_similarity('frames', 'embedding', 'topic', 'video', 'news', 'sport');
+--------------+---------------+------------+-------+
| left_cluster | right_cluster | similarity | pairs |
+--------------+---------------+------------+-------+
| 0            | 0             | 0.996      | 9     |
| 1            | 1             | 0.996      | 9     |
| 0            | 1             | 0.111      | 9     |
| 1            | 0             | 0.111      | 9     |
+--------------+---------------+------------+-------+
```"#,
    )
    .with_argument("table", "The table's name, as text")
    .with_argument("vector", "The name of its vector column, as text")
    .with_argument(
        "label",
        "The name of its cluster label column (whole numbers, as cluster() or CLUSTER write \
         them), as text",
    );
    with_param_arguments(builder, CLUSTER_SIMILARITY_PARAMS)
        .with_related_udf("cluster")
        .build()
});

/// The `cluster_similarity` table function of a session.
#[derive(Debug)]
pub struct ClusterSimilarityFunction {
    catalog: Arc<MemoryCatalogProvider>,
}

impl ClusterSimilarityFunction {
    /// The function over the tables the session binds in `catalog`.
    pub fn new(catalog: Arc<MemoryCatalogProvider>) -> Self {
        ClusterSimilarityFunction { catalog }
    }
}

/// Which partitions are compared.
#[derive(Debug, Clone)]
struct Sides {
    partition: Option<String>,
    left: Option<String>,
    right: Option<String>,
    top_n: usize,
}

impl DocumentedTableFunction for ClusterSimilarityFunction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn documentation(&self) -> &Documentation {
        &DOCUMENTATION
    }
}

impl TableFunctionImpl for ClusterSimilarityFunction {
    fn call_with_args(&self, call: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let args = TableArgs::new(NAME, USAGE, &call);
        args.expect_at_least(3)?;
        let table = args.text(0, "table name")?;
        let vector = args.text(1, "vector column name")?;
        let label = args.text(2, "label column name")?;
        let params = args.params(
            &format!("{NAME}('{table}', '{vector}', '{label}', ...)"),
            CLUSTER_SIMILARITY_PARAMS,
            3,
        )?;
        let sides = Sides {
            partition: params.text("partition").map(str::to_string),
            left: params.text("left").map(str::to_string),
            right: params.text("right").map(str::to_string),
            top_n: params.count("top_n", 1)?.unwrap_or(10),
        };
        if sides.partition.is_none() && (sides.left.is_some() || sides.right.is_some()) {
            return plan_err!(
                "{NAME}(): left and right are values of the partition column; name it too: {USAGE}"
            );
        }
        let input = InputColumns::resolve(
            NAME,
            &self.catalog,
            &table,
            &vector,
            Some(&label),
            sides.partition.as_deref(),
        )?;
        let mut fields = Vec::new();
        if let Some(partition) = &sides.partition {
            fields.push(Field::new(
                format!("left_{partition}"),
                DataType::Utf8,
                false,
            ));
        }
        fields.push(Field::new("left_cluster", DataType::Int64, false));
        if let Some(partition) = &sides.partition {
            fields.push(Field::new(
                format!("right_{partition}"),
                DataType::Utf8,
                false,
            ));
        }
        fields.extend([
            Field::new("right_cluster", DataType::Int64, false),
            Field::new("similarity", DataType::Float64, false),
            Field::new("pairs", DataType::UInt64, false),
        ]);
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let description = format!("{NAME}: table={table} column={vector} label={label}");
        let result_schema = Arc::clone(&schema);
        let compute = Arc::new(move || {
            let input = input.clone();
            let sides = sides.clone();
            let schema = Arc::clone(&result_schema);
            Box::pin(async move {
                let rows = input.read(NAME).await?;
                tokio::task::spawn_blocking(move || compare(&rows, &sides, schema))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
            }) as _
        });
        Ok(Arc::new(ComputedTable::new(description, schema, compute)))
    }
}

/// The clusters of one partition: label → vectors.
type Clusters = BTreeMap<i64, Vec<f32>>;

fn clusters_of(input: &TableInput) -> BTreeMap<&str, Clusters> {
    input
        .partitions
        .iter()
        .map(|(key, rows)| {
            let mut clusters = Clusters::new();
            for (i, &label) in rows.labels.iter().enumerate() {
                if label != NOISE {
                    clusters
                        .entry(label)
                        .or_default()
                        .extend_from_slice(&rows.values[i * input.dim..(i + 1) * input.dim]);
                }
            }
            (key.as_str(), clusters)
        })
        .collect()
}

/// A cluster: its partition value and label.
type ClusterKey<'a> = (&'a str, i64);

/// One compared pair of clusters.
struct Pair<'a> {
    left: ClusterKey<'a>,
    right: ClusterKey<'a>,
    similarity: f64,
    pairs: u64,
}

fn compare(input: &TableInput, sides: &Sides, schema: SchemaRef) -> Result<RecordBatch> {
    let partitions = clusters_of(input);
    for value in [&sides.left, &sides.right].into_iter().flatten() {
        if !partitions.contains_key(value.as_str()) {
            return exec_err!(
                "{NAME}(): no clustered rows have {} = '{value}'; the values are {}",
                sides.partition.as_deref().unwrap_or_default(),
                partitions.keys().copied().collect::<Vec<_>>().join(", ")
            );
        }
    }
    // The partition pairs: as asked, or every pair of values (each once, in value order).
    let keys: Vec<&str> = partitions.keys().copied().collect();
    let mut partition_pairs: Vec<(&str, &str)> = Vec::new();
    match (&sides.partition, &sides.left, &sides.right) {
        (None, _, _) => partition_pairs.push(("", "")),
        (Some(_), Some(left), Some(right)) => partition_pairs.push((left, right)),
        (Some(_), Some(left), None) => partition_pairs.extend(
            keys.iter()
                .filter(|k| **k != left.as_str())
                .map(|k| (left.as_str(), *k)),
        ),
        (Some(_), None, _) => {
            for (i, a) in keys.iter().enumerate() {
                partition_pairs.extend(keys[i + 1..].iter().map(|b| (*a, *b)));
            }
        }
    }
    let mut jobs: Vec<(ClusterKey<'_>, ClusterKey<'_>)> = Vec::new();
    for (left, right) in partition_pairs {
        for &a in partitions[left].keys() {
            for &b in partitions[right].keys() {
                // Within one table (no partition), each unordered pair once.
                if left == right && a >= b {
                    continue;
                }
                jobs.push(((left, a), (right, b)));
            }
        }
    }
    let points = |(key, label): ClusterKey<'_>| {
        Points::new(&partitions[key][&label], input.dim)
            .map_err(|e| DataFusionError::Execution(format!("{NAME}(): {e}")))
    };
    let mut pairs = jobs
        .into_par_iter()
        .map(|(left, right)| {
            let (a, b) = (points(left)?, points(right)?);
            let similarity = top_mean_similarity(&a, &b, sides.top_n)
                .map_err(|e| DataFusionError::Execution(format!("{NAME}(): {e}")))?
                .unwrap_or(0.0);
            Ok(Pair {
                left,
                right,
                similarity,
                pairs: (a.len() * b.len()) as u64,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    pairs.sort_by(|x, y| {
        y.similarity
            .total_cmp(&x.similarity)
            .then(x.left.cmp(&y.left))
            .then(x.right.cmp(&y.right))
    });
    let mut columns: Vec<ArrayRef> = Vec::new();
    let with_partition = sides.partition.is_some();
    if with_partition {
        columns.push(Arc::new(
            pairs
                .iter()
                .map(|p| Some(p.left.0))
                .collect::<StringArray>(),
        ));
    }
    columns.push(Arc::new(
        pairs.iter().map(|p| p.left.1).collect::<Int64Array>(),
    ));
    if with_partition {
        columns.push(Arc::new(
            pairs
                .iter()
                .map(|p| Some(p.right.0))
                .collect::<StringArray>(),
        ));
    }
    columns.push(Arc::new(
        pairs.iter().map(|p| p.right.1).collect::<Int64Array>(),
    ));
    columns.push(Arc::new(
        pairs.iter().map(|p| p.similarity).collect::<Float64Array>(),
    ));
    columns.push(Arc::new(
        pairs.iter().map(|p| p.pairs).collect::<UInt64Array>(),
    ));
    Ok(RecordBatch::try_new(schema, columns)?)
}
