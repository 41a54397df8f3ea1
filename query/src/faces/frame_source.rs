//! Where the images of a frames table's frames come from, and a thread that decodes them
//! ahead of the detector.
//!
//! A frame's faces are looked for in the best image there is:
//! - an ingested image file (`file` ends in `.jpg`, `.jpeg` or `.png`), under `root`;
//! - a video's frame, decoded again by ffmpeg: ingest kept one frame every N seconds with a
//!   selection that depends only on the video and N (`video_decoder`), so decoding with the
//!   smallest gap between the stored times picks the same frames again, matched by time;
//! - else the frames table's thumbnail (256 px), with boxes scaled to the frame's full size.
//!
//! [`spawn_decoder`] runs on its own thread and hands decoded frames over a bounded channel,
//! so decoding (and ffmpeg) overlaps with inference, and at most a few frames wait.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use image::RgbImage;
use rayon::prelude::*;
use reeldb_engine::Snapshot;
use reeldb_udf::model::image_input::decode_complete;

use super::faces_table::{FrameRef, ImageSource, is_image_file};
use crate::error::{Error, Result};
use crate::ingest::Skipped;
use crate::ingest::frame_table::FrameKey;
use crate::ingest::table_rows::read_columns;
use crate::ingest::video_decoder::FrameDecoder;

/// Decoded frames waiting for the detector, at most: a whole step (`FRAMES_PER_STEP`), so
/// that the next step is decoded while the models run on this one (16 frames of 640 × 360
/// are 11 MB).
const QUEUED_FRAMES: usize = 16;

/// How close (seconds) a decoded frame's time must be to a stored one to be that frame.
const TIME_TOLERANCE: f64 = 1e-3;

/// Which images to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourcePreference {
    /// The originals where they are found, else the thumbnails.
    #[default]
    Original,
    /// The thumbnails only (fast; small faces are missed).
    Thumbnail,
}

impl SourcePreference {
    /// Parses `original` or `thumbnail`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "original" | "auto" => Ok(SourcePreference::Original),
            "thumbnail" | "thumbnails" => Ok(SourcePreference::Thumbnail),
            other => Err(Error::InvalidArgument(format!(
                "source = '{other}': give 'original' (the image files or videos, falling back \
                 to thumbnails) or 'thumbnail'"
            ))),
        }
    }
}

/// A decoded frame.
pub struct FrameImage {
    /// The frame.
    pub frame: FrameRef,
    /// Its image.
    pub image: RgbImage,
    /// Where the image came from.
    pub source: ImageSource,
    /// Full-size frame pixels per image pixel, horizontally and vertically (1 for originals).
    pub scale: (f32, f32),
}

/// What the decoder thread hands over.
pub enum Decoded {
    /// A frame to look at.
    Frame(FrameImage),
    /// A frame that could not be read; it is not recorded, so a re-run tries it again.
    Failed(Skipped),
}

/// The frames still to scan, by source.
#[derive(Debug, Default)]
pub struct FramePlan {
    files: Vec<(FrameRef, PathBuf)>,
    /// Per video file: the smallest gap between its stored frame times, and its frames to do
    /// in time order.
    videos: Vec<(PathBuf, f64, Vec<FrameRef>)>,
    thumbnails: Vec<FrameRef>,
    /// Frames skipped as read by an earlier run.
    pub already_done: u64,
    /// Frames whose original was not found, read from their thumbnails.
    pub missing_originals: u64,
}

impl FramePlan {
    /// The frames to scan.
    pub fn frames_to_scan(&self) -> usize {
        self.files.len()
            + self.videos.iter().map(|v| v.2.len()).sum::<usize>()
            + self.thumbnails.len()
    }
}

