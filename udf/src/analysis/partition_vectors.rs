//! `PartitionVectors`: the non-NULL vectors of one window partition, in a canonical order.
//!
//! A window partition reaches a function in whatever order the scan produced its rows, and
//! with several files or threads that order can change from one run to the next. The
//! algorithms depend on order (k-means++ draws points by index, DBSCAN numbers clusters in
//! scan order, t-SNE's tree is built in index order), so the vectors are sorted by their
//! values first: the result depends only on the set of vectors, never on the row order.
//! Cluster numbers are then given by size, the largest cluster first, so they too depend only
//! on the vectors.

use std::cmp::Ordering;
use std::collections::HashMap;

use arrow::array::ArrayRef;
use datafusion::common::{Result, exec_err};
use reeldb_linalg::Points;
use reeldb_linalg::cluster::NOISE;

use crate::vector_arg::VectorColumn;

/// The non-NULL vectors of a partition, sorted by value.
#[derive(Debug)]
pub struct PartitionVectors {
    /// The vectors in canonical order, row after row.
    data: Vec<f32>,
    dim: usize,
    /// For each vector in canonical order, its row in the partition.
    rows: Vec<usize>,
    /// The number of rows in the partition, NULL ones included.
    row_count: usize,
}

impl PartitionVectors {
    /// Reads argument `position` (counting from 1) of `function` over a partition.
    pub fn read(function: &str, position: usize, array: &ArrayRef) -> Result<Self> {
        let column = VectorColumn::new(function, position, array)?;
        let mut present: Vec<(usize, &[f32])> = (0..column.len())
            .filter_map(|row| column.get(row).map(|vector| (row, vector)))
            .collect();
        let dim = present.first().map_or(0, |(_, vector)| vector.len());
        if let Some((row, vector)) = present.iter().find(|(_, v)| v.len() != dim) {
            return exec_err!(
                "{function}(): the vectors of one partition must have one dimension, but row \
                 {row} has {} values and another has {dim}",
                vector.len()
            );
        }
        if dim == 0 && !present.is_empty() {
            return exec_err!("{function}(): the vectors are empty; they need at least one value");
        }
        if let Some((row, _)) = present
            .iter()
            .find(|(_, vector)| vector.iter().any(|v| !v.is_finite()))
        {
            return exec_err!(
                "{function}(): the vector in row {row} of the partition has a NaN or infinite \
                 value; filter it out (WHERE) or fix it"
            );
        }
        present.sort_by(|(row_a, a), (row_b, b)| by_value(a, b).then(row_a.cmp(row_b)));
        let mut data = Vec::with_capacity(present.len() * dim);
        let mut rows = Vec::with_capacity(present.len());
        for (row, vector) in present {
            data.extend_from_slice(vector);
            rows.push(row);
        }
        Ok(PartitionVectors {
            data,
            dim,
            rows,
            row_count: column.len(),
        })
    }

    /// The number of non-NULL vectors.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether every vector is NULL (or there are no rows).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The number of rows, NULL ones included.
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// The vectors in canonical order; `None` when there are none.
    pub fn points(&self) -> Option<Points<'_>> {
        if self.is_empty() {
            return None;
        }
        // The values were checked to be finite and of one dimension.
        Points::new(&self.data, self.dim).ok()
    }

    /// For each vector in canonical order, its row.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// Labels in canonical order, spread back over the rows (NULL where the vector was) and
    /// renumbered by size: the largest cluster is 0, ties going to the cluster with the
    /// smallest vector. Noise stays -1. Like the clusters themselves, the numbers then depend
    /// only on the vectors.
    pub fn labels_by_row(&self, labels: &[i64]) -> Vec<Option<i64>> {
        // (size, first position in canonical order) of each cluster.
        let mut clusters: HashMap<i64, (usize, usize)> = HashMap::new();
        for (position, &label) in labels.iter().enumerate() {
            if label != NOISE {
                clusters.entry(label).or_insert((0, position)).0 += 1;
            }
        }
        let mut order: Vec<(i64, (usize, usize))> = clusters.into_iter().collect();
        order.sort_by(|(_, (size_a, first_a)), (_, (size_b, first_b))| {
            size_b.cmp(size_a).then(first_a.cmp(first_b))
        });
        let numbers: HashMap<i64, i64> = order
            .iter()
            .enumerate()
            .map(|(number, (label, _))| (*label, number as i64))
            .collect();
        let mut by_row = vec![None; self.row_count];
        for (&row, &label) in self.rows.iter().zip(labels) {
            by_row[row] = Some(if label == NOISE {
                NOISE
            } else {
                numbers[&label]
            });
        }
        by_row
    }

    /// Per-vector values in canonical order (`width` each), spread back over the rows.
    pub fn values_by_row<'v>(&self, values: &'v [f32], width: usize) -> Vec<Option<&'v [f32]>> {
        let mut by_row = vec![None; self.row_count];
        for (i, &row) in self.rows.iter().enumerate() {
            by_row[row] = Some(&values[i * width..(i + 1) * width]);
        }
        by_row
    }
}

/// Lexicographic order of two vectors by value (all finite).
fn by_value(a: &[f32], b: &[f32]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{FixedSizeListArray, Float32Array};
    use arrow::datatypes::{DataType, Field};

    use super::*;

    fn column(rows: &[Option<[f32; 2]>]) -> ArrayRef {
        let values: Vec<f32> = rows.iter().flat_map(|r| r.unwrap_or([0.0, 0.0])).collect();
        let nulls: Vec<bool> = rows.iter().map(Option::is_some).collect();
        Arc::new(
            FixedSizeListArray::try_new(
                Arc::new(Field::new("item", DataType::Float32, true)),
                2,
                Arc::new(Float32Array::from(values)),
                Some(nulls.into()),
            )
            .unwrap(),
        )
    }

    #[test]
    fn vectors_are_sorted_by_value_and_nulls_left_out() {
        let array = column(&[Some([3.0, 0.0]), None, Some([1.0, 5.0]), Some([1.0, 2.0])]);
        let vectors = PartitionVectors::read("f", 1, &array).unwrap();
        assert_eq!(vectors.len(), 3);
        assert_eq!(vectors.row_count(), 4);
        assert_eq!(vectors.rows(), &[3, 2, 0]);
        assert_eq!(vectors.points().unwrap().row(0), &[1.0, 2.0]);
    }

    #[test]
    fn labels_go_back_to_their_rows_numbered_by_size() {
        let array = column(&[
            Some([3.0, 0.0]),
            None,
            Some([1.0, 5.0]),
            Some([1.0, 2.0]),
            Some([3.0, 1.0]),
            Some([9.0, 9.0]),
        ]);
        let vectors = PartitionVectors::read("f", 1, &array).unwrap();
        // Canonical order: rows 3, 2, 0, 4, 5. Cluster 7 has two members, 4 and 8 one each;
        // of those, 4 has the smaller vector.
        let by_row = vectors.labels_by_row(&[4, -1, 7, 7, 8]);
        assert_eq!(
            by_row,
            vec![Some(0), None, Some(-1), Some(1), Some(0), Some(2)]
        );
    }

    #[test]
    fn a_non_finite_value_names_its_row() {
        let array = column(&[Some([1.0, 0.0]), Some([f32::NAN, 0.0])]);
        let error = PartitionVectors::read("f", 1, &array)
            .unwrap_err()
            .to_string();
        assert!(error.contains("row 1"), "{error}");
    }
}
