//! Carrying out statements, one module per statement family.
//!
//! [`Session`](crate::Session) parses a statement, binds the snapshot it runs on and
//! dispatches: reeldb's own statements to [`execute_reeldb`], the writes DataFusion plans to
//! `dml`, `create_table` and `drop_table`. An executor gets what it needs and nothing more
//! (the [`Database`], the models, the bound snapshot, the session's DataFusion state for
//! sub-plans, the ingest progress sink, bundled in a [`StatementContext`]), and for a write
//! DataFusion planned, the [`WriteTransaction`](reeldb_engine::WriteTransaction) the session
//! began on the version it was planned on. Executors never see the session, so nothing here
//! calls back into it or re-enters its DataFusion context.
//!
//! | module | statements |
//! |---|---|
//! | `dml` | `INSERT [OVERWRITE]`, `TRUNCATE`, `DELETE`, `UPDATE` |
//! | `create_table` | `CREATE TABLE [AS]` |
//! | `drop_table` | `DROP TABLE` |
//! | `copy_from` | `COPY table FROM 'file'` |
//! | `copy_to` | `COPY (query) TO 'file'`, checked and made to fit the format |
//! | `copy_images` | `COPY (query) TO 'dir/{column}.png'`: image cells as image files |
//! | `ingest` | `INGEST FRAMES / VIDEO / TRANSCRIPT / EMBEDDINGS` |
//! | `maintenance` | `VACUUM`, `COMPACT` |
//! | `vector_index` | `CREATE / DROP VECTOR INDEX`, `SHOW VECTOR INDEXES` |
//! | `model` | `CREATE / DROP MODEL`, `SHOW MODELS`, `ALTER TABLE ... SET MODEL` |
//! | `cluster` | `CLUSTER ... INTO` |
//! | `detect_faces` | `DETECT FACES IN ... INTO` |
//! | `vector_casts` | (used by `dml`) leaving vector conversion of written rows to the engine |
//!
//! Each executor returns the statement's result as a stream: nothing for DDL, a `count` row
//! for writes (as DataFusion reports them), a report row for maintenance, ingest, CLUSTER and DETECT FACES,
//! a row per file for `COPY ... TO` image files.

mod cluster;
pub(crate) mod copy_from;
pub(crate) mod copy_images;
pub(crate) mod copy_to;
pub(crate) mod create_table;
mod detect_faces;
pub(crate) mod dml;
pub(crate) mod drop_table;
mod ingest;
mod maintenance;
mod model;
mod vector_casts;
mod vector_index;

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::prelude::DataFrame;
use reeldb_engine::{Database, Snapshot};
use reeldb_udf::ModelRegistry;

use crate::ast::ReeldbStatement;
use crate::catalog::{CATALOG, SCHEMA};
use crate::error::{Error, Result};
use crate::ingest::Progress;

/// What a statement runs with: the database and its models, the snapshot the session bound for
/// it, the session's DataFusion state, and where ingest reports progress.
pub(crate) struct StatementContext<'a> {
    /// The database the statement reads and writes.
    pub db: &'a Database,
    /// The models SQL functions and ingest embed with.
    pub models: &'a Arc<ModelRegistry>,
    /// The version the statement was planned on (what its tables resolve to).
    pub snapshot: &'a Arc<Snapshot>,
    /// The session's DataFusion state (settings, functions, rules), for sub-plans.
    pub state: SessionState,
    /// Where `INGEST` reports progress.
    pub progress: Arc<dyn Progress>,
}

impl StatementContext<'_> {
    /// Optimizes and executes a logical plan with the session's state.
    pub async fn stream_plan(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream> {
        Ok(DataFrame::new(self.state.clone(), plan)
            .execute_stream()
            .await?)
    }

    /// The number of rows `plan` produces.
    pub async fn count_rows(&self, plan: LogicalPlan) -> Result<u64> {
        Ok(DataFrame::new(self.state.clone(), plan).count().await? as u64)
    }
}

