//! Vector search through the engine API: exact scans against brute force, HNSW recall on
//! clustered data, filters, rows added or deleted after a build, compaction and reopening.

use std::sync::Arc;

use arrow::array::{FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use reeldb_engine::vector::{vector_item_field, vector_type};
use reeldb_engine::{
    Database, IndexSpec, SearchMode, SearchPath, SearchRequest, SearchResult, Snapshot,
};
use reeldb_linalg::distance::Metric;

/// SplitMix64: a small seeded generator, so the data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A standard normal sample (Box-Muller).
    fn normal(&mut self) -> f32 {
        let u = self.uniform().max(1e-7);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

/// `n` vectors of dimension `dim` around `clusters` random centres.
fn clustered(rng: &mut Rng, n: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    (0..n)
        .map(|_| {
            let centre = &centres[(rng.next_u64() % clusters as u64) as usize];
            centre.iter().map(|c| c + 0.35 * rng.normal()).collect()
        })
        .collect()
}

fn batch(
    schema: &Arc<Schema>,
    first_id: i64,
    vectors: &[Option<Vec<f32>>],
    dim: usize,
) -> RecordBatch {
    let ids = Int64Array::from_iter_values(first_id..first_id + vectors.len() as i64);
    let values: Vec<f32> = vectors
        .iter()
        .flat_map(|v| v.clone().unwrap_or_else(|| vec![0.0; dim]))
        .collect();
    let validity: Vec<bool> = vectors.iter().map(Option::is_some).collect();
    let list = FixedSizeListArray::try_new(
        Arc::new(vector_item_field()),
        dim as i32,
        Arc::new(Float32Array::from(values)),
        Some(validity.into()),
    )
    .unwrap();
    RecordBatch::try_new(Arc::clone(schema), vec![Arc::new(ids), Arc::new(list)]).unwrap()
}

fn schema(dim: usize) -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", vector_type(dim as i32), true),
    ]))
}

/// A table `t` holding `vectors` (ids 0..), committed `per_commit` rows per data file.
fn database(
    vectors: &[Option<Vec<f32>>],
    dim: usize,
    per_commit: usize,
) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("vs.reeldb")).unwrap();
    let schema = schema(dim);
    let mut txn = db.begin_write().unwrap();
    txn.create_table("t", &schema).unwrap();
    txn.commit().unwrap();
    for (i, chunk) in vectors.chunks(per_commit).enumerate() {
        let mut txn = db.begin_write().unwrap();
        txn.append("t", &batch(&schema, (i * per_commit) as i64, chunk, dim))
            .unwrap();
        txn.commit().unwrap();
    }
    (dir, db)
}

/// Global row ids (`id` = position in the input) of a search's hits.
fn hit_ids(snapshot: &Snapshot, result: &SearchResult) -> Vec<usize> {
    let files = &snapshot.table("t").unwrap().files;
    result
        .hits
        .iter()
        .map(|hit| id_of(files, hit.file, hit.row))
        .collect()
}

fn id_of(files: &[reeldb_engine::DataFileEntry], file: usize, row: usize) -> usize {
    // The tests below append ids in order, one file per commit, so file offsets add up,
    // except after deletes and compaction, where they read the id column instead.
    files[..file].iter().map(|f| f.rows as usize).sum::<usize>() + row
}

fn brute_force(
    vectors: &[Option<Vec<f32>>],
    query: &[f32],
    metric: Metric,
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .filter_map(|(i, v)| Some((metric.distance(query, v.as_ref()?)?, i)))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

fn request<'a>(query: &'a [f32], metric: Metric, k: usize, mode: SearchMode) -> SearchRequest<'a> {
    SearchRequest {
        table: "t",
        column: "v",
        query,
        metric,
        k,
        filter: None,
        mode,
        cache_vector_files: true,
    }
}

fn index_mode(name: &str) -> SearchMode {
    SearchMode::Index {
        name: name.to_string(),
        ef_search: None,
    }
}

fn recall(found: &[usize], truth: &[usize]) -> f64 {
    found.iter().filter(|id| truth.contains(id)).count() as f64 / truth.len() as f64
}

