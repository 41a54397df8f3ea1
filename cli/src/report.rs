//! `reeldb report DATABASE REPORT`: a report run from the command line, as cron runs it.
//!
//! The database is opened read-only; everything is checked that can be before a statement
//! runs; messages go to standard error, progress only where a person watches (a terminal, or
//! `--progress`), and the exit code says how it went: 0 published, 1 the report failed (a
//! statement, the report file, or Ctrl-C), 2 it was asked for wrongly. A parameter given but
//! not used is a warning: one set of parameters may be passed to several reports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use reeldb_query::report::{
    Parameters, ReportDocument, ReportError, ReportOptions, StatementStarted, default_output_dir,
    write_report,
};
use tokio::sync::Notify;

/// What `reeldb report` was asked for, beside the database.
pub struct ReportRequest {
    /// The report file.
    pub report: PathBuf,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// Each `--param`, as given.
    pub params: Vec<String>,
    /// `--replace`.
    pub replace: bool,
    /// `--csv`.
    pub csv: bool,
    /// `--progress`.
    pub progress: bool,
}

/// Runs the report and publishes it; see the module docs for the exit codes.
pub fn report(database: &Path, request: ReportRequest) -> Result<ExitCode> {
    let session = crate::open(database, true)?;
    let document = match ReportDocument::read(&request.report) {
        Ok(document) => document,
        Err(e) => return Ok(failed(&e)),
    };
    let mut parameters = Parameters::new();
    for assignment in &request.params {
        if let Err(e) = parameters.add_assignment(assignment) {
            return Ok(failed(&e));
        }
    }
    for unused in document.unused_parameters(&parameters) {
        eprintln!(
            "warning: --param {unused} is not used by {} (no ${unused} or {{{{{unused}}}}} in \
             it)",
            document.name()
        );
    }
    let out = request
        .out
        .unwrap_or_else(|| default_output_dir(&request.report));
    let options = ReportOptions {
        replace: request.replace,
        csv_every_result: request.csv,
        ..ReportOptions::new(out, parameters)
    };
    let terminal = std::io::stderr().is_terminal();
    let show_progress = request.progress || terminal;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(reeldb_query::STATEMENT_STACK_SIZE)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Ctrl-C drops the running report, and with it its temporary directory, rather than end
    // the process with the directory left behind. The signal is taken on a thread of its own
    // (see `Runner::catch_interrupts`).
    let interrupted = Arc::new(Notify::new());
    let on_signal = Arc::clone(&interrupted);
    ctrlc::set_handler(move || on_signal.notify_one())?;
    let name = document.name().to_string();
    let task = runtime.spawn(async move {
        let mut progress = |started: &StatementStarted<'_>| {
            if show_progress {
                eprintln!(
                    "[{}/{}] {name}:{}  {}",
                    started.number,
                    started.total,
                    started.line,
                    first_line(started.sql)
                );
            }
        };
        write_report(&session, &document, &options, &mut progress).await
    });
    let outcome = runtime.block_on(async {
        let mut task = task;
        tokio::select! {
            joined = &mut task => Some(joined),
            () = interrupted.notified() => {
                task.abort();
                // Wait until the report is dropped: its temporary directory is gone then.
                let _ = task.await;
                None
            }
        }
    });
    match outcome {
        None => {
            eprintln!("Interrupted: nothing was published.");
            Ok(ExitCode::from(1))
        }
        Some(Err(e)) => Err(anyhow::anyhow!("the report stopped unexpectedly: {e}")),
        Some(Ok(Err(e))) => Ok(failed(&e)),
        Some(Ok(Ok(published))) => {
            if terminal {
                eprintln!(
                    "{}: {} statements on version {}",
                    published.index.display(),
                    published.statements,
                    published.version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints `error` and gives its exit code.
fn failed(error: &ReportError) -> ExitCode {
    eprintln!("Error: {error}");
    ExitCode::from(if error.is_usage() { 2 } else { 1 })
}

/// The statement's first line with code, cut for a progress line.
fn first_line(sql: &str) -> String {
    let line = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or_default();
    match line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
