//! `reeldb-bench faces`: frames and faces per second through `DETECT FACES` (YuNet, then
//! MobileFaceNet on each aligned face, and a JPEG crop of each), against onnxruntime's Python
//! API running the same models with the same pre- and post-processing and numpy alignment on
//! the same frames in the same run (`benches/faces_ort_bench.py`).
//!
//! ```text
//! reeldb-bench faces [--images 1000] [--dir DIR] [--repeat 3] [--python]
//! ```
//!
//! Two datasets, each in a new database with both models added:
//! - `video`: the fixture video ingested with `INGEST VIDEO ... WITH (every = '0.1s')`, its
//!   frames decoded again by ffmpeg during the scan (`root` = the video's directory). Python
//!   runs ffmpeg with the same frame selection and reads raw RGB from a pipe.
//! - `jpeg`: `--images` 640×360 JPEGs (every frame of the fixture video extracted once by
//!   ffmpeg, quality `-q:v 3`, repeated in order up to the count), `INGEST FRAMES`, then the
//!   scan reads the files. Python decodes the same files with Pillow.
//!
//! Only the `DETECT FACES` statement is timed (each repeat into a new faces table); the models
//! are loaded by an untimed scan of 16 frames first. The faces found per frame are compared
//! with Python's.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, UInt64Type};
use serde_json::{Value, json};

use crate::models::{emit, fixtures, median, parse};

type BoxError = Box<dyn Error>;

/// Seconds between the video frames ingest keeps.
const EVERY: &str = "0.1";

/// One dataset: how its frames table is made and where its scan reads from.
struct Dataset {
    name: &'static str,
    ingest: String,
    root: PathBuf,
    /// The arguments that give Python the same frames.
    python_source: Vec<String>,
}

/// What one `DETECT FACES` run found.
struct Scan {
    seconds: f64,
    frames: u64,
    faces: u64,
    skipped: u64,
    /// Faces per frame, in frame order.
    per_frame: Vec<i64>,
    /// Frames per image source (`file`, `video`, `thumbnail`).
    sources: Value,
}

/// Extracts (once) every frame of `video` as a JPEG and repeats them in order into `count`
/// files `frame-00001.jpg` ... (INGEST FRAMES numbers frames by the trailing number).
fn make_jpeg_frames(dir: &Path, video: &Path, count: usize) -> Result<Vec<PathBuf>, BoxError> {
    let frames = dir.join(format!("faces-frames-{count}"));
    let paths: Vec<PathBuf> = (1..=count)
        .map(|i| frames.join(format!("frame-{i:05}.jpg")))
        .collect();
    if paths.iter().all(|p| p.is_file()) {
        return Ok(paths);
    }
    let extracted = dir.join("faces-video-jpeg");
    let _ = std::fs::remove_dir_all(&extracted);
    std::fs::create_dir_all(&extracted)?;
    std::fs::create_dir_all(&frames)?;
    eprintln!("making {count} frames in {} ...", frames.display());
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(video)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-q:v", "3"])
        .arg(extracted.join("src-%05d.jpg"))
        .status()?;
    if !status.success() {
        return Err(format!("ffmpeg could not extract the frames of {}", video.display()).into());
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&extracted)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    sources.sort();
    if sources.is_empty() {
        return Err("ffmpeg extracted no frames".into());
    }
    for (i, path) in paths.iter().enumerate() {
        std::fs::copy(&sources[i % sources.len()], path)?;
    }
    Ok(paths)
}

fn single_u64(batches: &[RecordBatch], column: &str) -> Result<u64, BoxError> {
    let batch = batches.first().ok_or("the statement returned no row")?;
    let array = batch
        .column_by_name(column)
        .ok_or(format!("no column {column}"))?;
    Ok(array.as_primitive::<UInt64Type>().value(0))
}

