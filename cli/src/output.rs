//! Printing results: table, CSV, JSON, JSON lines, Markdown and Parquet.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use parquet::arrow::ArrowWriter;
use reeldb_query::{flatten_for_text, vector_previews};

use crate::args::Format;

/// Set when a write to standard output found the reader gone (`reeldb ... | head`). Writers
/// such as Arrow's CSV writer turn that error into text, so it is recorded where it happens.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether standard output was closed by its reader.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output that records a closed pipe; see [`stdout_closed`].
pub struct Stdout(std::io::StdoutLock<'static>);

impl Stdout {
    /// Locks standard output.
    pub fn lock() -> Self {
        Stdout(std::io::stdout().lock())
    }

    fn note<T>(result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::note(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Self::note(self.0.flush())
    }
}

/// In table mode, at most this many rows are drawn; the rest are counted.
pub const TABLE_ROW_LIMIT: usize = 200;
/// Longer text is cut in table mode.
const CELL_WIDTH: usize = 60;

/// Writes a result, batch by batch, in one of the output formats. Only table mode keeps
/// rows in memory (at most [`TABLE_ROW_LIMIT`]); every other format streams, so exporting a
/// large result takes little memory.
pub struct ResultWriter<'a> {
    state: State<'a>,
}

enum State<'a> {
    Table {
        out: &'a mut dyn Write,
        schema: Option<SchemaRef>,
        batches: Vec<RecordBatch>,
        kept: usize,
        total: usize,
    },
    Markdown {
        out: &'a mut dyn Write,
    },
    Csv(arrow::csv::Writer<&'a mut dyn Write>),
    Json(arrow::json::ArrayWriter<&'a mut dyn Write>),
    Jsonl(arrow::json::LineDelimitedWriter<&'a mut dyn Write>),
    Parquet {
        path: PathBuf,
        writer: Option<ArrowWriter<std::fs::File>>,
    },
    /// Discards everything (the statements before the last one in `reeldb query`).
    Discard,
}

impl<'a> ResultWriter<'a> {
    /// A writer of `format` to `out`; Parquet goes to `file`, which it needs.
    pub fn new(format: Format, out: &'a mut dyn Write, file: Option<&Path>) -> Result<Self> {
        let state = match format {
            Format::Table => State::Table {
                out,
                schema: None,
                batches: Vec::new(),
                kept: 0,
                total: 0,
            },
            Format::Markdown => State::Markdown { out },
            Format::Csv => State::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(out),
            ),
            Format::Json => State::Json(arrow::json::ArrayWriter::new(out)),
            Format::Jsonl => State::Jsonl(arrow::json::LineDelimitedWriter::new(out)),
            Format::Parquet => match file {
                Some(path) => State::Parquet {
                    path: path.to_path_buf(),
                    writer: None,
                },
                None => bail!("Parquet output needs a file: add --output FILE"),
            },
        };
        Ok(ResultWriter { state })
    }

    /// A writer that prints nothing.
    pub fn discard() -> Self {
        ResultWriter {
            state: State::Discard,
        }
    }

    /// Starts a result with `schema`.
    pub fn begin(&mut self, result_schema: &SchemaRef) -> Result<()> {
        match &mut self.state {
            State::Table { schema, .. } => *schema = Some(Arc::clone(result_schema)),
            State::Markdown { out } => {
                let flat = flatten_for_text(&RecordBatch::new_empty(Arc::clone(result_schema)))?;
                write_markdown_header(*out, flat.schema_ref())?
            }
            State::Parquet { path, writer } => {
                let file = std::fs::File::create(&*path)
                    .with_context(|| format!("cannot create '{}'", path.display()))?;
                *writer = Some(ArrowWriter::try_new(file, Arc::clone(result_schema), None)?);
            }
            State::Csv(_) | State::Json(_) | State::Jsonl(_) | State::Discard => {}
        }
        Ok(())
    }

    /// Writes one batch of the result.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.state {
            State::Table {
                batches,
                kept,
                total,
                ..
            } => {
                *total += batch.num_rows();
                let take = (TABLE_ROW_LIMIT - *kept).min(batch.num_rows());
                if take > 0 {
                    *kept += take;
                    batches.push(batch.slice(0, take));
                }
            }
            State::Markdown { out } => write_markdown_rows(*out, &flatten_for_text(batch)?)?,
            State::Csv(writer) => writer.write(&flatten_for_text(batch)?)?,
            State::Json(writer) => writer.write(batch)?,
            State::Jsonl(writer) => writer.write(batch)?,
            State::Parquet { writer, .. } => {
                if let Some(writer) = writer {
                    writer.write(batch)?;
                }
            }
            State::Discard => {}
        }
        Ok(())
    }

    /// Ends the result: draws the table, closes the JSON array or the Parquet file.
    pub fn finish(self) -> Result<()> {
        match self.state {
            State::Table {
                out,
                schema,
                batches,
                total,
                ..
            } => {
                if let Some(schema) = schema {
                    write_table(out, &schema, &batches, total)?;
                }
            }
            State::Json(mut writer) => writer.finish()?,
            State::Jsonl(mut writer) => writer.finish()?,
            State::Parquet { writer, .. } => {
                if let Some(writer) = writer {
                    writer.close()?;
                }
            }
            State::Markdown { .. } | State::Csv(_) | State::Discard => {}
        }
        Ok(())
    }
}

