//! Vector columns: `FixedSizeList<Float32, D>`, and the checks every written vector passes.
//!
//! Invariant: a vector stored in a table has exactly `D` elements, none of them NULL, NaN or
//! infinite. A NULL vector (the whole value) is allowed where the column is nullable. Later
//! components (distance kernels, the HNSW index) rely on this and do not re-check.

use std::sync::Arc;

use arrow::array::{Array, AsArray, FixedSizeListArray};
use arrow::datatypes::{DataType, Field, Float32Type};

use crate::error::{Error, Result};
use crate::manifest::TableEntry;

/// The Arrow field-metadata key under which a vector's model is named: on a table's vector
/// column when the column records one, and on the result of `embed()` and `embed_image()`.
pub const MODEL_METADATA_KEY: &str = "reeldb.model";

/// The largest dimension a vector column may have. Embeddings have hundreds or a few
/// thousand dimensions; the bound keeps a typo such as `VECTOR(2000000000)` from becoming an
/// allocation of gigabytes per row on the first insert.
pub const MAX_VECTOR_DIMENSION: usize = 65_536;

/// The Arrow type of a vector column of dimension `dim`.
pub fn vector_type(dim: i32) -> DataType {
    DataType::FixedSizeList(Arc::new(vector_item_field()), dim)
}

/// The element field of a vector column. Every vector column uses this exact field, so that
/// vector types from different sources (SQL, Parquet files, Arrow callers) compare equal.
pub fn vector_item_field() -> Field {
    Field::new_list_field(DataType::Float32, true)
}

/// The dimension of `data_type` if it is a vector type (`FixedSizeList` of `Float32`).
pub fn vector_dimension(data_type: &DataType) -> Option<usize> {
    match data_type {
        DataType::FixedSizeList(item, dim) if item.data_type() == &DataType::Float32 => {
            usize::try_from(*dim).ok()
        }
        _ => None,
    }
}

/// Checks that every non-NULL vector of `array` holds only finite numbers.
///
/// `first_row` is the 1-based number of the array's first row within the data being written,
/// so that the error names the row the user knows.
pub fn check_finite(column: &str, array: &FixedSizeListArray, first_row: u64) -> Result<()> {
    let dim = array.value_length() as usize;
    let values = array.values().as_primitive::<Float32Type>();
    let offset = array.offset() * dim;
    let slice = &values.values()[offset..offset + array.len() * dim];
    // Fast path: one pass over the contiguous buffer, which the compiler vectorises. NULL rows
    // may hold arbitrary values, so only a failure here needs the slower row-wise look.
    if values.null_count() == 0 && slice.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    for row in 0..array.len() {
        if array.is_null(row) {
            continue;
        }
        for index in 0..dim {
            let position = offset + row * dim + index;
            let value = if values.is_null(position) {
                Some("NULL".to_string())
            } else {
                let v = values.value(position);
                (!v.is_finite()).then(|| {
                    if v.is_nan() {
                        "NaN".to_string()
                    } else if v > 0.0 {
                        "inf".to_string()
                    } else {
                        "-inf".to_string()
                    }
                })
            };
            if let Some(value) = value {
                return Err(Error::NonFiniteVector {
                    column: column.to_string(),
                    row: first_row + row as u64,
                    index,
                    value,
                    expected: dim,
                });
            }
        }
    }
    Ok(())
}

/// The dimension and position of vector column `column` of `table`; an error that names the
/// table's columns if there is no such column, or says its type if it holds no vectors.
pub(crate) fn vector_column(table: &TableEntry, column: &str) -> Result<(usize, usize)> {
    let not_vector = |reason: String| Error::NotAVectorColumn {
        table: table.name.clone(),
        column: column.to_string(),
        reason,
    };
    let schema = table.schema()?;
    let (position, field) = schema.column_with_name(column).ok_or_else(|| {
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        not_vector(format!(
            "does not exist; its columns are {}",
            names.join(", ")
        ))
    })?;
    let dim = vector_dimension(field.data_type()).ok_or_else(|| {
        not_vector(format!(
            "is {}, not a vector column (VECTOR(n))",
            field.data_type()
        ))
    })?;
    Ok((dim, position))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Float32Array;
    use arrow::buffer::NullBuffer;

    fn vectors(values: Vec<f32>, dim: i32, nulls: Option<Vec<bool>>) -> FixedSizeListArray {
        FixedSizeListArray::new(
            Arc::new(vector_item_field()),
            dim,
            Arc::new(Float32Array::from(values)),
            nulls.map(NullBuffer::from),
        )
    }

    #[test]
    fn finite_vectors_pass() {
        check_finite("v", &vectors(vec![1.0, 2.0, 3.0, 4.0], 2, None), 1).unwrap();
    }

    #[test]
    fn nan_is_reported_with_column_row_and_dimension() {
        let err =
            check_finite("emb", &vectors(vec![1.0, 2.0, 3.0, f32::NAN], 2, None), 10).unwrap_err();
        match err {
            Error::NonFiniteVector {
                column,
                row,
                index,
                value,
                expected,
            } => {
                assert_eq!(
                    (column.as_str(), row, index, value.as_str()),
                    ("emb", 11, 1, "NaN")
                );
                assert_eq!(expected, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn infinity_in_a_null_row_is_ignored() {
        let array = vectors(
            vec![f32::INFINITY, 0.0, 1.0, 2.0],
            2,
            Some(vec![false, true]),
        );
        check_finite("v", &array, 1).unwrap();
        let array = vectors(
            vec![1.0, 0.0, f32::NEG_INFINITY, 2.0],
            2,
            Some(vec![true, true]),
        );
        let err = check_finite("v", &array, 1).unwrap_err();
        assert!(
            err.to_string().contains("row 2: vector element 0 is -inf"),
            "{err}"
        );
    }

    #[test]
    fn only_float32_fixed_size_lists_are_vectors() {
        assert_eq!(vector_dimension(&vector_type(512)), Some(512));
        assert_eq!(
            vector_dimension(&DataType::new_list(DataType::Float32, true)),
            None
        );
        let ints =
            DataType::FixedSizeList(Arc::new(Field::new_list_field(DataType::Int32, true)), 3);
        assert_eq!(vector_dimension(&ints), None);
    }
}
