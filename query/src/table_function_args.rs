//! Reading the arguments of reeldb's table functions (`knn()`, `choose_k()`,
//! `cluster_similarity()`).
//!
//! DataFusion hands a table function its arguments as unplanned expressions. Every argument
//! is a constant, evaluated once when the call is planned; the one exception is `knn()`'s
//! query vector, which may be a scalar subquery. Errors name the function and the argument's
//! 1-based position, and end with the function's usage line.

use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Schema};
use datafusion::catalog::{Session, TableFunctionArgs};
use datafusion::common::{DFSchema, DataFusionError, Result, ScalarValue, plan_err};
use datafusion::logical_expr::{ColumnarValue, Expr};
use reeldb_udf::analysis::params::{ParamSpec, Params};

/// The arguments of one table-function call, with what its errors name.
pub(crate) struct TableArgs<'a> {
    /// The function's SQL name (`knn`).
    function: &'static str,
    /// Its usage line, shown after an error.
    usage: &'static str,
    exprs: &'a [Expr],
    session: &'a dyn Session,
}

impl<'a> TableArgs<'a> {
    /// The arguments of `call` to `function`, whose errors end with `usage`.
    pub fn new(
        function: &'static str,
        usage: &'static str,
        call: &TableFunctionArgs<'a, 'a>,
    ) -> Self {
        TableArgs {
            function,
            usage,
            exprs: call.exprs(),
            session: call.session(),
        }
    }

    /// The arguments as given.
    pub fn exprs(&self) -> &'a [Expr] {
        self.exprs
    }

    /// The session the call is planned in.
    pub fn session(&self) -> &'a dyn Session {
        self.session
    }

    /// Fails unless there are at least `min` arguments.
    pub fn expect_at_least(&self, min: usize) -> Result<()> {
        if self.exprs.len() < min {
            return plan_err!(
                "{}() takes at least {min} arguments; {}",
                self.function,
                self.usage
            );
        }
        Ok(())
    }

    /// Fails unless there are `min` to `max` arguments.
    pub fn expect_between(&self, min: usize, max: usize) -> Result<()> {
        if !(min..=max).contains(&self.exprs.len()) {
            return plan_err!(
                "{}() takes {min} to {max} arguments, not {}; {}",
                self.function,
                self.exprs.len(),
                self.usage
            );
        }
        Ok(())
    }

    /// Argument `position` (0-based) as text; `what` names it in the error. It must be a text
    /// literal: names of tables and columns are not evaluated.
    pub fn text(&self, position: usize, what: &str) -> Result<String> {
        match self.exprs.get(position) {
            Some(Expr::Literal(
                ScalarValue::Utf8(Some(text))
                | ScalarValue::Utf8View(Some(text))
                | ScalarValue::LargeUtf8(Some(text)),
                _,
            )) => Ok(text.clone()),
            _ => plan_err!(
                "{}(): argument {} must be the {what} as text; {}",
                self.function,
                position + 1,
                self.usage
            ),
        }
    }

    /// Argument `position` (0-based), a constant whole number above 0; `what` names it in
    /// the error.
    pub fn whole_number(&self, position: usize, what: &str) -> Result<usize> {
        let value = self
            .exprs
            .get(position)
            .map(|expr| self.constant(expr))
            .transpose()?;
        match value
            .as_ref()
            .and_then(|v| v.cast_to(&DataType::Int64).ok())
        {
            Some(ScalarValue::Int64(Some(n))) if n > 0 => Ok(n as usize),
            _ => plan_err!(
                "{}(): argument {} ({what}) must be a whole number above 0; {}",
                self.function,
                position + 1,
                self.usage
            ),
        }
    }

    /// The arguments from `from` (0-based) on as constants, `'name=value'` texts included.
    pub fn constants_from(&self, from: usize) -> Result<Vec<ScalarValue>> {
        self.exprs
            .iter()
            .enumerate()
            .skip(from)
            .map(|(index, expr)| {
                self.constant(expr).map_err(|e| {
                    DataFusionError::Plan(format!(
                        "{}(): argument {} must be a constant: {e}",
                        self.function,
                        index + 1
                    ))
                })
            })
            .collect()
    }

    /// The arguments from `from` (0-based) on as the parameters `specs`, by position and then
    /// by name; `context` names the call in errors (`"choose_k('frames', 'clip', ...)"`).
    pub fn params(&self, context: &str, specs: &[ParamSpec], from: usize) -> Result<Params> {
        Params::parse(context, specs, &self.constants_from(from)?)
    }

    /// Evaluates `expr`, which must not read a column, to its value.
    pub fn constant(&self, expr: &Expr) -> Result<ScalarValue> {
        if let Expr::Literal(value, _) = expr {
            return Ok(value.clone());
        }
        let physical = self
            .session
            .create_physical_expr(expr.clone(), &DFSchema::empty())?;
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        match physical.evaluate(&batch)? {
            ColumnarValue::Scalar(value) => Ok(value),
            ColumnarValue::Array(array) => ScalarValue::try_from_array(&array, 0),
        }
    }
}
