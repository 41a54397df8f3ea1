//! Outlier scores from exact nearest neighbours: the Local Outlier Factor and the distance to
//! the `k`-th nearest neighbour.
//!
//! Both score every point against the other points (a point is not its own neighbour), and
//! larger means more outlying.
//!
//! - [`OutlierMethod::Lof`] is scikit-learn's `LocalOutlierFactor(n_neighbors=k)` on the
//!   training data, as `-negative_outlier_factor_`: about 1 for a point as dense as its
//!   neighbours, well above 1 for one in a sparser place than they are. With `N(p)` the `k`
//!   nearest other points of `p` and `k_dist(o)` the distance from `o` to the last of `N(o)`,
//!   - `reach(p, o) = max(d(p, o), k_dist(o))`,
//!   - `lrd(p) = 1 / (mean over o in N(p) of reach(p, o) + 1e-10)` (scikit-learn's 1e-10
//!     keeps a point with more than `k` exact duplicates finite: its `lrd` is 1e10),
//!   - `score(p) = mean over o in N(p) of lrd(o) / lrd(p)`.
//! - [`OutlierMethod::KnnDistance`] is `d(p, o)` for the last `o` of `N(p)`, `k_dist(p)`.
//!
//! `k` is capped at `n - 1`, as scikit-learn caps `n_neighbors`. The neighbours come from
//! [`k_nearest`], which scans pairs of blocks (memory grows with `n × k`, never `n²`). Which
//! points are the `k` nearest is decided in `f32`; their distances are then measured again in
//! `f64` (scikit-learn's precision) for the scores. When several points tie for the `k`-th
//! place, the one with the lower index is taken (scikit-learn leaves that to its tree); the
//! tied points are equally near, so only their own `k_dist` can differ, and for exact
//! duplicates it does not.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::neighbours::{ClusterMetric, Prepared, k_nearest};
use crate::points::Points;

/// What the score measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutlierMethod {
    /// The Local Outlier Factor (scikit-learn's `-negative_outlier_factor_`).
    Lof,
    /// The distance to the `k`-th nearest other point.
    KnnDistance,
}

/// The parameters of [`outlier_scores`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutlierParams {
    /// What the score measures.
    pub method: OutlierMethod,
    /// Neighbours per point, `k`; at least 1, capped at the number of points less one.
    /// Default 20, as scikit-learn's.
    pub n_neighbors: usize,
    /// The distance. Default Euclidean.
    pub metric: ClusterMetric,
}

impl OutlierParams {
    /// `method` with the defaults: 20 neighbours, Euclidean.
    pub fn new(method: OutlierMethod) -> Self {
        OutlierParams {
            method,
            n_neighbors: 20,
            metric: ClusterMetric::Euclidean,
        }
    }
}

/// One score per point (see the module docs). Needs at least two points (with one, it has no
/// neighbour to be compared with) and `n_neighbors` of at least 1.
pub fn outlier_scores(points: &Points<'_>, params: &OutlierParams) -> Result<Vec<f64>> {
    if params.n_neighbors == 0 {
        return Err(Error::InvalidArgument(
            "n_neighbors must be at least 1 (scikit-learn's default is 20)".into(),
        ));
    }
    let n = points.len();
    if n < 2 {
        return Err(Error::InvalidArgument(format!(
            "outlier scores need at least 2 points, not {n}: a point has no neighbour to be \
             compared with"
        )));
    }
    let k = params.n_neighbors.min(n - 1);
    let (indices, distances) = nearest_others(points, params.metric, k);
    let k_distance: Vec<f64> = distances
        .par_chunks_exact(k)
        .map(|row| row.iter().copied().fold(0.0, f64::max))
        .collect();
    if params.method == OutlierMethod::KnnDistance {
        return Ok(k_distance);
    }
    let lrd: Vec<f64> = indices
        .par_chunks_exact(k)
        .zip(distances.par_chunks_exact(k))
        .map(|(found, measured)| {
            let reach: f64 = found
                .iter()
                .zip(measured)
                .map(|(&o, &d)| d.max(k_distance[o as usize]))
                .sum();
            1.0 / (reach / k as f64 + 1e-10)
        })
        .collect();
    Ok(indices
        .par_chunks_exact(k)
        .enumerate()
        .map(|(p, found)| {
            let ratios: f64 = found.iter().map(|&o| lrd[o as usize] / lrd[p]).sum();
            ratios / k as f64
        })
        .collect())
}