/// Carries out one of reeldb's own statements (those the pest grammar owns). Those that write
/// take the writer lock themselves: they are not planned on a version, so they need no second
/// attempt.
pub(crate) async fn execute_reeldb(
    cx: &StatementContext<'_>,
    statement: ReeldbStatement,
) -> Result<SendableRecordBatchStream> {
    let db = cx.db;
    match statement {
        ReeldbStatement::CopyFrom(copy) => copy_from::copy_from(cx, &copy).await,
        ReeldbStatement::Vacuum { keep_versions } => maintenance::vacuum(db, keep_versions),
        ReeldbStatement::Compact { table } => maintenance::compact(db, table).await,
        ReeldbStatement::CreateVectorIndex(create) => {
            vector_index::create_vector_index(db, create).await
        }
        ReeldbStatement::DropVectorIndex { name, if_exists } => {
            vector_index::drop_vector_index(db, &name, if_exists)
        }
        ReeldbStatement::ShowVectorIndexes => vector_index::show_vector_indexes(cx.snapshot),
        ReeldbStatement::CreateModel(create) => model::create_model(db, create).await,
        ReeldbStatement::DropModel { name, if_exists } => model::drop_model(db, &name, if_exists),
        ReeldbStatement::ShowModels => model::show_models(cx.snapshot),
        ReeldbStatement::Ingest(statement) => ingest::run_ingest(cx, &statement).await,
        ReeldbStatement::Cluster(statement) => cluster::cluster_into(db, &statement).await,
        ReeldbStatement::DetectFaces(statement) => {
            detect_faces::run_detect_faces(cx, &statement).await
        }
        ReeldbStatement::SetColumnModel {
            table,
            column,
            model,
        } => model::set_column_model(db, &table, &column, model.as_deref()),
    }
}

/// Tables live in `reeldb.main`; another schema or catalog in a name is an error, not
/// something to drop silently.
pub(crate) fn check_table_reference(name: &TableReference) -> Result<()> {
    let schema_ok = name.schema().is_none_or(|s| s == SCHEMA);
    let catalog_ok = name.catalog().is_none_or(|c| c == CATALOG);
    if schema_ok && catalog_ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "'{name}' names another schema; the database's tables are in {CATALOG}.{SCHEMA}, \
             so write just '{}'",
            name.table()
        )))
    }
}

/// The error for DDL that reeldb has no executor for (`CREATE EXTERNAL TABLE`, views, ...).
pub(crate) fn unsupported_ddl(ddl: &DdlStatement) -> Error {
    Error::Unsupported {
        what: ddl.name().to_string(),
        hint: "reeldb keeps tables in its database directory: use CREATE TABLE, and COPY table \
               FROM 'file' to load files"
            .into(),
    }
}

/// The result of a statement that returns nothing.
pub(crate) fn empty_stream() -> SendableRecordBatchStream {
    let schema = Arc::new(Schema::empty());
    Box::pin(MemoryStream::try_new(vec![], schema, None).expect("an empty stream is valid"))
}

/// The one-row `count` result of a write, as DataFusion reports it.
pub(crate) fn count_stream(rows: u64) -> SendableRecordBatchStream {
    one_row(&[("count", rows)]).expect("a one-row batch is valid")
}

/// One row of named counts.
pub(crate) fn one_row(values: &[(&str, u64)]) -> Result<SendableRecordBatchStream> {
    let schema = Arc::new(Schema::new(
        values
            .iter()
            .map(|(name, _)| Field::new(*name, DataType::UInt64, false))
            .collect::<Vec<_>>(),
    ));
    let columns = values
        .iter()
        .map(|(_, v)| Arc::new(UInt64Array::from(vec![*v])) as _)
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    batch_stream(batch)
}

/// A stream of one batch.
pub(crate) fn batch_stream(batch: RecordBatch) -> Result<SendableRecordBatchStream> {
    let schema = batch.schema();
    Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
}
