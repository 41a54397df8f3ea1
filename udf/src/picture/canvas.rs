//! The hard limits on a picture's size, colours given as options, and PNG encoding.

use datafusion::common::{Result, exec_err, plan_err};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Rgb, RgbImage};

/// The longest side of any picture, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// The most pixels of any picture: 64 megapixels (192 MiB of RGB while it is drawn).
pub const MAX_PIXELS: u64 = 64 << 20;

/// Refuses a `width` × `height` picture over the limits; `fix` says how to make it smaller.
pub fn check_canvas(function: &str, width: u64, height: u64, fix: &str) -> Result<()> {
    if width == 0 || height == 0 {
        return exec_err!("{function}(): the picture would be {width}×{height} pixels: {fix}");
    }
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 || width * height > MAX_PIXELS {
        return exec_err!(
            "{function}(): the picture would be {width}×{height} pixels ({:.0} megapixels), over \
             the limit of {MAX_SIDE} pixels a side and {} megapixels: {fix}",
            (width * height) as f64 / 1e6,
            MAX_PIXELS >> 20
        );
    }
    Ok(())
}

/// A blank `width` × `height` picture of `background`, checked against the limits.
pub fn blank(
    function: &str,
    width: u64,
    height: u64,
    background: Rgb<u8>,
    fix: &str,
) -> Result<RgbImage> {
    check_canvas(function, width, height, fix)?;
    Ok(RgbImage::from_pixel(
        width as u32,
        height as u32,
        background,
    ))
}

/// `picture` as PNG bytes (fast compression: pictures are drawn for reading now, and a
/// thumbnail grid compresses little further).
pub fn encode_png(function: &str, picture: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(picture.len() / 4);
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
        .or_else(|e| exec_err!("{function}(): cannot encode the picture as PNG: {e}"))?;
    Ok(bytes)
}

/// A colour option: a name (`white`, `black`, `grey`, ...) or `#rrggbb`.
pub fn parse_colour(function: &str, option: &str, text: &str) -> Result<Rgb<u8>> {
    let named = match text.trim().to_ascii_lowercase().as_str() {
        "white" => Some([255, 255, 255]),
        "black" => Some([0, 0, 0]),
        "grey" | "gray" => Some([128, 128, 128]),
        "lightgrey" | "lightgray" => Some([211, 211, 211]),
        "darkgrey" | "darkgray" => Some([64, 64, 64]),
        _ => None,
    };
    if let Some(rgb) = named {
        return Ok(Rgb(rgb));
    }
    let hex = text.trim().strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        return Ok(Rgb([channel(0), channel(2), channel(4)]));
    }
    plan_err!(
        "{function}(): {option} must be a colour: white, black, grey, lightgrey, darkgrey or \
         #rrggbb, not '{text}'"
    )
}

/// Fills the rectangle at (`x`, `y`) of `width` × `height`, clipped to the picture.
pub fn fill_rect(picture: &mut RgbImage, x: i64, y: i64, width: u32, height: u32, colour: Rgb<u8>) {
    blend_rect(picture, x, y, width, height, colour, 1.0);
}

/// Draws `colour` at `opacity` (0 to 1) over the rectangle, clipped to the picture.
pub fn blend_rect(
    picture: &mut RgbImage,
    x: i64,
    y: i64,
    width: u32,
    height: u32,
    colour: Rgb<u8>,
    opacity: f32,
) {
    let (x0, y0) = (x.max(0), y.max(0));
    let x1 = (x + width as i64).min(picture.width() as i64);
    let y1 = (y + height as i64).min(picture.height() as i64);
    for py in y0..y1 {
        for px in x0..x1 {
            let pixel = picture.get_pixel_mut(px as u32, py as u32);
            *pixel = blend(*pixel, colour, opacity);
        }
    }
}

/// `over` drawn at `opacity` on `under`.
pub fn blend(under: Rgb<u8>, over: Rgb<u8>, opacity: f32) -> Rgb<u8> {
    let a = opacity.clamp(0.0, 1.0);
    let mix = |u: u8, o: u8| (u as f32 * (1.0 - a) + o as f32 * a).round() as u8;
    Rgb([
        mix(under[0], over[0]),
        mix(under[1], over[1]),
        mix(under[2], over[2]),
    ])
}

/// Copies `image` onto `picture` with its top-left corner at (`x`, `y`), clipped.
pub fn paste(picture: &mut RgbImage, image: &RgbImage, x: i64, y: i64) {
    image::imageops::replace(picture, image, x, y);
}
