//! `vector_mean(v)`: the element-wise mean (the centroid) of a group's vectors, as an
//! aggregate (`GROUP BY video`) or a window function (`OVER (...)`).
//!
//! The sums are kept in `f64`, so that a large group neither overflows nor loses the small
//! vectors to rounding, and can be retracted for sliding window frames.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::vector_math::{VectorBuilder, result_field, result_type, type_dimension};
use crate::DOC_SECTION_VECTOR;
use crate::analysis::silhouette_aggregate::list_scalar;
use crate::scalar::model_args::field_model;
use crate::vector_arg::{VectorColumn, check_vector_type};

const NAME: &str = "vector_mean";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "The element-wise mean of the non-NULL vectors of a group: its centroid, as a \
         VECTOR(n) for a vector column (a list of floats for other lists). NULL when the \
         group has no vector; an error if its vectors have different dimensions. An aggregate \
         (GROUP BY) or, with OVER, a window function: a running or sliding mean. The mean of \
         unit vectors is shorter than 1; normalize() it to compare it by cosine.",
        "vector_mean(v)",
    )
    .with_sql_example(
        r#"```sql
> SELECT topic, vector_mean(embedding) AS centroid FROM frames WHERE video = 'news' GROUP BY topic ORDER BY topic;
+-------+--------------------+
| topic | centroid           |
+-------+--------------------+
| 0     | [0.9, 0.033333335] |
| 1     | [0.033333335, 0.9] |
+-------+--------------------+
```"#,
    )
    .with_argument("v", "A vector column (or a function of one)")
    .with_related_udf("vector_add")
    .with_related_udf("normalize")
    .with_related_udf("cluster")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> =
    LazyLock::new(|| Arc::new(AggregateUDF::new_from_impl(VectorMeanFunc::new())));

/// The `vector_mean` aggregate function.
pub fn vector_mean_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// `vector_mean(v)` as a DataFusion aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VectorMeanFunc {
    signature: Signature,
}

impl VectorMeanFunc {
    /// The function.
    pub fn new() -> Self {
        VectorMeanFunc {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for VectorMeanFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for VectorMeanFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [vector] = arg_types else {
            return plan_err!(
                "{NAME}() takes one vector, as in {NAME}(embedding); it was given {} arguments",
                arg_types.len()
            );
        };
        if matches!(
            vector,
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        ) {
            return plan_err!(
                "{NAME}(): argument 1 is text; average a vector column (VECTOR(n)) or lists"
            );
        }
        check_vector_type(NAME, 1, vector)?;
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [vector] => Ok(result_type(type_dimension(vector))),
            _ => plan_err!("{NAME}() takes one vector"),
        }
    }

    /// The mean of a model's vectors is in that model's space, and names it.
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let [vector] = arg_fields else {
            return plan_err!("{NAME}() takes one vector");
        };
        Ok(result_field(
            NAME,
            type_dimension(vector.data_type()),
            field_model(vector),
        ))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(VectorMeanAccumulator {
            return_type: args.return_field.data_type().clone(),
            sums: Vec::new(),
            count: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_sums", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}_count", args.name),
                DataType::UInt64,
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The element-wise sums of the group's vectors and their number. `sums` is empty until the
/// first vector sets the dimension (and again once a window frame retracts every vector).
#[derive(Debug)]
struct VectorMeanAccumulator {
    return_type: DataType,
    sums: Vec<f64>,
    count: u64,
}

impl VectorMeanAccumulator {
    fn check_dimension(&mut self, dim: usize) -> Result<()> {
        if self.count == 0 {
            self.sums.clear();
            self.sums.resize(dim, 0.0);
            Ok(())
        } else if self.sums.len() == dim {
            Ok(())
        } else {
            exec_err!(
                "{NAME}(): vectors of dimensions {} and {dim} in one group; average vectors of \
                 one dimension (one VECTOR(n) column)",
                self.sums.len()
            )
        }
    }

    fn add(&mut self, vector: &[f32]) -> Result<()> {
        self.check_dimension(vector.len())?;
        for (sum, x) in self.sums.iter_mut().zip(vector) {
            *sum += f64::from(*x);
        }
        self.count += 1;
        Ok(())
    }
}

impl Accumulator for VectorMeanAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let vectors = VectorColumn::new(NAME, 1, &values[0])?;
        for row in 0..vectors.len() {
            if let Some(vector) = vectors.get(row) {
                self.add(vector)?;
            }
        }
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let vectors = VectorColumn::new(NAME, 1, &values[0])?;
        for row in 0..vectors.len() {
            let Some(vector) = vectors.get(row) else {
                continue;
            };
            if self.count == 0 || vector.len() != self.sums.len() {
                return internal_err!("{NAME}(): a window frame retracted a vector it never held");
            }
            for (sum, x) in self.sums.iter_mut().zip(vector) {
                *sum -= f64::from(*x);
            }
            self.count -= 1;
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut out = VectorBuilder::new(NAME, &self.return_type, 1)?;
        if self.count == 0 {
            out.push_null()?;
        } else {
            let count = self.count as f64;
            out.values()
                .extend(self.sums.iter().map(|sum| (sum / count) as f32));
            out.end_row()?;
        }
        ScalarValue::try_from_array(out.finish_array()?.as_ref(), 0)
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.sums.capacity() * size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let sums: ArrayRef = Arc::new(Float64Array::from(self.sums.clone()));
        Ok(vec![
            list_scalar(sums),
            ScalarValue::UInt64(Some(self.count)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let sums = states[0].as_list::<i32>();
        let counts = states[1].as_primitive::<UInt64Type>();
        for row in 0..states[0].len() {
            if !counts.is_valid(row) || counts.value(row) == 0 || sums.is_null(row) {
                continue;
            }
            let row_sums = sums.value(row);
            let row_sums = row_sums.as_primitive::<Float64Type>();
            self.check_dimension(row_sums.len())?;
            for (sum, x) in self.sums.iter_mut().zip(row_sums.values()) {
                *sum += x;
            }
            self.count += counts.value(row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::model_args::vector_array;
    use reeldb_engine::vector::vector_type;

    fn accumulator(return_type: DataType) -> VectorMeanAccumulator {
        VectorMeanAccumulator {
            return_type,
            sums: Vec::new(),
            count: 0,
        }
    }

    fn column(dim: usize, rows: &[Option<&[f32]>]) -> ArrayRef {
        Arc::new(vector_array(dim, rows).unwrap())
    }

    fn vector(value: &ScalarValue) -> Option<Vec<f32>> {
        let column = VectorColumn::new("test", 1, &value.to_array().unwrap()).unwrap();
        column.get(0).map(<[f32]>::to_vec)
    }

    #[test]
    fn the_mean_leaves_out_nulls() {
        let mut acc = accumulator(vector_type(2));
        acc.update_batch(&[column(2, &[Some(&[1.0, 2.0]), None, Some(&[3.0, -2.0])])])
            .unwrap();
        let mean = acc.evaluate().unwrap();
        assert_eq!(mean.data_type(), vector_type(2));
        assert_eq!(vector(&mean), Some(vec![2.0, 0.0]));
    }

    #[test]
    fn a_group_without_vectors_is_null() {
        let mut acc = accumulator(vector_type(2));
        acc.update_batch(&[column(2, &[None, None])]).unwrap();
        let mean = acc.evaluate().unwrap();
        assert!(mean.is_null());
        assert_eq!(mean.data_type(), vector_type(2));
    }

    #[test]
    fn partial_states_merge() {
        let mut a = accumulator(vector_type(1));
        a.update_batch(&[column(1, &[Some(&[1.0]), Some(&[2.0])])])
            .unwrap();
        let mut b = accumulator(vector_type(1));
        b.update_batch(&[column(1, &[Some(&[6.0])])]).unwrap();
        let mut empty = accumulator(vector_type(1));
        let states = [
            a.state().unwrap(),
            empty.state().unwrap(),
            b.state().unwrap(),
        ];
        let arrays: Vec<ArrayRef> = (0..2)
            .map(|i| ScalarValue::iter_to_array(states.iter().map(|s| s[i].clone())).unwrap())
            .collect();
        let mut merged = accumulator(vector_type(1));
        merged.merge_batch(&arrays).unwrap();
        assert_eq!(vector(&merged.evaluate().unwrap()), Some(vec![3.0]));
    }

    #[test]
    fn retracting_slides_the_window() {
        let mut acc = accumulator(vector_type(1));
        acc.update_batch(&[column(1, &[Some(&[1.0]), Some(&[3.0])])])
            .unwrap();
        acc.retract_batch(&[column(1, &[Some(&[1.0])])]).unwrap();
        assert_eq!(vector(&acc.evaluate().unwrap()), Some(vec![3.0]));
        acc.retract_batch(&[column(1, &[Some(&[3.0])])]).unwrap();
        assert!(acc.evaluate().unwrap().is_null());
        // Emptied, the frame takes a vector of any dimension again (a list argument).
        let mut acc = accumulator(result_type(None));
        acc.update_batch(&[column(2, &[Some(&[1.0, 1.0])])])
            .unwrap();
        acc.retract_batch(&[column(2, &[Some(&[1.0, 1.0])])])
            .unwrap();
        acc.update_batch(&[column(1, &[Some(&[5.0])])]).unwrap();
        assert_eq!(vector(&acc.evaluate().unwrap()), Some(vec![5.0]));
    }

    #[test]
    fn mismatched_dimensions_are_an_error_naming_both() {
        let mut acc = accumulator(result_type(None));
        acc.update_batch(&[column(3, &[Some(&[1.0, 2.0, 3.0])])])
            .unwrap();
        let err = acc
            .update_batch(&[column(2, &[Some(&[1.0, 2.0])])])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector_mean(): vectors of dimensions 3 and 2 in one group"),
            "{err}"
        );
    }

    #[test]
    fn large_vectors_do_not_overflow_the_sum() {
        let mut acc = accumulator(vector_type(1));
        acc.update_batch(&[column(1, &[Some(&[3e38]), Some(&[3e38])])])
            .unwrap();
        assert_eq!(vector(&acc.evaluate().unwrap()), Some(vec![3e38]));
    }

    #[test]
    fn text_is_refused_at_planning() {
        let err = vector_mean_udaf()
            .inner()
            .coerce_types(&[DataType::Utf8])
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument 1 is text"), "{err}");
    }
}
