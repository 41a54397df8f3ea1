//! `DROP TABLE [IF EXISTS]`, as DataFusion plans it, in the write transaction the session
//! began on the planned version.

use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::DropTable;
use reeldb_engine::WriteTransaction;

use super::{check_table_reference, empty_stream};
use crate::error::Result;

/// What is checked before the writer lock is taken.
pub(crate) fn check(drop: &DropTable) -> Result<()> {
    check_table_reference(&drop.name)
}

/// Drops the table in `txn` and commits; nothing for a missing table with `IF EXISTS`.
pub(crate) fn execute(
    mut txn: WriteTransaction,
    drop: &DropTable,
) -> Result<SendableRecordBatchStream> {
    let name = drop.name.table();
    if txn.manifest().table(name).is_none() && drop.if_exists {
        return Ok(empty_stream());
    }
    txn.drop_table(name)?;
    txn.commit()?;
    Ok(empty_stream())
}
