//! Running statements and printing their results, for the shell, scripts and `query`.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use reeldb_query::Session;
use tokio::sync::Notify;

use crate::args::Format;
use crate::output::{TABLE_ROW_LIMIT, write_batches};

/// How a statement ended.
pub enum Outcome {
    /// It ran; its result was printed.
    Done,
    /// The user pressed Ctrl-C; the statement was stopped (a write was rolled back).
    Cancelled,
}

/// A result: its schema, the batches kept, and the total number of rows.
pub struct QueryResult {
    /// The result's schema.
    pub schema: SchemaRef,
    /// The batches kept (all of them unless `row_limit` cut them).
    pub batches: Vec<RecordBatch>,
    /// Rows in the whole result.
    pub total_rows: usize,
}

/// Runs statements on one session and runtime.
pub struct Runner {
    session: Session,
    runtime: tokio::runtime::Runtime,
    /// The output format.
    pub mode: Format,
    /// Whether to print each statement's run time.
    pub timer: bool,
    /// Whether to print each statement before running it (`.echo on`).
    pub echo: bool,
    /// Woken by Ctrl-C (SIGINT) when the shell catches interrupts; with `None` (scripts) an
    /// interrupt ends the process as usual.
    interrupts: Option<Arc<Notify>>,
}

impl Runner {
    /// A runner over `session`.
    pub fn new(session: Session, mode: Format) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Runner {
            session,
            runtime,
            mode,
            timer: false,
            echo: false,
            interrupts: None,
        })
    }

    /// From now on, Ctrl-C stops the running statement instead of the process; one that
    /// comes while no statement runs is ignored.
    ///
    /// The signal is taken on a thread of its own (the `ctrlc` crate), not by the runtime:
    /// the runtime's signal driver is polled only by idle workers, and a CPU-bound query keeps
    /// every worker busy.
    pub fn catch_interrupts(&mut self) -> Result<()> {
        let notify = Arc::new(Notify::new());
        let on_signal = Arc::clone(&notify);
        ctrlc::set_handler(move || on_signal.notify_waiters())?;
        self.interrupts = Some(notify);
        Ok(())
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs `sql` (one statement) and returns its result, keeping at most `row_limit` rows.
    pub fn query(&mut self, sql: &str, row_limit: Option<usize>) -> Result<Option<QueryResult>> {
        // Listen for an interrupt before the statement starts, so none is missed.
        let interrupts = self.interrupts.clone();
        let interrupted = interrupts.as_ref().map(|n| n.notified());
        let mut interrupted = interrupted.map(Box::pin);
        if let Some(interrupted) = interrupted.as_mut() {
            interrupted.as_mut().enable();
        }
        if self.echo {
            let mut out = crate::output::Stdout::lock();
            writeln!(out, "{sql}")?;
            out.flush()?;
        }
        let session = self.session.clone();
        let sql = sql.to_string();
        let sql_text = sql.clone();
        let work = async move {
            let mut stream = session.execute(&sql).await?;
            let schema = stream.schema();
            let mut batches = Vec::new();
            let mut kept = 0usize;
            let mut total_rows = 0usize;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(reeldb_query::Error::from)?;
                total_rows += batch.num_rows();
                match row_limit {
                    Some(limit) if kept >= limit => {}
                    Some(limit) => {
                        let take = (limit - kept).min(batch.num_rows());
                        kept += take;
                        batches.push(batch.slice(0, take));
                    }
                    None => batches.push(batch),
                }
            }
            Ok::<_, reeldb_query::Error>(QueryResult {
                schema,
                batches,
                total_rows,
            })
        };
        let Some(interrupted) = interrupted else {
            return Ok(Some(self.runtime.block_on(work)?));
        };
        // The statement runs as a task of its own. Aborting it drops it at its next await; a
        // write awaits every batch, so it is rolled back there, unless it was already
        // committing. So after an interrupt a write is waited for, and reported as it ended;
        // a read is left behind at once, even one whose operator computes without yielding.
        let reads_only = is_read_only(&sql_text);
        let mut task = self.runtime.spawn(work);
        self.runtime.block_on(async {
            tokio::select! {
                result = &mut task => return finished(result),
                () = interrupted => task.abort(),
            }
            if reads_only {
                return Ok(None);
            }
            match task.await {
                Err(e) if e.is_cancelled() => Ok(None),
                result => finished(result),
            }
        })
    }

    /// Runs `sql` and prints its result to `out` in the current mode.
    ///
    /// A write that had already committed when Ctrl-C came is reported as done, not
    /// cancelled.
    pub fn run(&mut self, sql: &str, out: &mut dyn Write) -> Result<Outcome> {
        let started = Instant::now();
        let limit = (self.mode == Format::Table).then_some(TABLE_ROW_LIMIT);
        let Some(result) = self.query(sql, limit)? else {
            return Ok(Outcome::Cancelled);
        };
        write_batches(
            out,
            self.mode,
            &result.schema,
            &result.batches,
            result.total_rows,
        )?;
        if self.timer {
            writeln!(out, "Run Time: {:.3} s", started.elapsed().as_secs_f64())?;
        }
        out.flush()?;
        Ok(Outcome::Done)
    }
}

/// The outcome of a statement's task that ran to its end.
fn finished(
    result: Result<reeldb_query::Result<QueryResult>, tokio::task::JoinError>,
) -> Result<Option<QueryResult>> {
    match result {
        Ok(result) => Ok(Some(result?)),
        Err(e) => Err(anyhow::anyhow!("the statement stopped unexpectedly: {e}")),
    }
}

/// Whether a statement only reads the database (it may still write a file, as COPY TO does).
fn is_read_only(sql: &str) -> bool {
    let first = sql
        .split(|c: char| c.is_whitespace() || c == '(')
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "WITH" | "EXPLAIN" | "SHOW" | "VALUES" | "DESCRIBE" | "TABLE"
    ) || (first == "COPY" && !sql.to_ascii_uppercase().contains(" FROM "))
}
