//! `INGEST TRANSCRIPT FROM 'broadcast.vtt' WITH (video = '...')`: a transcript's segments,
//! and their alignment with the video's frames.
//!
//! Two tables (names are options):
//! - `segments (video, segment, start_ts, end_ts, text)`: the transcript as given, in time
//!   order; `end_ts` is NULL where the file gives only start times.
//! - `frame_text (video, frame, ts, segment, text)`: the text that goes with each frame, as
//!   the alignment method decides; join it with `frames` on `(video, frame)`.
//!
//! Re-ingesting a video's transcript replaces its rows in both, in one commit.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use reeldb_engine::{Database, Snapshot};

use super::alignment::{Alignment, align, ordered};
use super::control::IngestReport;
use super::frame_table::{DEFAULT_FRAMES_TABLE, first_videos, frame_times};
use super::table_rows::{ensure_table, remove_video_rows};
use super::transcript::{TranscriptFormat, parse_transcript};
use crate::error::{Error, Result};

/// The default table of transcript segments.
pub const DEFAULT_SEGMENTS_TABLE: &str = "segments";
/// The default table of frame-aligned text.
pub const DEFAULT_FRAME_TEXT_TABLE: &str = "frame_text";

/// How a transcript is read and aligned.
#[derive(Debug, Clone)]
pub struct TranscriptOptions {
    /// The video the transcript belongs to (default: the file name without its extension).
    pub video: Option<String>,
    /// The format (default: from the file's extension).
    pub format: Option<TranscriptFormat>,
    /// How segments are matched to frames.
    pub align: Alignment,
    /// The table holding the video's frames.
    pub frames_table: String,
    /// The table the segments go to.
    pub segments_table: String,
    /// The table the aligned text goes to.
    pub frame_text_table: String,
}

impl Default for TranscriptOptions {
    fn default() -> Self {
        TranscriptOptions {
            video: None,
            format: None,
            align: Alignment::Nearest,
            frames_table: DEFAULT_FRAMES_TABLE.into(),
            segments_table: DEFAULT_SEGMENTS_TABLE.into(),
            frame_text_table: DEFAULT_FRAME_TEXT_TABLE.into(),
        }
    }
}

/// Reads the transcript at `path`, aligns it with its video's frames in `db` and stores both.
pub async fn ingest_transcript(
    db: &Database,
    path: &Path,
    options: &TranscriptOptions,
) -> Result<IngestReport> {
    let format = match options.format {
        Some(format) => format,
        None => TranscriptFormat::from_path(path)?,
    };
    let text = fs::read_to_string(path).map_err(|cause| Error::Io {
        action: "read the transcript".into(),
        path: path.to_path_buf(),
        cause,
    })?;
    let segments = parse_transcript(&text, format)
        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    let video = match &options.video {
        Some(video) => video.clone(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::InvalidArgument("name the transcript's video (video = '...')".into())
            })?,
    };
    let snapshot = db.snapshot()?;
    let frames = frame_times(&snapshot, &options.frames_table, &video)?;
    if frames.is_empty() {
        return Err(no_frames_error(&snapshot, &options.frames_table, &video));
    }
    let aligned = align(&segments, &frames, options.align);

    let mut txn = db.begin_write()?;
    let segments_schema = segments_schema();
    let text_schema = frame_text_schema();
    ensure_table(&mut txn, &options.segments_table, &segments_schema)?;
    ensure_table(&mut txn, &options.frame_text_table, &text_schema)?;
    let replaced = remove_video_rows(&mut txn, &options.segments_table, &video)?;
    remove_video_rows(&mut txn, &options.frame_text_table, &video)?;

    let order = ordered(&segments);
    let count = order.len();
    let video_column =
        |rows: usize| -> ArrayRef { Arc::new(StringArray::from(vec![video.as_str(); rows])) };
    let segments_batch = RecordBatch::try_new(
        segments_schema,
        vec![
            video_column(count),
            Arc::new(Int64Array::from_iter_values(0..count as i64)),
            Arc::new(
                order
                    .iter()
                    .map(|(start, _, _)| *start)
                    .collect::<Float64Array>(),
            ),
            Arc::new(
                order
                    .iter()
                    .map(|(_, _, s)| s.end)
                    .collect::<Float64Array>(),
            ),
            Arc::new(StringArray::from_iter_values(
                order.iter().map(|(_, _, s)| s.text.as_str()),
            )),
        ],
    )?;
    let text_batch = RecordBatch::try_new(
        text_schema,
        vec![
            video_column(aligned.len()),
            Arc::new(aligned.iter().map(|a| a.frame).collect::<Int64Array>()),
            Arc::new(aligned.iter().map(|a| a.ts).collect::<Float64Array>()),
            Arc::new(
                aligned
                    .iter()
                    .map(|a| a.segment as i64)
                    .collect::<Int64Array>(),
            ),
            Arc::new(StringArray::from_iter_values(
                aligned.iter().map(|a| a.text.as_str()),
            )),
        ],
    )?;
    txn.append(&options.segments_table, &segments_batch)?;
    txn.append(&options.frame_text_table, &text_batch)?;
    txn.commit()?;

    let mut report = IngestReport::new(&options.segments_table);
    report.added = count as u64;
    let framed: std::collections::HashSet<i64> = aligned.iter().map(|a| a.frame).collect();
    report.notes.push(format!(
        "{} row(s) of text on {} of the {} frames of '{video}' in {} ({} alignment)",
        aligned.len(),
        framed.len(),
        frames.len(),
        options.frame_text_table,
        match options.align {
            Alignment::Nearest => "nearest",
            Alignment::Uniform => "uniform",
        }
    ));
    if replaced > 0 {
        report.notes.push(format!(
            "replaced the {replaced} segment(s) an earlier ingest stored for '{video}'"
        ));
    }
    let last_frame = frames.last().map_or(0.0, |(_, ts)| *ts);
    let beyond = segments
        .iter()
        .filter(|s| s.start > last_frame + 60.0)
        .count();
    if beyond > 0 {
        report.notes.push(format!(
            "{beyond} segment(s) start more than a minute after the last frame ({last_frame:.1} s): \
             is this the transcript of '{video}'?"
        ));
    }
    Ok(report)
}

fn segments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("video", DataType::Utf8, true),
        Field::new("segment", DataType::Int64, true),
        Field::new("start_ts", DataType::Float64, true),
        Field::new("end_ts", DataType::Float64, true),
        Field::new("text", DataType::Utf8, true),
    ]))
}

fn frame_text_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("video", DataType::Utf8, true),
        Field::new("frame", DataType::Int64, true),
        Field::new("ts", DataType::Float64, true),
        Field::new("segment", DataType::Int64, true),
        Field::new("text", DataType::Utf8, true),
    ]))
}

/// The error for a video without timed frames, naming the videos there are.
fn no_frames_error(snapshot: &Snapshot, table: &str, video: &str) -> Error {
    let videos = first_videos(snapshot, table, 6).unwrap_or_default();
    let there = if videos.is_empty() {
        "it has none".to_string()
    } else {
        format!("it has {}", videos.join(", "))
    };
    Error::InvalidArgument(format!(
        "table '{table}' has no frames with times of video '{video}' ({there}): ingest the \
         video's frames first (with an interval, so that frames have times), or name the video \
         with video = '...'"
    ))
}
