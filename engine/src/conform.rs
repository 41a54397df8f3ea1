//! Making written data fit a table: column count, types, NULLs and vectors.
//!
//! Every batch a transaction appends passes through [`conform_batch`], whatever its source (SQL
//! `INSERT`, `COPY FROM` a file, a Rust caller). It returns a batch whose schema is exactly the
//! table's, or an error that names the column and the row.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, GenericListArray, OffsetSizeTrait,
    RecordBatch, RecordBatchOptions,
};
use arrow::buffer::NullBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Float32Type, SchemaRef};

use crate::error::{Error, Result};
use crate::vector::{check_finite, vector_dimension, vector_item_field};

/// Converts `batch` to the table's `schema`, matching columns by position.
///
/// `first_row` is the 1-based number of the batch's first row within the data being written;
/// errors name rows by that count.
pub fn conform_batch(
    table: &str,
    schema: &SchemaRef,
    batch: &RecordBatch,
    first_row: u64,
) -> Result<RecordBatch> {
    if batch.num_columns() != schema.fields().len() {
        let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(Error::SchemaMismatch {
            table: table.to_string(),
            reason: format!(
                "expected {} columns ({}), got {}",
                expected.len(),
                expected.join(", "),
                batch.num_columns()
            ),
        });
    }
    let cast_options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let name = field.name();
        let target = field.data_type();
        let converted = if let Some(dim) = vector_dimension(target) {
            let vectors = to_vectors(name, column, dim, first_row)?;
            check_finite(name, &vectors, first_row)?;
            Arc::new(vectors) as ArrayRef
        } else if column.data_type() == target {
            Arc::clone(column)
        } else {
            cast_with_options(column, target, &cast_options).map_err(|e| Error::InvalidValue {
                column: name.clone(),
                reason: match first_unconvertible_row(column, target) {
                    Some(row) => format!(
                        "row {}: cannot convert {} to {target}: {e}",
                        first_row + row as u64,
                        column.data_type()
                    ),
                    None => format!("cannot convert {} to {target}: {e}", column.data_type()),
                },
            })?
        };
        if !field.is_nullable()
            && let Some(nulls) = converted.logical_nulls()
            && let Some(row) = (0..nulls.len()).find(|&i| nulls.is_null(i))
        {
            return Err(Error::InvalidValue {
                column: name.clone(),
                reason: format!(
                    "row {} is NULL, but the column is NOT NULL",
                    first_row + row as u64
                ),
            });
        }
        columns.push(converted);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// The first row whose value a cast to `target` turns into NULL (the row an unsafe cast
/// failed on), found with a safe cast.
fn first_unconvertible_row(column: &ArrayRef, target: &DataType) -> Option<usize> {
    let converted = arrow::compute::cast(column, target).ok()?;
    (0..column.len()).find(|&i| column.is_valid(i) && converted.is_null(i))
}

/// Converts a column of lists of numbers to vectors of dimension `dim`.
fn to_vectors(
    column_name: &str,
    column: &ArrayRef,
    dim: usize,
    first_row: u64,
) -> Result<FixedSizeListArray> {
    let mismatch = |row: usize, found: usize| Error::DimensionMismatch {
        column: column_name.to_string(),
        row: first_row + row as u64,
        expected: dim,
        found,
    };
    match column.data_type() {
        DataType::FixedSizeList(_, found) => {
            let list = column.as_fixed_size_list();
            let found = *found as usize;
            if found != dim {
                // Only a non-NULL value is wrong; an all-NULL column of the wrong type is not.
                if let Some(row) = (0..list.len()).find(|&i| list.is_valid(i)) {
                    return Err(mismatch(row, found));
                }
                return Ok(FixedSizeListArray::new_null(
                    Arc::new(vector_item_field()),
                    dim as i32,
                    list.len(),
                ));
            }
            let values = floats(column_name, list.values())?;
            Ok(FixedSizeListArray::try_new(
                Arc::new(vector_item_field()),
                dim as i32,
                values,
                list.nulls().cloned(),
            )?)
        }
        DataType::List(_) => list_to_vectors(column_name, column.as_list::<i32>(), dim, &mismatch),
        DataType::LargeList(_) => {
            list_to_vectors(column_name, column.as_list::<i64>(), dim, &mismatch)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = arrow::compute::cast(column, &DataType::Utf8)?;
            text_to_vectors(column_name, text.as_string::<i32>(), dim, first_row)
        }
        DataType::Null => Ok(FixedSizeListArray::new_null(
            Arc::new(vector_item_field()),
            dim as i32,
            column.len(),
        )),
        other => Err(Error::InvalidValue {
            column: column_name.to_string(),
            reason: format!(
                "expected a vector of {dim} numbers (a list such as [0.1, 0.2, ...]), got {other}"
            ),
        }),
    }
}

fn list_to_vectors<O: OffsetSizeTrait>(
    column_name: &str,
    list: &GenericListArray<O>,
    dim: usize,
    mismatch: &dyn Fn(usize, usize) -> Error,
) -> Result<FixedSizeListArray> {
    let offsets = list.value_offsets();
    for (row, window) in offsets.windows(2).enumerate() {
        let len = (window[1] - window[0]).as_usize();
        if list.is_valid(row) && len != dim {
            return Err(mismatch(row, len));
        }
    }
    let child = floats(column_name, list.values())?;
    let child = child.as_primitive::<Float32Type>();
    let mut values: Vec<f32> = Vec::with_capacity(list.len() * dim);
    let mut element_nulls: Vec<bool> = Vec::new();
    let child_has_nulls = child.null_count() > 0;
    for (row, offset) in offsets.iter().take(list.len()).enumerate() {
        if list.is_null(row) {
            values.extend(std::iter::repeat_n(0.0, dim));
            if child_has_nulls {
                element_nulls.extend(std::iter::repeat_n(true, dim));
            }
            continue;
        }
        let start = offset.as_usize();
        values.extend_from_slice(&child.values()[start..start + dim]);
        if child_has_nulls {
            element_nulls.extend((start..start + dim).map(|i| child.is_valid(i)));
        }
    }
    let element_nulls = child_has_nulls.then(|| NullBuffer::from(element_nulls));
    Ok(FixedSizeListArray::try_new(
        Arc::new(vector_item_field()),
        dim as i32,
        Arc::new(Float32Array::new(values.into(), element_nulls)),
        list.nulls().cloned(),
    )?)
}

/// Parses vectors written as text, `[0.1, 0.2, 0.3]` (as CSV files carry them).
fn text_to_vectors(
    column_name: &str,
    text: &arrow::array::StringArray,
    dim: usize,
    first_row: u64,
) -> Result<FixedSizeListArray> {
    let mut values: Vec<f32> = Vec::with_capacity(text.len() * dim);
    for row in 0..text.len() {
        if text.is_null(row) {
            values.extend(std::iter::repeat_n(0.0, dim));
            continue;
        }
        let raw = text.value(row).trim();
        let inner = raw
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| Error::InvalidValue {
                column: column_name.to_string(),
                reason: format!(
                    "row {}: '{}' is not a vector; write it as [0.1, 0.2, ...]",
                    first_row + row as u64,
                    raw.chars().take(40).collect::<String>()
                ),
            })?;
        let before = values.len();
        for (index, part) in inner
            .split(',')
            .enumerate()
            .filter(|(_, p)| !p.trim().is_empty())
        {
            let value = part
                .trim()
                .parse::<f32>()
                .map_err(|_| Error::InvalidValue {
                    column: column_name.to_string(),
                    reason: format!(
                        "row {}: vector element {index} '{}' is not a number",
                        first_row + row as u64,
                        part.trim()
                    ),
                })?;
            values.push(value);
        }
        let found = values.len() - before;
        if found != dim {
            return Err(Error::DimensionMismatch {
                column: column_name.to_string(),
                row: first_row + row as u64,
                expected: dim,
                found,
            });
        }
    }
    Ok(FixedSizeListArray::try_new(
        Arc::new(vector_item_field()),
        dim as i32,
        Arc::new(Float32Array::from(values)),
        text.nulls().cloned(),
    )?)
}

