//! `reeldb-bench ann`: nearest-neighbour search, raw and through SQL, against exact search
//! and (optionally) hnswlib on the same data in the same run.
//!
//! ```text
//! reeldb-bench ann --base B.fvecs --query Q.fvecs --truth T.ivecs --metric l2 --name siftsmall
//! reeldb-bench ann --synthetic 100000x512 --clusters 100 --queries 500 --metric cosine
//!     [--m 16] [--ef-construction 200] [--ef 16,32,64,128,256] [--threads 1,2]
//!     [--dir DIR] [--hnswlib]
//! ```
//!
//! Files are `.fvecs`/`.ivecs` (TEXMEX) or `.npy` (float32 base and queries, integer ground
//! truth). Synthetic data is Gaussian clusters with a fixed seed; its ground truth is the
//! exact search, and it is written as `.npy` under `--dir` so that hnswlib reads the same
//! vectors. One JSON line per measurement.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use reeldb_engine::vector::{vector_item_field, vector_type};
use reeldb_engine::{IndexSpec, SearchMode, SearchRequest, Snapshot};
use reeldb_linalg::distance::Metric;
use serde_json::{Value, json};

type BoxError = Box<dyn Error>;

const K: usize = 10;
const INDEX: &str = "bench_v";

struct AnnOptions {
    base: Option<PathBuf>,
    query: Option<PathBuf>,
    truth: Option<PathBuf>,
    synthetic: Option<(usize, usize)>,
    clusters: usize,
    queries: usize,
    metric: Metric,
    name: Option<String>,
    m: u32,
    ef_construction: u32,
    ef: Vec<usize>,
    threads: Vec<usize>,
    dir: PathBuf,
    hnswlib: bool,
}

fn list(value: &str, what: &str) -> Result<Vec<usize>, String> {
    value
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| format!("{what} takes numbers like 16,32,64"))
        })
        .collect()
}

fn parse(args: &[String]) -> Result<AnnOptions, String> {
    let mut options = AnnOptions {
        base: None,
        query: None,
        truth: None,
        synthetic: None,
        clusters: 100,
        queries: 500,
        metric: Metric::L2,
        name: None,
        m: 16,
        ef_construction: 200,
        ef: vec![16, 32, 64, 128, 256],
        threads: vec![1, 2],
        dir: std::env::temp_dir().join("reeldb-bench"),
        hnswlib: false,
    };
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--hnswlib" {
            options.hnswlib = true;
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        let number = |what: &str| {
            value
                .parse::<usize>()
                .map_err(|_| format!("{what} takes a number"))
        };
        match args[i].as_str() {
            "--base" => options.base = Some(PathBuf::from(value)),
            "--query" => options.query = Some(PathBuf::from(value)),
            "--truth" => options.truth = Some(PathBuf::from(value)),
            "--synthetic" => {
                let (n, d) = value
                    .split_once('x')
                    .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
                    .ok_or("--synthetic takes ROWSxDIM, like 100000x512")?;
                options.synthetic = Some((n, d));
            }
            "--clusters" => options.clusters = number("--clusters")?,
            "--queries" => options.queries = number("--queries")?,
            "--metric" => options.metric = value.parse().map_err(|e| format!("{e}"))?,
            "--name" => options.name = Some(value.clone()),
            "--m" => options.m = number("--m")? as u32,
            "--ef-construction" => options.ef_construction = number("--ef-construction")? as u32,
            "--ef" => options.ef = list(value, "--ef")?,
            "--threads" => options.threads = list(value, "--threads")?,
            "--dir" => options.dir = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if options.synthetic.is_none() && (options.base.is_none() || options.query.is_none()) {
        return Err("give --base and --query (and --truth), or --synthetic ROWSxDIM".into());
    }
    Ok(options)
}

/// Vectors read from a file: rows of equal length.
pub(crate) struct Vectors {
    pub(crate) dim: usize,
    pub(crate) values: Vec<f32>,
}

impl Vectors {
    fn len(&self) -> usize {
        self.values.len() / self.dim.max(1)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

/// Reads `.fvecs`/`.ivecs` (every value as 4 little-endian bytes) or `.npy` (`<f4`, `<i4`
/// or `<i8`, C order, two dimensions), as f64 so that one reader serves vectors and ids.
fn read_matrix(path: &Path) -> Result<(usize, Vec<f64>), BoxError> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.to_string_lossy();
    if name.ends_with(".npy") {
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + header_len])?;
        let descr = header
            .split("'descr':")
            .nth(1)
            .and_then(|rest| rest.split('\'').nth(1))
            .ok_or("npy header without descr")?;
        if header.contains("'fortran_order': True") {
            return Err(format!("{name}: Fortran-order arrays are not supported").into());
        }
        let shape = header
            .split("'shape':")
            .nth(1)
            .and_then(|rest| rest.split(['(', ')']).nth(1))
            .ok_or("npy header without shape")?;
        let dims: Vec<usize> = shape
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()?;
        let dim = *dims.get(1).unwrap_or(&1);
        let data = &bytes[10 + header_len..];
        let values: Vec<f64> = match descr {
            "<f4" => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            "<i4" => data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            "<i8" => data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
                .collect(),
            other => return Err(format!("{name}: npy dtype {other} is not supported").into()),
        };
        return Ok((dim, values));
    }
    let integers = name.ends_with(".ivecs");
    let mut values = Vec::new();
    let mut dim = 0;
    let mut at = 0;
    while at + 4 <= bytes.len() {
        dim = i32::from_le_bytes(bytes[at..at + 4].try_into()?) as usize;
        at += 4;
        for chunk in bytes[at..at + 4 * dim].chunks_exact(4) {
            let raw: [u8; 4] = chunk.try_into()?;
            values.push(if integers {
                i32::from_le_bytes(raw) as f64
            } else {
                f32::from_le_bytes(raw) as f64
            });
        }
        at += 4 * dim;
    }
    Ok((dim, values))
}

