//! `COPY table FROM 'file'`: loading Parquet, CSV and JSON-lines files into a table.
//!
//! The file is read by DataFusion. Its columns are matched to the table's by name (by position
//! for a CSV file without a header); a nullable column the file lacks is filled with NULL, and
//! a file column the table lacks is an error rather than silently dropped. The engine converts
//! types and checks vectors as for any write. The whole file is one commit, in a transaction
//! the statement begins itself; the file is read with the session's settings, on one
//! partition.

use std::path::Path;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{Column, ScalarValue};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, lit};
use datafusion::prelude::{
    CsvReadOptions, DataFrame, JsonReadOptions, ParquetReadOptions, SessionContext,
};

use super::{StatementContext, count_stream};
use crate::append::append_stream;
use crate::ast::{CopyFrom, OptionValue};
use crate::error::{Error, Result};

/// The formats `COPY FROM` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma- (or otherwise) separated values.
    Csv,
    /// JSON lines: one object per line.
    Json,
}

impl FileFormat {
    /// The format a file name's extension stands for.
    pub fn from_path(path: &str) -> Option<Self> {
        let extension = Path::new(path).extension()?.to_str()?.to_lowercase();
        match extension.as_str() {
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "csv" | "tsv" | "txt" => Some(FileFormat::Csv),
            "json" | "jsonl" | "ndjson" => Some(FileFormat::Json),
            _ => None,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "parquet" => Some(FileFormat::Parquet),
            "csv" => Some(FileFormat::Csv),
            "json" | "jsonl" | "ndjson" => Some(FileFormat::Json),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct CopyOptions {
    format: FileFormat,
    header: bool,
    delimiter: u8,
}

impl CopyOptions {
    fn parse(copy: &CopyFrom) -> Result<Self> {
        let mut format = FileFormat::from_path(&copy.path);
        let mut header = true;
        let mut delimiter = if copy.path.to_lowercase().ends_with(".tsv") {
            b'\t'
        } else {
            b','
        };
        for (name, value) in &copy.options {
            let text = value.as_text().to_lowercase();
            match name.as_str() {
                "format" => {
                    format = Some(FileFormat::from_name(&text).ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "unknown COPY format '{text}'; use parquet, csv or json"
                        ))
                    })?);
                }
                "header" => {
                    header = match text.as_str() {
                        "true" | "1" | "yes" | "on" => true,
                        "false" | "0" | "no" | "off" => false,
                        _ => {
                            return Err(Error::InvalidOption {
                                statement: "COPY".into(),
                                option: "HEADER".into(),
                                value: value.to_string(),
                                expected: "true or false".into(),
                            });
                        }
                    };
                }
                "delimiter" => {
                    let OptionValue::String(s) = value else {
                        return Err(Error::InvalidArgument(
                            "COPY option DELIMITER takes a quoted character, as in DELIMITER ';'"
                                .into(),
                        ));
                    };
                    let s = if s == "\\t" { "\t" } else { s.as_str() };
                    match s.as_bytes() {
                        [b] => delimiter = *b,
                        _ => {
                            return Err(Error::InvalidOption {
                                statement: "COPY".into(),
                                option: "DELIMITER".into(),
                                value: s.to_string(),
                                expected: "one character".into(),
                            });
                        }
                    }
                }
                // Not `Error::UnknownOption`: COPY has always worded this differently from
                // INGEST, and tests hold both wordings.
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown COPY option '{other}'; the options are FORMAT, HEADER and \
                         DELIMITER"
                    )));
                }
            }
        }
        let format = format.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "cannot tell the format of '{}' from its name; add WITH (FORMAT parquet), \
                 (FORMAT csv) or (FORMAT json)",
                copy.path
            ))
        })?;
        Ok(CopyOptions {
            format,
            header,
            delimiter,
        })
    }
}