/// The `k` nearest other points of every point (`n × k` indices, nearest first) and their
/// distances in `f64`; `k < n`.
fn nearest_others(points: &Points<'_>, metric: ClusterMetric, k: usize) -> (Vec<u32>, Vec<f64>) {
    let prepared = Prepared::new(points, metric);
    let neighbours = k_nearest(&prepared, k + 1);
    let rows: Vec<f64> = match metric {
        ClusterMetric::Euclidean => points.data().iter().map(|&v| f64::from(v)).collect(),
        // As scikit-learn's cosine_distances: rows scaled to unit length, a zero row kept zero.
        ClusterMetric::Cosine => points
            .rows()
            .flat_map(|row| {
                let norm = row
                    .iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>()
                    .sqrt();
                let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                row.iter().map(move |&v| f64::from(v) * scale)
            })
            .collect(),
    };
    let dim = points.dim();
    let row = |i: usize| &rows[i * dim..(i + 1) * dim];
    let distance = |i: usize, j: usize| -> f64 {
        let (a, b) = (row(i), row(j));
        match metric {
            ClusterMetric::Euclidean => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt(),
            ClusterMetric::Cosine => {
                let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                (1.0 - dot).clamp(0.0, 2.0)
            }
        }
    };
    let mut indices = vec![0u32; points.len() * k];
    let mut distances = vec![0f64; points.len() * k];
    indices
        .par_chunks_exact_mut(k)
        .zip(distances.par_chunks_exact_mut(k))
        .enumerate()
        .for_each(|(i, (found, measured))| {
            // The point itself comes first in `k_nearest`'s answer; without it, the first k
            // are the k nearest others.
            let all = neighbours.indices(i);
            let others = all.iter().filter(|&&j| j as usize != i).take(k);
            for ((slot, length), &j) in found.iter_mut().zip(measured.iter_mut()).zip(others) {
                *slot = j;
                *length = distance(i, j as usize);
            }
        });
    (indices, distances)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LOF by its definition, over every pair, in f64: the reference for the scans.
    fn brute_force(data: &[f32], dim: usize, k: usize, metric: ClusterMetric) -> Vec<f64> {
        let n = data.len() / dim;
        let k = k.min(n - 1);
        let rows: Vec<Vec<f64>> = data
            .chunks_exact(dim)
            .map(|row| {
                let row: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
                if metric == ClusterMetric::Cosine {
                    let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                    row.iter().map(|v| v / norm).collect()
                } else {
                    row
                }
            })
            .collect();
        let d = |i: usize, j: usize| match metric {
            ClusterMetric::Euclidean => rows[i]
                .iter()
                .zip(&rows[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt(),
            ClusterMetric::Cosine => {
                1.0 - rows[i]
                    .iter()
                    .zip(&rows[j])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            }
        };
        let nearest: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let mut others: Vec<usize> = (0..n).filter(|&j| j != i).collect();
                others.sort_by(|&a, &b| d(i, a).total_cmp(&d(i, b)).then(a.cmp(&b)));
                others.truncate(k);
                others
            })
            .collect();
        let k_dist: Vec<f64> = (0..n).map(|i| d(i, nearest[i][k - 1])).collect();
        let lrd: Vec<f64> = (0..n)
            .map(|p| {
                let reach: f64 = nearest[p].iter().map(|&o| d(p, o).max(k_dist[o])).sum();
                1.0 / (reach / k as f64 + 1e-10)
            })
            .collect();
        (0..n)
            .map(|p| nearest[p].iter().map(|&o| lrd[o] / lrd[p]).sum::<f64>() / k as f64)
            .collect()
    }

    fn blobs(seed: u64) -> Vec<f32> {
        let mut rng = crate::SeededRng::new(seed);
        let mut data = Vec::new();
        for (centre, spread, count) in [(0.0, 0.2, 150), (5.0, 1.0, 120), (-4.0, 2.0, 40)] {
            for _ in 0..count * 5 {
                data.push(centre + spread * rng.normal() as f32);
            }
        }
        data
    }

    #[test]
    fn lof_is_its_definition() {
        let data = blobs(3);
        let points = Points::new(&data, 5).unwrap();
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            for k in [1, 5, 20] {
                let params = OutlierParams {
                    n_neighbors: k,
                    metric,
                    ..OutlierParams::new(OutlierMethod::Lof)
                };
                let ours = outlier_scores(&points, &params).unwrap();
                let expected = brute_force(&data, 5, k, metric);
                for (p, (a, b)) in ours.iter().zip(&expected).enumerate() {
                    assert!((a - b).abs() <= 1e-9 * b, "{metric:?} {k} {p}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn an_isolated_point_scores_high_and_a_blob_about_one() {
        let mut data: Vec<f32> = (0..30).flat_map(|i| [i as f32 * 0.01, 0.0]).collect();
        data.extend([10.0, 10.0]);
        let points = Points::new(&data, 2).unwrap();
        let params = OutlierParams {
            n_neighbors: 5,
            ..OutlierParams::new(OutlierMethod::Lof)
        };
        let scores = outlier_scores(&points, &params).unwrap();
        assert!(scores[30] > 10.0, "{}", scores[30]);
        assert!(
            scores[10..20].iter().all(|s| (s - 1.0).abs() < 0.05),
            "{scores:?}"
        );
        let knn = OutlierParams {
            n_neighbors: 3,
            ..OutlierParams::new(OutlierMethod::KnnDistance)
        };
        // Point 15's neighbours: 14 and 16 at 0.01, then 13 (or 17) at 0.02.
        let distances = outlier_scores(&points, &knn).unwrap();
        assert!((distances[15] - 0.02).abs() < 1e-6, "{}", distances[15]);
    }

    #[test]
    fn duplicates_and_k_above_the_points_are_handled_as_scikit_learn_does() {
        // Six identical points: every distance is 0, every lrd 1e10, every score 1; k = 20 is
        // capped at 5.
        let data = [3.0f32; 12];
        let points = Points::new(&data, 2).unwrap();
        let scores = outlier_scores(&points, &OutlierParams::new(OutlierMethod::Lof)).unwrap();
        assert_eq!(scores, vec![1.0; 6]);
        let knn = outlier_scores(&points, &OutlierParams::new(OutlierMethod::KnnDistance));
        assert_eq!(knn.unwrap(), vec![0.0; 6]);
        // Two points: each is the other's only neighbour.
        let points = Points::new(&[0.0, 0.0, 3.0, 4.0], 2).unwrap();
        let knn = OutlierParams::new(OutlierMethod::KnnDistance);
        assert_eq!(outlier_scores(&points, &knn).unwrap(), vec![5.0, 5.0]);
        let lof = outlier_scores(&points, &OutlierParams::new(OutlierMethod::Lof)).unwrap();
        assert_eq!(lof, vec![1.0, 1.0]);
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let points = Points::new(&[1.0, 2.0], 2).unwrap();
        let error = outlier_scores(&points, &OutlierParams::new(OutlierMethod::Lof));
        assert!(error.unwrap_err().to_string().contains("at least 2 points"));
        let points = Points::new(&[1.0, 2.0, 3.0, 4.0], 2).unwrap();
        let params = OutlierParams {
            n_neighbors: 0,
            ..OutlierParams::new(OutlierMethod::Lof)
        };
        let error = outlier_scores(&points, &params).unwrap_err().to_string();
        assert!(error.contains("n_neighbors must be at least 1"), "{error}");
    }

    /// `cargo test --release -p reeldb-linalg lof_timing -- --ignored --nocapture`: 20 000
    /// points of 64 dimensions in 20 blobs, k = 20.
    #[test]
    #[ignore = "a measurement"]
    #[allow(clippy::print_stderr)]
    fn lof_timing() {
        let (n, dim) = (20_000, 64);
        let mut rng = crate::SeededRng::new(1);
        let centres: Vec<f32> = (0..20 * dim).map(|_| rng.normal() as f32 * 5.0).collect();
        let data: Vec<f32> = (0..n)
            .flat_map(|i| {
                let c = (i % 20) * dim;
                (0..dim)
                    .map(|d| centres[c + d] + rng.normal() as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let points = Points::new(&data, dim).unwrap();
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            let params = OutlierParams {
                metric,
                ..OutlierParams::new(OutlierMethod::Lof)
            };
            let start = std::time::Instant::now();
            let scores = outlier_scores(&points, &params).unwrap();
            eprintln!(
                "{metric:?}: {:?} for {} scores",
                start.elapsed(),
                scores.len()
            );
        }
    }
}
