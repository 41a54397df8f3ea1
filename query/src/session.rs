//! `Session`: SQL over a reeldb database.
//!
//! Every statement runs against the newest committed version at its start: the session binds
//! a [`SnapshotSchema`] for that version, so that everything one statement reads comes from
//! one version. Reads go to DataFusion. reeldb's own statements are parsed by the pest grammar
//! and the standard ones planned by DataFusion; either way the session then dispatches to an
//! executor in `statements/`, which carries a write out in one engine transaction, so each
//! statement commits atomically.

use std::sync::{Arc, RwLock};

use arrow::array::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use reeldb_engine::{Database, Snapshot, WriteTransaction};
use reeldb_udf::ModelRegistry;

use crate::catalog::{CATALOG, SCHEMA, SnapshotSchema, explain_missing_table};
use crate::error::{Error, Result};
use crate::ingest::{NoProgress, Progress};
use crate::keyword_functions::rewrite_calls;
use crate::parser::parse_reeldb_statement;
use crate::split::split_statements;
use crate::statements::copy_images::{self, ImageCopy};
use crate::statements::{
    StatementContext, copy_to, create_table, dml, drop_table, execute_reeldb, unsupported_ddl,
};
use crate::vector_search::{
    LateralVectorTopKRule, ReeldbOptions, ReeldbQueryPlanner, VectorTopKRule,
};
use crate::vector_type::VectorTypePlanner;

mod pinned;

pub use pinned::PinnedSession;

/// Options for a [`Session`].
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Parallelism of query execution; default: the number of cores.
    pub target_partitions: Option<usize>,
}

/// A SQL session over a database.
#[derive(Clone)]
pub struct Session {
    db: Database,
    ctx: SessionContext,
    catalog: Arc<MemoryCatalogProvider>,
    models: Arc<ModelRegistry>,
    /// Where `INGEST` statements report progress (shared by clones of the session).
    ingest_progress: Arc<RwLock<Arc<dyn Progress>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("db", &self.db.path())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with default options.
    pub fn new(db: Database) -> Self {
        Self::with_options(db, SessionOptions::default())
    }