#[test]
fn exact_search_matches_brute_force_for_every_metric_and_reports_nulls() {
    let mut rng = Rng(7);
    let mut vectors: Vec<Option<Vec<f32>>> = clustered(&mut rng, 2_000, 12, 8)
        .into_iter()
        .map(Some)
        .collect();
    vectors[5] = None;
    vectors[17] = Some(vec![0.0; 12]); // cosine is undefined for a zero vector
    let (_dir, db) = database(&vectors, 12, 700);
    let snapshot = db.snapshot().unwrap();
    let query: Vec<f32> = clustered(&mut rng, 1, 12, 1).remove(0);
    for metric in Metric::ALL {
        let result = snapshot
            .vector_search(&request(&query, metric, 25, SearchMode::Exact))
            .unwrap();
        assert_eq!(
            hit_ids(&snapshot, &result),
            brute_force(&vectors, &query, metric, 25, |_| true),
            "{metric}"
        );
        let null_ids: Vec<usize> = result
            .null_rows
            .iter()
            .map(|&(f, r)| id_of(&snapshot.table("t").unwrap().files, f, r))
            .collect();
        let expected_nulls = if metric == Metric::Cosine {
            vec![5, 17]
        } else {
            vec![5]
        };
        assert_eq!(null_ids, expected_nulls, "{metric}");
    }
}

#[test]
fn a_query_of_the_wrong_dimension_is_refused_by_name() {
    let (_dir, db) = database(&[Some(vec![1.0, 2.0])], 2, 10);
    let snapshot = db.snapshot().unwrap();
    let err = snapshot
        .vector_search(&request(&[1.0, 2.0, 3.0], Metric::L2, 1, SearchMode::Exact))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 values") && err.contains("dimension 2"),
        "{err}"
    );
}

#[test]
fn hnsw_recall_at_10_on_clustered_data_and_after_reopening() {
    let mut rng = Rng(42);
    let dim = 32;
    let vectors: Vec<Option<Vec<f32>>> = clustered(&mut rng, 10_000, dim, 40)
        .into_iter()
        .map(Some)
        .collect();
    let queries = clustered(&mut rng, 50, dim, 40);
    let (dir, db) = database(&vectors, dim, 4_000);
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("t_v", "v"))
        .unwrap();
    txn.commit().unwrap();
    let measure = |db: &Database| {
        let snapshot = db.snapshot().unwrap();
        let mut total = 0.0;
        for query in &queries {
            let result = snapshot
                .vector_search(&request(query, Metric::Cosine, 10, index_mode("t_v")))
                .unwrap();
            assert!(
                matches!(
                    result.path,
                    SearchPath::Index {
                        uncovered_rows: 0,
                        ..
                    }
                ),
                "{:?}",
                result.path
            );
            total += recall(
                &hit_ids(&snapshot, &result),
                &brute_force(&vectors, query, Metric::Cosine, 10, |_| true),
            );
        }
        total / queries.len() as f64
    };
    let before = measure(&db);
    // A sum of tenths: allow for its rounding.
    assert!(before >= 0.95 - 1e-9, "recall@10 {before}");
    drop(db);
    let reopened = Database::open(dir.path().join("vs.reeldb")).unwrap();
    assert_eq!(
        measure(&reopened),
        before,
        "the reloaded graph answers as the built one"
    );
}

#[test]
fn filtered_index_search_returns_k_rows_whenever_k_match() {
    let mut rng = Rng(3);
    let dim = 16;
    let vectors: Vec<Option<Vec<f32>>> = clustered(&mut rng, 6_000, dim, 20)
        .into_iter()
        .map(Some)
        .collect();
    let (_dir, db) = database(&vectors, dim, 6_000);
    let mut txn = db.begin_write().unwrap();
    let mut spec = IndexSpec::new("t_v", "v");
    spec.set("metric", "l2").unwrap();
    txn.create_vector_index("t", &spec).unwrap();
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let query = clustered(&mut rng, 1, dim, 20).remove(0);
    // Every 2nd row, every 7th row, and 60 rows (1 %: scanned exactly).
    for (modulus, expect_exact) in [(2usize, false), (7, false), (100, true)] {
        let keep = |id: usize| id.is_multiple_of(modulus);
        let mask = BooleanBuffer::collect_bool(6_000, keep);
        let filter = [Some(mask)];
        let mut req = request(&query, Metric::L2, 50, index_mode("t_v"));
        req.filter = Some(&filter);
        let result = snapshot.vector_search(&req).unwrap();
        let found = hit_ids(&snapshot, &result);
        assert_eq!(found.len(), 50, "every {modulus}th row");
        assert!(found.iter().all(|&id| keep(id)));
        let truth = brute_force(&vectors, &query, Metric::L2, 50, keep);
        if expect_exact {
            assert_eq!(result.path, SearchPath::ExactBecauseSelective);
            assert_eq!(found, truth);
        } else {
            assert!(
                recall(&found, &truth) >= 0.9,
                "every {modulus}th row: {}",
                recall(&found, &truth)
            );
        }
    }
}

