//! Text in pictures, in DejaVu Sans (embedded by the `dejavu` crate, so no system font is
//! needed), rasterised by `ab_glyph`; [`register_chart_font`] gives the same font to
//! `plotters` for the charts.

use std::sync::{LazyLock, Once};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

use super::canvas::blend;

/// The family name the charts ask plotters for.
pub const CHART_FONT: &str = "sans-serif";

static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice(dejavu::sans::regular()).ok());

/// Makes DejaVu Sans plotters' `sans-serif` (once per process).
pub fn register_chart_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The embedded font is a valid TrueType file; a failure would leave charts without
        // text, never fail a query.
        let _ = plotters::style::register_font(
            CHART_FONT,
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// The width and height in pixels of `text` drawn at `size` pixels.
pub fn text_size(text: &str, size: f32) -> (u32, u32) {
    let Some(font) = FONT.as_ref() else {
        return (0, 0);
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = scaled.glyph_id(c);
        if let Some(previous) = previous {
            width += scaled.kern(previous, glyph);
        }
        width += scaled.h_advance(glyph);
        previous = Some(glyph);
    }
    (
        width.ceil() as u32,
        (scaled.ascent() - scaled.descent()).ceil() as u32,
    )
}

/// Draws `text` at `size` pixels in `colour` with the top of its line at (`x`, `y`),
/// clipped to the picture.
pub fn draw_text(picture: &mut RgbImage, x: i64, y: i64, size: f32, colour: Rgb<u8>, text: &str) {
    let Some(font) = FONT.as_ref() else {
        return;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = y as f32 + scaled.ascent();
    let mut caret = x as f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), point(caret, baseline));
        caret += scaled.h_advance(id);
        previous = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + gx as i64;
            let py = bounds.min.y as i64 + gy as i64;
            if px >= 0 && py >= 0 && (px as u32) < picture.width() && (py as u32) < picture.height()
            {
                let pixel = picture.get_pixel_mut(px as u32, py as u32);
                *pixel = blend(*pixel, colour, coverage);
            }
        });
    }
}

/// `text` cut to at most `width` pixels at `size`, with `…` where it was cut.
pub fn fit_text(text: &str, size: f32, width: u32) -> String {
    if text_size(text, size).0 <= width {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "…";
        if text_size(&candidate, size).0 <= width {
            return candidate;
        }
    }
    String::new()
}
