//! `reeldb demo`: a small database to try reeldb on, from the user's files or from a short
//! broadcast rendered here (so that it needs nothing downloaded and no ffmpeg).
//!
//! The rendered broadcast is three minutes of an evening news show sampled every 4 s, named
//! as the TV News Archive names its frames: studio, weather map, street scene, sports, and
//! the studio again, with a WebVTT transcript that says what each shot shows.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use reeldb_engine::Database;
use reeldb_udf::ModelRegistry;

use super::alignment::Alignment;
use super::control::{IngestControl, IngestReport};
use super::frames_dir::{FramesOptions, ingest_frames};
use super::transcript_ingest::{TranscriptOptions, ingest_transcript};
use super::video::{VideoOptions, ingest_video};
use crate::error::{Error, Result};

/// The rendered broadcast's id (TV News Archive form).
pub const DEMO_VIDEO: &str = "DEMO_20240315_180000_Evening_News";
/// Seconds between its frames.
pub const DEMO_INTERVAL: f64 = 4.0;
/// How many frames it has.
pub const DEMO_FRAMES: usize = {
    let mut total = 0;
    let mut shot = 0;
    while shot < SHOTS.len() {
        total += SHOTS[shot].1;
        shot += 1;
    }
    total
};
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// The shots of the rendered broadcast: what is on screen, for how many frames, and what is
/// said.
const SHOTS: [(Scene, usize, &str); 5] = [
    (
        Scene::Studio,
        10,
        "Good evening and welcome to the evening news. Tonight: a storm front over the coast, crowds in the city centre, and a late winner in the cup final.",
    ),
    (
        Scene::Weather,
        10,
        "Here is the weather. A band of rain moves in from the west overnight, with cooler air behind it and sunshine returning by the weekend.",
    ),
    (
        Scene::Street,
        10,
        "In the city centre thousands gathered in the square this afternoon, filling the streets between the old buildings.",
    ),
    (
        Scene::Sports,
        10,
        "In sport, the cup final was settled in the last minute, with a header from a corner in front of a full stadium.",
    ),
    (
        Scene::Studio,
        8,
        "That is all from us tonight. Thank you for watching, and good night.",
    ),
];

#[derive(Debug, Clone, Copy)]
enum Scene {
    Studio,
    Weather,
    Street,
    Sports,
}

/// What `reeldb demo` did, and what to try next.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// One report per file or directory ingested.
    pub ingested: Vec<IngestReport>,
    /// Where the rendered broadcast was written, when one was.
    pub rendered: Option<PathBuf>,
    /// Queries that work on this database.
    pub queries: Vec<String>,
    /// The video the queries and the example report look at.
    pub video: String,
}

/// The example report shipped with reeldb (`docs/examples/broadcast.report.md`): seed 000's
/// page (clusters, t-SNE point and image clouds, per-cluster grids, a contact sheet of every
/// cluster, a search with its scores drawn) on a frames table with `builtin` embeddings.
pub const BROADCAST_REPORT: &str = include_str!("../../../docs/examples/broadcast.report.md");

