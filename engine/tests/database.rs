//! Engine behaviour through its public API: commits, snapshots, the writer lock, deletes by
//! file replacement, compaction, vacuum and damaged files.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use reeldb_engine::vector::{vector_item_field, vector_type};
use reeldb_engine::{Database, Error, read_data_file};

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("embedding", vector_type(2), true),
    ])
}

fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
    let n = ids.end - ids.start;
    let values: Vec<f32> = ids.clone().flat_map(|i| [i as f32, 1.0]).collect();
    let vectors = FixedSizeListArray::new(
        Arc::new(vector_item_field()),
        2,
        Arc::new(Float32Array::from(values)),
        None,
    );
    assert_eq!(vectors.len() as i64, n);
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)) as ArrayRef,
            Arc::new(vectors),
        ],
    )
    .unwrap()
}

fn ids_in(db: &Database, table: &str) -> Vec<i64> {
    let snapshot = db.snapshot().unwrap();
    let mut ids = Vec::new();
    for file in &snapshot.table(table).unwrap().files {
        snapshot.check_data_file(file).unwrap();
        for batch in read_data_file(&snapshot.data_file_path(file)).unwrap() {
            ids.extend(
                batch
                    .unwrap()
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values(),
            );
        }
    }
    ids.sort_unstable();
    ids
}

fn new_db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("test.reeldb")).unwrap();
    (dir, db)
}

#[test]
fn committed_rows_survive_reopen() {
    let (dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..10)).unwrap();
    txn.commit().unwrap();
    drop(db);
    let db = Database::open(dir.path().join("test.reeldb")).unwrap();
    assert_eq!(ids_in(&db, "frames"), (0..10).collect::<Vec<_>>());
    assert_eq!(db.snapshot().unwrap().version(), 1);
}

#[test]
fn uncommitted_transaction_leaves_no_trace() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.commit().unwrap();
    let mut txn = db.begin_write().unwrap();
    txn.append("frames", &batch(0..10)).unwrap();
    drop(txn);
    assert!(ids_in(&db, "frames").is_empty());
    let files = std::fs::read_dir(db.path().join("data/t1"))
        .unwrap()
        .count();
    assert_eq!(files, 0, "a rolled back transaction deletes its files");
}

#[test]
fn a_snapshot_keeps_seeing_its_version() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..5)).unwrap();
    txn.commit().unwrap();
    let old = db.snapshot().unwrap();
    let mut txn = db.begin_write().unwrap();
    txn.append("frames", &batch(5..8)).unwrap();
    txn.commit().unwrap();
    assert_eq!(old.table("frames").unwrap().row_count(), 5);
    assert_eq!(
        db.snapshot().unwrap().table("frames").unwrap().row_count(),
        8
    );
}

#[test]
fn second_writer_is_refused_at_once() {
    let (_dir, db) = new_db();
    let other = Database::open(db.path()).unwrap();
    let txn = db.begin_write().unwrap();
    match other.begin_write() {
        Err(Error::WriterBusy { path }) => assert_eq!(path, db.path()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second writer got the lock"),
    }
    // Readers are not blocked.
    other.snapshot().unwrap();
    drop(txn);
    other.begin_write().unwrap();
}

#[test]
fn read_only_database_refuses_writes() {
    let (_dir, db) = new_db();
    let ro = Database::builder().read_only(true).open(db.path()).unwrap();
    assert!(matches!(ro.begin_write(), Err(Error::ReadOnly { .. })));
}

#[test]
fn wrong_vector_is_refused_and_nothing_is_committed() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.commit().unwrap();
    let mut txn = db.begin_write().unwrap();
    txn.append("frames", &batch(0..3)).unwrap();
    let mut bad = batch(3..6);
    let values = Float32Array::from(vec![1.0, 2.0, f32::INFINITY, 0.0, 1.0, 1.0]);
    let vectors = FixedSizeListArray::new(Arc::new(vector_item_field()), 2, Arc::new(values), None);
    bad = RecordBatch::try_new(
        bad.schema(),
        vec![Arc::clone(bad.column(0)), Arc::new(vectors)],
    )
    .unwrap();
    let err = txn.append("frames", &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column 'embedding', row 5: vector element 0 is inf; vectors of dimension 2 must hold \
         finite numbers"
    );
    drop(txn);
    assert!(ids_in(&db, "frames").is_empty());
}

#[test]
fn replacing_a_file_deletes_rows_atomically() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..10)).unwrap();
    txn.commit().unwrap();
    let snapshot = db.snapshot().unwrap();
    let file = snapshot.table("frames").unwrap().files[0].clone();
    let mut txn = db.begin_write().unwrap();
    txn.append("frames", &batch(0..4)).unwrap();
    txn.remove_file("frames", &file.path).unwrap();
    txn.commit().unwrap();
    assert_eq!(ids_in(&db, "frames"), vec![0, 1, 2, 3]);
}

