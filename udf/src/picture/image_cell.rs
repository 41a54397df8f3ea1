//! Images given to a picture: decoded from their bytes (with bounds, so that a huge or
//! hostile BLOB fails cleanly), fitted into cells, and the placeholder drawn for NULL.

use std::io::Cursor;

use datafusion::common::{Result, exec_err};
use image::imageops::FilterType;
use image::{ImageReader, Limits, Rgb, RgbImage};

use super::canvas::{fill_rect, paste};
use super::text::{draw_text, fit_text, text_size};

/// The largest image decoded, a side (thumbnails are a few hundred pixels; a full frame is
/// fine too).
pub const MAX_IMAGE_SIDE: u32 = 8_192;

/// The colour of a cell without an image.
pub const PLACEHOLDER: Rgb<u8> = Rgb([220, 220, 220]);

/// Decodes image `row` (1-based, in the picture's order) of `function`; `name` describes the
/// row in errors (its caption, when it has one).
pub fn decode_image(
    function: &str,
    row: usize,
    name: Option<&str>,
    bytes: &[u8],
) -> Result<RgbImage> {
    let which = match name {
        Some(name) => format!("image {row} ('{name}')"),
        None => format!("image {row}"),
    };
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format();
    let Ok(mut reader) = reader else {
        return exec_err!("{function}(): {which} cannot be read");
    };
    if reader.format().is_none() {
        let start: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return exec_err!(
            "{function}(): {which} is not an image: its {} bytes start with {} (a PNG or JPEG \
             starts with 89 50 4e 47 or ff d8 ff); give a column of image bytes, such as a \
             frames table's thumbnail",
            bytes.len(),
            if start.is_empty() {
                "nothing".to_string()
            } else {
                start.join(" ")
            }
        );
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    match reader.decode() {
        Ok(image) => Ok(image.to_rgb8()),
        Err(e) => exec_err!(
            "{function}(): {which} cannot be decoded ({e}); images are read up to \
             {MAX_IMAGE_SIDE} pixels a side"
        ),
    }
}

/// `image` scaled to fit `width` × `height` with its aspect kept (never to zero pixels).
pub fn fit(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let scale = f64::min(
        width as f64 / image.width().max(1) as f64,
        height as f64 / image.height().max(1) as f64,
    );
    let w = ((image.width() as f64 * scale).round() as u32).clamp(1, width.max(1));
    let h = ((image.height() as f64 * scale).round() as u32).clamp(1, height.max(1));
    if (w, h) == image.dimensions() {
        return image.clone();
    }
    image::imageops::resize(image, w, h, FilterType::Triangle)
}

/// Draws `image` fitted and centred in the cell at (`x`, `y`) of `width` × `height`.
pub fn draw_fitted(
    picture: &mut RgbImage,
    image: &RgbImage,
    x: i64,
    y: i64,
    width: u32,
    height: u32,
) {
    let (w, h) = image.dimensions();
    paste(
        picture,
        image,
        x + (width.saturating_sub(w) / 2) as i64,
        y + (height.saturating_sub(h) / 2) as i64,
    );
}

/// Draws the placeholder of a NULL image: a grey cell saying so.
pub fn draw_placeholder(picture: &mut RgbImage, x: i64, y: i64, width: u32, height: u32) {
    fill_rect(picture, x, y, width, height, PLACEHOLDER);
    let size = (height as f32 / 6.0).clamp(8.0, 16.0);
    let label = fit_text("no image", size, width.saturating_sub(4));
    let (w, h) = text_size(&label, size);
    draw_text(
        picture,
        x + (width.saturating_sub(w) / 2) as i64,
        y + (height.saturating_sub(h) / 2) as i64,
        size,
        Rgb([120, 120, 120]),
        &label,
    );
}
