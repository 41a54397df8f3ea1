//! Crash safety and concurrency, with real child processes.
//!
//! The crash test kills a writer with SIGKILL at every crash point of a workload (data files
//! written, synced, manifest written, synced, renamed, ...) and checks that the database then
//! opens and holds exactly the committed steps: all acknowledged commits, possibly the one in
//! flight (if it was killed after the manifest rename), never a part of one.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use reeldb_tests::workload::{ROWS_PER_STEP, expected_after};

const STEPS: usize = 12;

fn writer(db: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeldb-crash-writer"))
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the crash writer");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    (child, stdout)
}

fn read_line(reader: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read from the writer");
    line.trim().to_string()
}

/// Steps present in table `t`, each checked to hold all its rows; read through SQL.
fn steps_in(db_path: &Path) -> std::collections::BTreeSet<i64> {
    let db = reeldb::Database::open(db_path).expect("the database opens after a crash");
    let tables = db.engine().snapshot().unwrap();
    if tables.manifest().table("t").is_none() {
        return Default::default();
    }
    let batches = db
        .sql_blocking("SELECT step, count(*) AS n, count(DISTINCT id) AS ids FROM t GROUP BY step")
        .expect("the committed data reads back");
    let mut steps = std::collections::BTreeSet::new();
    for batch in &batches {
        let step = batch.column(0).as_primitive::<Int64Type>();
        let n = batch.column(1).as_primitive::<Int64Type>();
        let ids = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            assert_eq!(
                n.value(i),
                ROWS_PER_STEP,
                "step {} is partial",
                step.value(i)
            );
            assert_eq!(
                ids.value(i),
                ROWS_PER_STEP,
                "step {} has duplicates",
                step.value(i)
            );
            steps.insert(step.value(i));
        }
    }
    // A vector index that a committed version lists loads and answers.
    if tables.vector_index(reeldb_tests::workload::INDEX).is_some() {
        let nearest = db
            .sql_blocking("SELECT id FROM t ORDER BY distance(v, [1, 2, 3, 4], 'l2') LIMIT 3")
            .expect("the index answers after a crash");
        let rows: usize = nearest.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 3.min(steps.len() * ROWS_PER_STEP as usize));
    }
    steps
}

#[test]
fn sigkill_at_every_crash_point_keeps_exactly_the_committed_data() {
    // A full run tells how many crash points the workload passes.
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut out) = writer(
        &dir.path().join("full.reeldb"),
        &["run", &STEPS.to_string(), "0"],
    );
    let total: usize = loop {
        let line = read_line(&mut out);
        if let Some(n) = line.strip_prefix("points ") {
            break n.parse().unwrap();
        }
        assert!(line.starts_with("committed"), "unexpected output '{line}'");
    };
    assert!(child.wait().unwrap().success());
    assert_eq!(
        steps_in(&dir.path().join("full.reeldb")),
        expected_after(STEPS)
    );
    assert!(total > 50, "the workload passes only {total} crash points");

    for stop in 1..=total {
        let db = dir.path().join(format!("crash-{stop}.reeldb"));
        let (mut child, mut out) = writer(&db, &["run", &STEPS.to_string(), &stop.to_string()]);
        let mut acknowledged = 0;
        let point = loop {
            let line = read_line(&mut out);
            if let Some(step) = line.strip_prefix("committed ") {
                acknowledged = step.parse().unwrap();
            } else if let Some(point) = line.strip_prefix("point ") {
                break point.to_string();
            } else {
                panic!("stop {stop}: unexpected output '{line}'");
            }
        };
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let found = steps_in(&db);
        let before = expected_after(acknowledged);
        let after = expected_after(acknowledged + 1);
        assert!(
            found == before || found == after,
            "killed at point {stop} ({point}) after {acknowledged} commits: found steps \
             {found:?}, expected {before:?} or {after:?}"
        );
        // The database stays writable: the next writer cleans up and commits.
        let db = reeldb_engine::Database::open(&db).unwrap();
        db.vacuum(1).unwrap();
    }
}

#[test]
fn a_second_writer_process_is_refused_while_the_first_commits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("two.reeldb");
    let (mut first, mut out) = writer(&db, &["hold", "data-synced"]);
    assert_eq!(read_line(&mut out), "paused");

    let second = Command::new(env!("CARGO_BIN_EXE_reeldb-crash-writer"))
        .arg(&db)
        .args(["hold", "none"])
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let here = reeldb_engine::Database::open(&db).unwrap();
    let err = here.begin_write().err().expect("the lock is held");
    assert!(
        err.to_string()
            .contains("is being written by another writer"),
        "{err}"
    );

    first.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(read_line(&mut out), "committed");
    assert!(first.wait().unwrap().success());
    here.begin_write().expect("the lock is free again");
}

#[test]
fn a_reader_during_a_commit_sees_the_old_version_and_is_not_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("read.reeldb");
    // Version 1: table t with 10 rows.
    let (mut setup, mut out) = writer(&db_path, &["hold", "none"]);
    assert_eq!(read_line(&mut out), "committed");
    setup.wait().unwrap();

    let (mut child, mut out) = writer(&db_path, &["hold", "manifest-synced"]);
    assert_eq!(read_line(&mut out), "paused");
    let reader = reeldb::Database::open(&db_path).unwrap();
    let count = |db: &reeldb::Database| {
        let batches = db.sql_blocking("SELECT count(*) FROM t").unwrap();
        batches[0].column(0).as_primitive::<Int64Type>().value(0)
    };
    assert_eq!(
        count(&reader),
        10,
        "the commit is not visible before its manifest is renamed"
    );
    let old_snapshot = reader.engine().snapshot().unwrap();

    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(read_line(&mut out), "committed");
    child.wait().unwrap();
    assert_eq!(
        count(&reader),
        20,
        "the next statement sees the new version"
    );
    assert_eq!(old_snapshot.table("t").unwrap().row_count(), 10);
}
