//! `timeline(time, label [, score])`: which label holds at each moment, one lane per label
//! (seed 004's per-frame classification of a video). Each row fills its lane from its time
//! to the next row's time (the last, for the typical gap between rows); a score from 0 to 1
//! sets how strongly it is coloured.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{AggregateUDF, Documentation};
use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::aggregate::{Picture, PictureAggregate, RowArg, RowKind};
use super::chart::{chart_error, draw_chart, label_font, rgb, title_font};
use super::collected_rows::Rows;
use super::options::{bounded, bounded_opt, text};
use super::palette::{category, label_order};
use super::text::text_size;
use crate::DOC_SECTION_PICTURE;
use crate::analysis::params::{ParamKind, ParamSpec, Params};

/// The SQL name.
pub const NAME: &str = "timeline";

/// The most rows one timeline takes.
pub const MAX_ROWS: usize = 1_000_000;

/// The most lanes (labels) one timeline draws.
pub const MAX_LANES: usize = 200;

const TIME: usize = 0;
const LABEL: usize = 1;
const SCORE: usize = 2;

static DOCUMENTATION: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DOC_SECTION_PICTURE,
        "A timeline of the group's labels as a PNG (BLOB): one lane per label (in label \
         order), each row filling its lane from its time to the next row's time, its colour \
         as strong as its score (0 to 1; default 1). Times are numbers (seconds, drawn as \
         m:ss) or timestamps. Rows with a NULL time or label are left out. At most 1,000,000 \
         rows and 200 labels.",
        "timeline(time, label [, score] [, width => px] [, lane_height => px] [, title => text])",
    )
    .with_sql_example(
        r#"```sql
-- seed 004: what each frame of a video shows, over time
SELECT video, timeline(ts, top_label(embedding, ['a studio', 'a map', 'a crowd']))
  FROM frames GROUP BY video;
> SELECT image_size(timeline(id * 4.0, editor_topic, width => 800)) AS chart FROM frames WHERE video = 'news';
+----------------------------------------+
| chart                                  |
+----------------------------------------+
| {width: 800, height: 156, format: png} |
+----------------------------------------+
```"#,
    )
    .with_argument("time", "When: seconds (ts) or a timestamp")
    .with_argument("label", "What holds then: a class, a cluster (any value)")
    .with_argument("score", "How sure, from 0 to 1 (default 1)")
    .with_argument("width", "Width in pixels (default 1200)")
    .with_argument("lane_height", "Height of each lane in pixels (default 28)")
    .with_argument("title", "Text above the timeline")
    .with_related_udf("top_label")
    .build()
});

static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::new_from_impl(
        PictureAggregate::<Timeline>::new(),
    ))
});

/// The `timeline` aggregate function.
pub fn timeline_udaf() -> Arc<AggregateUDF> {
    Arc::clone(&UDAF)
}

/// The timeline [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timeline;

impl Picture for Timeline {
    const NAME: &'static str = NAME;
    const ROWS: &'static [RowArg] = &[
        RowArg::required("time", RowKind::Number),
        RowArg::required("label", RowKind::Text),
        RowArg::optional("score", RowKind::Number),
    ];
    const OPTIONS: &'static [ParamSpec] = &[
        ParamSpec::optional("width", ParamKind::Whole, "width in pixels"),
        ParamSpec::optional(
            "lane_height",
            ParamKind::Whole,
            "height of each lane in pixels",
        ),
        ParamSpec::optional("title", ParamKind::Text, "text above the timeline"),
    ];

    fn documentation(&self) -> &'static Documentation {
        &DOCUMENTATION
    }

    fn check_options(&self, options: &Params) -> Result<()> {
        bounded(options, "width", 1_200, 300..=16_384)?;
        bounded_opt(options, "lane_height", 4..=200)?;
        Ok(())
    }

    fn check_rows(&self, _options: &Params, rows: usize) -> Result<()> {
        if rows > MAX_ROWS {
            return exec_err!(
                "{NAME}(): {rows} rows are too many for one timeline (at most {MAX_ROWS}); \
                 GROUP BY video to draw one per video, or sample the rows"
            );
        }
        Ok(())
    }

    fn draw(&self, rows: &Rows, options: &Params) -> Result<RgbImage> {
        let width = bounded(options, "width", 1_200, 300..=16_384)?;
        let lane_height = bounded_opt(options, "lane_height", 4..=200)?.unwrap_or(28);
        let labels = rows.texts(LABEL);
        let scores = rows.numbers(SCORE);
        // Every label is a lane here, -1 included.
        let mut order = label_order(labels);
        if labels.iter().flatten().any(|l| super::palette::is_noise(l)) {
            order.insert(0, "-1".to_string());
        }
        if order.len() > MAX_LANES {
            return exec_err!(
                "{NAME}(): {} labels are too many lanes (at most {MAX_LANES}); draw the most \
                 common ones (WHERE label IN (...))",
                order.len()
            );
        }
        let lane: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let mut events: Vec<(f64, usize, f64)> = Vec::with_capacity(rows.len());
        for (row, time) in rows.numbers(TIME).iter().enumerate() {
            let (Some(time), Some(label)) = (*time, labels[row].as_deref()) else {
                continue;
            };
            if !time.is_finite() {
                continue;
            }
            let score = scores
                .get(row)
                .copied()
                .flatten()
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            events.push((time, lane[label], score));
        }
        if events.is_empty() {
            return exec_err!(
                "{NAME}(): no row has both a time and a label; there is nothing to draw"
            );
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let typical_gap = typical_gap(&events);
        let start = events[0].0;
        let end = events[events.len() - 1].0 + typical_gap;
        let lanes = order.len().max(1);
        let widest = order
            .iter()
            .map(|l| text_size(l, 13.0).0)
            .max()
            .unwrap_or(0)
            .clamp(20, 300);
        let height = 100 + lanes as u32 * lane_height;
        let title = text(options, "title");
        draw_chart(NAME, width, height, |root| {
            let error = chart_error(NAME);
            root.fill(&WHITE).map_err(&error)?;
            let mut builder = ChartBuilder::on(root);
            builder
                .margin(12)
                .x_label_area_size(32)
                .y_label_area_size(widest + 16);
            if let Some(title) = title {
                builder.caption(title, title_font());
            }
            let mut chart = builder
                .build_cartesian_2d(start..end, 0.0..lanes as f64)
                .map_err(&error)?;
            let span = end - start;
            let time_name = |t: &f64| format_time(*t, span);
            chart
                .configure_mesh()
                .label_style(label_font())
                .y_labels(0)
                .x_label_formatter(&time_name)
                .light_line_style(RGBColor(240, 240, 240))
                .bold_line_style(RGBColor(225, 225, 225))
                .draw()
                .map_err(&error)?;
            // Lane 0 at the top: y counts up from the bottom.
            let top_of = |lane: usize| (lanes - lane) as f64;
            let bars = events.iter().enumerate().map(|(i, &(time, lane, score))| {
                let until = events.get(i + 1).map_or(time + typical_gap, |next| next.0);
                let colour = rgb(category(lane)).mix(0.15 + 0.85 * score);
                Rectangle::new(
                    [(time, top_of(lane) - 0.1), (until, top_of(lane) - 0.9)],
                    colour.filled(),
                )
            });
            chart.draw_series(bars).map_err(&error)?;
            let style = label_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            for (lane, name) in order.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(start, top_of(lane) - 0.5));
                root.draw_text(name, &style, (x - 6, y)).map_err(&error)?;
            }
            Ok(())
        })
    }
}

/// The median gap between consecutive times (1 when all times are equal).
fn typical_gap(events: &[(f64, usize, f64)]) -> f64 {
    let mut gaps: Vec<f64> = events
        .windows(2)
        .map(|pair| pair[1].0 - pair[0].0)
        .filter(|gap| *gap > 0.0)
        .collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

/// A tick label: seconds as m:ss (or h:mm:ss), times since 1970 as a UTC date and time.
fn format_time(seconds: f64, span: f64) -> String {
    // A timestamp (a time after 2001 spanning less than a year) is shown as a date and time.
    if seconds > 1e9 && span < 3.2e7 {
        let whole = seconds.round() as i64;
        let (days, rest) = (whole.div_euclid(86_400), whole.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        return format!(
            "{year:04}-{month:02}-{day:02} {:02}:{:02}",
            rest / 3600,
            rest / 60 % 60
        );
    }
    let whole = seconds.round() as i64;
    let sign = if whole < 0 { "-" } else { "" };
    let whole = whole.abs();
    if whole >= 3600 {
        format!(
            "{sign}{}:{:02}:{:02}",
            whole / 3600,
            whole / 60 % 60,
            whole % 60
        )
    } else {
        format!("{sign}{}:{:02}", whole / 60, whole % 60)
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_clocks_and_dates() {
        assert_eq!(format_time(0.0, 100.0), "0:00");
        assert_eq!(format_time(125.0, 300.0), "2:05");
        assert_eq!(format_time(3725.0, 4000.0), "1:02:05");
        // 2026-12-03 14:30:00 UTC.
        assert_eq!(format_time(1_796_308_200.0, 3600.0), "2026-12-03 14:30");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
