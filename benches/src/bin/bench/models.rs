//! `reeldb-bench models`: images per second through `embed_image()`, decode included, for the
//! built-in model and for an ONNX image model (MobileFaceNet from the fixtures), against
//! onnxruntime's own Python API running the same model on the same images in the same run
//! (`benches/onnx_image_bench.py`), and against a plain loop that only decodes the files.
//!
//! ```text
//! reeldb-bench models [--images 400] [--dir DIR] [--repeat 3] [--python]
//! ```
//!
//! The images are 640×360 JPEGs (quality 85), the size of a TV news frame: seeded crops of the
//! fixture photos, made once under `--dir`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::imageops::{FilterType, crop_imm, resize};
use rayon::prelude::*;
use serde_json::{Value, json};

type BoxError = Box<dyn Error>;

/// The options `models` and `ingest` share.
pub struct ModelOptions {
    /// How many frames.
    pub images: usize,
    /// Where the frames are made (once).
    pub dir: PathBuf,
    /// Runs per measurement (the median is reported).
    pub repeat: usize,
    /// Also run the Python comparison.
    pub python: bool,
}

/// Parses `--images`, `--dir`, `--repeat` and `--python`.
pub fn parse(args: &[String]) -> Result<ModelOptions, String> {
    let mut options = ModelOptions {
        images: 400,
        dir: std::env::temp_dir().join("reeldb-bench"),
        repeat: 3,
        python: false,
    };
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--python" {
            options.python = true;
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--images" => options.images = value.parse().map_err(|_| "--images takes a number")?,
            "--dir" => options.dir = PathBuf::from(value),
            "--repeat" => options.repeat = value.parse().map_err(|_| "--repeat takes a number")?,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(options)
}

/// The shared fixtures directory (`../shared/fixtures` beside the repository).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// Makes (once) `count` 640×360 JPEGs from seeded crops of the fixture photos.
pub fn make_frames(dir: &Path, count: usize) -> Result<Vec<PathBuf>, BoxError> {
    let frames = dir.join(format!("frames-640x360-{count}"));
    let paths: Vec<PathBuf> = (0..count)
        .map(|i| frames.join(format!("frame-{i:05}.jpg")))
        .collect();
    if paths.iter().all(|p| p.is_file()) {
        return Ok(paths);
    }
    std::fs::create_dir_all(&frames)?;
    eprintln!("making {count} frames in {} ...", frames.display());
    let photos: Vec<image::RgbImage> = std::fs::read_dir(fixtures().join("images"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
        .map(|p| image::open(&p).map(|i| i.to_rgb8()))
        .collect::<Result<_, _>>()?;
    let mut state = 0x5EED_F00D_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (i, path) in paths.iter().enumerate() {
        let photo = &photos[i % photos.len()];
        let (w, h) = photo.dimensions();
        // A 16:9 window of 60-100 % of the photo's width, anywhere in it.
        let crop_w = (w as u64 * (60 + next() % 41) / 100).max(16) as u32;
        let crop_h = (crop_w * 9 / 16).min(h);
        let x = (next() % (w - crop_w + 1) as u64) as u32;
        let y = (next() % (h - crop_h + 1) as u64) as u32;
        let frame = resize(
            &crop_imm(photo, x, y, crop_w, crop_h).to_image(),
            640,
            360,
            FilterType::Triangle,
        );
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&frame)?;
    }
    Ok(paths)
}

/// Prints one JSON line of results.
pub fn emit(line: Value) {
    println!("{line}");
}

/// The median (upper middle) of `values`.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the benchmark; see the module documentation.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let options = parse(args)?;
    let paths = make_frames(&options.dir, options.images)?;
    let n = paths.len() as f64;
    let threads = rayon::current_num_threads();

    // The ceiling: decoding the files on all cores and nothing else.
    let mut decode = Vec::new();
    for _ in 0..options.repeat {
        let started = Instant::now();
        paths.par_iter().try_for_each(|p| {
            image::open(p).map(|i| {
                std::hint::black_box(i.to_rgb8());
            })
        })?;
        decode.push(n / started.elapsed().as_secs_f64());
    }
    emit(
        json!({"bench": "models", "pipeline": "decode only (image crate, rayon)",
                "images": paths.len(), "threads": threads,
                "images_per_second": median(decode)}),
    );

    let db_dir = options.dir.join("models-bench.reeldb");
    let _ = std::fs::remove_dir_all(&db_dir);
    let db = reeldb::Database::open(&db_dir)?;
    let encoder = fixtures().join("models/face/mobilefacenet_foamliu.onnx");
    db.sql(&format!(
        "CREATE MODEL mobilefacenet FROM '{}' WITH (layout = 'face-encoder')",
        encoder.display()
    ))
    .await?;
    let values: Vec<String> = paths
        .iter()
        .map(|p| format!("('{}')", p.display()))
        .collect();
    db.sql(&format!(
        "CREATE TABLE frames AS SELECT column1 AS path FROM (VALUES {})",
        values.join(", ")
    ))
    .await?;
    for model in ["builtin", "mobilefacenet"] {
        // One untimed run loads the model (and ONNX Runtime).
        db.sql(&format!(
            "SELECT embed_image(path, '{model}') FROM frames LIMIT 1"
        ))
        .await?;
        let mut rates = Vec::new();
        for _ in 0..options.repeat {
            let started = Instant::now();
            let batches = db
                .sql(&format!("SELECT embed_image(path, '{model}') FROM frames"))
                .await?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert_eq!(rows, paths.len());
            rates.push(n / started.elapsed().as_secs_f64());
        }
        emit(
            json!({"bench": "models", "pipeline": format!("reeldb embed_image(path, '{model}')"),
                    "images": paths.len(), "threads": threads,
                    "images_per_second": median(rates)}),
        );
    }

    if options.python {
        let list = options.dir.join("models-bench-images.txt");
        let text: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        std::fs::write(&list, text.join("\n"))?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx_image_bench.py");
        let output = std::process::Command::new("python3")
            .arg(&script)
            .arg(&encoder)
            .arg(&list)
            .args(["--repeat", &options.repeat.to_string()])
            .output()?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            return Err(format!(
                "onnx_image_bench.py failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    Ok(())
}
