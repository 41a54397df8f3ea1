//! `CREATE VECTOR INDEX`, `DROP VECTOR INDEX` and `SHOW VECTOR INDEXES`: HNSW indexes built
//! and dropped by the engine, each in its own commit.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::SendableRecordBatchStream;
use reeldb_engine::{Database, IndexSpec, Snapshot};

use super::{batch_stream, empty_stream};
use crate::ast::CreateVectorIndex;
use crate::error::{Error, Result};

/// Builds and commits the index. The build reads every vector and runs on a blocking thread.
pub(crate) async fn create_vector_index(
    db: &Database,
    statement: CreateVectorIndex,
) -> Result<SendableRecordBatchStream> {
    if let Some(method) = &statement.method
        && method != "hnsw"
    {
        return Err(Error::InvalidArgument(format!(
            "unknown vector index method '{method}': reeldb builds HNSW indexes (USING HNSW)"
        )));
    }
    let mut spec = IndexSpec::new(&statement.name, &statement.column);
    for (key, value) in &statement.options {
        spec.set(key, &value.as_text())?;
    }
    let db = db.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut txn = db.begin_write()?;
        if statement.if_not_exists && txn.manifest().index(&spec.name).is_some() {
            return Ok(());
        }
        txn.create_vector_index(&statement.table, &spec)?;
        txn.commit()?;
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(format!("the index build stopped: {e}")))??;
    Ok(empty_stream())
}

/// Drops the index, or does nothing for a missing one with `IF EXISTS`.
pub(crate) fn drop_vector_index(
    db: &Database,
    name: &str,
    if_exists: bool,
) -> Result<SendableRecordBatchStream> {
    let mut txn = db.begin_write()?;
    if if_exists && txn.manifest().index(name).is_none() {
        return Ok(empty_stream());
    }
    txn.drop_vector_index(name)?;
    txn.commit()?;
    Ok(empty_stream())
}

/// One row per index: its table, column and parameters, the rows in its graph, and the rows
/// inserted since it was built (searched exactly until `COMPACT` rebuilds it).
pub(crate) fn show_vector_indexes(snapshot: &Snapshot) -> Result<SendableRecordBatchStream> {
    let mut text: [Vec<String>; 5] = Default::default();
    let mut numbers: [Vec<u64>; 5] = Default::default();
    for table in &snapshot.manifest().tables {
        for index in &table.indexes {
            let pending: u64 = table
                .files
                .iter()
                .filter(|f| !index.covered.contains(&f.path))
                .map(|f| f.rows)
                .sum();
            for (column, value) in text.iter_mut().zip([
                index.name.as_str(),
                table.name.as_str(),
                index.column.as_str(),
                "hnsw",
                index.metric.as_str(),
            ]) {
                column.push(value.to_string());
            }
            for (column, value) in numbers.iter_mut().zip([
                u64::from(index.m),
                u64::from(index.ef_construction),
                u64::from(index.ef_search),
                index.rows,
                pending,
            ]) {
                column.push(value);
            }
        }
    }
    let text_names = ["name", "table", "column", "method", "metric"];
    let number_names = [
        "m",
        "ef_construction",
        "ef_search",
        "indexed_rows",
        "pending_rows",
    ];
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (name, values) in text_names.iter().zip(text) {
        fields.push(Field::new(*name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(values)));
    }
    for (name, values) in number_names.iter().zip(numbers) {
        fields.push(Field::new(*name, DataType::UInt64, false));
        columns.push(Arc::new(UInt64Array::from(values)));
    }
    batch_stream(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}
