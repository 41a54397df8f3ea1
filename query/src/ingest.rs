//! Ingest: frames, videos, transcripts and precomputed embeddings into tables.
//!
//! Each kind has one entry point, used by the `INGEST ...` statements and by `reeldb ingest`:
//! [`ingest_frames`], [`ingest_video`], [`ingest_transcript`], [`ingest_embeddings`]. Each
//! takes the database it writes and, where frames are embedded or a model is named, the
//! [`ModelRegistry`](reeldb_udf::ModelRegistry) to find models in (a session's:
//! `Session::database`, `Session::models`). What ingest reads back (the keys of the frames
//! already in a table, a video's frame times) it reads from the snapshot's Parquet files.
//!
//! Frames go through one pipeline whatever their source (`frames_dir`, `video`): decode,
//! then on all cores size, perceptual hash, thumbnail and the models' inputs
//! (`frame_analysis`), then one batched call per model, then an append (`frame_writer`),
//! with a commit every few hundred frames. Invariants:
//! - **Bounded memory**: a step holds at most a few dozen decoded frames; the file list is
//!   the only thing that grows with the input.
//! - **Idempotent**: a frame is identified by `(video, file, frame)`; a re-run skips those
//!   already committed, so an interrupted ingest (Ctrl-C, a crash) resumes where its last
//!   commit ended, with nothing twice.
//! - **Robust**: an unreadable file is reported with its reason and skipped; the rest is
//!   committed.

mod alignment;
pub(crate) mod control;
mod demo;
mod embeddings_file;
mod embeddings_ingest;
mod frame_analysis;
mod frame_name;
pub(crate) mod frame_table;
mod frame_writer;
mod frames_dir;
mod photo_numbering;
pub(crate) mod table_rows;
mod target;
mod transcript;
mod transcript_ingest;
mod video;
pub(crate) mod video_decoder;

pub use alignment::Alignment;
pub use control::{IngestControl, IngestReport, NoProgress, Progress, Skipped};
pub use demo::{
    BROADCAST_REPORT, DEMO_FRAMES, DEMO_INTERVAL, DEMO_VIDEO, DemoReport, build_demo,
    render_demo_broadcast, write_broadcast_report,
};
pub use embeddings_file::{ImportedVectors, NAME_KEYS, VECTOR_KEYS, read_embeddings};
pub use embeddings_ingest::{EmbeddingsOptions, ingest_embeddings};
pub use frame_name::NamingScheme;
pub use frame_table::{DEFAULT_FRAMES_TABLE, THUMBNAIL_SIDE, frames_schema};
pub use frame_writer::DEFAULT_COMMIT_EVERY;
pub use frames_dir::{FramesOptions, ingest_frames};
pub use target::FrameTarget;
pub use transcript::{Segment, TranscriptFormat, parse_transcript};
pub use transcript_ingest::{
    DEFAULT_FRAME_TEXT_TABLE, DEFAULT_SEGMENTS_TABLE, TranscriptOptions, ingest_transcript,
};
pub use video::{FFMPEG_ENV, VideoOptions, ingest_video};

use crate::error::{Error, Result};

/// Parses a duration: `4s`, `2.5s`, `500ms`, `1m`, `1h`, or a plain number of seconds.
pub fn parse_seconds(text: &str) -> Result<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("min") {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "'{text}' is not a duration: write seconds like '4s', '2.5s' or '500ms'"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_seconds("4s").unwrap(), 4.0);
        assert_eq!(parse_seconds("500ms").unwrap(), 0.5);
        assert_eq!(parse_seconds("1m").unwrap(), 60.0);
        assert_eq!(parse_seconds("2.5").unwrap(), 2.5);
        assert!(parse_seconds("0s").is_err());
        assert!(
            parse_seconds("fast")
                .unwrap_err()
                .to_string()
                .contains("'4s'")
        );
    }
}
