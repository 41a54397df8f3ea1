//! The query layer's error type.

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

    /// Bad input that is not a syntax error: an unknown option, a missing file, a column that
    /// does not match.
    #[error("{0}")]
    Invalid(String),
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

/// Wraps an engine error for a DataFusion trait method.
pub(crate) fn external(error: reeldb_engine::Error) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}
