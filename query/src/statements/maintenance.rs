//! `VACUUM [KEEP n VERSIONS]` and `COMPACT [TABLE] [name]`: the engine's maintenance, with its
//! report as one row.

use datafusion::execution::SendableRecordBatchStream;
use reeldb_engine::Database;

use super::one_row;
use crate::error::{Error, Result};

/// Deletes the versions older than the newest `keep_versions` (default 1) that no reader has
/// open, and the files only they use.
pub(crate) fn vacuum(
    db: &Database,
    keep_versions: Option<u64>,
) -> Result<SendableRecordBatchStream> {
    let report = db.vacuum(keep_versions.unwrap_or(1) as usize)?;
    one_row(&[
        ("versions_removed", report.versions_removed as u64),
        ("versions_in_use", report.versions_in_use as u64),
        ("files_removed", report.files_removed as u64),
        ("bytes_freed", report.bytes_freed),
    ])
}

/// Merges the small data files of `table` (of every table) and rebuilds the indexes that no
/// longer cover the table's files, on a blocking thread.
pub(crate) async fn compact(
    db: &Database,
    table: Option<String>,
) -> Result<SendableRecordBatchStream> {
    let db = db.clone();
    let report = tokio::task::spawn_blocking(move || db.compact(table.as_deref()))
        .await
        .map_err(|e| Error::Internal(format!("compaction stopped: {e}")))??;
    one_row(&[
        ("files_removed", report.files_removed as u64),
        ("files_written", report.files_written as u64),
        ("rows", report.rows),
        ("indexes_rebuilt", report.indexes_rebuilt as u64),
    ])
}
