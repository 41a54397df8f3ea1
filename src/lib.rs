//! reeldb: an embedded database for collections of images and video frames.
//!
//! A database is a directory of Parquet tables. Open it, run SQL, get Arrow record batches:
//!
//! ```
//! # fn main() -> reeldb::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("news.reeldb");
//! let db = reeldb::Database::open(&path)?;
//! db.sql_blocking("CREATE TABLE frames (id BIGINT, video TEXT, embedding VECTOR(3))")?;
//! db.sql_blocking("INSERT INTO frames VALUES (1, 'a', [0.1, 0.2, 0.3]), (2, 'b', [1, 0, 0])")?;
//! let batches = db.sql_blocking("SELECT video FROM frames WHERE id = 2")?;
//! assert_eq!(batches[0].num_rows(), 1);
//! # Ok(()) }
//! ```
//!
//! In async code use [`Database::sql`]: `let batches = db.sql("SELECT ...").await?;`.
//!
//! The crates behind it: `reeldb-engine` (storage), `reeldb-udf` (SQL functions),
//! `reeldb-query` (the SQL session); see `ARCHITECTURE.md`.

use std::path::Path;
use std::sync::OnceLock;

pub use arrow::array::RecordBatch;
pub use reeldb_engine as engine;
pub use reeldb_query as query;
pub use reeldb_query::{Error, Result, Session};

/// An open reeldb database with a SQL session.
#[derive(Debug)]
pub struct Database {
    session: Session,
    /// The runtime behind [`Database::sql_blocking`], made on first use.
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl Database {
    /// Opens the database at `path`, creating it if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Ok(Self::from_engine(reeldb_engine::Database::open(path)?))
    }

    /// Opens the database at `path` for reading only; it must exist.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        let db = reeldb_engine::Database::builder()
            .read_only(true)
            .create_if_missing(false)
            .open(path)?;
        Ok(Self::from_engine(db))
    }

    /// Wraps an engine database opened with options of your choice.
    pub fn from_engine(db: reeldb_engine::Database) -> Database {
        Database {
            session: Session::new(db),
            runtime: OnceLock::new(),
        }
    }

    /// Runs the SQL statements in `sql` and returns the result of the last one.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.session.sql(sql).await
    }

    /// [`Database::sql`] for callers without an async runtime. It must not be called from
    /// inside one (use `sql(..).await` there).
    pub fn sql_blocking(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InvalidArgument(
                "sql_blocking() was called inside an async runtime; use sql(..).await there".into(),
            ));
        }
        let runtime = match self.runtime.get() {
            Some(runtime) => runtime,
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .thread_stack_size(reeldb_query::STATEMENT_STACK_SIZE)
                    .enable_all()
                    .build()
                    .map_err(|cause| Error::System {
                        action: "start a runtime".into(),
                        cause,
                    })?;
                self.runtime.get_or_init(|| runtime)
            }
        };
        runtime.block_on(self.session.sql(sql))
    }

    /// The SQL session, for streaming results or registering functions.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The storage engine's handle.
    pub fn engine(&self) -> &reeldb_engine::Database {
        self.session.database()
    }
}
