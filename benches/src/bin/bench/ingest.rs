//! `reeldb-bench ingest`: frames per second through `ingest_frames()` (read, decode, size,
//! phash, thumbnail, the built-in embedding, Parquet, commits) on 640×360 JPEGs, against a
//! plain loop over the same files in the same run that only decodes and resizes each to the
//! thumbnail's size with the `image` crate, on one thread and on every core (as ingest
//! runs).
//!
//! ```text
//! reeldb-bench ingest [--images 1000] [--dir DIR] [--repeat 3]
//! ```

use std::error::Error;
use std::time::Instant;

use image::imageops::FilterType;
use rayon::prelude::*;
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
    let mut parallel = Vec::new();
    let mut ingest = Vec::new();
    let decode_resize = |path: &std::path::PathBuf| -> Result<u64, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let image = image::load_from_memory(&bytes).map_err(|e| e.to_string())?;
        Ok(u64::from(
            image.resize(256, 256, FilterType::Triangle).width(),
        ))
    };
    for run in 0..options.repeat.max(1) {
        let started = Instant::now();
        let mut pixels = 0u64;
        for path in &paths {
            pixels += decode_resize(path)?;
        }
        plain.push(n / started.elapsed().as_secs_f64());
        assert!(pixels > 0);

        // The same loop on every core, as ingest uses them (issue 21, item 8).
        let started = Instant::now();
        let pixels: u64 = paths
            .par_iter()
            .map(decode_resize)
            .collect::<Result<Vec<u64>, String>>()?
            .into_iter()
            .sum();
        parallel.push(n / started.elapsed().as_secs_f64());
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
    let (plain, parallel, ingest) = (median(plain), median(parallel), median(ingest));
    emit(json!({
        "bench": "ingest",
        "frames": paths.len(),
        "size": "640x360 JPEG q85",
        "threads": rayon::current_num_threads(),
        "plain_decode_resize_per_s": (plain * 10.0).round() / 10.0,
        "parallel_decode_resize_per_s": (parallel * 10.0).round() / 10.0,
        "ingest_builtin_per_s": (ingest * 10.0).round() / 10.0,
        "ratio_to_one_thread": (ingest / plain * 100.0).round() / 100.0,
        "ratio_to_all_cores": (ingest / parallel * 100.0).round() / 100.0,
    }));
    Ok(())
}