fn read_vectors(path: &Path) -> Result<Vectors, BoxError> {
    let (dim, values) = read_matrix(path)?;
    Ok(Vectors {
        dim,
        values: values.into_iter().map(|v| v as f32).collect(),
    })
}

fn write_npy_f32(path: &Path, rows: usize, dim: usize, values: &[f32]) -> std::io::Result<()> {
    write_npy(
        path,
        "<f4",
        rows,
        dim,
        &bytes_of(values.iter().map(|v| v.to_le_bytes())),
    )
}

fn bytes_of<const N: usize>(items: impl Iterator<Item = [u8; N]>) -> Vec<u8> {
    items.flatten().collect()
}

fn write_npy(
    path: &Path,
    descr: &str,
    rows: usize,
    dim: usize,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // The header is padded with spaces to a multiple of 64 bytes, ending in a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out)
}

/// SplitMix64 with Box-Muller: seeded Gaussian samples.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn normal(&mut self) -> f32 {
        let u = ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32).max(1e-7);
        let v = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// `rows` vectors around `clusters` centres, then `queries` more from the same mixture.
fn synthetic(rows: usize, dim: usize, clusters: usize, queries: usize) -> (Vectors, Vectors) {
    let mut rng = Rng(2026);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.normal()).collect();
    let mut draw = |count: usize| {
        let mut values = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let c = (rng.next_u64() % clusters as u64) as usize;
            for j in 0..dim {
                values.push(centres[c * dim + j] + 0.35 * rng.normal());
            }
        }
        Vectors { dim, values }
    };
    let base = draw(rows);
    let query = draw(queries);
    (base, query)
}

/// Loads `base` as table `t (id, v)`.
pub(crate) fn load_table(db: &reeldb::Database, base: &Vectors) -> Result<(), BoxError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", vector_type(base.dim as i32), false),
    ]));
    let mut txn = db.engine().begin_write()?;
    txn.create_table("t", &schema)?;
    let batch_rows = 8192;
    for start in (0..base.len()).step_by(batch_rows) {
        let end = (start + batch_rows).min(base.len());
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from_iter_values(start as i64..end as i64)),
                Arc::new(FixedSizeListArray::new(
                    Arc::new(vector_item_field()),
                    base.dim as i32,
                    Arc::new(Float32Array::from(
                        base.values[start * base.dim..end * base.dim].to_vec(),
                    )),
                    None,
                )),
            ],
        )?;
        txn.append("t", &batch)?;
    }
    txn.commit()?;
    Ok(())
}

/// Global ids of a search's hits (rows were loaded in id order, file after file).
fn hit_ids(snapshot: &Snapshot, hits: &[reeldb_engine::SearchHit]) -> Vec<i64> {
    let files = &snapshot
        .table("t")
        .map(|t| t.files.clone())
        .unwrap_or_default();
    let mut offsets = vec![0i64; files.len()];
    for i in 1..files.len() {
        offsets[i] = offsets[i - 1] + files[i - 1].rows as i64;
    }
    hits.iter()
        .map(|h| offsets[h.file] + h.row as i64)
        .collect()
}

fn recall(found: &[Vec<i64>], truth: &[Vec<i64>]) -> f64 {
    let total: usize = found
        .iter()
        .zip(truth)
        .map(|(f, t)| f.iter().filter(|id| t[..K].contains(id)).count())
        .sum();
    total as f64 / (found.len() * K) as f64
}