/// Reads the frames of `table` and decides where each one not in `done` is read from. An
/// image file or video is looked for at its `file` under `root` (default: as written,
/// relative to the working directory).
pub fn plan_frames(
    snapshot: &Snapshot,
    table: &str,
    done: &HashSet<FrameKey>,
    root: Option<&Path>,
    preference: SourcePreference,
) -> Result<FramePlan> {
    let schema = snapshot.table(table)?.schema()?;
    let has = |name: &str| schema.field_with_name(name).is_ok();
    for column in ["video", "frame", "file"] {
        if !has(column) {
            return Err(Error::InvalidArgument(format!(
                "table '{table}' is not a frames table: it has no column '{column}'. DETECT FACES \
                 reads the frames that INGEST FRAMES or INGEST VIDEO wrote (video, frame, ts, \
                 file, thumbnail)"
            )));
        }
    }
    let has_thumbnail = has("thumbnail");
    if preference == SourcePreference::Thumbnail && !has_thumbnail {
        return Err(Error::InvalidArgument(format!(
            "table '{table}' has no thumbnail column, so source = 'thumbnail' has nothing to read"
        )));
    }
    let frames = read_frame_refs(snapshot, table, has("ts"), has("width") && has("height"))?;
    let mut plan = FramePlan::default();
    let mut videos: BTreeMap<PathBuf, Vec<FrameRef>> = BTreeMap::new();
    let mut located: HashMap<String, Option<PathBuf>> = HashMap::new();
    for frame in frames {
        let todo = !done.contains(&frame.key());
        if !todo {
            plan.already_done += 1;
        }
        if preference == SourcePreference::Thumbnail {
            if todo {
                plan.thumbnails.push(frame);
            }
            continue;
        }
        let path = located
            .entry(frame.file.clone())
            .or_insert_with(|| {
                let path = match root {
                    Some(root) => root.join(&frame.file),
                    None => PathBuf::from(&frame.file),
                };
                path.is_file().then_some(path)
            })
            .clone();
        match path {
            Some(path) if is_image_file(&frame.file) => {
                plan.files.extend(todo.then_some((frame, path)));
            }
            // Every frame of a video counts for its gap, done or not.
            Some(path) if frame.ts.is_some() => videos.entry(path).or_default().push(frame),
            _ if todo => {
                plan.missing_originals += 1;
                plan.thumbnails.push(frame);
            }
            _ => {}
        }
    }
    for (path, mut frames) in videos {
        frames.sort_by(|a, b| a.ts.unwrap_or(0.0).total_cmp(&b.ts.unwrap_or(0.0)));
        let gap = frames
            .windows(2)
            .map(|w| w[1].ts.unwrap_or(0.0) - w[0].ts.unwrap_or(0.0))
            .filter(|gap| *gap > TIME_TOLERANCE)
            .fold(f64::INFINITY, f64::min);
        // One frame: any gap longer than the video keeps just the first.
        let gap = if gap.is_finite() { gap } else { 1e9 };
        let todo: Vec<FrameRef> = frames
            .into_iter()
            .filter(|f| !done.contains(&f.key()))
            .collect();
        if !todo.is_empty() {
            plan.videos.push((path, gap, todo));
        }
    }
    if !has_thumbnail && !plan.thumbnails.is_empty() {
        let first = &plan.thumbnails[0];
        return Err(Error::InvalidArgument(format!(
            "{} frame(s) of '{table}' have neither a readable file (the first: '{}') nor a \
             thumbnail: give root = '<the directory that was ingested>'",
            plan.thumbnails.len(),
            first.file
        )));
    }
    Ok(plan)
}

