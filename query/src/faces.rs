//! `DETECT FACES IN frames USING detector [, encoder] INTO faces`: every face of every frame
//! of a frames table, one row each, with its box, landmarks, score, a small JPEG crop and the
//! aligned face's vector; and one row per frame read in `faces_frames`.
//!
//! The work is [`detect_faces`], used by the statement and by `reeldb faces`. Invariants:
//! - **Resumable**: a frame is recorded in `faces_frames` in the same commit as its faces, so
//!   a re-run (after Ctrl-C or a crash) skips exactly the frames already read, with none
//!   counted twice. Frames that could not be read are reported and not recorded: a re-run
//!   tries them again.
//! - **Bounded memory**: a step holds a few frames (by count and by pixels); decoded frames
//!   wait in a channel of one step; nothing grows with the input but the list of frame keys.
//! - **Overlapped**: images are decoded (and videos by ffmpeg) on their own thread while the
//!   models run; preparing, aligning and cropping use all cores, each model one batch a step.
//! - **Full-size coordinates**: boxes and landmarks are in pixels of the frame at its full
//!   size, whatever image they were found in (see `frame_source` for which that is).

mod face_step;
mod faces_table;
mod frame_source;

use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use reeldb_engine::{Database, WriteTransaction};
use reeldb_udf::ModelRegistry;

pub use face_step::{CROP_SIDE, FaceModels, crop_jpeg};
pub use faces_table::{ENCODING_COLUMN, SCANNED_SUFFIX, faces_schema, scanned_table};
pub use frame_source::SourcePreference;

use self::face_step::scan_step;
use self::faces_table::{ensure_face_tables, face_batches, scanned_keys};
use self::frame_source::{Decoded, FrameImage, plan_frames, spawn_decoder};
use crate::error::{Error, Result};
use crate::ingest::control::write_report_tail;
use crate::ingest::{DEFAULT_COMMIT_EVERY, IngestControl, Skipped};

/// Frames looked at in one batch, at most.
const FRAMES_PER_STEP: usize = 16;

/// Decoded pixels in one step, at most (about 100 MB of RGB).
const PIXELS_PER_STEP: u64 = 32 * 1024 * 1024;

/// How long the scan waits for a decoded frame before it looks whether it was cancelled.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// What a scan reads and writes.
#[derive(Debug, Clone)]
pub struct FaceOptions {
    /// The frames table read.
    pub frames: String,
    /// The face detector (a model of layout yunet or ultraface).
    pub detector: String,
    /// The face encoder (layout face-encoder), if faces are to be encoded.
    pub encoder: Option<String>,
    /// The faces table written (and `<into>_frames` beside it).
    pub into: String,
    /// The directory the frames' `file` paths are relative to (default: as written).
    pub root: Option<PathBuf>,
    /// Which images to read.
    pub source: SourcePreference,
    /// Frames per commit.
    pub commit_every: usize,
    /// The ffmpeg that decodes videos again (default: `$REELDB_FFMPEG`, else `ffmpeg`).
    pub ffmpeg: Option<PathBuf>,
}

impl FaceOptions {
    /// A scan of `frames` with `detector` (and `encoder`) into `into`, with the defaults.
    pub fn new(frames: &str, detector: &str, encoder: Option<&str>, into: &str) -> Self {
        FaceOptions {
            frames: frames.to_string(),
            detector: detector.to_string(),
            encoder: encoder.map(str::to_string),
            into: into.to_string(),
            root: None,
            source: SourcePreference::default(),
            commit_every: DEFAULT_COMMIT_EVERY,
            ffmpeg: None,
        }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaceReport {
    /// The faces table.
    pub table: String,
    /// Frames read by this run.
    pub frames: u64,
    /// Faces found in them.
    pub faces: u64,
    /// Frames read by an earlier run, skipped.
    pub already_done: u64,
    /// Frames read from their thumbnails because their files were not found.
    pub from_thumbnails: u64,
    /// Frames that could not be read, with the reason (a re-run tries them again).
    pub skipped: Vec<Skipped>,
    /// Whether the run was stopped before the end (what it committed stays).
    pub interrupted: bool,
    /// Things the user should know.
    pub notes: Vec<String>,
}

impl fmt::Display for FaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} faces in {} frames, {} frames already done, {} skipped",
            self.table,
            self.faces,
            self.frames,
            self.already_done,
            self.skipped.len()
        )?;
        write_report_tail(f, &self.skipped, self.interrupted, &self.notes)
    }
}

/// Loads the scan's models, each checked to be of the right kind.
pub fn load_face_models(
    models: &ModelRegistry,
    detector: &str,
    encoder: Option<&str>,
) -> Result<FaceModels> {
    let detector = models.face_detector(detector)?;
    let encoder = match encoder {
        None => None,
        Some(name) => {
            let model = models.model(name)?;
            let size = model.face_input_size().ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "model '{name}' is a {} model, not a face encoder: name a model added with \
                     layout = 'face-encoder' (SHOW MODELS lists them), or leave the encoder out",
                    model.kind()
                ))
            })?;
            Some((model, size))
        }
    };
    Ok(FaceModels { detector, encoder })
}