fn write_table(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    total_rows: usize,
) -> Result<()> {
    if schema.fields().is_empty() {
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(schema.fields().iter().map(|f| f.name().clone()));
    let mut shown = 0;
    for batch in batches {
        let cells = format_columns(batch, true)?;
        for row in 0..batch.num_rows() {
            if shown == TABLE_ROW_LIMIT {
                break;
            }
            table.add_row(cells.iter().map(|c| c[row].clone()));
            shown += 1;
        }
    }
    for (i, field) in schema.fields().iter().enumerate() {
        if field.data_type().is_numeric()
            && let Some(column) = table.column_mut(i)
        {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{table}")?;
    let noun = if total_rows == 1 { "row" } else { "rows" };
    if total_rows > shown {
        writeln!(
            out,
            "{total_rows} {noun} ({shown} shown; use LIMIT, or .mode csv to see all)"
        )?;
    } else {
        writeln!(out, "{total_rows} {noun}")?;
    }
    Ok(())
}

fn write_markdown_header(out: &mut dyn Write, schema: &SchemaRef) -> Result<()> {
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| escape_markdown(f.name()))
        .collect();
    writeln!(out, "| {} |", names.join(" | "))?;
    let rule: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.data_type().is_numeric() {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    writeln!(out, "| {} |", rule.join(" | "))?;
    Ok(())
}

fn write_markdown_rows(out: &mut dyn Write, batch: &RecordBatch) -> Result<()> {
    let cells = format_columns(batch, false)?;
    for row in 0..batch.num_rows() {
        let values: Vec<String> = cells.iter().map(|c| escape_markdown(&c[row])).collect();
        writeln!(out, "| {} |", values.join(" | "))?;
    }
    Ok(())
}

fn escape_markdown(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Formats every cell of `batch` as text, column by column.
fn format_columns(batch: &RecordBatch, cut: bool) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL");
    batch
        .columns()
        .iter()
        .map(|column| {
            if let Some(previews) = vector_previews(column) {
                return Ok(previews);
            }
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            Ok((0..column.len())
                .map(|row| {
                    let text = formatter.value(row).to_string();
                    if cut && text.chars().count() > CELL_WIDTH {
                        let head: String = text.chars().take(CELL_WIDTH - 1).collect();
                        format!("{head}…")
                    } else {
                        text
                    }
                })
                .collect())
        })
        .collect()
}
