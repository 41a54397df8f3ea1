//! `embed(model, text)`: the vector of a text under a text (or CLIP) model.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use super::model_args::{
    as_array, constant_text, constant_text_value, is_text_type, model_vector_field, texts,
    vectors_result,
};
use crate::model::registry::ModelRegistry;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "The vector of a text under a model that embeds text (a CLIP model's text encoder, or a \
         sentence-transformer). A constant text is embedded once per query, while the query \
         is planned, so ORDER BY similarity(col, embed(...)) DESC LIMIT k uses the vector \
         index; repeated texts come from a cache. NULL for a NULL text.",
        "embed(model, text)",
    )
    .with_sql_example(
        r#"```sql
> SELECT id FROM frames ORDER BY similarity(clip, embed('clip', 'navy boat')) DESC LIMIT 3;
+----+
| id |
+----+
| 7  |
| 2  |
| 9  |
+----+
```"#,
    )
    .with_argument("model", "A model name from SHOW MODELS")
    .with_argument("text", "The text to embed")
    .with_related_udf("embed_image")
    .with_related_udf("similarity")
    .with_related_udf("classify")
    .build()
});

/// The `embed` function over the models of one registry.
#[derive(Debug)]
pub struct EmbedFunc {
    registry: Arc<ModelRegistry>,
    signature: Signature,
}

model_function!(EmbedFunc);

impl ScalarUDFImpl for EmbedFunc {
    fn name(&self) -> &str {
        "embed"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 {
            return plan_err!(
                "embed() takes a model name and a text, as in embed('clip', 'navy boat'); it was \
                 given {} arguments (images go through embed_image())",
                arg_types.len()
            );
        }
        if !is_text_type(&arg_types[1]) {
            return plan_err!(
                "embed(): the second argument is the text to embed, not {}; for images use \
                 embed_image()",
                arg_types[1]
            );
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("embed() computes its type from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let model = constant_text(self.name(), 1, "the model name", args.scalar_arguments[0])?;
        let info = self.registry.info(model)?;
        if !info.kind.embeds_texts() {
            return plan_err!(
                "embed(): model '{model}' is an {} model and does not embed text; use \
                 embed_image(path, '{model}'), or a CLIP or sentence-transformer model for text",
                info.kind
            );
        }
        Ok(model_vector_field(self.name(), &info.name, info.dim))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let model = constant_text_value(self.name(), 1, "the model name", &args.args[0])?;
        let info = self.registry.info(model)?;
        let (array, scalar) = as_array(&args.args[1])?;
        let texts = texts(&array)?;
        let present: Vec<&str> = texts.iter().flatten().copied().collect();
        let vectors = self.registry.embed_texts(model, &present)?;
        let mut embedded = vectors.iter();
        let rows: Vec<Option<&[f32]>> = texts
            .iter()
            .map(|t| t.and_then(|_| embedded.next().map(|v| &v[..])))
            .collect();
        vectors_result(info.dim, scalar, &rows)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
