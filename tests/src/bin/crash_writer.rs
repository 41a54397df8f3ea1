//! A child process for the crash and concurrency tests in `tests/integration/crash.rs`.
//!
//! `reeldb-crash-writer DB run N STOP` performs the first N operations of [`reeldb_tests::workload`]
//! and prints `committed K` after each commit returns. When STOP > 0, it stops at the STOP-th
//! crash point it passes: it prints `point NAME` and waits on standard input, where the test
//! kills it with SIGKILL. With STOP = 0 it runs to the end and prints `points TOTAL`.
//!
//! `reeldb-crash-writer DB hold POINT` appends one batch in a transaction and pauses at the
//! first crash point named POINT: it prints `paused` and waits for a line on standard input
//! before it goes on to commit and print `committed`.
//!
//! `reeldb-crash-writer DB ingest DIR COMMIT_EVERY STOP` runs `INGEST FRAMES` on DIR with
//! that commit size and stops at the STOP-th `batch-appended` crash point as `run` does.
//!
//! Exit code 3 means the writer lock was busy.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use reeldb_engine::{Database, Error};
use reeldb_tests::workload;

static HITS: AtomicUsize = AtomicUsize::new(0);

fn wait_for_stdin() {
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: reeldb-crash-writer DB run N STOP | DB hold POINT");
        return ExitCode::from(2);
    }
    if args[2] == "ingest" {
        return ingest(&args);
    }
    let db = match Database::open(&args[1]) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match args[2].as_str() {
        "run" => {
            let operations: usize = args[3].parse().expect("N");
            let stop: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0);
            reeldb_engine::set_crash_hook(move |name| {
                let hit = HITS.fetch_add(1, Ordering::SeqCst) + 1;
                if hit == stop {
                    say(&format!("point {name}"));
                    wait_for_stdin();
                    // The test kills us while we wait; if stdin closes instead, stop hard.
                    std::process::abort();
                }
            });
            let mut result = Ok(());
            for step in 1..=operations {
                if let Err(e) = workload::apply(&db, step) {
                    result = Err(e);
                    break;
                }
                say(&format!("committed {step}"));
            }
            if result.is_ok() {
                say(&format!("points {}", HITS.load(Ordering::SeqCst)));
            }
            result
        }
        "hold" => {
            let point = args[3].clone();
            reeldb_engine::set_crash_hook(move |name| {
                if name == point && HITS.fetch_add(1, Ordering::SeqCst) == 0 {
                    say("paused");
                    wait_for_stdin();
                }
            });
            workload::hold(&db).map(|()| say("committed"))
        }
        other => {
            eprintln!("unknown mode {other}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::WriterBusy { .. }) => {
            eprintln!("writer busy");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `DB ingest DIR COMMIT_EVERY STOP`.
fn ingest(args: &[String]) -> ExitCode {
    let (Some(dir), Some(commit_every), Some(stop)) = (
        args.get(3),
        args.get(4),
        args.get(5).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: reeldb-crash-writer DB ingest DIR COMMIT_EVERY STOP");
        return ExitCode::from(2);
    };
    reeldb_engine::set_crash_hook(move |name| {
        if name == "batch-appended" && HITS.fetch_add(1, Ordering::SeqCst) + 1 == stop {
            say(&format!("point {name}"));
            wait_for_stdin();
            std::process::abort();
        }
    });
    let statement = format!(
        "INGEST FRAMES FROM '{}' WITH (interval = '4s', commit_every = {commit_every})",
        dir.replace('\'', "''")
    );
    match reeldb::Database::open(&args[1]).and_then(|db| db.sql_blocking(&statement)) {
        Ok(_) => {
            say("done");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
