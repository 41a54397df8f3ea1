//! `heatmap(row, column, value)`: one cell per (row, column) pair coloured by its value on
//! the viridis scale, with labelled rows and columns and a colour bar (seed 001's
//! cluster-pair similarity heatmap, from `cluster_similarity()`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{AggregateUDF, Documentation};
use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::aggregate::{Picture, PictureAggregate, RowArg, RowKind};
use super::chart::{chart_error, draw_chart, label_font, rgb, title_font};
use super::collected_rows::Rows;
use super::options::{bounded_opt, text};
use super::palette::{label_order, viridis};
use super::text::{fit_text, text_size};
use crate::DOC_SECTION_PICTURE;
use crate::analysis::params::{ParamKind, ParamSpec, Params};

/// The SQL name.
pub const NAME: &str = "heatmap";

/// The most cells one heatmap takes.
pub const MAX_CELLS: usize = 250_000;

const ROW: usize = 0;
const COLUMN: usize = 1;
const VALUE: usize = 2;

/// The colour of a pair without a value.
const MISSING: RGBColor = RGBColor(235, 235, 235);

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_PICTURE,
        "A heatmap of the group's (row, column, value) triples as a PNG (BLOB): a cell per \
         pair coloured by value on the viridis scale (dark: low, yellow: high) with a colour \
         bar, rows top to bottom and columns left to right in label order (numerically when \
         labels are numbers). A pair given twice is an error; a pair not given is light grey. \
         At most 250,000 cells.",
        "heatmap(row, column, value [, width => px] [, height => px] [, title => text] \
         [, min => number] [, max => number] [, annotate => true|false])",
    )
    .with_sql_example(
        r#"```sql
-- seed 001: how alike each pair of clusters is
SELECT heatmap(left_cluster, right_cluster, similarity, title => 'cluster similarity')
  FROM cluster_similarity('frames', 'embedding', 'cluster');
> SELECT image_size(heatmap(left_cluster, right_cluster, similarity, title => 'topics')) AS map FROM cluster_similarity('frames', 'embedding', 'topic');
+----------------------------------------+
| map                                    |
+----------------------------------------+
| {width: 320, height: 240, format: png} |
+----------------------------------------+
```"#,
    )
    .with_argument("row", "The row's label (any value)")
    .with_argument("column", "The column's label (any value)")
    .with_argument("value", "The number that colours the cell")
    .with_argument("width", "Width in pixels (default: from the number of columns)")
    .with_argument("height", "Height in pixels (default: from the number of rows)")
    .with_argument("title", "Text above the heatmap")
    .with_argument("min", "The value drawn darkest (default: the smallest value)")
    .with_argument("max", "The value drawn brightest (default: the largest value)")
    .with_argument("annotate", "Write each value in its cell (default: when cells are large enough)")
    .with_related_udf("cluster_similarity")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(
        PictureAggregate::<Heatmap>::new(),
    ))
});

/// The `heatmap` aggregate function.
pub fn heatmap_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// The heatmap [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Heatmap;

impl Picture for Heatmap {
    const NAME: &'static str = NAME;
    const ROWS: &'static [RowArg] = &[
        RowArg::required("row", RowKind::Text),
        RowArg::required("column", RowKind::Text),
        RowArg::required("value", RowKind::Number),
    ];
    const OPTIONS: &'static [ParamSpec] = &[
        ParamSpec::optional("width", ParamKind::Whole, "width in pixels"),
        ParamSpec::optional("height", ParamKind::Whole, "height in pixels"),
        ParamSpec::optional("title", ParamKind::Text, "text above the heatmap"),
        ParamSpec::optional("min", ParamKind::Number, "the value drawn darkest"),
        ParamSpec::optional("max", ParamKind::Number, "the value drawn brightest"),
        ParamSpec::optional("annotate", ParamKind::Flag, "write each value in its cell"),
    ];

    fn documentation(&self) -> &'static Documentation {
        &DOCUMENTATION
    }

    fn check_options(&self, options: &Params) -> Result<()> {
        bounded_opt(options, "width", 200..=8_192)?;
        bounded_opt(options, "height", 150..=8_192)?;
        if let (Some(min), Some(max)) = (options.number("min"), options.number("max"))
            && max <= min
        {
            return plan_err!("{NAME}(): max ({max}) must be above min ({min})");
        }
        Ok(())
    }

    fn check_rows(&self, _options: &Params, rows: usize) -> Result<()> {
        if rows > MAX_CELLS {
            return exec_err!(
                "{NAME}(): {rows} cells are too many for one heatmap (at most {MAX_CELLS}); \
                 aggregate the rows first (GROUP BY row, column)"
            );
        }
        Ok(())
    }

    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage> {
        let (row_labels, column_labels) = (rows.texts(ROW), rows.texts(COLUMN));
        let values = rows.numbers(VALUE);
        let row_order = label_order_with_noise(row_labels);
        let column_order = label_order_with_noise(column_labels);
        let row_index: HashMap<&str, usize> = row_order
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let column_index: HashMap<&str, usize> = column_order
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let mut cells: HashMap<(usize, usize), f64> = HashMap::with_capacity(rows.len());
        for index in 0..rows.len() {
            let (Some(row), Some(column)) = (&row_labels[index], &column_labels[index]) else {
                return exec_err!(
                    "{NAME}(): cell {} has a NULL row or column label; filter it out",
                    index + 1
                );
            };
            let Some(value) = values[index].filter(|v| v.is_finite()) else {
                continue;
            };
            let key = (row_index[row.as_str()], column_index[column.as_str()]);
            if cells.insert(key, value).is_some() {
                return exec_err!(
                    "{NAME}(): the pair (row {row}, column {column}) is given twice; give each \
                     pair once (aggregate first, e.g. avg(value) ... GROUP BY row, column)"
                );
            }
        }
        let low = options
            .number("min")
            .unwrap_or_else(|| cells.values().copied().fold(f64::INFINITY, f64::min));
        let high = options
            .number("max")
            .unwrap_or_else(|| cells.values().copied().fold(f64::NEG_INFINITY, f64::max));
        let (nrows, ncols) = (row_order.len().max(1), column_order.len().max(1));
        let widest_row_label = row_order
            .iter()
            .map(|l| text_size(l, 13.0).0)
            .max()
            .unwrap_or(0)
            .clamp(20, 240);
        let default_cell = 36u32;
        let width = match bounded_opt(options, "width", 200..=8_192)? {
            Some(width) => width,
            None => (widest_row_label + 130 + ncols as u32 * default_cell).clamp(320, 8_192),
        };
        let height = match bounded_opt(options, "height", 150..=8_192)? {
            Some(height) => height,
            None => (110 + nrows as u32 * default_cell).clamp(240, 8_192),
        };
        let title = text(options, "title");
        draw_chart(NAME, width, height, |root| {
            let error = chart_error(NAME);
            root.fill(&WHITE).map_err(&error)?;
            let (plot, bar) = root.split_horizontally(width.saturating_sub(90));
            let mut builder = ChartBuilder::on(&plot);
            builder
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(widest_row_label + 16);
            if let Some(title) = title {
                builder.caption(title, title_font());
            }
            let mut chart = builder
                .build_cartesian_2d(0.0..ncols as f64, 0.0..nrows as f64)
                .map_err(&error)?;
            // Rows and columns are named at their centres by `draw_category_labels`, not
            // by plotters' numeric ticks.
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(0)
                .y_labels(0)
                .draw()
                .map_err(&error)?;
            // Row 0 at the top: y counts up from the bottom.
            let top_of = |r: usize| (nrows - r) as f64;
            let mut rectangles = Vec::with_capacity(nrows * ncols);
            for r in 0..nrows {
                for c in 0..ncols {
                    let colour = match cells.get(&(r, c)) {
                        Some(&v) => rgb(viridis(v, low, high)),
                        None => MISSING,
                    };
                    rectangles.push(Rectangle::new(
                        [(c as f64, top_of(r)), (c as f64 + 1.0, top_of(r) - 1.0)],
                        colour.filled(),
                    ));
                }
            }
            chart.draw_series(rectangles).map_err(&error)?;
            let (left, top) = chart.backend_coord(&(0.0, nrows as f64));
            let (right, bottom) = chart.backend_coord(&(ncols as f64, 0.0));
            let cell_w = (right - left) as f64 / ncols as f64;
            let cell_h = (bottom - top) as f64 / nrows as f64;
            let label = label_font().color(&BLACK);
            for (c, name) in column_order.iter().enumerate() {
                let x = left + (cell_w * (c as f64 + 0.5)) as i32;
                let style = label.pos(Pos::new(HPos::Center, VPos::Top));
                plot.draw_text(
                    &fit_text(name, 13.0, cell_w.max(8.0) as u32),
                    &style,
                    (x, bottom + 6),
                )
                .map_err(&error)?;
            }
            for (r, name) in row_order.iter().enumerate() {
                let y = top + (cell_h * (r as f64 + 0.5)) as i32;
                let style = label.pos(Pos::new(HPos::Right, VPos::Center));
                plot.draw_text(name, &style, (left - 6, y))
                    .map_err(&error)?;
            }
            let annotate = options
                .flag("annotate")
                .unwrap_or(cell_w >= 34.0 && cell_h >= 18.0);
            if annotate {
                for (&(r, c), &v) in &cells {
                    let ink = if viridis(v, low, high)[1] > 150 {
                        BLACK
                    } else {
                        WHITE
                    };
                    let style = label_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    let centre = (
                        left + (cell_w * (c as f64 + 0.5)) as i32,
                        top + (cell_h * (r as f64 + 0.5)) as i32,
                    );
                    plot.draw_text(&format_value(v), &style, centre)
                        .map_err(&error)?;
                }
            }
            draw_colour_bar(&bar, low, high, height).map_err(&error)?;
            Ok(())
        })
    }
}

/// Labels in order; here -1 is a label like any other (a noise cluster is a row too).
fn label_order_with_noise(labels: &[Option<String>]) -> Vec<String> {
    let mut order = label_order(labels);
    if labels.iter().flatten().any(|l| super::palette::is_noise(l)) {
        order.insert(0, "-1".to_string());
    }
    order
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The colour scale on the right: `high` at the top, `low` at the bottom.
fn draw_colour_bar<'a>(
    area: &DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>,
    low: f64,
    high: f64,
    height: u32,
) -> std::result::Result<(), DrawingAreaErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>>
{
    let top = 48i32;
    let bottom = height as i32 - 48;
    let steps = (bottom - top).max(1);
    for step in 0..steps {
        let t = 1.0 - step as f64 / steps as f64;
        let colour = rgb(viridis(low + t * (high - low), low, high));
        area.draw(&Rectangle::new(
            [(10, top + step), (30, top + step + 1)],
            colour.filled(),
        ))?;
    }
    let style = label_font().color(&BLACK);
    area.draw_text(&format_value(high), &style, (34, top - 6))?;
    area.draw_text(&format_value(low), &style, (34, bottom - 8))?;
    Ok(())
}