/// Casts list elements to `Float32`, refusing element types that are not numbers.
fn floats(column_name: &str, values: &ArrayRef) -> Result<ArrayRef> {
    let data_type = values.data_type();
    if data_type == &DataType::Float32 {
        return Ok(Arc::clone(values));
    }
    if !(data_type.is_numeric() || data_type == &DataType::Null) {
        return Err(Error::InvalidValue {
            column: column_name.to_string(),
            reason: format!("vector elements must be numbers, got {data_type}"),
        });
    }
    Ok(arrow::compute::cast(values, &DataType::Float32)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::vector_type;
    use arrow::array::{Float64Builder, Int64Array, ListBuilder, StringArray};
    use arrow::datatypes::{Field, Schema};

    fn table_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("embedding", vector_type(2), true),
        ]))
    }

    fn list_batch(rows: &[Option<Vec<f64>>]) -> RecordBatch {
        let mut builder = ListBuilder::new(Float64Builder::new());
        for row in rows {
            match row {
                Some(values) => {
                    builder.values().append_slice(values);
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        let ids = Int64Array::from_iter_values(0..rows.len() as i64);
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(ids) as ArrayRef),
            ("embedding", Arc::new(builder.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn lists_of_doubles_become_vectors() {
        let batch = list_batch(&[Some(vec![1.0, 2.0]), None, Some(vec![3.0, 4.5])]);
        let out = conform_batch("t", &table_schema(), &batch, 1).unwrap();
        assert_eq!(out.schema(), table_schema());
        let vectors = out.column(1).as_fixed_size_list();
        assert!(vectors.is_null(1));
        let v2 = vectors.value(2);
        assert_eq!(v2.as_primitive::<Float32Type>().values(), &[3.0, 4.5]);
    }

    #[test]
    fn wrong_length_names_column_row_and_dimension() {
        let batch = list_batch(&[Some(vec![1.0, 2.0]), Some(vec![1.0, 2.0, 3.0])]);
        let err = conform_batch("t", &table_schema(), &batch, 101).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'embedding', row 102: vector has 3 values, but the column holds vectors of \
             dimension 2"
        );
    }

    #[test]
    fn nan_in_a_list_is_refused() {
        let batch = list_batch(&[Some(vec![f64::NAN, 2.0])]);
        let err = conform_batch("t", &table_schema(), &batch, 1).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteVector { row: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn null_in_not_null_column_is_refused() {
        let schema = Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, false)]));
        let batch = RecordBatch::try_from_iter(vec![(
            "x",
            Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
        )])
        .unwrap();
        let err = conform_batch("t", &schema, &batch, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'name': row 2 is NULL, but the column is NOT NULL"
        );
    }

    #[test]
    fn text_that_is_not_a_number_is_refused_with_the_column() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let batch = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(StringArray::from(vec!["12", "twelve"])) as ArrayRef,
        )])
        .unwrap();
        let err = conform_batch("t", &schema, &batch, 1).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column 'n': row 2: cannot convert Utf8 to Int64"),
            "{err}"
        );
    }

    #[test]
    fn vectors_written_as_text_are_parsed() {
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "embedding",
                Arc::new(StringArray::from(vec![
                    Some("[1, 2.5]"),
                    None,
                    Some(" [0,-1] "),
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        let out = conform_batch("t", &table_schema(), &batch, 1).unwrap();
        let vectors = out.column(1).as_fixed_size_list();
        assert_eq!(
            vectors.value(0).as_primitive::<Float32Type>().values(),
            &[1.0, 2.5]
        );
        assert!(vectors.is_null(1));
        let bad = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            (
                "embedding",
                Arc::new(StringArray::from(vec!["[1, x]"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let err = conform_batch("t", &table_schema(), &bad, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'embedding': row 1: vector element 1 'x' is not a number"
        );
    }

    #[test]
    fn column_count_mismatch_lists_expected_columns() {
        let batch = RecordBatch::try_from_iter(vec![(
            "id",
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )])
        .unwrap();
        let err = conform_batch("frames", &table_schema(), &batch, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data does not match table 'frames': expected 2 columns (id, embedding), got 1"
        );
    }
}
