//! How similar two clusters are: the mean of the largest cosine similarities between a
//! member of one and a member of the other.
//!
//! This is the cluster pair similarity of "An Efficient and Explanatory Image and Text
//! Clustering System with Multimodal Autoencoder Architecture" (§5.4), which compares the
//! clusters of two cultures: "the average of the top 10 cosine similarities within the
//! cluster pair". Unlike the mean similarity over all pairs, it rewards two clusters that
//! share a few very close members even when both are broad.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::distance::dot;
use crate::error::{Error, Result};
use crate::points::Points;

/// Rows of `a` compared together with each row of `b`.
const TILE: usize = 64;

/// The mean of the `top_n` largest cosine similarities among all pairs `(a_i, b_j)`: of all
/// of them when there are fewer pairs than `top_n`. A zero vector has similarity 0 with
/// everything. `None` when `a` or `b` has no vectors.
///
/// Exact (every pair is compared), in parallel over tiles of rows of `a`, keeping only
/// `top_n` values per task; the values kept are the same whatever the schedule and are summed
/// largest first, so the result is deterministic.
pub fn top_mean_similarity(a: &Points<'_>, b: &Points<'_>, top_n: usize) -> Result<Option<f64>> {
    if a.dim() != b.dim() {
        return Err(Error::InvalidArgument(format!(
            "the first cluster's vectors have {} dimensions but the second's {}; compare \
             vectors of the same embedding",
            a.dim(),
            b.dim()
        )));
    }
    if top_n == 0 {
        return Err(Error::InvalidArgument(
            "top_n = 0: the mean of no similarities is undefined; use top_n >= 1 (the paper \
             uses 10)"
                .into(),
        ));
    }
    if a.is_empty() || b.is_empty() {
        return Ok(None);
    }
    let a_unit = unit_rows(a);
    let b_unit = unit_rows(b);
    let dim = a.dim();
    let keep = |mut heap: BinaryHeap<Reverse<Similarity>>, value: Similarity| {
        if heap.len() < top_n {
            heap.push(Reverse(value));
        } else if heap
            .peek()
            .is_some_and(|Reverse(smallest)| value > *smallest)
        {
            heap.pop();
            heap.push(Reverse(value));
        }
        heap
    };
    // A tile of `a`'s rows stays in cache while `b`'s rows stream past once.
    let top = a_unit
        .par_chunks(TILE * dim)
        .fold(BinaryHeap::new, |mut heap, tile| {
            for y in b_unit.chunks_exact(dim) {
                for x in tile.chunks_exact(dim) {
                    heap = keep(heap, Similarity(dot(x, y).clamp(-1.0, 1.0)));
                }
            }
            heap
        })
        .reduce(BinaryHeap::new, |left, right| {
            right
                .into_iter()
                .fold(left, |heap, Reverse(value)| keep(heap, value))
        });
    let mut values: Vec<f32> = top.into_iter().map(|Reverse(Similarity(v))| v).collect();
    values.sort_unstable_by(|x, y| y.total_cmp(x));
    let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
    Ok(Some(sum / values.len() as f64))
}

/// The rows scaled to unit length (norms in `f64`, so that large values do not overflow);
/// zero rows stay zero.
fn unit_rows(points: &Points<'_>) -> Vec<f32> {
    let mut data = points.data().to_vec();
    data.par_chunks_exact_mut(points.dim()).for_each(|row| {
        let norm = row
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            row.iter_mut()
                .for_each(|v| *v = (f64::from(*v) / norm) as f32);
        }
    });
    data
}

/// A similarity ordered by value (`total_cmp`: the values are finite).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Similarity(f32);

impl Eq for Similarity {}

