//! `image_cloud(image, x, y)`: the images placed at their 2-D coordinates (a t-SNE or PCA
//! map, seeds 000 and 003), each scaled to `thumb` pixels and centred on its point.
//!
//! Overlap is handled as the seeds' clouds (matplotlib `AnnotationBbox`) handle it: each
//! image is drawn whole over the ones before it, so `ORDER BY` chooses which lie on top.
//! Both axes share one scale (an equal-aspect map, as `ax = plt.subplot(aspect='equal')`),
//! and y grows upward as on a plot.

use std::sync::{Arc, LazyLock};

use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{AggregateUDF, Documentation};
use image::{Rgb, RgbImage};
use rayon::prelude::*;

use super::aggregate::{Picture, PictureAggregate, RowArg, RowKind};
use super::canvas::{blank, paste};
use super::collected_rows::Rows;
use super::contact_sheet::contrasting;
use super::image_cell::{decode_image, draw_placeholder, fit};
use super::options::{bounded, bounded_opt, colour, text};
use super::text::{draw_text, fit_text};
use crate::DOC_SECTION_PICTURE;
use crate::analysis::params::{ParamKind, ParamSpec, Params};

/// The SQL name.
pub const NAME: &str = "image_cloud";

/// The most images one cloud takes.
pub const MAX_IMAGES: usize = 50_000;

const IMAGE: usize = 0;
const X: usize = 1;
const Y: usize = 2;

