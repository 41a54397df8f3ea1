//! The schema DataFusion sees: the tables of one snapshot.
//!
//! The session binds a new `SnapshotSchema` at the start of every statement, so that all the
//! tables a statement reads come from one committed version.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result, exec_err};
use reeldb_engine::Snapshot;

use crate::error::{Error, external};
use crate::table::ReeldbTable;

/// The catalog name under which the database's tables appear.
pub const CATALOG: &str = "reeldb";
/// The schema name under which the database's tables appear.
pub const SCHEMA: &str = "main";

/// The snapshot the session bound in `catalog` for the running statement (what table
/// functions read).
pub fn bound_snapshot(catalog: &MemoryCatalogProvider) -> Result<Arc<Snapshot>> {
    let schema = catalog
        .schema(SCHEMA)
        .ok_or_else(|| DataFusionError::Internal("no bound snapshot".into()))?;
    let snapshot = schema
        .downcast_ref::<SnapshotSchema>()
        .ok_or_else(|| DataFusionError::Internal("the schema is not a snapshot".into()))?
        .snapshot();
    Ok(Arc::clone(snapshot))
}

/// DataFusion reports an unknown table as "table 'reeldb.main.x' not found"; that becomes the
/// engine's error for `snapshot` (the version the statement was planned on), which suggests a
/// table with a similar name.
pub(crate) fn explain_missing_table(error: Error, snapshot: &Snapshot) -> Error {
    let message = error.to_string();
    let prefix = format!("table '{CATALOG}.{SCHEMA}.");
    let Some(start) = message.find(&prefix) else {
        return error;
    };
    let rest = &message[start + prefix.len()..];
    let Some(name) = rest.strip_suffix("' not found") else {
        return error;
    };
    match snapshot.table(name) {
        Err(missing) => Error::Engine(missing),
        Ok(_) => error,
    }
}

/// The tables of a snapshot, as a DataFusion schema.
#[derive(Debug)]
pub struct SnapshotSchema {
    snapshot: Arc<Snapshot>,
}

impl SnapshotSchema {
    /// A schema over `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        SnapshotSchema { snapshot }
    }

    /// The snapshot behind this schema.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }
}

#[async_trait]
impl SchemaProvider for SnapshotSchema {
    fn table_names(&self) -> Vec<String> {
        self.snapshot
            .table_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.snapshot.manifest().table(name).is_none() {
            return Ok(None);
        }
        let table = ReeldbTable::new(Arc::clone(&self.snapshot), name).map_err(external)?;
        Ok(Some(Arc::new(table)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.snapshot.manifest().table(name).is_some()
    }

    fn register_table(
        &self,
        name: String,
        _table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        exec_err!(
            "cannot register '{name}' in the database schema: create tables with CREATE TABLE"
        )
    }
}
