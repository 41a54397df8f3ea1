//! The graph functions against their references: `face_cooccurrence()` against a hand count
//! and a Python port of the seed-002 Perl script, `pagerank()` against networkx 3.6.1.
//!
//! `tests/graph/reference/*.json` are made by `tests/graph/make_reference.py` (seeded; it
//! records networkx's version); these tests only read them.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use reeldb_tests::{rows, sql, sql_error};
use serde_json::Value;

fn reference(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("graph/reference")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn database() -> (tempfile::TempDir, reeldb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("graph.reeldb")).unwrap();
    (dir, db)
}

/// A SQL literal of a JSON value: NULL, a number, or quoted text.
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::String(text) => format!("'{}'", text.replace('\'', "''")),
        other => other.to_string(),
    }
}

/// Inserts `rows` (JSON arrays) into `table`, in two statements so the table has two files.
fn insert(db: &reeldb::Database, table: &str, rows: &[Value]) {
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = row.as_array().unwrap().iter().map(literal).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let half = values.len() / 2;
    for part in [&values[..half], &values[half..]] {
        if !part.is_empty() {
            sql(
                db,
                &format!("INSERT INTO {table} VALUES {}", part.join(", ")),
            );
        }
    }
}

/// `(a, b, frames, weight)` of every row of a `face_cooccurrence()` result whose first
/// column is `a` (`skip` leading columns are dropped).
fn edges(batches: &[RecordBatch], skip: usize) -> Vec<(i64, i64, i64, f64)> {
    let mut out = Vec::new();
    for batch in batches {
        let int = |i: usize| batch.column(skip + i).as_primitive::<Int64Type>().clone();
        let (a, b, frames) = (int(0), int(1), int(2));
        let weight = batch.column(skip + 3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            out.push((
                a.value(row),
                b.value(row),
                frames.value(row),
                weight.value(row),
            ));
        }
    }
    out
}

