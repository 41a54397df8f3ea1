//! Vector arguments of SQL functions, in whatever form SQL hands them over.
//!
//! A vector reaches a function as a column (`FixedSizeList<Float32, D>`, the stored form), as
//! a list literal (`[0.1, 0.2]` is a `List<Float64>`), as a list computed by another
//! expression (`List`/`LargeList`/`FixedSizeList` of any numeric type), or as text
//! (`'[0.1, 0.2]'`). [`VectorArg`] reads them all as rows of `f32` slices, copying only when
//! the elements are not already `f32`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ColumnarValue;

/// Whether `data_type` can be read as a vector argument.
pub fn is_vector_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            item.data_type().is_numeric() || item.data_type().is_null()
        }
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => true,
        _ => false,
    }
}

/// Checks the type of argument `position` (counting from 1) of `function` at planning time.
pub fn check_vector_type(function: &str, position: usize, data_type: &DataType) -> Result<()> {
    if is_vector_type(data_type) {
        Ok(())
    } else {
        plan_err!(
            "{function}(): argument {position} is {data_type}, not a vector; pass a vector \
             column, a list such as [0.1, 0.2], or text such as '[0.1, 0.2]'"
        )
    }
}

/// A vector argument: one constant vector, or one vector per row.
#[derive(Debug)]
pub enum VectorArg {
    /// The same vector for every row (`None`: NULL).
    Constant(Option<Vec<f32>>),
    /// One vector per row.
    Column(VectorColumn),
}

impl VectorArg {
    /// Reads `value`, argument `position` of `function`.
    pub fn new(function: &str, position: usize, value: &ColumnarValue) -> Result<Self> {
        match value {
            ColumnarValue::Scalar(scalar) => Ok(VectorArg::Constant(constant_vector(
                function, position, scalar,
            )?)),
            ColumnarValue::Array(array) => {
                if matches!(
                    array.data_type(),
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                ) {
                    return exec_err!(
                        "{function}(): argument {position} is a text column; text vectors are \
                         read only as constants. Store vectors in a VECTOR(n) column"
                    );
                }
                Ok(VectorArg::Column(VectorColumn::new(
                    function, position, array,
                )?))
            }
        }
    }
}

/// One vector per row, as `f32`s.
#[derive(Debug)]
pub struct VectorColumn {
    values: Float32Array,
    layout: Layout,
    nulls: Option<NullBuffer>,
    len: usize,
}

#[derive(Debug)]
enum Layout {
    Fixed(usize),
    Offsets(OffsetBuffer<i32>),
    LargeOffsets(OffsetBuffer<i64>),
}

impl VectorColumn {
    /// Reads a list array of numbers.
    pub fn new(function: &str, position: usize, array: &ArrayRef) -> Result<Self> {
        let (values, layout) = match array.data_type() {
            DataType::FixedSizeList(_, dim) => {
                let list = array.as_fixed_size_list();
                (Arc::clone(list.values()), Layout::Fixed(*dim as usize))
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                (
                    Arc::clone(list.values()),
                    Layout::Offsets(list.offsets().clone()),
                )
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                (
                    Arc::clone(list.values()),
                    Layout::LargeOffsets(list.offsets().clone()),
                )
            }
            DataType::Null => (
                Arc::new(Float32Array::from(Vec::<f32>::new())) as ArrayRef,
                Layout::Fixed(0),
            ),
            other => {
                return exec_err!("{function}(): argument {position} is {other}, not a vector");
            }
        };
        let values = if values.data_type() == &DataType::Float32 {
            values.as_primitive::<Float32Type>().clone()
        } else {
            cast(&values, &DataType::Float32)?
                .as_primitive::<Float32Type>()
                .clone()
        };
        let nulls = match array.data_type() {
            DataType::Null => Some(NullBuffer::new_null(array.len())),
            _ => array.logical_nulls(),
        };
        // A FixedSizeList slice starts at its offset into the values.
        let values = match (&layout, array.data_type()) {
            (Layout::Fixed(dim), DataType::FixedSizeList(..)) => {
                values.slice(array.offset() * dim, array.len() * dim)
            }
            _ => values,
        };
        let column = VectorColumn {
            values,
            layout,
            nulls,
            len: array.len(),
        };
        column.check_elements(function, position)?;
        Ok(column)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The vector of `row`, or `None` if it is NULL.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&[f32]> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            return None;
        }
        let (start, end) = self.range(row);
        Some(&self.values.values()[start..end])
    }

    /// The dimension shared by every row, if the layout guarantees one.
    pub fn fixed_dimension(&self) -> Option<usize> {
        match self.layout {
            Layout::Fixed(dim) => Some(dim),
            _ => None,
        }
    }

    /// All values of a fixed-size column, row after row (NULL rows included).
    pub fn fixed_values(&self) -> Option<&[f32]> {
        matches!(self.layout, Layout::Fixed(_)).then(|| &self.values.values()[..])
    }

    fn range(&self, row: usize) -> (usize, usize) {
        match &self.layout {
            Layout::Fixed(dim) => (row * dim, (row + 1) * dim),
            Layout::Offsets(offsets) => (offsets[row] as usize, offsets[row + 1] as usize),
            Layout::LargeOffsets(offsets) => (offsets[row] as usize, offsets[row + 1] as usize),
        }
    }

    /// A NULL element inside a non-NULL vector has no meaning in a distance: refuse it.
    fn check_elements(&self, function: &str, position: usize) -> Result<()> {
        if self.values.null_count() == 0 {
            return Ok(());
        }
        for row in 0..self.len {
            if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            let (start, end) = self.range(row);
            if (start..end).any(|i| self.values.is_null(i)) {
                return exec_err!(
                    "{function}(): argument {position} has a vector with a NULL element (row {} \
                     of the batch); a vector must hold numbers only",
                    row + 1
                );
            }
        }
        Ok(())
    }
}

/// Reads a constant vector (argument `position` of `function`): a list scalar or text like
/// `[0.1, 0.2]`; `None` for NULL.
pub fn constant_vector(
    function: &str,
    position: usize,
    scalar: &ScalarValue,
) -> Result<Option<Vec<f32>>> {
    if scalar.is_null() {
        return Ok(None);
    }
    match scalar {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::Utf8View(Some(text))
        | ScalarValue::LargeUtf8(Some(text)) => {
            parse_vector_text(function, position, text).map(Some)
        }
        _ => {
            let array = scalar.to_array_of_size(1)?;
            let column = VectorColumn::new(function, position, &array)?;
            let Some(vector) = column.get(0) else {
                return Ok(None);
            };
            // A stored vector is always finite (the engine checks every write); a query
            // vector with NaN or infinity would give every row a NaN score or none.
            if let Some((index, value)) = vector.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return exec_err!(
                    "{function}(): argument {position}: element {index} of the vector is \
                     {value}; a vector must hold finite numbers"
                );
            }
            Ok(Some(vector.to_vec()))
        }
    }
}

/// Parses `[1, 2.5, -3e-2]` (the brackets are optional).
pub fn parse_vector_text(function: &str, position: usize, text: &str) -> Result<Vec<f32>> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(inner);
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .enumerate()
        .map(|(index, part)| {
            part.trim()
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    datafusion::common::DataFusionError::Execution(format!(
                        "{function}(): argument {position}: element {index} of the vector text is \
                     '{}', not a finite number; write vectors as '[0.1, 0.2, ...]'",
                        part.trim()
                    ))
                })
        })
        .collect()
}