#[test]
fn compaction_merges_small_files_and_keeps_rows() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.commit().unwrap();
    for i in 0..5 {
        let mut txn = db.begin_write().unwrap();
        txn.append("frames", &batch(i * 10..i * 10 + 10)).unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(
        db.snapshot().unwrap().table("frames").unwrap().files.len(),
        5
    );
    let report = db.compact(None).unwrap();
    assert_eq!(
        (report.files_removed, report.files_written, report.rows),
        (5, 1, 50)
    );
    assert_eq!(ids_in(&db, "frames"), (0..50).collect::<Vec<_>>());
}

#[test]
fn vacuum_deletes_unused_versions_but_not_those_in_use() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..10)).unwrap();
    txn.commit().unwrap();
    let pinned = db.snapshot().unwrap(); // version 1, held by a reader
    let mut txn = db.begin_write().unwrap();
    txn.drop_table("frames").unwrap();
    txn.commit().unwrap(); // version 2
    let mut txn = db.begin_write().unwrap();
    txn.create_table("other", &schema()).unwrap();
    txn.commit().unwrap(); // version 3

    let report = db.vacuum(1).unwrap();
    assert_eq!((report.versions_removed, report.versions_in_use), (1, 1));
    assert_eq!(
        report.files_removed, 0,
        "version 1 is in use, so its data file stays"
    );
    let file = &pinned.table("frames").unwrap().files[0];
    pinned.check_data_file(file).unwrap();

    drop(pinned);
    let report = db.vacuum(1).unwrap();
    assert_eq!((report.versions_removed, report.files_removed), (1, 1));
    assert!(!db.path().join("data/t1").exists());
    assert_eq!(db.snapshot().unwrap().table_names(), vec!["other"]);
}

#[test]
fn vacuum_removes_files_of_crashed_transactions() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.commit().unwrap();
    std::fs::create_dir_all(db.path().join("data/t1")).unwrap();
    std::fs::write(
        db.path()
            .join("data/t1/00000000000000000002-000000.parquet"),
        b"x",
    )
    .unwrap();
    std::fs::write(
        db.path()
            .join("manifests/00000000000000000002.manifest.7.tmp"),
        b"x",
    )
    .unwrap();
    let report = db.vacuum(1).unwrap();
    assert_eq!(report.files_removed, 2);
}

/// Issue 21, item 11: vacuum deleted the files a link in the database directory pointed to.
#[cfg(unix)]
#[test]
fn vacuum_never_follows_links() {
    use std::os::unix::fs::symlink;
    let (dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..3)).unwrap();
    txn.commit().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let precious = outside.join("00000000000000000002-000000.parquet");
    std::fs::write(&precious, b"not the engine's").unwrap();
    for dir in ["indexes", "models"] {
        std::fs::create_dir_all(db.path().join(dir)).unwrap();
    }
    // A table directory, a stale index build and a stale model that are links to elsewhere,
    // and a dead data file in a real table directory that is a link to a file elsewhere.
    symlink(&outside, db.path().join("data/t99")).unwrap();
    symlink(&outside, db.path().join("indexes/i-00000000000000000009")).unwrap();
    symlink(&outside, db.path().join("models/m-00000000000000000009")).unwrap();
    symlink(
        &precious,
        db.path()
            .join("data/t1/00000000000000000009-000000.parquet"),
    )
    .unwrap();
    db.vacuum(1).unwrap();
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"not the engine's",
        "a file outside the database was touched"
    );
    // The engine's own dead entries (the links themselves) are gone; the linked table
    // directory is left alone; the committed rows are intact.
    assert!(!db.path().join("indexes/i-00000000000000000009").exists());
    assert!(!db.path().join("models/m-00000000000000000009").exists());
    assert!(
        std::fs::symlink_metadata(
            db.path()
                .join("data/t1/00000000000000000009-000000.parquet")
        )
        .is_err()
    );
    assert!(std::fs::symlink_metadata(db.path().join("data/t99")).is_ok());
    assert_eq!(ids_in(&db, "frames"), vec![0, 1, 2]);
}

