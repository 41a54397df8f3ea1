//! Running statements and printing their results, for the shell, scripts and `query`.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::StreamExt;
use reeldb_query::Session;

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
    /// Interrupts (Ctrl-C, SIGINT) while a statement runs, when the shell catches them; with
    /// `None` (scripts) an interrupt ends the process as usual.
    interrupts: Option<tokio::signal::unix::Signal>,
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
            interrupts: None,
        })
    }

    /// From now on, Ctrl-C stops the running statement instead of the process. An interrupt
    /// that arrives between statements stops the next one.
    pub fn catch_interrupts(&mut self) -> Result<()> {
        let _guard = self.runtime.enter();
        self.interrupts = Some(tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::interrupt(),
        )?);
        Ok(())
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs `sql` (one statement) and returns its result, keeping at most `row_limit` rows.
    pub fn query(&mut self, sql: &str, row_limit: Option<usize>) -> Result<Option<QueryResult>> {
        let session = &self.session;
        let work = async move {
            let mut stream = session.execute(sql).await?;
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
        let Some(interrupts) = self.interrupts.as_mut() else {
            return Ok(Some(self.runtime.block_on(work)?));
        };
        // Dropping `work` on an interrupt stops the query's tasks and rolls back a write.
        self.runtime.block_on(async {
            tokio::select! {
                result = work => Ok(Some(result?)),
                _ = interrupts.recv() => Ok(None),
            }
        })
    }

    /// Runs `sql` and prints its result to `out` in the current mode.
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
