//! Parquet data files: how the engine writes them and reads them back.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::vector::vector_dimension;

/// Bytes of buffered data at which a row group is closed. ArrowWriter keeps a whole row group
/// in memory, so this bounds a writer's memory; 64 MiB row groups also prune well.
const ROW_GROUP_TARGET_BYTES: usize = 64 * 1024 * 1024;

/// The Parquet writer properties for a table with `schema`.
///
/// Row groups are closed by size, not by row count (a 512-d vector row is 2 KiB, an id row 8
/// bytes). Vector columns get neither dictionaries nor statistics: neither helps dense floats.
pub fn writer_properties(schema: &SchemaRef) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_bytes(Some(ROW_GROUP_TARGET_BYTES));
    for field in schema.fields() {
        if vector_dimension(field.data_type()).is_some() {
            let path = ColumnPath::new(vec![
                field.name().clone(),
                "list".to_string(),
                "item".to_string(),
            ]);
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    builder.build()
}

/// A Parquet file being written by a transaction.
pub(crate) struct DataFileWriter {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the database root, as the manifest records it.
    pub relative: String,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl DataFileWriter {
    pub fn create(path: PathBuf, relative: String, schema: &SchemaRef) -> Result<Self> {
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let writer =
            ArrowWriter::try_new(file, Arc::clone(schema), Some(writer_properties(schema)))
                .map_err(|cause| Error::Parquet {
                    path: path.clone(),
                    cause,
                })?;
        Ok(DataFileWriter {
            path,
            relative,
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(|cause| Error::Parquet {
            path: self.path.clone(),
            cause,
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Bytes written so far, counting data buffered for the open row group.
    pub fn approximate_size(&self) -> usize {
        self.writer.bytes_written() + self.writer.in_progress_size()
    }

    /// Writes the footer and syncs the file; returns (rows, bytes).
    pub fn finish(self) -> Result<(u64, u64)> {
        let path = self.path;
        self.writer.close().map_err(|cause| Error::Parquet {
            path: path.clone(),
            cause,
        })?;
        crate::crash::crash_point("data-file-written");
        crate::fs::sync_file(&path)?;
        let bytes = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        Ok((self.rows, bytes))
    }
}

/// Reads a whole data file, batch by batch. Errors name the file.
pub fn read_data_file(path: &Path) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(|e| Error::corrupt(path, format!("cannot read Parquet data: {e}")))?;
    let path = path.to_path_buf();
    Ok(reader.map(move |batch| {
        batch.map_err(|e| Error::corrupt(&path, format!("cannot read Parquet data: {e}")))
    }))
}
