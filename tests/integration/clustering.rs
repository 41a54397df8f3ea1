//! Clustering, outlier scores and projections against scikit-learn's results on the same data.
//!
//! `tests/cluster/reference/*.json` hold small datasets and scikit-learn 1.7.2's output on
//! them (`lof.json`: 1.9.1's), made by `tests/cluster/make_reference.py`. The points are loaded into a table and
//! clustered through SQL (and, where numbering matters, through the engine's API).

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use reeldb_linalg::Points;
use reeldb_linalg::cluster::dbscan::{DbscanParams, dbscan};
use reeldb_linalg::cluster::kmeans::{KMeansInit, KMeansParams, kmeans};
use reeldb_linalg::neighbours::ClusterMetric;
use reeldb_linalg::projection::trustworthiness::trustworthiness;
use reeldb_tests::{rows, sql, sql_error};
use serde_json::Value;

fn reference(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cluster/reference")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| match row {
            Value::Array(items) => items.iter().map(|v| v.as_f64().unwrap() as f32).collect(),
            number => vec![number.as_f64().unwrap() as f32],
        })
        .collect()
}

fn labels(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

/// A database with table `pts (id, v VECTOR(dim), truth)` holding the reference's points;
/// `truth` is the given label column, if any.
fn load(case: &Value, truth: Option<&str>) -> (tempfile::TempDir, reeldb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("cluster.reeldb")).unwrap();
    let dim = case["dim"].as_u64().unwrap();
    sql(
        &db,
        &format!("CREATE TABLE pts (id BIGINT, v VECTOR({dim}), truth TEXT)"),
    );
    let points = case["points"].as_array().unwrap();
    let mut values = Vec::new();
    for (id, point) in points.iter().enumerate() {
        let truth = match truth {
            Some(column) => format!("'{}'", case[column][id].to_string().trim_matches('"')),
            None => "NULL".into(),
        };
        values.push(format!("({id}, {point}, {truth})"));
    }
    // Two inserts, so that the table has two files.
    let half = values.len() / 2;
    sql(
        &db,
        &format!("INSERT INTO pts VALUES {}", values[..half].join(", ")),
    );
    sql(
        &db,
        &format!("INSERT INTO pts VALUES {}", values[half..].join(", ")),
    );
    (dir, db)
}