/// Every frame's key, time and size.
fn read_frame_refs(
    snapshot: &Snapshot,
    table: &str,
    has_ts: bool,
    has_size: bool,
) -> Result<Vec<FrameRef>> {
    let mut wanted = vec![
        ("video", DataType::Utf8),
        ("frame", DataType::Int64),
        ("file", DataType::Utf8),
    ];
    if has_ts {
        wanted.push(("ts", DataType::Float64));
    }
    if has_size {
        wanted.push(("width", DataType::Int32));
        wanted.push(("height", DataType::Int32));
    }
    let mut frames = Vec::new();
    read_columns(snapshot, table, &wanted, |columns| {
        let video = columns[0].as_string::<i32>();
        let frame = columns[1].as_primitive::<Int64Type>();
        let file = columns[2].as_string::<i32>();
        let ts = has_ts.then(|| columns[3].as_primitive::<Float64Type>());
        let size = has_size.then(|| {
            let at = if has_ts { 4 } else { 3 };
            (
                columns[at].as_primitive::<Int32Type>(),
                columns[at + 1].as_primitive::<Int32Type>(),
            )
        });
        for row in 0..video.len() {
            if file.is_null(row) {
                continue;
            }
            frames.push(FrameRef {
                video: text_or_empty(video, row),
                frame: frame.is_valid(row).then(|| frame.value(row)),
                ts: ts.and_then(|ts| ts.is_valid(row).then(|| ts.value(row))),
                file: file.value(row).to_string(),
                size: size.and_then(|(w, h)| {
                    (w.is_valid(row) && h.is_valid(row) && w.value(row) > 0 && h.value(row) > 0)
                        .then(|| (w.value(row) as u32, h.value(row) as u32))
                }),
            });
        }
        Ok(())
    })?;
    Ok(frames)
}

/// Starts the thread that decodes the frames of `plan` (files, then videos, then thumbnails
/// read from `table` of `snapshot`). It stops when the receiver is dropped.
pub fn spawn_decoder(
    snapshot: Arc<Snapshot>,
    table: String,
    plan: FramePlan,
    ffmpeg: Option<PathBuf>,
) -> (Receiver<Decoded>, thread::JoinHandle<()>) {
    let (sender, receiver) = sync_channel(QUEUED_FRAMES);
    let handle = thread::spawn(move || {
        let _ = decode_plan(&snapshot, &table, plan, ffmpeg.as_deref(), &sender);
    });
    (receiver, handle)
}

/// The receiver went away (the scan stopped or failed): stop decoding.
struct Stopped;

fn send(sender: &SyncSender<Decoded>, item: Decoded) -> std::result::Result<(), Stopped> {
    sender.send(item).map_err(|_| Stopped)
}

fn failed(frame: &FrameRef, reason: impl Into<String>) -> Decoded {
    Decoded::Failed(Skipped {
        file: frame.describe(),
        reason: reason.into(),
    })
}

fn decode_plan(
    snapshot: &Snapshot,
    table: &str,
    mut plan: FramePlan,
    ffmpeg: Option<&Path>,
    sender: &SyncSender<Decoded>,
) -> std::result::Result<(), Stopped> {
    // A few files at once, on all cores; their order is kept.
    let chunk = rayon::current_num_threads().max(1);
    for files in plan.files.chunks(chunk) {
        let decoded: Vec<Decoded> = files
            .par_iter()
            .map(|(frame, path)| {
                match std::fs::read(path)
                    .map_err(|e| format!("cannot read '{}': {e}", path.display()))
                    .and_then(|bytes| decode_complete(&bytes))
                {
                    Ok(image) => Decoded::Frame(FrameImage {
                        frame: frame.clone(),
                        image,
                        source: ImageSource::File,
                        scale: (1.0, 1.0),
                    }),
                    Err(reason) => failed(frame, reason),
                }
            })
            .collect();
        for item in decoded {
            send(sender, item)?;
        }
    }
    for (path, gap, frames) in std::mem::take(&mut plan.videos) {
        let unmatched = decode_video(&path, gap, frames, ffmpeg, sender)?;
        plan.thumbnails.extend(unmatched);
    }
    decode_thumbnails(snapshot, table, plan.thumbnails, sender)
}

