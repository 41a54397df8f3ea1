//! What the vector arithmetic functions share (`vector_add()`, `vector_sub()`,
//! `vector_scale()`, `vector_concat()`, `normalize()` and the `vector_mean()` aggregate): the
//! type of their result, the model it names, and the building of result vectors.
//!
//! # Result type
//! A result is the stored vector type, `FixedSizeList<Float32, D>` (a `VECTOR(D)` column once
//! written by `CREATE TABLE AS`), whenever `D` follows from the argument *types*: a vector
//! column, or a function of vector columns. A list literal (`[0.1, 0.2]`), a text vector
//! (`'[0.1, 0.2]'`) or any other list has no dimension in its type, and the result is then a
//! `List<Float32>`, which `::VECTOR(n)` casts to the stored form. The type never depends on
//! argument values: DataFusion folds constants after planning, and the folded plan must keep
//! the planned types.
//!
//! Arithmetic is in `f32`, as the vectors are stored; an overflow gives infinity, as `f32`
//! does (and the engine refuses to store a non-finite vector, naming the row).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeListArray, Float32Array, ListArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use reeldb_engine::vector::{MODEL_METADATA_KEY, vector_item_field, vector_type};

use crate::scalar::model_args::field_model;
use crate::vector_arg::{VectorArg, check_vector_type};

/// The dimension that a vector argument's type fixes: `D` of `FixedSizeList<_, D>`.
pub fn type_dimension(data_type: &DataType) -> Option<i32> {
    match data_type {
        DataType::FixedSizeList(_, dim) => Some(*dim),
        _ => None,
    }
}

/// The type of a vector result: the stored vector type when the dimension is known at
/// planning time, else a list of `f32`.
pub fn result_type(dim: Option<i32>) -> DataType {
    match dim {
        Some(dim) => vector_type(dim),
        None => DataType::List(Arc::new(vector_item_field())),
    }
}

/// The field of a vector result named `name`, naming `model` when there is one.
pub fn result_field(name: &str, dim: Option<i32>, model: Option<&str>) -> FieldRef {
    let field = Field::new(name, result_type(dim), true);
    Arc::new(match model {
        Some(model) => field.with_metadata(HashMap::from([(
            MODEL_METADATA_KEY.to_string(),
            model.to_string(),
        )])),
        None => field,
    })
}

/// The model of a result computed from `fields` in their model's space: the model they
/// name, when those that name one all name the same; `None` otherwise.
pub fn common_model<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Option<&'a str> {
    let mut model = None;
    for field in fields {
        match (model, field_model(field)) {
            (_, None) => {}
            (None, Some(named)) => model = Some(named),
            (Some(known), Some(named)) if known == named => {}
            (Some(_), Some(_)) => return None,
        }
    }
    model
}

/// The dimension shared by two vector argument types at planning time (either may be
/// unknown); an error when both are known and differ.
pub fn shared_dimension(function: &str, a: &DataType, b: &DataType) -> Result<Option<i32>> {
    match (type_dimension(a), type_dimension(b)) {
        (Some(x), Some(y)) if x != y => plan_err!(
            "{function}(): the vectors have dimensions {x} and {y}; both must have the same \
             dimension (vector_concat() joins vectors of different dimensions)"
        ),
        (Some(x), _) | (_, Some(x)) => Ok(Some(x)),
        (None, None) => Ok(None),
    }
}

/// Checks at run time that two vectors have the same dimension.
pub fn check_same_dimension(function: &str, a: usize, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        exec_err!(
            "{function}(): the vectors have dimensions {a} and {b}; both must have the same \
             dimension (vector_concat() joins vectors of different dimensions)"
        )
    }
}

/// The vector of `row` of `arg` (a constant is the same for every row); `None` for NULL.
#[inline]
pub fn vector_at(arg: &VectorArg, row: usize) -> Option<&[f32]> {
    match arg {
        VectorArg::Constant(vector) => vector.as_deref(),
        VectorArg::Column(column) => column.get(row),
    }
}

