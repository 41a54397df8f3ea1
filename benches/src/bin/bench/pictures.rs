//! `reeldb-bench pictures`: seconds to draw each picture function's PNG from a table, against
//! the same picture made by Pillow (contact sheet, image cloud) and matplotlib (scatter,
//! heatmap) from the same thumbnails and numbers in the same run
//! (`benches/pictures_python_bench.py`).
//!
//! ```text
//! reeldb-bench pictures [--images 2000] [--sheet 1000] [--points 100000] [--cells 20]
//!                       [--dir DIR] [--repeat 3] [--python]
//! ```
//!
//! The thumbnails are real ingest output: `--images` 640×360 JPEGs made from the fixture
//! photos (`models::make_frames`), `INGEST FRAMES` into a new database, which stores each
//! frame's 256×144 JPEG thumbnail (quality 80). `COPY ... TO '{frame}.jpg'` writes the same
//! thumbnail bytes out for Python, which reads them into memory before it starts its clock.
//!
//! Timed, each a whole `SELECT` through SQL (scan, decode, draw, PNG encode):
//! - `contact_sheet`: the first `--sheet` frames, 40 columns of 160×90 cells, each captioned
//!   `frame N` (seed 000's top-50 grid, larger);
//! - `image_cloud`: all `--images` thumbnails on a 2000×2000 map (100 px each), placed on a
//!   sunflower spiral so that they cover the map and overlap as a t-SNE cloud does;
//! - `scatter`: `--points` points in 10 labelled groups and a grey noise group, 900×700;
//! - `heatmap`: a `--cells` × `--cells` cluster-pair similarity grid, each value written in
//!   its cell.

use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use arrow::array::{Array, AsArray};
use serde_json::{Value, json};

use crate::models::{emit, make_frames, median};

type BoxError = Box<dyn Error>;

struct Options {
    images: usize,
    sheet: usize,
    points: usize,
    cells: usize,
    dir: std::path::PathBuf,
    repeat: usize,
    python: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        images: 2_000,
        sheet: 1_000,
        points: 100_000,
        cells: 20,
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
        let number = |name: &str| -> Result<usize, String> {
            value.parse().map_err(|_| format!("{name} takes a number"))
        };
        match args[i].as_str() {
            "--images" => options.images = number("--images")?,
            "--sheet" => options.sheet = number("--sheet")?,
            "--points" => options.points = number("--points")?,
            "--cells" => options.cells = number("--cells")?,
            "--repeat" => options.repeat = number("--repeat")?.max(1),
            "--dir" => options.dir = value.into(),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if options.images == 0 {
        return Err("--images must be at least 1".into());
    }
    if options.sheet > options.images {
        return Err("--sheet cannot be more than --images".into());
    }
    Ok(options)
}

/// The golden angle: consecutive frames on the spiral are as far apart as they can be.
const GOLDEN_ANGLE: f64 = 2.399_963_229_728_653;

/// The statements timed, by picture. Python draws the same pictures from the same numbers
/// (`pictures_python_bench.py` repeats these formulas).
fn statements(options: &Options) -> Vec<(&'static str, String)> {
    vec![
        (
            "contact_sheet",
            format!(
                "SELECT contact_sheet(thumbnail, 'frame ' || frame, columns => 40, \
                 cell_width => 160, cell_height => 90 ORDER BY frame) \
                 FROM (SELECT frame, thumbnail FROM frames ORDER BY frame LIMIT {})",
                options.sheet
            ),
        ),
        (
            "image_cloud",
            format!(
                "SELECT image_cloud(thumbnail, sqrt(frame) * cos(frame * {GOLDEN_ANGLE}), \
                 sqrt(frame) * sin(frame * {GOLDEN_ANGLE}), size => 2000, thumb => 100 \
                 ORDER BY frame) FROM frames"
            ),
        ),
        (
            "scatter",
            "SELECT scatter(x, y, label, title => 'points by group') FROM points".to_string(),
        ),
        (
            "heatmap",
            "SELECT heatmap(a, b, score, title => 'cluster similarity', annotate => true) \
             FROM pairs"
                .to_string(),
        ),
    ]
}

/// The one PNG cell a picture statement returns.
fn png_of(batches: &[arrow::array::RecordBatch]) -> Result<Vec<u8>, BoxError> {
    let column = batches
        .first()
        .ok_or("the picture statement returned no row")?
        .column(0);
    let bytes = column.as_binary_opt::<i32>().ok_or("not a BLOB")?;
    if bytes.is_null(0) {
        return Err("the picture is NULL".into());
    }
    Ok(bytes.value(0).to_vec())
}

/// Runs the benchmark; see the module documentation.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let options = parse(args)?;
    std::fs::create_dir_all(&options.dir)?;
    let frames = make_frames(&options.dir, options.images)?;
    let frames_dir = frames[0].parent().ok_or("frames have a directory")?;

