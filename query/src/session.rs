//! `Session`: SQL over a reeldb database.
//!
//! Every statement runs against the newest committed version at its start: the session binds
//! a [`SnapshotSchema`] for that version, so that everything one statement reads comes from
//! one version. Reads go to DataFusion. Writes (`CREATE TABLE`, `INSERT`, `DELETE`, `UPDATE`,
//! `DROP TABLE`, `COPY ... FROM`) are planned by DataFusion (or the pest grammar) and then
//! carried out here in one engine transaction each, so each statement commits atomically.

use std::sync::{Arc, RwLock};

use arrow::array::{RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::provider_as_source;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{
    DdlStatement, DmlStatement, Expr, Filter, LogicalPlan, Projection, WriteOp,
};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use futures::StreamExt;
use reeldb_engine::{Database, Snapshot, WriteTransaction};
use reeldb_udf::ModelRegistry;

use crate::append::append_stream;
use crate::ast::ReeldbStatement;
use crate::catalog::SnapshotSchema;
use crate::cluster_statement::cluster_into;
use crate::cluster_tables::{ChooseKFunction, ClusterSimilarityFunction};
use crate::copy_from::copy_from;
use crate::error::{Error, Result};
use crate::ingest::{IngestControl, NoProgress, Progress};
use crate::ingest_statement::run_ingest;
use crate::keyword_functions::rewrite_calls;
use crate::model_statements::{
    create_model, drop_model, record_inserted_models, set_column_model, show_models,
};
use crate::parser::parse_reeldb_statement;
use crate::split::split_statements;
use crate::table::ReeldbTable;
use crate::vector_index_statements::{create_vector_index, drop_vector_index, show_vector_indexes};
use crate::vector_search::{
    KnnFunction, LateralVectorTopKRule, ReeldbOptions, ReeldbQueryPlanner, VectorTopKRule,
};
use crate::vector_type::VectorTypePlanner;

/// The catalog name under which the database's tables appear.
pub const CATALOG: &str = "reeldb";
/// The schema name under which the database's tables appear.
pub const SCHEMA: &str = "main";

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
        reeldb_udf::register_all(&ctx, &models);
        let catalog = Arc::new(MemoryCatalogProvider::new());
        ctx.register_catalog(CATALOG, Arc::clone(&catalog) as Arc<dyn CatalogProvider>);
        ctx.register_udtf(
            "choose_k",
            Arc::new(ChooseKFunction::new(Arc::clone(&catalog))),
        );
        ctx.register_udtf(
            "cluster_similarity",
            Arc::new(ClusterSimilarityFunction::new(Arc::clone(&catalog))),
        );
        ctx.register_udtf(
            "knn",
            Arc::new(KnnFunction::new(Arc::clone(&catalog), cache_vector_files)),
        );
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

    fn ingest_control(&self) -> IngestControl {
        let progress = match self.ingest_progress.read() {
            Ok(sink) => Arc::clone(&sink),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        IngestControl {
            progress,
            ..IngestControl::default()
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
                let schema = stream.schema();
                let holds_snapshot = stream.map(move |batch| {
                    let _version = &snapshot;
                    batch
                });
                return Ok(Box::pin(RecordBatchStreamAdapter::new(
                    schema,
                    holds_snapshot,
                )));
            }
        }
        Err(Error::Engine(reeldb_engine::Error::WriterBusy {
            path: self.db.path().to_path_buf(),
        }))
    }

    async fn execute_on(&self, statement: &str, snapshot: &Arc<Snapshot>) -> Result<Attempt> {
        if let Some(statement) = parse_reeldb_statement(statement)? {
            return Ok(Attempt::Done(self.execute_reeldb(statement).await?));
        }
        let statement = rewrite_calls(statement);
        let plan = match self.ctx.state().create_logical_plan(&statement).await {
            Ok(plan) => plan,
            Err(e) => return Err(self.explain_missing_table(e.into())),
        };
        self.execute_plan(plan, snapshot).await
    }

    /// Takes the writer lock for a statement planned on `planned`; `None` if a newer version
    /// was committed since, and the statement must be planned again.
    fn begin_write_on(&self, planned: &Snapshot) -> Result<Option<WriteTransaction>> {
        let txn = self.db.begin_write()?;
        Ok((txn.base().version() == planned.version()).then_some(txn))
    }

    /// DataFusion reports an unknown table as "table 'reeldb.main.x' not found"; replace that
    /// with the engine's error, which suggests a table with a similar name.
    fn explain_missing_table(&self, error: Error) -> Error {
        let message = error.to_string();
        let prefix = format!("table '{CATALOG}.{SCHEMA}.");
        let Some(start) = message.find(&prefix) else {
            return error;
        };
        let rest = &message[start + prefix.len()..];
        let Some(name) = rest.strip_suffix("' not found") else {
            return error;
        };
        match self.db.snapshot() {
            Ok(snapshot) => match snapshot.table(name) {
                Err(missing) => Error::Engine(missing),
                Ok(_) => error,
            },
            Err(_) => error,
        }
    }

    /// The tables of the newest version, for DataFusion to resolve names against.
    fn bind_snapshot(&self) -> Result<Arc<Snapshot>> {
        let snapshot = self.db.snapshot()?;
        self.catalog
            .register_schema(SCHEMA, Arc::new(SnapshotSchema::new(Arc::clone(&snapshot))))?;
        Ok(snapshot)
    }

    async fn execute_reeldb(
        &self,
        statement: ReeldbStatement,
    ) -> Result<SendableRecordBatchStream> {
        match statement {
            ReeldbStatement::CopyFrom(copy) => {
                let rows = copy_from(self, &copy).await?;
                Ok(count_stream(rows))
            }
            ReeldbStatement::Vacuum { keep_versions } => {
                let report = self.db.vacuum(keep_versions.unwrap_or(1) as usize)?;
                one_row(&[
                    ("versions_removed", report.versions_removed as u64),
                    ("versions_in_use", report.versions_in_use as u64),
                    ("files_removed", report.files_removed as u64),
                    ("bytes_freed", report.bytes_freed),
                ])
            }
            ReeldbStatement::Compact { table } => {
                let db = self.db.clone();
                let report = tokio::task::spawn_blocking(move || db.compact(table.as_deref()))
                    .await
                    .map_err(|e| Error::Invalid(format!("compaction stopped: {e}")))??;
                one_row(&[
                    ("files_removed", report.files_removed as u64),
                    ("files_written", report.files_written as u64),
                    ("rows", report.rows),
                    ("indexes_rebuilt", report.indexes_rebuilt as u64),
                ])
            }
            ReeldbStatement::CreateVectorIndex(statement) => {
                create_vector_index(&self.db, statement).await?;
                Ok(empty_stream())
            }
            ReeldbStatement::DropVectorIndex { name, if_exists } => {
                drop_vector_index(&self.db, &name, if_exists)?;
                Ok(empty_stream())
            }
            ReeldbStatement::ShowVectorIndexes => {
                let snapshot = self.db.snapshot()?;
                let batch = show_vector_indexes(&snapshot)?;
                let schema = batch.schema();
                Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
            }
            ReeldbStatement::CreateModel(statement) => {
                create_model(&self.db, statement).await?;
                Ok(empty_stream())
            }
            ReeldbStatement::DropModel { name, if_exists } => {
                drop_model(&self.db, &name, if_exists)?;
                Ok(empty_stream())
            }
            ReeldbStatement::ShowModels => {
                let snapshot = self.db.snapshot()?;
                let batch = show_models(&snapshot)?;
                let schema = batch.schema();
                Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
            }
            ReeldbStatement::Ingest(ingest) => {
                let batch = run_ingest(self, &ingest, &self.ingest_control()).await?;
                let schema = batch.schema();
                Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
            }
            ReeldbStatement::Cluster(statement) => {
                let batch = cluster_into(&self.db, &statement).await?.to_batch()?;
                let schema = batch.schema();
                Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
            }
            ReeldbStatement::SetColumnModel {
                table,
                column,
                model,
            } => {
                set_column_model(&self.db, &table, &column, model.as_deref())?;
                Ok(empty_stream())
            }
        }
    }

    async fn execute_plan(&self, plan: LogicalPlan, planned: &Snapshot) -> Result<Attempt> {
        let stale = Ok(Attempt::Stale);
        match plan {
            LogicalPlan::Dml(dml) => self.execute_dml(dml, planned).await,
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => {
                check_create_table(&create)?;
                let name = create.name.table().to_string();
                let Some(mut txn) = self.begin_write_on(planned)? else {
                    return stale;
                };
                if txn.manifest().table(&name).is_some() {
                    if create.if_not_exists {
                        return Ok(Attempt::Done(empty_stream()));
                    }
                    if create.or_replace {
                        txn.drop_table(&name)?;
                    }
                }
                let mut schema = create.input.schema().as_arrow().clone();
                if !matches!(create.input.as_ref(), LogicalPlan::EmptyRelation(_)) {
                    // CREATE TABLE AS: columns admit NULL, as in PostgreSQL and DuckDB, even
                    // when the query's values happen to have none.
                    schema = nullable(&schema);
                }
                txn.create_table(&name, &schema)?;
                let stream = self.stream_plan(create.input.as_ref().clone()).await?;
                let (txn, _) = append_stream(txn, &name, stream).await?;
                txn.commit()?;
                Ok(Attempt::Done(empty_stream()))
            }
            LogicalPlan::Ddl(DdlStatement::DropTable(drop)) => {
                check_table_reference(&drop.name)?;
                let name = drop.name.table().to_string();
                let Some(mut txn) = self.begin_write_on(planned)? else {
                    return stale;
                };
                if txn.manifest().table(&name).is_none() && drop.if_exists {
                    return Ok(Attempt::Done(empty_stream()));
                }
                txn.drop_table(&name)?;
                txn.commit()?;
                Ok(Attempt::Done(empty_stream()))
            }
            LogicalPlan::Ddl(other) => Err(Error::Unsupported {
                what: other.name().to_string(),
                hint: "reeldb keeps tables in its database directory: use CREATE TABLE, and \
                       COPY table FROM 'file' to load files"
                    .into(),
            }),
            // SET / RESET change the session's settings (`SET reeldb.ef_search = 128`);
            // the context applies them.
            LogicalPlan::Statement(statement) => {
                let frame = self
                    .ctx
                    .execute_logical_plan(LogicalPlan::Statement(statement))
                    .await?;
                Ok(Attempt::Done(frame.execute_stream().await?))
            }
            other => Ok(Attempt::Done(self.stream_plan(other).await?)),
        }
    }

    async fn execute_dml(&self, dml: DmlStatement, planned: &Snapshot) -> Result<Attempt> {
        check_table_reference(&dml.table_name)?;
        let table = dml.table_name.table().to_string();
        let Some(mut txn) = self.begin_write_on(planned)? else {
            return Ok(Attempt::Stale);
        };
        let rows = match dml.op {
            WriteOp::Insert(op) => {
                match op {
                    InsertOp::Append => {}
                    InsertOp::Overwrite => remove_all_files(&mut txn, &table)?,
                    InsertOp::Replace => {
                        return Err(Error::Unsupported {
                            what: "REPLACE INTO".into(),
                            hint: "reeldb tables have no primary key; DELETE the old rows and \
                                   INSERT the new ones"
                                .into(),
                        });
                    }
                }
                record_inserted_models(&mut txn, &table, dml.input.schema())?;
                let input = strip_vector_casts(dml.input.as_ref().clone());
                let stream = self.stream_plan(input).await?;
                let (txn, rows) = append_stream(txn, &table, stream).await?;
                txn.commit()?;
                rows
            }
            WriteOp::Truncate => {
                let rows = txn.table(&table)?.row_count();
                remove_all_files(&mut txn, &table)?;
                txn.commit()?;
                rows
            }
            WriteOp::Delete | WriteOp::Update => self.rewrite_matching(txn, &table, &dml).await?,
            _ => {
                return Err(Error::Unsupported {
                    what: dml.op.name().to_string(),
                    hint: "use CREATE TABLE ... AS SELECT, INSERT, UPDATE and DELETE".into(),
                });
            }
        };
        Ok(Attempt::Done(count_stream(rows)))
    }

    /// DELETE and UPDATE: every data file with a matching row is replaced by a file with the
    /// rows that do not match (and, for UPDATE, the updated rows), in one commit.
    async fn rewrite_matching(
        &self,
        mut txn: WriteTransaction,
        table: &str,
        dml: &DmlStatement,
    ) -> Result<u64> {
        let is_update = matches!(dml.op, WriteOp::Update);
        let (projection, filtered) = match (is_update, dml.input.as_ref()) {
            (true, LogicalPlan::Projection(p)) => (Some(p.expr.clone()), p.input.as_ref()),
            (false, plan) => (None, plan),
            (true, _) => return Err(unsupported_rewrite(is_update)),
        };
        let (predicate, source) = match filtered {
            LogicalPlan::Filter(filter) => (Some(filter.predicate.clone()), filter.input.as_ref()),
            other => (None, other),
        };
        if !reads_only_target(source) {
            return Err(unsupported_rewrite(is_update));
        }
        // The predicate is evaluated more than once per file (to find the files to rewrite,
        // then to split their rows); a volatile one would split them inconsistently.
        if predicate.as_ref().is_some_and(Expr::is_volatile) {
            return Err(Error::Unsupported {
                what: "a volatile function (such as random()) in the WHERE of DELETE or UPDATE"
                    .into(),
                hint: "compute the values into a table first, then DELETE or UPDATE by them".into(),
            });
        }
        let full = ReeldbTable::new(Arc::clone(txn.base()), table)?;
        let mut changed = 0u64;
        for file in full.files().to_vec() {
            let single = Arc::new(full.with_files(vec![file.clone()]));
            let source = replace_scan(source.clone(), &dml.table_name, single)?;
            let matched = match &predicate {
                Some(p) => {
                    let plan =
                        LogicalPlan::Filter(Filter::try_new(p.clone(), Arc::new(source.clone()))?);
                    DataFrame::new(self.ctx.state(), plan).count().await? as u64
                }
                None => file.rows,
            };
            if matched == 0 {
                continue;
            }
            // Updated rows first, so that in the first file rewritten an error names the row
            // among the updated ones.
            if let Some(exprs) = &projection {
                let matching = match &predicate {
                    Some(p) => {
                        LogicalPlan::Filter(Filter::try_new(p.clone(), Arc::new(source.clone()))?)
                    }
                    None => source.clone(),
                };
                let updated = LogicalPlan::Projection(Projection::try_new(
                    exprs.clone(),
                    Arc::new(matching),
                )?);
                let stream = self.stream_plan(strip_vector_casts(updated)).await?;
                txn = append_stream(txn, table, stream).await?.0;
            }
            if let Some(p) = &predicate {
                let kept = LogicalPlan::Filter(Filter::try_new(
                    p.clone().is_not_true(),
                    Arc::new(source.clone()),
                )?);
                let stream = self.stream_plan(kept).await?;
                txn = append_stream(txn, table, stream).await?.0;
            }
            txn.remove_file(table, &file.path)?;
            changed += matched;
        }
        txn.commit()?;
        Ok(changed)
    }

    /// Optimizes and executes a logical plan.
    async fn stream_plan(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream> {
        Ok(DataFrame::new(self.ctx.state(), plan)
            .execute_stream()
            .await?)
    }
}

fn unsupported_rewrite(is_update: bool) -> Error {
    let (what, hint) = if is_update {
        (
            "UPDATE ... FROM",
            "update one table at a time, with a subquery in SET or WHERE",
        )
    } else {
        ("DELETE ... USING", "use a subquery in WHERE")
    };
    Error::Unsupported {
        what: what.into(),
        hint: hint.into(),
    }
}

/// Whether the planner ran this statement (`Done`) or found it planned on a version that a
/// newer commit replaced before it took the writer lock (`Stale`).
enum Attempt {
    Done(SendableRecordBatchStream),
    Stale,
}

/// How often a write is planned again when other writers keep committing first.
const MAX_PLAN_ATTEMPTS: usize = 5;

/// Refuses the parts of CREATE TABLE that reeldb would otherwise ignore.
fn check_create_table(create: &datafusion::logical_expr::CreateMemoryTable) -> Result<()> {
    check_table_reference(&create.name)?;
    if !create.column_defaults.is_empty() {
        return Err(Error::Unsupported {
            what: "DEFAULT in a column definition".into(),
            hint: "give every value in INSERT, or leave the column NULL".into(),
        });
    }
    if !create.constraints.is_empty() {
        return Err(Error::Unsupported {
            what: "PRIMARY KEY, UNIQUE and other table constraints".into(),
            hint: "declare the columns without them (NOT NULL is supported)".into(),
        });
    }
    Ok(())
}

/// Tables live in `reeldb.main`; another schema or catalog in a name is an error, not
/// something to drop silently.
fn check_table_reference(name: &datafusion::common::TableReference) -> Result<()> {
    let schema_ok = name.schema().is_none_or(|s| s == SCHEMA);
    let catalog_ok = name.catalog().is_none_or(|c| c == CATALOG);
    if schema_ok && catalog_ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "'{name}' names another schema; the database's tables are in {CATALOG}.{SCHEMA}, \
             so write just '{}'",
            name.table()
        )))
    }
}