/// Writes [`BROADCAST_REPORT`] to `path` unless a file is already there (a user's edited copy
/// is kept); returns whether it wrote. Written beside the database, never inside it.
pub fn write_broadcast_report(db: &Database, path: &Path) -> Result<bool> {
    db.check_outside(path)?;
    if fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    fs::write(path, BROADCAST_REPORT).map_err(|cause| Error::Io {
        action: "write".into(),
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(true)
}

/// Renders the demo broadcast under `dir`: its frames in `dir/<DEMO_VIDEO>/` and its
/// transcript as `dir/<DEMO_VIDEO>.vtt`. Returns both paths.
pub fn render_demo_broadcast(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let frames_dir = dir.join(DEMO_VIDEO);
    fs::create_dir_all(&frames_dir).map_err(|cause| Error::Io {
        action: "create".into(),
        path: frames_dir.clone(),
        cause,
    })?;
    let mut vtt = String::from("WEBVTT\n\n");
    let mut frame = 0usize;
    for (shot, (scene, frames, text)) in SHOTS.iter().enumerate() {
        let start = frame as f64 * DEMO_INTERVAL;
        for within in 0..*frames {
            let image = render(*scene, shot, within);
            let path = frames_dir.join(format!("{DEMO_VIDEO}-{frame:06}.jpg"));
            let mut bytes = Vec::new();
            JpegEncoder::new_with_quality(&mut bytes, 85)
                .encode_image(&image)
                .map_err(|e| Error::Internal(format!("cannot encode a demo frame: {e}")))?;
            fs::write(&path, bytes).map_err(|cause| Error::Io {
                action: "write".into(),
                path: path.clone(),
                cause,
            })?;
            frame += 1;
        }
        let end = frame as f64 * DEMO_INTERVAL;
        let _ = write!(
            vtt,
            "{}\n{} --> {}\n{text}\n\n",
            shot + 1,
            clock(start),
            clock(end)
        );
    }
    let transcript = dir.join(format!("{DEMO_VIDEO}.vtt"));
    fs::write(&transcript, vtt).map_err(|cause| Error::Io {
        action: "write".into(),
        path: transcript.clone(),
        cause,
    })?;
    Ok((frames_dir, transcript))
}

fn clock(seconds: f64) -> String {
    let whole = seconds as u64;
    format!(
        "{:02}:{:02}:{:02}.000",
        whole / 3600,
        whole / 60 % 60,
        whole % 60
    )
}

/// Builds the demo database in `db` (embedding with `models`): ingests `files` (directories of frames, videos, images and
/// `.srt`/`.vtt` transcripts named after their video), or with none, renders the demo
/// broadcast under `render_dir` and ingests it with its transcript.
pub async fn build_demo(
    db: &Database,
    models: &ModelRegistry,
    files: &[PathBuf],
    render_dir: &Path,
    control: &IngestControl,
) -> Result<DemoReport> {
    let mut report = DemoReport::default();
    let mut transcripts = Vec::new();
    let mut video = DEMO_VIDEO.to_string();
    if files.is_empty() {
        let (frames_dir, transcript) = render_demo_broadcast(render_dir)?;
        let options = FramesOptions {
            interval: Some(DEMO_INTERVAL),
            ..FramesOptions::default()
        };
        report
            .ingested
            .push(ingest_frames(db, models, &frames_dir, &options, control).await?);
        transcripts.push((transcript, Some(DEMO_VIDEO.to_string()), Alignment::Uniform));
        report.rendered = Some(render_dir.to_path_buf());
    } else {
        for path in files {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            match extension.as_str() {
                _ if path.is_dir() => {
                    let options = FramesOptions {
                        interval: Some(DEMO_INTERVAL),
                        ..FramesOptions::default()
                    };
                    report
                        .ingested
                        .push(ingest_frames(db, models, path, &options, control).await?);
                }
                "jpg" | "jpeg" | "png" => {
                    report.ingested.push(
                        ingest_frames(db, models, path, &FramesOptions::default(), control).await?,
                    );
                }
                "mp4" | "mkv" | "mov" | "webm" | "avi" | "ts" | "mpg" | "mpeg" | "m4v" => {
                    report.ingested.push(
                        ingest_video(db, models, path, &VideoOptions::default(), control).await?,
                    );
                    video = stem.unwrap_or_default();
                }
                "srt" | "vtt" => transcripts.push((path.clone(), stem, Alignment::Nearest)),
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "reeldb demo does not know what to do with '{}': give directories of \
                         frames, images, videos, and .srt or .vtt transcripts named after their \
                         video",
                        path.display()
                    )));
                }
            }
        }
    }
    // Transcripts after all frames, which they are aligned with.
    for (path, video_id, align) in transcripts {
        let options = TranscriptOptions {
            video: video_id,
            align,
            ..TranscriptOptions::default()
        };
        report
            .ingested
            .push(ingest_transcript(db, &path, &options).await?);
    }
    report.video = video.clone();
    report.queries = demo_queries(
        &video,
        report.ingested.iter().any(|r| r.table == "segments"),
    );
    Ok(report)
}

/// Queries that show what the demo database holds.
fn demo_queries(video: &str, has_text: bool) -> Vec<String> {
    let video = video.replace('\'', "''");
    let mut queries = vec![
        "SELECT video, count(*) AS frames, max(ts) AS seconds FROM frames GROUP BY video;".to_string(),
        format!(
            "SELECT b.frame, b.ts, round(similarity(a.builtin, b.builtin), 3) AS sim FROM frames a, \
             frames b WHERE a.video = '{video}' AND a.frame = 12 AND b.video = a.video ORDER BY sim \
             DESC LIMIT 5;"
        ),
        "SELECT a.frame, b.frame AS near_duplicate, hamming(a.phash, b.phash) AS bits FROM frames a \
         JOIN frames b ON a.video = b.video AND a.frame < b.frame AND hamming(a.phash, b.phash) <= 4 \
         ORDER BY bits LIMIT 5;"
            .to_string(),
    ];
    if has_text {
        queries.push(
            "SELECT f.frame, f.ts, t.text FROM frames f JOIN frame_text t ON f.video = t.video AND \
             f.frame = t.frame WHERE t.text LIKE '%weather%' OR t.text LIKE '%rain%' ORDER BY f.ts;"
                .to_string(),
        );
    }
    queries
}

