//! `distance(a, b [, metric])`: how far apart two vectors are; smaller is closer.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{Documentation, ScalarUDF};

use super::pairwise::{Measure, PairwiseVectorFunc};
use crate::DOC_SECTION_VECTOR;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_VECTOR,
        "How far apart two vectors are under a metric; smaller is closer. cosine: 1 - cosine \
         similarity (NULL if either vector is all zeros); dot: the negated inner product; l2: \
         the Euclidean distance; l1: the Manhattan distance. NULL if either vector is NULL; \
         an error if their dimensions differ. ORDER BY distance(col, constant) LIMIT k uses a \
         vector index on col when there is one.",
        "distance(a, b [, metric])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, distance(embedding, [0.02, 0.93], 'l2') AS d FROM frames ORDER BY d LIMIT 3;
+----+----------------------+
| id | d                    |
+----+----------------------+
| 11 | 0.036055538803339005 |
| 4  | 0.07280109077692032  |
| 5  | 0.08544004708528519  |
+----+----------------------+
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
    .with_related_udf("similarity")
    .with_related_udf("knn")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(PairwiseVectorFunc::new(
        Measure::Distance,
        &DOCUMENTATION,
    )))
});

/// The `distance` function.
pub fn distance_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}
