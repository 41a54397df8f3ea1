//! Images as SQL gives them: a file path or the encoded bytes, decoded to RGB.

use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::{ImageReader, RgbImage};
use rayon::prelude::*;

/// An image argument of a SQL function.
#[derive(Debug, Clone, Copy)]
pub enum ImageSource<'a> {
    /// A path to a JPEG or PNG file, relative to the working directory or absolute.
    Path(&'a str),
    /// The encoded bytes of an image (a `BYTEA`/`BLOB` column).
    Bytes(&'a [u8]),
}

impl ImageSource<'_> {
    /// The image for an error message: the path, or the size of the bytes.
    pub fn describe(&self) -> String {
        match self {
            ImageSource::Path(path) => format!("'{path}'"),
            ImageSource::Bytes(bytes) => format!("of {} bytes", bytes.len()),
        }
    }
}

/// Decodes `source` to 8-bit RGB. Errors name the image and what is wrong with it.
pub fn decode_image(source: ImageSource<'_>) -> Result<RgbImage> {
    let unreadable = |reason: String| {
        DataFusionError::Execution(format!("cannot read image {}: {reason}", source.describe()))
    };
    let decoded = match source {
        ImageSource::Path(path) => {
            let reader =
                ImageReader::open(Path::new(path)).map_err(|e| unreadable(e.to_string()))?;
            reader
                .with_guessed_format()
                .map_err(|e| unreadable(e.to_string()))?
                .decode()
        }
        ImageSource::Bytes(bytes) => image::load_from_memory(bytes),
    };
    let image = decoded.map_err(|e| {
        unreadable(format!(
            "{e} (reeldb reads JPEG and PNG; is the file complete and an image?)"
        ))
    })?;
    Ok(image.to_rgb8())
}

/// Decodes and transforms every image on all cores, keeping the order. A NULL source gives
/// `None`; the first image that cannot be read fails the call.
pub fn decode_all<T: Send>(
    sources: &[Option<ImageSource<'_>>],
    transform: impl Fn(RgbImage) -> Result<T> + Sync,
) -> Result<Vec<Option<T>>> {
    sources
        .par_iter()
        .map(|source| match source {
            Some(source) => decode_image(*source).and_then(&transform).map(Some),
            None => Ok(None),
        })
        .collect()
}
