//! reeldb's SQL layer: a DataFusion session over a reeldb database.
//!
//! [`Session`] answers SQL against the newest committed version of a
//! [`reeldb_engine::Database`]. Standard SQL goes to DataFusion; reeldb's own statements
//! (`COPY table FROM`, `VACUUM`, `INGEST`, `CLUSTER`, ...) are parsed by a pest grammar
//! (`grammar.pest`) that sits in front of DataFusion's parser. The session binds the snapshot
//! a statement runs on and dispatches it to its executor in `statements/`; writes DataFusion
//! plans (`INSERT`, `DELETE`, `CREATE TABLE`, ...) are carried out there too, in the write
//! transaction the session began on the version they were planned on. [`Session::pin`] gives a
//! [`PinnedSession`] that runs only reads, all on one version; [`report`] runs a Markdown
//! report's SQL on one and publishes its HTML page.
//!
//! ```no_run
//! # async fn example() -> reeldb_query::Result<()> {
//! let db = reeldb_engine::Database::open("news.reeldb")?;
//! let session = reeldb_query::Session::new(db);
//! session.sql("CREATE TABLE frames (id BIGINT, embedding VECTOR(4))").await?;
//! session.sql("INSERT INTO frames VALUES (1, [0.1, 0.2, 0.3, 0.4])").await?;
//! let batches = session.sql("SELECT count(*) FROM frames").await?;
//! # Ok(()) }
//! ```
//!
//! # Adding a statement
//! 1. Add its rule to `grammar.pest`, with a keyword in the `owned` rule so the statement
//!    never reaches DataFusion's parser.
//! 2. Add a variant to [`ReeldbStatement`] and its `Display` (canonical SQL), and build it in
//!    `parser.rs`; extend the round-trip test there.
//! 3. Write its executor in `statements/`, in the file of its family or a new one: a function
//!    that takes what it needs (the `Database`, or the `StatementContext` with the models, the
//!    bound snapshot and the session's DataFusion state for sub-plans), never the `Session`,
//!    and returns the result stream. A write runs in one engine transaction. Add its arm to
//!    `statements::execute_reeldb`; `session.rs` does not change.
//! 4. Report bad input with a structured [`Error`] variant where one fits (`UnknownOption`,
//!    `InvalidOption`, `Io`, ...), else `InvalidArgument` with a message that names the thing
//!    and the fix; what cannot happen is `Internal`.
//! 5. Add `.slt` cases under `tests/slt/`, error cases included.

mod append;
mod ast;
mod catalog;
pub mod cluster_tables;
mod error;
pub mod export;
pub mod faces;
pub mod functions;
pub mod graph_tables;
pub mod ingest;
mod keyword_functions;
mod parser;
pub mod report;
mod session;
mod split;
mod sql_types;
mod statements;
mod table;
mod table_function_args;
mod text_columns;
pub mod vector_search;
mod vector_type;

pub use ast::{CopyFrom, CreateVectorIndex, Ingest, IngestKind, OptionValue, ReeldbStatement};
pub use catalog::{CATALOG, SCHEMA, SnapshotSchema};
pub use error::{Error, Result};
pub use parser::parse_reeldb_statement;
pub use session::{PinnedSession, Session, SessionOptions};
pub use split::{ScriptStatement, StatementTracker, ends_statement, split_statements};
pub use sql_types::{create_table_sql, sql_type_name};
pub use statements::copy_from::FileFormat;
pub use table::ReeldbTable;
pub use text_columns::{flatten_for_text, vector_previews};
pub use vector_type::VectorTypePlanner;

/// The stack size for threads that plan and run statements. DataFusion walks plans and
/// expressions recursively, so `WHERE a = 1 OR a = 2 OR ...` with a thousand terms overflows
/// a default 2 MiB thread stack and aborts the process; give the runtime that runs
/// [`Session::execute`] threads of this size (`tokio::runtime::Builder::thread_stack_size`),
/// as the `reeldb` binary and `reeldb::Database` do. The memory is reserved, not used, until a
/// deep statement needs it.
pub const STATEMENT_STACK_SIZE: usize = 64 * 1024 * 1024;
