//! `cluster(vector, method [, parameters...]) OVER (...)`: a cluster label for each row,
//! computed over the rows of its window partition.
//!
//! Each partition (`PARTITION BY video`) is clustered on its own; `OVER ()` clusters the
//! whole input. Rows whose vector is NULL get NULL; noise is -1. See [`ClusterMethod`] for
//! the methods and their parameters, and [`PartitionVectors`] for why the result does not
//! depend on the order of the rows.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::cluster_method::{CLUSTER_METHODS, ClusterMethod};
use super::literal_args::{literal_args, method_arg};
use super::partition_vectors::PartitionVectors;
use crate::DOC_SECTION_ANALYSIS;
use crate::vector_arg::check_vector_type;

const NAME: &str = "cluster";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "A cluster label (0, 1, ...) for each row's vector, computed over the rows of its window \
         partition; -1 is noise, NULL a NULL vector. Methods and parameters, by position or \
         as 'name=value': dbscan (eps, min_samples 5, metric 'euclidean'|'cosine', \
         neighbours 'exact'|'hnsw'); hdbscan (min_cluster_size 5, min_samples, selection \
         'eom'|'leaf', metric, epsilon 0, allow_single_cluster false); kmeans (k, seed 0, \
         n_init 1, max_iter 300, tolerance 0.0001, metric). Labels depend only on the \
         partition's vectors, not on row order; clusters are numbered by size, largest first.",
        "cluster(vector, method [, parameter ...]) OVER ([PARTITION BY ...] [ORDER BY ...])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, video, cluster(embedding, 'hdbscan', 3) OVER (PARTITION BY video) AS topic FROM frames ORDER BY id;
+----+-------+-------+
| id | video | topic |
+----+-------+-------+
| 1  | news  | 1     |
| 2  | news  | 1     |
| 3  | news  | 1     |
| 4  | news  | 0     |
| 5  | news  | 0     |
| 6  | news  | 0     |
| 7  | sport | 1     |
| 8  | sport | 1     |
| 9  | sport | 1     |
| 10 | sport | 0     |
| 11 | sport | 0     |
| 12 | sport | 0     |
+----+-------+-------+
```"#,
    )
    .with_argument("vector", "A vector column")
    .with_argument("method", "'dbscan', 'hdbscan' or 'kmeans'")
    .with_argument("parameter", "The method's parameters, constants, in order or 'name=value'")
    .with_related_udf("project")
    .with_related_udf("silhouette")
    .with_related_udf("purity")
    .with_related_udf("adjusted_rand_index")
    .with_related_udf("choose_k")
    .with_related_udf("cluster_similarity")
    .build()
});

static UDWF: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(ClusterFunc::new())));

/// The `cluster` window function.
pub fn cluster_udwf() -> Arc<WindowUDF> {
    Arc::clone(&UDWF)
}

/// `cluster(vector, method, ...)` as a DataFusion window function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ClusterFunc {
    signature: Signature,
}

impl ClusterFunc {
    /// The function.
    pub fn new() -> Self {
        ClusterFunc {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for ClusterFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for ClusterFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let constants = literal_args(NAME, args.input_exprs(), 1)?;
        let method = method_arg(NAME, &constants, CLUSTER_METHODS)?;
        let method = ClusterMethod::from_args(NAME, &method, &constants[1..])?;
        Ok(Box::new(ClusterEvaluator { method }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        let inputs = field_args.input_fields();
        if inputs.len() < 2 {
            return plan_err!(
                "{NAME}() takes a vector and a method ({CLUSTER_METHODS}), then the method's \
                 parameters: cluster(vector, method [, parameter ...]) OVER (...)"
            );
        }
        check_vector_type(NAME, 1, inputs[0].data_type())?;
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Clusters one partition at a time.
#[derive(Debug)]
struct ClusterEvaluator {
    method: ClusterMethod,
}

impl PartitionEvaluator for ClusterEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let vectors = PartitionVectors::read(NAME, 1, &values[0])?;
        if vectors.row_count() != num_rows {
            return exec_err!(
                "{NAME}(): {num_rows} rows but {} vectors",
                vectors.row_count()
            );
        }
        let labels = match vectors.points() {
            Some(points) => self.method.run(&points).map_err(|e| {
                datafusion::error::DataFusionError::Execution(format!("{NAME}(): {e}"))
            })?,
            None => Vec::new(),
        };
        Ok(Arc::new(Int64Array::from(vectors.labels_by_row(&labels))))
    }
}