fn int_column(batches: &[RecordBatch], column: usize) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|batch| {
            let array = batch.column(column).as_primitive::<Int64Type>();
            (0..array.len())
                .map(|row| array.is_valid(row).then(|| array.value(row)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn float_column(batches: &[RecordBatch], column: usize) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|batch| {
            let array = batch.column(column).as_primitive::<Float64Type>();
            (0..array.len())
                .map(|row| array.is_valid(row).then(|| array.value(row)))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn float_value(batches: &[RecordBatch]) -> Option<f64> {
    let array = batches[0].column(0).as_primitive::<Float64Type>();
    array.is_valid(0).then(|| array.value(0))
}

/// Labels renumbered in order of first appearance (noise stays -1): equal for two labellings
/// of the same partition, whatever their numbering.
fn canonical(labels: &[i64]) -> Vec<i64> {
    let mut numbers = HashMap::new();
    labels
        .iter()
        .map(|&label| {
            if label < 0 {
                return label;
            }
            let next = numbers.len() as i64;
            *numbers.entry(label).or_insert(next)
        })
        .collect()
}

#[test]
fn dbscan_gives_scikit_learns_labels_exactly() {
    for name in ["dbscan_euclidean.json", "dbscan_cosine.json"] {
        let case = reference(name);
        let data = floats(&case["points"]);
        let points = Points::new(&data, case["dim"].as_u64().unwrap() as usize).unwrap();
        let mut params = DbscanParams::new(case["eps"].as_f64().unwrap() as f32);
        params.min_samples = case["min_samples"].as_u64().unwrap() as usize;
        params.metric = ClusterMetric::parse(case["metric"].as_str().unwrap()).unwrap();
        let ours = dbscan(&points, &params).unwrap();
        assert_eq!(ours, labels(&case["labels"]), "{name}");
    }
}

#[test]
fn dbscan_in_sql_finds_scikit_learns_clusters_and_noise() {
    for name in ["dbscan_euclidean.json", "dbscan_cosine.json"] {
        let case = reference(name);
        let (_dir, db) = load(&case, None);
        let query = format!(
            "SELECT id, cluster(v, 'dbscan', {}, 'metric={}', 'min_samples={}') OVER () \
             FROM pts ORDER BY id",
            case["eps"],
            case["metric"].as_str().unwrap(),
            case["min_samples"]
        );
        let ours: Vec<i64> = int_column(&sql(&db, &query), 1)
            .into_iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(
            canonical(&ours),
            canonical(&labels(&case["labels"])),
            "{name}"
        );
    }
}

#[test]
fn kmeans_from_scikit_learns_initial_centres_gives_its_labels() {
    let case = reference("kmeans.json");
    let data = floats(&case["points"]);
    let points = Points::new(&data, case["dim"].as_u64().unwrap() as usize).unwrap();
    let mut params = KMeansParams::new(case["k"].as_u64().unwrap() as usize);
    params.init = KMeansInit::Centres(floats(&case["init_centres"]));
    let result = kmeans(&points, &params).unwrap();
    assert_eq!(result.labels, labels(&case["labels"]));
    assert_eq!(
        result.iterations as u64,
        case["iterations"].as_u64().unwrap()
    );
    let inertia = case["inertia"].as_f64().unwrap();
    assert!(
        (result.inertia - inertia).abs() < 1e-4 * inertia,
        "{}",
        result.inertia
    );
    for (ours, theirs) in result.centres.iter().zip(floats(&case["centres"])) {
        assert!((ours - theirs).abs() < 1e-3, "{ours} vs {theirs}");
    }
}

#[test]
fn kmeans_in_sql_finds_the_same_partition_for_a_seed() {
    let case = reference("kmeans.json");
    let (_dir, db) = load(&case, None);
    let query = "SELECT cluster(v, 'kmeans', 5, 42) OVER () FROM pts ORDER BY id";
    let first = int_column(&sql(&db, query), 0);
    assert_eq!(first, int_column(&sql(&db, query), 0));
    let ours: Vec<i64> = first.into_iter().map(Option::unwrap).collect();
    // The blobs touch, so another start ends in a slightly different optimum, but the same
    // clusters in the main.
    let ari = reeldb_linalg::cluster::quality::adjusted_rand_index(&ours, &labels(&case["labels"]))
        .unwrap();
    assert!(ari > 0.9, "adjusted Rand index {ari} against scikit-learn");
}

#[test]
fn hdbscan_agrees_with_scikit_learn() {
    let case = reference("hdbscan.json");
    let (_dir, db) = load(&case, None);
    let size = case["min_cluster_size"].as_u64().unwrap();
    for (call, expected) in [
        (format!("cluster(v, 'hdbscan', {size})"), "labels_eom"),
        (
            format!("cluster(v, 'hdbscan', {size}, 'selection=leaf')"),
            "labels_leaf",
        ),
        (
            format!("cluster(v, 'hdbscan', {size}, NULL, 'eom', 'cosine')"),
            "labels_cosine_eom",
        ),
    ] {
        let ours: Vec<i64> = int_column(
            &sql(&db, &format!("SELECT {call} OVER () FROM pts ORDER BY id")),
            0,
        )
        .into_iter()
        .map(Option::unwrap)
        .collect();
        let theirs = labels(&case[expected]);
        let ari = reeldb_linalg::cluster::quality::adjusted_rand_index(&ours, &theirs).unwrap();
        assert!(
            ari >= 0.99,
            "{call}: adjusted Rand index {ari} against scikit-learn"
        );
    }
}

#[test]
fn quality_measures_match_scikit_learn() {
    let case = reference("quality.json");
    let (_dir, db) = load(&case, Some("truth"));
    // The clustering under test goes in as a column.
    let assigned: Vec<String> = labels(&case["labels_a"])
        .iter()
        .enumerate()
        .map(|(id, label)| format!("({id}, {label})"))
        .collect();
    sql(
        &db,
        &format!(
            "CREATE TABLE assigned (id BIGINT, label BIGINT); INSERT INTO assigned VALUES {}",
            assigned.join(", ")
        ),
    );
    let from = "FROM pts JOIN assigned USING (id)";
    let close = |query: &str, expected: &str, tolerance: f64| {
        let ours = float_value(&sql(&db, &format!("SELECT {query} {from}"))).unwrap();
        let theirs = case[expected].as_f64().unwrap();
        assert!(
            (ours - theirs).abs() < tolerance,
            "{query}: {ours} vs {theirs}"
        );
    };
    close("silhouette(v, label)", "silhouette_without_noise", 1e-4);
    close(
        "silhouette(v, label, 'cosine')",
        "silhouette_cosine_without_noise",
        1e-4,
    );
    close("adjusted_rand_index(label, truth)", "ari", 1e-9);
    close("purity(label, truth)", "purity_without_noise", 1e-9);
}

#[test]
fn projections_keep_neighbours_and_repeat_for_a_seed() {
    let case = reference("projection.json");
    let (_dir, db) = load(&case, None);
    let dim = case["dim"].as_u64().unwrap() as usize;
    let data = floats(&case["points"]);
    let original = Points::new(&data, dim).unwrap();
    let positions = |call: &str| -> Vec<f32> {
        let batches = sql(
            &db,
            &format!(
                "SELECT xy['x'], xy['y'] FROM (SELECT id, {call} OVER () AS xy FROM pts) ORDER BY id"
            ),
        );
        rows(&batches)
            .iter()
            .flat_map(|row| row.iter().map(|v| v.parse::<f32>().unwrap()))
            .collect()
    };
    // PCA: scikit-learn's scores, signs included.
    let pca = positions("project(v, 'pca')");
    for (ours, theirs) in pca.iter().zip(floats(&case["pca"])) {
        assert!((ours - theirs).abs() < 1e-3, "{ours} vs {theirs}");
    }
    // t-SNE: as trustworthy as scikit-learn's map, and the same map for the same seed.
    let tsne = positions("project(v, 'tsne', 8, 7)");
    assert_eq!(tsne, positions("project(v, 'tsne', 8, 7)"));
    let map = Points::new(&tsne, 2).unwrap();
    let ours = trustworthiness(&original, &map, 5, ClusterMetric::Euclidean).unwrap();
    let theirs = case["trustworthiness_tsne_k5"].as_f64().unwrap();
    assert!(
        ours > 0.9 && ours > theirs - 0.02,
        "t-SNE trustworthiness {ours} (scikit-learn {theirs})"
    );
    let pca_map = Points::new(&pca, 2).unwrap();
    let ours = trustworthiness(&original, &pca_map, 5, ClusterMetric::Euclidean).unwrap();
    let theirs = case["trustworthiness_pca_k5"].as_f64().unwrap();
    assert!(
        (ours - theirs).abs() < 1e-3,
        "PCA trustworthiness {ours} vs {theirs}"
    );
}

#[test]
fn outlier_scores_match_scikit_learns_local_outlier_factor() {
    let case = reference("lof.json");
    let (_dir, db) = load(&case, None);
    for (call, expected) in [
        ("outliers(v)", "lof_euclidean_20"),
        ("outliers(v, 'lof', 'n_neighbors=5')", "lof_euclidean_5"),
        ("outliers(v, 'lof', 20, 'cosine')", "lof_cosine_20"),
        (
            "outliers(v, 'metric=cosine', 'n_neighbors=5')",
            "lof_cosine_5",
        ),
        ("outliers(v, 'knn', 20)", "knn_euclidean_20"),
        (
            "outliers(v, 'knn', n_neighbors => 20, metric => 'cosine')",
            "knn_cosine_20",
        ),
    ] {
        let query = format!("SELECT {call} OVER () FROM pts ORDER BY id");
        let ours = float_column(&sql(&db, &query), 0);
        let theirs = case[expected].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{call}");
        // The neighbours are found in f32 and measured again in f64, so the scores agree to
        // the reference's 10 decimals (about 5e-11 today); the bound leaves room for other
        // CPUs' rounding.
        for (id, (ours, theirs)) in ours.iter().zip(theirs).enumerate() {
            let (ours, theirs) = (ours.unwrap(), theirs.as_f64().unwrap());
            assert!(
                (ours - theirs).abs() <= 1e-6 * theirs.abs() + 1e-9,
                "{call}, point {id}: {ours} vs scikit-learn's {theirs}"
            );
        }
    }
}

#[test]
fn outlier_partitions_are_scored_as_if_alone() {
    let case = reference("lof.json");
    let (_dir, db) = load(&case, None);
    let scores = |query: &str| {
        let batches = sql(&db, query);
        let ids = int_column(&batches, 0);
        let scores = float_column(&batches, 1);
        ids.into_iter()
            .map(Option::unwrap)
            .zip(scores)
            .collect::<Vec<_>>()
    };
    for call in ["outliers(v, 'lof', 10)", "outliers(v, 'knn', 7, 'cosine')"] {
        let together = scores(&format!(
            "SELECT id, {call} OVER (PARTITION BY id % 2 ORDER BY id DESC) FROM pts ORDER BY id"
        ));
        let mut alone = Vec::new();
        for half in [0, 1] {
            alone.extend(scores(&format!(
                "SELECT id, {call} OVER () FROM pts WHERE id % 2 = {half} ORDER BY id"
            )));
        }
        alone.sort_by_key(|(id, _)| *id);
        assert_eq!(together, alone, "{call}");
        // And the partitions did change the scores: each half is scored without the other.
        let whole = scores(&format!("SELECT id, {call} OVER () FROM pts ORDER BY id"));
        assert_ne!(together, whole, "{call}");
    }
}

/// Two videos with the same three groups of frames (a little apart), and a NULL vector.
fn two_videos() -> (tempfile::TempDir, reeldb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("videos.reeldb")).unwrap();
    sql(
        &db,
        "CREATE TABLE frames (id BIGINT, video TEXT, clip VECTOR(3))",
    );
    let mut values = Vec::new();
    let centres = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for (v, video) in ["en", "zh"].iter().enumerate() {
        for (c, centre) in centres.iter().enumerate() {
            for i in 0..6 {
                let jitter = 0.01 * i as f64 + 0.002 * v as f64;
                let id = v * 100 + c * 10 + i;
                values.push(format!(
                    "({id}, '{video}', [{}, {}, {}])",
                    centre[0] + jitter,
                    centre[1] + jitter / 2.0,
                    centre[2] + jitter / 3.0
                ));
            }
        }
    }
    values.push("(999, 'en', NULL)".into());
    sql(
        &db,
        &format!("INSERT INTO frames VALUES {}", values.join(", ")),
    );
    (dir, db)
}

#[test]
fn partitions_are_clustered_apart_and_null_vectors_get_null() {
    let (_dir, db) = two_videos();
    let batches = sql(
        &db,
        "SELECT video, count(DISTINCT topic), count(topic), count(*) FROM (
             SELECT video, cluster(clip, 'kmeans', 3) OVER (PARTITION BY video) AS topic
             FROM frames) GROUP BY video ORDER BY video",
    );
    assert_eq!(
        rows(&batches),
        vec![vec!["en", "3", "18", "19"], vec!["zh", "3", "18", "18"]]
    );
    // Each group of six is one cluster; equal sizes are numbered by their smallest vector,
    // so the group around [0, 0, 1] is 0.
    let batches = sql(
        &db,
        "SELECT id / 10 % 10 AS grp, min(topic), max(topic) FROM (
             SELECT id, cluster(clip, 'kmeans', 3) OVER (PARTITION BY video ORDER BY id) AS topic
             FROM frames WHERE clip IS NOT NULL) WHERE id < 100 GROUP BY grp ORDER BY grp",
    );
    assert_eq!(
        rows(&batches),
        vec![
            vec!["0", "2", "2"],
            vec!["1", "1", "1"],
            vec!["2", "0", "0"]
        ]
    );
}

#[test]
fn the_labels_do_not_depend_on_the_order_of_the_rows() {
    let (_dir, db) = two_videos();
    let by = |order: &str| {
        let query = format!(
            "SELECT id, cluster(clip, 'kmeans', 3, 5) OVER (ORDER BY id {order}) AS c, \
             project(clip, 'tsne', 5) OVER (ORDER BY id {order}) AS xy \
             FROM frames ORDER BY id"
        );
        let batches = sql(&db, &query);
        let labels: Vec<Option<i64>> = int_column(&batches, 1);
        (
            canonical(&labels.iter().map(|l| l.unwrap_or(-9)).collect::<Vec<_>>()),
            rows(&batches)
                .into_iter()
                .map(|r| r[2].clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(by("ASC"), by("DESC"));
}

#[test]
fn small_and_degenerate_partitions_have_defined_results() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("edge.reeldb")).unwrap();
    sql(
        &db,
        "CREATE TABLE t (g TEXT, v VECTOR(2));
         INSERT INTO t VALUES ('one', [1, 2]),
             ('same', [3, 3]), ('same', [3, 3]), ('same', [3, 3]), ('same', [3, 3]),
             ('same', [3, 3]), ('same', [3, 3]), ('nulls', NULL), ('nulls', NULL)",
    );
    let labels = |call: &str| {
        let batches = sql(
            &db,
            &format!(
                "SELECT g, min(c), max(c), count(c) FROM (SELECT g, {call} OVER (PARTITION BY g) AS c FROM t) GROUP BY g ORDER BY g"
            ),
        );
        rows(&batches)
    };
    // One row: noise for the density methods, its own cluster for k-means (k = 1); all
    // identical rows: one cluster; only NULL vectors: NULL labels.
    assert_eq!(
        labels("cluster(v, 'dbscan', 0.5, 3)"),
        vec![
            vec!["nulls", "NULL", "NULL", "0"],
            vec!["one", "-1", "-1", "1"],
            vec!["same", "0", "0", "6"],
        ]
    );
    assert_eq!(
        labels("cluster(v, 'kmeans', 1)"),
        vec![
            vec!["nulls", "NULL", "NULL", "0"],
            vec!["one", "0", "0", "1"],
            vec!["same", "0", "0", "6"],
        ]
    );
    let hdbscan = labels("cluster(v, 'hdbscan', 2)");
    assert_eq!(hdbscan[1], vec!["one", "-1", "-1", "1"]);
    // Projections of one row or of identical rows are defined (no NaN).
    let batches = sql(
        &db,
        "SELECT g, xy['x'], xy['y'] FROM (SELECT g, project(v, 'pca') OVER (PARTITION BY g) AS xy FROM t) WHERE g <> 'nulls' ORDER BY g LIMIT 2",
    );
    assert_eq!(
        rows(&batches),
        vec![vec!["one", "0", "0"], vec!["same", "0", "0"]]
    );
    // Outlier scores: one row has no neighbour (NULL); identical rows are all inliers (1, as
    // scikit-learn's 1e-10 makes it) at distance 0; NULL vectors score NULL.
    let scores = |call: &str| {
        let query = format!(
            "SELECT g, min(s), max(s), count(s) FROM (SELECT g, {call} OVER (PARTITION BY g) AS s FROM t) GROUP BY g ORDER BY g"
        );
        rows(&sql(&db, &query))
    };
    assert_eq!(
        scores("outliers(v)"),
        vec![
            vec!["nulls", "NULL", "NULL", "0"],
            vec!["one", "NULL", "NULL", "0"],
            vec!["same", "1", "1", "6"],
        ]
    );
    assert_eq!(
        scores("outliers(v, 'knn', 3)")[2],
        vec!["same", "0", "0", "6"]
    );
    // k above the rows is an error that says what to do.
    let error = sql_error(
        &db,
        "SELECT cluster(v, 'kmeans', 3) OVER (PARTITION BY g) FROM t",
    );
    assert!(
        error.contains("k = 3") && error.contains("at most"),
        "{error}"
    );
}

#[test]
fn bad_calls_say_what_is_wrong_and_how_to_fix_it() {
    let (_dir, db) = two_videos();
    for (query, expected) in [
        (
            "SELECT cluster(clip, 'spectral') OVER () FROM frames",
            "'dbscan', 'hdbscan' or 'kmeans'",
        ),
        (
            "SELECT cluster(clip, 'dbscan') OVER () FROM frames",
            "eps is required",
        ),
        (
            "SELECT cluster(clip, 'dbscan', -1) OVER () FROM frames",
            "eps must be above 0",
        ),
        (
            "SELECT cluster(clip, 'kmeans', 3, 'colour=red') OVER () FROM frames",
            "unknown parameter 'colour'",
        ),
        (
            "SELECT cluster(clip, 'kmeans', id) OVER () FROM frames",
            "must be a constant",
        ),
        (
            "SELECT cluster(video, 'kmeans', 2) OVER () FROM frames",
            "not a vector",
        ),
        (
            "SELECT cluster(clip, 'hdbscan', 1) OVER () FROM frames",
            "min_cluster_size must be at least 2",
        ),
        (
            "SELECT cluster(clip, 'dbscan', 0.1, 'metric=hamming') OVER () FROM frames",
            "'euclidean'",
        ),
        (
            "SELECT outliers(clip, 'iforest') OVER () FROM frames",
            "unknown outlier method 'iforest': use 'lof' (the default) or 'knn'",
        ),
        (
            "SELECT outliers(clip, 'lof', 0) OVER () FROM frames",
            "n_neighbors must be at least 1",
        ),
        (
            "SELECT outliers(clip, 'knn', 'metric=hamming') OVER () FROM frames",
            "'euclidean'",
        ),
        (
            "SELECT outliers(clip, 'lof', id) OVER () FROM frames",
            "argument 3 must be a constant",
        ),
        (
            "SELECT outliers(clip, 20) OVER () FROM frames",
            "argument 2 must be the method as text",
        ),
        ("SELECT outliers(video) OVER () FROM frames", "not a vector"),
        (
            "SELECT project(clip, 'umap') OVER () FROM frames",
            "use 'tsne'",
        ),
        (
            "SELECT project(clip, 'tsne', 50) OVER () FROM frames",
            "perplexity",
        ),
        (
            "SELECT * FROM choose_k('frames', 'clip', 5, 2)",
            "k_min (5) is above k_max (2)",
        ),
        (
            "SELECT * FROM choose_k('frames', 'video', 2, 3)",
            "no vector column 'video'",
        ),
        ("SELECT * FROM choose_k('nope', 'clip', 2, 3)", "nope"),
        (
            "SELECT * FROM cluster_similarity('frames', 'clip', 'id', 'video', 'en', 'fr')",
            "'fr'",
        ),
    ] {
        let error = sql_error(&db, query);
        assert!(error.contains(expected), "{query}: {error}");
    }
}

#[test]
fn choose_k_scores_each_k_and_respects_partitions() {
    let (_dir, db) = two_videos();
    let batches = sql(
        &db,
        "SELECT k, silhouette, seed_stability, k_stability FROM choose_k('frames', 'clip', 2, 4) ORDER BY k",
    );
    let table = rows(&batches);
    assert_eq!(table.len(), 3);
    assert_eq!(table[0][3], "NULL", "no K before the first");
    // Three groups: the silhouette is best at K = 3, where every seed finds the same clusters.
    let silhouettes: Vec<f64> = table.iter().map(|r| r[1].parse().unwrap()).collect();
    assert!(
        silhouettes[1] > silhouettes[0] && silhouettes[1] > silhouettes[2],
        "{table:?}"
    );
    assert_eq!(table[1][2], "1");
    let batches = sql(
        &db,
        "SELECT video, count(*) FROM choose_k('frames', 'clip', 2, 4, 'partition=video') GROUP BY video ORDER BY video",
    );
    assert_eq!(rows(&batches), vec![vec!["en", "3"], vec!["zh", "3"]]);
}

#[test]
fn cluster_similarity_pairs_the_matching_clusters_of_two_videos() {
    let (_dir, db) = two_videos();
    sql(
        &db,
        "CLUSTER frames ON clip USING kmeans (k = 3) PARTITION BY video INTO topic",
    );
    let batches = sql(
        &db,
        "SELECT left_cluster, right_cluster FROM cluster_similarity('frames', 'clip', 'topic', 'video', 'en', 'zh') LIMIT 3",
    );
    // The same groups in both videos, numbered alike: cluster i matches cluster i.
    let mut pairs = rows(&batches);
    pairs.sort();
    assert_eq!(pairs, vec![vec!["0", "0"], vec!["1", "1"], vec!["2", "2"]]);
    let batches = sql(
        &db,
        "SELECT count(*), max(similarity) <= 1.0 FROM cluster_similarity('frames', 'clip', 'topic', 'video', 'top_n=3')",
    );
    assert_eq!(rows(&batches), vec![vec!["9", "true"]]);
}

#[test]
fn the_cluster_statement_keeps_labels_as_a_column() {
    let (_dir, db) = two_videos();
    sql(&db, "CREATE VECTOR INDEX frames_clip ON frames (clip)");
    let report = sql(
        &db,
        "CLUSTER frames ON clip USING hdbscan (min_cluster_size = 3) PARTITION BY video INTO topic",
    );
    assert_eq!(rows(&report), vec![vec!["37", "6", "0"]]);
    // The rows keep their order and columns; the label is a new column; the index remains.
    let batches = sql(&db, "SELECT id, video, topic FROM frames LIMIT 2");
    assert_eq!(
        rows(&batches),
        vec![vec!["0", "en", "2"], vec!["1", "en", "2"]]
    );
    let batches = sql(&db, "SELECT count(*) FROM frames WHERE topic IS NULL");
    assert_eq!(rows(&batches), vec![vec!["1"]]);
    let indexes = rows(&sql(&db, "SHOW VECTOR INDEXES"));
    assert_eq!(indexes.len(), 1);
    // Again, with k-means: the column is replaced, not added twice.
    sql(
        &db,
        "CLUSTER frames ON clip USING kmeans (k = 2, seed = 1) INTO topic",
    );
    let batches = sql(&db, "SELECT count(DISTINCT topic) FROM frames");
    assert_eq!(rows(&batches), vec![vec!["2"]]);
    let columns = sql(&db, "SELECT * FROM frames LIMIT 1")[0].num_columns();
    assert_eq!(columns, 4);
    for (statement, expected) in [
        (
            "CLUSTER frames ON clip USING kmeans (k = 2) INTO clip",
            "cannot go INTO 'clip'",
        ),
        (
            "CLUSTER frames ON clip USING kmeans (k = 2) INTO video",
            "holds Utf8",
        ),
        (
            "CLUSTER frames ON nope USING kmeans (k = 2) INTO c",
            "no column 'nope'",
        ),
        (
            "CLUSTER frames ON clip USING kmeans (k = 2) PARTITION BY nope INTO c",
            "no column 'nope'",
        ),
        (
            "CLUSTER frames ON clip USING optics INTO c",
            "unknown clustering method 'optics'",
        ),
        (
            "CLUSTER frames ON clip USING kmeans (k = 99) INTO c",
            "k = 99",
        ),
    ] {
        let error = sql_error(&db, statement);
        assert!(error.contains(expected), "{statement}: {error}");
    }
    // A failed statement changed nothing.
    let columns = sql(&db, "SELECT * FROM frames LIMIT 1")[0].num_columns();
    assert_eq!(columns, 4);
}
