//! `INGEST FRAMES FROM 'dir'`: every JPEG and PNG under a directory, one row per frame.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use image::RgbImage;
use reeldb_engine::Database;
use reeldb_udf::ModelRegistry;
use reeldb_udf::model::image_input::decode_complete;

use super::control::{IngestControl, IngestReport, Skipped};
use super::frame_analysis::analyse_all;
use super::frame_name::NamingScheme;
use super::frame_table::FrameMeta;
use super::photo_numbering::{ListedFrame, number_photo_collections};
use super::target::FrameTarget;

use crate::error::{Error, Result};

/// Files decoded at once: enough to keep every core busy, few enough that memory stays small
/// however many files there are.
const FILES_PER_STEP: usize = 64;

/// How a directory of frames is read.
#[derive(Debug, Clone)]
pub struct FramesOptions {
    /// Where the rows go and which models embed them.
    pub target: FrameTarget,
    /// Seconds between frames: frame `n` is at `n × interval` seconds.
    pub interval: Option<f64>,
    /// How file names are read.
    pub naming: NamingScheme,
    /// The video id of every frame, overriding what the names say.
    pub video: Option<String>,
}

impl Default for FramesOptions {
    fn default() -> Self {
        FramesOptions {
            target: FrameTarget::default(),
            interval: None,
            naming: NamingScheme::Automatic,
            video: None,
        }
    }
}

