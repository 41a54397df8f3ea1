//! `INSERT`, `INSERT OVERWRITE`, `TRUNCATE`, `DELETE` and `UPDATE`, as DataFusion plans them,
//! carried out in the write transaction the session began on the planned version.
//!
//! INSERT streams the planned rows into the table. DELETE and UPDATE rewrite every data file
//! that holds a matching row: the file is replaced by one with the rows that do not match
//! (and, for UPDATE, the updated rows), all in one commit (`docs/deletes.md`).

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::provider_as_source;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DmlStatement, Expr, Filter, LogicalPlan, Projection, WriteOp};
use reeldb_engine::WriteTransaction;

use super::model::record_inserted_models;
use super::vector_casts::strip_vector_casts;
use super::{StatementContext, check_table_reference, count_stream};
use crate::append::append_stream;
use crate::error::{Error, Result};
use crate::table::ReeldbTable;

/// What is checked before the writer lock is taken.
pub(crate) fn check(dml: &DmlStatement) -> Result<()> {
    check_table_reference(&dml.table_name)
}

/// Carries out `dml` in `txn` and commits; the result is the `count` of rows written or
/// changed.
pub(crate) async fn execute(
    cx: &StatementContext<'_>,
    mut txn: WriteTransaction,
    dml: DmlStatement,
) -> Result<SendableRecordBatchStream> {
    let table = dml.table_name.table().to_string();
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
            let stream = cx.stream_plan(input).await?;
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
        WriteOp::Delete | WriteOp::Update => rewrite_matching(cx, txn, &table, &dml).await?,
        _ => {
            return Err(Error::Unsupported {
                what: dml.op.name().to_string(),
                hint: "use CREATE TABLE ... AS SELECT, INSERT, UPDATE and DELETE".into(),
            });
        }
    };
    Ok(count_stream(rows))
}

/// DELETE and UPDATE: every data file with a matching row is replaced by a file with the
/// rows that do not match (and, for UPDATE, the updated rows), in one commit.
async fn rewrite_matching(
    cx: &StatementContext<'_>,
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
            what: "a volatile function (such as random()) in the WHERE of DELETE or UPDATE".into(),
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
                cx.count_rows(plan).await?
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
            let updated =
                LogicalPlan::Projection(Projection::try_new(exprs.clone(), Arc::new(matching))?);
            let stream = cx.stream_plan(strip_vector_casts(updated)).await?;
            txn = append_stream(txn, table, stream).await?.0;
        }
        if let Some(p) = &predicate {
            let kept = LogicalPlan::Filter(Filter::try_new(
                p.clone().is_not_true(),
                Arc::new(source.clone()),
            )?);
            let stream = cx.stream_plan(kept).await?;
            txn = append_stream(txn, table, stream).await?.0;
        }
        txn.remove_file(table, &file.path)?;
        changed += matched;
    }
    txn.commit()?;
    Ok(changed)
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
    table: &TableReference,
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
