//! `Points`: a borrowed, row-major matrix of `f32` vectors, the input of every algorithm in
//! [`crate::cluster`] and [`crate::projection`].

use crate::error::{Error, Result};

/// `len` vectors of `dim` values each, stored row after row in one slice.
///
/// Invariant: `data.len() == len * dim`, `dim > 0`, and every value is finite (checked by
/// [`Points::new`]), so the algorithms never meet a NaN.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> Points<'a> {
    /// Wraps `data` as rows of `dim` values; an error if the length is not a multiple of
    /// `dim` or a value is NaN or infinite.
    pub fn new(data: &'a [f32], dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidArgument(
                "vectors must have at least one dimension".into(),
            ));
        }
        if !data.len().is_multiple_of(dim) {
            return Err(Error::InvalidArgument(format!(
                "{} values do not make whole vectors of {dim} dimensions",
                data.len()
            )));
        }
        if let Some(position) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "vector {} has a NaN or infinite value; remove or fix that row first",
                position / dim
            )));
        }
        Ok(Points { data, dim })
    }

    /// The number of vectors.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The number of values in each vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Vector `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All values, row after row.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The vectors in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'a, f32> {
        self.data.chunks_exact(self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_slices_of_dim_values() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let points = Points::new(&data, 3).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points.row(1), &[4.0, 5.0, 6.0]);
    }

    #[test]
    fn ragged_or_non_finite_data_is_refused() {
        assert!(Points::new(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(Points::new(&[1.0], 0).is_err());
        let error = Points::new(&[1.0, f32::NAN], 1).unwrap_err().to_string();
        assert!(error.contains("vector 1"), "{error}");
    }
}
