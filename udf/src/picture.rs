//! Pictures as SQL values: aggregate functions that draw the rows they are given and return
//! the picture as PNG bytes (a BLOB), so that a query ends in something a person reads.
//!
//! - `contact_sheet(image [, caption])`: a grid of images, in `ORDER BY` order, with a caption
//!   drawn on each cell (the seeds' per-cluster grids and scored search results).
//! - `image_cloud(image, x, y)`: images placed at 2-D coordinates (a t-SNE or PCA map).
//! - `scatter(x, y [, label])`: points coloured by label, with a legend; noise grey.
//! - `heatmap(row, column, value)`: one coloured cell per pair, with a colour scale.
//! - `timeline(time, label [, score])`: which label holds at each moment, a lane per label.
//!
//! And one scalar function, `image_size(image)`: the width, height and format of image bytes.
//!
//! Every one is a [`PictureAggregate`] over a [`Picture`]: the aggregate collects the rows
//! (their arguments and `ORDER BY` values, merged across partitions and sorted once at the
//! end), and the picture checks its options and draws. Arguments that come from rows are
//! given by position (or by name, which the SQL layer moves to their position); options are
//! constants given by name (`columns => 10`, which becomes the text `'columns=10'` as for
//! `cluster()`). Sizes are bounded by the options and by hard limits ([`canvas`]) checked as
//! rows arrive, so a picture that would be too large is refused before it is drawn.
//!
//! Text is drawn with DejaVu Sans, which the `dejavu` crate embeds: no system font is read.

mod aggregate;
pub mod canvas;
mod chart;
mod collected_rows;
pub mod contact_sheet;
pub mod heatmap;
pub mod image_cell;
pub mod image_cloud;
pub mod image_size;
mod options;
pub mod palette;
pub mod scatter;
pub mod text;
pub mod timeline;

use std::sync::Arc;

use datafusion::logical_expr::AggregateUDF;

pub use aggregate::{Picture, PictureAggregate, RowArg, RowKind};
pub use collected_rows::Rows;

/// Every picture function.
pub fn all_picture_functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        contact_sheet::contact_sheet_udaf(),
        image_cloud::image_cloud_udaf(),
        scatter::scatter_udaf(),
        heatmap::heatmap_udaf(),
        timeline::timeline_udaf(),
    ]
}

/// The names of the row arguments of the picture function `name` (lower case), in their
/// positions: the SQL layer moves `caption => expr` to its position, since DataFusion takes
/// named arguments of aggregates only without gaps.
pub fn row_parameters(name: &str) -> Option<Vec<&'static str>> {
    let rows: &[RowArg] = match name.to_ascii_lowercase().as_str() {
        contact_sheet::NAME => contact_sheet::ContactSheet::ROWS,
        image_cloud::NAME => image_cloud::ImageCloud::ROWS,
        scatter::NAME => scatter::Scatter::ROWS,
        heatmap::NAME => heatmap::Heatmap::ROWS,
        timeline::NAME => timeline::Timeline::ROWS,
        _ => return None,
    };
    Some(rows.iter().map(|row| row.name).collect())
}
