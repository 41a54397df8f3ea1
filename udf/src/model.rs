//! Embedding models: the built-in image descriptor, ONNX models through ONNX Runtime, and the
//! registry that finds a model by the name SQL uses.
//!
//! A model turns images or texts into vectors. Images arrive decoded ([`image_input`]); each
//! model first prepares one image on its own (decode, resize, normalise: run on all cores
//! with rayon), then embeds the prepared inputs of a whole record batch at once, so an ONNX
//! model sees batches, never single rows.

pub mod builtin;
pub mod clip;
pub mod convert;
pub mod embedding_cache;
pub mod face;
pub mod global_descriptor;
pub mod image_input;
pub mod onnx_image;
pub mod onnx_session;
pub mod phash;
pub mod preprocess;
pub mod registry;
pub mod runtime;
pub mod sentence;
pub mod source;
pub mod text_tokenizer;

use std::fmt;

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;

/// What a model embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Images only.
    Image,
    /// Texts only.
    Text,
    /// Images and texts into one space (CLIP): text-to-image search and zero-shot labels.
    ImageText,
}

impl ModelKind {
    /// The name stored in the manifest and shown by `SHOW MODELS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Image => "image",
            ModelKind::Text => "text",
            ModelKind::ImageText => "image+text",
        }
    }

    /// Reads a stored kind.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "image" => Some(ModelKind::Image),
            "text" => Some(ModelKind::Text),
            "image+text" => Some(ModelKind::ImageText),
            _ => None,
        }
    }

    /// Whether the model embeds images.
    pub fn embeds_images(self) -> bool {
        matches!(self, ModelKind::Image | ModelKind::ImageText)
    }

    /// Whether the model embeds texts.
    pub fn embeds_texts(self) -> bool {
        matches!(self, ModelKind::Text | ModelKind::ImageText)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model that makes vectors from images, texts or both.
pub trait EmbeddingModel: Send + Sync + fmt::Debug {
    /// The name SQL knows it by.
    fn name(&self) -> &str;

    /// What it embeds.
    fn kind(&self) -> ModelKind;

    /// The length of its vectors.
    fn dim(&self) -> usize;

    /// Prepares one decoded image (resize, normalise, or the whole descriptor for a model
    /// without weights). Called on many threads at once.
    fn prepare_image(&self, _image: &RgbImage) -> Result<Vec<f32>> {
        Err(self.cannot("images"))
    }

    /// Embeds prepared images: `inputs.len() · dim` values, one vector per input in order.
    fn embed_prepared_images(&self, _inputs: &[Vec<f32>]) -> Result<Vec<f32>> {
        Err(self.cannot("images"))
    }

    /// Embeds texts: `texts.len() · dim` values, one vector per text in order.
    fn embed_texts(&self, _texts: &[&str]) -> Result<Vec<f32>> {
        Err(self.cannot("texts"))
    }

    /// The factor image-text cosine similarities are multiplied by before a softmax (CLIP's
    /// learned temperature), for zero-shot classification.
    fn logit_scale(&self) -> Option<f32> {
        None
    }

    /// The `(width, height)` of the aligned face crops it encodes, for a face encoder.
    fn face_input_size(&self) -> Option<(u32, u32)> {
        None
    }

    /// The error for an input kind this model does not take.
    fn cannot(&self, what: &str) -> DataFusionError {
        DataFusionError::Plan(format!(
            "model '{}' ({}) does not embed {what}",
            self.name(),
            self.kind()
        ))
    }
}

/// Scales every `dim`-long row of `values` to unit length (rows of zeros stay zeros).
pub fn normalise_rows(values: &mut [f32], dim: usize) {
    for row in values.chunks_exact_mut(dim.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// Checks that a model returned `rows · dim` values.
pub(crate) fn check_output(model: &str, values: &[f32], rows: usize, dim: usize) -> Result<()> {
    if values.len() != rows * dim {
        return Err(DataFusionError::Execution(format!(
            "model '{model}' returned {} values for {rows} inputs; expected {dim} per input",
            values.len()
        )));
    }
    Ok(())
}
