//! `outliers(vector [, method] [, parameters...]) OVER (...)`: an outlier score for each row,
//! computed over the rows of its window partition.
//!
//! Each partition (`PARTITION BY video`) is scored on its own, like `cluster()`; `OVER ()`
//! scores the whole input. Methods: `'lof'` (default), the Local Outlier Factor exactly as
//! scikit-learn's `LocalOutlierFactor` computes it, returned as its
//! `-negative_outlier_factor_` (about 1 for inliers, larger for outliers); `'knn'`, the
//! distance to the `n_neighbors`-th nearest other row. The maths is in
//! `reeldb_linalg::outliers`. A NULL vector scores NULL and is no one's neighbour; a
//! partition with fewer than two vectors scores NULL (no row has a neighbour to be compared
//! with). The vectors are sorted by value first ([`PartitionVectors`]), so where rows tie for
//! the last neighbour's place the smaller vector is taken, whatever the row order.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};
use reeldb_linalg::neighbours::ClusterMetric;
use reeldb_linalg::outliers::{OutlierMethod, OutlierParams, outlier_scores};

use super::literal_args::literal_args;
use super::params::{ParamKind, ParamSpec, Params};
use super::partition_vectors::PartitionVectors;
use crate::DOC_SECTION_ANALYSIS;
use crate::vector_arg::check_vector_type;

const NAME: &str = "outliers";

/// The methods, for error messages.
pub const OUTLIER_METHODS: &str = "'lof' (the default) or 'knn'";

/// The parameters of both methods, in positional order.
pub const OUTLIER_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "n_neighbors",
        ParamKind::Whole,
        "neighbours each row is compared with, at least 1; default 20, capped at the \
         partition's rows less one",
    ),
    ParamSpec::optional(
        "metric",
        ParamKind::Text,
        "'euclidean' (default) or 'cosine'",
    ),
];

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "An outlier score for each row's vector, computed over the rows of its window \
         partition; larger is more outlying. lof (default): the Local Outlier Factor, as \
         scikit-learn's LocalOutlierFactor(n_neighbors).negative_outlier_factor_ with its \
         sign turned: about 1 for a row as dense as its neighbours, well above 1 for one in a \
         sparser place than they are. knn: the distance to the n_neighbors-th nearest other \
         row. Parameters, by position or as 'name=value': n_neighbors (default 20, capped at \
         the partition's rows less one, as scikit-learn does), metric 'euclidean'|'cosine'. \
         A NULL vector scores NULL and is no row's neighbour; a partition with fewer than two \
         vectors scores NULL. Neighbours are exact; scores depend only on the partition's \
         vectors, not on row order.",
        "outliers(vector [, method] [, parameter ...]) OVER ([PARTITION BY ...])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, round(outliers(embedding, 'lof', 2) OVER (PARTITION BY video), 3) AS lof, round(outliers(embedding, 'knn', 1) OVER (PARTITION BY video), 3) AS nearest FROM frames WHERE video = 'news' ORDER BY id;
