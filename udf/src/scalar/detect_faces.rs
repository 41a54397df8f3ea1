//! `detect_faces(image, detector [, encoder])`: the faces in an image, with their boxes,
//! scores and landmarks, and with a face encoder, each face's vector.

use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, FixedSizeListArray, Float32Array, ListArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use image::RgbImage;
use rayon::prelude::*;
use reeldb_engine::vector::vector_item_field;

use super::model_args::{
    as_array, constant_text, constant_text_value, image_sources, is_image_type, model_vector_field,
    vector_array,
};
use crate::model::EmbeddingModel;
use crate::model::face::DetectedFace;
use crate::model::face::alignment::{align_face, crop_box};
use crate::model::image_input::decode_all;
use crate::model::registry::ModelRegistry;

/// Rows decoded and searched together. Decoded images are kept until their faces are cut
/// out, so this is smaller than for `embed_image` (16 photos of 12 megapixels are 0.6 GB).
const ROWS_PER_STEP: usize = 16;

/// The landmarks per face: five points, x and y.
const LANDMARK_VALUES: i32 = 10;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_MODEL,
        "The faces in an image, strongest first, each a struct of its box (x, y, width, \
         height in pixels of the image), detection score and, for detectors that find them \
         (YuNet), ten landmark values: left eye, right eye, nose tip, left and right mouth \
         corners as x, y pairs. With a face encoder, each face is aligned to the encoder's \
         5-point template (or, without landmarks, cut square around its box) and its vector \
         added as `embedding`. Use UNNEST to get one row per face.",
        "detect_faces(image, detector [, encoder])",
    )
    .with_sql_example(
        r#"```sql
> SELECT face['x'] AS x, face['y'] AS y, face['width'] AS width, face['height'] AS height, face['score'] AS score FROM (SELECT unnest(detect_faces('photos/obama-1.jpg', 'yunet')) AS face);
+-----------+----------+-----------+-----------+-----------+
| x         | y        | width     | height    | score     |
+-----------+----------+-----------+-----------+-----------+
| 371.26578 | 89.91138 | 240.18575 | 329.19815 | 0.9461723 |
+-----------+----------+-----------+-----------+-----------+
```"#,
    )
    .with_argument(
        "image",
        "A path to a JPEG or PNG file (text) or the file's bytes",
    )
    .with_argument(
        "detector",
        "A face detector from SHOW MODELS (layout yunet or ultraface)",
    )
    .with_argument(
        "encoder",
        "Optional: a face encoder from SHOW MODELS (layout face-encoder)",
    )
    .with_related_udf("embed_image")
    .with_related_udf("cluster")
    .build()
});

/// The `detect_faces` function over the models of one registry.
#[derive(Debug)]
pub struct DetectFacesFunc {
    registry: Arc<ModelRegistry>,
    signature: Signature,
}

model_function!(DetectFacesFunc);

/// The fields of one face; `embedding` of `dim` values names the encoder in its metadata.
fn face_fields(encoder: Option<(&str, usize)>) -> Fields {
    let mut fields = vec![
        Arc::new(Field::new("x", DataType::Float32, false)),
        Arc::new(Field::new("y", DataType::Float32, false)),
        Arc::new(Field::new("width", DataType::Float32, false)),
        Arc::new(Field::new("height", DataType::Float32, false)),
        Arc::new(Field::new("score", DataType::Float32, false)),
        Arc::new(Field::new(
            "landmarks",
            DataType::FixedSizeList(Arc::new(vector_item_field()), LANDMARK_VALUES),
            true,
        )),
    ];
    if let Some((model, dim)) = encoder {
        fields.push(model_vector_field("embedding", model, dim));
    }
    fields.into()
}

fn list_type(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(fields),
        true,
    )))
}

impl ScalarUDFImpl for DetectFacesFunc {
    fn name(&self) -> &str {
        "detect_faces"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!(
                "detect_faces() takes an image, a face detector and an optional face encoder, \
                 as in detect_faces(path, 'yunet', 'mobilefacenet'); it was given {} arguments",
                arg_types.len()
            );
        }
        if !is_image_type(&arg_types[0]) {
            return plan_err!(
                "detect_faces(): the image is a file path (text) or the file's bytes, not {}",
                arg_types[0]
            );
        }
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("detect_faces() computes its type from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let detector = constant_text(
            self.name(),
            2,
            "the face detector",
            args.scalar_arguments.get(1).copied().flatten(),
        )?;
        self.registry.check_face_detector(detector)?;
        let encoder = match args.scalar_arguments.get(2) {
            None => None,
            Some(scalar) => {
                let name = constant_text(self.name(), 3, "the face encoder", *scalar)?;
                let info = self.registry.info(name)?;
                if !info.kind.embeds_images() {
                    return plan_err!(
                        "detect_faces(): model '{name}' is a {} model, not a face encoder",
                        info.kind
                    );
                }
                Some((info.name, info.dim))
            }
        };
        let encoder = encoder.as_ref().map(|(name, dim)| (name.as_str(), *dim));
        Ok(Arc::new(Field::new(
            self.name(),
            list_type(face_fields(encoder)),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let detector_name =
            constant_text_value(self.name(), 2, "the face detector", &args.args[1])?;
        let detector = self.registry.face_detector(detector_name)?;
        let encoder = match args.args.get(2) {
            None => None,
            Some(value) => {
                let name = constant_text_value(self.name(), 3, "the face encoder", value)?;
                let model = self.registry.model(name)?;
                let size = model.face_input_size().ok_or_else(|| {
                    DataFusionError::Plan(format!(
                        "detect_faces(): model '{name}' is not a face encoder; add the encoder \
                         with layout = 'face-encoder' (`reeldb model add {name} <file.onnx> -o \
                         layout=face-encoder`)"
                    ))
                })?;
                Some((model, size))
            }
        };
        let (array, scalar) = as_array(&args.args[0])?;
        let sources = image_sources(&array)?;
        let mut rows: Vec<Option<Vec<DetectedFace>>> = Vec::with_capacity(sources.len());
        let mut embeddings: Vec<f32> = Vec::new();
        for step in sources.chunks(ROWS_PER_STEP) {
            let keep_image = encoder.is_some();
            let decoded = decode_all(step, |image| {
                let prepared = detector.prepare_image(&image)?;
                Ok((keep_image.then_some(image), prepared))
            })?;
            let present: Vec<bool> = decoded.iter().map(Option::is_some).collect();
            let (images, prepared): (Vec<Option<RgbImage>>, Vec<_>) =
                decoded.into_iter().flatten().unzip();
            let mut found = if prepared.is_empty() {
                Vec::new()
            } else {
                detector.detect_prepared(&prepared)?
            }
            .into_iter();
            if let Some((model, (width, height))) = &encoder {
                let faces: Vec<(&RgbImage, &DetectedFace)> = images
                    .iter()
                    .zip(found.as_slice())
                    .flat_map(|(image, faces)| {
                        faces
                            .iter()
                            .filter_map(move |f| image.as_ref().map(|i| (i, f)))
                    })
                    .collect();
                embeddings.extend(encode_faces(model.as_ref(), &faces, *width, *height)?);
            }
            for present in present {
                rows.push(if present { found.next() } else { None });
            }
        }
        let encoder_dim = encoder
            .as_ref()
            .map(|(model, _)| (model.name(), model.dim()));
        let list = faces_array(&rows, encoder_dim, &embeddings)?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::List(Arc::new(list))))
        } else {
            Ok(ColumnarValue::Array(Arc::new(list)))
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCUMENTATION)
    }
}

/// Aligns (or, without landmarks, crops) each face on all cores and encodes them in one batch.
fn encode_faces(
    model: &dyn EmbeddingModel,
    faces: &[(&RgbImage, &DetectedFace)],
    width: u32,
    height: u32,
) -> Result<Vec<f32>> {
    if faces.is_empty() {
        return Ok(Vec::new());
    }
    let inputs = faces
        .par_iter()
        .map(|(image, face)| {
            let crop = face
                .landmarks
                .as_ref()
                .and_then(|landmarks| align_face(image, landmarks, width, height))
                .unwrap_or_else(|| crop_box(image, face.corners(), width, height));
            model.prepare_image(&crop)
        })
        .collect::<Result<Vec<_>>>()?;
    model.embed_prepared_images(&inputs)
}

/// The list-of-structs column of `rows` (NULL for a NULL image), with the embeddings of all
/// faces in order when an encoder of `(name, dim)` ran.
fn faces_array(
    rows: &[Option<Vec<DetectedFace>>],
    encoder: Option<(&str, usize)>,
    embeddings: &[f32],
) -> Result<ListArray> {
    let faces: Vec<&DetectedFace> = rows.iter().flatten().flatten().collect();
    let column = |value: fn(&DetectedFace) -> f32| -> ArrayRef {
        Arc::new(Float32Array::from_iter_values(
            faces.iter().map(|f| value(f)),
        ))
    };
    let landmarks: Vec<Option<&[f32]>> = faces
        .iter()
        .map(|f| f.landmarks.as_ref().map(|l| l.as_flattened()))
        .collect();
    let mut columns: Vec<ArrayRef> = vec![
        column(|f| f.x),
        column(|f| f.y),
        column(|f| f.width),
        column(|f| f.height),
        column(|f| f.score),
        Arc::new(vector_array(LANDMARK_VALUES as usize, &landmarks)?),
    ];
    if let Some((_, dim)) = encoder {
        if embeddings.len() != faces.len() * dim {
            return Err(DataFusionError::Internal(format!(
                "{} face vectors for {} faces",
                embeddings.len() / dim.max(1),
                faces.len()
            )));
        }
        let vectors: Vec<Option<&[f32]>> = embeddings.chunks_exact(dim).map(Some).collect();
        let vectors: FixedSizeListArray = vector_array(dim, &vectors)?;
        columns.push(Arc::new(vectors));
    }
    let fields = face_fields(encoder);
    let structs = StructArray::try_new(fields.clone(), columns, None)?;
    let offsets = OffsetBuffer::from_lengths(rows.iter().map(|r| r.as_ref().map_or(0, Vec::len)));
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(ListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
        offsets,
        Arc::new(structs),
        (nulls.null_count() > 0).then_some(nulls),
    )?)
}
