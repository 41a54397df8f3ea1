//! Sentence-transformer text encoders in their ONNX export: `tokenizer.json` and a model with
//! `input_ids`, `attention_mask` (and often `token_type_ids`) in, token states out, pooled
//! (mean over real tokens, or the first token) and L2-normalised.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use serde::{Deserialize, Serialize};

use super::onnx_session::{InputTensor, OnnxSession, tensor_names};
use super::text_tokenizer::TextTokenizer;
use super::{EmbeddingModel, ModelKind, check_output, normalise_rows};

const TEXT_CHUNK: usize = 64;

/// How token states become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The mean of the states of the real (unpadded) tokens.
    Mean,
    /// The state of the first token (`[CLS]`).
    Cls,
}

/// The stored settings of a sentence-transformer model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceConfig {
    /// The ONNX file.
    pub model: String,
    /// `tokenizer.json`.
    pub tokenizer: String,
    /// The output to read: `sentence_embedding` (already pooled) or token states.
    pub output: String,
    /// How token states are pooled (ignored for an already pooled output).
    pub pooling: Pooling,
    /// Tokens per text, special tokens included.
    pub max_length: usize,
    /// The padding token.
    pub pad_token: Option<String>,
}

/// A loaded sentence-transformer.
#[derive(Debug)]
pub struct SentenceModel {
    name: String,
    dim: usize,
    config: SentenceConfig,
    session: OnnxSession,
    tokenizer: TextTokenizer,
}

impl SentenceModel {
    /// Opens the model's files in `dir`.
    pub fn open(name: &str, dim: usize, dir: &Path, config: SentenceConfig) -> Result<Self> {
        let session = OnnxSession::open(&dir.join(&config.model))?;
        if session.input("input_ids").is_none() {
            return Err(DataFusionError::Plan(format!(
                "the text model '{}' has no input 'input_ids' (its inputs: {}); is it a \
                 sentence-transformer export?",
                session.path().display(),
                tensor_names(session.inputs())
            )));
        }
        if session.output(&config.output).is_none() {
            return Err(DataFusionError::Plan(format!(
                "the text model '{}' has no output '{}'",
                session.path().display(),
                config.output
            )));
        }
        let tokenizer = TextTokenizer::open(
            &dir.join(&config.tokenizer),
            config.max_length,
            config.pad_token.as_deref(),
        )?;
        Ok(SentenceModel {
            name: name.to_string(),
            dim,
            config,
            session,
            tokenizer,
        })
    }

    /// The hidden size the graph declares for its output, if static.
    pub fn declared_dim(&self) -> Option<usize> {
        let dim = *self.session.output(&self.config.output)?.shape.last()?;
        (dim > 0).then_some(dim as usize)
    }
}

impl EmbeddingModel for SentenceModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Text
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let mut vectors = Vec::with_capacity(texts.len() * self.dim);
        for chunk in texts.chunks(TEXT_CHUNK) {
            let tokens = self.tokenizer.encode(chunk)?;
            let shape = vec![tokens.texts, tokens.length];
            let mut inputs = vec![
                ("input_ids", InputTensor::I64(&tokens.ids, shape.clone())),
                (
                    "attention_mask",
                    InputTensor::I64(&tokens.attention_mask, shape.clone()),
                ),
            ];
            if self.session.input("token_type_ids").is_some() {
                inputs.push(("token_type_ids", InputTensor::I64(&tokens.type_ids, shape)));
            }
            inputs.retain(|(name, _)| self.session.input(name).is_some());
            let (out_shape, states) = self
                .session
                .run(&inputs, &[self.config.output.as_str()])?
                .remove(0);
            let mut pooled = if out_shape.len() == 3 {
                pool(
                    &states,
                    &out_shape,
                    &tokens.attention_mask,
                    self.config.pooling,
                )
            } else {
                states
            };
            check_output(&self.name, &pooled, chunk.len(), self.dim)?;
            normalise_rows(&mut pooled, self.dim);
            vectors.extend(pooled);
        }
        Ok(vectors)
    }
}

/// Pools token states `[texts, tokens, hidden]` into `[texts, hidden]`.
fn pool(states: &[f32], shape: &[usize], mask: &[i64], pooling: Pooling) -> Vec<f32> {
    let (texts, tokens, hidden) = (shape[0], shape[1], shape[2]);
    let mut pooled = vec![0.0f32; texts * hidden];
    for t in 0..texts {
        let out = &mut pooled[t * hidden..(t + 1) * hidden];
        match pooling {
            Pooling::Cls => out.copy_from_slice(&states[t * tokens * hidden..][..hidden]),
            Pooling::Mean => {
                let mut count = 0.0f32;
                for k in 0..tokens {
                    if mask.get(t * tokens + k).copied().unwrap_or(0) == 0 {
                        continue;
                    }
                    count += 1.0;
                    let state = &states[(t * tokens + k) * hidden..][..hidden];
                    out.iter_mut().zip(state).for_each(|(o, s)| *o += s);
                }
                if count > 0.0 {
                    out.iter_mut().for_each(|o| *o /= count);
                }
            }
        }
    }
    pooled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_skips_padding() {
        // Two texts, three tokens, hidden size 2; the second text has one real token.
        let states = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 20.0, 99.0, 99.0, 99.0, 99.0,
        ];
        let mask = [1, 1, 1, 1, 0, 0];
        let pooled = pool(&states, &[2, 3, 2], &mask, Pooling::Mean);
        assert_eq!(pooled, vec![3.0, 4.0, 10.0, 20.0]);
        let first = pool(&states, &[2, 3, 2], &mask, Pooling::Cls);
        assert_eq!(first, vec![1.0, 2.0, 10.0, 20.0]);
    }
}
