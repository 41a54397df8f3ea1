//! `vector_scale(v, factor)`: a vector multiplied by a number.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};

use super::vector_math::{VectorBuilder, result_field, result_type, type_dimension, vector_at};
use crate::DOC_SECTION_VECTOR;
use crate::scalar::model_args::field_model;
use crate::vector_arg::{VectorArg, check_vector_type};

const NAME: &str = "vector_scale";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "A vector with every element multiplied by a number, as 32-bit floats (an overflow \
         gives infinity). NULL if the vector or the factor is NULL. The result is a VECTOR(n) \
         when the vector is a vector column (or a function of one), else a list of floats. \
         With vector_add(), a weighted sum of two embeddings of one dimension: \
         vector_add(vector_scale(normalize(a), 0.7), vector_scale(normalize(b), 0.3)).",
        "vector_scale(v, factor)",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, vector_scale(embedding, id) AS scaled FROM frames WHERE id IN (2, 4) ORDER BY id;
+----+------------+
| id | scaled     |
+----+------------+
| 2  | [1.8, 0.2] |
| 4  | [0.0, 4.0] |
+----+------------+
```"#,
    )
    .with_argument(
        "v",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_argument("factor", "A number: a constant or a numeric column")
    .with_related_udf("vector_add")
    .with_related_udf("normalize")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(VectorScaleFunc::new())));

/// The `vector_scale` function.
pub fn vector_scale_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

/// `vector_scale(v, factor)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VectorScaleFunc {
    signature: Signature,
}

impl VectorScaleFunc {
    /// The function.
    pub fn new() -> Self {
        VectorScaleFunc {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for VectorScaleFunc {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for VectorScaleFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [vector, factor] = arg_types else {
            return plan_err!(
                "{NAME}() takes a vector and a number, as in {NAME}(embedding, 0.5); it was \
                 given {} arguments",
                arg_types.len()
            );
        };
        check_vector_type(NAME, 1, vector)?;
        if !factor.is_numeric() && !factor.is_null() {
            return plan_err!("{NAME}(): argument 2 is {factor}, not a number to multiply by");
        }
        Ok(vec![vector.clone(), DataType::Float64])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(vector) => Ok(result_type(type_dimension(vector))),
            None => plan_err!("{NAME}() takes a vector and a number"),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let Some(vector) = args.arg_fields.first() else {
            return plan_err!("{NAME}() takes a vector and a number");
        };
        Ok(result_field(
            NAME,
            type_dimension(vector.data_type()),
            field_model(vector),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [vector, factor] = args.args.as_slice() else {
            return internal_err!("{NAME}() was called with {} arguments", args.args.len());
        };
        let constant = matches!(
            (vector, factor),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let vector = VectorArg::new(NAME, 1, vector)?;
        let factors = match factor {
            ColumnarValue::Scalar(scalar) => Factors::Constant(constant_factor(scalar)?),
            ColumnarValue::Array(array) => Factors::Column(
                cast(array, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
        };
        let rows = if constant { 1 } else { args.number_rows };
        let mut out = VectorBuilder::new(NAME, args.return_field.data_type(), rows)?;
        for row in 0..rows {
            match (vector_at(&vector, row), factors.get(row)) {
                (Some(v), Some(factor)) => {
                    let factor = factor as f32;
                    out.values().extend(v.iter().map(|x| x * factor));
                    out.end_row()?;
                }
                _ => out.push_null()?,
            }
        }
        out.finish(constant)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

enum Factors {
    Constant(Option<f64>),
    Column(arrow::array::Float64Array),
}

impl Factors {
    fn get(&self, row: usize) -> Option<f64> {
        match self {
            Factors::Constant(factor) => *factor,
            Factors::Column(column) => column.is_valid(row).then(|| column.value(row)),
        }
    }
}

fn constant_factor(scalar: &ScalarValue) -> Result<Option<f64>> {
    if scalar.is_null() {
        return Ok(None);
    }
    match scalar.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(factor) => Ok(factor),
        other => internal_err!("{NAME}(): the factor was cast to {}", other.data_type()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::vector_math::test_support::{call, column, literal, rows};
    use arrow::array::Float64Array;
    use reeldb_engine::vector::vector_type;

    fn factor(value: Option<f64>) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Float64(value))
    }

    #[test]
    fn scales_by_a_constant_or_by_a_column() {
        let v = column(2, &[Some(&[1.0, -2.0]), None]);
        let (result, field) = call(&vector_scale_udf(), vec![v, factor(Some(0.5))], 2).unwrap();
        assert_eq!(field.data_type(), &vector_type(2));
        assert_eq!(rows(&result), vec![Some(vec![0.5, -1.0]), None]);

        let v = column(2, &[Some(&[1.0, 2.0]), Some(&[1.0, 2.0])]);
        let factors = ColumnarValue::Array(Arc::new(Float64Array::from(vec![Some(3.0), None])));
        let (result, _) = call(&vector_scale_udf(), vec![v, factors], 2).unwrap();
        assert_eq!(rows(&result), vec![Some(vec![3.0, 6.0]), None]);
    }

    #[test]
    fn a_null_factor_or_vector_gives_null() {
        let (result, _) = call(
            &vector_scale_udf(),
            vec![literal(&[1.0, 2.0]), factor(None)],
            1,
        )
        .unwrap();
        assert_eq!(rows(&result), vec![None]);
        let null = ColumnarValue::Scalar(ScalarValue::Null);
        let (result, field) = call(&vector_scale_udf(), vec![null, factor(Some(2.0))], 1).unwrap();
        assert!(matches!(field.data_type(), DataType::List(_)));
        assert_eq!(rows(&result), vec![None]);
    }

    #[test]
    fn an_overflow_is_infinity_not_a_panic() {
        let v = column(2, &[Some(&[3e38, -3e38])]);
        let (result, _) = call(&vector_scale_udf(), vec![v, factor(Some(10.0))], 1).unwrap();
        assert_eq!(
            rows(&result),
            vec![Some(vec![f32::INFINITY, f32::NEG_INFINITY])]
        );
    }

    #[test]
    fn a_text_factor_is_refused_at_planning() {
        let err = vector_scale_udf()
            .inner()
            .coerce_types(&[vector_type(2), DataType::Utf8])
            .unwrap_err()
            .to_string();
        assert!(err.contains("argument 2 is Utf8, not a number"), "{err}");
    }
}
