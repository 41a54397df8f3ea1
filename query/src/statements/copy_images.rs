//! `COPY (query) TO 'sheets/cluster_{cluster}.png'`: the image cells of a result written as
//! image files, one per row.
//!
//! DataFusion parses the statement (the same `COPY` syntax as for CSV and Parquet) and reeldb
//! takes it over before planning when the target's extension, or `STORED AS`, is `png`,
//! `jpg` or `jpeg`: DataFusion's planner knows only the formats it has writers for, and a
//! file format of its own would have to be a table format too. The query is planned and
//! streamed as any other; each batch's rows are checked, encoded and written under temporary
//! names on all cores (`copy_images/image_writer.rs`), and when every row has been written
//! the files are renamed into place together (`copy_images/staged_files.rs`).
//!
//! - The image is the result's one BLOB column (`Binary`, `LargeBinary` or `BinaryView`), or
//!   the one named `image` among several; the other columns only name the files.
//! - A target without placeholders names one file, so the result must have exactly one row.
//! - Bytes in the target's format are written as they are; PNG becomes JPEG and JPEG PNG.
//! - Every file must lie outside the database directory (`Database::check_outside`).
//! - The statement returns one row per file written: `file`, `bytes`, `converted`.

mod file_pattern;
mod image_encoding;
mod image_writer;
mod staged_files;

use std::path::Path;
use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::parser::{CopyToSource, CopyToStatement, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures::StreamExt;

use self::file_pattern::FilePattern;
pub(crate) use self::image_encoding::ImageFileFormat;
use self::image_writer::ImageWriter;
use self::staged_files::WrittenFile;
use super::StatementContext;
use super::batch_stream;
use super::copy_to::local_path;
use crate::catalog::explain_missing_table;
use crate::error::{Error, Result};
use crate::sql_types::sql_type_name;

/// A `COPY ... TO` whose target is an image file or a pattern of them.
#[derive(Debug)]
pub(crate) struct ImageCopy {
    source: CopyToSource,
    target: String,
    format: ImageFileFormat,
}

impl ImageCopy {
    /// `statement` as a copy to image files, if it is one: a `COPY ... TO` whose `STORED AS`
    /// or, without one, whose target's extension names an image format.
    pub(crate) fn from_statement(statement: &DFStatement) -> Result<Option<Self>> {
        let DFStatement::CopyTo(copy) = statement else {
            return Ok(None);
        };
        let format = match &copy.stored_as {
            Some(stored_as) => ImageFileFormat::from_name(stored_as),
            None => Path::new(&copy.target)
                .extension()
                .and_then(|e| e.to_str())
                .and_then(ImageFileFormat::from_name),
        };
        let Some(format) = format else {
            return Ok(None);
        };
        check_clauses(copy, format)?;
        Ok(Some(ImageCopy {
            source: copy.source.clone(),
            target: copy.target.clone(),
            format,
        }))
    }
}

/// Refuses what an image copy does not take: options, partitions, a remote target.
fn check_clauses(copy: &CopyToStatement, format: ImageFileFormat) -> Result<()> {
    let what = format!("COPY ... TO {} files", format.name());
    if !copy.partitioned_by.is_empty() {
        return Err(Error::Unsupported {
            what: format!("PARTITIONED BY in {what}"),
            hint: "name the files by columns instead, as in 'sheets/{cluster}.png'".into(),
        });
    }
    if let Some((option, _)) = copy.options.first() {
        return Err(Error::Unsupported {
            what: format!("OPTIONS ({option} ...) in {what}"),
            hint: "image files are written as they are stored (or converted at JPEG quality \
                   90); leave the options out"
                .into(),
        });
    }
    if local_path(&copy.target).is_none() {
        return Err(Error::Unsupported {
            what: format!("the target '{}' of {what}", copy.target),
            hint: "image files are written to local paths; give a path".into(),
        });
    }
    Ok(())
}

/// Runs `copy`: plans and streams its query, writes a file per row, and returns the files.
pub(crate) async fn copy_images(
    cx: &StatementContext<'_>,
    copy: ImageCopy,
) -> Result<SendableRecordBatchStream> {
    let query = match copy.source {
        CopyToSource::Query(query) => DFStatement::Statement(Box::new(SqlStatement::Query(query))),
        CopyToSource::Relation(name) => {
            let dialect = cx.state.config().options().sql_parser.dialect;
            cx.state
                .sql_to_statement(&format!("SELECT * FROM {name}"), &dialect)?
        }
    };
    let plan = cx
        .state
        .statement_to_plan(query)
        .await
        .map_err(|e| explain_missing_table(e.into(), cx.snapshot))?;
    let schema = Arc::new(plan.schema().as_arrow().clone());
    let target = local_path(&copy.target).expect("checked when recognised");
    let pattern = FilePattern::parse(target, &schema)?;
    let image_column = image_column(&schema, target)?;
    let single_file = pattern.is_single_file();
    let mut writer = Some(ImageWriter::new(
        cx.db.clone(),
        pattern,
        copy.format,
        &schema,
        image_column,
    ));
    let mut stream = cx.stream_plan(plan).await?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        rows += batch.num_rows() as u64;
        if single_file && rows > 1 {
            // Count the rest for the message; nothing more is written.
            drop(writer.take());
            continue;
        }
        let Some(mut current) = writer.take() else {
            continue;
        };
        // Encoding and syncing are slow: off the async threads. If the statement is
        // dropped meanwhile, the writer is dropped when the batch is done, and with it the
        // temporary files.
        current = tokio::task::spawn_blocking(move || {
            current.write_batch(&batch)?;
            Ok::<_, Error>(current)
        })
        .await
        .map_err(|e| Error::Internal(format!("the image writer stopped: {e}")))??;
        writer = Some(current);
    }
    if single_file && rows != 1 {
        return Err(one_file_needs_one_row(target, rows, &schema, image_column));
    }
    let writer = writer.ok_or_else(|| Error::Internal("the image writer is gone".into()))?;
    let written = tokio::task::spawn_blocking(move || writer.publish())
        .await
        .map_err(|e| Error::Internal(format!("the image writer stopped: {e}")))??;
    batch_stream(written_files(&written)?)
}

