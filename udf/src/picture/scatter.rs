//! `scatter(x, y [, label])`: a point per row, coloured by label, with a legend; noise (label
//! -1 or NULL) grey and drawn first (the point clouds of seeds 000, 001 and 003).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{AggregateUDF, Documentation};
use image::RgbImage;
use plotters::prelude::*;

use super::aggregate::{Picture, PictureAggregate, RowArg, RowKind};
use super::chart::{chart_error, draw_chart, label_font, padded, rgb, title_font};
use super::collected_rows::Rows;
use super::options::{bounded, text};
use super::palette::{NOISE, category, is_noise, label_order};
use crate::DOC_SECTION_PICTURE;
use crate::analysis::params::{ParamKind, ParamSpec, Params};

/// The SQL name.
pub const NAME: &str = "scatter";

/// The most points one chart takes.
pub const MAX_POINTS: usize = 2_000_000;

/// The most labels the legend lists (the rest are drawn, and counted in its last line).
pub const LEGEND_ENTRIES: usize = 24;

const X: usize = 0;
const Y: usize = 1;
const LABEL: usize = 2;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_PICTURE,
        "A scatter plot of the group's points as a PNG (BLOB), each coloured by its label \
         (labels in order: numerically when they are numbers), with a legend; noise (label \
         -1, or NULL) is grey and drawn under the rest. Rows with a NULL coordinate are left \
         out. At most 2,000,000 points.",
        "scatter(x, y [, label] [, width => px] [, height => px] [, title => text] \
         [, point_size => px] [, x_label => text] [, y_label => text])",
    )
    .with_sql_example(
        r#"```sql
-- seed 000: the t-SNE point cloud coloured by HDBSCAN cluster
SELECT scatter(xy.x, xy.y, c, title => 't-SNE of the broadcast')
  FROM (SELECT project(embedding, 'tsne') OVER () AS xy,
               cluster(embedding, 'hdbscan', 3) OVER () AS c FROM frames);
> SELECT video, image_size(scatter(id, topic, editor_topic, title => 'by topic')) AS chart FROM frames GROUP BY video ORDER BY video;
+-------+----------------------------------------+
| video | chart                                  |
+-------+----------------------------------------+
| news  | {width: 900, height: 700, format: png} |
| sport | {width: 900, height: 700, format: png} |
+-------+----------------------------------------+
```"#,
    )
    .with_argument("x", "The horizontal coordinate")
    .with_argument("y", "The vertical coordinate")
    .with_argument("label", "What colours the point: a cluster, a topic (any value)")
    .with_argument("width", "Width in pixels (default 900)")
    .with_argument("height", "Height in pixels (default 700)")
    .with_argument("title", "Text above the chart")
    .with_argument("point_size", "Point radius in pixels (default 3)")
    .with_argument("x_label", "The horizontal axis' name")
    .with_argument("y_label", "The vertical axis' name")
    .with_related_udf("project")
    .with_related_udf("image_cloud")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(
        PictureAggregate::<Scatter>::new(),
    ))
});

/// The `scatter` aggregate function.
pub fn scatter_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// The scatter plot [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scatter;

impl Picture for Scatter {
    const NAME: &'static str = NAME;
    const ROWS: &'static [RowArg] = &[
        RowArg::required("x", RowKind::Number),
        RowArg::required("y", RowKind::Number),
        RowArg::optional("label", RowKind::Text),
    ];
    const OPTIONS: &'static [ParamSpec] = &[
        ParamSpec::optional("width", ParamKind::Whole, "width in pixels"),
        ParamSpec::optional("height", ParamKind::Whole, "height in pixels"),
        ParamSpec::optional("title", ParamKind::Text, "text above the chart"),
        ParamSpec::optional("point_size", ParamKind::Whole, "point radius in pixels"),
        ParamSpec::optional("x_label", ParamKind::Text, "the horizontal axis' name"),
        ParamSpec::optional("y_label", ParamKind::Text, "the vertical axis' name"),
    ];

    fn documentation(&self) -> &'static Documentation {
        &DOCUMENTATION
    }

    fn check_options(&self, options: &Params) -> Result<()> {
        bounded(options, "width", 900, 200..=8_192)?;
        bounded(options, "height", 700, 150..=8_192)?;
        bounded(options, "point_size", 3, 1..=50)?;
        Ok(())
    }

    fn check_rows(&self, _options: &Params, rows: usize) -> Result<()> {
        if rows > MAX_POINTS {
            return exec_err!(
                "{NAME}(): {rows} points are too many for one chart (at most {MAX_POINTS}); \
                 sample the rows (e.g. WHERE frame % 10 = 0) or LIMIT them"
            );
        }
        Ok(())
    }

    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage> {
        let width = bounded(options, "width", 900, 200..=8_192)?;
        let height = bounded(options, "height", 700, 150..=8_192)?;
        let radius = bounded(options, "point_size", 3, 1..=50)? as i32;
        let labels = rows.texts(LABEL);
        let order = label_order(labels);
        let index: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        // Points by series: noise first (index 0), then each label.
        let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); order.len() + 1];
        let (mut min_x, mut max_x, mut min_y, mut max_y) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (row, (x, y)) in rows.numbers(X).iter().zip(rows.numbers(Y)).enumerate() {
            let (Some(x), Some(y)) = (*x, *y) else {
                continue;
            };
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            let label = labels.get(row).and_then(Option::as_deref);
            let slot = match label {
                Some(label) if !is_noise(label) => index.get(label).map_or(0, |i| i + 1),
                _ => 0,
            };
            series[slot].push((x, y));
            (min_x, max_x) = (min_x.min(x), max_x.max(x));
            (min_y, max_y) = (min_y.min(y), max_y.max(y));
        }
        if !min_x.is_finite() {
            return exec_err!("{NAME}(): no row has both coordinates; there is nothing to draw");
        }
        let has_labels = !order.is_empty();
        draw_chart(NAME, width, height, |root| {
            let error = chart_error(NAME);
            root.fill(&WHITE).map_err(&error)?;
            let mut builder = ChartBuilder::on(root);
            builder
                .margin(16)
                .x_label_area_size(40)
                .y_label_area_size(64);
            if let Some(title) = text(options, "title") {
                builder.caption(title, title_font());
            }
            let mut chart = builder
                .build_cartesian_2d(padded(min_x, max_x), padded(min_y, max_y))
                .map_err(&error)?;
            let mut mesh = chart.configure_mesh();
            mesh.label_style(label_font())
                .light_line_style(RGBColor(246, 246, 246))
                .bold_line_style(RGBColor(220, 220, 220));
            if let Some(name) = text(options, "x_label") {
                mesh.x_desc(name);
            }
            if let Some(name) = text(options, "y_label") {
                mesh.y_desc(name);
            }
            mesh.draw().map_err(&error)?;
            for (slot, points) in series.iter().enumerate() {
                if points.is_empty() {
                    continue;
                }
                let colour = if slot == 0 { NOISE } else { category(slot - 1) };
                let style = rgb(colour).filled();
                let drawn = chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, radius, style)))
                    .map_err(&error)?;
                let name = match slot {
                    0 if has_labels => Some("noise".to_string()),
                    0 => None,
                    _ if slot <= LEGEND_ENTRIES => Some(order[slot - 1].clone()),
                    _ => None,
                };
                if let Some(name) = name {
                    drawn
                        .label(name)
                        .legend(move |(x, y)| Circle::new((x, y), 4, style));
                }
            }
            if has_labels {
                if order.len() > LEGEND_ENTRIES {
                    let more = order.len() - LEGEND_ENTRIES;
                    chart
                        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                        .map_err(&error)?
                        .label(format!("… {more} more"))
                        .legend(|(x, y)| Circle::new((x, y), 0, WHITE));
                }
                chart
                    .configure_series_labels()
                    .label_font(label_font())
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(&error)?;
            }
            Ok(())
        })
    }
}
