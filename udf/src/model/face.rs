//! Face detection and alignment: the detectors people download (YuNet, UltraFace), the
//! non-maximum suppression they need, and the 5-point alignment a face encoder expects.
//!
//! A detector works like an embedding model in two steps: [`FaceDetector::prepare_image`]
//! turns one decoded image into the detector's input (run on all cores), and
//! [`FaceDetector::detect_prepared`] runs the network on many prepared images and decodes the
//! faces, in the coordinates of the original images.

pub mod alignment;
pub mod nms;
pub mod ultraface;
pub mod yunet;

use std::fmt;

use datafusion::common::Result;
use image::RgbImage;
use serde::{Deserialize, Serialize};

/// The manifest kind of a face detector.
pub const FACE_DETECTOR_KIND: &str = "face-detector";

/// One face found in an image, in the image's pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedFace {
    /// Left edge of the box.
    pub x: f32,
    /// Top edge of the box.
    pub y: f32,
    /// Box width.
    pub width: f32,
    /// Box height.
    pub height: f32,
    /// Detection confidence, 0 to 1.
    pub score: f32,
    /// Left eye, right eye, nose tip, left and right mouth corners (as seen in the image), for
    /// detectors that find them.
    pub landmarks: Option<[[f32; 2]; 5]>,
}

impl DetectedFace {
    /// The box as `[x1, y1, x2, y2]`.
    pub fn corners(&self) -> [f32; 4] {
        [self.x, self.y, self.x + self.width, self.y + self.height]
    }
}

/// Thresholds shared by the detectors; stored in the model's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorSettings {
    /// Faces scoring below this are dropped.
    pub min_score: f32,
    /// Of two boxes overlapping more than this (intersection over union), the weaker is
    /// dropped.
    pub nms_iou: f32,
    /// Images whose longer side exceeds this are scaled down to it before detection (for a
    /// detector with a dynamic input size).
    pub max_side: u32,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        DetectorSettings {
            min_score: 0.7,
            nms_iou: 0.3,
            max_side: 640,
        }
    }
}

/// An image ready for a detector: its input tensor and how to map boxes back.
#[derive(Debug, Clone)]
pub struct PreparedImage {
    /// `[3, height, width]` values.
    pub tensor: Vec<f32>,
    /// Tensor width.
    pub width: u32,
    /// Tensor height.
    pub height: u32,
    /// Tensor pixels per original pixel, horizontally.
    pub scale_x: f32,
    /// Tensor pixels per original pixel, vertically.
    pub scale_y: f32,
    /// The original image's width and height.
    pub original: (u32, u32),
}

/// A model that finds faces.
pub trait FaceDetector: Send + Sync + fmt::Debug {
    /// The name SQL knows it by.
    fn name(&self) -> &str;

    /// Whether it finds the five landmarks that alignment needs.
    fn finds_landmarks(&self) -> bool;

    /// Prepares one decoded image. Called on many threads at once.
    fn prepare_image(&self, image: &RgbImage) -> Result<PreparedImage>;

    /// Finds the faces in each prepared image, strongest first.
    fn detect_prepared(&self, images: &[PreparedImage]) -> Result<Vec<Vec<DetectedFace>>>;
}

/// Writes `image` into `out` as a planar `[3, H, W]` tensor of `tensor_width` columns (the
/// image sits at the top left; the rest stays as it was), with each channel mapped by
/// `value` and the channel order reversed when `bgr`.
pub(crate) fn write_planar(
    image: &RgbImage,
    out: &mut [f32],
    tensor_width: usize,
    tensor_height: usize,
    bgr: bool,
    value: impl Fn(u8) -> f32,
) {
    let plane = tensor_width * tensor_height;
    for (x, y, pixel) in image.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        if x >= tensor_width || y >= tensor_height {
            continue;
        }
        let at = y * tensor_width + x;
        for c in 0..3 {
            let channel = if bgr { 2 - c } else { c };
            out[channel * plane + at] = value(pixel[c]);
        }
    }
}
