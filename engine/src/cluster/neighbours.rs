//! Exact nearest neighbours by a parallel scan: the `k` nearest of every point, and every
//! point within a radius. DBSCAN, HDBSCAN and t-SNE build on these.
//!
//! Only distances that are true metrics over the vectors make sense for density clustering,
//! so [`ClusterMetric`] is Euclidean or cosine (`1 − cos`, as scikit-learn's `cosine`).

use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::cluster::points::Points;
use crate::distance::{dot, squared_l2};
use crate::error::{Error, Result};

/// The distance clustering uses between two vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterMetric {
    /// ‖a − b‖₂.
    Euclidean,
    /// 1 − a·b / (‖a‖ ‖b‖); a zero vector is at distance 1 from everything (as in
    /// scikit-learn, which normalises it to zero).
    Cosine,
}

impl ClusterMetric {
    /// Parses `euclidean` (`l2`) or `cosine`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "euclidean" | "l2" => Ok(ClusterMetric::Euclidean),
            "cosine" | "cos" => Ok(ClusterMetric::Cosine),
            other => Err(Error::InvalidArgument(format!(
                "unknown clustering metric '{other}': use 'euclidean' (or 'l2') or 'cosine'"
            ))),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            ClusterMetric::Euclidean => "euclidean",
            ClusterMetric::Cosine => "cosine",
        }
    }
}

/// The vectors in the form a metric compares fastest: unit length for cosine, as given for
/// Euclidean. Build it once, then compare any two rows with [`Prepared::distance`].
#[derive(Debug, Clone)]
pub struct Prepared {
    data: Vec<f32>,
    dim: usize,
    metric: ClusterMetric,
}

impl Prepared {
    /// Prepares `points` for `metric`.
    pub fn new(points: &Points<'_>, metric: ClusterMetric) -> Self {
        let mut data = points.data().to_vec();
        if metric == ClusterMetric::Cosine {
            data.par_chunks_exact_mut(points.dim()).for_each(|row| {
                let norm = dot(row, row).sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            });
        }
        Prepared {
            data,
            dim: points.dim(),
            metric,
        }
    }

    /// The number of vectors.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Vector `i` as prepared (unit length for cosine, unless it is zero).
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The metric.
    pub fn metric(&self) -> ClusterMetric {
        self.metric
    }

    /// The distance between rows `i` and `j`.
    #[inline]
    pub fn distance(&self, i: usize, j: usize) -> f32 {
        self.distance_to(self.row(i), j)
    }

    /// The distance between `query` (prepared the same way) and row `j`.
    #[inline]
    pub fn distance_to(&self, query: &[f32], j: usize) -> f32 {
        let row = self.row(j);
        match self.metric {
            ClusterMetric::Euclidean => squared_l2(query, row).sqrt(),
            // A zero vector stays zero: its dot product is 0 and its distance 1.
            ClusterMetric::Cosine => (1.0 - dot(query, row)).max(0.0),
        }
    }
}

/// The `k` nearest neighbours of every point, the point itself included (it is its own
/// nearest, at distance 0), as scikit-learn's `kneighbors` on the training data.
#[derive(Debug, Clone)]
pub struct Neighbours {
    k: usize,
    indices: Vec<u32>,
    distances: Vec<f32>,
}

impl Neighbours {
    /// Neighbours per point.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The neighbours of point `i`, nearest first.
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// Their distances, ascending.
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}

/// A candidate neighbour ordered by distance, then index (so that ties resolve the same way
/// on every run).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    distance: f32,
    index: u32,
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.index.cmp(&other.index))
    }
}

/// The exact `k` nearest neighbours of every point (itself included); `k` is capped at the
/// number of points.
pub fn k_nearest(prepared: &Prepared, k: usize) -> Neighbours {
    let n = prepared.len();
    let k = k.min(n);
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    if k == 0 {
        return Neighbours {
            k,
            indices,
            distances,
        };
    }
    indices
        .par_chunks_exact_mut(k)
        .zip(distances.par_chunks_exact_mut(k))
        .enumerate()
        .for_each(|(i, (row_indices, row_distances))| {
            let query = prepared.row(i);
            let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
            for j in 0..n {
                // The point itself first, whatever rounding says of its distance.
                let distance = if j == i {
                    0.0
                } else {
                    prepared.distance_to(query, j)
                };
                let candidate = Candidate {
                    distance,
                    index: j as u32,
                };
                if heap.len() < k {
                    heap.push(candidate);
                } else if candidate < *heap.peek().expect("the heap holds k > 0 candidates") {
                    heap.pop();
                    heap.push(candidate);
                }
            }
            for (slot, candidate) in heap.into_sorted_vec().into_iter().enumerate() {
                row_indices[slot] = candidate.index;
                row_distances[slot] = candidate.distance;
            }
        });
    Neighbours {
        k,
        indices,
        distances,
    }
}

/// For every point, the points within `radius` (distance ≤ `radius`), itself included, in
/// index order. Memory grows with the number of such pairs, not with the square of the
/// number of points.
pub fn within_radius(prepared: &Prepared, radius: f32) -> Vec<Vec<u32>> {
    let n = prepared.len();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let query = prepared.row(i);
            (0..n)
                .filter(|&j| j == i || prepared.distance_to(query, j) <= radius)
                .map(|j| j as u32)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Vec<f32> {
        // Points on a line at 0, 1, 3, 6, 10.
        vec![0.0, 1.0, 3.0, 6.0, 10.0]
    }

    #[test]
    fn nearest_neighbours_start_with_the_point_itself() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let neighbours = k_nearest(&prepared, 3);
        assert_eq!(neighbours.indices(2), &[2, 1, 0]);
        assert_eq!(neighbours.distances(2), &[0.0, 2.0, 3.0]);
        assert_eq!(neighbours.indices(4), &[4, 3, 2]);
    }

    #[test]
    fn k_is_capped_at_the_number_of_points() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        assert_eq!(k_nearest(&prepared, 50).k(), 5);
    }

    #[test]
    fn the_radius_is_inclusive() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let within = within_radius(&prepared, 2.0);
        assert_eq!(within[1], vec![0, 1, 2]);
        assert_eq!(within[4], vec![4]);
    }

    #[test]
    fn cosine_ignores_length_and_puts_zero_vectors_at_one() {
        let data = [1.0, 0.0, 5.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        let points = Points::new(&data, 2).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Cosine);
        assert!(prepared.distance(0, 1).abs() < 1e-6);
        assert!((prepared.distance(0, 2) - 1.0).abs() < 1e-6);
        assert!((prepared.distance(0, 3) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn metric_names_parse_and_unknown_ones_say_what_to_use() {
        assert_eq!(
            ClusterMetric::parse("L2").unwrap(),
            ClusterMetric::Euclidean
        );
        assert_eq!(
            ClusterMetric::parse("cosine").unwrap(),
            ClusterMetric::Cosine
        );
        let error = ClusterMetric::parse("hamming").unwrap_err().to_string();
        assert!(error.contains("euclidean"), "{error}");
    }
}
