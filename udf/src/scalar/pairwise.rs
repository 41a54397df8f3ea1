//! The shared implementation of `similarity()` and `distance()`: compare two vectors under a
//! metric. The two functions differ only in which side of the metric they report (see
//! [`reeldb_linalg::distance`]); ordering by `similarity DESC` equals ordering by `distance
//! ASC`, which the planner relies on to use one index for both.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use reeldb_linalg::distance::{Metric, cosine_distance, dot, norm};

use crate::scalar::model_args::field_model;
use crate::vector_arg::{VectorArg, VectorColumn, check_vector_type};

/// Which value of the metric a function reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Larger is closer.
    Similarity,
    /// Smaller is closer.
    Distance,
}

impl Measure {
    /// The SQL function name.
    pub fn function_name(self) -> &'static str {
        match self {
            Measure::Similarity => "similarity",
            Measure::Distance => "distance",
        }
    }

    fn report(self, metric: Metric, distance: Option<f32>) -> Option<f64> {
        let distance = distance?;
        Some(match self {
            Measure::Similarity => metric.similarity_from_distance(distance),
            Measure::Distance => distance,
        } as f64)
    }
}

/// `similarity(a, b [, metric])` or `distance(a, b [, metric])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PairwiseVectorFunc {
    measure: Measure,
    signature: Signature,
    documentation: &'static Documentation,
}

impl PairwiseVectorFunc {
    /// The function reporting `measure`, documented by `documentation`.
    pub fn new(measure: Measure, documentation: &'static Documentation) -> Self {
        PairwiseVectorFunc {
            measure,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation,
        }
    }

    /// Which value of the metric this function reports.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// The SQL name.
    pub fn name_str(&self) -> &'static str {
        self.measure.function_name()
    }
}

/// The metric named by a function's optional third argument; cosine when absent.
pub fn metric_argument(function: &str, argument: Option<&ColumnarValue>) -> Result<Metric> {
    match argument {
        None => Ok(Metric::Cosine),
        Some(ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(name))
            | ScalarValue::Utf8View(Some(name))
            | ScalarValue::LargeUtf8(Some(name)),
        )) => name
            .parse()
            .or_else(|e: reeldb_linalg::Error| exec_err!("{function}(): {e}")),
        Some(_) => exec_err!(
            "{function}(): the metric must be a constant text such as 'cosine', 'dot', 'l2' or 'l1'"
        ),
    }
}

impl ScalarUDFImpl for PairwiseVectorFunc {
    fn name(&self) -> &str {
        self.measure.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!(
                "{name}() takes two vectors and an optional metric, as in {name}(embedding, \
                 [0.1, 0.2, ...], 'cosine'); it was given {} arguments",
                arg_types.len()
            );
        }
        check_vector_type(name, 1, &arg_types[0])?;
        check_vector_type(name, 2, &arg_types[1])?;
        if let Some(metric) = arg_types.get(2)
            && !matches!(
                metric,
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
            )
        {
            return plan_err!(
                "{name}(): the third argument is the metric, a text such as 'cosine'; got {metric}"
            );
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    /// Vectors of two different models live in different spaces: comparing them gives
    /// numbers that mean nothing, so it is refused when both sides name their model.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if let [a, b, ..] = args.arg_fields
            && let (Some(model_a), Some(model_b)) = (field_model(a), field_model(b))
            && model_a != model_b
        {
            return plan_err!(
                "{}(): '{}' holds vectors of model '{model_a}' and '{}' of model '{model_b}'; \
                 vectors of different models cannot be compared. Embed the query with \
                 '{model_a}'",
                self.name(),
                a.name(),
                b.name()
            );
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Float64, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let metric = metric_argument(name, args.args.get(2))?;
        let a = VectorArg::new(name, 1, &args.args[0])?;
        let b = VectorArg::new(name, 2, &args.args[1])?;
        let measure = self.measure;
        match (a, b) {
            (VectorArg::Constant(a), VectorArg::Constant(b)) => {
                let value = match (a, b) {
                    (Some(a), Some(b)) => {
                        check_lengths(name, a.len(), b.len())?;
                        measure.report(metric, metric.distance(&a, &b))
                    }
                    _ => None,
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Float64(value)))
            }
            (VectorArg::Constant(query), VectorArg::Column(column)) => {
                let result = match query {
                    None => Float64Array::new_null(column.len()),
                    Some(query) => against_constant(name, measure, metric, &query, &column, true)?,
                };
                Ok(ColumnarValue::Array(Arc::new(result) as ArrayRef))
            }
            (VectorArg::Column(column), VectorArg::Constant(query)) => {
                let result = match query {
                    None => Float64Array::new_null(column.len()),
                    Some(query) => against_constant(name, measure, metric, &query, &column, false)?,
                };
                Ok(ColumnarValue::Array(Arc::new(result) as ArrayRef))
            }
            (VectorArg::Column(a), VectorArg::Column(b)) => {
                let mut out = Vec::with_capacity(a.len());
                for row in 0..a.len() {
                    out.push(match (a.get(row), b.get(row)) {
                        (Some(x), Some(y)) => {
                            check_lengths(name, x.len(), y.len())?;
                            measure.report(metric, metric.distance(x, y))
                        }
                        _ => None,
                    });
                }
                Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
            }
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.documentation)
    }
}

fn check_lengths(function: &str, a: usize, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        exec_err!(
            "{function}(): the vectors have {a} and {b} values; both must have the same dimension"
        )
    }
}

/// The fast path: one constant query against a column. The query's norm is computed once,
/// and a fixed-size column is read as one contiguous slice. `constant_first` says which
/// argument the constant was, so that errors list the lengths in the order written.
fn against_constant(
    function: &str,
    measure: Measure,
    metric: Metric,
    query: &[f32],
    column: &VectorColumn,
    constant_first: bool,
) -> Result<Float64Array> {
    let check = |column_len: usize| {
        if constant_first {
            check_lengths(function, query.len(), column_len)
        } else {
            check_lengths(function, column_len, query.len())
        }
    };
    let query_norm = norm(query);
    let score = |vector: &[f32]| -> Option<f64> {
        let distance = match metric {
            Metric::Cosine => cosine_distance(dot(query, vector), query_norm, norm(vector)),
            other => other.distance(query, vector),
        };
        measure.report(metric, distance)
    };
    if let (Some(dim), Some(values)) = (column.fixed_dimension(), column.fixed_values()) {
        if !column.is_empty() {
            check(dim)?;
        }
        let scores = (0..column.len()).map(|row| match column.get(row) {
            Some(_) => score(&values[row * dim..(row + 1) * dim]),
            None => None,
        });
        return Ok(scores.collect());
    }
    let mut out = Vec::with_capacity(column.len());
    for row in 0..column.len() {
        out.push(match column.get(row) {
            Some(vector) => {
                check(vector.len())?;
                score(vector)
            }
            None => None,
        });
    }
    Ok(Float64Array::from(out))
}
