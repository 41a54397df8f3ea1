//! `normalize(v)`: a vector scaled to unit length (L2 norm 1).

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};

use super::vector_math::{
    VectorBuilder, result_field, result_type, type_dimension, vector_args, vector_at,
};
use crate::DOC_SECTION_VECTOR;
use crate::scalar::model_args::field_model;
use crate::vector_arg::check_vector_type;

const NAME: &str = "normalize";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "A vector divided by its Euclidean (L2) length, so that its length is 1 (the norm is \
         computed in 64-bit floats, so large elements do not overflow it). NULL if the vector \
         is NULL, and NULL for an all-zero vector, which has no direction (as cosine \
         similarity() is NULL for it). The result is a VECTOR(n) when the argument is a vector \
         column (or a function of one), else a list of floats. Normalise vectors before \
         combining them, so that each has the same weight.",
        "normalize(v)",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, normalize(embedding) AS unit FROM frames WHERE id IN (2, 3) ORDER BY id;
+----+-------------------------+
| id | unit                    |
+----+-------------------------+
| 2  | [0.9938837, 0.11043153] |
| 3  | [1.0, 0.0]              |
+----+-------------------------+
```"#,
    )
    .with_argument(
        "v",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_related_udf("vector_scale")
    .with_related_udf("vector_concat")
    .with_related_udf("similarity")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(NormalizeFunc::new())));

/// The `normalize` function.
pub fn normalize_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

/// `normalize(v)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NormalizeFunc {
    signature: Signature,
}

impl NormalizeFunc {
    /// The function.
    pub fn new() -> Self {
        NormalizeFunc {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for NormalizeFunc {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends `vector / |vector|` to `out`; false (nothing appended) for a zero vector.
pub fn normalize_into(vector: &[f32], out: &mut Vec<f32>) -> bool {
    let norm = vector
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        return false;
    }
    out.extend(vector.iter().map(|x| (f64::from(*x) / norm) as f32));
    true
}

impl ScalarUDFImpl for NormalizeFunc {
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
        check_vector_type(NAME, 1, vector)?;
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [vector] => Ok(result_type(type_dimension(vector))),
            _ => plan_err!("{NAME}() takes one vector"),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let [vector] = args.arg_fields else {
            return plan_err!("{NAME}() takes one vector");
        };
        Ok(result_field(
            NAME,
            type_dimension(vector.data_type()),
            field_model(vector),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (vectors, constant) = vector_args(NAME, &args.args)?;
        let [vector] = vectors.as_slice() else {
            return internal_err!("{NAME}() was called with {} arguments", vectors.len());
        };
        let rows = if constant { 1 } else { args.number_rows };
        let mut out = VectorBuilder::new(NAME, args.return_field.data_type(), rows)?;
        for row in 0..rows {
            match vector_at(vector, row) {
                Some(v) if normalize_into(v, out.values()) => out.end_row()?,
                _ => out.push_null()?,
            }
        }
        out.finish(constant)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::vector_math::test_support::{call, column, literal, rows};
    use reeldb_engine::vector::vector_type;

    #[test]
    fn gives_unit_vectors_of_the_column_type() {
        let v = column(2, &[Some(&[3.0, 4.0]), None, Some(&[0.0, -2.0])]);
        let (result, field) = call(&normalize_udf(), vec![v], 3).unwrap();
        assert_eq!(field.data_type(), &vector_type(2));
        assert_eq!(
            rows(&result),
            vec![Some(vec![0.6, 0.8]), None, Some(vec![0.0, -1.0])]
        );
    }

    #[test]
    fn a_zero_vector_is_null() {
        let v = column(3, &[Some(&[0.0, 0.0, 0.0]), Some(&[0.0, 0.0, 5.0])]);
        let (result, _) = call(&normalize_udf(), vec![v], 2).unwrap();
        assert_eq!(rows(&result), vec![None, Some(vec![0.0, 0.0, 1.0])]);
        let (result, field) = call(&normalize_udf(), vec![literal(&[0.0, 0.0])], 1).unwrap();
        assert!(matches!(field.data_type(), DataType::List(_)));
        assert_eq!(rows(&result), vec![None]);
    }

    #[test]
    fn large_elements_do_not_overflow_the_norm() {
        let v = column(2, &[Some(&[3e38, 3e38])]);
        let (result, _) = call(&normalize_udf(), vec![v], 1).unwrap();
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(rows(&result), vec![Some(vec![half, half])]);
    }

    #[test]
    fn a_non_finite_element_follows_f32_arithmetic() {
        let v = column(2, &[Some(&[f32::INFINITY, 1.0])]);
        let (result, _) = call(&normalize_udf(), vec![v], 1).unwrap();
        let row = rows(&result).remove(0).unwrap();
        assert!(row[0].is_nan() && row[1] == 0.0, "{row:?}");
    }

    #[test]
    fn one_argument_only() {
        let err = normalize_udf()
            .inner()
            .coerce_types(&[vector_type(2), vector_type(2)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("normalize() takes one vector"), "{err}");
    }
}
