//! Reading a model as people download it: recognising its layout, checking that it loads,
//! and describing it for the manifest; and loading a stored model back.
//!
//! Layouts recognised in a directory (files may also sit in an `onnx/` subdirectory, as in
//! the Hugging Face exports made with Optimum or Transformers.js):
//!
//! - **CLIP**: `vision_model.onnx` and/or `text_model.onnx`, or one `model.onnx` with both,
//!   plus `preprocessor_config.json` and, for text, `tokenizer.json`;
//! - **sentence-transformer**: `model.onnx` and `tokenizer.json` (pooling from
//!   `1_Pooling/config.json`, length from `sentence_bert_config.json`); instead of
//!   `model.onnx`, a BERT checkpoint (`model.safetensors`, `config.json`), which is written as
//!   an ONNX graph ([`super::convert`]) and stored as that; or one `.onnx` file with
//!   `layout = 'sentence-transformer'` and its tokenizer given by `tokenizer = '...'`;
//!
//! A single `.onnx` file is recognised by its outputs: **YuNet** (`cls_8` ... `kps_32`) and
//! **UltraFace** (`scores`, `boxes`) are face detectors; anything else is an **ONNX image
//! encoder** whose preprocessing the options give (layout `face-encoder` gives the defaults of
//! ArcFace-style face encoders, which take faces aligned by a detector's landmarks).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use reeldb_engine::{ModelDescription, ModelEntry, ModelFiles};
use serde_json::Value;

use super::clip::{ClipConfig, ClipModel};
use super::convert::{CONFIG_FILE, SAFETENSORS_FILE, bert_checkpoint_to_onnx};
use super::face::ultraface::{UltrafaceConfig, UltrafaceDetector, looks_like_ultraface};
use super::face::yunet::{YunetConfig, YunetDetector, looks_like_yunet};
use super::face::{DetectorSettings, FACE_DETECTOR_KIND, FaceDetector};
use super::onnx_image::{OnnxImageConfig, OnnxImageModel};
use super::onnx_session::{OnnxSession, tensor_names};
use super::preprocess::{ImagePreprocess, Resize};
use super::sentence::{Pooling, SentenceConfig, SentenceModel};
use super::{EmbeddingModel, ModelKind};

/// The `clip` layout's name.
pub const LAYOUT_CLIP: &str = "clip";
/// The `sentence-transformer` layout's name.
pub const LAYOUT_SENTENCE: &str = "sentence-transformer";
/// The single-file image encoder layout's name.
pub const LAYOUT_ONNX_IMAGE: &str = "onnx-image";
/// The face encoder layout's name: an image encoder of aligned face crops.
pub const LAYOUT_FACE_ENCODER: &str = "face-encoder";
/// The YuNet face detector layout's name.
pub const LAYOUT_YUNET: &str = "yunet";
/// The UltraFace face detector layout's name.
pub const LAYOUT_ULTRAFACE: &str = "ultraface";

/// Every layout, for error messages.
const LAYOUTS: &[&str] = &[
    LAYOUT_CLIP,
    LAYOUT_SENTENCE,
    LAYOUT_ONNX_IMAGE,
    LAYOUT_FACE_ENCODER,
    LAYOUT_YUNET,
    LAYOUT_ULTRAFACE,
];

/// Options given when a model is added (`WITH (key = value, ...)`), as text.
pub type ModelOptions = BTreeMap<String, String>;

/// The option names each layout reads; others are refused, so a typo is not ignored.
const OPTIONS: &[&str] = &[
    "layout",
    "kind",
    "dim",
    "logit_scale",
    "max_length",
    "size",
    "crop",
    "scale",
    "mean",
    "std",
    "bgr",
    "filter",
    "input",
    "output",
    "normalize",
    "min_score",
    "nms_iou",
    "max_side",
    "tokenizer",
];

/// A model loaded from the database: it makes embeddings or finds faces.
#[derive(Debug, Clone)]
pub enum LoadedModel {
    /// An image, text or image-text encoder.
    Embedding(Arc<dyn EmbeddingModel>),
    /// A face detector.
    FaceDetector(Arc<dyn FaceDetector>),
}

/// A model ready to be stored: its description and the files to copy.
#[derive(Debug)]
pub struct InspectedModel {
    /// Kind, layout, dimension and config.
    pub description: ModelDescription,
    /// The files to copy into the database.
    pub files: ModelFiles,
    /// Where a model converted to ONNX was written; `files` refers to it, so it lives as long
    /// as they are needed and is removed with this.
    converted: Option<tempfile::TempDir>,
}

