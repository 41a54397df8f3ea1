//! `embed_image(image [, model])`: the vector of an image under a model (the built-in one by
//! default).

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use super::model_args::{
    as_array, constant_text, constant_text_value, image_sources, is_image_type, model_vector_field,
    vectors_result,
};
use crate::model::builtin::BUILTIN_MODEL;
use crate::model::image_input::decode_all;
use crate::model::registry::ModelRegistry;

/// Rows decoded and embedded together: enough for parallel decoding and a full model batch,
/// few enough that their input tensors stay small (64 CLIP inputs are 38 MB).
const ROWS_PER_STEP: usize = 64;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "The vector of an image under a model. Without a model, the built-in one: a global \
         descriptor of colour, colour layout and edges that needs no download (it finds \
         near-duplicates and visually similar shots, not meaning). Images are decoded and \
         prepared on all cores and embedded in batches. NULL for a NULL image; an error \
         naming the file for one that cannot be read.",
        "embed_image(image [, model])",
    )
    .with_sql_example(
        r#"```sql
> SELECT round(similarity(embed_image('photos/obama-1.jpg'), embed_image('photos/obama-2.jpg')), 3) AS obama_obama, round(similarity(embed_image('photos/obama-1.jpg'), embed_image('photos/rocket.jpg')), 3) AS obama_rocket;
+-------------+--------------+
| obama_obama | obama_rocket |
+-------------+--------------+
| 0.817       | 0.747        |
+-------------+--------------+
```"#,
    )
    .with_argument(
        "image",
        "A path to a JPEG or PNG file (text) or the file's bytes",
    )
    .with_argument(
        "model",
        "A model name from SHOW MODELS; 'builtin' by default",
    )
    .with_related_udf("embed")
    .with_related_udf("similarity")
    .with_related_udf("phash")
    .build()
});

/// The `embed_image` function over the models of one registry.
#[derive(Debug)]
pub struct EmbedImageFunc {
    registry: Arc<ModelRegistry>,
    signature: Signature,
}

model_function!(EmbedImageFunc);

impl ScalarUDFImpl for EmbedImageFunc {
    fn name(&self) -> &str {
        "embed_image"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(1..=2).contains(&arg_types.len()) {
            return plan_err!(
                "embed_image() takes an image and an optional model name, as in \
                 embed_image(path, 'clip'); it was given {} arguments",
                arg_types.len()
            );
        }
        if !is_image_type(&arg_types[0]) {
            return plan_err!(
                "embed_image(): the image is a file path (text) or the file's bytes, not {}",
                arg_types[0]
            );
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("embed_image() computes its type from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let model = match args.scalar_arguments.get(1) {
            None => BUILTIN_MODEL,
            Some(scalar) => constant_text(self.name(), 2, "the model name", *scalar)?,
        };
        let info = self.registry.info(model)?;
        if !info.kind.embeds_images() {
            return plan_err!(
                "embed_image(): model '{model}' is a {} model and does not embed images; use \
                 embed('{model}', text)",
                info.kind
            );
        }
        Ok(model_vector_field(self.name(), &info.name, info.dim))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let model = match args.args.get(1) {
            None => BUILTIN_MODEL,
            Some(value) => constant_text_value(self.name(), 2, "the model name", value)?,
        };
        let model = self.registry.model(model)?;
        let dim = model.dim();
        let (array, scalar) = as_array(&args.args[0])?;
        let sources = image_sources(&array)?;
        let mut vectors: Vec<Option<Vec<f32>>> = Vec::with_capacity(sources.len());
        for step in sources.chunks(ROWS_PER_STEP) {
            let prepared = decode_all(step, |image| model.prepare_image(&image))?;
            let present: Vec<bool> = prepared.iter().map(Option::is_some).collect();
            let inputs: Vec<Vec<f32>> = prepared.into_iter().flatten().collect();
            let embedded = if inputs.is_empty() {
                Vec::new()
            } else {
                model.embed_prepared_images(&inputs)?
            };
            let mut rows = embedded.chunks_exact(dim);
            for present in present {
                vectors.push(if present {
                    rows.next().map(<[f32]>::to_vec)
                } else {
                    None
                });
            }
        }
        let rows: Vec<Option<&[f32]>> = vectors.iter().map(|v| v.as_deref()).collect();
        vectors_result(dim, scalar, &rows)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}
