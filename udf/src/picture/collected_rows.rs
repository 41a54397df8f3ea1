//! The rows of one picture as they arrive: each row argument converted to its [`RowKind`]
//! column, each row's `ORDER BY` values, and the state that carries them between partial
//! and final aggregation. [`CollectedRows::sorted`] puts them in `ORDER BY` order (rows that
//! compare equal keep the order they came in) for drawing.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, Float64Array, ListArray, StringArray, new_empty_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::{SortOptions, cast};
use arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::utils::compare_rows;
use datafusion::common::{Result, ScalarValue, exec_err};

use super::aggregate::{RowArg, RowKind};

/// The most bytes of images one picture collects.
pub const MAX_IMAGE_BYTES: usize = 1 << 30;

/// One row argument's values.
#[derive(Debug, Clone)]
enum Column {
    Image(Vec<Option<Vec<u8>>>),
    Number(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Column {
    fn new(kind: RowKind) -> Self {
        match kind {
            RowKind::Image => Column::Image(Vec::new()),
            RowKind::Number => Column::Number(Vec::new()),
            RowKind::Text => Column::Text(Vec::new()),
        }
    }

    fn push_nulls(&mut self, count: usize) {
        match self {
            Column::Image(values) => values.resize(values.len() + count, None),
            Column::Number(values) => values.resize(values.len() + count, None),
            Column::Text(values) => values.resize(values.len() + count, None),
        }
    }

    /// Appends `array` converted to this column's kind; returns the image bytes added.
    fn push_array(&mut self, function: &str, name: &str, array: &ArrayRef) -> Result<usize> {
        match self {
            Column::Image(values) => {
                let binary = match array.data_type() {
                    DataType::Null => {
                        values.resize(values.len() + array.len(), None);
                        return Ok(0);
                    }
                    DataType::Binary => Arc::clone(array),
                    _ => cast(array, &DataType::Binary)?,
                };
                let binary = binary.as_binary::<i32>();
                let mut bytes = 0;
                values.extend(binary.iter().map(|cell| {
                    let cell = cell.map(<[u8]>::to_vec);
                    bytes += cell.as_ref().map_or(0, Vec::len);
                    cell
                }));
                Ok(bytes)
            }
            Column::Number(values) => {
                let numbers = numbers(function, name, array)?;
                values.extend(numbers.iter());
                Ok(0)
            }
            Column::Text(values) => {
                let text = cast(array, &DataType::Utf8)?;
                values.extend(text.as_string::<i32>().iter().map(|t| t.map(str::to_owned)));
                Ok(0)
            }
        }
    }

    fn to_array(&self) -> ArrayRef {
        match self {
            Column::Image(values) => Arc::new(BinaryArray::from_iter(values.iter())),
            Column::Number(values) => Arc::new(Float64Array::from_iter(values.iter().copied())),
            Column::Text(values) => Arc::new(StringArray::from_iter(values.iter())),
        }
    }

    fn reorder(&self, order: &[usize]) -> Column {
        match self {
            Column::Image(values) => {
                Column::Image(order.iter().map(|&i| values[i].clone()).collect())
            }
            Column::Number(values) => Column::Number(order.iter().map(|&i| values[i]).collect()),
            Column::Text(values) => {
                Column::Text(order.iter().map(|&i| values[i].clone()).collect())
            }
        }
    }
}

/// `array` as numbers: numeric types as they are, timestamps as seconds since 1970, dates
/// as seconds at midnight.
fn numbers(function: &str, name: &str, array: &ArrayRef) -> Result<Float64Array> {
    let seconds_per_unit = match array.data_type() {
        DataType::Timestamp(unit, _) => Some(match unit {
            TimeUnit::Second => 1.0,
            TimeUnit::Millisecond => 1e-3,
            TimeUnit::Microsecond => 1e-6,
            TimeUnit::Nanosecond => 1e-9,
        }),
        DataType::Date32 => Some(86_400.0),
        _ => None,
    };
    let converted = match seconds_per_unit {
        Some(scale) => {
            let whole = cast(array, &DataType::Int64)?;
            let whole = whole.as_primitive::<arrow::datatypes::Int64Type>();
            Float64Array::from_iter(whole.iter().map(|v| v.map(|v| v as f64 * scale)))
        }
        None => match cast(array, &DataType::Float64) {
            Ok(array) => array.as_primitive().clone(),
            Err(_) => {
                return exec_err!(
                    "{function}(): {name} must be a number or a timestamp, not {}",
                    array.data_type()
                );
            }
        },
    };
    Ok(converted)
}

/// The rows of one picture, collected.
#[derive(Debug)]
pub struct CollectedRows {
    function: &'static str,
    specs: &'static [RowArg],
    columns: Vec<Column>,
    /// Each row's `ORDER BY` values (empty without `ORDER BY`).
    ordering: Vec<Vec<ScalarValue>>,
    sort_options: Vec<SortOptions>,
    ordering_types: Vec<DataType>,
    image_bytes: usize,
    len: usize,
}

impl CollectedRows {
    /// No rows yet, for the row arguments `specs` and `ORDER BY` values of `ordering_types`.
    pub fn new(
        function: &'static str,
        specs: &'static [RowArg],
        sort_options: Vec<SortOptions>,
        ordering_types: Vec<DataType>,
    ) -> Self {
        CollectedRows {
            function,
            specs,
            columns: specs.iter().map(|spec| Column::new(spec.kind)).collect(),
            ordering: Vec::new(),
            sort_options,
            ordering_types,
            image_bytes: 0,
            len: 0,
        }
    }

    /// How many rows are kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The heap bytes kept, roughly.
    pub fn heap_size(&self) -> usize {
        self.image_bytes + self.len * (self.columns.len() * 24 + self.ordering_types.len() * 48)
    }

    /// Appends a batch: `arguments` are the row arguments the call gives (the ones it leaves
    /// out are NULL), `ordering` the `ORDER BY` values.
    pub fn push_batch(&mut self, arguments: &[ArrayRef], ordering: &[ArrayRef]) -> Result<()> {
        let Some(rows) = arguments.first().map(|a| a.len()) else {
            return Ok(());
        };
        for (index, column) in self.columns.iter_mut().enumerate() {
            match arguments.get(index) {
                Some(array) => {
                    self.image_bytes +=
                        column.push_array(self.function, self.specs[index].name, array)?;
                }
                None => column.push_nulls(rows),
            }
        }
        self.check_image_bytes()?;
        if !self.ordering_types.is_empty() {
            for row in 0..rows {
                let values = ordering
                    .iter()
                    .map(|array| ScalarValue::try_from_array(array, row))
                    .collect::<Result<Vec<_>>>()?;
                self.ordering.push(values);
            }
        }
        self.len += rows;
        Ok(())
    }

    fn check_image_bytes(&self) -> Result<()> {
        if self.image_bytes > MAX_IMAGE_BYTES {
            return exec_err!(
                "{}(): the images given add up to more than {} MiB; draw fewer rows (LIMIT, \
                 or GROUP BY to make several pictures) or use smaller images (the thumbnail \
                 column rather than the files)",
                self.function,
                MAX_IMAGE_BYTES >> 20
            );
        }
        Ok(())
    }

    /// How many rows a state batch (from [`CollectedRows::state`]) carries.
    pub fn state_rows(states: &[ArrayRef]) -> Result<usize> {
        let Some(first) = states.first() else {
            return Ok(0);
        };
        let Some(list) = first.as_list_opt::<i32>() else {
            return exec_err!("a picture's state is a list, not {}", first.data_type());
        };
        Ok(list.offsets().last().copied().unwrap_or(0) as usize
            - list.offsets().first().copied().unwrap_or(0) as usize)
    }

    /// Appends the rows of partial results (each state row is one partial picture).
    pub fn merge_state(&mut self, states: &[ArrayRef]) -> Result<()> {
        let expected = self.columns.len() + self.ordering_types.len();
        if states.len() != expected {
            return exec_err!(
                "{}(): a partial result has {} columns, not {expected}",
                self.function,
                states.len()
            );
        }
        let lists: Vec<&ListArray> = states
            .iter()
            .map(|state| {
                state.as_list_opt::<i32>().ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal(format!(
                        "a picture's state is a list, not {}",
                        state.data_type()
                    ))
                })
            })
            .collect::<Result<_>>()?;
        for partial in 0..lists[0].len() {
            if lists[0].is_null(partial) {
                continue;
            }
            let values: Vec<ArrayRef> = lists.iter().map(|list| list.value(partial)).collect();
            let (arguments, ordering) = values.split_at(self.columns.len());
            self.push_batch(arguments, ordering)?;
        }
        Ok(())
    }

