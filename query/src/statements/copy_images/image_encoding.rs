//! The formats `COPY ... TO` writes image files in, and an image cell's bytes made into one:
//! as they are when they already are that format, decoded and encoded again when they are
//! the other one.

use std::borrow::Cow;
use std::io::Cursor;

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use reeldb_udf::model::image_input::decode_complete;

/// JPEG quality of converted images: an export, so higher than the thumbnails' own.
const CONVERTED_JPEG_QUALITY: u8 = 90;

/// An image file format `COPY ... TO` writes (those the `image` crate is built with here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageFileFormat {
    /// `.png`
    Png,
    /// `.jpg` or `.jpeg`
    Jpeg,
}

impl ImageFileFormat {
    /// The format a file extension or a `STORED AS` name picks, ignoring case.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(ImageFileFormat::Png),
            "jpg" | "jpeg" => Some(ImageFileFormat::Jpeg),
            _ => None,
        }
    }

    /// The format's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ImageFileFormat::Png => "PNG",
            ImageFileFormat::Jpeg => "JPEG",
        }
    }

    /// The format `bytes` are in, by their signature.
    fn of(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFileFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFileFormat::Jpeg)
        } else {
            None
        }
    }
}

/// An image cell's bytes as a file of `format`, and whether they were converted. The error
/// says what is wrong with the cell.
pub(super) fn encode_as(
    format: ImageFileFormat,
    cell: &[u8],
) -> Result<(Cow<'_, [u8]>, bool), String> {
    if cell.is_empty() {
        return Err("the image cell is empty (0 bytes)".into());
    }
    let Some(found) = ImageFileFormat::of(cell) else {
        return Err(format!(
            "the image cell is not a PNG or JPEG image (it starts with {})",
            describe_start(cell)
        ));
    };
    if found == format {
        return Ok((Cow::Borrowed(cell), false));
    }
    let cannot = |reason: String| {
        format!(
            "the {} image cannot be converted to {}: {reason}",
            found.name(),
            format.name()
        )
    };
    let image = decode_complete(cell).map_err(cannot)?;
    let mut out = Vec::new();
    let (width, height) = image.dimensions();
    let encoded = match format {
        ImageFileFormat::Png => PngEncoder::new(Cursor::new(&mut out)).write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        ),
        ImageFileFormat::Jpeg => {
            JpegEncoder::new_with_quality(Cursor::new(&mut out), CONVERTED_JPEG_QUALITY)
                .write_image(
                    image.as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgb8,
                )
        }
    };
    encoded.map_err(|e| cannot(e.to_string()))?;
    Ok((Cow::Owned(out), true))
}

/// The first bytes of a cell in hexadecimal, and as text when they are printable (`3c 68 74
/// 6d ("<htm")`), so a user can tell what the cell holds.
fn describe_start(bytes: &[u8]) -> String {
    let start = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = start.iter().map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > start.len() { " .." } else { "" };
    let mut text = format!("{}{more}", hex.join(" "));
    if start.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        text.push_str(&format!(", \"{}\"", String::from_utf8_lossy(start)));
    }
    text
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    fn picture() -> RgbImage {
        RgbImage::from_fn(40, 30, |x, y| Rgb([(x * 6) as u8, (y * 8) as u8, 128]))
    }

    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        let image = picture();
        PngEncoder::new(Cursor::new(&mut out))
            .write_image(image.as_raw(), 40, 30, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn bytes_in_the_target_format_are_kept_and_others_converted() {
        let png = png();
        let (same, converted) = encode_as(ImageFileFormat::Png, &png).unwrap();
        assert!(!converted);
        assert_eq!(same.as_ref(), png.as_slice());
        let (jpeg, converted) = encode_as(ImageFileFormat::Jpeg, &png).unwrap();
        assert!(converted);
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (40, 30));
        let (back, converted) = encode_as(ImageFileFormat::Png, &jpeg).unwrap();
        assert!(converted);
        assert_eq!(
            image::load_from_memory(&back).unwrap().to_rgb8(),
            decoded,
            "PNG is lossless"
        );
    }

    #[test]
    fn cells_that_are_not_images_say_what_they_start_with() {
        let error = encode_as(ImageFileFormat::Png, &[0, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap_err();
        assert_eq!(
            error,
            "the image cell is not a PNG or JPEG image (it starts with 00 01 02 03 04 05 06 07 ..)"
        );
        let error = encode_as(ImageFileFormat::Jpeg, b"GIF89a").unwrap_err();
        assert!(
            error.ends_with("(it starts with 47 49 46 38 39 61, \"GIF89a\")"),
            "{error}"
        );
        assert!(
            encode_as(ImageFileFormat::Jpeg, b"")
                .unwrap_err()
                .contains("empty")
        );
        let png = png();
        let error = encode_as(ImageFileFormat::Jpeg, &png[..png.len() / 2]).unwrap_err();
        assert!(
            error.starts_with("the PNG image cannot be converted to JPEG: "),
            "{error}"
        );
        assert_eq!(
            ImageFileFormat::from_name("JPEG"),
            Some(ImageFileFormat::Jpeg)
        );
        assert_eq!(ImageFileFormat::from_name("webp"), None);
    }
}
