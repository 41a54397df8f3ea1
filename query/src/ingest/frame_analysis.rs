//! From a decoded frame to a row: size, perceptual hash, thumbnail and the models' inputs,
//! computed on all cores; then one batched model call per model.

use std::io::Cursor;
use std::sync::Arc;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use rayon::prelude::*;
use reeldb_udf::model::EmbeddingModel;
use reeldb_udf::model::phash::perceptual_hash;

use super::frame_table::{FrameMeta, FrameRow, THUMBNAIL_SIDE};
use crate::error::{Error, Result};

/// JPEG quality of thumbnails: small (about 10 KB at 256×144) and clean enough for contact
/// sheets.
const THUMBNAIL_QUALITY: u8 = 80;

/// A frame analysed but not yet embedded.
pub struct AnalysedFrame {
    meta: FrameMeta,
    width: u32,
    height: u32,
    phash: i64,
    thumbnail: Vec<u8>,
    /// One prepared input per model.
    inputs: Vec<Vec<f32>>,
}

/// Analyses one decoded frame. Called on many threads at once.
pub fn analyse(
    meta: FrameMeta,
    image: &RgbImage,
    models: &[Arc<dyn EmbeddingModel>],
) -> Result<AnalysedFrame> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::InvalidArgument("the image has no pixels".into()));
    }
    let inputs = models
        .iter()
        .map(|model| model.prepare_image(image).map_err(Error::from))
        .collect::<Result<Vec<_>>>()?;
    Ok(AnalysedFrame {
        meta,
        width,
        height,
        phash: perceptual_hash(image),
        thumbnail: thumbnail_jpeg(image)?,
        inputs,
    })
}

/// Embeds a step of analysed frames with every model (one batched call per model).
pub fn embed(
    mut frames: Vec<AnalysedFrame>,
    models: &[Arc<dyn EmbeddingModel>],
) -> Result<Vec<FrameRow>> {
    let mut per_model: Vec<std::vec::IntoIter<Vec<f32>>> = Vec::with_capacity(models.len());
    for (index, model) in models.iter().enumerate() {
        let inputs: Vec<Vec<f32>> = frames
            .iter_mut()
            .map(|f| std::mem::take(&mut f.inputs[index]))
            .collect();
        let values = if inputs.is_empty() {
            Vec::new()
        } else {
            model.embed_prepared_images(&inputs)?
        };
        let vectors: Vec<Vec<f32>> = values
            .chunks_exact(model.dim())
            .map(<[f32]>::to_vec)
            .collect();
        if vectors.len() != frames.len() {
            return Err(Error::Internal(format!(
                "model '{}' returned {} vectors for {} frames",
                model.name(),
                vectors.len(),
                frames.len()
            )));
        }
        per_model.push(vectors.into_iter());
    }
    Ok(frames
        .into_iter()
        .map(|frame| FrameRow {
            meta: frame.meta,
            width: frame.width,
            height: frame.height,
            phash: frame.phash,
            thumbnail: frame.thumbnail,
            embeddings: per_model.iter_mut().filter_map(Iterator::next).collect(),
        })
        .collect())
}

/// Decodes and analyses frames on all cores, keeping their order. A frame that fails is
/// returned as its error, with its metadata, so that the caller can report it and go on.
/// Each decoded image is dropped as soon as it is analysed.
pub fn analyse_all<T: Send>(
    frames: Vec<(FrameMeta, T)>,
    decode: impl Fn(T) -> Result<RgbImage> + Sync,
    models: &[Arc<dyn EmbeddingModel>],
) -> Vec<std::result::Result<AnalysedFrame, Box<(FrameMeta, Error)>>> {
    frames
        .into_par_iter()
        .map(|(meta, source)| match decode(source) {
            Ok(image) => analyse(meta.clone(), &image, models).map_err(|e| Box::new((meta, e))),
            Err(e) => Err(Box::new((meta, e))),
        })
        .collect()
}

/// The frame scaled to fit `THUMBNAIL_SIDE` (never enlarged), as a JPEG.
fn thumbnail_jpeg(image: &RgbImage) -> Result<Vec<u8>> {
    let (width, height) = image.dimensions();
    let scale = (THUMBNAIL_SIDE as f64 / width.max(height) as f64).min(1.0);
    let (w, h) = (
        ((width as f64 * scale).round() as u32).max(1),
        ((height as f64 * scale).round() as u32).max(1),
    );
    let small;
    let source = if (w, h) == (width, height) {
        image
    } else {
        // Area averaging: fast, and without the aliasing a point sample would give.
        small = image::imageops::thumbnail(image, w, h);
        &small
    };
    let mut bytes = Cursor::new(Vec::with_capacity(16 * 1024));
    JpegEncoder::new_with_quality(&mut bytes, THUMBNAIL_QUALITY)
        .encode_image(source)
        .map_err(|e| Error::Internal(format!("cannot encode the thumbnail: {e}")))?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbnail_keeps_the_aspect_and_is_never_enlarged() {
        let wide = RgbImage::from_pixel(640, 360, image::Rgb([10, 200, 30]));
        let jpeg = thumbnail_jpeg(&wide).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 144));
        let small = RgbImage::from_pixel(100, 50, image::Rgb([0, 0, 0]));
        let decoded = image::load_from_memory(&thumbnail_jpeg(&small).unwrap()).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (100, 50));
    }
}
