//! YuNet (libfacedetection), the face detector OpenCV ships: boxes, scores and five landmarks
//! from one small network, at any input size that is a multiple of 32.
//!
//! The graph takes raw BGR values 0..255 as `[N, 3, H, W]` and answers, for each stride
//! `s` in 8, 16 and 32 and each cell `(row, col)` of the `H/s × W/s` grid, a class and an
//! objectness score, a box and five landmarks relative to the cell:
//! score = √(cls · obj), centre = ((col + b0)·s, (row + b1)·s), size = (e^b2·s, e^b3·s),
//! landmark k = ((col + k_x)·s, (row + k_y)·s).

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;
use image::imageops::{FilterType, resize};
use serde::{Deserialize, Serialize};

use super::nms::suppress;
use super::{DetectedFace, DetectorSettings, FaceDetector, PreparedImage, write_planar};
use crate::model::onnx_session::{InputTensor, OnnxSession, tensor_names};

/// The strides YuNet predicts at.
const STRIDES: [usize; 3] = [8, 16, 32];

/// Images per call when the graph's batch size is dynamic.
const IMAGE_CHUNK: usize = 16;

/// Candidates kept per image before suppression, so a noisy image cannot make NMS quadratic
/// in thousands of boxes.
const MAX_CANDIDATES: usize = 5000;

/// The stored settings of a YuNet detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YunetConfig {
    /// The ONNX file.
    pub model: String,
    /// The image input's name.
    pub input: String,
    /// Thresholds and the working size.
    pub settings: DetectorSettings,
}

/// The names of YuNet's outputs for one stride.
fn output_names(stride: usize) -> [String; 4] {
    ["cls", "obj", "bbox", "kps"].map(|o| format!("{o}_{stride}"))
}

/// Whether a graph with these output names is YuNet.
pub fn looks_like_yunet(session: &OnnxSession) -> bool {
    STRIDES
        .iter()
        .flat_map(|s| output_names(*s))
        .all(|name| session.output(&name).is_some())
}

/// A loaded YuNet detector.
#[derive(Debug)]
pub struct YunetDetector {
    name: String,
    config: YunetConfig,
    session: OnnxSession,
    /// The input size the graph fixes (`yunet_s_640_640` takes 640×640), if it fixes one.
    fixed_size: Option<(u32, u32)>,
    /// The batch size the graph fixes, if it fixes one.
    fixed_batch: Option<usize>,
}

impl YunetDetector {
    /// Opens the model in `dir`, checking that it has YuNet's outputs.
    pub fn open(name: &str, dir: &Path, config: YunetConfig) -> Result<Self> {
        let session = OnnxSession::open(&dir.join(&config.model))?;
        if !looks_like_yunet(&session) {
            return Err(DataFusionError::Plan(format!(
                "the ONNX model '{}' is not YuNet: expected outputs cls_8 ... kps_32, found {}",
                session.path().display(),
                tensor_names(session.outputs())
            )));
        }
        let input = session.require_input(&config.input)?;
        let shape = input.shape.clone();
        if shape.len() != 4 || (shape[1] != 3 && shape[1] != -1) {
            return Err(DataFusionError::Plan(format!(
                "the YuNet input '{}' has shape {shape:?}; expected [N, 3, H, W]",
                config.input
            )));
        }
        let fixed_size = (shape[2] > 0 && shape[3] > 0).then(|| (shape[3] as u32, shape[2] as u32));
        if let Some((w, h)) = fixed_size
            && (w % 32 != 0 || h % 32 != 0)
        {
            return Err(DataFusionError::Plan(format!(
                "the YuNet input is {w}×{h}, which is not a multiple of 32"
            )));
        }
        Ok(YunetDetector {
            name: name.to_string(),
            fixed_batch: (shape[0] > 0).then_some(shape[0] as usize),
            config,
            session,
            fixed_size,
        })
    }