/// Builds the result of a vector function in the type it was planned with
/// (`FixedSizeList<Float32, D>` or `List<Float32>`): append a row's values to
/// [`VectorBuilder::values`] and call [`VectorBuilder::end_row`], or call
/// [`VectorBuilder::push_null`].
#[derive(Debug)]
pub struct VectorBuilder {
    function: &'static str,
    dim: Option<usize>,
    values: Vec<f32>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl VectorBuilder {
    /// A builder of `rows` rows of `return_type`, for `function`.
    pub fn new(function: &'static str, return_type: &DataType, rows: usize) -> Result<Self> {
        let dim = match return_type {
            DataType::FixedSizeList(_, dim) => Some(*dim as usize),
            DataType::List(_) => None,
            other => return internal_err!("{function}(): planned to return {other}"),
        };
        let mut offsets = Vec::with_capacity(if dim.is_none() { rows + 1 } else { 0 });
        if dim.is_none() {
            offsets.push(0);
        }
        Ok(VectorBuilder {
            function,
            dim,
            values: Vec::with_capacity(rows * dim.unwrap_or(0)),
            offsets,
            valid: Vec::with_capacity(rows),
        })
    }

    /// The values written so far, to append the next row's to.
    #[inline]
    pub fn values(&mut self) -> &mut Vec<f32> {
        &mut self.values
    }

    /// Ends a row whose values were appended to [`VectorBuilder::values`].
    pub fn end_row(&mut self) -> Result<()> {
        let start = self.row_start();
        let len = self.values.len() - start;
        match self.dim {
            Some(dim) if len != dim => {
                return exec_err!(
                    "{}(): a result vector has {len} values, but the result type is VECTOR({dim})",
                    self.function
                );
            }
            Some(_) => {}
            None => self.offsets.push(self.offset(self.values.len())?),
        }
        self.valid.push(true);
        Ok(())
    }

    /// Appends a NULL row (dropping any values appended for it).
    pub fn push_null(&mut self) -> Result<()> {
        let start = self.row_start();
        self.values.truncate(start);
        match self.dim {
            Some(dim) => self.values.resize(start + dim, 0.0),
            None => self.offsets.push(self.offset(start)?),
        }
        self.valid.push(false);
        Ok(())
    }

    /// The array of the rows, or their only row as a scalar when `scalar`.
    pub fn finish(self, scalar: bool) -> Result<ColumnarValue> {
        let array = self.finish_array()?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                array.as_ref(),
                0,
            )?))
        } else {
            Ok(ColumnarValue::Array(array))
        }
    }

    /// The array of the rows.
    pub fn finish_array(self) -> Result<ArrayRef> {
        let nulls = NullBuffer::from(self.valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let values = Arc::new(Float32Array::from(self.values));
        let item = Arc::new(vector_item_field());
        Ok(match self.dim {
            Some(dim) => Arc::new(FixedSizeListArray::try_new(
                item, dim as i32, values, nulls,
            )?),
            None => Arc::new(ListArray::try_new(
                item,
                OffsetBuffer::new(self.offsets.into()),
                values,
                nulls,
            )?),
        })
    }

    fn row_start(&self) -> usize {
        match self.dim {
            Some(dim) => self.valid.len() * dim,
            None => self.offsets.last().copied().unwrap_or(0) as usize,
        }
    }

    fn offset(&self, end: usize) -> Result<i32> {
        match i32::try_from(end) {
            Ok(end) => Ok(end),
            Err(_) => exec_err!(
                "{}(): the batch's result vectors hold more than {} values; use smaller batches",
                self.function,
                i32::MAX
            ),
        }
    }
}

/// The vector arguments of a call, read with [`VectorArg`], and whether every one of them is
/// a constant (then the result is a constant too).
pub fn vector_args(function: &str, args: &[ColumnarValue]) -> Result<(Vec<VectorArg>, bool)> {
    let vectors = args
        .iter()
        .enumerate()
        .map(|(i, value)| VectorArg::new(function, i + 1, value))
        .collect::<Result<Vec<_>>>()?;
    let constant = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    Ok((vectors, constant))
}

