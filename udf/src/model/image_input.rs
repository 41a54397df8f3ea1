//! Images as SQL gives them: a file path or the encoded bytes, decoded to RGB.

use std::io::Cursor;
use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use image::{ImageFormat, ImageReader, Limits, RgbImage};
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
    let read;
    let bytes = match source {
        ImageSource::Path(path) => {
            read = std::fs::read(Path::new(path)).map_err(|e| unreadable(e.to_string()))?;
            &read[..]
        }
        ImageSource::Bytes(bytes) => bytes,
    };
    decode_complete(bytes).map_err(unreadable)
}

/// Decodes the bytes of a whole JPEG or PNG file to 8-bit RGB, refusing one that ends before
/// its image data does. The decoders fill a cut-off image with grey (JPEG) or stop quietly,
/// so a truncated file would otherwise pass for a picture; the error says why it was refused.
pub fn decode_complete(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    if bytes.is_empty() {
        return Err("the file is empty (0 bytes)".into());
    }
    let format = image::guess_format(bytes).map_err(|_| {
        "not a JPEG or PNG image (reeldb reads JPEG and PNG; its first bytes are neither's \
         signature)"
            .to_string()
    })?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(format!(
            "a {} image; reeldb reads JPEG and PNG, so convert it first",
            format
                .extensions_str()
                .first()
                .unwrap_or(&"other")
                .to_uppercase()
        ));
    }
    check_complete(format, bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|e| {
        format!("{e} (reeldb reads JPEG and PNG; is the file complete and an image?)")
    })?;
    if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS {
        return Err(format!(
            "the image is {width}×{height} pixels, more than the {} megapixels reeldb decodes \
             (a small file can hold a huge image); scale it down first",
            MAX_DECODED_PIXELS / 1_000_000
        ));
    }
    reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // Room for the decoder's own buffers beside the image (RGBA, 16-bit).
    limits.max_alloc = Some(MAX_DECODED_PIXELS * 8);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| {
        format!("{e} (reeldb reads JPEG and PNG; is the file complete and an image?)")
    })?;
    Ok(image.to_rgb8())
}

/// The most pixels one image may have: 100 megapixels, larger than any camera's photo or
/// video frame (8K is 33). Every core decodes an image at once, so this bounds what decoding
/// holds in memory; an all-zero 11000×11000 PNG is 300 KB on disk and 360 MB decoded.
pub const MAX_DECODED_PIXELS: u64 = 100_000_000;

/// Checks that an encoded image has the marker that ends its data: a JPEG's end-of-image
/// marker after its last scan, a PNG's `IEND` chunk after its last `IDAT`.
fn check_complete(format: ImageFormat, bytes: &[u8]) -> std::result::Result<(), String> {
    let cut = |what: &str| {
        format!(
            "the file ends before its image data does ({what} of {} bytes); it was probably cut \
             short while being copied or downloaded",
            bytes.len()
        )
    };
    match format {
        ImageFormat::Jpeg => {
            // Inside entropy-coded data a 0xFF byte is always followed by 0x00 (or a restart
            // marker), so the end-of-image marker cannot occur there by chance. An EXIF
            // thumbnail has one of its own, before the main image's scans.
            let last_scan = rfind(bytes, &[0xFF, 0xDA]).ok_or_else(|| cut("no image scan"))?;
            if rfind(&bytes[last_scan..], &[0xFF, 0xD9]).is_none() {
                return Err(cut("no end-of-image marker after the last scan"));
            }
            Ok(())
        }
        ImageFormat::Png => {
            let last_data = rfind(bytes, b"IDAT").ok_or_else(|| cut("no IDAT chunk"))?;
            if rfind(&bytes[last_data..], b"IEND").is_none() {
                return Err(cut("no IEND chunk after the image data"));
            }
            Ok(())
        }
        // Refused before this is asked.
        _ => Ok(()),
    }
}

/// The position of the last occurrence of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/images")
            .join(name);
        std::fs::read(path).unwrap()
    }

    /// `png` (a PNG of one row) with its header saying `height` rows: the header is all the
    /// size check reads.
    fn patch_png_height(png: &[u8], height: u32) -> Vec<u8> {
        let mut patched = png.to_vec();
        // The IHDR chunk starts at byte 8: length, "IHDR", width, height, ...; then its CRC.
        patched[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&patched[12..29]);
        patched[29..33].copy_from_slice(&crc.to_be_bytes());
        patched
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Issue 21, item 2: the first 3,000 bytes of a JPEG decoded to a grey-filled image.
    #[test]
    fn a_truncated_jpeg_or_png_is_refused_with_the_reason() {
        let jpeg = fixture("obama-1.jpg");
        decode_complete(&jpeg).unwrap();
        let err = decode_complete(&jpeg[..3000]).unwrap_err();
        assert!(err.contains("ends before its image data"), "{err}");
        let err = decode_complete(&jpeg[..jpeg.len() - 2]).unwrap_err();
        assert!(err.contains("end-of-image marker"), "{err}");

        let png = fixture("coffee.png");
        decode_complete(&png).unwrap();
        let idat = rfind(&png, b"IDAT").unwrap();
        let err = decode_complete(&png[..idat + 1000]).unwrap_err();
        assert!(err.contains("IEND"), "{err}");

        assert!(decode_complete(b"").unwrap_err().contains("empty"));
        // Issue 21, item 14: a small file of a huge image is refused before it is decoded.
        let mut huge = Vec::new();
        image::codecs::png::PngEncoder::new(&mut huge)
            .write_image(&vec![0u8; 11_000], 11_000, 1, image::ExtendedColorType::L8)
            .unwrap();
        let huge = patch_png_height(&huge, 11_000);
        let err = decode_complete(&huge).unwrap_err();
        assert!(err.contains("11000×11000 pixels"), "{err}");
        assert!(
            decode_complete(b"GIF89a....")
                .unwrap_err()
                .contains("a GIF image; reeldb reads JPEG and PNG")
        );
        let err = decode_image(ImageSource::Bytes(&jpeg[..3000]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read image of 3000 bytes"), "{err}");
    }
}