#[test]
fn rows_inserted_after_the_build_are_found_and_deleted_rows_never_return() {
    let mut rng = Rng(11);
    let dim = 8;
    let vectors: Vec<Option<Vec<f32>>> = clustered(&mut rng, 3_000, dim, 10)
        .into_iter()
        .map(Some)
        .collect();
    let (_dir, db) = database(&vectors, dim, 1_000);
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("t_v", "v"))
        .unwrap();
    txn.commit().unwrap();

    // A row inserted after the build, equal to the query: it must come first.
    let query = vec![3.0, -1.0, 0.5, 2.0, 0.0, 1.0, -2.0, 0.25];
    let mut txn = db.begin_write().unwrap();
    txn.append(
        "t",
        &batch(&schema(dim), 3_000, &[Some(query.clone())], dim),
    )
    .unwrap();
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let result = snapshot
        .vector_search(&request(&query, Metric::Cosine, 5, index_mode("t_v")))
        .unwrap();
    assert_eq!(hit_ids(&snapshot, &result)[0], 3_000);
    assert!(matches!(
        result.path,
        SearchPath::Index {
            uncovered_rows: 1,
            ..
        }
    ));

    // Delete the first data file (ids 0..1000) by removing it: none of its rows may return,
    // though the graph still holds them.
    let first = snapshot.table("t").unwrap().files[0].path.clone();
    let mut txn = db.begin_write().unwrap();
    txn.remove_file("t", &first).unwrap();
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let near_deleted = vectors[10].clone().unwrap();
    let result = snapshot
        .vector_search(&request(
            &near_deleted,
            Metric::Cosine,
            20,
            index_mode("t_v"),
        ))
        .unwrap();
    let files = &snapshot.table("t").unwrap().files;
    assert_eq!(result.hits.len(), 20);
    assert!(result.hits.iter().all(|hit| hit.file < files.len()));
    let exact = snapshot
        .vector_search(&request(
            &near_deleted,
            Metric::Cosine,
            20,
            SearchMode::Exact,
        ))
        .unwrap();
    assert!(recall(&hit_ids(&snapshot, &result), &hit_ids(&snapshot, &exact)) >= 0.9);

    // Compaction rebuilds the index over the files that are left.
    let report = db.compact(Some("t")).unwrap();
    assert_eq!(report.indexes_rebuilt, 1);
    let snapshot = db.snapshot().unwrap();
    let (table, index) = snapshot.vector_index("t_v").unwrap();
    let paths: Vec<&str> = table.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(index.covered, paths);
    assert_eq!(index.rows, 2_001);
    let result = snapshot
        .vector_search(&request(&query, Metric::Cosine, 5, index_mode("t_v")))
        .unwrap();
    assert!(matches!(
        result.path,
        SearchPath::Index {
            uncovered_rows: 0,
            ..
        }
    ));
}

#[test]
fn a_graph_mostly_of_removed_rows_is_searched_with_a_wider_candidate_list() {
    let mut rng = Rng(12);
    let dim = 8;
    let vectors: Vec<Option<Vec<f32>>> = clustered(&mut rng, 5_000, dim, 10)
        .into_iter()
        .map(Some)
        .collect();
    let (_dir, db) = database(&vectors, dim, 500);
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("t_v", "v"))
        .unwrap();
    txn.commit().unwrap();
    // Remove nine files of ten (ids 500..5000) without compacting: 90 % of the graph is dead.
    let snapshot = db.snapshot().unwrap();
    let mut txn = db.begin_write().unwrap();
    for file in &snapshot.table("t").unwrap().files[1..] {
        txn.remove_file("t", &file.path).unwrap();
    }
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let live = &vectors[..500];
    let mut total = 0.0;
    for query in live.iter().step_by(25).flatten() {
        let result = snapshot
            .vector_search(&request(query, Metric::Cosine, 10, index_mode("t_v")))
            .unwrap();
        // The default ef_search (128) over a tenth of the graph: widened ten times.
        assert!(
            matches!(result.path, SearchPath::Index { ef: 1280, .. }),
            "{:?}",
            result.path
        );
        assert_eq!(result.hits.len(), 10);
        let truth = brute_force(live, query, Metric::Cosine, 10, |_| true);
        total += recall(&hit_ids(&snapshot, &result), &truth);
    }
    let mean = total / 20.0;
    assert!(
        mean >= 0.95,
        "recall@10 with 90 % of the graph removed: {mean}"
    );
}

