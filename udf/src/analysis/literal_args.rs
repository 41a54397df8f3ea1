//! The constant arguments of a window or aggregate function call, read at execution start.

use std::sync::Arc;

use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;

/// The values of `exprs[from..]`, each of which must be a constant (a literal, after
/// DataFusion's constant folding).
pub fn literal_args(
    function: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    from: usize,
) -> Result<Vec<ScalarValue>> {
    exprs
        .iter()
        .enumerate()
        .skip(from)
        .map(|(index, expr)| match expr.downcast_ref::<Literal>() {
            Some(literal) => Ok(literal.value().clone()),
            None => plan_err!(
                "{function}(): argument {} must be a constant (such as 'hdbscan', 5 or \
                 'metric=cosine'), not a column or an expression over rows",
                index + 1
            ),
        })
        .collect()
}

/// The first of `args` (the call's second argument) as text: the method's name.
pub fn method_arg(function: &str, args: &[ScalarValue], methods: &str) -> Result<String> {
    match args.first() {
        Some(
            ScalarValue::Utf8(Some(text))
            | ScalarValue::Utf8View(Some(text))
            | ScalarValue::LargeUtf8(Some(text)),
        ) => Ok(text.clone()),
        _ => plan_err!("{function}(): argument 2 must be the method as text: {methods}"),
    }
}