/// An element-wise operation on two vectors of one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Elementwise {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
}

impl Elementwise {
    /// The SQL function name.
    pub fn function_name(self) -> &'static str {
        match self {
            Elementwise::Add => "vector_add",
            Elementwise::Sub => "vector_sub",
        }
    }

    /// Appends `a op b` to `out`; `a` and `b` have the same length.
    #[inline]
    fn apply(self, a: &[f32], b: &[f32], out: &mut Vec<f32>) {
        match self {
            Elementwise::Add => out.extend(a.iter().zip(b).map(|(x, y)| x + y)),
            Elementwise::Sub => out.extend(a.iter().zip(b).map(|(x, y)| x - y)),
        }
    }
}

/// `vector_add(a, b)` or `vector_sub(a, b)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ElementwiseFunc {
    op: Elementwise,
    signature: Signature,
    documentation: &'static Documentation,
}

impl ElementwiseFunc {
    /// The function computing `op`, documented by `documentation`.
    pub fn new(op: Elementwise, documentation: &'static Documentation) -> Self {
        ElementwiseFunc {
            op,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation,
        }
    }
}

impl ScalarUDFImpl for ElementwiseFunc {
    fn name(&self) -> &str {
        self.op.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        if arg_types.len() != 2 {
            return plan_err!(
                "{name}() takes two vectors of one dimension, as in {name}(a, b); it was given \
                 {} arguments",
                arg_types.len()
            );
        }
        check_vector_type(name, 1, &arg_types[0])?;
        check_vector_type(name, 2, &arg_types[1])?;
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [a, b] = arg_types else {
            return plan_err!("{}() takes two vectors", self.name());
        };
        Ok(result_type(shared_dimension(self.name(), a, b)?))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let [a, b] = args.arg_fields else {
            return plan_err!("{}() takes two vectors", self.name());
        };
        let dim = shared_dimension(self.name(), a.data_type(), b.data_type())?;
        let model = common_model([a.as_ref(), b.as_ref()]);
        Ok(result_field(self.name(), dim, model))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.op.function_name();
        let (vectors, constant) = vector_args(name, &args.args)?;
        let [a, b] = vectors.as_slice() else {
            return internal_err!("{name}() was called with {} arguments", vectors.len());
        };
        let rows = if constant { 1 } else { args.number_rows };
        let mut out = VectorBuilder::new(name, args.return_field.data_type(), rows)?;
        for row in 0..rows {
            match (vector_at(a, row), vector_at(b, row)) {
                (Some(x), Some(y)) => {
                    check_same_dimension(name, x.len(), y.len())?;
                    self.op.apply(x, y, out.values());
                    out.end_row()?;
                }
                _ => out.push_null()?,
            }
        }
        out.finish(constant)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.documentation)
    }
}