/// Ingests every `.jpg`, `.jpeg` and `.png` file under `dir` (or the one file `dir` names)
/// into `db`, embedded by `models`. Files already in the table are skipped; unreadable ones
/// are reported and skipped.
pub async fn ingest_frames(
    db: &Database,
    models: &ModelRegistry,
    dir: &Path,
    options: &FramesOptions,
    control: &IngestControl,
) -> Result<IngestReport> {
    let table = &options.target.table;
    let mut report = IngestReport::new(table);
    let (files, ignored) = list_images(dir, &mut report.skipped)?;
    if ignored > 0 {
        report.notes.push(format!(
            "{ignored} file(s) that are not .jpg, .jpeg or .png were left alone"
        ));
    }
    let (mut writer, existing) = options.target.open(db, models)?;
    let default_video = dir
        .file_name()
        .filter(|_| dir.is_dir())
        .or_else(|| dir.parent().and_then(Path::file_name))
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "frames".into());
    let mut without_times = 0u64;

    // What each name says, for every file first: whether a folder's names number its frames
    // can only be told from all of them (see `photo_numbering`).
    let mut listed = Vec::with_capacity(files.len());
    let mut names = Vec::with_capacity(files.len());
    for relative in &files {
        let file = relative.to_string_lossy().replace('\\', "/");
        let stem = relative
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match options.naming.parse(&stem) {
            Ok(name) => name,
            Err(e) => {
                report.skipped.push(Skipped {
                    file,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let folder = relative
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        let video = options
            .video
            .clone()
            .or(name.video.clone())
            .or(folder)
            .unwrap_or_else(|| default_video.clone());
        listed.push(ListedFrame {
            video,
            file,
            frame: name.frame,
        });
        names.push((relative, name));
    }
    if matches!(options.naming, NamingScheme::Automatic) {
        report
            .notes
            .extend(number_photo_collections(&mut listed, &existing));
    }

    control.progress.begin("frames", Some(listed.len() as u64));
    // A step never spans a commit, so that a cancelled run stops right after one.
    let step_size = FILES_PER_STEP.min(options.target.commit_every.max(1));
    for (step_listed, step_names) in listed.chunks(step_size).zip(names.chunks(step_size)) {
        if control.is_cancelled() {
            report.interrupted = true;
            break;
        }
        let mut todo: Vec<(FrameMeta, PathBuf)> = Vec::with_capacity(step_listed.len());
        for (listed, (relative, name)) in step_listed.iter().zip(step_names) {
            let ts = name
                .ts
                .or_else(|| Some(listed.frame? as f64 * options.interval?));
            if ts.is_none() {
                without_times += 1;
            }
            let meta = FrameMeta {
                video: listed.video.clone(),
                frame: listed.frame,
                ts,
                time_ms: name
                    .start_ms
                    .zip(ts)
                    .map(|(start, ts)| start + (ts * 1000.0).round() as i64),
                station: name.station.clone(),
                show: name.show.clone(),
                file: listed.file.clone(),
            };
            if existing.contains(&meta.key()) {
                report.already_in += 1;
                continue;
            }
            let path = if dir.is_dir() {
                dir.join(relative)
            } else {
                dir.to_path_buf()
            };
            todo.push((meta, path));
        }
        let analysed = analyse_all(todo, |path| read_image(&path), writer.models());
        let mut frames = Vec::with_capacity(analysed.len());
        for result in analysed {
            match result {
                Ok(frame) => frames.push(frame),
                Err(failed) => report.skipped.push(Skipped {
                    file: failed.0.file,
                    reason: failed.1.to_string(),
                }),
            }
        }
        writer.write(frames)?;
        control.progress.advance(step_listed.len() as u64);
        // A statement in the shell is stopped by dropping its future at an await: give it
        // one between steps (the open transaction is then dropped, the commits stay).
        tokio::task::yield_now().await;
    }
    report.added = writer.commit()?;
    control.progress.end();
    if without_times > 0 {
        // Every frame has a number unless a pattern gave none; then an interval cannot help.
        report.notes.push(if options.interval.is_none() {
            format!(
                "{without_times} frame(s) have no time (ts): their names carry no time and no \
                 interval was given (interval = '4s' puts frame n at n × 4 s)"
            )
        } else {
            format!(
                "{without_times} frame(s) have no time (ts): the pattern gives them neither a \
                 time nor a frame number for the interval to count from"
            )
        });
    }
    Ok(report)
}

/// Reads and decodes one image file; the error says what is wrong with it.
fn read_image(path: &Path) -> Result<RgbImage> {
    let bytes =
        fs::read(path).map_err(|e| Error::InvalidArgument(format!("cannot read the file: {e}")))?;
    // A truncated file is refused here rather than stored as a half-grey frame.
    decode_complete(&bytes).map_err(Error::InvalidArgument)
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
}

/// The identity of a directory on its file system (device and inode on Unix; elsewhere
/// links are not followed into a loop detection, and every directory is new).
fn directory_identity(metadata: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (metadata.dev(), metadata.ino())
    }
    #[cfg(not(unix))]
    {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let _ = metadata;
        (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// The image files under `root` (relative to it, sorted), and how many other files there are.
/// Image names that are not regular files are added to `skipped`.
/// Hidden entries (names starting with `.`) are passed over. A file path gives that file.
fn list_images(root: &Path, skipped: &mut Vec<Skipped>) -> Result<(Vec<PathBuf>, u64)> {
    let metadata = fs::metadata(root).map_err(|e| {
        Error::InvalidArgument(format!(
            "cannot read '{}': {e}; give a directory of frames (or one image file)",
            root.display()
        ))
    })?;
    if !metadata.is_dir() {
        let name = root.file_name().map(PathBuf::from).unwrap_or_default();
        if !metadata.is_file() {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a file or a directory (a pipe, socket or device); give a \
                 directory of frames or one image file",
                root.display()
            )));
        }
        return Ok(if is_image_name(root) {
            (vec![name], 0)
        } else {
            (Vec::new(), 1)
        });
    }
    let mut images = Vec::new();
    let mut ignored = 0;
    let mut pending = vec![PathBuf::new()];
    // Directories already listed, by device and inode: links are followed (a frames folder
    // of links to an archive is common), so `ln -s . loop` must not list forever.
    let mut listed = HashSet::new();
    listed.insert(directory_identity(&metadata));
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        let cannot_list = |cause| Error::Io {
            action: "list".into(),
            path: dir.clone(),
            cause,
        };
        let entries = fs::read_dir(&dir).map_err(cannot_list)?;
        for entry in entries {
            let entry = entry.map_err(cannot_list)?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = relative.join(&name);
            match fs::metadata(entry.path()) {
                Ok(m) if m.is_dir() => {
                    if listed.insert(directory_identity(&m)) {
                        pending.push(path);
                    }
                }
                // Only regular files: reading a FIFO or a device named `x.jpg` would block
                // or never end.
                Ok(m) if m.is_file() && is_image_name(&path) => images.push(path),
                Ok(m) if !m.is_file() && is_image_name(&path) => skipped.push(Skipped {
                    file: path.to_string_lossy().replace('\\', "/"),
                    reason: "not a regular file (a pipe, socket or device); only files are \
                             read"
                        .into(),
                }),
                // A broken link to an image is reported when it is read.
                Err(_) if is_image_name(&path) => images.push(path),
                _ => ignored += 1,
            }
        }
    }
    images.sort();
    Ok((images, ignored))
}
