//! `vector_sub(a, b)`: the element-wise difference of two vectors.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use super::vector_math::{Elementwise, ElementwiseFunc};
use crate::DOC_SECTION_VECTOR;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "The element-wise difference a - b of two vectors of one dimension, as 32-bit \
         floats: with vector_add(), arithmetic such as king - man + woman, \
         vector_add(vector_sub(king, man), woman). NULL if either vector is NULL; an error if \
         their dimensions differ. The result is a VECTOR(n) when either argument is a vector \
         column (or a function of one), else a list of floats (cast it with ::VECTOR(n)).",
        "vector_sub(a, b)",
    )
    .with_sql_example(
        r#"```sql
> SELECT vector_sub(a.embedding, b.embedding) AS difference FROM frames a, frames b WHERE a.id = 1 AND b.id = 4;
+-------------+
| difference  |
+-------------+
| [1.0, -1.0] |
+-------------+
```"#,
    )
    .with_argument(
        "a",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_argument("b", "A vector of the same dimension, subtracted from a")
    .with_related_udf("vector_add")
    .with_related_udf("vector_scale")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(ElementwiseFunc::new(
        Elementwise::Sub,
        &DOCUMENTATION,
    )))
});

/// The `vector_sub` function.
pub fn vector_sub_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::vector_math::test_support::{call, column, literal, rows};
    use reeldb_engine::vector::vector_type;

    #[test]
    fn subtracts_row_by_row_and_in_the_order_written() {
        let a = column(2, &[Some(&[1.0, 2.0]), Some(&[0.0, 0.0]), None]);
        let b = column(2, &[Some(&[0.5, 0.5]), None, Some(&[1.0, 1.0])]);
        let (result, field) = call(&vector_sub_udf(), vec![a, b], 3).unwrap();
        assert_eq!(field.data_type(), &vector_type(2));
        assert_eq!(rows(&result), vec![Some(vec![0.5, 1.5]), None, None]);

        let a = column(2, &[Some(&[1.0, 2.0])]);
        let (result, _) = call(&vector_sub_udf(), vec![literal(&[0.0, 0.0]), a], 1).unwrap();
        assert_eq!(rows(&result), vec![Some(vec![-1.0, -2.0])]);
    }

    #[test]
    fn columns_of_different_dimensions_are_refused_at_planning() {
        let a = column(2, &[Some(&[1.0, 2.0])]);
        let b = column(3, &[Some(&[1.0, 2.0, 3.0])]);
        let err = call(&vector_sub_udf(), vec![a, b], 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector_sub(): the vectors have dimensions 2 and 3"),
            "{err}"
        );
    }

    #[test]
    fn lists_of_different_lengths_are_refused_at_run_time() {
        let err = call(
            &vector_sub_udf(),
            vec![literal(&[1.0]), literal(&[1.0, 2.0])],
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("vector_sub(): the vectors have dimensions 1 and 2"),
            "{err}"
        );
    }
}
