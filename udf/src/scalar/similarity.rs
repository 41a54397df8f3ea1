//! `similarity(a, b [, metric])`: how alike two vectors are; larger is closer.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use super::pairwise::{Measure, PairwiseVectorFunc};
use crate::DOC_SECTION_VECTOR;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "How alike two vectors are under a metric; larger is closer. cosine: the cosine of \
         the angle (NULL if either vector is all zeros); dot: the inner product; l2 and l1: \
         1 / (1 + distance). NULL if either vector is NULL; an error if their dimensions \
         differ. ORDER BY similarity(col, constant) DESC LIMIT k uses a vector index on col \
         when there is one.",
        "similarity(a, b [, metric])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, similarity(embedding, [1.0, 0.1]) AS s FROM frames ORDER BY s DESC LIMIT 3;
+----+--------------------+
| id | s                  |
+----+--------------------+
| 8  | 0.9999998807907104 |
| 2  | 0.9999395608901978 |
| 9  | 0.9996953010559082 |
+----+--------------------+
```"#,
    )
    .with_argument(
        "a",
        "A vector: a VECTOR(n) column, a list such as [0.1, 0.2], or text '[0.1, 0.2]'",
    )
    .with_argument("b", "A vector of the same dimension")
    .with_argument(
        "metric",
        "'cosine' (default), 'dot', 'l2' (or 'euclidean'), 'l1' (or 'manhattan')",
    )
    .with_related_udf("distance")
    .with_related_udf("knn")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(PairwiseVectorFunc::new(
        Measure::Similarity,
        &DOCUMENTATION,
    )))
});

/// The `similarity` function.
pub fn similarity_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}
