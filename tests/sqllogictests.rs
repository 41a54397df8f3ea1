//! The sqllogictest suite: every `.slt` file under `tests/slt/` runs against a fresh database.
//!
//! `cargo test -p reeldb-tests --test sqllogictests` runs them all;
//! `... -- similarity` runs the files whose path contains "similarity";
//! `... -- --complete` rewrites the expected results from the actual ones (review the diff).
//!
//! Each file gets its own temporary database directory; every `connection` in a file is a new
//! session on that same database, so files can test what one session sees of another's
//! writes. `$__TEST_DIR__` (with `control substitution on`) is a scratch directory for files,
//! a new one for each file.

#![allow(clippy::print_stdout)] // a test harness reports on standard output

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use async_trait::async_trait;
use reeldb_tests::format_value;
use sqllogictest::{DBOutput, DefaultColumnType};

struct SltDb {
    session: reeldb_query::Session,
    /// The database directory, replaced by `<db>` in results so plans compare across runs.
    root: String,
}

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

impl SltDb {
    fn cell(&self, array: &dyn arrow::array::Array, row: usize) -> String {
        let text = format_value(array, row)
            .replace(&self.root, "<db>")
            .replace(self.root.trim_start_matches('/'), "<db>");
        // Plans end lines with spaces and a newline; the files do not.
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        lines.join("\n").trim_end().to_string()
    }

    /// EXPLAIN output as one column, one plan line per row (`query T`), the first line of each
    /// plan prefixed with its type.
    fn plan_lines(&self, batches: &[arrow::array::RecordBatch]) -> DBOutput<DefaultColumnType> {
        let mut rows = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                let plan_type = self.cell(batch.column(0).as_ref(), row);
                let plan = self.cell(batch.column(1).as_ref(), row);
                for (i, line) in plan.lines().enumerate() {
                    let text = if i == 0 {
                        format!("{plan_type}: {line}")
                    } else {
                        line.to_string()
                    };
                    rows.push(vec![text]);
                }
            }
        }
        DBOutput::Rows {
            types: vec![DefaultColumnType::Text],
            rows,
        }
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for SltDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let batches = self
            .session
            .sql(sql)
            .await
            .map_err(|e| SltError(e.to_string()))?;
        let first_word = sql
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_uppercase();
        let writes = matches!(
            first_word.as_str(),
            "INSERT" | "DELETE" | "UPDATE" | "COPY" | "CREATE" | "DROP" | "TRUNCATE"
        );
        if writes {
            let count = batches
                .first()
                .filter(|b| b.num_columns() == 1 && b.num_rows() == 1)
                .and_then(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<arrow::array::UInt64Array>()
                        .map(|a| a.value(0))
                })
                .unwrap_or(0);
            return Ok(DBOutput::StatementComplete(count));
        }
        let Some(first) = batches.first() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        if first_word == "EXPLAIN" {
            return Ok(self.plan_lines(&batches));
        }
        let types = first
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let t = f.data_type();
                if t.is_integer() {
                    DefaultColumnType::Integer
                } else if t.is_floating()
                    || matches!(t, arrow::datatypes::DataType::Decimal128(_, _))
                {
                    DefaultColumnType::FloatingPoint
                } else {
                    DefaultColumnType::Text
                }
            })
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| self.cell(c.as_ref(), row))
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "reeldb"
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    files.retain(|f| {
        filters.is_empty()
            || filters
                .iter()
                .any(|p| f.to_string_lossy().contains(p.as_str()))
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db_path = dir.path().join("slt.reeldb");
        let db = reeldb_engine::Database::open(&db_path).expect("a new database");
        let make = move || {
            let db = db.clone();
            async move {
                let options = reeldb_query::SessionOptions {
                    target_partitions: Some(4),
                };
                let root = db.path().display().to_string();
                Ok::<_, SltError>(SltDb {
                    session: reeldb_query::Session::with_options(db, options),
                    root,
                })
            }
        };
        let mut runner = sqllogictest::Runner::new(make);
        let result = runtime.block_on(async {
            if complete {
                runner
                    .update_test_file(
                        file,
                        " ",
                        sqllogictest::default_validator,
                        sqllogictest::default_normalizer,
                        sqllogictest::default_column_validator,
                    )
                    .await
                    .map_err(|e| e.to_string())
            } else {
                runner
                    .run_file_async(file)
                    .await
                    .map_err(|e| e.display(true).to_string())
            }
        });
        match result {
            Ok(()) => {
                passed += 1;
                println!("ok     {name}");
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {name}\n{e}");
            }
        }
    }
    println!("sqllogictest: {passed} passed, {failed} failed");
    if failed > 0 || files.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
