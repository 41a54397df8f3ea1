//! Leaving vector conversion of written rows to the engine.
//!
//! DataFusion casts inserted values to the column types; for a vector column that is a cast
//! from a list to `FixedSizeList`, whose failure would name neither the column nor the row.
//! The engine converts and checks vectors itself (see `reeldb_engine::conform_batch`), so
//! those casts are removed from the top projection of an INSERT or UPDATE and from a VALUES
//! list right below it. Casts the user wrote deeper in a query are left alone.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Projection, Values};

/// `plan` without the casts to vector types in its top projection or VALUES list.
pub(crate) fn strip_vector_casts(plan: LogicalPlan) -> LogicalPlan {
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
fn strip_values(values: &Values) -> Option<LogicalPlan> {
    let rows: Vec<Vec<Expr>> = values
        .values
        .iter()
        .map(|row| row.iter().map(strip_cast).collect())
        .collect();
    if rows == values.values {
        return None;
    }
    LogicalPlanBuilder::values(rows)
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