/// Helpers for the functions' unit tests: call a function as DataFusion would, and read its
/// result.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use arrow::datatypes::{Field, FieldRef};
    use datafusion::common::config::ConfigOptions;
    use datafusion::common::{Result, ScalarValue};
    use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF};

    use crate::scalar::model_args::vector_array;
    use crate::vector_arg::VectorArg;

    /// Calls `udf` on `args` over `rows` rows; the result and its planned type.
    pub(crate) fn call(
        udf: &ScalarUDF,
        args: Vec<ColumnarValue>,
        rows: usize,
    ) -> Result<(ColumnarValue, FieldRef)> {
        let arg_fields: Vec<FieldRef> = args
            .iter()
            .enumerate()
            .map(|(i, a)| Arc::new(Field::new(format!("a{i}"), a.data_type(), true)))
            .collect();
        let scalars: Vec<Option<&ScalarValue>> = args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s),
                ColumnarValue::Array(_) => None,
            })
            .collect();
        let return_field = udf.return_field_from_args(ReturnFieldArgs {
            arg_fields: &arg_fields,
            scalar_arguments: &scalars,
        })?;
        let result = udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: rows,
            return_field: Arc::clone(&return_field),
            config_options: Arc::new(ConfigOptions::default()),
        })?;
        Ok((result, return_field))
    }

    /// A `VECTOR(dim)` column of `rows`.
    pub(crate) fn column(dim: usize, rows: &[Option<&[f32]>]) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(vector_array(dim, rows).expect("a vector column")))
    }

    /// A list literal, as `[1.0, 2.0]` is planned (a `List<Float64>` scalar).
    pub(crate) fn literal(values: &[f64]) -> ColumnarValue {
        let values: Vec<ScalarValue> = values
            .iter()
            .map(|v| ScalarValue::Float64(Some(*v)))
            .collect();
        ColumnarValue::Scalar(ScalarValue::List(ScalarValue::new_list_nullable(
            &values,
            &arrow::datatypes::DataType::Float64,
        )))
    }

    /// The rows of a vector result (a scalar is one row).
    pub(crate) fn rows(value: &ColumnarValue) -> Vec<Option<Vec<f32>>> {
        match VectorArg::new("test", 1, value).expect("a vector result") {
            VectorArg::Constant(vector) => vec![vector],
            VectorArg::Column(column) => (0..column.len())
                .map(|row| column.get(row).map(<[f32]>::to_vec))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Float32Type;

    #[test]
    fn a_fixed_builder_pads_null_rows_and_checks_lengths() {
        let mut out = VectorBuilder::new("f", &vector_type(2), 3).unwrap();
        out.values().extend([1.0, 2.0]);
        out.end_row().unwrap();
        out.values().push(9.0); // dropped by the NULL
        out.push_null().unwrap();
        out.values().extend([3.0, 4.0]);
        out.end_row().unwrap();
        let array = out.finish_array().unwrap();
        let list = array.as_fixed_size_list();
        assert_eq!(list.len(), 3);
        assert!(list.is_null(1));
        let values = list.values().as_primitive::<Float32Type>();
        assert_eq!(values.values(), &[1.0, 2.0, 0.0, 0.0, 3.0, 4.0]);

        let mut out = VectorBuilder::new("f", &vector_type(2), 1).unwrap();
        out.values().push(1.0);
        let err = out.end_row().unwrap_err().to_string();
        assert!(
            err.contains("has 1 values, but the result type is VECTOR(2)"),
            "{err}"
        );
    }

    #[test]
    fn a_list_builder_keeps_each_rows_length() {
        let mut out = VectorBuilder::new("f", &result_type(None), 3).unwrap();
        out.values().extend([1.0, 2.0, 3.0]);
        out.end_row().unwrap();
        out.push_null().unwrap();
        out.values().push(4.0);
        out.end_row().unwrap();
        let array = out.finish_array().unwrap();
        let list = array.as_list::<i32>();
        assert_eq!(list.value_offsets(), &[0, 3, 3, 4]);
        assert!(list.is_null(1));
    }

    #[test]
    fn known_dimensions_must_agree_at_planning() {
        let err = shared_dimension("vector_add", &vector_type(3), &vector_type(2))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector_add(): the vectors have dimensions 3 and 2"),
            "{err}"
        );
        let list = result_type(None);
        assert_eq!(
            shared_dimension("f", &list, &vector_type(4)).unwrap(),
            Some(4)
        );
        assert_eq!(shared_dimension("f", &list, &DataType::Utf8).unwrap(), None);
    }

    #[test]
    fn the_model_is_kept_only_when_the_arguments_agree() {
        let named = |model: &str| {
            Field::new("v", vector_type(2), true).with_metadata(HashMap::from([(
                MODEL_METADATA_KEY.to_string(),
                model.to_string(),
            )]))
        };
        let plain = Field::new("c", result_type(None), true);
        let (clip, clip2, other) = (named("clip"), named("clip"), named("other"));
        assert_eq!(common_model([&clip, &plain]), Some("clip"));
        assert_eq!(common_model([&clip, &clip2]), Some("clip"));
        assert_eq!(common_model([&clip, &other]), None);
        assert_eq!(common_model([&plain]), None);
    }
}