+----+-------+---------+
| id | lof   | nearest |
+----+-------+---------+
| 1  | 0.927 | 0.141   |
| 2  | 1.172 | 0.141   |
| 3  | 0.927 | 0.141   |
| 4  | 0.927 | 0.141   |
| 5  | 1.172 | 0.141   |
| 6  | 0.927 | 0.141   |
+----+-------+---------+
```"#,
    )
    .with_argument("vector", "A vector column")
    .with_argument("method", "'lof' (default) or 'knn'")
    .with_argument(
        "parameter",
        "n_neighbors, metric: constants, in order or 'name=value'",
    )
    .with_related_udf("cluster")
    .build()
});

static UDWF: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(OutliersFunc::new())));

/// The `outliers` window function.
pub fn outliers_udwf() -> Arc<WindowUDF> {
    Arc::clone(&UDWF)
}

/// `outliers(vector [, method] [, parameter ...])` as a DataFusion window function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OutliersFunc {
    signature: Signature,
}

impl OutliersFunc {
    /// The function.
    pub fn new() -> Self {
        OutliersFunc {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for OutliersFunc {
    fn default() -> Self {
        Self::new()
    }
}

/// The method and parameters of a call: `args` are its constants after the vector. The
/// method may be left out (`outliers(v)`, `outliers(v, 'n_neighbors=5')`).
pub fn outlier_params(args: &[ScalarValue]) -> Result<OutlierParams> {
    let (method, rest) = match args.first() {
        None => ("lof".to_string(), args),
        Some(first) => match text_of(first) {
            Some(text) if !text.contains('=') => (text.to_string(), &args[1..]),
            Some(_) => ("lof".to_string(), args),
            None => {
                return plan_err!(
                    "{NAME}(): argument 2 must be the method as text, {OUTLIER_METHODS}, or a \
                     parameter by name such as 'n_neighbors=10', not {first}"
                );
            }
        },
    };
    let kind = match method.trim().to_ascii_lowercase().as_str() {
        "lof" | "local_outlier_factor" => OutlierMethod::Lof,
        "knn" | "kth_neighbor" | "kth_neighbour" => OutlierMethod::KnnDistance,
        other => {
            return plan_err!("{NAME}(): unknown outlier method '{other}': use {OUTLIER_METHODS}");
        }
    };
    let context = format!("{NAME}(..., '{}')", method.trim());
    let params = Params::parse(&context, OUTLIER_PARAMS, rest)?;
    let mut outliers = OutlierParams::new(kind);
    if let Some(n_neighbors) = params.count("n_neighbors", 1)? {
        outliers.n_neighbors = n_neighbors;
    }
    if let Some(metric) = params.text("metric") {
        // ClusterMetric's own message speaks of clustering.
        outliers.metric = ClusterMetric::parse(metric).map_err(|_| {
            DataFusionError::Plan(format!(
                "{context}: unknown metric '{}': use 'euclidean' (or 'l2') or 'cosine'",
                metric.trim()
            ))
        })?;
    }
    Ok(outliers)
}

fn text_of(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)) => Some(text),
        _ => None,
    }
}

impl WindowUDFImpl for OutliersFunc {
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
        let params = outlier_params(&constants)?;
        Ok(Box::new(OutliersEvaluator { params }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        let inputs = field_args.input_fields();
        if inputs.is_empty() {
            return plan_err!(
                "{NAME}() takes a vector, then optionally a method ({OUTLIER_METHODS}) and its \
                 parameters: outliers(vector [, method] [, parameter ...]) OVER (...)"
            );
        }
        check_vector_type(NAME, 1, inputs[0].data_type())?;
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Scores one partition at a time.
#[derive(Debug)]
struct OutliersEvaluator {
    params: OutlierParams,
}

impl PartitionEvaluator for OutliersEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let vectors = PartitionVectors::read(NAME, 1, &values[0])?;
        if vectors.row_count() != num_rows {
            return exec_err!(
                "{NAME}(): {num_rows} rows but {} vectors",
                vectors.row_count()
            );
        }
        let mut by_row = vec![None; num_rows];
        if let Some(points) = vectors.points().filter(|points| points.len() >= 2) {
            let scores = outlier_scores(&points, &self.params)
                .map_err(|e| DataFusionError::Execution(format!("{NAME}(): {e}")))?;
            for (&row, score) in vectors.rows().iter().zip(scores) {
                by_row[row] = Some(score);
            }
        }
        Ok(Arc::new(Float64Array::from(by_row)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(t.into()))
    }

    #[test]
    fn outliers_method_and_parameters_by_position_or_name() {
        let params = outlier_params(&[]).unwrap();
        assert_eq!(params, OutlierParams::new(OutlierMethod::Lof));
        let params = outlier_params(&[text("n_neighbors=5"), text("metric=cosine")]).unwrap();
        assert_eq!(
            (params.method, params.n_neighbors, params.metric),
            (OutlierMethod::Lof, 5, ClusterMetric::Cosine)
        );
        let params =
            outlier_params(&[text("KNN"), ScalarValue::Int64(Some(3)), text("l2")]).unwrap();
        assert_eq!(
            (params.method, params.n_neighbors, params.metric),
            (OutlierMethod::KnnDistance, 3, ClusterMetric::Euclidean)
        );
    }

    #[test]
    fn outliers_bad_parameters_name_the_problem() {
        let error = |args: &[ScalarValue]| outlier_params(args).unwrap_err().to_string();
        assert!(error(&[text("iforest")]).contains("unknown outlier method 'iforest'"));
        assert!(error(&[ScalarValue::Int64(Some(5))]).contains("argument 2 must be the method"));
        assert!(error(&[text("lof"), text("n_neighbors=0")]).contains("at least 1"));
        assert!(error(&[text("lof"), text("metric=hamming")]).contains("'euclidean'"));
        assert!(error(&[text("lof"), text("k=3")]).contains("unknown parameter 'k'"));
        assert!(error(&[text("lof"), text("2.5")]).contains("n_neighbors must be a whole"));
    }
}