/// `schema` with every column nullable.
fn nullable(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Schema::new(fields)
}

/// Whether `plan` is a scan of one table, possibly under an alias.
fn reads_only_target(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::TableScan(_) => true,
        LogicalPlan::SubqueryAlias(alias) => reads_only_target(&alias.input),
        _ => false,
    }
}

/// Replaces the scan of `table` in `plan` by a scan of `provider`.
fn replace_scan(
    plan: LogicalPlan,
    table: &datafusion::common::TableReference,
    provider: Arc<ReeldbTable>,
) -> Result<LogicalPlan> {
    let replaced = plan.transform_up(|node| match node {
        LogicalPlan::TableScan(mut scan) if &scan.table_name == table => {
            scan.source = provider_as_source(Arc::clone(&provider) as _);
            Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(replaced.data)
}

fn remove_all_files(txn: &mut WriteTransaction, table: &str) -> Result<()> {
    let paths: Vec<String> = txn
        .table(table)?
        .files
        .iter()
        .map(|f| f.path.clone())
        .collect();
    for path in paths {
        txn.remove_file(table, &path)?;
    }
    Ok(())
}

/// DataFusion casts inserted values to the column types; for a vector column that is a cast
/// from a list to `FixedSizeList`, whose failure would name neither the column nor the row.
/// The engine converts and checks vectors itself (see `reeldb_engine::conform_batch`), so
/// those casts are removed from the top projection of an INSERT or UPDATE and from a VALUES
/// list right below it. Casts the user wrote deeper in a query are left alone.
fn strip_vector_casts(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Projection(projection) => {
            let input = match projection.input.as_ref() {
                LogicalPlan::Values(values) => match strip_values(values) {
                    Some(stripped) => Arc::new(stripped),
                    None => Arc::clone(&projection.input),
                },
                _ => Arc::clone(&projection.input),
            };
            let exprs: Vec<Expr> = projection.expr.iter().map(strip_cast).collect();
            match Projection::try_new(exprs, input) {
                Ok(stripped) => LogicalPlan::Projection(stripped),
                Err(_) => LogicalPlan::Projection(projection),
            }
        }
        LogicalPlan::Values(values) => match strip_values(&values) {
            Some(stripped) => stripped,
            None => LogicalPlan::Values(values),
        },
        other => other,
    }
}

/// A VALUES list without casts to vector types, its schema inferred again.
fn strip_values(values: &datafusion::logical_expr::Values) -> Option<LogicalPlan> {
    let rows: Vec<Vec<Expr>> = values
        .values
        .iter()
        .map(|row| row.iter().map(strip_cast).collect())
        .collect();
    if rows == values.values {
        return None;
    }
    datafusion::logical_expr::LogicalPlanBuilder::values(rows)
        .and_then(|builder| builder.build())
        .ok()
}

/// `expr` without an outermost cast to a vector type (looking through an alias).
fn strip_cast(expr: &Expr) -> Expr {
    match expr {
        Expr::Alias(alias) => match alias.expr.as_ref() {
            Expr::Cast(cast) if is_fixed_size_list(cast.field.data_type()) => cast
                .expr
                .as_ref()
                .clone()
                .alias_qualified(alias.relation.clone(), alias.name.clone()),
            _ => expr.clone(),
        },
        Expr::Cast(cast) if is_fixed_size_list(cast.field.data_type()) => {
            cast.expr.as_ref().clone()
        }
        other => other.clone(),
    }
}

fn is_fixed_size_list(data_type: &DataType) -> bool {
    matches!(data_type, DataType::FixedSizeList(_, _))
}

fn empty_stream() -> SendableRecordBatchStream {
    let schema = Arc::new(Schema::empty());
    Box::pin(MemoryStream::try_new(vec![], schema, None).expect("an empty stream is valid"))
}

/// The one-row `count` result of a write, as DataFusion reports it.
fn count_stream(rows: u64) -> SendableRecordBatchStream {
    one_row(&[("count", rows)]).expect("a one-row batch is valid")
}

fn one_row(values: &[(&str, u64)]) -> Result<SendableRecordBatchStream> {
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
    Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
}

#[cfg(test)]
mod tests {
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
