//! reeldb's storage engine: a database directory of Parquet tables under a versioned manifest.
//!
//! The engine owns the bytes on disk and knows nothing of SQL. A [`Database`] is a directory;
//! each committed version of it is a [`Manifest`] that lists the tables, their schemas and
//! their Parquet data files. Data files are immutable. A [`WriteTransaction`] writes new files
//! and publishes a new manifest atomically; readers take a [`Snapshot`] and see exactly one
//! committed version for as long as they hold it.
//!
//! ```
//! # fn main() -> reeldb_engine::Result<()> {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = reeldb_engine::Database::open(dir.path().join("news.reeldb"))?;
//! let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
//!
//! let mut txn = db.begin_write()?;
//! txn.create_table("frames", &schema)?;
//! let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(Int64Array::from(vec![1, 2]))])?;
//! txn.append("frames", &batch)?;
//! let snapshot = txn.commit()?;
//! assert_eq!(snapshot.table("frames")?.row_count(), 2);
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//! - A commit is atomic and durable once [`WriteTransaction::commit`] returns `Ok`. An error
//!   means it was not published, except [`Error::CommittedNotSynced`].
//! - One writer at a time across processes: a second [`Database::begin_write`] fails at once
//!   with [`Error::WriterBusy`]. Readers never wait.
//! - Vectors (`FixedSizeList<Float32, D>` columns) are stored only with `D` finite values.
//!
//! The on-disk format and its invariants are documented in `docs/format.md`.
//!
//! # Adding a maintenance operation
//! Do it in one [`WriteTransaction`]: read from `txn.base()`, append and remove files, commit.
//! Never modify or delete a file a manifest references; vacuum is the only deleter of those.

mod conform;
mod crash;
mod data_file;
mod database;
mod error;
mod file_lock;
mod fs;
pub mod index;
mod layout;
mod maintenance;
mod manifest;
mod model_store;
mod names;
mod recent;
mod snapshot;
mod transaction;
pub mod vector;
mod vector_file;
mod vector_search;

pub use conform::conform_batch;
#[cfg(feature = "crash-points")]
pub use crash::set_crash_hook;
pub use data_file::{read_data_file, writer_properties};
pub use database::{Database, DatabaseBuilder, DatabaseOptions, database_containing};
pub use error::{Error, Result};
pub use index::IndexSpec;
pub use index::hnsw::{SEQUENTIAL_BUILD_BELOW, VectorIndex};
pub use maintenance::{CompactionReport, VacuumReport};
pub use manifest::{
    ColumnEntry, DataFileEntry, IndexFileEntry, Manifest, ModelEntry, TableEntry, VectorIndexEntry,
};
pub use model_store::{
    BUILTIN_MODEL, BUILTIN_MODEL_DIM, ModelDescription, ModelFiles, check_model_files,
};
pub use names::{
    MAX_FILE_NAME_BYTES, check_file_name, check_file_name_value, validate_output_file_name,
};
pub use snapshot::Snapshot;
pub use transaction::WriteTransaction;
pub use vector_file::VectorFile;
pub use vector_search::{SearchHit, SearchMode, SearchPath, SearchRequest, SearchResult};
