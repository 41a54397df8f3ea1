//! `reeldb-bench ingest`: frames per second through `ingest_frames()` (read, decode, size,
//! phash, thumbnail, the built-in embedding, Parquet, commits) on 640×360 JPEGs, against a
//! plain loop over the same files in the same run that only decodes and resizes each to the
//! thumbnail's size with the `image` crate.
//!
//! ```text
//! reeldb-bench ingest [--images 1000] [--dir DIR] [--repeat 3]
//! ```

use std::error::Error;
use std::time::Instant;

use image::imageops::FilterType;
use reeldb_query::ingest::{FramesOptions, IngestControl, ingest_frames};
use serde_json::json;

use crate::models::{emit, make_frames, median, parse};

/// Runs the benchmark; see the module documentation.
pub async fn run(args: &[String]) -> Result<(), Box<dyn Error>> {
    let mut options = parse(args)?;
    if !args.iter().any(|a| a == "--images") {
        options.images = 1000;
    }
    let paths = make_frames(&options.dir, options.images)?;
    let frames_dir = paths[0]
        .parent()
        .ok_or("frames have a directory")?
        .to_path_buf();
    let n = paths.len() as f64;

    let mut plain = Vec::new();
    let mut ingest = Vec::new();
    for run in 0..options.repeat.max(1) {
        let started = Instant::now();
        let mut pixels = 0u64;
        for path in &paths {
            let image = image::load_from_memory(&std::fs::read(path)?)?;
            let small = image.resize(256, 256, FilterType::Triangle);
            pixels += u64::from(small.width());
        }
        plain.push(n / started.elapsed().as_secs_f64());
        assert!(pixels > 0);

        let db_dir = options.dir.join(format!("ingest-bench-{run}.reeldb"));
        let _ = std::fs::remove_dir_all(&db_dir);
        let session = reeldb_query::Session::new(reeldb_engine::Database::open(&db_dir)?);
        let frames = FramesOptions {
            interval: Some(4.0),
            ..FramesOptions::default()
        };
        let started = Instant::now();
        let report = ingest_frames(
            session.database(),
            session.models(),
            &frames_dir,
            &frames,
            &IngestControl::default(),
        )
        .await?;
        ingest.push(n / started.elapsed().as_secs_f64());
        if report.added as usize != paths.len() {
            return Err(format!("ingest added {} of {} frames", report.added, paths.len()).into());
        }
        std::fs::remove_dir_all(&db_dir)?;
    }
    let (plain, ingest) = (median(plain), median(ingest));
    emit(json!({
        "bench": "ingest",
        "frames": paths.len(),
        "size": "640x360 JPEG q85",
        "threads": rayon::current_num_threads(),
        "plain_decode_resize_per_s": (plain * 10.0).round() / 10.0,
        "ingest_builtin_per_s": (ingest * 10.0).round() / 10.0,
        "ratio": (ingest / plain * 100.0).round() / 100.0,
    }));
    Ok(())
}
