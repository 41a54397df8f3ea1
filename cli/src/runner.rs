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
use crate::output::ResultWriter;

/// How a statement ended.
pub enum Outcome {
    /// It ran; its result was printed.
    Done,
    /// The user pressed Ctrl-C; the statement was stopped (a write was rolled back).
    Cancelled,
}

/// What the statement's task sends to the shell: the result's schema, then its batches.
enum Event {
    Schema(SchemaRef),
    Batch(RecordBatch),
}

/// Batches in flight between the statement's task and the writer.
const RESULT_CHANNEL_DEPTH: usize = 2;

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
            .thread_stack_size(reeldb_query::STATEMENT_STACK_SIZE)
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

    /// Runs `sql` (one statement) and writes its result to `writer` as it comes.
    pub fn run_into(&mut self, sql: &str, writer: &mut ResultWriter<'_>) -> Result<Outcome> {
        // Listen for an interrupt before the statement starts, so none is missed.
        let interrupts = self.interrupts.clone();
        let mut interrupted = interrupts.as_ref().map(|n| Box::pin(n.notified()));
        if let Some(interrupted) = interrupted.as_mut() {
            interrupted.as_mut().enable();
        }
        if self.echo {
            let mut out = crate::output::Stdout::lock();
            writeln!(out, "{sql}")?;
            out.flush()?;
        }
        let (sender, mut receiver) = tokio::sync::mpsc::channel(RESULT_CHANNEL_DEPTH);
        let session = self.session.clone();
        let statement = sql.to_string();
        // The statement runs as a task of its own, sending its result through a small channel;
        // if the receiving side stops (an output error, Ctrl-C), the task ends at its next send.
        let mut task = self.runtime.spawn(async move {
            let mut stream = session.execute(&statement).await?;
            if sender.send(Event::Schema(stream.schema())).await.is_err() {
                return Ok(());
            }
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(reeldb_query::Error::from)?;
                if sender.send(Event::Batch(batch)).await.is_err() {
                    break;
                }
            }
            Ok::<_, reeldb_query::Error>(())
        });
        let reads_only = is_read_only(sql);
        let runs_to_completion = reeldb_query::parse_reeldb_statement(sql)
            .ok()
            .flatten()
            .and_then(|statement| statement.runs_to_completion());
        self.runtime.block_on(async {
            let mut output: Result<()> = Ok(());
            loop {
                tokio::select! {
                    event = receiver.recv() => match event {
                        Some(Event::Schema(schema)) => {
                            output = output.and_then(|()| writer.begin(&schema));
                        }
                        Some(Event::Batch(batch)) => {
                            output = output.and_then(|()| writer.write(&batch));
                            if output.is_err() {
                                receiver.close();
                            }
                        }
                        None => break,
                    },
                    () = wait_for(&mut interrupted) => {
                        if let Some(what) = runs_to_completion {
                            // Aborting would only stop the waiting: the work would go on and
                            // commit behind a "Cancelled.". Say so, and wait for it.
                            eprintln!(
                                "{what} cannot be stopped part-way: it goes on to the end and \
                                 commits. To abandon it, kill the process: nothing is \
                                 committed unless it finishes."
                            );
                            interrupted = None;
                            continue;
                        }
                        // A write awaits every batch, so an abort rolls it back at its next
                        // await unless it was already committing: wait for it and report it as
                        // it ended. A read is left behind at once.
                        task.abort();
                        if reads_only {
                            return Ok(Outcome::Cancelled);
                        }
                        return match (&mut task).await {
                            Err(e) if e.is_cancelled() => Ok(Outcome::Cancelled),
                            Err(e) => Err(anyhow::anyhow!("the statement stopped unexpectedly: {e}")),
                            Ok(result) => result.map(|()| Outcome::Done).map_err(Into::into),
                        };
                    }
                }
            }
            match (&mut task).await {
                Ok(result) => result?,
                Err(e) => return Err(anyhow::anyhow!("the statement stopped unexpectedly: {e}")),
            }
            output?;
            Ok(Outcome::Done)
        })
    }

    /// Runs `sql` and prints its result to standard output in the current mode.
    ///
    /// A write that had already committed when Ctrl-C came is reported as done, not
    /// cancelled.
    pub fn run(&mut self, sql: &str, out: &mut dyn Write) -> Result<Outcome> {
        let started = Instant::now();
        let outcome = {
            let mut writer = ResultWriter::new(self.mode, out, None)?;
            let outcome = self.run_into(sql, &mut writer)?;
            if let Outcome::Done = outcome {
                writer.finish()?;
            }
            outcome
        };
        if self.timer && matches!(outcome, Outcome::Done) {
            writeln!(out, "Run Time: {:.3} s", started.elapsed().as_secs_f64())?;
        }
        out.flush()?;
        Ok(outcome)
    }
}

/// Waits for an interrupt, or forever when interrupts are not caught.
async fn wait_for(
    interrupted: &mut Option<std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>>>,
) {
    match interrupted {
        Some(notified) => notified.as_mut().await,
        None => std::future::pending().await,
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