/// Recognises the model at `path` (a directory or an `.onnx` file), loads it to check that it
/// runs, and describes it. `name` is the name it will be stored under.
pub fn inspect_model(name: &str, path: &Path, options: &ModelOptions) -> Result<InspectedModel> {
    for key in options.keys() {
        if !OPTIONS.contains(&key.as_str()) {
            return Err(plan(format!(
                "unknown model option '{key}'; the options are: {}",
                OPTIONS.join(", ")
            )));
        }
    }
    if !path.exists() {
        return Err(plan(format!(
            "'{}' does not exist; give a model directory (as downloaded) or an .onnx file",
            path.display()
        )));
    }
    let layout = match options.get("layout") {
        Some(layout) => layout.clone(),
        None if path.is_file() => sniff_onnx_layout(path)?.to_string(),
        None if find(path, "vision_model.onnx").is_some()
            || find(path, "text_model.onnx").is_some()
            || path.join("preprocessor_config.json").is_file() =>
        {
            LAYOUT_CLIP.to_string()
        }
        None if path.join("tokenizer.json").is_file()
            && (find(path, "model.onnx").is_some() || path.join(SAFETENSORS_FILE).is_file()) =>
        {
            LAYOUT_SENTENCE.to_string()
        }
        None => {
            return Err(plan(format!(
                "'{}' is not a model directory reeldb knows: expected CLIP (vision_model.onnx, \
                 text_model.onnx or model.onnx with preprocessor_config.json) or a \
                 sentence-transformer (tokenizer.json with model.onnx, or with a BERT \
                 checkpoint's model.safetensors and config.json); for another layout add its \
                 .onnx file",
                path.display()
            )));
        }
    };
    match layout.as_str() {
        LAYOUT_CLIP => inspect_clip(name, path, options),
        LAYOUT_SENTENCE => inspect_sentence(name, path, options),
        LAYOUT_ONNX_IMAGE => inspect_onnx_image(name, path, options, false),
        LAYOUT_FACE_ENCODER => inspect_onnx_image(name, path, options, true),
        LAYOUT_YUNET | LAYOUT_ULTRAFACE => inspect_face_detector(name, path, options, &layout),
        other => Err(plan(format!(
            "unknown layout '{other}'; reeldb knows: {}",
            LAYOUTS.join(", ")
        ))),
    }
}

/// Loads a stored model from its checked directory `dir`.
pub fn load_model(entry: &ModelEntry, dir: &Path) -> Result<LoadedModel> {
    let config = |e: serde_json::Error| {
        DataFusionError::Execution(format!(
            "model '{}' has an unreadable config ({e}); add it again",
            entry.name
        ))
    };
    let dim = entry.dim as usize;
    Ok(LoadedModel::Embedding(match entry.layout.as_str() {
        LAYOUT_CLIP => Arc::new(ClipModel::open(
            &entry.name,
            dim,
            dir,
            serde_json::from_value(entry.config.clone()).map_err(config)?,
        )?),
        LAYOUT_SENTENCE => Arc::new(SentenceModel::open(
            &entry.name,
            dim,
            dir,
            serde_json::from_value(entry.config.clone()).map_err(config)?,
        )?),
        LAYOUT_ONNX_IMAGE | LAYOUT_FACE_ENCODER => Arc::new(OnnxImageModel::open(
            &entry.name,
            dim,
            dir,
            serde_json::from_value(entry.config.clone()).map_err(config)?,
        )?),
        LAYOUT_YUNET => {
            return Ok(LoadedModel::FaceDetector(Arc::new(YunetDetector::open(
                &entry.name,
                dir,
                serde_json::from_value(entry.config.clone()).map_err(config)?,
            )?)));
        }
        LAYOUT_ULTRAFACE => {
            return Ok(LoadedModel::FaceDetector(Arc::new(
                UltrafaceDetector::open(
                    &entry.name,
                    dir,
                    serde_json::from_value(entry.config.clone()).map_err(config)?,
                )?,
            )));
        }
        other => {
            return Err(DataFusionError::Execution(format!(
                "model '{}' has layout '{other}', which this build of reeldb cannot run",
                entry.name
            )));
        }
    }))
}

