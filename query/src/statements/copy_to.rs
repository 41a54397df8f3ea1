//! `COPY (query) TO 'file'` and `COPY table TO 'file'`: DataFusion writes the file; reeldb
//! first checks where it goes and makes the rows fit the format.
//!
//! - A file inside the database directory is refused: only the engine writes there, and a
//!   file written over a manifest or a data file would lose committed data (issue 21, item 9).
//! - CSV holds flat text cells, so the rows are flattened as the CLI's `--format csv` does
//!   (`crate::text_columns`): struct fields become `column.field` columns, lists, vectors,
//!   maps and binary values become text.
//!
//! A target of `.png`, `.jpg` or `.jpeg` never gets here: `copy_images` writes image files.

use std::path::Path;
use std::sync::Arc;

use datafusion::logical_expr::{LogicalPlan, dml::CopyTo};
use reeldb_engine::Database;

use crate::error::Result;
use crate::text_columns::flatten_plan;

/// `copy`, checked and with its input made to fit its format, as the plan to run.
pub(crate) fn prepare(db: &Database, copy: CopyTo) -> Result<LogicalPlan> {
    if let Some(path) = local_path(&copy.output_url) {
        db.check_outside(Path::new(path))?;
    }
    let input = if copy.file_type.get_ext().eq_ignore_ascii_case("csv") {
        Arc::new(flatten_plan(copy.input.as_ref().clone())?)
    } else {
        copy.input
    };
    Ok(LogicalPlan::Copy(CopyTo { input, ..copy }))
}

/// The file-system path an output URL names, if it names one (`/x.csv`, `x.csv`,
/// `file:///x.csv`).
pub(crate) fn local_path(url: &str) -> Option<&str> {
    match url.split_once("://") {
        None => Some(url),
        Some(("file", path)) => Some(path),
        Some(_) => None,
    }
}