/// Runs `DETECT FACES` into `table` and reads what it wrote.
async fn scan(db: &reeldb::Database, root: &Path, table: &str) -> Result<Scan, BoxError> {
    let statement = format!(
        "DETECT FACES IN frames USING yunet, mobilefacenet INTO {table} WITH (root = '{}')",
        root.display()
    );
    let started = Instant::now();
    let report = db.sql(&statement).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut per_frame = Vec::new();
    for batch in db
        .sql(&format!("SELECT faces FROM {table}_frames ORDER BY frame"))
        .await?
    {
        let faces = batch.column(0);
        match faces.data_type() {
            arrow::datatypes::DataType::Int64 => {
                per_frame.extend(faces.as_primitive::<Int64Type>().values().iter().copied())
            }
            _ => per_frame.extend(
                faces
                    .as_primitive::<Int32Type>()
                    .values()
                    .iter()
                    .map(|v| i64::from(*v)),
            ),
        }
    }
    let mut sources = serde_json::Map::new();
    for batch in db
        .sql(&format!(
            "SELECT source, count(*) FROM {table}_frames GROUP BY source"
        ))
        .await?
    {
        let names = batch.column(0).as_string::<i32>();
        let counts = batch.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            sources.insert(names.value(row).to_string(), json!(counts.value(row)));
        }
    }
    Ok(Scan {
        seconds,
        frames: single_u64(&report, "frames")?,
        faces: single_u64(&report, "faces")?,
        skipped: single_u64(&report, "skipped")?,
        per_frame,
        sources: Value::Object(sources),
    })
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Runs the benchmark; see the module documentation.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let mut options = parse(args)?;
    if !args.iter().any(|a| a == "--images") {
        options.images = 1000;
    }
    let repeat = options.repeat.max(1);
    let fixtures = fixtures();
    let detector = fixtures.join("models/face/yunet_s_dynamic.onnx");
    let encoder = fixtures.join("models/face/mobilefacenet_foamliu.onnx");
    let video = fixtures
        .join("video/white-house-event.mp4")
        .canonicalize()?;
    let video_dir = video.parent().ok_or("the video has a directory")?;
    std::fs::create_dir_all(&options.dir)?;
    let paths = make_jpeg_frames(&options.dir, &video, options.images)?;
    let frames_dir = paths[0].parent().ok_or("frames have a directory")?;
    let list = options.dir.join("faces-bench-images.txt");
    let text: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, text.join("\n"))?;

    let datasets = [
        Dataset {
            name: "video",
            ingest: format!(
                "INGEST VIDEO FROM '{}' WITH (every = '{EVERY}s')",
                video.display()
            ),
            root: video_dir.to_path_buf(),
            python_source: vec![
                "--video".into(),
                video.display().to_string(),
                "--every".into(),
                EVERY.into(),
            ],
        },
        Dataset {
            name: "jpeg",
            ingest: format!(
                "INGEST FRAMES FROM '{}' WITH (interval = '{EVERY}s')",
                frames_dir.display()
            ),
            root: frames_dir.to_path_buf(),
            python_source: vec!["--images".into(), list.display().to_string()],
        },
    ];
    for dataset in &datasets {
        let db_dir = options
            .dir
            .join(format!("faces-bench-{}.reeldb", dataset.name));
        let _ = std::fs::remove_dir_all(&db_dir);
        let db = reeldb::Database::open(&db_dir)?;
        db.sql(&format!("CREATE MODEL yunet FROM '{}'", detector.display()))
            .await?;
        db.sql(&format!(
            "CREATE MODEL mobilefacenet FROM '{}' WITH (layout = 'face-encoder')",
            encoder.display()
        ))
        .await?;
        db.sql(&dataset.ingest).await?;
        // Loads both models (and ONNX Runtime) outside the timed runs.
        db.sql("CREATE TABLE warm AS SELECT * FROM frames ORDER BY frame LIMIT 16")
            .await?;
        db.sql(&format!(
            "DETECT FACES IN warm USING yunet, mobilefacenet INTO warm_faces WITH (root = '{}')",
            dataset.root.display()
        ))
        .await?;

        let mut scans = Vec::new();
        for run in 0..repeat {
            scans.push(scan(&db, &dataset.root, &format!("faces_{run}")).await?);
        }
        let seconds = median(scans.iter().map(|s| s.seconds).collect());
        let last = scans.pop().expect("at least one run");
        let label = match dataset.name {
            "video" => {
                format!("white-house-event.mp4 every {EVERY}s, re-decoded by ffmpeg (640x360)")
            }
            _ => format!(
                "{} 640x360 JPEGs (the video's frames, repeated)",
                paths.len()
            ),
        };
        let reeldb_fps = last.frames as f64 / seconds;
        emit(json!({
            "bench": "faces", "dataset": dataset.name, "data": label,
            "pipeline": "reeldb DETECT FACES (yunet, mobilefacenet)",
            "frames": last.frames, "faces": last.faces, "skipped": last.skipped,
            "sources": last.sources, "threads": rayon::current_num_threads(),
            "seconds": round(seconds, 3),
            "frames_per_second": round(reeldb_fps, 2),
            "faces_per_second": round(last.faces as f64 / seconds, 2),
        }));
        drop(db);
        std::fs::remove_dir_all(&db_dir)?;

        if options.python {
            let counts_file = options
                .dir
                .join(format!("faces-bench-{}-counts.json", dataset.name));
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("faces_ort_bench.py");
            let output = Command::new("python3")
                .arg(&script)
                .arg(&detector)
                .arg(&encoder)
                .args(&dataset.python_source)
                .args(["--dataset", dataset.name, "--repeat", &repeat.to_string()])
                .arg("--counts")
                .arg(&counts_file)
                .output()?;
            if !output.status.success() {
                return Err(format!(
                    "faces_ort_bench.py failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
                .into());
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout
                .lines()
                .last()
                .ok_or("faces_ort_bench.py printed nothing")?;
            println!("{line}");
            let python: Value = serde_json::from_str(line)?;
            let python_counts: Vec<i64> =
                serde_json::from_str(&std::fs::read_to_string(&counts_file)?)?;
            let python_fps = python["frames_per_second"].as_f64().unwrap_or(f64::NAN);
            let python_faces = python["faces"].as_i64().unwrap_or(-1);
            let differing = last
                .per_frame
                .iter()
                .zip(&python_counts)
                .filter(|(a, b)| a != b)
                .count()
                + last.per_frame.len().abs_diff(python_counts.len());
            emit(json!({
                "bench": "faces", "dataset": dataset.name, "comparison": "reeldb / python",
                "ratio_frames_per_second": round(reeldb_fps / python_fps, 2),
                "reeldb_faces": last.faces, "python_faces": python_faces,
                "face_difference": last.faces as i64 - python_faces,
                "reeldb_frames": last.per_frame.len(), "python_frames": python_counts.len(),
                "frames_with_different_counts": differing,
            }));
        }
    }
    Ok(())
}