    let db_dir = options.dir.join("pictures-bench.reeldb");
    let _ = std::fs::remove_dir_all(&db_dir);
    let db = reeldb::Database::open(&db_dir)?;
    eprintln!("ingesting {} frames ...", options.images);
    db.sql(&format!(
        "INGEST FRAMES FROM '{}' WITH (interval = '2s')",
        frames_dir.display()
    ))
    .await?;
    // Points: group g = i % 10 around a centre on a circle, every 20th point noise (-1). The
    // jitter is a hash of i (sin-fract), the same in Python.
    db.sql(&format!(
        "CREATE TABLE points AS SELECT \
           CASE WHEN i % 20 = 0 THEN -1 ELSE i % 10 END AS label, \
           10 * cos((i % 10) * 0.6283) + 6 * (h1 - floor(h1) - 0.5) AS x, \
           10 * sin((i % 10) * 0.6283) + 6 * (h2 - floor(h2) - 0.5) AS y \
         FROM (SELECT value AS i, sin(value * 12.9898) * 43758.5453 AS h1, \
                      sin(value * 78.233) * 43758.5453 AS h2 \
               FROM generate_series(0, {}))",
        options.points.saturating_sub(1)
    ))
    .await?;
    db.sql(&format!(
        "CREATE TABLE pairs AS SELECT 'cluster ' || a.value AS a, 'cluster ' || b.value AS b, \
           cos((a.value - b.value) * 0.3) * 0.5 + 0.5 AS score \
         FROM generate_series(0, {n}) a CROSS JOIN generate_series(0, {n}) b",
        n = options.cells.saturating_sub(1)
    ))
    .await?;

    let mut ours = serde_json::Map::new();
    for (name, sql) in statements(&options) {
        // One untimed run: the first decode of the font and the plan caches.
        let png = png_of(&db.sql(&sql).await?)?;
        let mut seconds = Vec::new();
        for _ in 0..options.repeat {
            let started = Instant::now();
            let batches = db.sql(&sql).await?;
            seconds.push(started.elapsed().as_secs_f64());
            png_of(&batches)?;
        }
        let picture = image::load_from_memory(&png)?;
        let line = json!({
            "bench": "pictures",
            "side": "reeldb",
            "picture": name,
            "seconds": median(seconds),
            "width": picture.width(),
            "height": picture.height(),
            "png_bytes": png.len(),
        });
        ours.insert(name.to_string(), line.clone());
        emit(line);
    }

    if options.python {
        let thumbs = options
            .dir
            .join(format!("pictures-thumbs-{}", options.images));
        let _ = std::fs::remove_dir_all(&thumbs);
        std::fs::create_dir_all(&thumbs)?;
        db.sql(&format!(
            "COPY (SELECT frame, thumbnail FROM frames) TO '{}/{{frame}}.jpg'",
            thumbs.display()
        ))
        .await?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pictures_python_bench.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg("--thumbs")
            .arg(&thumbs)
            .args(["--sheet", &options.sheet.to_string()])
            .args(["--points", &options.points.to_string()])
            .args(["--cells", &options.cells.to_string()])
            .args(["--repeat", &options.repeat.to_string()])
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let theirs: Value = serde_json::from_str(line)?;
            let picture = theirs["picture"].as_str().unwrap_or_default().to_string();
            let ratio = ours
                .get(&picture)
                .and_then(|o| Some(theirs["seconds"].as_f64()? / o["seconds"].as_f64()?));
            let mut theirs = theirs;
            theirs["python_over_reeldb"] = json!(ratio);
            emit(theirs);
        }
    }
    Ok(())
}