#[test]
fn damaged_index_files_are_reported_not_loaded() {
    let vectors: Vec<Option<Vec<f32>>> = (0..200).map(|i| Some(vec![i as f32, 1.0, 2.0])).collect();
    let (dir, db) = database(&vectors, 3, 200);
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("t_v", "v"))
        .unwrap();
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let (_, entry) = snapshot.vector_index("t_v").unwrap();
    let graph = dir
        .path()
        .join("vs.reeldb")
        .join(&entry.dir)
        .join(&entry.files[0].name);
    drop(snapshot);
    drop(db);
    let mut bytes = std::fs::read(&graph).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&graph, &bytes).unwrap();
    let db = Database::open(dir.path().join("vs.reeldb")).unwrap();
    let err = db
        .snapshot()
        .unwrap()
        .vector_search(&request(
            &[1.0, 1.0, 2.0],
            Metric::Cosine,
            3,
            index_mode("t_v"),
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged") && err.contains("DROP VECTOR INDEX t_v"),
        "{err}"
    );
}

#[test]
fn index_names_are_unique_and_dot_is_refused_with_advice() {
    let (_dir, db) = database(&[Some(vec![1.0, 0.0])], 2, 10);
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("i", "v"))
        .unwrap();
    let err = txn
        .create_vector_index("t", &IndexSpec::new("i", "v"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    let mut dot = IndexSpec::new("j", "v");
    dot.set("metric", "dot").unwrap();
    let err = txn.create_vector_index("t", &dot).unwrap_err().to_string();
    assert!(err.contains("use metric = 'cosine'"), "{err}");
    let err = txn
        .create_vector_index("t", &IndexSpec::new("k", "id"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a vector column"), "{err}");
    txn.commit().unwrap();
    let mut txn = db.begin_write().unwrap();
    txn.drop_vector_index("i").unwrap();
    assert!(
        txn.drop_vector_index("i")
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
}

#[test]
fn vacuum_removes_dropped_index_builds_and_vector_files_of_dead_data() {
    let vectors: Vec<Option<Vec<f32>>> = (0..100).map(|i| Some(vec![i as f32, 1.0])).collect();
    let (dir, db) = database(&vectors, 2, 50);
    let root = dir.path().join("vs.reeldb");
    let mut txn = db.begin_write().unwrap();
    txn.create_vector_index("t", &IndexSpec::new("i", "v"))
        .unwrap();
    txn.commit().unwrap();
    let count = |sub: &str| walk(&root.join(sub));
    assert_eq!(count("vectors"), 2);
    assert_eq!(count("indexes"), 2);
    let mut txn = db.begin_write().unwrap();
    txn.drop_vector_index("i").unwrap();
    txn.commit().unwrap();
    db.compact(Some("t")).unwrap();
    db.vacuum(1).unwrap();
    assert_eq!(count("indexes"), 0);
    assert_eq!(
        count("vectors"),
        0,
        "the vector files of the compacted-away files"
    );
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() { walk(&path) } else { 1 }
        })
        .sum()
}

/// The first row's id and distance of an exact top-1 search for `query`, read back through
/// the hit's file and row.
fn nearest_id(db: &Database, query: &[f32]) -> (i64, f32) {
    let snapshot = db.snapshot().unwrap();
    let result = snapshot
        .vector_search(&request(query, Metric::L2, 1, SearchMode::Exact))
        .unwrap();
    let hit = result.hits[0];
    let file = &snapshot.table("t").unwrap().files[hit.file];
    let ids: Vec<i64> = reeldb_engine::read_data_file(&snapshot.data_file_path(file))
        .unwrap()
        .flat_map(|batch| {
            let batch = batch.unwrap();
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            ids.values().to_vec()
        })
        .collect();
    (ids[hit.row], hit.distance)
}

/// Two rows whose vectors are swapped between `forward` and not: data files of equal size.
fn swapped_rows(schema: &Arc<Schema>, forward: bool) -> RecordBatch {
    let (a, b) = (vec![1.0, 0.0], vec![0.0, 1.0]);
    let vectors = if forward { [a, b] } else { [b, a] };
    batch(schema, 0, &vectors.map(Some), 2)
}

/// Issue 21, item 12: a rolled-back transaction left the vector files of its data file, and
/// the next commit of the same version reused the file name, so a search read the old
/// vectors for the new rows.
#[test]
fn a_rolled_back_transaction_leaves_no_vector_files_that_a_new_file_could_inherit() {
    let (_dir, db) = database(&[], 2, 10);
    let schema = schema(2);
    let mut txn = db.begin_write().unwrap();
    txn.append("t", &swapped_rows(&schema, true)).unwrap();
    // Building an index derives the vector files of the uncommitted data file.
    txn.create_vector_index("t", &IndexSpec::new("i", "v"))
        .unwrap();
    let rolled_back_size = txn.table("t").unwrap().files[0].bytes;
    drop(txn);
    let mut txn = db.begin_write().unwrap();
    txn.append("t", &swapped_rows(&schema, false)).unwrap();
    txn.commit().unwrap();
    let committed_size = db.snapshot().unwrap().table("t").unwrap().files[0].bytes;
    assert_eq!(
        rolled_back_size, committed_size,
        "the case needs equal sizes"
    );
    // Row 0 now holds [0, 1] and has id 0.
    assert_eq!(nearest_id(&db, &[0.0, 1.0]), (0, 0.0));
}

/// The same, when the transaction was killed: its data file and vector files are still on
/// disk under the name the next transaction of that version would take.
#[test]
fn files_left_by_a_killed_transaction_are_never_taken_for_a_new_data_file() {
    let (dir, db) = database(&[], 2, 10);
    let root = dir.path().join("vs.reeldb");
    let schema = schema(2);
    let mut txn = db.begin_write().unwrap();
    txn.append("t", &swapped_rows(&schema, true)).unwrap();
    txn.create_vector_index("t", &IndexSpec::new("i", "v"))
        .unwrap();
    let data_file = txn.table("t").unwrap().files[0].path.clone();
    // Keep copies of what a SIGKILL would have left, then put them back after the rollback.
    let keep = tempfile::tempdir().unwrap();
    let mut left = Vec::new();
    for sub in ["data", "vectors"] {
        for entry in walk_files(&root.join(sub)) {
            let copy = keep.path().join(left.len().to_string());
            std::fs::copy(&entry, &copy).unwrap();
            left.push((entry, copy));
        }
    }
    assert!(left.len() >= 2, "a data file and its vector file: {left:?}");
    drop(txn);
    for (path, copy) in &left {
        std::fs::copy(copy, path).unwrap();
    }
    let mut txn = db.begin_write().unwrap();
    txn.append("t", &swapped_rows(&schema, false)).unwrap();
    let snapshot = txn.commit().unwrap();
    assert_ne!(snapshot.table("t").unwrap().files[0].path, data_file);
    assert_eq!(nearest_id(&db, &[0.0, 1.0]), (0, 0.0));
}

/// Issue 21, item 10: an index name became a directory name unchecked, so
/// `CREATE VECTOR INDEX "../../victim"` wrote (and could delete) outside the database.
#[test]
fn an_index_name_that_would_leave_the_database_directory_is_refused() {
    let (dir, db) = database(&[Some(vec![1.0, 0.0])], 2, 10);
    for name in ["../../victim", "a/b", ".hidden"] {
        let mut txn = db.begin_write().unwrap();
        let err = txn
            .create_vector_index("t", &IndexSpec::new(name, "v"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("vector index name"), "{name}: {err}");
    }
    assert!(!dir.path().join("victim-00000000000000000003").exists());
    assert_eq!(walk(&dir.path().join("vs.reeldb/indexes")), 0);
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk_files(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