    /// The state: one list per row argument, then one per `ORDER BY` value.
    pub fn state(&self) -> Result<Vec<ScalarValue>> {
        let list = |values: ArrayRef| -> ScalarValue {
            let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
            let offsets = OffsetBuffer::from_lengths([values.len()]);
            ScalarValue::List(Arc::new(ListArray::new(field, offsets, values, None)))
        };
        let mut state: Vec<ScalarValue> = self
            .columns
            .iter()
            .map(|column| list(column.to_array()))
            .collect();
        for (index, data_type) in self.ordering_types.iter().enumerate() {
            let values = if self.ordering.is_empty() {
                new_empty_array(data_type)
            } else {
                ScalarValue::iter_to_array(self.ordering.iter().map(|row| row[index].clone()))?
            };
            state.push(list(values));
        }
        Ok(state)
    }

    /// The rows in `ORDER BY` order.
    pub fn sorted(&self) -> Result<Rows> {
        let mut order: Vec<usize> = (0..self.len).collect();
        if !self.ordering_types.is_empty() {
            let mut failure = None;
            order.sort_by(|&a, &b| {
                compare_rows(&self.ordering[a], &self.ordering[b], &self.sort_options)
                    .unwrap_or_else(|e| {
                        failure = Some(e);
                        std::cmp::Ordering::Equal
                    })
            });
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(Rows {
            columns: self.columns.iter().map(|c| c.reorder(&order)).collect(),
            len: self.len,
        })
    }
}

/// The rows a picture draws, in `ORDER BY` order, by row argument.
#[derive(Debug)]
pub struct Rows {
    columns: Vec<Column>,
    len: usize,
}

impl Rows {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The image bytes of row argument `index` (an [`RowKind::Image`] argument).
    pub fn images(&self, index: usize) -> &[Option<Vec<u8>>] {
        match &self.columns[index] {
            Column::Image(values) => values,
            _ => &[],
        }
    }

    /// The numbers of row argument `index` (a [`RowKind::Number`] argument).
    pub fn numbers(&self, index: usize) -> &[Option<f64>] {
        match &self.columns[index] {
            Column::Number(values) => values,
            _ => &[],
        }
    }

    /// The texts of row argument `index` (a [`RowKind::Text`] argument).
    pub fn texts(&self, index: usize) -> &[Option<String>] {
        match &self.columns[index] {
            Column::Text(values) => values,
            _ => &[],
        }
    }
}
