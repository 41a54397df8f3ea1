//! `silhouette(vector, label [, metric])`: how well a clustering separates its clusters, as an
//! aggregate (`GROUP BY video`) or a window function.
//!
//! The mean silhouette of the rows (as scikit-learn's `silhouette_score`), from -1 (points
//! closer to another cluster than to their own) to 1 (compact, well-separated clusters).
//! Noise (-1) and rows with a NULL vector or label are left out; NULL when fewer than two
//! clusters remain.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use reeldb_linalg::Points;
use reeldb_linalg::cluster::quality::silhouette;
use reeldb_linalg::neighbours::ClusterMetric;

use super::literal_args::literal_args;
use crate::DOC_SECTION_ANALYSIS;
use crate::vector_arg::{VectorColumn, check_vector_type};

const NAME: &str = "silhouette";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "The mean silhouette of a clustering, from -1 to 1 (higher: compact, well-separated \
         clusters), as scikit-learn's silhouette_score. Noise (-1) and NULLs are left out; \
         NULL when fewer than two clusters remain. Exact: it compares every pair of rows.",
        "silhouette(vector, label [, metric])",
    )
    .with_sql_example(
        r#"```sql
> SELECT video, round(silhouette(embedding, topic), 3) AS silhouette FROM frames GROUP BY video ORDER BY video;
+-------+------------+
| video | silhouette |
+-------+------------+
| news  | 0.869      |
| sport | 0.863      |
+-------+------------+
```"#,
    )
    .with_argument("vector", "A vector column")
    .with_argument("label", "The cluster label of the row (a whole number)")
    .with_argument("metric", "'euclidean' (default) or 'cosine'")
    .with_related_udf("cluster")
    .with_related_udf("choose_k")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> =
    LazyLock::new(|| Arc::new(AggregateUDF::new_from_impl(SilhouetteFunc::new())));

/// The `silhouette` aggregate function.
pub fn silhouette_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// `silhouette(vector, label [, metric])` as a DataFusion aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SilhouetteFunc {
    signature: Signature,
}

impl SilhouetteFunc {
    /// The function.
    pub fn new() -> Self {
        SilhouetteFunc {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for SilhouetteFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for SilhouetteFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!("{NAME}() takes a vector, a label and optionally a metric");
        }
        check_vector_type(NAME, 1, &arg_types[0])?;
        if !arg_types[1].is_integer() && !arg_types[1].is_null() {
            return plan_err!(
                "{NAME}(): argument 2 is {}, not a whole-number cluster label",
                arg_types[1]
            );
        }
        Ok(DataType::Float64)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let metric = match literal_args(NAME, args.exprs, 2)?.first() {
            None | Some(ScalarValue::Null) => ClusterMetric::Euclidean,
            Some(ScalarValue::Utf8(Some(text)) | ScalarValue::Utf8View(Some(text))) => {
                ClusterMetric::parse(text).map_err(|e| {
                    datafusion::error::DataFusionError::Plan(format!("{NAME}(): {e}"))
                })?
            }
            Some(other) => return plan_err!("{NAME}(): the metric must be text, not {other}"),
        };
        Ok(Box::new(SilhouetteAccumulator {
            metric,
            dim: None,
            values: Vec::new(),
            labels: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = |t: DataType| Arc::new(Field::new_list_field(t, true));
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_values", args.name),
                DataType::List(item(DataType::Float32)),
                true,
            )),
            Arc::new(Field::new(
                format!("{}_labels", args.name),
                DataType::List(item(DataType::Int64)),
                true,
            )),
            Arc::new(Field::new(
                format!("{}_dim", args.name),
                DataType::UInt64,
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Keeps every clustered vector of the group; the silhouette needs them all.
#[derive(Debug)]
struct SilhouetteAccumulator {
    metric: ClusterMetric,
    dim: Option<usize>,
    values: Vec<f32>,
    labels: Vec<i64>,
}

impl SilhouetteAccumulator {
    fn push(&mut self, vector: &[f32], label: i64) -> Result<()> {
        match self.dim {
            None => self.dim = Some(vector.len()),
            Some(dim) if dim != vector.len() => {
                return exec_err!(
                    "{NAME}(): vectors of dimensions {dim} and {} in one group; compare \
                     vectors of one column",
                    vector.len()
                );
            }
            Some(_) => {}
        }
        self.values.extend_from_slice(vector);
        self.labels.push(label);
        Ok(())
    }
}

impl Accumulator for SilhouetteAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let vectors = VectorColumn::new(NAME, 1, &values[0])?;
        let labels = cast(&values[1], &DataType::Int64)?;
        let labels = labels.as_primitive::<Int64Type>();
        for row in 0..vectors.len() {
            if let (Some(vector), true) = (vectors.get(row), labels.is_valid(row)) {
                self.push(vector, labels.value(row))?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let Some(dim) = self.dim else {
            return Ok(ScalarValue::Float64(None));
        };
        let points = Points::new(&self.values, dim)
            .map_err(|e| datafusion::error::DataFusionError::Execution(format!("{NAME}(): {e}")))?;
        let score = silhouette(&points, &self.labels, self.metric)
            .map_err(|e| datafusion::error::DataFusionError::Execution(format!("{NAME}(): {e}")))?;
        Ok(ScalarValue::Float64(score))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self.values.capacity() * size_of::<f32>()
            + self.labels.capacity() * size_of::<i64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values: ArrayRef = Arc::new(Float32Array::from(std::mem::take(&mut self.values)));
        let labels: ArrayRef = Arc::new(Int64Array::from(std::mem::take(&mut self.labels)));
        Ok(vec![
            list_scalar(values),
            list_scalar(labels),
            ScalarValue::UInt64(self.dim.map(|d| d as u64)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let values = states[0].as_list::<i32>();
        let labels = states[1].as_list::<i32>();
        let dims = states[2].as_primitive::<UInt64Type>();
        for row in 0..states[0].len() {
            if !dims.is_valid(row) {
                continue;
            }
            let dim = dims.value(row) as usize;
            let row_values = values.value(row);
            let row_values = row_values.as_primitive::<arrow::datatypes::Float32Type>();
            let row_labels = labels.value(row);
            let row_labels = row_labels.as_primitive::<Int64Type>();
            for (i, label) in row_labels.values().iter().enumerate() {
                self.push(&row_values.values()[i * dim..(i + 1) * dim], *label)?;
            }
        }
        Ok(())
    }
}

/// A one-row list scalar holding `array` (an accumulator's state).
pub(crate) fn list_scalar(array: ArrayRef) -> ScalarValue {
    datafusion::common::utils::SingleRowListArrayBuilder::new(array).build_list_scalar()
}
