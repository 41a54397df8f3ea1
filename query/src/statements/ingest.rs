//! `INGEST ... FROM 'path' WITH (...)`: the statement's options checked and turned into the
//! options of the `ingest` module, which does the work (with the statement's database, models
//! and progress sink), and its report turned into a result row.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::SendableRecordBatchStream;

use super::{StatementContext, batch_stream};
use crate::ast::{Ingest, IngestKind, OptionValue};
use crate::error::{Error, Result};
use crate::ingest::control::report_details;
use crate::ingest::{
    Alignment, EmbeddingsOptions, FFMPEG_ENV, FrameTarget, FramesOptions, IngestControl,
    IngestReport, NamingScheme, TranscriptFormat, TranscriptOptions, VideoOptions,
    ingest_embeddings, ingest_frames, ingest_transcript, ingest_video, parse_seconds,
};

/// The options each kind takes.
fn known_options(kind: IngestKind) -> &'static [&'static str] {
    match kind {
        IngestKind::Frames => &[
            "interval",
            "pattern",
            "video",
            "model",
            "table",
            "commit_every",
        ],
        IngestKind::Video => &["every", "video", "model", "table", "commit_every"],
        IngestKind::Transcript => &[
            "video",
            "format",
            "align",
            "frames_table",
            "segments_table",
            "text_table",
        ],
        IngestKind::Embeddings => &["column", "table", "model", "ids"],
    }
}

/// Carries out an `INGEST` statement, with progress going where the session sends it; the
/// result is the report's row.
pub(crate) async fn run_ingest(
    cx: &StatementContext<'_>,
    statement: &Ingest,
) -> Result<SendableRecordBatchStream> {
    let options = Options::new(statement)?;
    let (db, models) = (cx.db, cx.models.as_ref());
    let control = &IngestControl {
        progress: Arc::clone(&cx.progress),
        ..IngestControl::default()
    };
    let path = Path::new(&statement.path);
    let report = match statement.kind {
        IngestKind::Frames => {
            let mut frames = FramesOptions {
                target: options.target()?,
                ..FramesOptions::default()
            };
            if let Some(interval) = options.text("interval") {
                frames.interval = Some(parse_seconds(&interval)?);
            }
            if let Some(pattern) = options.text("pattern") {
                frames.naming = NamingScheme::pattern(&pattern)?;
            }
            frames.video = options.text("video");
            ingest_frames(db, models, path, &frames, control).await?
        }
        IngestKind::Video => {
            let mut video = VideoOptions {
                target: options.target()?,
                ..VideoOptions::default()
            };
            if let Some(every) = options.text("every") {
                video.every = parse_seconds(&every)?;
            }
            video.video = options.text("video");
            ingest_video(db, models, path, &video, control).await?
        }
        IngestKind::Transcript => {
            let mut transcript = TranscriptOptions {
                video: options.text("video"),
                ..TranscriptOptions::default()
            };
            if let Some(format) = options.text("format") {
                transcript.format = Some(TranscriptFormat::parse(&format)?);
            }
            if let Some(align) = options.text("align") {
                transcript.align = Alignment::parse(&align)?;
            }
            if let Some(table) = options.text("frames_table") {
                transcript.frames_table = table;
            }
            if let Some(table) = options.text("segments_table") {
                transcript.segments_table = table;
            }
            if let Some(table) = options.text("text_table") {
                transcript.frame_text_table = table;
            }
            ingest_transcript(db, path, &transcript).await?
        }
        IngestKind::Embeddings => {
            let mut embeddings = EmbeddingsOptions {
                model: options.text("model"),
                ids: options.text("ids").map(PathBuf::from),
                ..EmbeddingsOptions::default()
            };
            if let Some(column) = options.text("column") {
                embeddings.column = column;
            }
            if let Some(table) = options.text("table") {
                embeddings.table = table;
            }
            ingest_embeddings(db, models, path, &embeddings).await?
        }
    };
    batch_stream(report_batch(&report)?)
}

/// The options of one statement, checked against the ones its kind takes.
struct Options<'a> {
    options: &'a [(String, OptionValue)],
}

impl<'a> Options<'a> {
    fn new(statement: &'a Ingest) -> Result<Self> {
        let known = known_options(statement.kind);
        for (position, (name, _)) in statement.options.iter().enumerate() {
            if statement.kind == IngestKind::Video && name == "ffmpeg" {
                // Issue 21, item 16: a statement could name any program to run.
                return Err(Error::Unsupported {
                    what: "choosing the ffmpeg program in SQL".into(),
                    hint: format!(
                        "a statement must not pick a program to run; set the environment \
                         variable {FFMPEG_ENV} (or `reeldb ingest ... --ffmpeg PATH`) instead"
                    ),
                });
            }
            if !known.contains(&name.as_str()) {
                return Err(Error::UnknownOption {
                    statement: format!("INGEST {}", statement.kind.keyword()),
                    option: name.clone(),
                    known: known.iter().map(|k| k.to_string()).collect(),
                });
            }
            if statement.options[..position].iter().any(|(n, _)| n == name) {
                return Err(Error::DuplicateOption {
                    option: name.clone(),
                });
            }
        }
        Ok(Options {
            options: &statement.options,
        })
    }

    fn text(&self, name: &str) -> Option<String> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_text())
    }

    /// `table`, `model` (a comma-separated list) and `commit_every`.
    fn target(&self) -> Result<FrameTarget> {
        let mut target = FrameTarget::default();
        if let Some(table) = self.text("table") {
            target.table = table;
        }
        if let Some(models) = self.text("model") {
            target.models = models
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
        }
        if let Some(every) = self.text("commit_every") {
            target.commit_every =
                every
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "commit_every = {every}: give a whole number of frames above 0"
                        ))
                    })?;
        }
        Ok(target)
    }
}

/// One row: the table, the counts, and the details (skipped files and notes, one per line).
fn report_batch(report: &IngestReport) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("added", DataType::UInt64, false),
        Field::new("already_in", DataType::UInt64, false),
        Field::new("skipped", DataType::UInt64, false),
        Field::new("details", DataType::Utf8, false),
    ]));
    let details = report_details(&report.skipped, report.interrupted, &report.notes);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![report.table.as_str()])),
        Arc::new(UInt64Array::from(vec![report.added])),
        Arc::new(UInt64Array::from(vec![report.already_in])),
        Arc::new(UInt64Array::from(vec![report.skipped.len() as u64])),
        Arc::new(StringArray::from(vec![details])),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
