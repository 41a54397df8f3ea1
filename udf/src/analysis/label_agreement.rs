//! `purity(label, truth)` and `adjusted_rand_index(label, truth)`: how well a clustering
//! agrees with known classes, as aggregates (`GROUP BY video`) or window functions.
//!
//! - purity: each cluster counts its most common class; the sum over clusters divided by the
//!   clustered rows. 1 when no cluster mixes classes (a singleton is pure). Noise (-1) is
//!   left out.
//! - adjusted_rand_index: scikit-learn's `adjusted_rand_score`, 1 for the same partition
//!   (whatever the numbering), about 0 for a random one. Noise counts as one more label.
//!
//! Rows where either value is NULL are left out; NULL when no rows remain.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use reeldb_linalg::cluster::quality::{adjusted_rand_index, purity};

use super::silhouette_aggregate::list_scalar;
use crate::DOC_SECTION_ANALYSIS;

/// Which agreement a [`LabelAgreementFunc`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agreement {
    /// Purity of the clusters against the classes.
    Purity,
    /// The adjusted Rand index of the two labellings.
    AdjustedRand,
}

impl Agreement {
    fn name(self) -> &'static str {
        match self {
            Agreement::Purity => "purity",
            Agreement::AdjustedRand => "adjusted_rand_index",
        }
    }
}

static PURITY_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "The purity of a clustering against known classes, 0 to 1: each cluster counts its \
         most common class, summed and divided by the clustered rows. A singleton cluster is \
         pure. Noise (-1) and NULLs are left out.",
        "purity(label, truth)",
    )
    .with_sql_example(
        r#"```sql
> SELECT video, purity(topic, editor_topic) AS purity FROM frames GROUP BY video ORDER BY video;
+-------+--------------------+
| video | purity             |
+-------+--------------------+
| news  | 0.8333333333333334 |
| sport | 1.0                |
+-------+--------------------+
```"#,
    )
    .with_argument("label", "The cluster label (a whole number)")
    .with_argument("truth", "The known class, of any type")
    .with_related_udf("adjusted_rand_index")
    .with_related_udf("cluster")
    .build()
});

static ARI_DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_ANALYSIS,
        "The adjusted Rand index of two labellings (scikit-learn's adjusted_rand_score): 1 for \
         the same partition whatever the numbering, about 0 for chance agreement. Noise (-1) \
         counts as a label; NULLs are left out.",
        "adjusted_rand_index(label, truth)",
    )
    .with_sql_example(
        r#"```sql
> SELECT video, round(adjusted_rand_index(topic, editor_topic), 3) AS ari FROM frames GROUP BY video ORDER BY video;
+-------+-------+
| video | ari   |
+-------+-------+
| news  | 0.324 |
| sport | 1.0   |
+-------+-------+
```"#,
    )
    .with_argument("label", "A labelling, of any type")
    .with_argument("truth", "Another labelling, of any type")
    .with_related_udf("purity")
    .with_related_udf("cluster")
    .build()
});

static PURITY: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(LabelAgreementFunc::new(
        Agreement::Purity,
    )))
});

static ADJUSTED_RAND: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(LabelAgreementFunc::new(
        Agreement::AdjustedRand,
    )))
});

/// The `purity` aggregate function.
pub fn purity_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&PURITY)
}

/// The `adjusted_rand_index` aggregate function.
pub fn adjusted_rand_index_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&ADJUSTED_RAND)
}

/// `purity` or `adjusted_rand_index` as a DataFusion aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LabelAgreementFunc {
    agreement: Agreement,
    signature: Signature,
}

impl LabelAgreementFunc {
    /// The function computing `agreement`.
    pub fn new(agreement: Agreement) -> Self {
        LabelAgreementFunc {
            agreement,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for LabelAgreementFunc {
    fn name(&self) -> &str {
        self.agreement.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if self.agreement == Agreement::Purity
            && !arg_types[0].is_integer()
            && !arg_types[0].is_null()
        {
            return plan_err!(
                "purity(): argument 1 is {}, not a whole-number cluster label; purity(label, truth)",
                arg_types[0]
            );
        }
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(LabelAgreementAccumulator {
            agreement: self.agreement,
            labels: Vec::new(),
            truth: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
        Ok(vec![
            Arc::new(Field::new(
                format!("{}_labels", args.name),
                list.clone(),
                true,
            )),
            Arc::new(Field::new(format!("{}_truth", args.name), list, true)),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.agreement {
            Agreement::Purity => &PURITY_DOCUMENTATION,
            Agreement::AdjustedRand => &ARI_DOCUMENTATION,
        })
    }
}

/// The pairs of labels of a group, as text (any type compares by its text form).
#[derive(Debug)]
struct LabelAgreementAccumulator {
    agreement: Agreement,
    labels: Vec<String>,
    truth: Vec<String>,
}

impl LabelAgreementAccumulator {
    fn add_pairs(&mut self, labels: &ArrayRef, truth: &ArrayRef) -> Result<()> {
        let labels = cast(labels, &DataType::Utf8)?;
        let truth = cast(truth, &DataType::Utf8)?;
        let (labels, truth) = (labels.as_string::<i32>(), truth.as_string::<i32>());
        for row in 0..labels.len() {
            if labels.is_valid(row) && truth.is_valid(row) {
                self.labels.push(labels.value(row).to_string());
                self.truth.push(truth.value(row).to_string());
            }
        }
        Ok(())
    }
}

impl Accumulator for LabelAgreementAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add_pairs(&values[0], &values[1])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.labels.is_empty() {
            return Ok(ScalarValue::Float64(None));
        }
        let name = self.agreement.name();
        let failed = |e: reeldb_linalg::Error| {
            datafusion::error::DataFusionError::Execution(format!("{name}(): {e}"))
        };
        let value = match self.agreement {
            Agreement::Purity => {
                let mut clusters = Vec::with_capacity(self.labels.len());
                for label in &self.labels {
                    match label.parse::<i64>() {
                        Ok(cluster) => clusters.push(cluster),
                        Err(_) => {
                            return exec_err!("{name}(): '{label}' is not a whole-number label");
                        }
                    }
                }
                purity(&clusters, &self.truth).map_err(failed)?
            }
            Agreement::AdjustedRand => {
                Some(adjusted_rand_index(&self.labels, &self.truth).map_err(failed)?)
            }
        };
        Ok(ScalarValue::Float64(value))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .labels
                .iter()
                .chain(&self.truth)
                .map(|s| s.capacity() + size_of::<String>())
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let labels: ArrayRef = Arc::new(StringArray::from(std::mem::take(&mut self.labels)));
        let truth: ArrayRef = Arc::new(StringArray::from(std::mem::take(&mut self.truth)));
        Ok(vec![list_scalar(labels), list_scalar(truth)])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let labels = states[0].as_list::<i32>();
        let truth = states[1].as_list::<i32>();
        for row in 0..labels.len() {
            if labels.is_valid(row) && truth.is_valid(row) {
                self.add_pairs(&labels.value(row), &truth.value(row))?;
            }
        }
        Ok(())
    }
}