/// The layout of a single `.onnx` file, from its outputs. The file is opened where it is, so
/// that an error names it.
fn sniff_onnx_layout(path: &Path) -> Result<&'static str> {
    let session = OnnxSession::open(path)?;
    Ok(if looks_like_yunet(&session) {
        LAYOUT_YUNET
    } else if looks_like_ultraface(&session) {
        LAYOUT_ULTRAFACE
    } else {
        LAYOUT_ONNX_IMAGE
    })
}

fn inspect_face_detector(
    name: &str,
    path: &Path,
    options: &ModelOptions,
    layout: &str,
) -> Result<InspectedModel> {
    let (files, staged, session) = stage_onnx_file(path, layout)?;
    // UltraFace's old export also lists every weight as an input; the image is `input`.
    let input = match options.get("input") {
        Some(input) => input.clone(),
        None if session.input("input").is_some() => "input".to_string(),
        None => match session.inputs() {
            [one] => one.name.clone(),
            many => {
                return Err(plan(format!(
                    "the face detector has {} inputs ({}); name the image with input = '...'",
                    many.len(),
                    tensor_names(many)
                )));
            }
        },
    };
    drop(session);
    let defaults = DetectorSettings::default();
    let fraction = |key: &str, default: f32| -> Result<f32> {
        match option_number(options, key)? {
            Some(v) if (0.0..=1.0).contains(&v) => Ok(v as f32),
            Some(v) => Err(plan(format!(
                "model option {key} = {v} must lie between 0 and 1"
            ))),
            None => Ok(default),
        }
    };
    let settings = DetectorSettings {
        min_score: fraction("min_score", defaults.min_score)?,
        nms_iou: fraction("nms_iou", defaults.nms_iou)?,
        max_side: match option_number(options, "max_side")? {
            Some(v) if v >= 32.0 => v as u32,
            Some(v) => {
                return Err(plan(format!(
                    "model option max_side = {v} must be at least 32"
                )));
            }
            None => defaults.max_side,
        },
    };
    if layout == LAYOUT_YUNET {
        let config = YunetConfig {
            model: "model.onnx".into(),
            input,
            settings,
        };
        YunetDetector::open(name, staged.path(), config.clone())?;
        describe(name, FACE_DETECTOR_KIND, layout, 0, &config, files)
    } else {
        let config = UltrafaceConfig {
            model: "model.onnx".into(),
            input,
            settings,
        };
        UltrafaceDetector::open(name, staged.path(), config.clone())?;
        describe(name, FACE_DETECTOR_KIND, layout, 0, &config, files)
    }
}