/// Runs every query split over `threads` threads; returns the ids found and the seconds.
fn search_all(
    snapshot: &Snapshot,
    queries: &Vectors,
    metric: Metric,
    mode: &SearchMode,
    threads: usize,
) -> Result<(Vec<Vec<i64>>, f64), BoxError> {
    let started = Instant::now();
    let chunk = queries.len().div_ceil(threads.max(1));
    let results: Vec<Result<Vec<Vec<i64>>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|t| {
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for q in t * chunk..((t + 1) * chunk).min(queries.len()) {
                        let result = snapshot
                            .vector_search(&SearchRequest {
                                table: "t",
                                column: "v",
                                query: queries.row(q),
                                metric,
                                k: K,
                                filter: None,
                                mode: mode.clone(),
                                cache_vector_files: true,
                            })
                            .map_err(|e| e.to_string())?;
                        found.push(hit_ids(snapshot, &result.hits));
                    }
                    Ok(found)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a search thread panicked".into()))
            })
            .collect()
    });
    let mut found = Vec::with_capacity(queries.len());
    for part in results {
        found.extend(part?);
    }
    Ok((found, started.elapsed().as_secs_f64()))
}

/// Single-thread and all-thread read bandwidth of this machine (GB/s): summing a 512 MiB
/// buffer, best of three.
fn memory_bandwidth() -> (f64, f64) {
    let values = vec![1.0f32; 128 << 20];
    let bytes = (values.len() * 4) as f64;
    let sum = |slice: &[f32]| slice.iter().fold(0.0f32, |a, b| a + b);
    let best = |threads: usize| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                let chunk = values.len().div_ceil(threads);
                let total: f32 = std::thread::scope(|scope| {
                    let handles: Vec<_> = values
                        .chunks(chunk)
                        .map(|part| scope.spawn(move || sum(part)))
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
                });
                std::hint::black_box(total);
                bytes / started.elapsed().as_secs_f64() / 1e9
            })
            .fold(0.0, f64::max)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (best(1), best(cores))
}

fn emit(line: Value) {
    println!("{line}");
}