/// Finds the faces of every frame of `options.frames` not read by an earlier scan into
/// `options.into`, committing every `commit_every` frames.
pub async fn detect_faces(
    db: &Database,
    models: &ModelRegistry,
    options: &FaceOptions,
    control: &IngestControl,
) -> Result<FaceReport> {
    if options.into == options.frames || scanned_table(&options.into) == options.frames {
        return Err(Error::InvalidArgument(format!(
            "DETECT FACES would write into its own frames table '{}': name another table after \
             INTO",
            options.frames
        )));
    }
    let face_models = load_face_models(models, &options.detector, options.encoder.as_deref())?;
    let encoder = face_models
        .encoder
        .as_ref()
        .map(|(model, _)| (model.name().to_string(), model.dim()));
    let encoder_ref = encoder.as_ref().map(|(name, dim)| (name.as_str(), *dim));
    let mut writer = FaceWriter::new(db, &options.into, encoder_ref, options.commit_every)?;
    // The writer holds the writer lock: the newest version is the one it appends to.
    let snapshot = db.snapshot()?;
    if snapshot.manifest().table(&options.frames).is_none() {
        return Err(Error::InvalidArgument(format!(
            "there is no table '{}' of frames: ingest frames first (INGEST FRAMES or INGEST \
             VIDEO), or name the table after IN",
            options.frames
        )));
    }
    let done = scanned_keys(&snapshot, &options.into)?;
    let plan = plan_frames(
        &snapshot,
        &options.frames,
        &done,
        options.root.as_deref(),
        options.source,
    )?;
    let mut report = FaceReport {
        table: options.into.clone(),
        already_done: plan.already_done,
        from_thumbnails: plan.missing_originals,
        ..FaceReport::default()
    };
    if plan.missing_originals > 0 {
        report.notes.push(format!(
            "{} frame(s) were read from their thumbnails because their files were not found{}; \
             give root = '<the directory that was ingested>' to read the originals",
            plan.missing_originals,
            options
                .root
                .as_ref()
                .map(|r| format!(" under '{}'", r.display()))
                .unwrap_or_default()
        ));
    }
    control
        .progress
        .begin("frames", Some(plan.frames_to_scan() as u64));
    let (frames, decoder) = spawn_decoder(
        snapshot,
        options.frames.clone(),
        plan,
        options.ffmpeg.clone(),
    );
    let mut step: Vec<FrameImage> = Vec::new();
    let mut step_pixels = 0u64;
    let mut finished = false;
    while !finished {
        if control.is_cancelled() {
            report.interrupted = true;
            break;
        }
        match frames.recv_timeout(CANCEL_POLL) {
            Ok(Decoded::Frame(frame)) => {
                step_pixels += u64::from(frame.image.width()) * u64::from(frame.image.height());
                step.push(frame);
            }
            Ok(Decoded::Failed(skipped)) => {
                report.skipped.push(skipped);
                control.progress.advance(1);
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => finished = true,
        }
        // A step never spans a commit, so that Ctrl-C loses at most one step's work.
        let full = step.len() >= FRAMES_PER_STEP.min(options.commit_every.max(1))
            || step_pixels >= PIXELS_PER_STEP;
        if (full || finished) && !step.is_empty() {
            let count = step.len() as u64;
            let result = scan_step(&face_models, std::mem::take(&mut step))?;
            step_pixels = 0;
            report.frames += result.frames.len() as u64;
            report.faces += result
                .frames
                .iter()
                .map(|f| f.faces.len() as u64)
                .sum::<u64>();
            report.skipped.extend(result.skipped);
            writer.write(&result.frames, &result.encodings)?;
            control.progress.advance(count);
            // Lets the shell stop the statement between steps.
            tokio::task::yield_now().await;
        }
    }
    // Dropping the receiver stops the decoder thread (and its ffmpeg).
    drop(frames);
    writer.commit()?;
    control.progress.end();
    if decoder.join().is_err() {
        return Err(Error::Internal("the frame decoder thread panicked".into()));
    }
    Ok(report)
}

/// Appends scanned frames to the faces table and the scan's frames table, committing every
/// `commit_every` frames.
struct FaceWriter {
    db: Database,
    table: String,
    encoder: Option<(String, usize)>,
    commit_every: usize,
    txn: Option<(WriteTransaction, (SchemaRef, SchemaRef))>,
    pending: usize,
}

impl FaceWriter {
    /// A writer to `table` (created if absent); checks at once that existing tables fit.
    fn new(
        db: &Database,
        table: &str,
        encoder: Option<(&str, usize)>,
        commit_every: usize,
    ) -> Result<Self> {
        let mut writer = FaceWriter {
            db: db.clone(),
            table: table.to_string(),
            encoder: encoder.map(|(n, d)| (n.to_string(), d)),
            commit_every: commit_every.max(1),
            txn: None,
            pending: 0,
        };
        writer.transaction()?;
        Ok(writer)
    }

    fn write(&mut self, frames: &[faces_table::ScannedFrame], encodings: &[f32]) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let dim = self.encoder.as_ref().map(|(_, dim)| *dim);
        let table = self.table.clone();
        let (txn, schemas) = self.transaction()?;
        let (faces, scanned) = face_batches(schemas, frames, dim.map(|d| (encodings, d)))?;
        if faces.num_rows() > 0 {
            txn.append(&table, &faces)?;
        }
        txn.append(&scanned_table(&table), &scanned)?;
        self.pending += frames.len();
        if self.pending >= self.commit_every {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if let Some((txn, _)) = self.txn.take() {
            txn.commit()?;
            self.pending = 0;
        }
        Ok(())
    }

    fn transaction(&mut self) -> Result<&mut (WriteTransaction, (SchemaRef, SchemaRef))> {
        if self.txn.is_none() {
            let mut txn = self.db.begin_write()?;
            let encoder = self.encoder.as_ref().map(|(n, d)| (n.as_str(), *d));
            let schemas = ensure_face_tables(&mut txn, &self.table, encoder)?;
            self.txn = Some((txn, schemas));
        }
        Ok(self.txn.as_mut().expect("the transaction was just begun"))
    }
}
