//! The engine's error type.
//!
//! User errors (bad input, a database that another process is writing, a damaged file) get a
//! variant of their own with structured fields, so that callers and tests can match on them.
//! A broken invariant is [`Error::Internal`]: its message asks the user to report it.

use std::path::PathBuf;

/// Result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error on a named file or directory.
    // The cause is part of the message rather than `#[source]`, so that `to_string()` tells
    // the whole story and error chains (`{:#}` in the CLI) do not repeat it.
    #[error("I/O error on '{path}': {cause}")]
    Io {
        /// The file or directory the operation was about.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A file of the database is damaged: truncated, bad checksum, or unreadable content.
    #[error("corrupt file '{path}': {reason}")]
    CorruptFile {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The path exists but is not a reeldb database directory.
    #[error("'{path}' is not a reeldb database: {reason}")]
    NotADatabase {
        /// The path that was opened.
        path: PathBuf,
        /// Why it was not recognised.
        reason: String,
    },

    /// The database was written by a newer reeldb with a format this build does not read.
    #[error(
        "'{path}' uses format version {found}, but this reeldb reads up to version {supported}; \
         upgrade reeldb to open it"
    )]
    UnsupportedFormat {
        /// The file that carries the version.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },

    /// Another process (or another handle in this process) holds the writer lock.
    #[error(
        "database '{path}' is being written by another writer (in this or another process); \
         only one writer at a time is allowed, and readers are not affected. Retry when it has \
         finished"
    )]
    WriterBusy {
        /// The database directory.
        path: PathBuf,
    },

    /// A file to write (an export, a result file) would land inside the database directory,
    /// which only the engine writes.
    #[error(
        "refusing to write '{path}': it is inside the database directory '{database}', which \
         only reeldb's own statements may change; write it somewhere else"
    )]
    InsideDatabase {
        /// The file that was to be written.
        path: PathBuf,
        /// The database directory.
        database: PathBuf,
    },

    /// The database was opened read-only and a write was attempted.
    #[error("database '{path}' is open read-only; reopen it without read-only to write")]
    ReadOnly {
        /// The database directory.
        path: PathBuf,
    },

    /// A table with this name already exists.
    #[error("table '{name}' already exists")]
    TableExists {
        /// The table name.
        name: String,
    },

    /// No table with this name exists.
    #[error("table '{name}' does not exist{hint}")]
    TableNotFound {
        /// The table name.
        name: String,
        /// A suggestion (" (did you mean 'x'?)") or empty.
        hint: String,
    },

    /// A table name that cannot be used.
    #[error("invalid table name '{name}': {reason}")]
    InvalidTableName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: String,
    },

    /// A schema that the engine cannot store.
    #[error("invalid schema for table '{table}': {reason}")]
    InvalidSchema {
        /// The table.
        table: String,
        /// What is wrong.
        reason: String,
    },

    /// Written data does not have the table's columns or types.
    #[error("data does not match table '{table}': {reason}")]
    SchemaMismatch {
        /// The table.
        table: String,
        /// What differs.
        reason: String,
    },

    /// A vector has the wrong number of elements.
    #[error(
        "column '{column}', row {row}: vector has {found} values, but the column holds vectors \
         of dimension {expected}"
    )]
    DimensionMismatch {
        /// The vector column.
        column: String,
        /// Row number within the written data, counting from 1.
        row: u64,
        /// The column's dimension.
        expected: usize,
        /// The length found.
        found: usize,
    },

    /// A vector holds NaN, infinity or a NULL element.
    #[error(
        "column '{column}', row {row}: vector element {index} is {value}; vectors of dimension \
         {expected} must hold finite numbers"
    )]
    NonFiniteVector {
        /// The vector column.
        column: String,
        /// Row number within the written data, counting from 1.
        row: u64,
        /// Position of the bad element in the vector, counting from 0.
        index: usize,
        /// "NaN", "inf", "-inf" or "NULL".
        value: String,
        /// The column's dimension.
        expected: usize,
    },

    /// A column value that cannot be converted to the table's column type.
    #[error("column '{column}': {reason}")]
    InvalidValue {
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },

    /// An argument (a metric name, an index parameter) that is not allowed; the message says
    /// what is.
    #[error("{0}")]
    InvalidArgument(String),

    /// A vector index name that is taken.
    #[error(
        "vector index '{name}' already exists (on table '{table}'); drop it first or pick another name"
    )]
    IndexExists {
        /// The index.
        name: String,
        /// The table it indexes.
        table: String,
    },

    /// A vector index name that no table has.
    #[error("vector index '{name}' does not exist; SHOW VECTOR INDEXES lists them")]
    IndexNotFound {
        /// The index.
        name: String,
    },

    /// A model name that is taken.
    #[error(
        "model '{name}' already exists; drop it first (DROP MODEL {name}) or pick another name"
    )]
    ModelExists {
        /// The model.
        name: String,
    },

    /// A model name the database does not have.
    #[error("model '{name}' does not exist; SHOW MODELS lists them")]
    ModelNotFound {
        /// The model.
        name: String,
    },

    /// A column that cannot be searched or indexed as a vector.
    #[error("column '{column}' of table '{table}' {reason}")]
    NotAVectorColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Why not ("does not exist", "is Int64, not a vector").
        reason: String,
    },

    /// An Arrow error while handling data in memory.
    #[error("Arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A Parquet error on a named file.
    #[error("Parquet error in '{path}': {cause}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        cause: parquet::errors::ParquetError,
    },

    /// The commit was published (readers see it), but syncing the manifest directory failed,
    /// so it may not survive a power loss. Do not retry the write: it happened.
    #[error(
        "version {version} was committed and is visible, but syncing it to disk failed ({cause}); \
         it may be lost on power failure. Do not repeat the statement"
    )]
    CommittedNotSynced {
        /// The committed version.
        version: u64,
        /// The sync error.
        cause: Box<Error>,
    },

    /// A broken invariant: a bug in reeldb.
    #[error("internal error: {0}. This is a bug in reeldb; please report it")]
    Internal(String),
}

impl From<reeldb_linalg::Error> for Error {
    fn from(error: reeldb_linalg::Error) -> Self {
        match error {
            reeldb_linalg::Error::InvalidArgument(message) => Error::InvalidArgument(message),
            reeldb_linalg::Error::Internal(message) => Error::Internal(message),
            // `reeldb_linalg::Error` is non-exhaustive: a variant added there is a bug until
            // it is mapped here.
            other => Error::Internal(format!("unmapped error from the vector maths: {other}")),
        }
    }
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    /// An [`Error::CorruptFile`] for `path`.
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::CorruptFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
