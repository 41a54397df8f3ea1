//! Arguments the model functions share: model names, images, texts, and the vector fields
//! that name their model.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::ColumnarValue;
use reeldb_engine::vector::{MODEL_METADATA_KEY, vector_item_field, vector_type};

use crate::model::image_input::ImageSource;

/// The constant text of argument `position` (from 1) of `function`, at planning time.
pub fn constant_text<'a>(
    function: &str,
    position: usize,
    what: &str,
    scalar: Option<&'a ScalarValue>,
) -> Result<&'a str> {
    match scalar {
        Some(
            ScalarValue::Utf8(Some(text))
            | ScalarValue::Utf8View(Some(text))
            | ScalarValue::LargeUtf8(Some(text)),
        ) => Ok(text),
        _ => plan_err!("{function}(): argument {position} is {what}, and must be a constant text"),
    }
}

/// The same, from an evaluated argument.
pub fn constant_text_value<'a>(
    function: &str,
    position: usize,
    what: &str,
    value: &'a ColumnarValue,
) -> Result<&'a str> {
    match value {
        ColumnarValue::Scalar(scalar) => constant_text(function, position, what, Some(scalar)),
        ColumnarValue::Array(_) => {
            exec_err!("{function}(): argument {position} is {what}, and must be a constant text")
        }
    }
}

/// Whether `data_type` can hold images: paths (text) or encoded bytes.
pub fn is_image_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::Utf8View
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::Null
    )
}

/// Whether `data_type` can hold texts.
pub fn is_text_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    )
}

/// The images of an array of paths or bytes, `None` for NULL.
pub fn image_sources(array: &ArrayRef) -> Result<Vec<Option<ImageSource<'_>>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|p| p.map(ImageSource::Path))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|p| p.map(ImageSource::Path))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|p| p.map(ImageSource::Path))
            .collect(),
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|b| b.map(ImageSource::Bytes))
            .collect(),
        DataType::LargeBinary => array
            .as_binary::<i64>()
            .iter()
            .map(|b| b.map(ImageSource::Bytes))
            .collect(),
        DataType::BinaryView => array
            .as_binary_view()
            .iter()
            .map(|b| b.map(ImageSource::Bytes))
            .collect(),
        DataType::Null => vec![None; array.len()],
        other => return exec_err!("an image is a path (text) or bytes, not {other}"),
    })
}

/// The texts of an array, `None` for NULL.
pub fn texts(array: &ArrayRef) -> Result<Vec<Option<&str>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Null => vec![None; array.len()],
        other => return exec_err!("expected text, got {other}"),
    })
}

/// The result field of a function that makes vectors of `model`: a vector column whose
/// metadata names the model, so that a table created from it records the model.
pub fn model_vector_field(name: &str, model: &str, dim: usize) -> FieldRef {
    let metadata = HashMap::from([(MODEL_METADATA_KEY.to_string(), model.to_string())]);
    Arc::new(Field::new(name, vector_type(dim as i32), true).with_metadata(metadata))
}

/// The model a vector argument's field names, if any.
pub fn field_model(field: &Field) -> Option<&str> {
    field.metadata().get(MODEL_METADATA_KEY).map(String::as_str)
}

/// A vector column from `rows` optional vectors of `dim` values each.
pub fn vector_array(dim: usize, rows: &[Option<&[f32]>]) -> Result<FixedSizeListArray> {
    let mut values = Vec::with_capacity(rows.len() * dim);
    for row in rows {
        match row {
            Some(vector) => values.extend_from_slice(vector),
            None => values.extend(std::iter::repeat_n(0.0, dim)),
        }
    }
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(FixedSizeListArray::try_new(
        Arc::new(vector_item_field()),
        dim as i32,
        Arc::new(Float32Array::from(values)),
        (nulls.null_count() > 0).then_some(nulls),
    )?)
}

/// One vector (or NULL) as a scalar of the vector type.
pub fn vector_scalar(dim: usize, vector: Option<&[f32]>) -> Result<ScalarValue> {
    Ok(ScalarValue::FixedSizeList(Arc::new(vector_array(
        dim,
        &[vector],
    )?)))
}

/// The result of a function computed on an array or a scalar argument.
pub fn vectors_result(dim: usize, scalar: bool, rows: &[Option<&[f32]>]) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(vector_scalar(
            dim,
            rows.first().copied().flatten(),
        )?))
    } else {
        Ok(ColumnarValue::Array(Arc::new(vector_array(dim, rows)?)))
    }
}

/// The array of an argument (a scalar becomes one row) and whether it was a scalar.
pub fn as_array(value: &ColumnarValue) -> Result<(ArrayRef, bool)> {
    match value {
        ColumnarValue::Array(array) => Ok((Arc::clone(array), false)),
        ColumnarValue::Scalar(scalar) => Ok((scalar.to_array_of_size(1)?, true)),
    }
}
