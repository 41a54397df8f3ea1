//! `reeldb-bench cluster`: DBSCAN, HDBSCAN, k-means and t-SNE against scikit-learn on the same
//! data, in the same run.
//!
//! ```text
//! reeldb-bench cluster [--rows 20000] [--dim 384] [--clusters 50] [--tsne-rows 10000]
//!                      [--methods dbscan,hdbscan,kmeans,tsne] [--no-sklearn] [--sql]
//!                      [--dir DIR]
//! ```
//!
//! The data is a seeded mixture of `clusters` Gaussian blobs (centres N(0, 1) per dimension,
//! spread 0.35), written as raw `f32` for `cluster_sklearn.py`, which runs scikit-learn on it
//! in a child process. Each method runs through the engine's API (what `cluster()` calls for
//! each partition), and with `--sql` also through SQL (`cluster(v, ...) OVER ()` over a table
//! of the vectors). One JSON line per method: our seconds and scikit-learn's, the speed-up,
//! how many clusters and noise points each found, and the adjusted Rand index between the two
//! labellings (for t-SNE: the trustworthiness of both maps, 10 neighbours).

use std::path::{Path, PathBuf};
use std::time::Instant;

use reeldb_linalg::cluster::NOISE;
use reeldb_linalg::cluster::dbscan::{DbscanParams, dbscan};
use reeldb_linalg::cluster::hdbscan::{HdbscanParams, hdbscan};
use reeldb_linalg::cluster::kmeans::{KMeansParams, kmeans};
use reeldb_linalg::cluster::quality::adjusted_rand_index;
use reeldb_linalg::neighbours::ClusterMetric;
use reeldb_linalg::projection::trustworthiness::trustworthiness;
use reeldb_linalg::projection::tsne::{TsneParams, tsne};
use reeldb_linalg::{Points, SeededRng};
use serde_json::{Value, json};

use crate::ann::Vectors;

type BoxError = Box<dyn std::error::Error>;

/// The spread of each blob around its centre, per dimension.
const SPREAD: f32 = 0.35;

struct ClusterOptions {
    rows: usize,
    dim: usize,
    clusters: usize,
    tsne_rows: usize,
    methods: Vec<String>,
    sklearn: bool,
    sql: bool,
    dir: PathBuf,
}

fn parse(args: &[String]) -> Result<ClusterOptions, String> {
    let mut options = ClusterOptions {
        rows: 20_000,
        dim: 384,
        clusters: 50,
        tsne_rows: 10_000,
        methods: ["dbscan", "hdbscan", "kmeans", "tsne"]
            .map(String::from)
            .to_vec(),
        sklearn: true,
        sql: false,
        dir: std::env::temp_dir().join("reeldb-bench-cluster"),
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        match flag {
            "--no-sklearn" => {
                options.sklearn = false;
                i += 1;
                continue;
            }
            "--sql" => {
                options.sql = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        let value = args.get(i + 1).ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag} takes a number"))
        };
        match flag {
            "--rows" => options.rows = number()?,
            "--dim" => options.dim = number()?,
            "--clusters" => options.clusters = number()?,
            "--tsne-rows" => options.tsne_rows = number()?,
            "--methods" => options.methods = value.split(',').map(String::from).collect(),
            "--dir" => options.dir = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(options)
}

/// `rows` vectors drawn from `clusters` blobs, row after row.
fn mixture(rows: usize, dim: usize, clusters: usize) -> Vec<f32> {
    let mut rng = SeededRng::new(2026);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.normal() as f32).collect();
    let mut values = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let c = rng.below(clusters);
        values.extend((0..dim).map(|j| centres[c * dim + j] + SPREAD * rng.normal() as f32));
    }
    values
}

fn write_f32(path: &Path, values: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

fn read_i64(path: &Path) -> std::io::Result<Vec<i64>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

fn read_f32(path: &Path) -> std::io::Result<Vec<f32>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect())
}

fn counts(labels: &[i64]) -> (usize, usize) {
    let clusters: std::collections::HashSet<i64> =
        labels.iter().copied().filter(|&l| l != NOISE).collect();
    (
        clusters.len(),
        labels.iter().filter(|&&l| l == NOISE).count(),
    )
}

/// Runs `cluster_sklearn.py` on `data` and returns its JSON line and output file.
fn sklearn(
    options: &ClusterOptions,
    data: &Path,
    rows: usize,
    method: &str,
    extra: &[String],
) -> Result<(Value, PathBuf), BoxError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster_sklearn.py");
    let out = options.dir.join(format!("{method}.sklearn.out"));
    let output = std::process::Command::new("python3")
        .arg(&script)
        .args(["--data", &data.to_string_lossy()])
        .args([
            "--rows",
            &rows.to_string(),
            "--dim",
            &options.dim.to_string(),
        ])
        .args(["--method", method, "--labels-out", &out.to_string_lossy()])
        .args(extra)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cluster_sklearn.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let line: Value = serde_json::from_slice(&output.stdout)?;
    Ok((line, out))
}

/// Loads the vectors as table `t (id, v)` of a new database, for the SQL runs.
fn load_table(dir: &Path, values: &[f32], dim: usize) -> Result<reeldb::Database, BoxError> {
    let path = dir.join("cluster.reeldb");
    if path.exists() {
        std::fs::remove_dir_all(&path)?;
    }
    let db = reeldb::Database::open(&path)?;
    let vectors = Vectors {
        dim,
        values: values.to_vec(),
    };
    crate::ann::load_table(&db, &vectors)?;
    Ok(db)
}

async fn time_sql(db: &reeldb::Database, call: &str) -> Result<f64, BoxError> {
    let started = Instant::now();
    db.sql(&format!(
        "SELECT count(c) FROM (SELECT {call} OVER () AS c FROM t)"
    ))
    .await?;
    Ok(started.elapsed().as_secs_f64())
}

