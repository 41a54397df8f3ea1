//! Running a report's statements: each on the pinned snapshot, its first rows kept for the
//! page, its whole result streamed into the files its block asks for.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use super::document::{BoundStatement, ResultFormat};
use crate::error::{Error, Result};
use crate::session::PinnedSession;
use crate::text_columns::flatten_for_text;

/// What one statement gave.
#[derive(Debug, Clone)]
pub(crate) struct StatementResult {
    /// The statement.
    pub(crate) statement: BoundStatement,
    /// Its result's schema (no fields for `SET`).
    pub(crate) schema: SchemaRef,
    /// The rows shown in the page: at most `statement.rows_shown`.
    pub(crate) shown: Vec<RecordBatch>,
    /// Every row of the result.
    pub(crate) total_rows: usize,
    /// The files written, by name, in the order the statement lists them.
    pub(crate) files: Vec<String>,
}

impl StatementResult {
    /// Rows in [`StatementResult::shown`].
    pub(crate) fn shown_rows(&self) -> usize {
        self.shown.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Runs `statement` on `pinned`, writing its result files into `dir`.
pub(crate) async fn run_statement(
    pinned: &PinnedSession,
    statement: &BoundStatement,
    dir: &Path,
) -> Result<StatementResult> {
    let mut stream = pinned.execute(&statement.sql).await?;
    let schema = stream.schema();
    // A result with no columns (`SET`) has nothing to write.
    let wanted = if schema.fields().is_empty() {
        &[][..]
    } else {
        &statement.files[..]
    };
    let mut writers = wanted
        .iter()
        .map(|file| ResultWriter::create(&dir.join(&file.name), file.format, &schema))
        .collect::<Result<Vec<_>>>()?;
    let mut shown = Vec::new();
    let mut kept = 0;
    let mut total_rows = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        total_rows += batch.num_rows();
        let take = (statement.rows_shown - kept).min(batch.num_rows());
        if take > 0 {
            kept += take;
            shown.push(batch.slice(0, take));
        }
        for writer in &mut writers {
            writer.write(&batch)?;
        }
    }
    for writer in writers {
        writer.finish()?;
    }
    Ok(StatementResult {
        statement: statement.clone(),
        schema,
        shown,
        total_rows,
        files: wanted.iter().map(|f| f.name.clone()).collect(),
    })
}

/// A result file being written.
enum ResultWriter {
    Csv {
        path: std::path::PathBuf,
        writer: arrow::csv::Writer<BufWriter<File>>,
    },
    Parquet {
        path: std::path::PathBuf,
        writer: ArrowWriter<File>,
    },
}

impl ResultWriter {
    fn create(path: &Path, format: ResultFormat, schema: &SchemaRef) -> Result<Self> {
        let io = |cause| Error::Io {
            action: "create".into(),
            path: path.to_path_buf(),
            cause,
        };
        let file = File::create(path).map_err(io)?;
        Ok(match format {
            ResultFormat::Csv => {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(BufWriter::new(file));
                // The header, even for a result without rows.
                writer.write(&flatten_for_text(&RecordBatch::new_empty(Arc::clone(
                    schema,
                )))?)?;
                ResultWriter::Csv {
                    path: path.to_path_buf(),
                    writer,
                }
            }
            ResultFormat::Parquet => ResultWriter::Parquet {
                path: path.to_path_buf(),
                writer: ArrowWriter::try_new(file, Arc::clone(schema), None)
                    .map_err(|e| write_error(path, e.to_string()))?,
            },
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            ResultWriter::Csv { writer, .. } => writer.write(&flatten_for_text(batch)?)?,
            ResultWriter::Parquet { path, writer } => writer
                .write(batch)
                .map_err(|e| write_error(path, e.to_string()))?,
        }
        Ok(())
    }

    /// Closes the file and syncs it to disk.
    fn finish(self) -> Result<()> {
        let (path, file) = match self {
            ResultWriter::Csv { path, writer } => {
                let file = writer
                    .into_inner()
                    .into_inner()
                    .map_err(|e| write_error(&path, e.error().to_string()))?;
                (path, file)
            }
            ResultWriter::Parquet { path, writer } => {
                let file = writer
                    .into_inner()
                    .map_err(|e| write_error(&path, e.to_string()))?;
                (path, file)
            }
        };
        let mut file = file;
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(|cause| Error::Io {
                action: "write".into(),
                path,
                cause,
            })
    }
}

fn write_error(path: &Path, reason: String) -> Error {
    Error::Io {
        action: "write".into(),
        path: path.to_path_buf(),
        cause: std::io::Error::other(reason),
    }
}
