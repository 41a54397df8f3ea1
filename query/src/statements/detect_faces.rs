//! `DETECT FACES IN frames USING detector [, encoder] INTO faces [WITH (...)]`: the options
//! checked and turned into [`FaceOptions`], the scan run by the `faces` module with the
//! statement's database, models and progress sink, and its report turned into a result row.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::SendableRecordBatchStream;

use super::{StatementContext, batch_stream};
use crate::ast::DetectFaces;
use crate::error::{Error, Result};
use crate::faces::{FaceOptions, FaceReport, SourcePreference, detect_faces};
use crate::ingest::control::report_details;
use crate::ingest::{FFMPEG_ENV, IngestControl};

/// The options the statement takes.
const KNOWN_OPTIONS: &[&str] = &["root", "source", "commit_every"];

/// Carries out a `DETECT FACES` statement; the result is the report's row.
pub(crate) async fn run_detect_faces(
    cx: &StatementContext<'_>,
    statement: &DetectFaces,
) -> Result<SendableRecordBatchStream> {
    let options = face_options(statement)?;
    let control = IngestControl {
        progress: Arc::clone(&cx.progress),
        ..IngestControl::default()
    };
    let report = detect_faces(cx.db, cx.models.as_ref(), &options, &control).await?;
    batch_stream(report_batch(&report)?)
}

/// The statement's options, checked.
fn face_options(statement: &DetectFaces) -> Result<FaceOptions> {
    let mut options = FaceOptions::new(
        &statement.frames,
        &statement.detector,
        statement.encoder.as_deref(),
        &statement.into,
    );
    for (position, (name, value)) in statement.options.iter().enumerate() {
        if statement.options[..position].iter().any(|(n, _)| n == name) {
            return Err(Error::DuplicateOption {
                option: name.clone(),
            });
        }
        let text = value.as_text();
        match name.as_str() {
            "root" => options.root = Some(PathBuf::from(text)),
            "source" => options.source = SourcePreference::parse(&text)?,
            "commit_every" => {
                options.commit_every =
                    text.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "commit_every = {text}: give a whole number of frames above 0"
                            ))
                        })?;
            }
            "ffmpeg" => {
                return Err(Error::Unsupported {
                    what: "choosing the ffmpeg program in SQL".into(),
                    hint: format!(
                        "a statement must not pick a program to run; set the environment \
                         variable {FFMPEG_ENV} (or `reeldb faces ... --ffmpeg PATH`) instead"
                    ),
                });
            }
            _ => {
                return Err(Error::UnknownOption {
                    statement: "DETECT FACES".into(),
                    option: name.clone(),
                    known: KNOWN_OPTIONS.iter().map(|k| k.to_string()).collect(),
                });
            }
        }
    }
    Ok(options)
}

/// One row: the table, the counts, and the details (skipped frames and notes, one per line).
fn report_batch(report: &FaceReport) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("frames", DataType::UInt64, false),
        Field::new("faces", DataType::UInt64, false),
        Field::new("already_done", DataType::UInt64, false),
        Field::new("skipped", DataType::UInt64, false),
        Field::new("details", DataType::Utf8, false),
    ]));
    let details = report_details(&report.skipped, report.interrupted, &report.notes);
    let count = |n: u64| -> ArrayRef { Arc::new(UInt64Array::from(vec![n])) };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![report.table.as_str()])),
        count(report.frames),
        count(report.faces),
        count(report.already_done),
        count(report.skipped.len() as u64),
        Arc::new(StringArray::from(vec![details])),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