/// Runs the benchmark; see the module documentation.
pub async fn run(args: &[String]) -> Result<(), BoxError> {
    let options = parse(args)?;
    std::fs::create_dir_all(&options.dir)?;
    let metric = options.metric;
    let (name, base, queries, truth_path) = match options.synthetic {
        Some((rows, dim)) => {
            let (base, queries) = synthetic(rows, dim, options.clusters, options.queries);
            let name = options
                .name
                .clone()
                .unwrap_or(format!("synthetic-{rows}x{dim}-{}c", options.clusters));
            (name, base, queries, None)
        }
        None => {
            let base = read_vectors(options.base.as_deref().ok_or("--base")?)?;
            let queries = read_vectors(options.query.as_deref().ok_or("--query")?)?;
            let name = options.name.clone().unwrap_or_else(|| "dataset".into());
            (name, base, queries, options.truth.clone())
        }
    };
    let common = json!({
        "bench": "ann", "dataset": name, "rows": base.len(), "dim": base.dim,
        "queries": queries.len(), "metric": metric.name(), "k": K,
    });
    let with = |extra: Value| {
        let mut line = common.clone();
        if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
            line.extend(extra.clone());
        }
        line
    };

    let db_path = options.dir.join(format!("{name}.reeldb"));
    if db_path.exists() {
        std::fs::remove_dir_all(&db_path)?;
    }
    let db = reeldb::Database::open(&db_path)?;
    load_table(&db, &base)?;
    let snapshot = db.engine().snapshot()?;

    // Exact search, which also gives the ground truth when there is no file.
    let (exact, seconds) = search_all(&snapshot, &queries, metric, &SearchMode::Exact, 1)?;
    let truth: Vec<Vec<i64>> = match &truth_path {
        Some(path) => {
            let (dim, values) = read_matrix(path)?;
            values
                .chunks(dim)
                .map(|row| row.iter().map(|v| *v as i64).collect())
                .collect()
        }
        None => exact.clone(),
    };
    let scanned_bytes = (queries.len() * base.len() * base.dim * 4) as f64;
    let (bandwidth_1, bandwidth_all) = memory_bandwidth();
    emit(with(json!({
        "engine": "reeldb-exact", "threads": "all", "qps": queries.len() as f64 / seconds,
        "scan_gb_per_s": scanned_bytes / seconds / 1e9,
        "memory_gb_per_s_1_thread": bandwidth_1, "memory_gb_per_s_all_threads": bandwidth_all,
        "recall_at_10": recall(&exact, &truth),
    })));

    // hnswlib reads the same vectors from .npy files.
    let npy = |file: &str| options.dir.join(format!("{name}.{file}.npy"));
    if options.hnswlib {
        write_npy_f32(&npy("base"), base.len(), base.dim, &base.values)?;
        write_npy_f32(&npy("query"), queries.len(), queries.dim, &queries.values)?;
        let flat: Vec<u8> = bytes_of(
            truth
                .iter()
                .flat_map(|r| r[..K].iter().map(|v| v.to_le_bytes())),
        );
        write_npy(&npy("truth"), "<i8", truth.len(), K, &flat)?;
    }

    let mut txn = db.engine().begin_write()?;
    let mut spec = IndexSpec::new(INDEX, "v");
    spec.set("metric", metric.name())?;
    spec.m = options.m;
    spec.ef_construction = options.ef_construction;
    // Small builds are sequential (reproducible); hnswlib gets the same number of threads.
    let build_threads = if base.len() < reeldb_engine::SEQUENTIAL_BUILD_BELOW {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    let started = Instant::now();
    txn.create_vector_index("t", &spec)?;
    txn.commit()?;
    let build_s = started.elapsed().as_secs_f64();
    emit(with(json!({
        "engine": "reeldb-hnsw", "phase": "build", "m": options.m,
        "ef_construction": options.ef_construction, "build_s": build_s,
        "threads": build_threads,
    })));
    let snapshot = db.engine().snapshot()?;
    let mut raw_qps_1_thread = std::collections::BTreeMap::new();
    for &threads in &options.threads {
        for &ef in &options.ef {
            let mode = SearchMode::Index {
                name: INDEX.into(),
                ef_search: Some(ef),
            };
            // A first pass loads the index and warms the cache; the second is measured.
            search_all(&snapshot, &queries, metric, &mode, threads)?;
            let (found, seconds) = search_all(&snapshot, &queries, metric, &mode, threads)?;
            let qps = queries.len() as f64 / seconds;
            if threads == 1 {
                raw_qps_1_thread.insert(ef, qps);
            }
            emit(with(json!({
                "engine": "reeldb-hnsw", "m": options.m, "ef_construction": options.ef_construction,
                "ef_search": ef, "threads": threads, "build_s": build_s, "qps": qps,
                "recall_at_10": recall(&found, &truth),
            })));
        }
    }

    // The same searches through SQL, one statement per query, on one thread.
    let session = db.session();
    let metric_name = metric.name();
    for &ef in &options.ef {
        session.sql(&format!("SET reeldb.ef_search = {ef}")).await?;
        let statements: Vec<String> = (0..queries.len())
            .map(|q| {
                let values: Vec<String> = queries.row(q).iter().map(|v| v.to_string()).collect();
                format!(
                    "SELECT id FROM t ORDER BY distance(v, [{}], '{metric_name}') LIMIT {K}",
                    values.join(",")
                )
            })
            .collect();
        let started = Instant::now();
        let mut found = Vec::with_capacity(queries.len());
        for sql in &statements {
            let batches = session.sql(sql).await?;
            found.push(
                batches
                    .iter()
                    .flat_map(|b| {
                        b.column(0)
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .map(|a| a.values().to_vec())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<i64>>(),
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        // Where the overhead goes: parsing, planning and optimising alone (the statements
        // above left the session bound to the newest snapshot).
        let started = Instant::now();
        for sql in &statements {
            session
                .context()
                .sql(sql)
                .await?
                .create_physical_plan()
                .await?;
        }
        let plan_seconds = started.elapsed().as_secs_f64();
        let qps = queries.len() as f64 / seconds;
        let raw = raw_qps_1_thread.get(&ef).copied();
        emit(with(json!({
            "engine": "reeldb-sql", "ef_search": ef, "threads": 1, "qps": qps,
            "recall_at_10": recall(&found, &truth),
            "overhead_vs_raw": raw.map(|raw| raw / qps - 1.0),
            "ms_per_query": seconds * 1e3 / queries.len() as f64,
            "plan_ms_per_query": plan_seconds * 1e3 / queries.len() as f64,
            "raw_ms_per_query": raw.map(|raw| 1e3 / raw),
        })));
    }

    if options.hnswlib {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hnswlib_bench.py");
        let ef: Vec<String> = options.ef.iter().map(ToString::to_string).collect();
        let threads: Vec<String> = options.threads.iter().map(ToString::to_string).collect();
        let output = std::process::Command::new("python3")
            .arg(&script)
            .args(["--base", &npy("base").to_string_lossy()])
            .args(["--query", &npy("query").to_string_lossy()])
            .args(["--truth", &npy("truth").to_string_lossy()])
            .args(["--metric", metric_name, "--name", &name])
            .args(["--m", &options.m.to_string()])
            .args(["--ef-construction", &options.ef_construction.to_string()])
            .args(["--ef", &ef.join(","), "--threads", &threads.join(",")])
            .args(["--build-threads", &build_threads.to_string()])
            .output()?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            return Err(format!(
                "hnswlib_bench.py failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    Ok(())
}
