//! Runs one SQL statement on a database in a process of its own, for tests of what happens
//! once per process (loading the ONNX Runtime library). Exit code 0 when it succeeds; 1 with
//! the error on standard error when it fails.
//!
//! `reeldb-model-probe <database> <statement>`

#![allow(clippy::print_stderr)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, statement] = args.as_slice() else {
        eprintln!("usage: reeldb-model-probe <database> <statement>");
        std::process::exit(2);
    };
    let result = reeldb::Database::open(path).and_then(|db| db.sql_blocking(statement).map(drop));
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
