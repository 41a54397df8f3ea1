//! Text to token ids, with the `tokenizers` crate and a model's `tokenizer.json`.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// A batch of tokenized texts, padded to its longest text: `[texts, length]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// Number of texts.
    pub texts: usize,
    /// Tokens per text (after padding).
    pub length: usize,
    /// Token ids.
    pub ids: Vec<i64>,
    /// 1 for a real token, 0 for padding.
    pub attention_mask: Vec<i64>,
    /// Segment ids (all 0 for a single sentence).
    pub type_ids: Vec<i64>,
}

/// A model's tokenizer, truncating to the model's maximum length and padding each batch to its
/// longest text.
#[derive(Debug)]
pub struct TextTokenizer {
    tokenizer: Tokenizer,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` at `path`; texts are cut to `max_length` tokens (special tokens
    /// included) and padded with `pad_token` (or the tokenizer's own padding, or id 0).
    pub fn open(path: &Path, max_length: usize, pad_token: Option<&str>) -> Result<Self> {
        let mut tokenizer = Tokenizer::from_file(path).map_err(|e| {
            DataFusionError::Execution(format!(
                "cannot load the tokenizer '{}': {e}",
                path.display()
            ))
        })?;
        let (pad_id, pad_token) = match pad_token.and_then(|t| Some((tokenizer.token_to_id(t)?, t)))
        {
            Some((id, token)) => (id, token.to_string()),
            None => match tokenizer.get_padding() {
                Some(p) => (p.pad_id, p.pad_token.clone()),
                None => (0, String::new()),
            },
        };
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| {
                DataFusionError::Execution(format!(
                    "the tokenizer '{}' cannot truncate to {max_length} tokens: {e}",
                    path.display()
                ))
            })?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token,
            ..Default::default()
        }));
        Ok(TextTokenizer { tokenizer })
    }

    /// Tokenizes `texts` with the model's special tokens.
    pub fn encode(&self, texts: &[&str]) -> Result<TokenBatch> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| DataFusionError::Execution(format!("tokenizing failed: {e}")))?;
        let length = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut batch = TokenBatch {
            texts: texts.len(),
            length,
            ids: Vec::with_capacity(texts.len() * length),
            attention_mask: Vec::with_capacity(texts.len() * length),
            type_ids: Vec::with_capacity(texts.len() * length),
        };
        for encoding in &encodings {
            batch
                .ids
                .extend(encoding.get_ids().iter().map(|&i| i64::from(i)));
            batch
                .attention_mask
                .extend(encoding.get_attention_mask().iter().map(|&i| i64::from(i)));
            batch
                .type_ids
                .extend(encoding.get_type_ids().iter().map(|&i| i64::from(i)));
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clip_tokenizer_gives_the_documented_ids_and_pads_batches() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/models/clip-tokenizer/tokenizer.json");
        let tokenizer = TextTokenizer::open(&path, 77, Some("<|endoftext|>")).unwrap();
        let batch = tokenizer
            .encode(&["a photo of a news anchor", "boat"])
            .unwrap();
        assert_eq!(batch.length, 8);
        assert_eq!(
            batch.ids[..8],
            [49406, 320, 1125, 539, 320, 1120, 13201, 49407]
        );
        // The short text is padded with <|endoftext|> and masked out.
        assert_eq!(batch.ids[8 + 3..16], [49407; 5]);
        assert_eq!(batch.attention_mask[8..16], [1, 1, 1, 0, 0, 0, 0, 0]);
        // Long texts are cut to the model's length, the end token kept.
        let long = vec!["word"; 200].join(" ");
        let batch = tokenizer.encode(&[long.as_str()]).unwrap();
        assert_eq!(batch.length, 77);
        assert_eq!(batch.ids[76], 49407);
    }

    #[test]
    fn a_missing_tokenizer_file_is_named() {
        let err = TextTokenizer::open(Path::new("/no/tokenizer.json"), 77, None).unwrap_err();
        assert!(err.to_string().contains("/no/tokenizer.json"), "{err}");
    }
}
