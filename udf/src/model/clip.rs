//! CLIP in the Hugging Face ONNX layout: a vision encoder (`pixel_values` → `image_embeds`), a
//! text encoder (`input_ids`, `attention_mask` → `text_embeds`), or one file with both.
//!
//! Vectors are L2-normalised, so cosine similarity is CLIP's own score; `logit_scale` (CLIP's
//! learned temperature, 100 for OpenAI's models) turns similarities into logits for
//! zero-shot classification.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::onnx_session::{InputTensor, OnnxSession};
use super::preprocess::ImagePreprocess;
use super::text_tokenizer::TextTokenizer;
use super::{EmbeddingModel, ModelKind, check_output, normalise_rows};

/// Images per ONNX Runtime call: large enough to keep the cores busy, small enough that a
/// batch of 224 × 224 inputs stays near 20 MB.
const IMAGE_CHUNK: usize = 32;
/// Texts per ONNX Runtime call.
const TEXT_CHUNK: usize = 64;

/// The stored settings of a CLIP model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipConfig {
    /// The vision encoder's file, if separate.
    pub vision: Option<String>,
    /// The text encoder's file, if separate.
    pub text: Option<String>,
    /// The file holding both encoders, if the export is a single model.
    pub combined: Option<String>,
    /// `tokenizer.json`, when the model embeds text.
    pub tokenizer: Option<String>,
    /// Tokens per text, special tokens included (77 for CLIP).
    pub max_length: usize,
    /// The padding token.
    pub pad_token: Option<String>,
    /// The image preprocessing.
    pub preprocess: ImagePreprocess,
    /// CLIP's learned temperature (the exponent of its `logit_scale` parameter).
    pub logit_scale: f32,
}

/// A loaded CLIP model.
#[derive(Debug)]
pub struct ClipModel {
    name: String,
    kind: ModelKind,
    dim: usize,
    config: ClipConfig,
    vision: Option<OnnxSession>,
    text: Option<OnnxSession>,
    combined: Option<OnnxSession>,
    tokenizer: Option<TextTokenizer>,
}

impl ClipModel {
    /// Opens the model's files in `dir`.
    pub fn open(name: &str, dim: usize, dir: &Path, config: ClipConfig) -> Result<Self> {
        let open = |file: &Option<String>| {
            file.as_ref()
                .map(|f| OnnxSession::open(&dir.join(f)))
                .transpose()
        };
        let vision = open(&config.vision)?;
        let text = open(&config.text)?;
        let combined = open(&config.combined)?;
        let tokenizer = config
            .tokenizer
            .as_ref()
            .map(|t| {
                TextTokenizer::open(&dir.join(t), config.max_length, config.pad_token.as_deref())
            })
            .transpose()?;
        let has_images = vision.is_some() || combined.is_some();
        let has_text = (text.is_some() || combined.is_some()) && tokenizer.is_some();
        let kind = match (has_images, has_text) {
            (true, true) => ModelKind::ImageText,
            (true, false) => ModelKind::Image,
            (false, true) => ModelKind::Text,
            (false, false) => {
                return Err(DataFusionError::Plan(format!(
                    "CLIP model '{name}' has neither a vision nor a text encoder with a tokenizer"
                )));
            }
        };
        Ok(ClipModel {
            name: name.to_string(),
            kind,
            dim,
            config,
            vision,
            text,
            combined,
            tokenizer,
        })
    }

