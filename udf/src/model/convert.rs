//! Models that arrive as training checkpoints rather than ONNX files, turned into ONNX graphs
//! offline so that ONNX Runtime runs them like any other model.
//!
//! Today that is a BERT encoder in Hugging Face's layout (`config.json` with `model_type`
//! `bert`, `model.safetensors`): the form in which sentence-transformers such as
//! all-MiniLM-L6-v2 are published with their weights.

mod bert;
mod onnx_graph;
mod protobuf;
mod safetensors;

use std::path::Path;

use datafusion::common::{DataFusionError, Result};

pub use bert::BertConfig;

/// The checkpoint's weights file.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The checkpoint's architecture.
pub const CONFIG_FILE: &str = "config.json";

/// Reads the BERT checkpoint in `dir` (`config.json`, `model.safetensors`) and writes it as the
/// ONNX model `target`; returns the checkpoint's config.
pub fn bert_checkpoint_to_onnx(dir: &Path, target: &Path) -> Result<BertConfig> {
    let config_path = dir.join(CONFIG_FILE);
    let text = std::fs::read(&config_path).map_err(|e| {
        DataFusionError::Plan(format!("cannot read '{}': {e}", config_path.display()))
    })?;
    let json = serde_json::from_slice(&text).map_err(|e| {
        DataFusionError::Plan(format!(
            "'{}' is not valid JSON: {e}",
            config_path.display()
        ))
    })?;
    let config = BertConfig::from_json(&json)?;
    let weights = safetensors::SafetensorsFile::open(&dir.join(SAFETENSORS_FILE))?;
    let model = bert::bert_onnx(&config, &weights)?;
    drop(weights);
    std::fs::write(target, model).map_err(|e| {
        DataFusionError::Execution(format!("cannot write '{}': {e}", target.display()))
    })?;
    Ok(config)
}
