//! One step of a scan: a few decoded frames through the detector in one batch, each face
//! aligned and encoded in one batch, and cut out as a small JPEG, on all cores.

use std::io::Cursor;
use std::sync::Arc;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use rayon::prelude::*;
use reeldb_udf::model::EmbeddingModel;
use reeldb_udf::model::face::alignment::{align_face, crop_box};
use reeldb_udf::model::face::{DetectedFace, FaceDetector};

use super::faces_table::{FaceRow, ScannedFrame};
use super::frame_source::FrameImage;
use crate::error::{Error, Result};
use crate::ingest::Skipped;

/// The longest side of a stored face crop, in pixels.
pub const CROP_SIDE: u32 = 160;

/// The margin around a face's box in its crop, as a fraction of the box's side.
const CROP_MARGIN: f32 = 0.2;

/// JPEG quality of crops.
const CROP_QUALITY: u8 = 85;

/// The models of a scan.
#[derive(Clone)]
pub struct FaceModels {
    /// Finds the faces.
    pub detector: Arc<dyn FaceDetector>,
    /// Encodes each aligned face, with its input size.
    pub encoder: Option<(Arc<dyn EmbeddingModel>, (u32, u32))>,
}

/// What a step gives: the frames with their faces, the faces' encodings in order (when there
/// is an encoder), and the frames that could not be looked at.
pub struct StepResult {
    /// Frames and faces.
    pub frames: Vec<ScannedFrame>,
    /// `dim` values per face, in the order of `frames`' faces.
    pub encodings: Vec<f32>,
    /// Frames whose image the detector could not take.
    pub skipped: Vec<Skipped>,
}

/// Finds, encodes and crops the faces of `images`.
pub fn scan_step(models: &FaceModels, images: Vec<FrameImage>) -> Result<StepResult> {
    let detector = models.detector.as_ref();
    let prepared: Vec<_> = images
        .par_iter()
        .map(|frame| detector.prepare_image(&frame.image))
        .collect();
    let mut kept = Vec::with_capacity(images.len());
    let mut inputs = Vec::with_capacity(images.len());
    let mut skipped = Vec::new();
    for (frame, prepared) in images.into_iter().zip(prepared) {
        match prepared {
            Ok(input) => {
                kept.push(frame);
                inputs.push(input);
            }
            Err(problem) => skipped.push(Skipped {
                file: frame.frame.describe(),
                reason: problem.to_string(),
            }),
        }
    }
    let found = if inputs.is_empty() {
        Vec::new()
    } else {
        detector.detect_prepared(&inputs)?
    };
    drop(inputs);
    if found.len() != kept.len() {
        return Err(Error::Internal(format!(
            "the detector answered for {} of {} frames",
            found.len(),
            kept.len()
        )));
    }
    // Every face with the image it is in.
    let faces: Vec<(&RgbImage, &DetectedFace)> = kept
        .iter()
        .zip(&found)
        .flat_map(|(frame, faces)| faces.iter().map(move |face| (&frame.image, face)))
        .collect();
    let encodings = match &models.encoder {
        Some((model, (width, height))) if !faces.is_empty() => {
            let inputs = faces
                .par_iter()
                .map(|(image, face)| {
                    let aligned = face
                        .landmarks
                        .as_ref()
                        .and_then(|landmarks| align_face(image, landmarks, *width, *height))
                        .unwrap_or_else(|| crop_box(image, face.corners(), *width, *height));
                    model.prepare_image(&aligned)
                })
                .collect::<datafusion::common::Result<Vec<_>>>()?;
            model.embed_prepared_images(&inputs)?
        }
        _ => Vec::new(),
    };
    let crops = faces
        .par_iter()
        .map(|(image, face)| crop_jpeg(image, face))
        .collect::<Result<Vec<_>>>()?;
    drop(faces);
    let mut crops = crops.into_iter();
    let frames = kept
        .into_iter()
        .zip(found)
        .map(|(frame, faces)| ScannedFrame {
            faces: faces
                .into_iter()
                .map(|face| FaceRow {
                    face: scaled(face, frame.scale),
                    crop: crops.next().unwrap_or_default(),
                })
                .collect(),
            frame: frame.frame,
            source: frame.source,
        })
        .collect();
    Ok(StepResult {
        frames,
        encodings,
        skipped,
    })
}

/// `face` in full-size frame pixels.
fn scaled(mut face: DetectedFace, (sx, sy): (f32, f32)) -> DetectedFace {
    face.x *= sx;
    face.y *= sy;
    face.width *= sx;
    face.height *= sy;
    if let Some(landmarks) = &mut face.landmarks {
        for point in landmarks {
            point[0] *= sx;
            point[1] *= sy;
        }
    }
    face
}

/// The face with a margin, as a JPEG whose longest side is at most [`CROP_SIDE`].
pub fn crop_jpeg(image: &RgbImage, face: &DetectedFace) -> Result<Vec<u8>> {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let margin_x = face.width * CROP_MARGIN;
    let margin_y = face.height * CROP_MARGIN;
    let left = (face.x - margin_x).clamp(0.0, w - 1.0).floor();
    let top = (face.y - margin_y).clamp(0.0, h - 1.0).floor();
    let right = (face.x + face.width + margin_x).clamp(left + 1.0, w).ceil();
    let bottom = (face.y + face.height + margin_y).clamp(top + 1.0, h).ceil();
    let mut crop = imageops::crop_imm(
        image,
        left as u32,
        top as u32,
        (right - left) as u32,
        (bottom - top) as u32,
    )
    .to_image();
    let longest = crop.width().max(crop.height());
    if longest > CROP_SIDE {
        let scale = CROP_SIDE as f32 / longest as f32;
        let width = ((crop.width() as f32 * scale).round() as u32).max(1);
        let height = ((crop.height() as f32 * scale).round() as u32).max(1);
        crop = imageops::resize(&crop, width, height, FilterType::Triangle);
    }
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut Cursor::new(&mut bytes), CROP_QUALITY)
        .encode_image(&crop)
        .map_err(|e| Error::Internal(format!("a face crop could not be encoded: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, width: f32, height: f32) -> DetectedFace {
        DetectedFace {
            x,
            y,
            width,
            height,
            score: 0.9,
            landmarks: None,
        }
    }

    #[test]
    fn crops_stay_inside_the_image_and_are_small() {
        let image = RgbImage::from_pixel(640, 360, image::Rgb([200, 10, 10]));
        for f in [
            face(300.0, 100.0, 80.0, 100.0),
            face(-20.0, -30.0, 60.0, 60.0),
            face(600.0, 330.0, 100.0, 100.0),
            face(0.0, 0.0, 640.0, 360.0),
        ] {
            let jpeg = crop_jpeg(&image, &f).unwrap();
            let decoded = image::load_from_memory(&jpeg).unwrap();
            assert!(decoded.width().max(decoded.height()) <= CROP_SIDE);
            assert!(decoded.width() >= 1 && decoded.height() >= 1);
        }
    }

    #[test]
    fn boxes_and_landmarks_scale_to_the_full_frame() {
        let mut f = face(10.0, 20.0, 30.0, 40.0);
        f.landmarks = Some([[1.0, 2.0]; 5]);
        let big = scaled(f, (2.5, 2.0));
        assert_eq!(
            (big.x, big.y, big.width, big.height),
            (25.0, 40.0, 75.0, 80.0)
        );
        assert_eq!(big.landmarks.unwrap()[4], [2.5, 4.0]);
    }
}
