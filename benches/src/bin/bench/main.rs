//! `reeldb-bench`: dataset benchmarks that print one JSON line per measurement.
//!
//! ```text
//! reeldb-bench core [--rows 1000000] [--dim 512] [--dir DIR] [--repeat 3]
//! ```
//!
//! `core` makes a Parquet file of `rows` frames (id, video, ts, a `dim`-d vector) with a fixed
//! seed and measures, in one run:
//! - `copy_from`: `COPY t FROM 'file'` into a new database, against reading and re-writing the
//!   same file with the `parquet` crate directly (same writer properties);
//! - `filtered_aggregate`: a `WHERE ts BETWEEN .. GROUP BY video` query through reeldb, against
//!   DataFusion reading the same Parquet files directly;
//! - `trivial_query`: planning and running `SELECT id FROM t WHERE id = 42` on an open
//!   database (median and 95th percentile of 50 runs).
//!
//! `ann` measures nearest-neighbour search: index build, queries per second and recall@10
//! against `ef_search` on 1 and 2 threads, the same through SQL, exact-scan speed against the
//! machine's memory bandwidth, and hnswlib on the same data (see `ann.rs`).
//!
//! `cluster` runs DBSCAN, HDBSCAN, k-means and t-SNE against scikit-learn on the same
//! synthetic clustered vectors (see `cluster.rs`).
//!
//! `models` measures images per second through `embed_image()` with the built-in model and an
//! ONNX model, against onnxruntime's Python API on the same images (see `models.rs`).
//!
//! `faces` measures frames and faces per second through `DETECT FACES` (YuNet and
//! MobileFaceNet) on a video and on JPEG frames, against onnxruntime's Python API with numpy
//! alignment on the same frames (see `faces.rs`).
//!
//! `pictures` measures seconds per PNG of `contact_sheet`, `image_cloud`, `scatter` and
//! `heatmap` through SQL on ingested thumbnails, against Pillow and matplotlib drawing the
//! same pictures from the same thumbnails (see `pictures.rs`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ann;
mod cluster;
mod faces;
mod ingest;
mod models;
mod pictures;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatchReader;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reeldb_engine::vector::{vector_item_field, vector_type};
use serde_json::json;

const BATCH_ROWS: usize = 8192;
const VIDEOS: usize = 50;

struct Options {
    rows: usize,
    dim: usize,
    dir: PathBuf,
    repeat: usize,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rows: 1_000_000,
        dim: 512,
        dir: std::env::temp_dir().join("reeldb-bench"),
        repeat: 3,
    };
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--rows" => options.rows = value.parse().map_err(|_| "--rows takes a number")?,
            "--dim" => options.dim = value.parse().map_err(|_| "--dim takes a number")?,
            "--dir" => options.dir = PathBuf::from(value),
            "--repeat" => options.repeat = value.parse().map_err(|_| "--repeat takes a number")?,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(options)
}

/// A small, seeded generator (xorshift64*), so the data is the same in every run.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 24) as f32 - 0.5
    }
}

fn schema(dim: usize) -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("video", DataType::Utf8, true),
        Field::new("ts", DataType::Float64, true),
        Field::new("embedding", vector_type(dim as i32), true),
    ]))
}

fn make_dataset(path: &Path, rows: usize, dim: usize) -> std::io::Result<()> {
    let schema = schema(dim);
    let file = File::create(path)?;
    let mut writer = ArrowWriter::try_new(
        file,
        Arc::clone(&schema),
        Some(reeldb_engine::writer_properties(&schema)),
    )
    .map_err(std::io::Error::other)?;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut start = 0;
    while start < rows {
        let n = BATCH_ROWS.min(rows - start);
        let ids = Int64Array::from_iter_values(start as i64..(start + n) as i64);
        let videos: StringArray = (start..start + n)
            .map(|i| Some(format!("STATION{}_2023101{}", (i * VIDEOS / rows), i % 7)))
            .collect();
        let ts = Float64Array::from_iter_values((start..start + n).map(|i| i as f64 * 2.0));
        let values: Vec<f32> = (0..n * dim).map(|_| rng.next_f32()).collect();
        let vectors = FixedSizeListArray::new(
            Arc::new(vector_item_field()),
            dim as i32,
            Arc::new(Float32Array::from(values)),
            None,
        );
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(ids) as ArrayRef,
                Arc::new(videos),
                Arc::new(ts),
                Arc::new(vectors),
            ],
        )
        .map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(std::io::Error::other)?;
        start += n;
    }
    writer.close().map_err(std::io::Error::other)?;
    Ok(())
}

/// Reads `input` and writes it again with the parquet crate alone: the ceiling for COPY FROM.
fn parquet_rewrite(input: &Path, output: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(input)?)?
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let schema = reader.schema();
    let mut writer = ArrowWriter::try_new(
        File::create(output)?,
        Arc::clone(&schema),
        Some(reeldb_engine::writer_properties(&schema)),
    )?;
    for batch in reader {
        writer.write(&batch?)?;
    }
    writer.close()?;
    File::open(output)?.sync_all()?;
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index]
}

