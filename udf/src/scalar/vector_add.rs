//! `vector_add(a, b)`: the element-wise sum of two vectors.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use super::vector_math::{Elementwise, ElementwiseFunc};
use crate::DOC_SECTION_VECTOR;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "The element-wise sum of two vectors of one dimension, as 32-bit floats: with \
         vector_sub() and vector_scale(), vector arithmetic such as king - man + woman, or a \
         weighted sum of two aligned embeddings. NULL if either vector is NULL; an error if \
         their dimensions differ. The result is a VECTOR(n) when either argument is a vector \
         column (or a function of one), else a list of floats (cast it with ::VECTOR(n)).",
        "vector_add(a, b)",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, vector_add(embedding, [0.5, 0.5]) AS shifted FROM frames WHERE id < 3 ORDER BY id;
+----+------------+
| id | shifted    |
+----+------------+
| 1  | [1.5, 0.5] |
| 2  | [1.4, 0.6] |
+----+------------+
```"#,
    )
    .with_argument(
        "a",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_argument("b", "A vector of the same dimension")
    .with_related_udf("vector_sub")
    .with_related_udf("vector_scale")
    .with_related_udf("vector_mean")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(ElementwiseFunc::new(
        Elementwise::Add,
        &DOCUMENTATION,
    )))
});

/// The `vector_add` function.
pub fn vector_add_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::vector_math::test_support::{call, column, literal, rows};
    use arrow::datatypes::DataType;
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::ColumnarValue;
    use reeldb_engine::vector::vector_type;

    #[test]
    fn adds_a_column_and_a_constant_and_keeps_the_vector_type() {
        let a = column(2, &[Some(&[1.0, 2.0]), None, Some(&[-1.0, 0.5])]);
        let (result, field) = call(&vector_add_udf(), vec![a, literal(&[0.5, 1.0])], 3).unwrap();
        assert_eq!(field.data_type(), &vector_type(2));
        assert_eq!(
            rows(&result),
            vec![Some(vec![1.5, 3.0]), None, Some(vec![-0.5, 1.5])]
        );
    }

    #[test]
    fn two_constants_give_a_constant_list() {
        let (result, field) = call(
            &vector_add_udf(),
            vec![literal(&[1.0, 2.0]), literal(&[3.0, 4.0])],
            5,
        )
        .unwrap();
        assert!(matches!(field.data_type(), DataType::List(_)));
        assert!(matches!(result, ColumnarValue::Scalar(_)));
        assert_eq!(rows(&result), vec![Some(vec![4.0, 6.0])]);
    }

    #[test]
    fn a_null_constant_gives_null_rows() {
        let a = column(2, &[Some(&[1.0, 2.0]), Some(&[3.0, 4.0])]);
        let null = ColumnarValue::Scalar(ScalarValue::Null);
        let (result, _) = call(&vector_add_udf(), vec![a, null], 2).unwrap();
        assert_eq!(rows(&result), vec![None, None]);
    }

    #[test]
    fn mismatched_dimensions_are_an_error_naming_both() {
        let a = column(3, &[Some(&[1.0, 2.0, 3.0])]);
        let err = call(&vector_add_udf(), vec![a, literal(&[1.0, 2.0])], 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector_add(): the vectors have dimensions 3 and 2"),
            "{err}"
        );
        assert!(err.contains("vector_concat()"), "{err}");
    }

    #[test]
    fn an_overflow_is_infinity_not_a_panic() {
        let a = column(2, &[Some(&[f32::MAX, 1.0])]);
        let (result, _) = call(&vector_add_udf(), vec![a.clone(), a], 1).unwrap();
        assert_eq!(rows(&result), vec![Some(vec![f32::INFINITY, 2.0])]);
    }
}
