//! The Rust library API (`reeldb::Database`) and damaged files seen through SQL.

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use reeldb_tests::{rows, sql, sql_error};

#[test]
fn blocking_sql_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("lib.reeldb")).unwrap();
    db.sql_blocking(
        "CREATE TABLE frames (id BIGINT, video TEXT, ts DOUBLE, embedding VECTOR(4));
         INSERT INTO frames VALUES (1, 'a', 0.0, [1, 0, 0, 0]), (2, 'b', 4.0, [0, 1, 0, 0]);",
    )
    .unwrap();
    let batches = db.sql_blocking("SELECT sum(id) FROM frames").unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_sql_and_blocking_inside_a_runtime_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("lib.reeldb")).unwrap();
    db.sql("CREATE TABLE t (x INT)").await.unwrap();
    let err = db.sql_blocking("SELECT 1").unwrap_err();
    assert!(err.to_string().contains("use sql(..).await"), "{err}");
}

#[test]
fn a_truncated_data_file_is_named_in_the_query_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.reeldb");
    let db = reeldb::Database::open(&path).unwrap();
    db.sql_blocking("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    let snapshot = db.engine().snapshot().unwrap();
    let file = snapshot.table("t").unwrap().files[0].clone();
    let file_path = snapshot.data_file_path(&file);
    drop(snapshot);
    let bytes = std::fs::read(&file_path).unwrap();
    std::fs::write(&file_path, &bytes[..bytes.len() / 2]).unwrap();
    let err = db.sql_blocking("SELECT * FROM t").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&file_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn a_garbled_data_file_of_the_right_size_gives_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbled.reeldb");
    let db = reeldb::Database::open(&path).unwrap();
    db.sql_blocking("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    let snapshot = db.engine().snapshot().unwrap();
    let file_path = snapshot.data_file_path(&snapshot.table("t").unwrap().files[0]);
    drop(snapshot);
    let mut bytes = std::fs::read(&file_path).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 40..n - 8] {
        *b = 0xFF; // the footer's metadata
    }
    std::fs::write(&file_path, &bytes).unwrap();
    let err = db.sql_blocking("SELECT * FROM t").unwrap_err();
    // DataFusion names the file by its object-store path, which has no leading slash.
    let named = file_path.display().to_string();
    assert!(
        err.to_string().contains(named.trim_start_matches('/')),
        "the error names the file: {err}"
    );
}

#[test]
fn a_corrupt_manifest_is_named_when_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.reeldb");
    let db = reeldb::Database::open(&path).unwrap();
    db.sql_blocking("CREATE TABLE t (x BIGINT)").unwrap();
    drop(db);
    let manifest = path.join("manifests/00000000000000000001.manifest");
    let mut bytes = std::fs::read(&manifest).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&manifest, &bytes).unwrap();
    let err = reeldb::Database::open(&path).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("00000000000000000001.manifest"),
        "{message}"
    );
    assert!(message.contains("checksum mismatch"), "{message}");
}

#[test]
fn a_database_path_with_percent_and_space_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("odd %41 dir/my db%20.reeldb")).unwrap();
    db.sql_blocking("CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1), (2);")
        .unwrap();
    let batches = db.sql_blocking("SELECT sum(x) FROM t").unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 3);
}

/// Issue 21, item 9: `COPY ... TO` a committed data file or a manifest overwrote it, and the
/// database lost data or would not open.
#[test]
fn copy_to_a_file_inside_the_database_is_refused_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib.reeldb");
    let db = reeldb::Database::open(&root).unwrap();
    db.sql_blocking("CREATE TABLE t1 (id BIGINT); INSERT INTO t1 VALUES (1), (2)")
        .unwrap();
    let data_file = std::fs::read_dir(root.join("data/t1"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for (target, stored) in [
        (data_file.display().to_string(), ""),
        (
            root.join("manifests/00000000000000000099.manifest")
                .display()
                .to_string(),
            " STORED AS CSV",
        ),
    ] {
        let err = db
            .sql_blocking(&format!("COPY (SELECT 42 AS id) TO '{target}'{stored}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside the database directory"), "{err}");
    }
    drop(db);
    let db = reeldb::Database::open(&root).unwrap();
    let batches = db.sql_blocking("SELECT sum(id) FROM t1").unwrap();
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 3);
    assert!(
        !root
            .join("manifests/00000000000000000099.manifest")
            .exists()
    );
}

/// Issue 21, item 17: an empty `.parquet` file is refused by name, not read as 0 rows.
#[test]
fn copy_from_an_empty_parquet_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("db")).unwrap();
    sql(&db, "CREATE TABLE t (a INT)");
    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    let err = sql_error(&db, &format!("COPY t FROM '{}'", empty.display()));
    assert!(
        err.contains("empty.parquet") && err.contains("is empty (0 bytes)"),
        "{err}"
    );
    assert_eq!(rows(&sql(&db, "SELECT count(*) FROM t")), [["0"]]);
}
