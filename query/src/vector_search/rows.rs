//! Row-level access to a table's data files that DataFusion's scan does not give: which rows
//! (by position) match a filter, and the rows at given positions.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchReader};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_plan::PhysicalExpr;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use reeldb_engine::DataFileEntry;

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::External(Box::new(reeldb_engine::Error::corrupt(
        path,
        format!("cannot read Parquet data: {e}"),
    )))
}

/// Which rows of the data file at `path` satisfy every predicate. The predicates are bound
/// to a schema of the table columns `columns` (ascending table positions); a NULL outcome
/// counts as not satisfied, as in `WHERE`.
pub fn matching_rows(
    path: &Path,
    file: &DataFileEntry,
    columns: &[usize],
    predicates: &[Arc<dyn PhysicalExpr>],
) -> Result<BooleanBuffer> {
    let handle = File::open(path).map_err(|e| parquet_error(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| parquet_error(path, e))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let mut bits = arrow::array::BooleanBufferBuilder::new(file.rows as usize);
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(path, e))?;
        let mut keep = BooleanBuffer::new_set(batch.num_rows());
        for predicate in predicates {
            let outcome = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
            let outcome = outcome.as_boolean_opt().ok_or_else(|| {
                DataFusionError::Internal("a filter did not evaluate to booleans".into())
            })?;
            let mut satisfied = outcome.values().clone();
            if let Some(nulls) = outcome.nulls() {
                satisfied = &satisfied & nulls.inner();
            }
            keep = &keep & &satisfied;
        }
        bits.append_buffer(&keep);
    }
    Ok(bits.finish())
}

/// The rows at `rows` (ascending positions) of the data file at `path`, with the table
/// columns `projection` (in that order), shaped as `schema`.
pub fn fetch_rows(
    path: &Path,
    file: &DataFileEntry,
    rows: &[usize],
    projection: &[usize],
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let handle = File::open(path).map_err(|e| parquet_error(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| parquet_error(path, e))?;
    // The reader returns projected columns in file order; `order` maps them back.
    let mut sorted = projection.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
    let ranges = rows.iter().map(|&row| row..row + 1);
    let selection = RowSelection::from_consecutive_ranges(ranges, file.rows as usize);
    let reader = builder
        .with_projection(mask)
        .with_row_selection(selection)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let read_schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| parquet_error(path, e))?;
    let batch = concat_batches(&read_schema, &batches)?;
    let columns = projection
        .iter()
        .zip(schema.fields())
        .map(|(table_position, field)| {
            let position = sorted
                .binary_search(table_position)
                .map_err(|_| DataFusionError::Internal("a projected column was not read".into()))?;
            let column = batch.column(position);
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                Ok(cast(column, field.data_type())?)
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}
