//! What a caller sees of a running ingest and how it stops one: progress, cancellation, and
//! the report at the end.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Receives an ingest's progress. The CLI draws bars on a terminal; library callers may log.
pub trait Progress: Send + Sync {
    /// A phase starts: `what` is being done to `total` items (`None`: unknown, as for a video
    /// being decoded).
    fn begin(&self, what: &str, total: Option<u64>);
    /// `count` more items are done.
    fn advance(&self, count: u64);
    /// The phase is over.
    fn end(&self);
}

/// Progress that goes nowhere (scripts, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _what: &str, _total: Option<u64>) {}
    fn advance(&self, _count: u64) {}
    fn end(&self) {}
}

/// How a caller follows and stops an ingest.
#[derive(Clone)]
pub struct IngestControl {
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
    /// Set (by a Ctrl-C handler, say) to stop after the current step: what is done is
    /// committed, and a re-run resumes.
    pub cancel: Arc<AtomicBool>,
}

impl Default for IngestControl {
    fn default() -> Self {
        IngestControl {
            progress: Arc::new(NoProgress),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl fmt::Debug for IngestControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestControl")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl IngestControl {
    /// Whether the caller asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// A file (or frame) that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file, as the user named it (or `video.mp4@12.0s` for a frame of a video).
    pub file: String,
    /// What was wrong with it.
    pub reason: String,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReport {
    /// The table written.
    pub table: String,
    /// Rows added by this run.
    pub added: u64,
    /// Items found already in (skipped as done by an earlier run).
    pub already_in: u64,
    /// Items that could not be read, with the reason; the rest was committed.
    pub skipped: Vec<Skipped>,
    /// Whether the run was stopped before the end (what it committed stays).
    pub interrupted: bool,
    /// Things the user should know: which keys a file's vectors were read from, what a
    /// missing option meant.
    pub notes: Vec<String>,
}

impl IngestReport {
    /// A report for `table`.
    pub fn new(table: &str) -> Self {
        IngestReport {
            table: table.to_string(),
            ..Default::default()
        }
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} added, {} already in, {} skipped",
            self.table,
            self.added,
            self.already_in,
            self.skipped.len()
        )?;
        write_report_tail(f, &self.skipped, self.interrupted, &self.notes)
    }
}

/// What follows a report's counts when it is printed (ingest's, DETECT FACES'): whether it was
/// interrupted, then a line per skipped item and per note.
pub(crate) fn write_report_tail(
    f: &mut fmt::Formatter<'_>,
    skipped: &[Skipped],
    interrupted: bool,
    notes: &[String],
) -> fmt::Result {
    if interrupted {
        write!(f, " (interrupted: run the same command again to resume)")?;
    }
    for skipped in skipped {
        write!(f, "\n  skipped {}: {}", skipped.file, skipped.reason)?;
    }
    for note in notes {
        write!(f, "\n  note: {note}")?;
    }
    Ok(())
}

/// The `details` text of a statement's report row: a line per skipped item, one if it was
/// interrupted, then the notes.
pub(crate) fn report_details(skipped: &[Skipped], interrupted: bool, notes: &[String]) -> String {
    let mut details: Vec<String> = skipped
        .iter()
        .map(|s| format!("skipped {}: {}", s.file, s.reason))
        .collect();
    if interrupted {
        details.push("interrupted: run the statement again to resume".into());
    }
    details.extend(notes.iter().cloned());
    details.join("\n")
}