fn inspect_clip(name: &str, dir: &Path, options: &ModelOptions) -> Result<InspectedModel> {
    let mut files = ModelFiles::default();
    let mut take = |file: &str| -> Option<String> {
        let path = find(dir, file)?;
        add_with_external_data(&mut files, &path, file);
        Some(file.to_string())
    };
    let vision = take("vision_model.onnx");
    let text = take("text_model.onnx");
    let combined = if vision.is_none() && text.is_none() {
        take("model.onnx")
    } else {
        None
    };
    if vision.is_none() && text.is_none() && combined.is_none() {
        return Err(plan(format!(
            "'{}' has no vision_model.onnx, text_model.onnx or model.onnx (looked in it and in \
             its onnx/ folder)",
            dir.display()
        )));
    }
    let tokenizer = find(dir, "tokenizer.json").map(|path| {
        files.add(path, "tokenizer.json");
        "tokenizer.json".to_string()
    });
    let preprocess = match read_json(&dir.join("preprocessor_config.json"))? {
        Some(config) => preprocess_from_hugging_face(&config)?,
        None => ImagePreprocess::clip(224),
    };
    let tokenizer_config = read_json(&dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
    let max_length = option_number(options, "max_length")?
        .map(|n| n as usize)
        .or_else(|| {
            tokenizer_config["model_max_length"]
                .as_u64()
                .map(|n| n as usize)
        })
        .filter(|n| *n > 0 && *n <= 4096)
        .unwrap_or(77);
    let pad_token =
        token_text(&tokenizer_config["pad_token"]).or_else(|| Some("<|endoftext|>".into()));
    let mut config = ClipConfig {
        vision,
        text,
        combined,
        tokenizer,
        max_length,
        pad_token,
        preprocess,
        logit_scale: 100.0,
    };
    let staged = stage(&files)?;
    let model = ClipModel::open(name, 0, staged.path(), config.clone())?;
    let dim = declared_or_option(model.declared_dim(), options, dir)?;
    let model = model.with_dim(dim);
    config.logit_scale = match option_number(options, "logit_scale")? {
        Some(scale) => scale as f32,
        None => model.measure_logit_scale()?.unwrap_or(100.0),
    };
    if !(config.logit_scale.is_finite() && config.logit_scale > 0.0) {
        return Err(plan(format!(
            "logit_scale must be a positive number, got {}",
            config.logit_scale
        )));
    }
    describe(
        name,
        model.kind().as_str(),
        LAYOUT_CLIP,
        dim,
        &config,
        files,
    )
}

fn inspect_sentence(name: &str, path: &Path, options: &ModelOptions) -> Result<InspectedModel> {
    // The JSON configs sit beside the model: in its directory, or beside a lone .onnx file.
    let dir = match path.is_file() {
        true => path.parent().unwrap_or(Path::new(".")),
        false => path,
    };
    let mut files = ModelFiles::default();
    let mut converted = None;
    let mut max_positions = None;
    if path.is_file() {
        add_with_external_data(&mut files, path, "model.onnx");
    } else if let Some(model_path) = find(dir, "model.onnx") {
        add_with_external_data(&mut files, &model_path, "model.onnx");
    } else if dir.join(SAFETENSORS_FILE).is_file() && dir.join(CONFIG_FILE).is_file() {
        // A checkpoint as published with its weights: written as an ONNX graph, which is
        // what gets stored (the database then never needs the checkpoint again).
        let scratch = tempfile::tempdir()
            .map_err(|e| DataFusionError::Execution(format!("temporary directory: {e}")))?;
        let target = scratch.path().join("model.onnx");
        max_positions = Some(bert_checkpoint_to_onnx(dir, &target)?.max_positions);
        files.add(&target, "model.onnx");
        converted = Some(scratch);
    } else {
        return Err(plan(format!(
            "'{}' has no model.onnx, nor model.safetensors with config.json",
            dir.display()
        )));
    }
    let tokenizer = match options.get("tokenizer") {
        Some(given) => {
            let given_path = Path::new(given);
            let file = match given_path.is_dir() {
                true => given_path.join("tokenizer.json"),
                false => given_path.to_path_buf(),
            };
            if !file.is_file() {
                return Err(plan(format!(
                    "tokenizer = '{given}' is neither a tokenizer.json file nor a directory \
                     holding one"
                )));
            }
            file
        }
        None => find(dir, "tokenizer.json").ok_or_else(|| {
            plan(format!(
                "'{}' has no tokenizer.json; give the model's tokenizer with \
                 tokenizer = '/path/to/tokenizer.json'",
                dir.display()
            ))
        })?,
    };
    let tokenizer_dir = tokenizer.parent().unwrap_or(Path::new("."));
    let tokenizer_config =
        read_json(&tokenizer_dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
    files.add(&tokenizer, "tokenizer.json");
    let pooling = match read_json(&dir.join("1_Pooling").join("config.json"))? {
        Some(config) if config["pooling_mode_cls_token"] == Value::Bool(true) => Pooling::Cls,
        _ => Pooling::Mean,
    };
    let max_length = match option_number(options, "max_length")? {
        Some(n) => n as usize,
        None => {
            let configured = read_json(&dir.join("sentence_bert_config.json"))?
                .and_then(|c| c["max_seq_length"].as_u64())
                .or_else(|| {
                    tokenizer_config["model_max_length"]
                        .as_u64()
                        .filter(|n| *n <= 8192)
                })
                .unwrap_or(512) as usize;
            configured.min(max_positions.unwrap_or(usize::MAX))
        }
    };
    if let Some(positions) = max_positions
        && max_length > positions
    {
        return Err(plan(format!(
            "max_length = {max_length} is longer than the model reads: its config.json has \
             {positions} position embeddings"
        )));
    }
    let staged = stage(&files)?;
    let session = OnnxSession::open(&staged.path().join("model.onnx"))?;
    let output = match options.get("output") {
        Some(output) => output.clone(),
        None => ["sentence_embedding", "last_hidden_state"]
            .iter()
            .find(|o| session.output(o).is_some())
            .map(|o| o.to_string())
            .or_else(|| session.outputs().first().map(|o| o.name.clone()))
            .ok_or_else(|| plan("the text model has no outputs".into()))?,
    };
    drop(session);
    let config = SentenceConfig {
        model: "model.onnx".into(),
        tokenizer: "tokenizer.json".into(),
        output,
        pooling,
        max_length,
        pad_token: token_text(&tokenizer_config["pad_token"]),
    };
    let model = SentenceModel::open(name, 0, staged.path(), config.clone())?;
    let dim = declared_or_option(model.declared_dim(), options, path)?;
    let mut inspected = describe(
        name,
        ModelKind::Text.as_str(),
        LAYOUT_SENTENCE,
        dim,
        &config,
        files,
    )?;
    inspected.converted = converted;
    Ok(inspected)
}

/// An image encoder in one `.onnx` file; a `face` encoder gets ArcFace-style defaults
/// (`(x - 127.5) / 128`) and takes aligned face crops.
fn inspect_onnx_image(
    name: &str,
    path: &Path,
    options: &ModelOptions,
    face: bool,
) -> Result<InspectedModel> {
    let layout = if face {
        LAYOUT_FACE_ENCODER
    } else {
        LAYOUT_ONNX_IMAGE
    };
    let (files, staged, session) = stage_onnx_file(path, layout)?;
    let input = match options.get("input") {
        Some(input) => input.clone(),
        None => {
            let images: Vec<_> = session
                .inputs()
                .iter()
                .filter(|i| i.shape.len() == 4)
                .collect();
            match images.as_slice() {
                [one] => one.name.clone(),
                _ => {
                    return Err(plan(format!(
                        "the ONNX model has {} image-shaped inputs ({}); name the one to use with \
                         input = '...'",
                        images.len(),
                        tensor_names(session.inputs())
                    )));
                }
            }
        }
    };
    let output = match options.get("output") {
        Some(output) => output.clone(),
        None => match session.outputs() {
            [one] => one.name.clone(),
            many => {
                return Err(plan(format!(
                    "the ONNX model has {} outputs ({}); name the vector with output = '...'",
                    many.len(),
                    tensor_names(many)
                )));
            }
        },
    };
    let declared_size = session.input(&input).and_then(|i| {
        let (h, w) = (*i.shape.get(2)?, *i.shape.get(3)?);
        (h > 0 && w > 0).then_some((w as u32, h as u32))
    });
    drop(session);
    let (width, height) = match options.get("size") {
        Some(size) => parse_size(size)?,
        None => declared_size.ok_or_else(|| {
            plan("the model's input size is dynamic; give it with size = '224' or '224x224'".into())
        })?,
    };
    let crop = options.get("crop").map(|c| parse_size(c)).transpose()?;
    let preprocess = ImagePreprocess {
        resize: if crop.is_some() {
            Resize::ShortestEdge(width.min(height))
        } else {
            Resize::Exact { width, height }
        },
        crop,
        scale: option_number(options, "scale")?
            .map(|s| s as f32)
            .unwrap_or(if face { 1.0 } else { 1.0 / 255.0 }),
        mean: option_triple(options, "mean")?.unwrap_or(if face {
            [127.5; 3]
        } else {
            [0.485, 0.456, 0.406]
        }),
        std: option_triple(options, "std")?.unwrap_or(if face {
            [128.0; 3]
        } else {
            [0.229, 0.224, 0.225]
        }),
        bgr: option_bool(options, "bgr")?.unwrap_or(false),
        filter: options
            .get("filter")
            .cloned()
            .unwrap_or_else(|| "bilinear".into()),
    };
    preprocess.validate()?;
    let config = OnnxImageConfig {
        model: "model.onnx".into(),
        input,
        output,
        preprocess,
        normalize: option_bool(options, "normalize")?.unwrap_or(true),
        face,
    };
    let model = OnnxImageModel::open(name, 0, staged.path(), config.clone())?;
    let dim = declared_or_option(model.declared_dim(), options, path)?;
    describe(name, ModelKind::Image.as_str(), layout, dim, &config, files)
}

fn describe(
    name: &str,
    kind: &str,
    layout: &str,
    dim: usize,
    config: &impl serde::Serialize,
    files: ModelFiles,
) -> Result<InspectedModel> {
    let config = serde_json::to_value(config)
        .map_err(|e| DataFusionError::Internal(format!("model config: {e}")))?;
    Ok(InspectedModel {
        description: ModelDescription {
            name: name.to_string(),
            kind: kind.to_string(),
            layout: layout.to_string(),
            dim: dim as u32,
            config,
        },
        files,
        converted: None,
    })
}

/// The files of a model that is one `.onnx` file (with its external data), staged under the
/// name they are stored with, and the file opened there.
fn stage_onnx_file(
    path: &Path,
    layout: &str,
) -> Result<(ModelFiles, tempfile::TempDir, OnnxSession)> {
    if !path.is_file() {
        return Err(plan(format!(
            "layout '{layout}' takes an .onnx file, and '{}' is not a file",
            path.display()
        )));
    }
    let mut files = ModelFiles::default();
    add_with_external_data(&mut files, path, "model.onnx");
    let staged = stage(&files)?;
    let session = OnnxSession::open(&staged.path().join("model.onnx"))?;
    Ok((files, staged, session))
}

/// Links (or copies) the files into a temporary directory under the names they will be
/// stored with, so the model is checked exactly as it will be loaded.
fn stage(files: &ModelFiles) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()
        .map_err(|e| DataFusionError::Execution(format!("temporary directory: {e}")))?;
    for (source, name) in &files.files {
        let target = dir.path().join(name);
        let absolute = std::fs::canonicalize(source).map_err(|e| {
            DataFusionError::Execution(format!("cannot read '{}': {e}", source.display()))
        })?;
        #[cfg(unix)]
        let linked = std::os::unix::fs::symlink(&absolute, &target);
        #[cfg(not(unix))]
        let linked = std::fs::copy(&absolute, &target).map(|_| ());
        linked.map_err(|e| {
            DataFusionError::Execution(format!("cannot stage '{}': {e}", source.display()))
        })?;
    }
    Ok(dir)
}

/// `dir/name` or `dir/onnx/name`, if it is a file.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join("onnx").join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Adds an ONNX file and the external-data files beside it (`<name>_data`, `<name>.data`),
/// which large models keep their weights in.
fn add_with_external_data(files: &mut ModelFiles, path: &Path, stored: &str) {
    files.add(path, stored);
    let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    for suffix in ["_data", ".data"] {
        let data = path.with_file_name(format!("{file_name}{suffix}"));
        if data.is_file() {
            files.add(&data, format!("{file_name}{suffix}"));
        }
    }
}

fn declared_or_option(
    declared: Option<usize>,
    options: &ModelOptions,
    path: &Path,
) -> Result<usize> {
    match (declared, option_number(options, "dim")?) {
        (Some(declared), Some(given)) if declared != given as usize => Err(plan(format!(
            "the model '{}' makes {declared}-dimensional vectors, not dim = {given}",
            path.display()
        ))),
        (Some(declared), _) => Ok(declared),
        (None, Some(given)) if given >= 1.0 => Ok(given as usize),
        _ => Err(plan(format!(
            "the model '{}' does not declare its vector length; give it with dim = ...",
            path.display()
        ))),
    }
}

/// Reads Hugging Face's `preprocessor_config.json` (both the old form, `size: 224`, and the
/// new, `size: {shortest_edge: 224}`).
pub fn preprocess_from_hugging_face(config: &Value) -> Result<ImagePreprocess> {
    let edge = |v: &Value| -> Option<Resize> {
        if let Some(n) = v.as_u64() {
            return Some(Resize::ShortestEdge(n as u32));
        }
        if let Some(n) = v["shortest_edge"].as_u64() {
            return Some(Resize::ShortestEdge(n as u32));
        }
        Some(Resize::Exact {
            width: v["width"].as_u64()? as u32,
            height: v["height"].as_u64()? as u32,
        })
    };
    let crop = |v: &Value| -> Option<(u32, u32)> {
        if let Some(n) = v.as_u64() {
            return Some((n as u32, n as u32));
        }
        Some((v["width"].as_u64()? as u32, v["height"].as_u64()? as u32))
    };
    let triple = |v: &Value, default: [f32; 3]| -> [f32; 3] {
        match v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
        {
            Some(values) if values.len() == 3 => {
                [values[0] as f32, values[1] as f32, values[2] as f32]
            }
            _ => default,
        }
    };
    let clip = ImagePreprocess::clip(224);
    let mut preprocess = ImagePreprocess {
        resize: edge(&config["size"]).unwrap_or(clip.resize),
        crop: if config["do_center_crop"] == Value::Bool(false) {
            None
        } else {
            crop(&config["crop_size"]).or(clip.crop)
        },
        scale: if config["do_rescale"] == Value::Bool(false) {
            1.0
        } else {
            config["rescale_factor"]
                .as_f64()
                .map_or(clip.scale, |f| f as f32)
        },
        mean: triple(&config["image_mean"], clip.mean),
        std: triple(&config["image_std"], clip.std),
        bgr: false,
        filter: match config["resample"].as_u64() {
            Some(2) => "bilinear".into(),
            Some(0) => "nearest".into(),
            _ => "bicubic".into(),
        },
    };
    if config["do_normalize"] == Value::Bool(false) {
        preprocess.mean = [0.0; 3];
        preprocess.std = [1.0; 3];
    }
    preprocess.validate()?;
    Ok(preprocess)
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| plan(format!("'{}' is not valid JSON: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(plan(format!("cannot read '{}': {e}", path.display()))),
    }
}

/// A special token as `tokenizer_config.json` writes it: a string or `{"content": ...}`.
fn token_text(value: &Value) -> Option<String> {
    value
        .as_str()
        .or_else(|| value["content"].as_str())
        .map(str::to_string)
}

fn option_number(options: &ModelOptions, key: &str) -> Result<Option<f64>> {
    options
        .get(key)
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| plan(format!("model option {key} = '{v}' is not a number")))
        })
        .transpose()
}