static DOCUMENTATION: LazyLock<Documentation> =
    LazyLock::new(|| {
        Documentation::builder(
        DOC_SECTION_PICTURE,
        "The group's images placed at their 2-D coordinates, as a PNG (BLOB): each scaled to \
         `thumb` pixels on its longer side and centred on its point, drawn in ORDER BY order \
         over the ones before it. Both axes share one scale; y grows upward. A NULL image is \
         a grey tile; a NULL coordinate is an error naming the image. At most 50,000 images.",
        "image_cloud(image, x, y [, size => px] [, width => px] [, height => px] \
         [, thumb => px] [, title => text] [, background => colour])",
    )
    .with_sql_example(
        r#"```sql
-- seed 000: the broadcast laid out by t-SNE
SELECT image_cloud(thumbnail, xy.x, xy.y, size => 2000)
  FROM (SELECT thumbnail, project(embedding, 'tsne') OVER () AS xy FROM frames);
> SELECT image_size(image_cloud(thumbnail, x, y, size => 400)) AS cloud FROM thumbnails;
+----------------------------------------+
| cloud                                  |
+----------------------------------------+
| {width: 400, height: 400, format: png} |
+----------------------------------------+
```"#,
    )
    .with_argument("image", "Image bytes: a thumbnail or crop column")
    .with_argument("x", "The horizontal coordinate")
    .with_argument("y", "The vertical coordinate (up)")
    .with_argument("size", "Width and height of the picture in pixels (default 2000)")
    .with_argument("width", "Width in pixels (default: size)")
    .with_argument("height", "Height in pixels (default: size)")
    .with_argument(
        "thumb",
        "Longer side of each image in pixels (default: a twentieth of the picture's shorter side)",
    )
    .with_argument("title", "Text drawn at the top left")
    .with_argument("background", "white (default), black, grey, ... or #rrggbb")
    .with_related_udf("project")
    .with_related_udf("contact_sheet")
    .build()
    });

static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(
        PictureAggregate::<ImageCloud>::new(),
    ))
});

/// The `image_cloud` aggregate function.
pub fn image_cloud_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// The image cloud [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImageCloud;

/// The picture's size and each image's.
fn measures(options: &Params) -> Result<(u32, u32, u32)> {
    let size = bounded(options, "size", 2_000, 64..=16_384)?;
    let width = bounded_opt(options, "width", 64..=16_384)?.unwrap_or(size);
    let height = bounded_opt(options, "height", 64..=16_384)?.unwrap_or(size);
    let thumb = bounded_opt(options, "thumb", 4..=2_048)?
        .unwrap_or((width.min(height) / 20).max(4))
        .min(width.min(height));
    Ok((width, height, thumb))
}

/// Where point (`x`, `y`) lands in a `width` × `height` picture whose drawable area keeps
/// `margin` pixels from each edge, for coordinates spanning `bounds` (min x, max x, min y,
/// max y): one scale for both axes, the map centred.
pub fn place(
    bounds: (f64, f64, f64, f64),
    width: u32,
    height: u32,
    margin: u32,
    x: f64,
    y: f64,
) -> (f64, f64) {
    let (min_x, max_x, min_y, max_y) = bounds;
    let inner_w = width.saturating_sub(2 * margin).max(1) as f64;
    let inner_h = height.saturating_sub(2 * margin).max(1) as f64;
    let span_x = max_x - min_x;
    let span_y = max_y - min_y;
    let scale = match (span_x > 0.0, span_y > 0.0) {
        (true, true) => f64::min(inner_w / span_x, inner_h / span_y),
        (true, false) => inner_w / span_x,
        (false, true) => inner_h / span_y,
        (false, false) => 0.0,
    };
    let centre_x = width as f64 / 2.0;
    let centre_y = height as f64 / 2.0;
    let mid_x = (min_x + max_x) / 2.0;
    let mid_y = (min_y + max_y) / 2.0;
    (
        centre_x + (x - mid_x) * scale,
        centre_y - (y - mid_y) * scale,
    )
}

impl Picture for ImageCloud {
    const NAME: &'static str = NAME;
    const ROWS: &'static [RowArg] = &[
        RowArg::required("image", RowKind::Image),
        RowArg::required("x", RowKind::Number),
        RowArg::required("y", RowKind::Number),
    ];
    const OPTIONS: &'static [ParamSpec] = &[
        ParamSpec::optional("size", ParamKind::Whole, "width and height in pixels"),
        ParamSpec::optional("width", ParamKind::Whole, "width in pixels"),
        ParamSpec::optional("height", ParamKind::Whole, "height in pixels"),
        ParamSpec::optional(
            "thumb",
            ParamKind::Whole,
            "longer side of each image in pixels",
        ),
        ParamSpec::optional("title", ParamKind::Text, "text at the top left"),
        ParamSpec::optional("background", ParamKind::Text, "background colour"),
    ];

    fn documentation(&self) -> &'static Documentation {
        &DOCUMENTATION
    }

    fn check_options(&self, options: &Params) -> Result<()> {
        let (width, height, _) = measures(options)?;
        super::canvas::check_canvas(NAME, width as u64, height as u64, "give a smaller size")?;
        colour(options, "background", Rgb([255, 255, 255]))?;
        Ok(())
    }

    fn check_rows(&self, _options: &Params, rows: usize) -> Result<()> {
        if rows > MAX_IMAGES {
            return exec_err!(
                "{NAME}(): {rows} images (counted so far) are too many for one cloud (at most {MAX_IMAGES}); \
                 LIMIT or sample the rows (e.g. WHERE frame % 10 = 0), or GROUP BY to make \
                 several clouds"
            );
        }
        Ok(())
    }

    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage> {
        let (width, height, thumb) = measures(options)?;
        let background = colour(options, "background", Rgb([255, 255, 255]))?;
        let images = rows.images(IMAGE);
        let (xs, ys) = (rows.numbers(X), rows.numbers(Y));
        let mut points = Vec::with_capacity(rows.len());
        for (index, (x, y)) in xs.iter().zip(ys).enumerate() {
            match (x, y) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => points.push((*x, *y)),
                _ => {
                    return exec_err!(
                        "{NAME}(): image {} has no finite coordinates (x = {x:?}, y = {y:?}); \
                         filter such rows out (WHERE x IS NOT NULL AND y IS NOT NULL)",
                        index + 1
                    );
                }
            }
        }
        let bounds = points.iter().fold(
            (
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ),
            |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
        );
        let tiles: Vec<Option<RgbImage>> = images
            .par_iter()
            .enumerate()
            .map(|(index, bytes)| {
                bytes
                    .as_deref()
                    .map(|bytes| {
                        Ok(fit(
                            &decode_image(NAME, index + 1, None, bytes)?,
                            thumb,
                            thumb,
                        ))
                    })
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let mut cloud = blank(
            NAME,
            width as u64,
            height as u64,
            background,
            "give a smaller size",
        )?;
        let margin = thumb / 2 + 2;
        for (tile, &(x, y)) in tiles.iter().zip(&points) {
            let (cx, cy) = place(bounds, width, height, margin, x, y);
            match tile {
                Some(tile) => paste(
                    &mut cloud,
                    tile,
                    (cx - tile.width() as f64 / 2.0).round() as i64,
                    (cy - tile.height() as f64 / 2.0).round() as i64,
                ),
                None => {
                    let side = thumb * 9 / 16;
                    draw_placeholder(
                        &mut cloud,
                        (cx - thumb as f64 / 2.0).round() as i64,
                        (cy - side as f64 / 2.0).round() as i64,
                        thumb,
                        side.max(1),
                    );
                }
            }
        }
        if let Some(title) = text(options, "title") {
            let size = (height.min(width) as f32 / 50.0).clamp(12.0, 48.0);
            let title = fit_text(title, size, width.saturating_sub(16));
            draw_text(&mut cloud, 8, 8, size, contrasting(background), &title);
        }
        Ok(cloud)
    }
}
