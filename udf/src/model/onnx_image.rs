//! A single-file ONNX image encoder (a face encoder such as MobileFaceNet, or any model with
//! one image input and one vector output), with the preprocessing the user declares.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::onnx_session::{InputTensor, OnnxSession};
use super::preprocess::ImagePreprocess;
use super::{EmbeddingModel, ModelKind, check_output, normalise_rows};

/// Images per call for a graph whose batch dimension is dynamic.
const IMAGE_CHUNK: usize = 32;

/// The stored settings of an ONNX image encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnnxImageConfig {
    /// The ONNX file.
    pub model: String,
    /// The image input's name.
    pub input: String,
    /// The vector output's name.
    pub output: String,
    /// The preprocessing.
    pub preprocess: ImagePreprocess,
    /// Whether vectors are L2-normalised (as face encoders are compared by cosine).
    pub normalize: bool,
    /// Whether the model encodes faces aligned to the ArcFace template (layout
    /// `face-encoder`), so that `detect_faces()` can align crops for it.
    #[serde(default)]
    pub face: bool,
}

/// A loaded ONNX image encoder.
#[derive(Debug)]
pub struct OnnxImageModel {
    name: String,
    dim: usize,
    config: OnnxImageConfig,
    session: OnnxSession,
    /// The batch size the graph fixes, if it fixes one (MobileFaceNet's export takes 1).
    fixed_batch: Option<usize>,
}

impl OnnxImageModel {
    /// Opens the model in `dir`, checking that its input takes the preprocessed size.
    pub fn open(name: &str, dim: usize, dir: &Path, config: OnnxImageConfig) -> Result<Self> {
        let session = OnnxSession::open(&dir.join(&config.model))?;
        let input = session.require_input(&config.input)?;
        session.require_output(&config.output)?;
        let (width, height) = config.preprocess.output_size();
        let shape = &input.shape;
        let fits = shape.len() == 4
            && shape[1] == 3
            && (shape[2] == -1 || shape[2] == height as i64)
            && (shape[3] == -1 || shape[3] == width as i64);
        if !fits {
            return Err(DataFusionError::Plan(format!(
                "the ONNX model '{}' input '{}' has shape {shape:?}, but the preprocessing makes \
                 [N, 3, {height}, {width}]; set size (and crop) to the model's input size",
                session.path().display(),
                config.input
            )));
        }
        let fixed_batch = (shape[0] > 0).then_some(shape[0] as usize);
        Ok(OnnxImageModel {
            name: name.to_string(),
            dim,
            config,
            session,
            fixed_batch,
        })
    }

    /// The vector length the graph declares (the product of its output's dimensions after
    /// the batch), if static.
    pub fn declared_dim(&self) -> Option<usize> {
        let shape = &self.session.output(&self.config.output)?.shape;
        let rest = shape.get(1..)?;
        (!rest.is_empty() && rest.iter().all(|d| *d > 0))
            .then(|| rest.iter().product::<i64>() as usize)
    }
}

impl EmbeddingModel for OnnxImageModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Image
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn face_input_size(&self) -> Option<(u32, u32)> {
        self.config
            .face
            .then(|| self.config.preprocess.output_size())
    }

    fn prepare_image(&self, image: &RgbImage) -> Result<Vec<f32>> {
        let mut tensor = vec![0.0; self.config.preprocess.tensor_len()];
        self.config.preprocess.write_tensor(image, &mut tensor);
        Ok(tensor)
    }

    fn embed_prepared_images(&self, inputs: &[Vec<f32>]) -> Result<Vec<f32>> {
        let (w, h) = self.config.preprocess.output_size();
        let chunk_size = self.fixed_batch.unwrap_or(IMAGE_CHUNK);
        let mut vectors = Vec::with_capacity(inputs.len() * self.dim);
        for chunk in inputs.chunks(chunk_size) {
            let mut pixels: Vec<f32> = chunk.concat();
            // A graph with a fixed batch gets full batches; the padding rows are dropped.
            let batch = self.fixed_batch.unwrap_or(chunk.len());
            pixels.resize(batch * self.config.preprocess.tensor_len(), 0.0);
            let shape = vec![batch, 3, h as usize, w as usize];
            let (_, mut values) = self
                .session
                .run(
                    &[(self.config.input.as_str(), InputTensor::F32(&pixels, shape))],
                    &[self.config.output.as_str()],
                )?
                .remove(0);
            check_output(&self.name, &values, batch, self.dim)?;
            values.truncate(chunk.len() * self.dim);
            if self.config.normalize {
                normalise_rows(&mut values, self.dim);
            }
            vectors.extend(values);
        }
        Ok(vectors)
    }
}