/// A frame of `scene`: the shot's layout, moved a little from frame to frame as a camera
/// drifts, so that frames of a shot are alike but not identical.
fn render(scene: Scene, shot: usize, within: usize) -> RgbImage {
    let drift = within as i32 * 3;
    let mut image = RgbImage::new(WIDTH, HEIGHT);
    match scene {
        Scene::Studio => {
            vertical_gradient(&mut image, [10, 20, 70], [30, 60, 140]);
            fill_rect(&mut image, 0, 250, WIDTH as i32, 110, [90, 60, 40]);
            fill_ellipse(&mut image, 320 + drift / 2, 120, 45, 55, [224, 180, 150]);
            fill_rect(&mut image, 250 + drift / 2, 175, 140, 90, [30, 30, 35]);
            fill_rect(&mut image, 0, 300, WIDTH as i32, 40, [180, 20, 30]);
            fill_rect(
                &mut image,
                20,
                310,
                200 + 10 * shot as i32,
                20,
                [240, 240, 240],
            );
        }
        Scene::Weather => {
            vertical_gradient(&mut image, [20, 70, 160], [40, 110, 200]);
            fill_ellipse(&mut image, 200 - drift, 180, 170, 120, [60, 140, 60]);
            fill_ellipse(&mut image, 470 - drift, 150, 120, 150, [90, 150, 70]);
            for (i, (x, y)) in [(150, 120), (260, 220), (470, 100), (500, 230)]
                .iter()
                .enumerate()
            {
                let warm = [230, 120 - 20 * i as u8, 40];
                fill_ellipse(&mut image, x - drift, *y, 22, 22, warm);
            }
            fill_rect(&mut image, 40 + drift * 4, 40, 200, 50, [200, 200, 210]);
        }
        Scene::Street => {
            vertical_gradient(&mut image, [170, 200, 230], [220, 220, 225]);
            for b in 0..7 {
                let x = b * 95 - drift;
                let h = 140 + (b * 37 % 90);
                fill_rect(
                    &mut image,
                    x,
                    300 - h,
                    80,
                    h,
                    [120 + (b * 13 % 40) as u8, 110, 100],
                );
            }
            fill_rect(&mut image, 0, 300, WIDTH as i32, 60, [80, 80, 85]);
            let mut seed = 12_345u32;
            for _ in 0..140 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let x = (seed >> 8) % WIDTH;
                let y = 280 + (seed >> 20) % 70;
                let shade = (seed >> 4) as u8;
                fill_ellipse(
                    &mut image,
                    x as i32 - drift,
                    y as i32,
                    5,
                    9,
                    [shade, 60, 90],
                );
            }
        }
        Scene::Sports => {
            vertical_gradient(&mut image, [40, 140, 50], [30, 110, 40]);
            fill_rect(&mut image, 0, 0, WIDTH as i32, 70, [60, 60, 70]);
            fill_rect(&mut image, 318 - drift, 70, 4, 290, [245, 245, 245]);
            fill_ellipse(&mut image, 320 - drift, 215, 60, 60, [245, 245, 245]);
            fill_ellipse(&mut image, 320 - drift, 215, 56, 56, [40, 130, 45]);
            for p in 0..10 {
                let x = 60 + p * 55 - drift;
                let y = 120 + (p * 71 % 180);
                let kit = if p % 2 == 0 {
                    [220, 30, 30]
                } else {
                    [240, 240, 60]
                };
                fill_ellipse(&mut image, x, y, 7, 14, kit);
            }
        }
    }
    image
}

fn vertical_gradient(image: &mut RgbImage, top: [u8; 3], bottom: [u8; 3]) {
    let height = image.height();
    for (_, y, pixel) in image.enumerate_pixels_mut() {
        let t = y as f32 / height as f32;
        let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t) as u8;
        *pixel = Rgb([
            mix(top[0], bottom[0]),
            mix(top[1], bottom[1]),
            mix(top[2], bottom[2]),
        ]);
    }
}

fn fill_rect(image: &mut RgbImage, x: i32, y: i32, w: i32, h: i32, colour: [u8; 3]) {
    for py in y.max(0)..(y + h).min(image.height() as i32) {
        for px in x.max(0)..(x + w).min(image.width() as i32) {
            image.put_pixel(px as u32, py as u32, Rgb(colour));
        }
    }
}

fn fill_ellipse(image: &mut RgbImage, cx: i32, cy: i32, rx: i32, ry: i32, colour: [u8; 3]) {
    for py in (cy - ry).max(0)..(cy + ry + 1).min(image.height() as i32) {
        for px in (cx - rx).max(0)..(cx + rx + 1).min(image.width() as i32) {
            let (dx, dy) = ((px - cx) as f32 / rx as f32, (py - cy) as f32 / ry as f32);
            if dx * dx + dy * dy <= 1.0 {
                image.put_pixel(px as u32, py as u32, Rgb(colour));
            }
        }
    }
}