impl PartialOrd for Similarity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Similarity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(x: &[f32], y: &[f32]) -> f64 {
        let d: f64 = x
            .iter()
            .zip(y)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let nx: f64 = x.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt();
        let ny: f64 = y.iter().map(|&b| f64::from(b).powi(2)).sum::<f64>().sqrt();
        if nx == 0.0 || ny == 0.0 {
            0.0
        } else {
            d / (nx * ny)
        }
    }

    #[test]
    fn the_mean_of_the_largest_similarities() {
        // a: (1,0), (0,1); b: (1,0), (1,1), (-1,0).
        // Similarities: 1, 1/√2, -1 (from (1,0)) and 0, 1/√2, 0 (from (0,1)).
        let a = [1.0, 0.0, 0.0, 1.0];
        let b = [1.0, 0.0, 1.0, 1.0, -1.0, 0.0];
        let a = Points::new(&a, 2).unwrap();
        let b = Points::new(&b, 2).unwrap();
        let half = std::f64::consts::FRAC_1_SQRT_2;
        let mean = |n| top_mean_similarity(&a, &b, n).unwrap().unwrap();
        assert!((mean(1) - 1.0).abs() < 1e-6);
        assert!((mean(3) - (1.0 + 2.0 * half) / 3.0).abs() < 1e-6);
        // More than the 6 pairs: the mean of all of them.
        let all = (1.0 + 2.0 * half - 1.0) / 6.0;
        assert!((mean(6) - all).abs() < 1e-6);
        assert!((mean(100) - all).abs() < 1e-6);
        // Symmetric.
        assert_eq!(
            top_mean_similarity(&b, &a, 3).unwrap(),
            top_mean_similarity(&a, &b, 3).unwrap()
        );
    }

    #[test]
    fn agrees_with_sorting_every_pair() {
        let mut rng = crate::SeededRng::new(11);
        let a: Vec<f32> = (0..150 * 5).map(|_| rng.normal() as f32).collect();
        let b: Vec<f32> = (0..23 * 5).map(|_| rng.normal() as f32 * 3.0).collect();
        let mut all: Vec<f64> = a
            .chunks_exact(5)
            .flat_map(|x| b.chunks_exact(5).map(|y| cosine(x, y)).collect::<Vec<_>>())
            .collect();
        all.sort_by(|x, y| y.total_cmp(x));
        let a = Points::new(&a, 5).unwrap();
        let b = Points::new(&b, 5).unwrap();
        for n in [1, 10, 50, 3450] {
            let expected = all[..n].iter().sum::<f64>() / n as f64;
            let got = top_mean_similarity(&a, &b, n).unwrap().unwrap();
            assert!((got - expected).abs() < 1e-6, "{n}: {got} {expected}");
        }
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| top_mean_similarity(&a, &b, 10).unwrap());
        assert_eq!(one, top_mean_similarity(&a, &b, 10).unwrap());
    }

    #[test]
    fn zero_vectors_empty_sides_and_bad_arguments() {
        let zero_and_one = [0.0, 0.0, 3.0, 4.0];
        let a = Points::new(&zero_and_one, 2).unwrap();
        let b = Points::new(&[6.0, 8.0], 2).unwrap();
        // Similarities 0 (zero vector) and 1.
        assert_eq!(top_mean_similarity(&a, &b, 2).unwrap(), Some(0.5));
        let empty = Points::new(&[], 2).unwrap();
        assert_eq!(top_mean_similarity(&a, &empty, 10).unwrap(), None);
        assert_eq!(top_mean_similarity(&empty, &b, 10).unwrap(), None);
        let error = top_mean_similarity(&a, &b, 0).unwrap_err().to_string();
        assert!(error.contains("top_n >= 1"), "{error}");
        let three = Points::new(&[1.0, 2.0, 3.0], 3).unwrap();
        let error = top_mean_similarity(&a, &three, 10).unwrap_err().to_string();
        assert!(error.contains("2 dimensions but the second's 3"), "{error}");
        // Huge values do not overflow the norm.
        let huge = Points::new(&[3e30, 4e30], 2).unwrap();
        let got = top_mean_similarity(&huge, &b, 1).unwrap().unwrap();
        assert!((got - 1.0).abs() < 1e-6, "{got}");
    }
}
