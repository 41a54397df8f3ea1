//! Recall of the HNSW index through SQL, on siftsmall (10,000 SIFT descriptors with exact
//! ground truth, `../shared/fixtures/ann`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{AsArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use reeldb_engine::vector::{vector_item_field, vector_type};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/ann")
}

/// Reads an `.fvecs` or `.ivecs` file: each row is a little-endian i32 dimension, then that
/// many 4-byte values.
fn read_vecs(path: &Path) -> Vec<Vec<[u8; 4]>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let dim = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4;
        rows.push(
            bytes[at..at + 4 * dim]
                .chunks_exact(4)
                .map(|c| c.try_into().unwrap())
                .collect(),
        );
        at += 4 * dim;
    }
    rows
}

fn floats(rows: Vec<Vec<[u8; 4]>>) -> Vec<Vec<f32>> {
    rows.into_iter()
        .map(|r| r.into_iter().map(f32::from_le_bytes).collect())
        .collect()
}

fn literal(vector: &[f32]) -> String {
    let values: Vec<String> = vector.iter().map(|v| v.to_string()).collect();
    format!("[{}]", values.join(", "))
}

/// Mean recall@10 of `ORDER BY distance(v, q, 'l2') LIMIT 10` over the 100 queries.
fn recall_at_10(db: &reeldb::Database, queries: &[Vec<f32>], truth: &[Vec<i64>]) -> f64 {
    let mut total = 0.0;
    for (query, truth) in queries.iter().zip(truth) {
        let sql = format!(
            "SELECT id FROM sift ORDER BY distance(v, {}, 'l2') LIMIT 10",
            literal(query)
        );
        let batches = db.sql_blocking(&sql).unwrap();
        let found: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(found.len(), 10);
        total += found.iter().filter(|id| truth[..10].contains(id)).count() as f64 / 10.0;
    }
    total / queries.len() as f64
}

#[test]
fn siftsmall_recall_at_10_through_sql() {
    let base = floats(read_vecs(&fixtures().join("siftsmall_base.fvecs")));
    let queries = floats(read_vecs(&fixtures().join("siftsmall_query.fvecs")));
    let truth: Vec<Vec<i64>> = read_vecs(&fixtures().join("siftsmall_groundtruth.ivecs"))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|b| i32::from_le_bytes(b) as i64)
                .collect()
        })
        .collect();
    assert_eq!((base.len(), queries.len(), truth.len()), (10_000, 100, 100));

    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("sift.reeldb")).unwrap();
    create_vector_table(&db, "sift", ("id", "v"), &base);

    // Exact: the ground truth, up to ties at the tenth place.
    let exact = recall_at_10(&db, &queries, &truth);
    assert!(exact >= 0.99, "exact recall@10 {exact}");

    db.sql_blocking("CREATE VECTOR INDEX sift_v ON sift (v) WITH (metric = 'l2')")
        .unwrap();
    let plan = explain(
        &db,
        &format!(
            "SELECT id FROM sift ORDER BY distance(v, {}, 'l2') LIMIT 10",
            literal(&queries[0])
        ),
    );
    assert!(plan.contains("index=sift_v"), "{plan}");
    let indexed = recall_at_10(&db, &queries, &truth);
    assert!(
        indexed >= 0.95,
        "HNSW recall@10 at default settings {indexed}"
    );

    // The same queries as one lateral join: every query row searches the graph.
    create_vector_table(&db, "queries", ("qid", "q"), &queries);
    let lateral = "SELECT qid, n.id FROM queries, LATERAL (
        SELECT id FROM sift ORDER BY distance(v, queries.q, 'l2') LIMIT 10) n";
    let plan = explain(&db, lateral);
    assert!(
        plan.contains("LateralVectorTopK") && plan.contains("index=sift_v"),
        "{plan}"
    );
    let lateral_indexed = lateral_recall_at_10(&db, lateral, &truth);
    assert!(
        lateral_indexed >= 0.95,
        "lateral HNSW recall@10 {lateral_indexed}"
    );
    db.sql_blocking("SET reeldb.use_vector_index = false")
        .unwrap();
    let lateral_exact = lateral_recall_at_10(&db, lateral, &truth);
    assert!(
        lateral_exact >= 0.99,
        "lateral exact recall@10 {lateral_exact}"
    );
}

/// Creates table `name` with an id column (0, 1, ...) and a column of `vectors`.
fn create_vector_table(
    db: &reeldb::Database,
    name: &str,
    (id, column): (&str, &str),
    vectors: &[Vec<f32>],
) {
    let dim = vectors[0].len();
    let schema = Arc::new(Schema::new(vec![
        Field::new(id, DataType::Int64, false),
        Field::new(column, vector_type(dim as i32), false),
    ]));
    let values: Vec<f32> = vectors.iter().flatten().copied().collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(0..vectors.len() as i64)),
            Arc::new(FixedSizeListArray::new(
                Arc::new(vector_item_field()),
                dim as i32,
                Arc::new(Float32Array::from(values)),
                None,
            )),
        ],
    )
    .unwrap();
    let mut txn = db.engine().begin_write().unwrap();
    txn.create_table(name, &schema).unwrap();
    txn.append(name, &batch).unwrap();
    txn.commit().unwrap();
}

/// The text of `sql`'s plan.
fn explain(db: &reeldb::Database, sql: &str) -> String {
    db.sql_blocking(&format!("EXPLAIN {sql}"))
        .unwrap()
        .iter()
        .flat_map(|b| {
            let plans = b.column(1).as_string::<i32>();
            (0..b.num_rows()).map(move |i| plans.value(i).to_string())
        })
        .collect()
}

/// Mean recall@10 of a query returning `(query id, neighbour id)` rows, ten per query.
fn lateral_recall_at_10(db: &reeldb::Database, sql: &str, truth: &[Vec<i64>]) -> f64 {
    let mut found: Vec<Vec<i64>> = vec![Vec::new(); truth.len()];
    for batch in db.sql_blocking(sql).unwrap() {
        let qids = batch.column(0).as_primitive::<Int64Type>();
        let ids = batch.column(1).as_primitive::<Int64Type>();
        for (qid, id) in qids.values().iter().zip(ids.values()) {
            found[*qid as usize].push(*id);
        }
    }
    let mut total = 0.0;
    for (found, truth) in found.iter().zip(truth) {
        assert_eq!(found.len(), 10);
        total += found.iter().filter(|id| truth[..10].contains(id)).count() as f64 / 10.0;
    }
    total / truth.len() as f64
}
