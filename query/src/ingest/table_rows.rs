//! Table-level helpers ingest shares: create-or-check a table's columns, read some of a
//! table's columns, and drop one video's rows inside a transaction (so that re-ingesting a
//! transcript replaces it atomically).
//!
//! Ingest reads tables straight from the snapshot's Parquet files rather than through
//! DataFusion: it needs a few columns of every row, with no SQL in between (so no quoting of
//! the names it filters by), and it runs inside a statement of the session, whose DataFusion
//! context it must not re-enter.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reeldb_engine::{Snapshot, WriteTransaction, read_data_file};

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
        return Err(Error::InvalidArgument(format!(
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

/// Reads the columns `wanted` (name and type) of `table` in `snapshot`, file by file, and hands
/// each batch's columns to `each`, in the order of `wanted` and converted to its types. Only
/// those columns are decoded; every file is checked against the manifest first.
pub fn read_columns(
    snapshot: &Snapshot,
    table: &str,
    wanted: &[(&str, DataType)],
    mut each: impl FnMut(&[ArrayRef]) -> Result<()>,
) -> Result<()> {
    let entry = snapshot.table(table)?;
    let schema = entry.schema()?;
    for (name, _) in wanted {
        if schema.field_with_name(name).is_err() {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::InvalidArgument(format!(
                "table '{table}' has no column '{name}'; its columns are {}",
                columns.join(", ")
            )));
        }
    }
    for file in &entry.files {
        snapshot.check_data_file(file)?;
        let path = snapshot.data_file_path(file);
        let corrupt = |reason: String| {
            reeldb_engine::Error::corrupt(&path, format!("cannot read Parquet data: {reason}"))
        };
        let handle = File::open(&path).map_err(|e| reeldb_engine::Error::io(&path, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| corrupt(e.to_string()))?;
        // By name: the manifest's schema says which columns there are, the file where they are.
        let file_schema = Arc::clone(builder.schema());
        let mut roots = Vec::with_capacity(wanted.len());
        for (name, _) in wanted {
            let root = file_schema
                .index_of(name)
                .map_err(|_| corrupt(format!("the file has no column '{name}'")))?;
            roots.push(root);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(|e| corrupt(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| corrupt(e.to_string()))?;
            let mut columns = Vec::with_capacity(wanted.len());
            for (name, data_type) in wanted {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| corrupt(format!("the file has no column '{name}'")))?;
                columns.push(cast(column, data_type)?);
            }
            each(&columns)?;
        }
    }
    Ok(())
}

/// Removes the rows of `table` whose `video` column equals `video`: every data file holding
/// one is replaced by one without them. Returns the rows removed.
pub fn remove_video_rows(txn: &mut WriteTransaction, table: &str, video: &str) -> Result<u64> {
    let entry = txn.table(table)?;
    let files = entry.files.clone();
    let schema = entry.schema()?;
    // Its columns passed ensure_table, and every table ingest replaces a video's rows in has
    // a video column.
    let Some(video_column) = schema.index_of("video").ok() else {
        return Err(Error::Internal(format!(
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
