//! Reports: a Markdown file whose ```` ```sql ```` blocks are run, published as one
//! self-contained HTML page (plus any CSV and Parquet files its blocks ask for).
//!
//! A report reads one version of the database for all its statements ([`PinnedSession`]),
//! runs only statements that read, and appears at its destination whole or not at all. The
//! format, for people who write reports, is in `docs/reports.md`; in short:
//!
//! ````markdown
//! # Nightly frames, {{day}}
//!
//! ```sql csv=videos
//! SELECT video, count(*) AS frames FROM frames
//! WHERE CAST(time AS DATE) = $day::date GROUP BY video ORDER BY frames DESC;
//! ```
//! ````
//!
//! - [`document`]: the file parsed, its blocks and statements with their lines, parameters
//!   bound ([`ReportDocument::bind`]);
//! - `fence`: block options (`csv=`, `parquet=`, `rows=`); `parameters`: `$name` and
//!   `{{name}}`;
//! - `run`: statements run and result files written; `page` and `cells`: the HTML;
//! - `publish`: the temporary directory and the rename into place.
//!
//! ```no_run
//! # async fn example(session: reeldb_query::Session) -> Result<(), reeldb_query::report::ReportError> {
//! use reeldb_query::report::{Parameters, ReportDocument, ReportOptions, write_report};
//!
//! let document = ReportDocument::read("nightly.report.md".as_ref())?;
//! let mut parameters = Parameters::new();
//! parameters.add_assignment("day=2024-05-01")?;
//! let options = ReportOptions::new("nightly", parameters);
//! let published = write_report(&session, &document, &options, &mut |_| {}).await?;
//! println!("{}", published.index.display());
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::session::{PinnedSession, Session};

mod cells;
pub mod document;
mod error;
mod fence;
mod html;
mod page;
mod parameters;
mod publish;
mod run;

pub use cells::CELL_TEXT_LIMIT;
pub use document::{
    BoundStatement, ReportDocument, ReportStatement, ResultFile, ResultFormat, SqlBlock,
};
pub use error::ReportError;
pub use fence::{BlockOptions, DEFAULT_ROWS_SHOWN};
pub use parameters::{Parameters, sql_literal};
pub use publish::{INDEX_FILE, check_destination};

/// How to make a report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The directory to publish (created; its parent too if missing).
    pub out: PathBuf,
    /// Replace a report already at `out` (never a directory that is not one).
    pub replace: bool,
    /// The parameters' values.
    pub parameters: Parameters,
    /// Also write every result as `NN-<heading>.csv` (`NN` the statement's number).
    pub csv_every_result: bool,
    /// The time the page says it was made.
    pub generated_at: SystemTime,
}

impl ReportOptions {
    /// Options to publish at `out` with `parameters`, made now, replacing nothing.
    pub fn new(out: impl Into<PathBuf>, parameters: Parameters) -> Self {
        ReportOptions {
            out: out.into(),
            replace: false,
            parameters,
            csv_every_result: false,
            generated_at: SystemTime::now(),
        }
    }
}

/// A published report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedReport {
    /// The report's directory.
    pub dir: PathBuf,
    /// Its page, `index.html` in `dir`.
    pub index: PathBuf,
    /// The other files in `dir` (the results written as CSV or Parquet), by name.
    pub files: Vec<String>,
    /// The version of the database every statement read.
    pub version: u64,
    /// How many statements ran.
    pub statements: usize,
}

/// Told before each statement runs (for progress, or to act between statements).
#[derive(Debug, Clone, Copy)]
pub struct StatementStarted<'a> {
    /// The statement's number in the report, from 1.
    pub number: usize,
    /// How many statements the report has.
    pub total: usize,
    /// The line of the report file it starts on.
    pub line: usize,
    /// The SQL that runs (parameters in place).
    pub sql: &'a str,
}

/// The default output directory of a report file: `nightly/` in the current directory for
/// `reports/nightly.report.md`.
pub fn default_output_dir(report: &Path) -> PathBuf {
    PathBuf::from(page::report_stem(&report.display().to_string()))
}

/// Runs `document` on the newest version of `session`'s database and publishes the page at
/// `options.out`; `started` is called before each statement.
///
/// Everything that can be checked before a statement runs is: parameters (each used one
/// given), result file names, the destination (outside every database; absent, or a report
/// when replacing). On any error nothing is published and the temporary directory is gone.
pub async fn write_report(
    session: &Session,
    document: &ReportDocument,
    options: &ReportOptions,
    started: &mut (dyn FnMut(&StatementStarted<'_>) + Send),
) -> Result<PublishedReport, ReportError> {
    let statements = document.bind(&options.parameters, options.csv_every_result)?;
    check_destination(session.database(), &options.out, options.replace)?;
    let pinned: PinnedSession = session
        .pin()
        .map_err(|e| ReportError::Database(Box::new(e)))?;
    let staging = publish::Staging::create(&options.out)?;
    let mut results = Vec::with_capacity(statements.len());
    for statement in &statements {
        started(&StatementStarted {
            number: statement.number,
            total: statements.len(),
            line: statement.line,
            sql: &statement.sql,
        });
        let result = run::run_statement(&pinned, statement, staging.path())
            .await
            .map_err(|error| ReportError::Statement {
                file: document.name().to_string(),
                line: statement.line,
                error: Box::new(error),
            })?;
        results.push(result);
    }
    let version = pinned.snapshot().version();
    let cx = page::PageContext {
        document,
        parameters: &options.parameters,
        database: session.database().path(),
        version,
        generated_at: options.generated_at,
    };
    let html = page::render_page(&cx, &results);
    staging.write(INDEX_FILE, html.as_bytes())?;
    let dir = staging.publish(options.replace)?;
    Ok(PublishedReport {
        index: dir.join(INDEX_FILE),
        dir,
        files: results.iter().flat_map(|r| r.files.clone()).collect(),
        version,
        statements: statements.len(),
    })
}

#[cfg(test)]
mod tests;