/// The column whose cells become the files: the one BLOB column, or the one named `image`.
fn image_column(schema: &Schema, target: &str) -> Result<usize> {
    let blobs: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| {
            matches!(
                schema.field(i).data_type(),
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView
            )
        })
        .collect();
    match blobs[..] {
        [one] => Ok(one),
        [] => {
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("{} {}", f.name(), sql_type_name(f.data_type())))
                .collect();
            Err(Error::InvalidArgument(format!(
                "COPY to '{target}' writes the images of a BLOB column, but the query returns \
                 none (its columns: {}); select the image column (BYTEA), such as a thumbnail",
                columns.join(", ")
            )))
        }
        _ => {
            if let Some(&named) = blobs.iter().find(|&&i| schema.field(i).name() == "image") {
                return Ok(named);
            }
            let names: Vec<&str> = blobs
                .iter()
                .map(|&i| schema.field(i).name().as_str())
                .collect();
            Err(Error::InvalidArgument(format!(
                "COPY to '{target}' writes the images of one BLOB column, but the query returns \
                 {} ({}); select only the one to write, or name it image ({} AS image)",
                names.len(),
                names.join(", "),
                names[0]
            )))
        }
    }
}

/// The error for a one-file target and a result of `rows` rows other than one.
fn one_file_needs_one_row(target: &str, rows: u64, schema: &Schema, image: usize) -> Error {
    if rows == 0 {
        return Error::InvalidArgument(format!(
            "the query returned no rows, so there is no image to write to '{target}'"
        ));
    }
    let column = schema
        .fields()
        .iter()
        .enumerate()
        .find(|(i, _)| *i != image)
        .map_or("id", |(_, f)| f.name().as_str());
    let path = Path::new(target);
    let example = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(extension)) => {
            let file = format!(
                "{}_{{{column}}}.{}",
                stem.to_string_lossy(),
                extension.to_string_lossy()
            );
            path.with_file_name(file).display().to_string()
        }
        _ => format!("{target}_{{{column}}}"),
    };
    Error::InvalidArgument(format!(
        "the query returned {rows} rows, but '{target}' names one file; put a column in the \
         name to write one file per row, as in '{example}'"
    ))
}

/// The statement's result: one row per file written, in the order of the rows.
fn written_files(written: &[WrittenFile]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("converted", DataType::Boolean, false),
    ]));
    let files: StringArray = written.iter().map(|w| Some(w.file.as_str())).collect();
    let bytes: UInt64Array = written.iter().map(|w| Some(w.bytes)).collect();
    let converted: BooleanArray = written.iter().map(|w| Some(w.converted)).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![Arc::new(files), Arc::new(bytes), Arc::new(converted)],
    )?)
}