fn expected_edges(value: &Value, skip: usize) -> Vec<(i64, i64, i64, f64)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = &row.as_array().unwrap()[skip..];
            (
                row[0].as_i64().unwrap(),
                row[1].as_i64().unwrap(),
                row[2].as_i64().unwrap(),
                row[3].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_same_edges(
    actual: &[(i64, i64, i64, f64)],
    expected: &[(i64, i64, i64, f64)],
    what: &str,
) {
    assert_eq!(actual.len(), expected.len(), "{what}: {actual:?}");
    for (x, y) in actual.iter().zip(expected) {
        assert_eq!((x.0, x.1, x.2), (y.0, y.1, y.2), "{what}");
        assert!((x.3 - y.3).abs() <= 1e-15, "{what}: {x:?} vs {y:?}");
    }
}

/// A faces table with the columns `face_cooccurrence()` reads.
fn faces_table(db: &reeldb::Database, table: &str, label_type: &str) {
    sql(
        db,
        &format!(
            "CREATE TABLE {table} (video TEXT, frame BIGINT, person {label_type}, width FLOAT, \
             height FLOAT, crop BYTEA)"
        ),
    );
}

#[test]
fn face_cooccurrence_counts_a_small_example_by_hand() {
    let (_dir, db) = database();
    faces_table(&db, "faces", "INT");
    // news: 0 {1, 2}; 1 {2, 3, noise, NULL}; 3 {1, 3} (frame 2 has nobody).
    // sport: 0 {3}; 1 {1}: its own adjacency, and 3 of news is the same person.
    sql(
        &db,
        "INSERT INTO faces (video, frame, person) VALUES
            ('news', 0, 2), ('news', 0, 1), ('news', 0, 2),
            ('news', 1, 2), ('news', 1, 3), ('news', 1, -1), ('news', 1, NULL),
            ('news', 3, 1), ('news', 3, 3),
            ('sport', 0, 3), ('sport', 1, 1)",
    );
    // Same frame: (1,2) news 0, (2,3) news 1, (1,3) news 3.
    // Prior frame: news 1 -> 0: (2,1) (3,1) (3,2); sport 1 -> 0: (1,3).
    // Undirected: (1,2) 2, (1,3) 3, (2,3) 2; max 3.
    let all = edges(
        &sql(
            &db,
            "SELECT * FROM face_cooccurrence('faces', 'person', min_weight => 0)",
        ),
        0,
    );
    assert_same_edges(
        &all,
        &[(1, 3, 3, 1.0), (1, 2, 2, 2.0 / 3.0), (2, 3, 2, 2.0 / 3.0)],
        "undirected",
    );
    // The seed's keys, and its threshold of 2 after the weights are taken.
    let directed = edges(
        &sql(
            &db,
            "SELECT * FROM face_cooccurrence('faces', 'person', 'directed=true', 'min_weight=1')",
        ),
        0,
    );
    assert_same_edges(
        &directed,
        &[
            (1, 3, 2, 1.0),
            (1, 2, 1, 0.5),
            (2, 1, 1, 0.5),
            (2, 3, 1, 0.5),
            (3, 1, 1, 0.5),
            (3, 2, 1, 0.5),
        ],
        "directed",
    );
    assert_same_edges(
        &edges(
            &sql(
                &db,
                "SELECT * FROM face_cooccurrence('faces', 'person', 1, 2, true)",
            ),
            0,
        ),
        &[(1, 3, 2, 1.0)],
        "positional",
    );
    // Window 0: the same frame only; window 2 reaches news 3 -> 1 across the empty frame.
    assert_same_edges(
        &edges(
            &sql(
                &db,
                "SELECT * FROM face_cooccurrence('faces', 'person', window => 0, min_weight => 1)",
            ),
            0,
        ),
        &[(1, 2, 1, 1.0), (1, 3, 1, 1.0), (2, 3, 1, 1.0)],
        "window 0",
    );
    assert_same_edges(
        &edges(
            &sql(
                &db,
                "SELECT * FROM face_cooccurrence('faces', 'person', window => 2, min_weight => 3)",
            ),
            0,
        ),
        // Window 2 adds news 3 -> 1: (1,2), (1,3), (3,2); one more count for each pair.
        &[(1, 3, 4, 1.0), (1, 2, 3, 0.75), (2, 3, 3, 0.75)],
        "window 2",
    );
}

#[test]
fn face_cooccurrence_matches_the_seed_script_on_a_random_faces_table() {
    let reference = reference("cooccurrence.json");
    let (_dir, db) = database();
    faces_table(&db, "faces", "BIGINT");
    let face_rows: Vec<Value> = reference["rows"].as_array().unwrap().clone();
    sql(
        &db,
        "CREATE TABLE raw (video TEXT, frame BIGINT, person BIGINT)",
    );
    insert(&db, "raw", &face_rows);
    sql(
        &db,
        "INSERT INTO faces (video, frame, person) SELECT video, frame, person FROM raw",
    );
    for case in reference["cases"].as_array().unwrap() {
        let statement = format!(
            "SELECT * FROM face_cooccurrence('faces', 'person', window => {}, min_weight => {}, \
             directed => {})",
            case["window"], case["min_weight"], case["directed"]
        );
        let actual = edges(&sql(&db, &statement), 0);
        assert_same_edges(&actual, &expected_edges(&case["edges"], 0), &statement);
    }

    // Labels clustered per video: `group` keeps each video's graph apart.
    sql(
        &db,
        "CREATE TABLE per_video (video TEXT, frame BIGINT, person BIGINT)",
    );
    insert(
        &db,
        "per_video",
        reference["grouped_rows"].as_array().unwrap(),
    );
    let grouped = &reference["grouped"];
    let batches = sql(
        &db,
        "SELECT * FROM face_cooccurrence('per_video', 'person', group => 'video')",
    );
    let videos: Vec<String> = rows(&batches).into_iter().map(|r| r[0].clone()).collect();
    let expected_videos: Vec<String> = grouped["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(videos, expected_videos);
    assert_same_edges(
        &edges(&batches, 1),
        &expected_edges(&grouped["edges"], 1),
        "grouped",
    );
    assert_eq!(batches[0].schema().field(0).name(), "video");
}

#[test]
fn face_cooccurrence_of_an_empty_table_has_no_rows() {
    let (_dir, db) = database();
    faces_table(&db, "faces", "BIGINT");
    assert!(
        rows(&sql(
            &db,
            "SELECT * FROM face_cooccurrence('faces', 'person')"
        ))
        .is_empty()
    );
    sql(
        &db,
        "INSERT INTO faces (video, frame, person) VALUES ('v', 0, -1), ('v', 1, NULL)",
    );
    assert!(
        rows(&sql(
            &db,
            "SELECT * FROM face_cooccurrence('faces', 'person', min_weight => 0)"
        ))
        .is_empty()
    );
    assert!(
        rows(&sql(
            &db,
            "SELECT * FROM face_cooccurrence('faces', 'person', group => 'video')"
        ))
        .is_empty()
    );
}

#[test]
fn face_cooccurrence_explains_bad_input() {
    let (_dir, db) = database();
    faces_table(&db, "faces", "BIGINT");
    sql(&db, "CREATE TABLE no_frame (video TEXT, person BIGINT)");
    sql(&db, "CREATE TABLE no_video (frame BIGINT, person BIGINT)");
    sql(
        &db,
        "CREATE TABLE text_frame (video TEXT, frame TEXT, person BIGINT)",
    );
    let cases = [
        ("face_cooccurrence('facez', 'person')", "facez"),
        (
            "face_cooccurrence('faces', 'persn')",
            "has no column 'persn'",
        ),
        (
            "face_cooccurrence('faces', 'video')",
            "not whole-number identity labels",
        ),
        (
            "face_cooccurrence('no_frame', 'person')",
            "has no column 'frame'",
        ),
        (
            "face_cooccurrence('no_video', 'person')",
            "has no column 'video'",
        ),
        (
            "face_cooccurrence('text_frame', 'person')",
            "not whole sample numbers",
        ),
        (
            "face_cooccurrence('faces', 'person', window => -1)",
            "window must be at least 0",
        ),
        (
            "face_cooccurrence('faces', 'person', window => 1.5)",
            "window must be a whole number",
        ),
        (
            "face_cooccurrence('faces', 'person', 'window=x')",
            "window must be a whole number",
        ),
        (
            "face_cooccurrence('faces', 'person', min_weight => -2)",
            "min_weight must be at least 0",
        ),
        (
            "face_cooccurrence('faces', 'person', windw => 2)",
            "unknown parameter 'windw'",
        ),
        (
            "face_cooccurrence('faces', 'person', group => 'show')",
            "has no column 'show'",
        ),
        ("face_cooccurrence('faces')", "at least 2 arguments"),
    ];
    for (call, expected) in cases {
        let error = sql_error(&db, &format!("SELECT * FROM {call}"));
        assert!(error.contains(expected), "{call}: {error}");
    }
}

fn ranks(batches: &[RecordBatch]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for batch in batches {
        let ranks = batch.column(1).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            out.push((
                reeldb_tests::format_value(batch.column(0).as_ref(), row),
                ranks.value(row),
            ));
        }
    }
    out
}

fn assert_ranks_match(actual: &[(String, f64)], expected: &Value, what: &str) {
    let expected: HashMap<String, f64> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let node = match &pair[0] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (node, pair[1].as_f64().unwrap())
        })
        .collect();
    assert_eq!(actual.len(), expected.len(), "{what}: {actual:?}");
    for (node, rank) in actual {
        let want = expected[node];
        assert!(
            (rank - want).abs() <= 1e-9 * want,
            "{what}: node {node}: {rank} vs networkx {want}"
        );
    }
    for pair in actual.windows(2) {
        assert!(pair[0].1 >= pair[1].1, "{what}: not by rank: {actual:?}");
    }
}

