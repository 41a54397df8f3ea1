//! Table functions over graphs of identities: `face_cooccurrence()` (who appears with whom
//! across a video's frames, from a labelled faces table) and `pagerank()` (the rank of each
//! node of any edge table). The maths is in `reeldb_linalg::graph`; these read a table of the
//! statement's snapshot and compute their rows when the result is read.

pub mod face_cooccurrence;
pub mod pagerank;

pub use face_cooccurrence::FaceCooccurrenceFunction;
pub use pagerank::PageRankFunction;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use datafusion::catalog::{MemoryCatalogProvider, TableProvider};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::prelude::SessionContext;

use crate::catalog::bound_snapshot;
use crate::table::ReeldbTable;

/// `table` in the statement's snapshot; `function` names the call in errors.
fn resolve_table(
    function: &str,
    catalog: &MemoryCatalogProvider,
    table: &str,
) -> Result<Arc<ReeldbTable>> {
    ReeldbTable::new(bound_snapshot(catalog)?, table)
        .map(Arc::new)
        .map_err(|e| DataFusionError::Plan(format!("{function}(): {e}")))
}

/// The type of `column` of `table`; the error names `what` the column is for and lists the
/// table's columns.
fn column_type(function: &str, table: &ReeldbTable, column: &str, what: &str) -> Result<DataType> {
    let schema = table.schema();
    match schema.field_with_name(column) {
        Ok(field) => Ok(field.data_type().clone()),
        Err(_) => {
            let columns = schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ");
            plan_err!(
                "{function}(): table '{}' has no column '{column}' ({what}); its columns are \
                 {columns}",
                table.name()
            )
        }
    }
}

/// Whether values of `data_type` are text.
fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The `columns` of `table`, in that order, as batches.
async fn read_columns(table: &Arc<ReeldbTable>, columns: &[&str]) -> Result<Vec<RecordBatch>> {
    let ctx = SessionContext::new();
    ctx.register_table("t", Arc::clone(table) as Arc<dyn TableProvider>)?;
    ctx.table("t")
        .await?
        .select_columns(columns)?
        .collect()
        .await
}