fn option_bool(options: &ModelOptions, key: &str) -> Result<Option<bool>> {
    options
        .get(key)
        .map(|v| match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(plan(format!(
                "model option {key} = '{v}' is not true or false"
            ))),
        })
        .transpose()
}

/// One number for all three channels, or three separated by commas.
fn option_triple(options: &ModelOptions, key: &str) -> Result<Option<[f32; 3]>> {
    let Some(text) = options.get(key) else {
        return Ok(None);
    };
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            plan(format!(
                "model option {key} = '{text}' is not one or three numbers"
            ))
        })?;
    match values.as_slice() {
        [v] => Ok(Some([*v; 3])),
        [a, b, c] => Ok(Some([*a, *b, *c])),
        _ => Err(plan(format!(
            "model option {key} = '{text}' is not one or three numbers"
        ))),
    }
}

/// `'112'` or `'160x120'` (width × height).
fn parse_size(text: &str) -> Result<(u32, u32)> {
    let bad = || {
        plan(format!(
            "size '{text}' is not a size like '112' or '160x120'"
        ))
    };
    let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|n| *n > 0);
    match text.split_once(['x', 'X']) {
        Some((w, h)) => Ok((parse(w).ok_or_else(bad)?, parse(h).ok_or_else(bad)?)),
        None => {
            let n = parse(text).ok_or_else(bad)?;
            Ok((n, n))
        }
    }
}