/// Runs `COPY table FROM 'path'` in a transaction of its own; the result is the `count` of
/// rows loaded.
pub(crate) async fn copy_from(
    cx: &StatementContext<'_>,
    copy: &CopyFrom,
) -> Result<SendableRecordBatchStream> {
    let options = CopyOptions::parse(copy)?;
    let path = Path::new(&copy.path);
    match std::fs::metadata(path) {
        // A Parquet file holds at least its magic bytes and footer: an empty one is a file
        // that was never written (or was cut), not a table of 0 rows (issue 21, item 17).
        Ok(m) if m.is_file() && m.len() == 0 && options.format == FileFormat::Parquet => {
            return Err(Error::InvalidFile {
                path: path.to_path_buf(),
                reason: "is empty (0 bytes), so it is not a Parquet file; was it written \
                         completely?"
                    .into(),
            });
        }
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::InvalidArgument(format!(
                "cannot COPY FROM '{}': it is not a file",
                copy.path
            )));
        }
        Err(cause) => {
            return Err(Error::Io {
                action: "COPY FROM".into(),
                path: path.to_path_buf(),
                cause,
            });
        }
    }
    let txn = cx.db.begin_write()?;
    let table_schema = txn.table(&copy.table)?.schema()?;
    // Read the file in its own order, in one partition: rows keep the file's order, and
    // "row N" in an error is the N-th data row of the file.
    let config = cx
        .state
        .config()
        .clone()
        .with_repartition_file_scans(false)
        .with_target_partitions(1);
    let ctx = SessionContext::new_with_config(config);
    let in_file = |e: datafusion::error::DataFusionError| {
        Error::InvalidArgument(format!("COPY {} FROM '{}': {e}", copy.table, copy.path))
    };
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let frame = match options.format {
        FileFormat::Parquet => ctx
            .read_parquet(
                &copy.path,
                ParquetReadOptions::default().file_extension(&extension),
            )
            .await
            .map_err(in_file)?,
        FileFormat::Csv => {
            let read = CsvReadOptions::new()
                .has_header(options.header)
                .delimiter(options.delimiter)
                .file_extension(&extension);
            // Inference would turn '00123' into 123 and 'TRUE' into true before the table's
            // types are known: read every column as text and let the engine convert it.
            let inferred = ctx
                .read_csv(&copy.path, read.clone())
                .await
                .map_err(in_file)?;
            let text = Schema::new(
                inferred
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            ctx.read_csv(&copy.path, read.schema(&text))
                .await
                .map_err(in_file)?
        }
        FileFormat::Json => {
            let read = JsonReadOptions {
                file_extension: &extension,
                newline_delimited: !starts_with_bracket(path),
                ..Default::default()
            };
            ctx.read_json(&copy.path, read).await.map_err(in_file)?
        }
    };
    let by_position = options.format == FileFormat::Csv && !options.header;
    let frame = match_columns(frame, &table_schema, &copy.table, by_position)?;
    let stream = frame.execute_stream().await.map_err(in_file)?;
    let (txn, rows) = append_stream(txn, &copy.table, stream)
        .await
        .map_err(|e| match e {
            Error::DataFusion(e) => in_file(*e),
            other => other,
        })?;
    txn.commit()?;
    Ok(count_stream(rows))
}

/// Whether a JSON file holds one array (`[{...}, {...}]`) rather than one object per line.
fn starts_with_bracket(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Selects the file's columns in the table's order.
fn match_columns(
    frame: DataFrame,
    table_schema: &Schema,
    table: &str,
    by_position: bool,
) -> Result<DataFrame> {
    let file_fields: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let column = |name: &str| Expr::Column(Column::from_name(name));
    if by_position {
        if file_fields.len() != table_schema.fields().len() {
            return Err(Error::InvalidArgument(format!(
                "the file has {} columns but table '{table}' has {}",
                file_fields.len(),
                table_schema.fields().len()
            )));
        }
        let exprs = file_fields.iter().map(|f| column(f)).collect::<Vec<_>>();
        return Ok(frame.select(exprs)?);
    }
    let mut used = vec![false; file_fields.len()];
    let mut exprs = Vec::with_capacity(table_schema.fields().len());
    for field in table_schema.fields() {
        let position = file_fields
            .iter()
            .position(|f| f == field.name())
            .or_else(|| {
                // A column differing only in case, unless it is taken by an exact match.
                file_fields.iter().enumerate().position(|(i, f)| {
                    f.eq_ignore_ascii_case(field.name())
                        && !table_schema.fields().iter().any(|t| t.name() == f)
                        && !used[i]
                })
            });
        match position {
            Some(i) => {
                used[i] = true;
                exprs.push(column(&file_fields[i]).alias(field.name()));
            }
            None if field.is_nullable() => {
                exprs.push(lit(ScalarValue::Null).alias(field.name()));
            }
            None => {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' of table '{table}' is NOT NULL, but the file has no such column",
                    field.name()
                )));
            }
        }
    }
    let extra: Vec<&str> = file_fields
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(f, _)| f.as_str())
        .collect();
    if !extra.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the file has columns that table '{table}' does not have: {}; add them to the \
             table (CREATE TABLE ... ) or load a file without them",
            extra.join(", ")
        )));
    }
    Ok(frame.select(exprs)?)
}