async fn core(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&options.dir)?;
    let data = options
        .dir
        .join(format!("frames-{}x{}.parquet", options.rows, options.dim));
    if !data.exists() {
        eprintln!("making {} ...", data.display());
        make_dataset(&data, options.rows, options.dim)?;
    }
    let bytes = std::fs::metadata(&data)?.len() as f64;
    let megabytes = bytes / 1e6;
    let dataset = format!("synthetic-{}x{}", options.rows, options.dim);

    // COPY FROM against the parquet crate's own read + write.
    let (mut baseline, mut ours) = (Vec::new(), Vec::new());
    let mut db_path = PathBuf::new();
    for run in 0..options.repeat {
        let copy = options.dir.join("rewrite.parquet");
        let started = Instant::now();
        parquet_rewrite(&data, &copy)?;
        baseline.push(started.elapsed().as_secs_f64());
        std::fs::remove_file(&copy)?;

        db_path = options.dir.join(format!("bench-{run}.reeldb"));
        let _ = std::fs::remove_dir_all(&db_path);
        let db = reeldb::Database::open(&db_path)?;
        db.sql(&format!(
            "CREATE TABLE t (id BIGINT NOT NULL, video TEXT, ts DOUBLE, embedding VECTOR({}))",
            options.dim
        ))
        .await?;
        let started = Instant::now();
        db.sql(&format!("COPY t FROM '{}'", data.display())).await?;
        ours.push(started.elapsed().as_secs_f64());
        if run + 1 < options.repeat {
            drop(db);
            std::fs::remove_dir_all(&db_path)?;
        }
    }
    let (base_s, ours_s) = (median(baseline), median(ours));
    println!(
        "{}",
        json!({"bench": "copy_from", "dataset": dataset, "megabytes": megabytes,
               "parquet_crate_seconds": base_s, "parquet_crate_mb_per_s": megabytes / base_s,
               "reeldb_seconds": ours_s, "reeldb_mb_per_s": megabytes / ours_s,
               "ratio": base_s / ours_s})
    );

    // A filtered aggregate: reeldb against DataFusion on the same files.
    let db = reeldb::Database::open(&db_path)?;
    let low = options.rows as f64 * 0.4;
    let high = options.rows as f64 * 0.6;
    let query = format!(
        "SELECT video, count(*) AS n, avg(ts) AS mean_ts FROM t WHERE ts BETWEEN {low} AND {high} GROUP BY video ORDER BY video"
    );
    let ctx = SessionContext::new();
    let files = db_path.join("data/t1");
    ctx.register_parquet(
        "t",
        files.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await?;
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    let mut rows_seen = (0, 0);
    for _ in 0..options.repeat.max(3) {
        let started = Instant::now();
        let batches = ctx.sql(&query).await?.collect().await?;
        direct.push(started.elapsed().as_secs_f64());
        rows_seen.0 = batches.iter().map(|b| b.num_rows()).sum::<usize>();
        let started = Instant::now();
        let batches = db.sql(&query).await?;
        through.push(started.elapsed().as_secs_f64());
        rows_seen.1 = batches.iter().map(|b| b.num_rows()).sum::<usize>();
    }
    assert_eq!(
        rows_seen.0, rows_seen.1,
        "both engines must return the same groups"
    );
    let (direct_s, through_s) = (median(direct), median(through));
    println!(
        "{}",
        json!({"bench": "filtered_aggregate", "dataset": dataset, "query": query,
               "datafusion_seconds": direct_s, "reeldb_seconds": through_s,
               "ratio": direct_s / through_s})
    );

    // Planning and running a trivial query on an open database.
    let mut times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        db.sql("SELECT id FROM t WHERE id = 42").await?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut select_one = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        db.sql("SELECT 1").await?;
        select_one.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{}",
        json!({"bench": "trivial_query", "dataset": dataset,
               "point_lookup_ms_median": median(times.clone()), "point_lookup_ms_p95": percentile(times, 0.95),
               "select_1_ms_median": median(select_one.clone()), "select_1_ms_p95": percentile(select_one, 0.95)})
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: reeldb-bench core [--rows N] [--dim D] [--dir DIR] [--repeat R]\n       \
                 reeldb-bench ann (--base F --query F [--truth F] | --synthetic NxD) [options]\n       \
                 reeldb-bench cluster [--rows N] [--dim D] [--clusters K] [--tsne-rows N] [--methods M,..] [--no-sklearn] [--sql]\n       \
                 reeldb-bench models [--images N] [--dir DIR] [--repeat R] [--python]\n       \
                 reeldb-bench ingest [--images N] [--dir DIR] [--repeat R]\n       \
                 reeldb-bench faces [--images N] [--dir DIR] [--repeat R] [--python]\n       \
                 reeldb-bench pictures [--images N] [--sheet N] [--points N] [--cells N] [--dir DIR] [--repeat R] [--python]";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = match args.first().map(String::as_str) {
        Some("core") => match parse_options(&args[1..]) {
            Ok(options) => runtime.block_on(core(options)),
            Err(e) => {
                eprintln!("{e}\n{usage}");
                return std::process::ExitCode::from(2);
            }
        },
        Some("ann") => runtime.block_on(ann::run(&args[1..])),
        Some("cluster") => runtime.block_on(cluster::run(&args[1..])),
        Some("models") => runtime.block_on(models::run(&args[1..])),
        Some("ingest") => runtime.block_on(ingest::run(&args[1..])),
        Some("faces") => runtime.block_on(faces::run(&args[1..])),
        Some("pictures") => runtime.block_on(pictures::run(&args[1..])),
        _ => {
            eprintln!("{usage}");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
