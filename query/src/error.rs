//! The query layer's error type.
//!
//! User errors (a statement that does not parse, an option it does not take, a file that
//! cannot be read, data that does not fit) get a variant of their own with structured fields,
//! so that callers and tests can match on them; [`Error::InvalidArgument`] is for bad input no
//! other variant describes. A broken invariant is [`Error::Internal`]: its message asks the
//! user to report it. Errors of the engine and of DataFusion keep their own types
//! ([`Error::Engine`], [`Error::DataFusion`]).

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Result type of the query layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong running SQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A reeldb statement (one the pest grammar owns) does not parse.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What was expected.
        message: String,
    },

    /// An error from the storage engine.
    #[error(transparent)]
    Engine(#[from] reeldb_engine::Error),

    /// An error from DataFusion: planning, SQL parsing or execution.
    #[error("{0}")]
    DataFusion(Box<DataFusionError>),

    /// A statement or option that reeldb does not support.
    #[error("{what} is not supported: {hint}")]
    Unsupported {
        /// What was attempted.
        what: String,
        /// What to do instead.
        hint: String,
    },

    /// An option that the statement does not take.
    #[error("{statement} has no option '{option}'; its options are {}", .known.join(", "))]
    UnknownOption {
        /// The statement, as in `INGEST FRAMES`.
        statement: String,
        /// The option given.
        option: String,
        /// The options the statement takes.
        known: Vec<String>,
    },

    /// An option given more than once.
    #[error("option '{option}' is given twice")]
    DuplicateOption {
        /// The option.
        option: String,
    },

    /// An option whose value is not one the option takes.
    #[error("{statement} option {option} takes {expected}, got '{value}'")]
    InvalidOption {
        /// The statement, as in `COPY`.
        statement: String,
        /// The option.
        option: String,
        /// The value as written in the statement.
        value: String,
        /// What the option takes.
        expected: String,
    },

    /// A file or directory that a statement names cannot be read or written.
    // The cause is part of the message rather than `#[source]`, as in the engine's `Io`.
    #[error("cannot {action} '{}': {cause}", .path.display())]
    Io {
        /// What was being done, as in `read` or `list`.
        action: String,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        cause: std::io::Error,
    },

    /// A file that a statement reads holds something other than what it should.
    #[error("'{}' {reason}", .path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, as in `is not valid JSON: ...`.
        reason: String,
    },

    /// The operating system refused something not tied to a file: a thread or a runtime that
    /// cannot start, a child process that cannot be waited for.
    #[error("cannot {action}: {cause}")]
    System {
        /// What was being done, as in `start the writer thread`.
        action: String,
        /// The operating system's error.
        cause: std::io::Error,
    },

    /// A row of `COPY (query) TO 'image file'` that cannot become an image file: a NULL or
    /// unreadable image cell, or a value that cannot be part of a file name.
    #[error("row {row}{}: {reason}", describe_key(.key))]
    ImageRow {
        /// The row's number in the query's result, from 1.
        row: u64,
        /// The row's values of the columns the file name is made of, as `(column, value)`,
        /// text values quoted.
        key: Vec<(String, String)>,
        /// What is wrong, and what to do.
        reason: String,
    },

    /// A statement that writes (to the database, or a file as `COPY ... TO` does) where only
    /// reads may run: on a pinned snapshot ([`crate::PinnedSession`]), as in a report.
    #[error(
        "'{statement}' writes, and only statements that read run here (SELECT, WITH, VALUES, \
         EXPLAIN, SHOW, DESCRIBE, SET); run writes on their own, before, with `reeldb DATABASE` \
         or `reeldb query`"
    )]
    WriteNotAllowed {
        /// The statement's opening words.
        statement: String,
    },

    /// Bad input that no other variant describes: a value, a file, a table or a column that
    /// does not fit the statement. The message names it and says what would.
    #[error("{0}")]
    InvalidArgument(String),

    /// A broken invariant: a bug in reeldb.
    #[error("internal error: {0}. This is a bug in reeldb; please report it")]
    Internal(String),
}

impl From<DataFusionError> for Error {
    fn from(error: DataFusionError) -> Self {
        // An engine error travels through DataFusion as `External`; give it back its own type
        // so its message is not prefixed and callers can match on it.
        match error {
            DataFusionError::External(inner) => match inner.downcast::<reeldb_engine::Error>() {
                Ok(engine) => Error::Engine(*engine),
                Err(other) => Error::DataFusion(Box::new(DataFusionError::External(other))),
            },
            DataFusionError::Context(context, inner) => match Error::from(*inner) {
                Error::DataFusion(inner) => {
                    Error::DataFusion(Box::new(DataFusionError::Context(context, inner)))
                }
                other => other,
            },
            other => Error::DataFusion(Box::new(other)),
        }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(error: arrow::error::ArrowError) -> Self {
        Error::from(DataFusionError::from(error))
    }
}

/// A row's key as messages show it after the row number: ` (cluster = 7, video = 'a')`, or
/// nothing for a row without one.
pub(crate) fn describe_key(key: &[(String, String)]) -> String {
    if key.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = key.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    format!(" ({})", pairs.join(", "))
}

/// Wraps an engine error for a DataFusion trait method.
pub(crate) fn external(error: reeldb_engine::Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_option_is_named_with_the_known_ones() {
        let error = Error::UnknownOption {
            statement: "INGEST VIDEO".into(),
            option: "interval".into(),
            known: vec!["every".into(), "video".into()],
        };
        assert_eq!(
            error.to_string(),
            "INGEST VIDEO has no option 'interval'; its options are every, video"
        );
    }

    #[test]
    fn internal_errors_ask_for_a_report() {
        let error = Error::Internal("the writer thread stopped unexpectedly".into());
        assert_eq!(
            error.to_string(),
            "internal error: the writer thread stopped unexpectedly. This is a bug in reeldb; \
             please report it"
        );
    }
}