#[test]
fn corrupt_manifest_is_named_in_the_error() {
    let (dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.commit().unwrap();
    drop(db);
    let path = dir
        .path()
        .join("test.reeldb/manifests/00000000000000000001.manifest");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Database::open(dir.path().join("test.reeldb")).unwrap_err();
    match err {
        Error::CorruptFile { path: p, reason } => {
            assert_eq!(p, path);
            assert!(reason.contains("truncated"), "{reason}");
            assert!(
                reason.contains("restore the database directory"),
                "{reason}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Issue 21, item 17: an unreadable newest manifest gave no way back.
#[test]
fn an_unreadable_newest_manifest_says_how_to_roll_back_to_the_previous_version() {
    let (dir, db) = new_db();
    for table in ["frames", "faces"] {
        let mut txn = db.begin_write().unwrap();
        txn.create_table(table, &schema()).unwrap();
        txn.commit().unwrap();
    }
    drop(db);
    let root = dir.path().join("test.reeldb");
    let newest = root.join("manifests/00000000000000000002.manifest");
    std::fs::write(&newest, b"garbage").unwrap();
    let err = Database::open(&root).unwrap_err().to_string();
    assert!(
        err.contains("version before it (1)") && err.contains("move '"),
        "{err}"
    );
    // Following the advice opens version 1, with its table.
    std::fs::rename(&newest, dir.path().join("kept.manifest")).unwrap();
    let db = Database::open(&root).unwrap();
    assert_eq!(db.snapshot().unwrap().table_names(), vec!["frames"]);
}

#[test]
fn truncated_data_file_is_named_in_the_error() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    txn.append("frames", &batch(0..10)).unwrap();
    let snapshot = txn.commit().unwrap();
    let file = &snapshot.table("frames").unwrap().files[0];
    let path = snapshot.data_file_path(file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = snapshot.check_data_file(file).unwrap_err();
    assert!(
        matches!(&err, Error::CorruptFile { path: p, .. } if p == &path),
        "{err:?}"
    );
    let err = read_data_file(&path)
        .err()
        .expect("reading a truncated file fails");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_directory_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let err = Database::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err:?}");
    let err = Database::open(dir.path().join("notes.txt")).unwrap_err();
    assert!(err.to_string().contains("it is a file"), "{err}");
}

#[test]
fn table_errors_name_the_table_and_suggest() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema()).unwrap();
    assert!(matches!(
        txn.create_table("frames", &schema()),
        Err(Error::TableExists { .. })
    ));
    let err = txn.append("frame", &batch(0..1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "table 'frame' does not exist (did you mean 'frames'?)"
    );
    let doubles = Schema::new(vec![Field::new(
        "v",
        DataType::FixedSizeList(Arc::new(Field::new_list_field(DataType::Float64, true)), 3),
        true,
    )]);
    let err = txn.create_table("d", &doubles).unwrap_err();
    assert!(
        err.to_string()
            .contains("declare it as FLOAT[3] or VECTOR(3)"),
        "{err}"
    );
}

#[test]
fn a_creation_cut_short_before_the_marker_is_completed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.reeldb");
    std::fs::create_dir_all(path.join("manifests")).unwrap();
    std::fs::create_dir_all(path.join("data")).unwrap();
    std::fs::write(path.join("REELDB.123.tmp"), b"reeldb data").unwrap();
    let db = Database::open(&path).unwrap();
    assert_eq!(db.snapshot().unwrap().version(), 0);
    assert!(path.join("REELDB").exists());
}

#[test]
fn a_failed_write_poisons_the_transaction() {
    let (_dir, db) = new_db();
    let mut txn = db.begin_write().unwrap();
    txn.create_table("a", &schema()).unwrap();
    txn.create_table("b", &schema()).unwrap();
    txn.append("a", &batch(0..3)).unwrap();
    // Table b's data directory cannot be created: a file is in the way.
    std::fs::write(db.path().join("data/t2"), b"in the way").unwrap();
    let err = txn.append("b", &batch(0..3)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err = txn.commit().unwrap_err();
    assert!(err.to_string().contains("whose write failed"), "{err}");
    assert_eq!(db.snapshot().unwrap().version(), 0, "nothing was committed");
}

/// Issue 21, item 9: a result or export written into the database directory destroyed it.
#[test]
fn a_file_to_write_inside_the_database_directory_is_refused() {
    let (dir, db) = new_db();
    let root = db.path().to_path_buf();
    for inside in [
        root.join("manifests/00000000000000000099.manifest"),
        root.join("data/t1/new.parquet"),
        root.join("REELDB"),
        dir.path().join("elsewhere/../test.reeldb/LOCK"),
    ] {
        let err = db.check_outside(&inside).unwrap_err();
        assert!(
            matches!(err, Error::InsideDatabase { .. }),
            "{inside:?}: {err}"
        );
        assert!(err.to_string().contains("write it somewhere else"), "{err}");
    }
    db.check_outside(&dir.path().join("results.csv")).unwrap();
    db.check_outside(&dir.path().join("test.reeldb.csv"))
        .unwrap();
    #[cfg(unix)]
    {
        // A link to the database directory does not hide it.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        assert!(db.check_outside(&link.join("manifests/x")).is_err());
    }
}

#[test]
fn the_database_a_path_lies_in_is_found_without_opening_it() {
    let (dir, db) = new_db();
    let root = std::fs::canonicalize(db.path()).unwrap();
    drop(db);
    for inside in [
        root.clone(),
        root.join("graph/out"),
        root.join("manifests"),
        dir.path().join("elsewhere/../test.reeldb/new/dir"),
    ] {
        assert_eq!(
            reeldb_engine::database_containing(&inside).unwrap(),
            Some(root.clone()),
            "{inside:?}"
        );
    }
    for outside in [dir.path().join("graph"), dir.path().join("test.reeldb.out")] {
        assert_eq!(
            reeldb_engine::database_containing(&outside).unwrap(),
            None,
            "{outside:?}"
        );
    }
    #[cfg(unix)]
    {
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&root, &link).unwrap();
        assert_eq!(
            reeldb_engine::database_containing(&link.join("x")).unwrap(),
            Some(root)
        );
    }
}