#[test]
fn pagerank_matches_networkx() {
    let reference = reference("pagerank.json");
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (_dir, db) = database();
        let id_type = if case["edges"][0][0].is_string() {
            "TEXT"
        } else {
            "BIGINT"
        };
        sql(
            &db,
            &format!("CREATE TABLE edges (src {id_type}, dst {id_type}, w DOUBLE)"),
        );
        insert(&db, "edges", case["edges"].as_array().unwrap());
        let weight = if case["weighted"].as_bool().unwrap() {
            ", 'w'"
        } else {
            ""
        };
        let statement = format!(
            "SELECT * FROM pagerank('edges', 'src', 'dst'{weight}, damping => {}, \
             iterations => {}, tolerance => {:e}, directed => {})",
            case["damping"],
            case["iterations"],
            case["tolerance"].as_f64().unwrap(),
            case["directed"]
        );
        assert_ranks_match(&ranks(&sql(&db, &statement)), &case["ranks"], name);
    }
}

#[test]
fn pagerank_of_the_seed_cooccurrence_graph_matches_networkx() {
    // End to end: faces -> face_cooccurrence() -> a table -> pagerank(), as the export does.
    let cooccurrence = reference("cooccurrence.json");
    let pagerank = reference("pagerank.json");
    let case = pagerank["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "seed_cooccurrence_graph")
        .unwrap();
    let (_dir, db) = database();
    sql(
        &db,
        "CREATE TABLE faces (video TEXT, frame BIGINT, person BIGINT)",
    );
    insert(&db, "faces", cooccurrence["rows"].as_array().unwrap());
    sql(
        &db,
        "CREATE TABLE edges AS SELECT * FROM face_cooccurrence('faces', 'person')",
    );
    let batches = sql(
        &db,
        "SELECT * FROM pagerank('edges', 'a', 'b', weight => 'weight', directed => false)",
    );
    assert_eq!(
        batches[0].schema().field(0).data_type(),
        &arrow::datatypes::DataType::Int64
    );
    assert_ranks_match(&ranks(&batches), &case["ranks"], "seed graph");
    let total: f64 = ranks(&batches).iter().map(|(_, r)| r).sum();
    assert!((total - 1.0).abs() < 1e-12);
}

#[test]
fn pagerank_keeps_the_id_type_and_explains_bad_input() {
    let (_dir, db) = database();
    sql(
        &db,
        "CREATE TABLE e (s INT, t INT, w DOUBLE, label TEXT, big BIGINT)",
    );
    sql(
        &db,
        "INSERT INTO e VALUES (1, 2, 1.0, 'x', 1), (2, 1, NULL, 'y', 2), (2, 3, -1.0, NULL, 3)",
    );
    let batches = sql(&db, "SELECT * FROM pagerank('e', 's', 't')");
    assert_eq!(
        batches[0].schema().field(0).data_type(),
        &arrow::datatypes::DataType::Int32
    );
    let batches = sql(&db, "SELECT * FROM pagerank('e', 's', 'big')");
    assert_eq!(
        batches[0].schema().field(0).data_type(),
        &arrow::datatypes::DataType::Int64
    );
    assert!(
        rows(&sql(
            &db,
            "SELECT * FROM pagerank('e', 's', 't') WHERE rank < 0"
        ))
        .is_empty()
    );
    sql(&db, "CREATE TABLE empty (s TEXT, t TEXT)");
    assert!(rows(&sql(&db, "SELECT * FROM pagerank('empty', 's', 't')")).is_empty());
    let cases = [
        ("pagerank('f', 's', 't')", "'f'"),
        ("pagerank('e', 's', 'u')", "has no column 'u'"),
        (
            "pagerank('e', 's', 'w')",
            "node ids must be whole numbers or text",
        ),
        (
            "pagerank('e', 's', 'label')",
            "all whole numbers or all text",
        ),
        (
            "pagerank('e', 's', 't', 'label')",
            "'label' is Utf8View, not numbers",
        ),
        ("pagerank('e', 's', 't', 'w')", "weight -1"),
        ("pagerank('e', 's', 't', damping => 2)", "damping = 2"),
        ("pagerank('e', 's', 't', tolerance => 0)", "tolerance = 0"),
        (
            "pagerank('e', 's', 't', iterations => 0)",
            "iterations must be at least 1",
        ),
        (
            "pagerank('e', 's', 't', iterations => 1, tolerance => 1e-12)",
            "did not converge in 1 iterations",
        ),
        (
            "pagerank('e', 's', 't', dampng => 0.5)",
            "unknown parameter 'dampng'",
        ),
    ];
    for (call, expected) in cases {
        let error = sql_error(&db, &format!("SELECT * FROM {call}"));
        assert!(error.contains(expected), "{call}: {error}");
    }
}