fn plan(message: String) -> DataFusionError {
    DataFusionError::Plan(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_preprocessor_config_forms_are_read() {
        let new = serde_json::json!({
            "size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224},
            "do_rescale": true, "rescale_factor": 0.00392156862745098, "resample": 3,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]
        });
        let p = preprocess_from_hugging_face(&new).unwrap();
        assert_eq!(p.resize, Resize::ShortestEdge(224));
        assert_eq!(p.crop, Some((224, 224)));
        assert_eq!(p.mean, [0.5; 3]);
        assert_eq!(p.filter, "bicubic");
        let legacy = serde_json::json!({"size": 256, "crop_size": 240, "resample": 2});
        let p = preprocess_from_hugging_face(&legacy).unwrap();
        assert_eq!(p.resize, Resize::ShortestEdge(256));
        assert_eq!(p.crop, Some((240, 240)));
        assert_eq!(p.filter, "bilinear");
    }

    #[test]
    fn options_are_checked() {
        let mut options = ModelOptions::new();
        options.insert("colour".into(), "1".into());
        let err = inspect_model("m", Path::new("/"), &options).unwrap_err();
        assert!(
            err.to_string().contains("unknown model option 'colour'"),
            "{err}"
        );
        assert_eq!(parse_size("160x120").unwrap(), (160, 120));
        assert!(parse_size("0").is_err());
        options.clear();
        options.insert("mean".into(), "1, 2".into());
        assert!(option_triple(&options, "mean").is_err());
    }

    #[test]
    fn a_missing_path_and_an_unknown_directory_are_explained() {
        let options = ModelOptions::new();
        let err = inspect_model("m", Path::new("/no/such/model"), &options).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = inspect_model("m", dir.path(), &options).unwrap_err();
        assert!(err.to_string().contains("not a model directory"), "{err}");
    }
}
