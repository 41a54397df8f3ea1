//! Table-level helpers ingest shares: create-or-check a table's columns, and drop one video's
//! rows inside a transaction (so that re-ingesting a transcript replaces it atomically).

use std::sync::Arc;

use arrow::array::{AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::Schema;
use reeldb_engine::{WriteTransaction, read_data_file};

use crate::error::{Error, Result};

/// Creates `table` with `schema`, or checks that the existing table has the same columns.
pub fn ensure_table(txn: &mut WriteTransaction, table: &str, schema: &Schema) -> Result<()> {
    if txn.manifest().table(table).is_none() {
        txn.create_table(table, schema)?;
        return Ok(());
    }
    let existing = txn.table(table)?.schema()?;
    if !same_columns(&existing, schema) {
        let names = |s: &Schema| {
            s.fields()
                .iter()
                .map(|f| format!("{} {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::Invalid(format!(
            "table '{table}' exists with the columns ({}), not the ones ingest writes ({}): \
             name another table in the options, or drop this one",
            names(&existing),
            names(schema)
        )));
    }
    Ok(())
}

/// Whether two schemas have the same column names and types, in the same order (ingest
/// appends by position).
pub fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
}

/// Removes the rows of `table` whose `video` column equals `video`: every data file holding
/// one is replaced by one without them. Returns the rows removed.
pub fn remove_video_rows(txn: &mut WriteTransaction, table: &str, video: &str) -> Result<u64> {
    let entry = txn.table(table)?;
    let files = entry.files.clone();
    let schema = entry.schema()?;
    let Some(video_column) = schema.index_of("video").ok() else {
        return Err(Error::Invalid(format!(
            "table '{table}' has no video column"
        )));
    };
    let base = Arc::clone(txn.base());
    let mut removed = 0u64;
    for file in files {
        let mut kept = Vec::new();
        let mut file_removed = 0u64;
        for batch in read_data_file(&base.data_file_path(&file))? {
            let batch = batch?;
            let videos = batch.column(video_column).as_string::<i32>();
            let keep: BooleanArray = videos.iter().map(|v| Some(v != Some(video))).collect();
            file_removed += keep.false_count() as u64;
            kept.push(filter_record_batch(&batch, &keep)?);
        }
        if file_removed == 0 {
            continue;
        }
        for batch in &kept {
            txn.append(table, batch)?;
        }
        txn.remove_file(table, &file.path)?;
        removed += file_removed;
    }
    Ok(removed)
}