    /// Runs one batch of same-sized images and decodes their faces.
    fn detect_batch(&self, images: &[&PreparedImage]) -> Result<Vec<Vec<DetectedFace>>> {
        let (width, height) = (images[0].width as usize, images[0].height as usize);
        let batch = self.fixed_batch.unwrap_or(images.len());
        let per_image = 3 * width * height;
        let mut pixels = Vec::with_capacity(batch * per_image);
        for image in images {
            pixels.extend_from_slice(&image.tensor);
        }
        pixels.resize(batch * per_image, 0.0);
        let names: Vec<String> = STRIDES.iter().flat_map(|s| output_names(*s)).collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let outputs = self.session.run(
            &[(
                self.config.input.as_str(),
                InputTensor::F32(&pixels, vec![batch, 3, height, width]),
            )],
            &name_refs,
        )?;
        let settings = &self.config.settings;
        let mut found = Vec::with_capacity(images.len());
        for (index, image) in images.iter().enumerate() {
            let mut faces = Vec::new();
            for (level, stride) in STRIDES.iter().enumerate() {
                let [cls, obj, bbox, kps] = [0, 1, 2, 3].map(|k| &outputs[level * 4 + k]);
                let (cols, rows) = (width / stride, height / stride);
                let cells = cols * rows;
                for (tensor, per_cell) in [(cls, 1), (obj, 1), (bbox, 4), (kps, 10)] {
                    if tensor.1.len() != batch * cells * per_cell {
                        return Err(DataFusionError::Execution(format!(
                            "YuNet model '{}' answered {} values at stride {stride} for a \
                             {width}×{height} input; expected {}",
                            self.name,
                            tensor.1.len(),
                            batch * cells * per_cell
                        )));
                    }
                }
                for cell in 0..cells {
                    let at = index * cells + cell;
                    let score = (cls.1[at].clamp(0.0, 1.0) * obj.1[at].clamp(0.0, 1.0)).sqrt();
                    if score < settings.min_score {
                        continue;
                    }
                    let (row, col) = ((cell / cols) as f32, (cell % cols) as f32);
                    let s = *stride as f32;
                    let b = &bbox.1[at * 4..at * 4 + 4];
                    let k = &kps.1[at * 10..at * 10 + 10];
                    let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
                    let (w, h) = (b[2].exp() * s, b[3].exp() * s);
                    let landmarks = std::array::from_fn(|j| {
                        [
                            (col + k[2 * j]) * s / image.scale_x,
                            (row + k[2 * j + 1]) * s / image.scale_y,
                        ]
                    });
                    faces.push(DetectedFace {
                        x: (cx - w / 2.0) / image.scale_x,
                        y: (cy - h / 2.0) / image.scale_y,
                        width: w / image.scale_x,
                        height: h / image.scale_y,
                        score,
                        landmarks: Some(landmarks),
                    });
                }
            }
            if faces.len() > MAX_CANDIDATES {
                faces.sort_by(|a, b| b.score.total_cmp(&a.score));
                faces.truncate(MAX_CANDIDATES);
            }
            found.push(suppress(faces, settings.nms_iou));
        }
        Ok(found)
    }
}

impl FaceDetector for YunetDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn finds_landmarks(&self) -> bool {
        true
    }

    fn prepare_image(&self, image: &RgbImage) -> Result<PreparedImage> {
        let (w, h) = image.dimensions();
        let longer = w.max(h).max(1) as f32;
        // A fixed input takes the image letterboxed into its top-left corner; a dynamic one
        // takes it at most `max_side` long, padded to a multiple of 32.
        let (scale, tensor_size) = match self.fixed_size {
            Some((fw, fh)) => {
                let scale = (fw as f32 / w.max(1) as f32).min(fh as f32 / h.max(1) as f32);
                (scale, (fw, fh))
            }
            None => {
                let scale = (self.config.settings.max_side as f32 / longer).min(1.0);
                let round_up = |n: f32| ((n.round() as u32).max(1).div_ceil(32) * 32).max(32);
                (
                    scale,
                    (round_up(w as f32 * scale), round_up(h as f32 * scale)),
                )
            }
        };
        let scaled = (
            ((w as f32 * scale).round() as u32).clamp(1, tensor_size.0),
            ((h as f32 * scale).round() as u32).clamp(1, tensor_size.1),
        );
        let resized = if scaled == (w, h) {
            None
        } else {
            Some(resize(image, scaled.0, scaled.1, FilterType::Triangle))
        };
        let source = resized.as_ref().unwrap_or(image);
        let (tw, th) = (tensor_size.0 as usize, tensor_size.1 as usize);
        let mut tensor = vec![0.0; 3 * tw * th];
        write_planar(source, &mut tensor, tw, th, true, f32::from);
        Ok(PreparedImage {
            tensor,
            width: tensor_size.0,
            height: tensor_size.1,
            scale_x: scaled.0 as f32 / w.max(1) as f32,
            scale_y: scaled.1 as f32 / h.max(1) as f32,
            original: (w, h),
        })
    }

    fn detect_prepared(&self, images: &[PreparedImage]) -> Result<Vec<Vec<DetectedFace>>> {
        let limit = self.fixed_batch.unwrap_or(IMAGE_CHUNK);
        let mut found = Vec::with_capacity(images.len());
        let mut start = 0;
        while start < images.len() {
            // A batch is a run of images of one tensor size (a broadcast's frames all are).
            let size = (images[start].width, images[start].height);
            let mut end = start + 1;
            while end < images.len()
                && end - start < limit
                && (images[end].width, images[end].height) == size
            {
                end += 1;
            }
            let batch: Vec<&PreparedImage> = images[start..end].iter().collect();
            found.extend(self.detect_batch(&batch)?);
            start = end;
        }
        Ok(found)
    }
}
