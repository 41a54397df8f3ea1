//! `classify(vector, label, ...)`: zero-shot classification against text labels with the
//! model that made the vector (a CLIP model).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, Float64Array, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use super::model_args::{constant_text, constant_text_value, field_model};
use crate::model::registry::ModelRegistry;
use crate::vector_arg::{VectorArg, check_vector_type};

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "Zero-shot classification: for each label, the probability that the image a vector \
         stands for matches it, as CLIP computes it (a softmax over the model's logit scale \
         times the cosine similarity of the vector with each label's text embedding). The \
         result is a struct with one field per label, so classify(...)['a park'] is one \
         probability. The model is the one that made the vector: the column's recorded model \
         or the one named in embed_image(). NULL for a NULL vector.",
        "classify(vector, label [, label ...])",
    )
    .with_sql_example(
        r#"```sql
> SELECT id, classify(clip, 'a photo of a parking lot', 'a photo of a park') AS p FROM frames ORDER BY id LIMIT 2;
+----+---------------------------------------------------------------+
| id | p                                                             |
+----+---------------------------------------------------------------+
| 1  | {a photo of a parking lot: 0.9412, a photo of a park: 0.0588} |
| 2  | {a photo of a parking lot: 0.1035, a photo of a park: 0.8965} |
+----+---------------------------------------------------------------+
```"#,
    )
    .with_argument("vector", "Image vectors from a model that also embeds text (CLIP)")
    .with_argument("label", "Two or more constant texts")
    .with_related_udf("embed")
    .with_related_udf("embed_image")
    .build()
});

/// The `classify` function over the models of one registry.
#[derive(Debug)]
pub struct ClassifyFunc {
    registry: Arc<ModelRegistry>,
    signature: Signature,
}

impl ClassifyFunc {
    fn model_of(&self, field: &Field) -> Result<String> {
        let Some(model) = field_model(field) else {
            return plan_err!(
                "classify(): the model that made these vectors is not known. Record it on the \
                 column with ALTER TABLE <table> ALTER COLUMN {} SET MODEL <model>, or classify \
                 embed_image(<image>, '<model>') directly",
                field.name()
            );
        };
        let info = self.registry.info(model)?;
        if !info.kind.embeds_texts() || !info.kind.embeds_images() {
            return plan_err!(
                "classify(): the vectors come from model '{model}', an {} model; zero-shot \
                 classification needs a model that embeds both images and text (CLIP)",
                info.kind
            );
        }
        Ok(model.to_string())
    }
}

model_function!(ClassifyFunc);

impl ScalarUDFImpl for ClassifyFunc {
    fn name(&self) -> &str {
        "classify"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 3 {
            return plan_err!(
                "classify() takes a vector and at least two labels, as in classify(clip, 'a \
                 photo of a park', 'a photo of a street'); it was given {} arguments",
                arg_types.len()
            );
        }
        check_vector_type(self.name(), 1, &arg_types[0])?;
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("classify() computes its type from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.model_of(&args.arg_fields[0])?;
        let mut seen = HashSet::new();
        let mut fields = Vec::new();
        for (i, scalar) in args.scalar_arguments.iter().enumerate().skip(1) {
            let label = constant_text(self.name(), i + 1, "a label", *scalar)?;
            if !seen.insert(label) {
                return plan_err!("classify(): the label '{label}' is given twice");
            }
            fields.push(Field::new(label, DataType::Float64, true));
        }
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Struct(Fields::from(fields)),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let model = self.model_of(&args.arg_fields[0])?;
        let labels = args.args[1..]
            .iter()
            .enumerate()
            .map(|(i, v)| constant_text_value(self.name(), i + 2, "a label", v))
            .collect::<Result<Vec<_>>>()?;
        let scale = self.registry.model(&model)?.logit_scale().unwrap_or(100.0);
        let label_vectors = self.registry.embed_texts(&model, &labels)?;
        let probabilities = |vector: &[f32]| -> Result<Vec<f64>> {
            let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
            let mut logits = Vec::with_capacity(labels.len());
            for label in &label_vectors {
                if label.len() != vector.len() {
                    return exec_err!(
                        "classify(): the vector has {} values but model '{model}' makes {}",
                        vector.len(),
                        label.len()
                    );
                }
                let dot: f32 = label.iter().zip(vector).map(|(a, b)| a * b).sum();
                let cosine = if norm > 0.0 { dot / norm } else { 0.0 };
                logits.push(f64::from(scale * cosine));
            }
            Ok(softmax(&logits))
        };
        let (rows, scalar) = match VectorArg::new(self.name(), 1, &args.args[0])? {
            VectorArg::Constant(vector) => (
                vec![vector.as_deref().map(probabilities).transpose()?],
                true,
            ),
            VectorArg::Column(column) => (
                (0..column.len())
                    .map(|row| column.get(row).map(probabilities).transpose())
                    .collect::<Result<Vec<_>>>()?,
                false,
            ),
        };
        let DataType::Struct(fields) = args.return_field.data_type() else {
            return exec_err!("classify(): unexpected return type");
        };
        let columns: Vec<ArrayRef> = (0..labels.len())
            .map(|l| {
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(|p| p[l]))
                        .collect::<Float64Array>(),
                ) as ArrayRef
            })
            .collect();
        let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
        let array = StructArray::try_new(
            fields.clone(),
            columns,
            (nulls.null_count() > 0).then_some(nulls),
        )?;
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::Struct(Arc::new(array))));
        }
        Ok(ColumnarValue::Array(Arc::new(array)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// The softmax of `logits`, computed from the largest so that it cannot overflow.
fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 999.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[0] > p[1]);
        assert!((p[0] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-12);
    }
}
