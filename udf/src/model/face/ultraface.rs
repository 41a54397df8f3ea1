//! UltraFace (Ultra-Light-Fast-Generic-Face-Detector-1MB): boxes and scores at a fixed
//! 320×240 input, without landmarks.
//!
//! The graph takes RGB `(x − 127) / 128` and answers `scores` `[1, anchors, 2]` (column 1 is
//! "face") and `boxes` `[1, anchors, 4]` as corners in 0..1 of the input; suppression of
//! overlapping boxes is the caller's.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;
use image::imageops::{FilterType, resize};
use serde::{Deserialize, Serialize};

use super::nms::suppress;
use super::{DetectedFace, DetectorSettings, FaceDetector, PreparedImage, write_planar};
use crate::model::onnx_session::{InputTensor, OnnxSession, tensor_names};

/// The stored settings of an UltraFace detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UltrafaceConfig {
    /// The ONNX file.
    pub model: String,
    /// The image input's name.
    pub input: String,
    /// Thresholds.
    pub settings: DetectorSettings,
}

/// Whether a graph with these outputs is UltraFace.
pub fn looks_like_ultraface(session: &OnnxSession) -> bool {
    session.output("scores").is_some() && session.output("boxes").is_some()
}

/// A loaded UltraFace detector.
#[derive(Debug)]
pub struct UltrafaceDetector {
    name: String,
    config: UltrafaceConfig,
    session: OnnxSession,
    /// The input `(width, height)` the graph fixes.
    size: (u32, u32),
}

impl UltrafaceDetector {
    /// Opens the model in `dir`.
    pub fn open(name: &str, dir: &Path, config: UltrafaceConfig) -> Result<Self> {
        let session = OnnxSession::open(&dir.join(&config.model))?;
        if !looks_like_ultraface(&session) {
            return Err(DataFusionError::Plan(format!(
                "the ONNX model '{}' is not UltraFace: expected outputs scores and boxes, found \
                 {}",
                session.path().display(),
                tensor_names(session.outputs())
            )));
        }
        let shape = session.require_input(&config.input)?.shape.clone();
        let size = match shape.as_slice() {
            [_, 3, h, w] if *h > 0 && *w > 0 => (*w as u32, *h as u32),
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "the UltraFace input '{}' has shape {shape:?}; expected a fixed \
                     [1, 3, H, W]",
                    config.input
                )));
            }
        };
        Ok(UltrafaceDetector {
            name: name.to_string(),
            config,
            session,
            size,
        })
    }
}

impl FaceDetector for UltrafaceDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn finds_landmarks(&self) -> bool {
        false
    }

    fn prepare_image(&self, image: &RgbImage) -> Result<PreparedImage> {
        let (w, h) = image.dimensions();
        let (tw, th) = self.size;
        let resized = resize(image, tw, th, FilterType::Triangle);
        let mut tensor = vec![0.0; 3 * tw as usize * th as usize];
        write_planar(
            &resized,
            &mut tensor,
            tw as usize,
            th as usize,
            false,
            |v| (v as f32 - 127.0) / 128.0,
        );
        Ok(PreparedImage {
            tensor,
            width: tw,
            height: th,
            scale_x: tw as f32 / w.max(1) as f32,
            scale_y: th as f32 / h.max(1) as f32,
            original: (w, h),
        })
    }

    fn detect_prepared(&self, images: &[PreparedImage]) -> Result<Vec<Vec<DetectedFace>>> {
        let settings = &self.config.settings;
        let (tw, th) = (self.size.0 as usize, self.size.1 as usize);
        let mut found = Vec::with_capacity(images.len());
        // The export fixes the batch at 1.
        for image in images {
            let mut outputs = self.session.run(
                &[(
                    self.config.input.as_str(),
                    InputTensor::F32(&image.tensor, vec![1, 3, th, tw]),
                )],
                &["scores", "boxes"],
            )?;
            let (_, boxes) = outputs.pop().unwrap_or_default();
            let (_, scores) = outputs.pop().unwrap_or_default();
            if scores.len() / 2 != boxes.len() / 4 {
                return Err(DataFusionError::Execution(format!(
                    "UltraFace model '{}' answered {} scores for {} boxes",
                    self.name,
                    scores.len() / 2,
                    boxes.len() / 4
                )));
            }
            let (w, h) = (image.original.0 as f32, image.original.1 as f32);
            let faces = scores
                .chunks_exact(2)
                .zip(boxes.chunks_exact(4))
                .filter(|(s, _)| s[1] >= settings.min_score)
                .map(|(s, b)| DetectedFace {
                    x: b[0] * w,
                    y: b[1] * h,
                    width: (b[2] - b[0]) * w,
                    height: (b[3] - b[1]) * h,
                    score: s[1],
                    landmarks: None,
                })
                .collect();
            found.push(suppress(faces, settings.nms_iou));
        }
        Ok(found)
    }
}
