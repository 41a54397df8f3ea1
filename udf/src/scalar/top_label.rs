//! `top_label(scores)`: the best label of a struct of scores, such as `classify()` returns.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::DOC_SECTION_MODEL;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_MODEL,
        "The label with the highest score in a struct of scores, such as classify() returns, \
         and that score: a struct {label, score}, so top_label(...)['label'] is the label. On \
         a tie the label listed first wins; NULL and NaN scores are passed over; NULL when the struct \
         is NULL or every score is.",
        "top_label(scores)",
    )
    .with_sql_example(
        r#"```sql
> SELECT top_label(named_struct('a park', 0.2, 'a street', 0.7, 'a studio', 0.1)) AS best;
+-------------------------------+
| best                          |
+-------------------------------+
| {label: a street, score: 0.7} |
+-------------------------------+
```"#,
    )
    .with_argument(
        "scores",
        "A struct whose fields are numbers: classify(...), or named_struct('a', 0.2, 'b', 0.8)",
    )
    .with_related_udf("classify")
    .build()
});

static UDF: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(TopLabelFunc::new())));

/// The `top_label` function.
pub fn top_label_udf() -> Arc<ScalarUDF> {
    Arc::clone(&UDF)
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TopLabelFunc {
    signature: Signature,
}

impl TopLabelFunc {
    fn new() -> Self {
        TopLabelFunc {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for TopLabelFunc {
    fn default() -> Self {
        Self::new()
    }
}

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("label", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ])
}

impl ScalarUDFImpl for TopLabelFunc {
    fn name(&self) -> &str {
        "top_label"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::Struct(fields)] if !fields.is_empty() => {
                if let Some(field) = fields.iter().find(|f| !f.data_type().is_numeric()) {
                    return plan_err!(
                        "top_label(): field '{}' of the scores is {}, not a number; give a \
                         struct of scores such as classify(...) returns",
                        field.name(),
                        field.data_type()
                    );
                }
                Ok(DataType::Struct(result_fields()))
            }
            [other] => plan_err!(
                "top_label(): the argument is {other}, not a struct of scores; give \
                 classify(...) or named_struct('label', score, ...)"
            ),
            _ => plan_err!("top_label() takes one argument, a struct of scores"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let input = match &args.args[..] {
            [argument] => argument.to_array(rows)?,
            _ => return exec_err!("top_label() takes one argument"),
        };
        let Some(scores) = input.as_struct_opt() else {
            return exec_err!("top_label(): the argument is not a struct");
        };
        let columns = scores
            .columns()
            .iter()
            .map(|column| {
                let column = cast(column, &DataType::Float64)?;
                Ok(column
                    .as_primitive::<arrow::datatypes::Float64Type>()
                    .clone())
            })
            .collect::<Result<Vec<Float64Array>>>()?;
        let names: Vec<&str> = scores.fields().iter().map(|f| f.name().as_str()).collect();
        let mut labels = Vec::with_capacity(rows);
        let mut best_scores = Vec::with_capacity(rows);
        for row in 0..scores.len() {
            let mut best: Option<(usize, f64)> = None;
            if scores.is_valid(row) {
                for (field, column) in columns.iter().enumerate() {
                    let score = column.value(row);
                    if column.is_null(row) || score.is_nan() {
                        continue;
                    }
                    // Strictly greater: the first of equal scores stays.
                    if best.is_none_or(|(_, top)| score > top) {
                        best = Some((field, score));
                    }
                }
            }
            labels.push(best.map(|(field, _)| names[field]));
            best_scores.push(best.map(|(_, score)| score));
        }
        let valid = NullBuffer::from(labels.iter().map(Option::is_some).collect::<Vec<_>>());
        let result = StructArray::try_new(
            result_fields(),
            vec![
                Arc::new(StringArray::from(labels)) as ArrayRef,
                Arc::new(Float64Array::from(best_scores)),
            ],
            Some(valid),
        )?;
        Ok(ColumnarValue::Array(Arc::new(result)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
