//! What the charts (`scatter`, `heatmap`, `timeline`) share: a plotters drawing area over an
//! RGB buffer, its errors as query errors, and the text styles.

use datafusion::common::{DataFusionError, Result};
use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::FontDesc;

use super::canvas::check_canvas;
use super::text::{CHART_FONT, register_chart_font};

/// The font of titles.
pub fn title_font<'a>() -> FontDesc<'a> {
    (CHART_FONT, 22).into_font()
}

/// The font of tick labels and legends.
pub fn label_font<'a>() -> FontDesc<'a> {
    (CHART_FONT, 13).into_font()
}

/// A plotters colour of an image colour.
pub fn rgb(colour: Rgb<u8>) -> RGBColor {
    RGBColor(colour[0], colour[1], colour[2])
}

/// A plotters error as a query error of `function`.
pub fn chart_error<E: std::fmt::Debug>(function: &str) -> impl Fn(E) -> DataFusionError + '_ {
    move |e| DataFusionError::Execution(format!("{function}(): cannot draw the chart: {e:?}"))
}

/// Draws a `width` × `height` chart on white with `draw` and returns it.
pub fn draw_chart(
    function: &str,
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<RgbImage> {
    check_canvas(
        function,
        width as u64,
        height as u64,
        "give a smaller width or height",
    )?;
    register_chart_font();
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(chart_error(function))?;
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| {
        DataFusionError::Internal(format!("{function}(): the chart buffer has the wrong size"))
    })
}

/// The range a chart axis shows for values from `min` to `max`: 5 % wider on each side,
/// and one unit either side of a single value.
pub fn padded(min: f64, max: f64) -> std::ops::Range<f64> {
    if max <= min || max.is_nan() || min.is_nan() {
        return (min - 1.0)..(max + 1.0);
    }
    let pad = (max - min) * 0.05;
    (min - pad)..(max + pad)
}