    /// A session with `options`.
    pub fn with_options(db: Database, options: SessionOptions) -> Self {
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG, SCHEMA)
            .with_create_default_catalog_and_schema(false);
        if let Some(partitions) = options.target_partitions {
            config = config.with_target_partitions(partitions.max(1));
        }
        // Row-group pruning needs the predicate in the Parquet scan.
        config.options_mut().execution.parquet.pushdown_filters = true;
        let config = config.with_option_extension(ReeldbOptions::default());
        let cache_vector_files = !db.options().read_only;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_type_planner(Arc::new(VectorTypePlanner))
            .with_analyzer_rule(Arc::new(LateralVectorTopKRule::new(cache_vector_files)))
            .with_optimizer_rule(Arc::new(VectorTopKRule::new(cache_vector_files)))
            .with_query_planner(Arc::new(ReeldbQueryPlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let models = Arc::new(ModelRegistry::new(db.clone()));
        let catalog = Arc::new(MemoryCatalogProvider::new());
        ctx.register_catalog(CATALOG, Arc::clone(&catalog) as Arc<dyn CatalogProvider>);
        crate::functions::register_all(&ctx, &models, &catalog, cache_vector_files);
        Session {
            db,
            ctx,
            catalog,
            models,
            ingest_progress: Arc::new(RwLock::new(Arc::new(NoProgress))),
        }
    }

    /// Sends the progress of `INGEST` statements to `progress` (the shell draws bars).
    pub fn set_ingest_progress(&self, progress: Arc<dyn Progress>) {
        // A poisoned lock only means a panic elsewhere; the value is still a valid sink.
        match self.ingest_progress.write() {
            Ok(mut sink) => *sink = progress,
            Err(poisoned) => *poisoned.into_inner() = progress,
        }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The models this session's SQL functions use (those stored in the database, and the
    /// built-in one), loaded on first use.
    pub fn models(&self) -> &Arc<ModelRegistry> {
        &self.models
    }

    /// The DataFusion context, for registering functions or tables of your own.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs every statement in `sql` in order and returns the result of the last one.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let statements = split_statements(sql);
        let mut last = Vec::new();
        for statement in statements {
            let stream = self.execute(&statement.text).await?;
            last = datafusion::physical_plan::common::collect(stream).await?;
        }
        Ok(last)
    }

    /// Runs one statement and returns its result as a stream. Writes are complete (committed)
    /// when this returns; a query runs as the stream is read, and stops if it is dropped. The
    /// stream keeps the version it reads alive: vacuum cannot delete its files meanwhile.
    ///
    /// A `Session` runs one statement at a time; use one session per concurrent task.
    pub async fn execute(&self, statement: &str) -> Result<SendableRecordBatchStream> {
        // A write is planned against the version it will change. If another writer commits
        // between planning and taking the writer lock, plan again on the newer version.
        for _ in 0..MAX_PLAN_ATTEMPTS {
            let snapshot = self.bind_snapshot()?;
            if let Attempt::Done(stream) = self.execute_on(statement, &snapshot).await? {
                return Ok(holding(stream, snapshot));
            }
        }
        Err(Error::Engine(reeldb_engine::Error::WriterBusy {
            path: self.db.path().to_path_buf(),
        }))
    }

    async fn execute_on(&self, statement: &str, snapshot: &Arc<Snapshot>) -> Result<Attempt> {
        if let Some(statement) = parse_reeldb_statement(statement)? {
            let cx = self.statement_context(snapshot);
            return Ok(Attempt::Done(execute_reeldb(&cx, statement).await?));
        }
        let statement = rewrite_calls(statement);
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let parsed = state.sql_to_statement(&statement, &dialect)?;
        // DataFusion parses `COPY ... TO 'x.png'` but has no writer for images: reeldb runs it.
        if let Some(copy) = ImageCopy::from_statement(&parsed)? {
            let cx = self.statement_context(snapshot);
            return Ok(Attempt::Done(copy_images::copy_images(&cx, copy).await?));
        }
        let plan = match state.statement_to_plan(parsed).await {
            Ok(plan) => plan,
            Err(e) => return Err(explain_missing_table(e.into(), snapshot)),
        };
        let stream = match plan {
            LogicalPlan::Dml(dml) => {
                dml::check(&dml)?;
                let Some(txn) = self.begin_write_on(snapshot)? else {
                    return Ok(Attempt::Stale);
                };
                dml::execute(&self.statement_context(snapshot), txn, dml).await?
            }
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => {
                create_table::check(&create)?;
                let Some(txn) = self.begin_write_on(snapshot)? else {
                    return Ok(Attempt::Stale);
                };
                create_table::execute(&self.statement_context(snapshot), txn, create).await?
            }
            LogicalPlan::Ddl(DdlStatement::DropTable(drop)) => {
                drop_table::check(&drop)?;
                let Some(txn) = self.begin_write_on(snapshot)? else {
                    return Ok(Attempt::Stale);
                };
                drop_table::execute(txn, &drop)?
            }
            LogicalPlan::Ddl(other) => return Err(unsupported_ddl(&other)),
            LogicalPlan::Copy(copy) => {
                let plan = copy_to::prepare(&self.db, copy)?;
                self.ctx
                    .execute_logical_plan(plan)
                    .await?
                    .execute_stream()
                    .await?
            }
            // Queries, and SET / RESET, which change the session's settings (`SET
            // reeldb.ef_search = 128`): the context runs them (the DDL it would run itself is
            // matched above).
            other => {
                self.ctx
                    .execute_logical_plan(other)
                    .await?
                    .execute_stream()
                    .await?
            }
        };
        Ok(Attempt::Done(stream))
    }

    /// Takes the writer lock for a statement planned on `planned`; `None` if a newer version
    /// was committed since, and the statement must be planned again.
    fn begin_write_on(&self, planned: &Snapshot) -> Result<Option<WriteTransaction>> {
        let txn = self.db.begin_write()?;
        Ok((txn.base().version() == planned.version()).then_some(txn))
    }

    /// The tables of the newest version, for DataFusion to resolve names against.
    fn bind_snapshot(&self) -> Result<Arc<Snapshot>> {
        let snapshot = self.db.snapshot()?;
        self.bind(&snapshot)?;
        Ok(snapshot)
    }

    /// Makes `snapshot`'s tables the ones DataFusion resolves names against.
    fn bind(&self, snapshot: &Arc<Snapshot>) -> Result<()> {
        self.catalog
            .register_schema(SCHEMA, Arc::new(SnapshotSchema::new(Arc::clone(snapshot))))?;
        Ok(())
    }

    /// What an executor gets for a statement bound to `snapshot`.
    fn statement_context<'a>(&'a self, snapshot: &'a Arc<Snapshot>) -> StatementContext<'a> {
        let progress = match self.ingest_progress.read() {
            Ok(sink) => Arc::clone(&sink),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        StatementContext {
            db: &self.db,
            models: &self.models,
            snapshot,
            state: self.ctx.state(),
            progress,
        }
    }
}

/// `stream`, keeping `snapshot` (the version it reads) alive until it is dropped, so vacuum
/// cannot delete its files meanwhile.
fn holding(
    stream: SendableRecordBatchStream,
    snapshot: Arc<Snapshot>,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let holds_snapshot = stream.map(move |batch| {
        let _version = &snapshot;
        batch
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, holds_snapshot))
}

/// Whether the planner ran this statement (`Done`) or found it planned on a version that a
/// newer commit replaced before it took the writer lock (`Stale`).
enum Attempt {
    Done(SendableRecordBatchStream),
    Stale,
}

/// How often a write is planned again when other writers keep committing first.
const MAX_PLAN_ATTEMPTS: usize = 5;

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn a_write_planned_on_an_older_version_must_plan_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("stale.reeldb")).unwrap();
        let session = Session::new(db.clone());
        let planned = session.bind_snapshot().unwrap();
        // Another writer commits after planning, before this statement takes the lock.
        let mut txn = db.begin_write().unwrap();
        txn.create_table(
            "t",
            &Schema::new(vec![Field::new("x", DataType::Int64, true)]),
        )
        .unwrap();
        txn.commit().unwrap();
        assert!(session.begin_write_on(&planned).unwrap().is_none());
        let current = session.bind_snapshot().unwrap();
        assert!(session.begin_write_on(&current).unwrap().is_some());
    }
}
