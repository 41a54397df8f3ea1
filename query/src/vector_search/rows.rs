//! Row-level access to a table's data files that DataFusion's scan does not give: which rows
//! (by position) match a filter, and the rows at given positions.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBufferBuilder, FixedSizeListArray, Float32Array, RecordBatch,
    RecordBatchOptions, RecordBatchReader,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_plan::PhysicalExpr;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
};
use reeldb_engine::vector::{vector_dimension, vector_item_field};
use reeldb_engine::{DataFileEntry, Snapshot, VectorFile};

use crate::error::external;
use crate::table::ReeldbTable;

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::External(Box::new(reeldb_engine::Error::corrupt(
        path,
        format!("cannot read Parquet data: {e}"),
    )))
}

/// The data files of one table of one snapshot, each one's Parquet footer read and parsed at
/// most once: a search reads a file's filter columns ([`matching_rows`]) and later its chosen
/// rows ([`fetch_rows`]), and both start from the file's metadata. (Each read opens its own
/// handle: the `File` reader of `parquet` seeks, and handles duplicated from one share their
/// offset, so sharing one between threads would race.)
#[derive(Debug)]
pub struct DataFileFooters {
    snapshot: Arc<Snapshot>,
    files: Vec<DataFileEntry>,
    footers: Vec<OnceLock<ArrowReaderMetadata>>,
}

impl DataFileFooters {
    /// Every data file of `table`'s table in its snapshot, in manifest order (the order of a
    /// search's file positions).
    pub fn new(table: &ReeldbTable) -> Result<Self> {
        let snapshot = Arc::clone(table.snapshot());
        let files = snapshot
            .table(table.name())
            .map_err(external)?
            .files
            .clone();
        Ok(DataFileFooters {
            footers: files.iter().map(|_| OnceLock::new()).collect(),
            files,
            snapshot,
        })
    }

    /// The number of data files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the table has no data files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The data file at `index` in the table's file list.
    pub fn file(&self, index: usize) -> Result<&DataFileEntry> {
        self.files.get(index).ok_or_else(|| {
            DataFusionError::Internal(format!(
                "data file {index} of a table of {} files",
                self.files.len()
            ))
        })
    }

    /// A reader of the data file at `index`, from the footer an earlier read parsed if any.
    fn reader(&self, index: usize) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let path = self.snapshot.data_file_path(self.file(index)?);
        let handle = File::open(&path).map_err(|e| parquet_error(&path, e))?;
        let metadata = match self.footers[index].get() {
            Some(metadata) => metadata.clone(),
            None => {
                let metadata = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::default())
                    .map_err(|e| parquet_error(&path, e))?;
                // Two threads may both have read it; either copy serves.
                let _ = self.footers[index].set(metadata.clone());
                metadata
            }
        };
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            handle, metadata,
        ))
    }

    fn path(&self, index: usize) -> Result<PathBuf> {
        Ok(self.snapshot.data_file_path(self.file(index)?))
    }
}

/// Which rows of data file `index` of `files` satisfy every predicate. The predicates are
/// bound to a schema of the table columns `columns` (ascending table positions); a NULL
/// outcome counts as not satisfied, as in `WHERE`.
pub fn matching_rows(
    files: &DataFileFooters,
    index: usize,
    columns: &[usize],
    predicates: &[Arc<dyn PhysicalExpr>],
) -> Result<BooleanBuffer> {
    let file = files.file(index)?;
    let path = files.path(index)?;
    let path = path.as_path();
    let builder = files.reader(index)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let mut bits = BooleanBufferBuilder::new(file.rows as usize);
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

/// The rows at `rows` (ascending positions) of data file `file` of table `table`, with the
/// table columns `projection` (in that order), shaped as `schema`.
///
/// Vector columns are copied from the flat vector files, which the search has just mapped:
/// reading a few rows of a vector column from Parquet means decompressing and decoding whole
/// pages of it, which cost more than the search itself.
pub fn fetch_rows(
    files: &DataFileFooters,
    table: &str,
    index: usize,
    rows: &[usize],
    projection: &[usize],
    schema: &SchemaRef,
    cache_vector_files: bool,
) -> Result<RecordBatch> {
    let snapshot = files.snapshot.as_ref();
    let file = files.file(index)?;
    let table_schema = snapshot.table_schema(table).map_err(external)?;
    let is_vector =
        |position: usize| vector_dimension(table_schema.field(position).data_type()).is_some();
    let mut from_parquet: Vec<usize> = projection
        .iter()
        .copied()
        .filter(|&p| !is_vector(p))
        .collect();
    from_parquet.sort_unstable();
    from_parquet.dedup();
    let parquet_batch = if from_parquet.is_empty() {
        None
    } else {
        Some(read_parquet_rows(files, index, rows, &from_parquet)?)
    };
    let columns = projection
        .iter()
        .zip(schema.fields())
        .map(|(&position, field)| {
            let column: ArrayRef = if is_vector(position) {
                let vectors = snapshot
                    .vector_file(
                        table,
                        file,
                        table_schema.field(position).name(),
                        cache_vector_files,
                    )
                    .map_err(external)?;
                vector_rows(&vectors, rows, field.data_type())?
            } else {
                let batch = parquet_batch.as_ref().ok_or_else(|| {
                    DataFusionError::Internal("a projected column was not read".into())
                })?;
                let index = from_parquet.binary_search(&position).map_err(|_| {
                    DataFusionError::Internal("a projected column was not read".into())
                })?;
                Arc::clone(batch.column(index))
            };
            if column.data_type() == field.data_type() {
                Ok(column)
            } else {
                Ok(cast(&column, field.data_type())?)
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// The rows at `rows` of data file `index` of `files`, with the table columns `columns`
/// (ascending), in that order.
fn read_parquet_rows(
    files: &DataFileFooters,
    index: usize,
    rows: &[usize],
    columns: &[usize],
) -> Result<RecordBatch> {
    let file = files.file(index)?;
    let path = files.path(index)?;
    let path = path.as_path();
    let builder = files.reader(index)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
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
    Ok(concat_batches(&read_schema, &batches)?)
}

/// The vectors at `rows` of a flat vector file, as a `FixedSizeList<Float32>` array shaped
/// like `data_type` (NULL where the row's vector is NULL).
fn vector_rows(vectors: &VectorFile, rows: &[usize], data_type: &DataType) -> Result<ArrayRef> {
    let item = match data_type {
        DataType::FixedSizeList(item, _) => Arc::clone(item),
        _ => Arc::new(vector_item_field()),
    };
    let mut values = Vec::with_capacity(rows.len() * vectors.dim());
    let mut valid = BooleanBufferBuilder::new(rows.len());
    for &row in rows {
        values.extend_from_slice(vectors.vector(row));
        valid.append(vectors.is_valid(row));
    }
    let nulls = NullBuffer::new(valid.finish());
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(FixedSizeListArray::try_new(
        item,
        vectors.dim() as i32,
        Arc::new(Float32Array::from(values)),
        nulls,
    )?))
}
