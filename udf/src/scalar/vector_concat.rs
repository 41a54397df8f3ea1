//! `vector_concat(a, b [, c ...])`: vectors joined end to end, as for a joint embedding.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use reeldb_engine::vector::MAX_VECTOR_DIMENSION;

use super::vector_math::{
    VectorBuilder, result_field, result_type, type_dimension, vector_args, vector_at,
};
use crate::DOC_SECTION_VECTOR;
use crate::vector_arg::check_vector_type;

const NAME: &str = "vector_concat";

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "Two or more vectors joined end to end: the result has the sum of their dimensions. \
         NULL if any vector is NULL. The result is a VECTOR(n) when every argument is a \
         vector column (or a function of one), else a list of floats (cast it with \
         ::VECTOR(n)). A joint embedding of an image vector and an aligned text vector is \
         the concatenation of the two normalised vectors, normalised again: \
         CREATE TABLE joint AS SELECT id, normalize(vector_concat(normalize(img), \
         normalize(txt))) AS v FROM shots gives a VECTOR column that CREATE VECTOR INDEX, \
         similarity() and cluster() accept, where image and text count equally. When the two \
         have the same dimension, a weighted sum weighs them as chosen: \
         vector_add(vector_scale(normalize(img), 0.7), vector_scale(normalize(txt), 0.3)).",
        "vector_concat(a, b [, c ...])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, vector_concat(normalize(embedding), embedding) AS joint FROM frames WHERE id IN (1, 3) ORDER BY id;
+----+----------------------+
| id | joint                |
+----+----------------------+
| 1  | [1.0, 0.0, 1.0, 0.0] |
| 3  | [1.0, 0.0, 0.8, 0.0] |
+----+----------------------+
```"#,
    )
    .with_argument(
        "a",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_argument("b", "A vector of any dimension, appended to a")
    .with_argument("c", "More vectors, appended in order (optional)")
    .with_related_udf("normalize")
    .with_related_udf("vector_add")
    .with_related_udf("cluster")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(VectorConcatFunc::new())));

/// The `vector_concat` function.
pub fn vector_concat_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

/// `vector_concat(a, b [, c ...])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VectorConcatFunc {
    signature: Signature,
}

impl VectorConcatFunc {
    /// The function.
    pub fn new() -> Self {
        VectorConcatFunc {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for VectorConcatFunc {
    fn default() -> Self {
        Self::new()
    }
}

/// The dimension of the concatenation when every argument's type fixes one.
fn joint_dimension(arg_types: &[DataType]) -> Result<Option<i32>> {
    let mut total: i64 = 0;
    for data_type in arg_types {
        let Some(dim) = type_dimension(data_type) else {
            return Ok(None);
        };
        total += i64::from(dim);
    }
    if total > MAX_VECTOR_DIMENSION as i64 {
        return plan_err!(
            "{NAME}(): the vectors have {total} dimensions together; a vector may have at most \
             {MAX_VECTOR_DIMENSION}"
        );
    }
    Ok(Some(total as i32))
}

impl ScalarUDFImpl for VectorConcatFunc {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 2 {
            return plan_err!(
                "{NAME}() joins two or more vectors, as in {NAME}(image_vector, text_vector); \
                 it was given {} arguments",
                arg_types.len()
            );
        }
        for (i, data_type) in arg_types.iter().enumerate() {
            check_vector_type(NAME, i + 1, data_type)?;
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(result_type(joint_dimension(arg_types)?))
    }

    /// The result names no model: it lives in a space of its own.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(result_field(NAME, joint_dimension(&types)?, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (vectors, constant) = vector_args(NAME, &args.args)?;
        let rows = if constant { 1 } else { args.number_rows };
        let mut out = VectorBuilder::new(NAME, args.return_field.data_type(), rows)?;
        'rows: for row in 0..rows {
            for vector in &vectors {
                match vector_at(vector, row) {
                    Some(v) => out.values().extend_from_slice(v),
                    None => {
                        out.push_null()?;
                        continue 'rows;
                    }
                }
            }
            out.end_row()?;
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
    fn joins_columns_into_a_vector_of_the_summed_dimension() {
        let a = column(2, &[Some(&[1.0, 2.0]), Some(&[5.0, 6.0])]);
        let b = column(1, &[Some(&[3.0]), None]);
        let c = column(2, &[Some(&[4.0, 4.5]), Some(&[7.0, 8.0])]);
        let (result, field) = call(&vector_concat_udf(), vec![a, b, c], 2).unwrap();
        assert_eq!(field.data_type(), &vector_type(5));
        assert_eq!(
            rows(&result),
            vec![Some(vec![1.0, 2.0, 3.0, 4.0, 4.5]), None]
        );
    }

    #[test]
    fn a_list_argument_gives_a_list() {
        let a = column(2, &[Some(&[1.0, 2.0])]);
        let (result, field) = call(&vector_concat_udf(), vec![a, literal(&[3.0])], 1).unwrap();
        assert!(matches!(field.data_type(), DataType::List(_)));
        assert_eq!(rows(&result), vec![Some(vec![1.0, 2.0, 3.0])]);
    }

    #[test]
    fn needs_two_vectors_and_a_storable_dimension() {
        let concat = vector_concat_udf();
        let err = concat
            .inner()
            .coerce_types(&[vector_type(2)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("joins two or more vectors"), "{err}");
        let err = concat
            .inner()
            .return_type(&[vector_type(40_000), vector_type(40_000)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("80000 dimensions together"), "{err}");
    }
}
