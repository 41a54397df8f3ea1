//! `contact_sheet(image [, caption])`: the images of a group as a grid, in `ORDER BY` order,
//! each with its caption drawn on it (seed 000's per-cluster grids, its one sheet of all
//! clusters, and its top-50 search results with each similarity drawn on its image).

use std::sync::{Arc, LazyLock};

use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{AggregateUDF, Documentation};
use image::{Rgb, RgbImage};
use rayon::prelude::*;

use super::aggregate::{Picture, PictureAggregate, RowArg, RowKind};
use super::canvas::{MAX_PIXELS, blank, blend_rect, check_canvas};
use super::collected_rows::Rows;
use super::image_cell::{decode_image, draw_fitted, draw_placeholder, fit};
use super::options::{bounded, bounded_opt, colour, text};
use super::text::{draw_text, fit_text, text_size};
use crate::DOC_SECTION_PICTURE;
use crate::analysis::params::{ParamKind, ParamSpec, Params};

/// The SQL name.
pub const NAME: &str = "contact_sheet";

/// The most images one sheet takes.
pub const MAX_IMAGES: usize = 20_000;

const IMAGE: usize = 0;
const CAPTION: usize = 1;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_PICTURE,
        "A grid of the group's images as a PNG (BLOB), in ORDER BY order, left to right and \
         top to bottom, each fitted into its cell with its aspect kept and its caption drawn \
         at its top left. A NULL image is a grey cell saying 'no image'; bytes that are not \
         an image are an error naming the image. At most 20,000 images and 64 megapixels.",
        "contact_sheet(image [, caption] [, columns => n] [, cell_width => px] \
         [, cell_height => px] [, gap => px] [, title => text] [, caption_size => px] \
         [, background => colour])",
    )
    .with_sql_example(
        r#"```sql
-- seed 000: one grid per cluster, and the top 50 of a search with each score drawn
SELECT cluster, contact_sheet(thumbnail, columns => 5 ORDER BY ts) AS sheet FROM frames GROUP BY cluster;
SELECT contact_sheet(thumbnail, 'Sim: ' || round(s, 3), title => 'military' ORDER BY s DESC)
  FROM (SELECT thumbnail, similarity(embedding, embed('clip', 'military')) AS s
        FROM frames ORDER BY s DESC LIMIT 50);
> SELECT topic, image_size(contact_sheet(thumbnail, id, columns => 2, cell_width => 32 ORDER BY id)) AS sheet FROM thumbnails GROUP BY topic ORDER BY topic;
+-------+--------------------------------------+
| topic | sheet                                |
+-------+--------------------------------------+
| 0     | {width: 70, height: 22, format: png} |
| 1     | {width: 70, height: 22, format: png} |
+-------+--------------------------------------+
```"#,
    )
    .with_argument("image", "Image bytes (PNG, JPEG, ...): a thumbnail or crop column")
    .with_argument("caption", "Text drawn on the cell (any value; NULL: none)")
    .with_argument("columns", "Cells per row (default: a square grid, ceil(sqrt(n)))")
    .with_argument("cell_width", "Cell width in pixels (default 160)")
    .with_argument(
        "cell_height",
        "Cell height in pixels (default: cell_width at the first image's aspect)",
    )
    .with_argument("gap", "Pixels between cells (default 2)")
    .with_argument("title", "Text drawn above the grid")
    .with_argument("caption_size", "Caption text size in pixels (default 12)")
    .with_argument("background", "white (default), black, grey, ... or #rrggbb")
    .with_related_udf("image_cloud")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(
        PictureAggregate::<ContactSheet>::new(),
    ))
});

/// The `contact_sheet` aggregate function.
pub fn contact_sheet_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// The contact sheet [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContactSheet;

/// The grid's measures, in pixels.
#[derive(Debug, Clone, Copy)]
struct Layout {
    columns: u32,
    rows: u32,
    cell_width: u32,
    cell_height: u32,
    gap: u32,
    title_height: u32,
}

impl Layout {
    fn width(&self) -> u64 {
        self.columns as u64 * self.cell_width as u64 + (self.columns as u64 + 1) * self.gap as u64
    }

    fn height(&self) -> u64 {
        self.title_height as u64
            + self.rows as u64 * self.cell_height as u64
            + (self.rows as u64 + 1) * self.gap as u64
    }

    /// The top-left corner of cell `index`.
    fn cell(&self, index: usize) -> (i64, i64) {
        let column = index as u32 % self.columns;
        let row = index as u32 / self.columns;
        (
            (self.gap + column * (self.cell_width + self.gap)) as i64,
            (self.title_height + self.gap + row * (self.cell_height + self.gap)) as i64,
        )
    }
}

fn title_size(options: &Params) -> Result<f32> {
    Ok(bounded(options, "caption_size", 12, 6..=96)? as f32 * 1.5)
}

const FIX: &str = "LIMIT the rows, GROUP BY to make several sheets, or give a smaller cell_width";

impl Picture for ContactSheet {
    const NAME: &'static str = NAME;
    const ROWS: &'static [RowArg] = &[
        RowArg::required("image", RowKind::Image),
        RowArg::optional("caption", RowKind::Text),
    ];
    const OPTIONS: &'static [ParamSpec] = &[
        ParamSpec::optional("columns", ParamKind::Whole, "cells per row"),
        ParamSpec::optional("cell_width", ParamKind::Whole, "cell width in pixels"),
        ParamSpec::optional("cell_height", ParamKind::Whole, "cell height in pixels"),
        ParamSpec::optional("gap", ParamKind::Whole, "pixels between cells"),
        ParamSpec::optional("title", ParamKind::Text, "text above the grid"),
        ParamSpec::optional("caption_size", ParamKind::Whole, "caption size in pixels"),
        ParamSpec::optional("background", ParamKind::Text, "background colour"),
    ];

    fn documentation(&self) -> &'static Documentation {
        &DOCUMENTATION
    }

    fn check_options(&self, options: &Params) -> Result<()> {
        bounded_opt(options, "columns", 1..=1_000)?;
        bounded(options, "cell_width", 160, 8..=4_096)?;
        bounded_opt(options, "cell_height", 8..=4_096)?;
        bounded(options, "gap", 2, 0..=256)?;
        title_size(options)?;
        colour(options, "background", Rgb([255, 255, 255]))?;
        Ok(())
    }

    fn check_rows(&self, options: &Params, rows: usize) -> Result<()> {
        let cell_width = bounded(options, "cell_width", 160, 8..=4_096)? as u64;
        // Before the first image is seen its aspect is unknown: 16:9 is assumed.
        let cell_height = bounded_opt(options, "cell_height", 8..=4_096)?
            .map_or(cell_width * 9 / 16, u64::from)
            .max(1);
        let gap = bounded(options, "gap", 2, 0..=256)? as u64;
        let area = (cell_width + gap) * (cell_height + gap);
        if rows > MAX_IMAGES || rows as u64 * area > MAX_PIXELS {
            let fit = (MAX_PIXELS / area).min(MAX_IMAGES as u64);
            return exec_err!(
                "{NAME}(): {rows} images (counted so far) are too many for one sheet: at most {fit} cells of \
                 {cell_width}×{cell_height} fit its limit of {MAX_IMAGES} images and {} \
                 megapixels; {FIX}",
                MAX_PIXELS >> 20
            );
        }
        Ok(())
    }

    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage> {
        let images = rows.images(IMAGE);
        let captions = rows.texts(CAPTION);
        let cell_width = bounded(options, "cell_width", 160, 8..=4_096)?;
        let gap = bounded(options, "gap", 2, 0..=256)?;
        let background = colour(options, "background", Rgb([255, 255, 255]))?;
        let caption_size = bounded(options, "caption_size", 12, 6..=96)? as f32;
        let title = text(options, "title");

        let caption_of = |index: usize| captions.get(index).and_then(Option::as_deref);
        let cell_height = match bounded_opt(options, "cell_height", 8..=4_096)? {
            Some(height) => height,
            // The first image's aspect: decoded alone, so that the grid is known before
            // the others are decoded.
            None => match images
                .iter()
                .enumerate()
                .find_map(|(i, b)| Some((i, b.as_deref()?)))
            {
                Some((index, bytes)) => {
                    let first = decode_image(NAME, index + 1, caption_of(index), bytes)?;
                    let aspect = first.height() as f64 / first.width().max(1) as f64;
                    ((cell_width as f64 * aspect).round() as u32).clamp(8, 4_096)
                }
                None => cell_width * 9 / 16,
            },
        };
        let count = rows.len() as u32;
        let columns = match bounded_opt(options, "columns", 1..=1_000)? {
            Some(columns) => columns.min(count),
            None => (count as f64).sqrt().ceil() as u32,
        }
        .max(1);
        let title_height = match title {
            Some(_) => text_size("Ag", title_size(options)?).1 + 2 * gap.max(4),
            None => 0,
        };
        let layout = Layout {
            columns,
            rows: count.div_ceil(columns),
            cell_width,
            cell_height,
            gap,
            title_height,
        };
        check_canvas(NAME, layout.width(), layout.height(), FIX)?;
        // Each image is decoded and fitted on all cores; only the fitted cells are kept,
        // and they take no more memory than the sheet itself.
        let cells: Vec<Option<RgbImage>> = images
            .par_iter()
            .enumerate()
            .map(|(index, bytes)| {
                bytes
                    .as_deref()
                    .map(|bytes| {
                        let image = decode_image(NAME, index + 1, caption_of(index), bytes)?;
                        Ok(fit(&image, cell_width, cell_height))
                    })
                    .transpose()
            })
            .collect::<Result<_>>()?;

        let mut sheet = blank(NAME, layout.width(), layout.height(), background, FIX)?;
        if let Some(title) = title {
            let size = title_size(options)?;
            let title = fit_text(title, size, (layout.width() as u32).saturating_sub(2 * gap));
            let ink = contrasting(background);
            draw_text(
                &mut sheet,
                gap.max(4) as i64,
                gap.max(4) as i64,
                size,
                ink,
                &title,
            );
        }
        for (index, cell) in cells.iter().enumerate() {
            let (x, y) = layout.cell(index);
            match cell {
                Some(image) => draw_fitted(&mut sheet, image, x, y, cell_width, cell_height),
                None => draw_placeholder(&mut sheet, x, y, cell_width, cell_height),
            }
            if let Some(caption) = caption_of(index) {
                draw_caption(&mut sheet, x, y, cell_width, caption_size, caption);
            }
        }
        Ok(sheet)
    }
}

/// White text on a dark band at the cell's top left, readable on any image.
fn draw_caption(sheet: &mut RgbImage, x: i64, y: i64, cell_width: u32, size: f32, caption: &str) {
    let padding = (size / 4.0).ceil() as u32;
    let caption = fit_text(caption, size, cell_width.saturating_sub(2 * padding));
    if caption.is_empty() {
        return;
    }
    let (w, h) = text_size(&caption, size);
    blend_rect(
        sheet,
        x,
        y,
        w + 2 * padding,
        h + padding,
        Rgb([0, 0, 0]),
        0.6,
    );
    draw_text(
        sheet,
        x + padding as i64,
        y,
        size,
        Rgb([255, 255, 255]),
        &caption,
    );
}

/// Black on a light background, white on a dark one.
pub(crate) fn contrasting(background: Rgb<u8>) -> Rgb<u8> {
    let luminance = 0.2126 * background[0] as f64
        + 0.7152 * background[1] as f64
        + 0.0722 * background[2] as f64;
    if luminance > 128.0 {
        Rgb([0, 0, 0])
    } else {
        Rgb([255, 255, 255])
    }
}
