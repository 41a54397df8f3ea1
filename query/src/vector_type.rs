//! The `VECTOR(n)` column type: SQL sugar for `FLOAT[n]`, a `FixedSizeList<Float32, n>`.

use std::sync::Arc;

use arrow::datatypes::{Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast;
use reeldb_engine::vector::{MAX_VECTOR_DIMENSION, vector_type};

/// Plans `VECTOR(n)` in column definitions and casts.
#[derive(Debug, Default)]
pub struct VectorTypePlanner;

impl TypePlanner for VectorTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> Result<Option<FieldRef>> {
        let ast::DataType::Custom(name, modifiers) = sql_type else {
            return Ok(None);
        };
        if !name.to_string().eq_ignore_ascii_case("vector") {
            return Ok(None);
        }
        let dimension = match modifiers.as_slice() {
            [n] => n.parse::<i64>().ok().filter(|n| *n > 0),
            _ => None,
        };
        if let Some(dim) = dimension
            && dim > MAX_VECTOR_DIMENSION as i64
        {
            return plan_err!(
                "VECTOR({dim}) has too many dimensions: a vector may have at most \
                 {MAX_VECTOR_DIMENSION}"
            );
        }
        match dimension.and_then(|dim| i32::try_from(dim).ok()) {
            Some(dim) => Ok(Some(Arc::new(Field::new("item", vector_type(dim), true)))),
            None => plan_err!(
                "VECTOR needs one positive dimension, as in VECTOR(512); got VECTOR({})",
                modifiers.join(", ")
            ),
        }
    }
}
