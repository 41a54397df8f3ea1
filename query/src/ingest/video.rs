//! `INGEST VIDEO FROM 'broadcast.mp4'`: one frame every N seconds, decoded by an `ffmpeg`
//! child process.
//!
//! How frames are chosen and read is `video_decoder`'s part.

use std::path::{Path, PathBuf};

use image::RgbImage;
use reeldb_engine::Database;
use reeldb_udf::ModelRegistry;

use super::control::{IngestControl, IngestReport, Skipped};
use super::frame_analysis::analyse_all;
use super::frame_name::video_name;
use super::frame_table::FrameMeta;
use super::frame_writer::FrameWriter;
use super::target::FrameTarget;
use super::video_decoder::FrameDecoder;
use crate::error::{Error, Result};

/// The environment variable that names the ffmpeg to run when no option does.
pub const FFMPEG_ENV: &str = "REELDB_FFMPEG";

/// Decoded frames analysed at once (bounded by pixels too: see [`PIXELS_PER_STEP`]).
const FRAMES_PER_STEP: usize = 32;

/// At most this many decoded pixels are held at once (about 100 MB of RGB).
const PIXELS_PER_STEP: u64 = 32 * 1024 * 1024;

/// How a video is sampled.
#[derive(Debug, Clone)]
pub struct VideoOptions {
    /// Where the rows go and which models embed them.
    pub target: FrameTarget,
    /// Seconds between sampled frames.
    pub every: f64,
    /// The video's id (default: the file name without its extension).
    pub video: Option<String>,
    /// The ffmpeg to run (default: `$REELDB_FFMPEG`, else `ffmpeg` on the `PATH`).
    pub ffmpeg: Option<PathBuf>,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            target: FrameTarget::default(),
            every: 2.0,
            video: None,
            ffmpeg: None,
        }
    }
}

/// Ingests one frame every `options.every` seconds of the video at `path` into `db`, embedded
/// by `models`. Frames already in the table are skipped, so a re-run resumes.
pub async fn ingest_video(
    db: &Database,
    models: &ModelRegistry,
    path: &Path,
    options: &VideoOptions,
    control: &IngestControl,
) -> Result<IngestReport> {
    if !(options.every.is_finite() && options.every > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "every = {} is not a positive number of seconds",
            options.every
        )));
    }
    if !path.is_file() {
        return Err(Error::InvalidArgument(format!(
            "there is no video file '{}'",
            path.display()
        )));
    }
    let table = &options.target.table;
    let mut report = IngestReport::new(table);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let file = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = video_name(&stem);
    if let Some(video) = &options.video {
        name.video = Some(video.clone());
    }
    let video = name.video.clone().unwrap_or(stem);

    let (mut writer, existing) = options.target.open(db, models)?;
    let mut decoder = FrameDecoder::spawn(path, options.every, options.ffmpeg.as_deref())?;

    let mut pending: Vec<(FrameMeta, RgbImage)> = Vec::new();
    let mut pending_pixels = 0u64;
    let mut first_pts = None;
    let mut started = false;
    let mut index = 0i64;
    loop {
        if control.is_cancelled() {
            report.interrupted = true;
            decoder.stop();
            break;
        }
        let Some((pts, image)) = decoder.next_frame()? else {
            break;
        };
        if !started {
            let total = decoder.duration.map(|d| (d / options.every).ceil() as u64);
            control.progress.begin("frames", total);
            started = true;
        }
        // Times are from the first frame, so that transcript times line up whatever the
        // container's start offset.
        let ts = pts - *first_pts.get_or_insert(pts);
        let meta = FrameMeta {
            video: video.clone(),
            frame: Some(index),
            ts: Some(ts),
            time_ms: name
                .start_ms
                .map(|start| start + (ts * 1000.0).round() as i64),
            station: name.station.clone(),
            show: name.show.clone(),
            file: file.clone(),
        };
        index += 1;
        if existing.contains(&meta.key()) {
            report.already_in += 1;
            control.progress.advance(1);
            continue;
        }
        pending_pixels += u64::from(image.width()) * u64::from(image.height());
        pending.push((meta, image));
        if pending.len() >= FRAMES_PER_STEP.min(options.target.commit_every.max(1))
            || pending_pixels >= PIXELS_PER_STEP
        {
            write_step(&mut writer, &mut pending, &mut report, control)?;
            pending_pixels = 0;
            // Lets the shell stop the statement here (see frames_dir).
            tokio::task::yield_now().await;
        }
    }
    write_step(&mut writer, &mut pending, &mut report, control)?;
    report.added = writer.commit()?;
    control.progress.end();
    if let Err(problem) = decoder.finish() {
        if index == 0 {
            return Err(problem);
        }
        // Frames before the damage are kept; say where it stopped.
        report.skipped.push(Skipped {
            file: format!("{file} after {index} frame(s)"),
            reason: problem.to_string(),
        });
    }
    Ok(report)
}

fn write_step(
    writer: &mut FrameWriter,
    pending: &mut Vec<(FrameMeta, RgbImage)>,
    report: &mut IngestReport,
    control: &IngestControl,
) -> Result<()> {
    let step = std::mem::take(pending);
    let count = step.len() as u64;
    let mut frames = Vec::with_capacity(step.len());
    for result in analyse_all(step, Ok, writer.models()) {
        match result {
            Ok(frame) => frames.push(frame),
            Err(failed) => report.skipped.push(Skipped {
                file: format!("{}@{:.3}s", failed.0.file, failed.0.ts.unwrap_or_default()),
                reason: failed.1.to_string(),
            }),
        }
    }
    writer.write(frames)?;
    control.progress.advance(count);
    Ok(())
}
