//! `CREATE TABLE` and `CREATE TABLE ... AS SELECT`, as DataFusion plans them, in the write
//! transaction the session began on the planned version.

use arrow::datatypes::{Field, Schema};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{CreateMemoryTable, LogicalPlan};
use reeldb_engine::WriteTransaction;

use super::{StatementContext, check_table_reference, empty_stream};
use crate::append::append_stream;
use crate::error::{Error, Result};

/// Refuses, before the writer lock is taken, the parts of CREATE TABLE that reeldb would
/// otherwise ignore.
pub(crate) fn check(create: &CreateMemoryTable) -> Result<()> {
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

/// Creates the table in `txn` (replacing it for `OR REPLACE`, nothing for `IF NOT EXISTS` when
/// it exists), writes the rows of `AS SELECT`, and commits.
pub(crate) async fn execute(
    cx: &StatementContext<'_>,
    mut txn: WriteTransaction,
    create: CreateMemoryTable,
) -> Result<SendableRecordBatchStream> {
    let name = create.name.table().to_string();
    if txn.manifest().table(&name).is_some() {
        if create.if_not_exists {
            return Ok(empty_stream());
        }
        if create.or_replace {
            txn.drop_table(&name)?;
        }
    }
    let mut schema = create.input.schema().as_arrow().clone();
    if !matches!(create.input.as_ref(), LogicalPlan::EmptyRelation(_)) {
        // CREATE TABLE AS: columns admit NULL, as in PostgreSQL and DuckDB, even when the
        // query's values happen to have none.
        schema = nullable(&schema);
    }
    txn.create_table(&name, &schema)?;
    let stream = cx.stream_plan(create.input.as_ref().clone()).await?;
    let (txn, _) = append_stream(txn, &name, stream).await?;
    txn.commit()?;
    Ok(empty_stream())
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