/// Runs the benchmark.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let options = parse(args)?;
    std::fs::create_dir_all(&options.dir)?;
    let (rows, dim) = (options.rows, options.dim);
    let values = mixture(rows, dim, options.clusters);
    let points = Points::new(&values, dim)?;
    let data = options.dir.join("data.f32");
    write_f32(&data, &values)?;
    let db = if options.sql {
        Some(load_table(&options.dir, &values, dim)?)
    } else {
        None
    };
    // Neighbours of a point lie about SPREAD * sqrt(2 dim) away; other blobs much further.
    let eps = SPREAD * (2.0 * dim as f32).sqrt() * 1.1;
    let threads = rayon::current_num_threads();
    for method in &options.methods {
        let base = json!({
            "bench": "cluster", "method": method, "rows": rows, "dim": dim,
            "blobs": options.clusters, "threads": threads,
        });
        let mut line = base.as_object().cloned().unwrap_or_default();
        match method.as_str() {
            "dbscan" | "hdbscan" | "kmeans" => {
                let (labels, seconds, call, extra) = match method.as_str() {
                    "dbscan" => {
                        let mut params = DbscanParams::new(eps);
                        params.min_samples = 5;
                        let started = Instant::now();
                        let labels = dbscan(&points, &params)?;
                        let extra = vec![
                            "--eps".into(),
                            eps.to_string(),
                            "--min-samples".into(),
                            "5".into(),
                        ];
                        line.insert("eps".into(), json!(eps));
                        (
                            labels,
                            started.elapsed().as_secs_f64(),
                            format!("cluster(v, 'dbscan', {eps}, 5)"),
                            extra,
                        )
                    }
                    "hdbscan" => {
                        let params = HdbscanParams::new(20);
                        let started = Instant::now();
                        let labels = hdbscan(&points, &params)?;
                        let extra = vec!["--min-cluster-size".into(), "20".into()];
                        line.insert("min_cluster_size".into(), json!(20));
                        (
                            labels,
                            started.elapsed().as_secs_f64(),
                            "cluster(v, 'hdbscan', 20)".into(),
                            extra,
                        )
                    }
                    _ => {
                        let k = options.clusters;
                        let params = KMeansParams::new(k);
                        let started = Instant::now();
                        let labels = kmeans(&points, &params)?.labels;
                        let extra = vec!["--k".into(), k.to_string(), "--seed".into(), "0".into()];
                        line.insert("k".into(), json!(k));
                        (
                            labels,
                            started.elapsed().as_secs_f64(),
                            format!("cluster(v, 'kmeans', {k})"),
                            extra,
                        )
                    }
                };
                let (clusters, noise) = counts(&labels);
                line.insert("seconds".into(), json!(seconds));
                line.insert("clusters".into(), json!(clusters));
                line.insert("noise".into(), json!(noise));
                if let Some(db) = &db {
                    line.insert("sql_seconds".into(), json!(time_sql(db, &call).await?));
                }
                if options.sklearn {
                    let (theirs, out) = sklearn(&options, &data, rows, method, &extra)?;
                    let their_labels = read_i64(&out)?;
                    let their_seconds = theirs["seconds"].as_f64().unwrap_or(f64::NAN);
                    line.insert("sklearn_seconds".into(), json!(their_seconds));
                    line.insert("speedup".into(), json!(their_seconds / seconds));
                    line.insert("sklearn_clusters".into(), theirs["clusters"].clone());
                    line.insert("sklearn_noise".into(), theirs["noise"].clone());
                    line.insert(
                        "ari_vs_sklearn".into(),
                        json!(adjusted_rand_index(&labels, &their_labels)?),
                    );
                    line.insert("sklearn_threads".into(), theirs["threads"].clone());
                }
            }
            "tsne" => {
                let n = options.tsne_rows.min(rows);
                let subset = Points::new(&values[..n * dim], dim)?;
                let started = Instant::now();
                let map = tsne(&subset, &TsneParams::new())?;
                let seconds = started.elapsed().as_secs_f64();
                let map_points = Points::new(&map, 2)?;
                line.insert("rows".into(), json!(n));
                line.insert("seconds".into(), json!(seconds));
                line.insert(
                    "trustworthiness".into(),
                    json!(trustworthiness(
                        &subset,
                        &map_points,
                        10,
                        ClusterMetric::Euclidean
                    )?),
                );
                if options.sklearn {
                    let subset_file = options.dir.join("tsne.f32");
                    write_f32(&subset_file, &values[..n * dim])?;
                    let extra = vec![
                        "--perplexity".into(),
                        "30".into(),
                        "--seed".into(),
                        "0".into(),
                    ];
                    let (theirs, out) = sklearn(&options, &subset_file, n, "tsne", &extra)?;
                    let their_map = read_f32(&out)?;
                    let their_seconds = theirs["seconds"].as_f64().unwrap_or(f64::NAN);
                    line.insert("sklearn_seconds".into(), json!(their_seconds));
                    line.insert("speedup".into(), json!(their_seconds / seconds));
                    line.insert(
                        "sklearn_trustworthiness".into(),
                        json!(trustworthiness(
                            &subset,
                            &Points::new(&their_map, 2)?,
                            10,
                            ClusterMetric::Euclidean
                        )?),
                    );
                    line.insert("sklearn_threads".into(), theirs["threads"].clone());
                }
            }
            other => {
                return Err(
                    format!("unknown method {other}: use dbscan, hdbscan, kmeans, tsne").into(),
                );
            }
        }
        println!("{}", Value::Object(line));
    }
    Ok(())
}