/// Decodes `video` keeping a frame every `gap` seconds and sends those whose time is one of
/// `frames`' (in time order). Returns the frames not found, for their thumbnails.
fn decode_video(
    video: &Path,
    gap: f64,
    frames: Vec<FrameRef>,
    ffmpeg: Option<&Path>,
    sender: &SyncSender<Decoded>,
) -> std::result::Result<Vec<FrameRef>, Stopped> {
    let mut decoder = match FrameDecoder::spawn(video, gap, ffmpeg) {
        Ok(decoder) => decoder,
        // No ffmpeg, or it cannot start: the thumbnails are all there is.
        Err(_) => return Ok(frames),
    };
    let mut wanted = frames.into_iter().peekable();
    let mut unmatched = Vec::new();
    let mut first_pts = None;
    while wanted.peek().is_some() {
        let (pts, image) = match decoder.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => break,
        };
        // Times are from the first frame, as ingest stored them.
        let ts = pts - *first_pts.get_or_insert(pts);
        while let Some(frame) = wanted.next_if(|f| f.ts.unwrap_or(0.0) < ts - TIME_TOLERANCE) {
            unmatched.push(frame);
        }
        if let Some(frame) = wanted.next_if(|f| (f.ts.unwrap_or(0.0) - ts).abs() <= TIME_TOLERANCE)
        {
            let scale = scale_to(frame.size, &image);
            send(
                sender,
                Decoded::Frame(FrameImage {
                    frame,
                    image,
                    source: ImageSource::Video,
                    scale,
                }),
            )?;
        }
    }
    decoder.stop();
    let _ = decoder.finish();
    unmatched.extend(wanted);
    Ok(unmatched)
}

/// Sends the thumbnails of `frames`, read from `table`.
fn decode_thumbnails(
    snapshot: &Snapshot,
    table: &str,
    frames: Vec<FrameRef>,
    sender: &SyncSender<Decoded>,
) -> std::result::Result<(), Stopped> {
    if frames.is_empty() {
        return Ok(());
    }
    let mut wanted: HashMap<FrameKey, FrameRef> =
        frames.into_iter().map(|f| (f.key(), f)).collect();
    let columns = [
        ("video", DataType::Utf8),
        ("file", DataType::Utf8),
        ("frame", DataType::Int64),
        ("thumbnail", DataType::Binary),
    ];
    let mut stopped = false;
    let read = read_columns(snapshot, table, &columns, |columns| {
        let video = columns[0].as_string::<i32>();
        let file = columns[1].as_string::<i32>();
        let frame = columns[2].as_primitive::<Int64Type>();
        let thumbnail = columns[3].as_binary::<i32>();
        for row in 0..video.len() {
            if file.is_null(row) {
                continue;
            }
            let key = (
                text_or_empty(video, row),
                file.value(row).to_string(),
                frame.is_valid(row).then(|| frame.value(row)),
            );
            let Some(frame) = wanted.remove(&key) else {
                continue;
            };
            let item = if thumbnail.is_null(row) {
                failed(&frame, "its file was not found and it has no thumbnail")
            } else {
                match decode_complete(thumbnail.value(row)) {
                    Ok(image) => {
                        let scale = scale_to(frame.size, &image);
                        Decoded::Frame(FrameImage {
                            frame,
                            image,
                            source: ImageSource::Thumbnail,
                            scale,
                        })
                    }
                    Err(reason) => failed(&frame, format!("its thumbnail: {reason}")),
                }
            };
            if send(sender, item).is_err() {
                stopped = true;
                // Nothing listens: end the read.
                return Err(Error::Internal("the scan stopped".into()));
            }
        }
        Ok(())
    });
    if stopped {
        return Err(Stopped);
    }
    if let Err(problem) = read {
        for frame in wanted.values() {
            send(sender, failed(frame, problem.to_string()))?;
        }
    }
    Ok(())
}

/// The text at `row`, or an empty string for NULL (as ingest keys a frame without a video).
fn text_or_empty(column: &arrow::array::StringArray, row: usize) -> String {
    if column.is_valid(row) {
        column.value(row).to_string()
    } else {
        String::new()
    }
}

/// Full-size pixels per pixel of `image`, for a frame of `size` (1 when unknown).
fn scale_to(size: Option<(u32, u32)>, image: &RgbImage) -> (f32, f32) {
    match size {
        Some((w, h)) if image.width() > 0 && image.height() > 0 => (
            w as f32 / image.width() as f32,
            h as f32 / image.height() as f32,
        ),
        _ => (1.0, 1.0),
    }
}