    /// The same model, making `dim`-long vectors (for a model opened to find its dimension).
    pub fn with_dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }

    /// The model's vector length as its graph declares it (the last dimension of
    /// `image_embeds` or `text_embeds`), if static.
    pub fn declared_dim(&self) -> Option<usize> {
        let sessions = [&self.vision, &self.text, &self.combined];
        sessions.iter().flat_map(|s| s.iter()).find_map(|session| {
            ["image_embeds", "text_embeds"].iter().find_map(|name| {
                let dim = *session.output(name)?.shape.last()?;
                (dim > 0).then_some(dim as usize)
            })
        })
    }

    /// Runs the combined model on a one-token text and a blank image and returns the ratio of
    /// its image-text logit to the embeddings' cosine similarity: the model's logit scale.
    pub fn measure_logit_scale(&self) -> Result<Option<f32>> {
        let Some(combined) = &self.combined else {
            return Ok(None);
        };
        if combined.output("logits_per_image").is_none() {
            return Ok(None);
        }
        let pixels = vec![0.0f32; self.config.preprocess.tensor_len()];
        let (w, h) = self.config.preprocess.output_size();
        let tokens = self.tokenize(&["a photo"])?;
        let outputs = combined.run(
            &self.combined_inputs(&pixels, [1, 3, h as usize, w as usize], &tokens),
            &["logits_per_image", "image_embeds", "text_embeds"],
        )?;
        let logit = outputs[0].1.first().copied().unwrap_or(0.0);
        let mut image = outputs[1].1.clone();
        let mut text = outputs[2].1.clone();
        normalise_rows(&mut image, self.dim);
        normalise_rows(&mut text, self.dim);
        let cosine: f32 = image.iter().zip(&text).map(|(a, b)| a * b).sum();
        Ok((cosine.abs() > 1e-4).then(|| logit / cosine))
    }

    fn tokenize(&self, texts: &[&str]) -> Result<super::text_tokenizer::TokenBatch> {
        self.tokenizer
            .as_ref()
            .ok_or_else(|| self.cannot("texts"))?
            .encode(texts)
    }

    fn combined_inputs<'a>(
        &self,
        pixels: &'a [f32],
        pixel_shape: [usize; 4],
        tokens: &'a super::text_tokenizer::TokenBatch,
    ) -> Vec<(&'static str, InputTensor<'a>)> {
        let token_shape = vec![tokens.texts, tokens.length];
        vec![
            (
                "pixel_values",
                InputTensor::F32(pixels, pixel_shape.to_vec()),
            ),
            (
                "input_ids",
                InputTensor::I64(&tokens.ids, token_shape.clone()),
            ),
            (
                "attention_mask",
                InputTensor::I64(&tokens.attention_mask, token_shape),
            ),
        ]
    }
}

impl EmbeddingModel for ClipModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ModelKind {
        self.kind
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn prepare_image(&self, image: &RgbImage) -> Result<Vec<f32>> {
        if !self.kind.embeds_images() {
            return Err(self.cannot("images"));
        }
        let mut tensor = vec![0.0; self.config.preprocess.tensor_len()];
        self.config.preprocess.write_tensor(image, &mut tensor);
        Ok(tensor)
    }

    fn embed_prepared_images(&self, inputs: &[Vec<f32>]) -> Result<Vec<f32>> {
        let (w, h) = self.config.preprocess.output_size();
        let mut vectors = Vec::with_capacity(inputs.len() * self.dim);
        for chunk in inputs.chunks(IMAGE_CHUNK) {
            let pixels: Vec<f32> = chunk.concat();
            let shape = [chunk.len(), 3, h as usize, w as usize];
            let mut embedded = if let Some(vision) = &self.vision {
                vision.run(
                    &[("pixel_values", InputTensor::F32(&pixels, shape.to_vec()))],
                    &["image_embeds"],
                )?
            } else if let Some(combined) = &self.combined {
                let tokens = self.tokenize(&[""])?;
                combined.run(
                    &self.combined_inputs(&pixels, shape, &tokens),
                    &["image_embeds"],
                )?
            } else {
                return Err(self.cannot("images"));
            };
            let (_, mut values) = embedded.remove(0);
            check_output(&self.name, &values, chunk.len(), self.dim)?;
            normalise_rows(&mut values, self.dim);
            vectors.extend(values);
        }
        Ok(vectors)
    }

    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<f32>> {
        if !self.kind.embeds_texts() {
            return Err(self.cannot("texts"));
        }
        let mut vectors = Vec::with_capacity(texts.len() * self.dim);
        for chunk in texts.chunks(TEXT_CHUNK) {
            let tokens = self.tokenize(chunk)?;
            let shape = vec![tokens.texts, tokens.length];
            let mut embedded = if let Some(text) = &self.text {
                let mut inputs = vec![("input_ids", InputTensor::I64(&tokens.ids, shape.clone()))];
                if text.input("attention_mask").is_some() {
                    inputs.push((
                        "attention_mask",
                        InputTensor::I64(&tokens.attention_mask, shape),
                    ));
                }
                text.run(&inputs, &["text_embeds"])?
            } else if let Some(combined) = &self.combined {
                let (w, h) = self.config.preprocess.output_size();
                let pixels = vec![0.0f32; self.config.preprocess.tensor_len()];
                combined.run(
                    &self.combined_inputs(&pixels, [1, 3, h as usize, w as usize], &tokens),
                    &["text_embeds"],
                )?
            } else {
                return Err(self.cannot("texts"));
            };
            let (_, mut values) = embedded.remove(0);
            check_output(&self.name, &values, chunk.len(), self.dim)?;
            normalise_rows(&mut values, self.dim);
            vectors.extend(values);
        }
        Ok(vectors)
    }

    fn logit_scale(&self) -> Option<f32> {
        Some(self.config.logit_scale)
    }
}
