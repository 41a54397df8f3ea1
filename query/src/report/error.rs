//! What can go wrong making a report, split the way the `reeldb report` exit codes are: the
//! report failed (a statement, or the report file itself), or it was asked for wrongly (a
//! parameter, the output directory, a file that cannot be read or written).

use std::path::PathBuf;

/// Everything that can go wrong making a report. Messages about the report file name it and
/// the line, as `nightly.report.md:23: ...`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report file cannot be read.
    #[error("cannot read the report '{}': {cause}", .path.display())]
    Read {
        /// The report file.
        path: PathBuf,
        /// The operating system's error.
        cause: std::io::Error,
    },

    /// The report file is not one reeldb can run: a fence option it does not know, a block
    /// without a statement, two results written to one file.
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// The report file, as it was named.
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong and how to put it right.
        message: String,
    },

    /// A statement failed, or writes (a report only reads).
    // Not `#[source]`: the message holds the statement's error, and a cause chain printed
    // after it would say it twice.
    #[error("{file}:{line}: {error}")]
    Statement {
        /// The report file, as it was named.
        file: String,
        /// The 1-based line the statement starts on.
        line: usize,
        /// Why it failed.
        error: Box<crate::Error>,
    },

    /// A parameter the report uses was not given.
    #[error("{file}:{line}: parameter {usage} is not given; pass --param {name}=VALUE")]
    MissingParameter {
        /// The report file, as it was named.
        file: String,
        /// The 1-based line of its first use.
        line: usize,
        /// The parameter's name.
        name: String,
        /// How the report uses it: `$day` or `{{day}}`.
        usage: String,
    },

    /// A parameter given in a form reeldb does not take: not `name=value`, a name that is not
    /// an identifier, or a name given twice.
    #[error("{0}")]
    InvalidParameter(String),

    /// The output directory exists, and replacing it was not asked for.
    #[error(
        "'{}' already exists; pass --replace to replace it, or choose another --out",
        .path.display()
    )]
    OutputExists {
        /// The output directory.
        path: PathBuf,
    },

    /// The output directory exists but is not a report reeldb wrote, so `--replace` leaves it
    /// alone rather than delete what may be someone's files.
    #[error(
        "'{}' exists and is not a report reeldb wrote (no index.html from `reeldb report` in \
         it); --replace replaces only reports: move it away yourself or choose another --out",
        .path.display()
    )]
    NotAReport {
        /// The output directory.
        path: PathBuf,
    },

    /// The output cannot be written where it was asked for (inside a database directory, or
    /// the file system refused).
    #[error(transparent)]
    Output(Box<crate::Error>),

    /// The database cannot be read (its newest version, before any statement runs).
    #[error(transparent)]
    Database(Box<crate::Error>),
}

impl ReportError {
    /// An error of the output directory.
    pub(crate) fn output(error: impl Into<crate::Error>) -> Self {
        ReportError::Output(Box::new(error.into()))
    }

    /// Whether the report was asked for wrongly (exit code 2 of `reeldb report`), as opposed
    /// to having failed (exit code 1: a statement failed, or the report file is malformed).
    pub fn is_usage(&self) -> bool {
        match self {
            ReportError::Read { .. }
            | ReportError::MissingParameter { .. }
            | ReportError::InvalidParameter(_)
            | ReportError::OutputExists { .. }
            | ReportError::NotAReport { .. }
            | ReportError::Output(_) => true,
            ReportError::Malformed { .. }
            | ReportError::Statement { .. }
            | ReportError::Database(_) => false,
        }
    }
}
