//! t-SNE: a 2-D map of vectors that keeps their neighbourhoods, as scikit-learn 1.7's
//! `TSNE(n_components=2, method="barnes_hut", init="pca")`.
//!
//! # Steps (scikit-learn's, from `sklearn/manifold/_t_sne.py`, `_utils.pyx` and
//! `_barnes_hut_tsne.pyx`)
//!
//! 1. The `k = min(n − 1, ⌊3·perplexity + 1⌋)` exact nearest neighbours of every point under
//!    the metric, the point itself left out.
//! 2. Conditional affinities `p_j|i ∝ exp(−β_i d_ij²)` over those neighbours, with `β_i` found
//!    by a binary search (at most 100 steps) until the entropy of row `i` is `ln(perplexity)`
//!    within 1e-5. Distances are squared first whatever the metric: for cosine that is
//!    `(1 − cos)²`, as scikit-learn, which squares the distances `NearestNeighbors` returns.
//! 3. The joint affinities `P = (C + Cᵀ) / Σ(C + Cᵀ)`, sparse.
//! 4. The start: the PCA scores of the vectors (raw vectors, whatever the metric, as
//!    scikit-learn), scaled so that the first column has standard deviation 1e-4.
//! 5. Gradient descent on KL(P‖Q) with a Student-t kernel (one degree of freedom): the
//!    attractive forces over the sparse `P`, the repulsive ones by Barnes–Hut
//!    (`quadtree.rs`) with accuracy `theta`. 250 iterations with `P` multiplied by
//!    `early_exaggeration` and momentum 0.5, then the rest with momentum 0.8 (the update and
//!    the gains start afresh, as in scikit-learn); per-coordinate gains (+0.2 when the
//!    gradient changes sign against the update, ×0.8 otherwise, at least 0.01); learning rate
//!    `max(n / early_exaggeration / 4, 50)` unless given. Every 50 iterations the KL
//!    divergence and the gradient norm are checked: the descent stops when the norm is at
//!    most 1e-7, or (after the exaggeration phase) when the divergence has not improved for
//!    more than 300 iterations.
//!
//! # Differences from scikit-learn
//!
//! - The embedding, the updates, the gains and the per-point sums are `f64`; the per-pair
//!   terms of the gradient are `f32`, as everything is in scikit-learn. Joint affinities
//!   below 1e-30 are left out (they weigh nothing next to a total of 1).
//! - The Barnes–Hut walk is shared by the points of a leaf and is slightly more accurate for
//!   the same θ; the quadtree differs in small ways (see `quadtree.rs`). So the maps are not
//!   equal number for number, but of the same quality: on 10 000 × 384 and × 512 Gaussian
//!   blobs the trustworthiness (k = 10) of both maps agrees to 1e-4.
//! - scikit-learn's PCA start uses its randomised solver; ours is exact. A 1-dimensional
//!   input (which scikit-learn refuses with `init="pca"`) starts on a line and stays on it.
//! - One point gives `[0, 0]` (scikit-learn needs two); points that are all identical give
//!   zeros (scikit-learn divides by a zero standard deviation).
//!
//! # Determinism and the seed
//!
//! The result is a function of the input and the parameters only: the nearest neighbours,
//! the affinities and the PCA start are deterministic, and every parallel step sums each
//! point's terms in a fixed order, so the map is bit-identical whatever the number of
//! threads. With the PCA start nothing is random, so [`TsneParams::seed`] does not change
//! the result; it is accepted so that a random start can be offered later without changing
//! the interface.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::neighbours::{ClusterMetric, Prepared, k_nearest};
use crate::points::Points;
use crate::projection::pca::pca;
use crate::projection::quadtree::QuadTree;

/// Iterations with exaggerated affinities (scikit-learn's `_EXPLORATION_MAX_ITER`).
const EXPLORATION_ITERATIONS: usize = 250;
/// Iterations between checks of the divergence and the gradient norm (`_N_ITER_CHECK`).
const CHECK_EVERY: usize = 50;
/// Iterations without a better divergence after which the descent stops.
const ITERATIONS_WITHOUT_PROGRESS: usize = 300;
/// The descent stops when the norm of the (gain-scaled) gradient is at most this.
const MIN_GRADIENT_NORM: f64 = 1e-7;
/// The smallest gain of a coordinate.
const MIN_GAIN: f64 = 0.01;
/// Steps of the binary search for each point's bandwidth.
const BANDWIDTH_STEPS: usize = 100;
/// Tolerance of that search on the entropy (natural log), as scikit-learn (an `f32` there).
const ENTROPY_TOLERANCE: f64 = 1e-5;
/// What a row's sum of affinities becomes when every term underflows (`EPSILON_DBL`, a C
/// `float` holding 1e-8 in scikit-learn).
const EMPTY_ROW_SUM: f64 = 1e-8_f32 as f64;
/// The smallest positive `f32`, which bounds the terms of the divergence as in scikit-learn.
const FLOAT32_TINY: f64 = f32::MIN_POSITIVE as f64;
/// Joint affinities below this are left out (see `Affinities::new`).
const NEGLIGIBLE_AFFINITY: f64 = 1e-30;
/// Points per parallel task of the attractive forces.
const POINTS_PER_TASK: usize = 256;

/// The parameters of [`tsne`]; [`TsneParams::new`] gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TsneParams {
    /// The effective number of neighbours each point keeps (> 0 and less than the number of
    /// points); 30 by default.
    pub perplexity: f64,
    /// Accepted for a future random start; the PCA start makes the result independent of it
    /// (see the module documentation). 0 by default.
    pub seed: u64,
    /// Total iterations, the 250 of early exaggeration included (at least 250); 1000 by
    /// default.
    pub iterations: usize,
    /// The step size; `None` (the default) is scikit-learn's `"auto"`:
    /// `max(n / early_exaggeration / 4, 50)`.
    pub learning_rate: Option<f64>,
    /// The factor on the affinities during the first 250 iterations (at least 1); 12 by
    /// default.
    pub early_exaggeration: f64,
    /// Accuracy of the Barnes–Hut approximation, 0 (exact, slow) to 1; 0.5 by default
    /// (scikit-learn's `angle`).
    pub theta: f64,
    /// The distance between the vectors; Euclidean by default.
    pub metric: ClusterMetric,
}

impl TsneParams {
    /// scikit-learn's defaults: perplexity 30, 1000 iterations, automatic learning rate,
    /// early exaggeration 12, theta 0.5, Euclidean, seed 0.
    pub fn new() -> Self {
        TsneParams {
            perplexity: 30.0,
            seed: 0,
            iterations: 1000,
            learning_rate: None,
            early_exaggeration: 12.0,
            theta: 0.5,
            metric: ClusterMetric::Euclidean,
        }
    }

    /// Refuses parameters scikit-learn refuses, whatever the data.
    fn validate(&self) -> Result<()> {
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "t-SNE perplexity must be a positive number, got {}; use a value such as 30 \
                 (5 to 50 is usual)",
                self.perplexity
            )));
        }
        if self.iterations < EXPLORATION_ITERATIONS {
            return Err(Error::InvalidArgument(format!(
                "t-SNE needs at least {EXPLORATION_ITERATIONS} iterations (the early \
                 exaggeration phase), got {}; use 250 or more (1000 is the default)",
                self.iterations
            )));
        }
        if let Some(rate) = self.learning_rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(Error::InvalidArgument(format!(
                "t-SNE learning rate must be a positive number, got {rate}; leave it unset \
                 for the automatic rate, or use e.g. 200"
            )));
        }
        if !(self.early_exaggeration.is_finite() && self.early_exaggeration >= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "t-SNE early exaggeration must be at least 1, got {}; use 12 (the default)",
                self.early_exaggeration
            )));
        }
        if !(0.0..=1.0).contains(&self.theta) {
            return Err(Error::InvalidArgument(format!(
                "t-SNE theta must be between 0 and 1, got {}; use 0.5 (the default)",
                self.theta
            )));
        }
        Ok(())
    }
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams::new()
    }
}

/// The t-SNE map of `points`: `len × 2` values, row-major.
pub fn tsne(points: &Points<'_>, params: &TsneParams) -> Result<Vec<f32>> {
    params.validate()?;
    let n = points.len();
    if n <= 1 {
        return Ok(vec![0.0; 2 * n]);
    }
    if params.perplexity >= n as f64 {
        return Err(Error::InvalidArgument(format!(
            "t-SNE perplexity ({}) must be less than the number of points ({n}); use a \
             perplexity below {n} (around n / 3 at most gives a meaningful map)",
            params.perplexity
        )));
    }
    let Some(start) = initial_embedding(points)? else {
        // All points identical: no spread to start from, and none to find.
        return Ok(vec![0.0; 2 * n]);
    };
    let affinities = Affinities::new(points, params);
    let learning_rate = params
        .learning_rate
        .unwrap_or_else(|| (n as f64 / params.early_exaggeration / 4.0).max(50.0));
    let mut descent = Descent {
        affinities: &affinities,
        positions: start,
        tree: QuadTree::new(),
        theta: params.theta,
        learning_rate,
    };
    let last = descent.run(
        0,
        EXPLORATION_ITERATIONS,
        0.5,
        params.early_exaggeration,
        EXPLORATION_ITERATIONS,
    );
    descent.run(
        last + 1,
        params.iterations,
        0.8,
        1.0,
        ITERATIONS_WITHOUT_PROGRESS,
    );
    Ok(descent
        .positions
        .iter()
        .flat_map(|p| [p[0] as f32, p[1] as f32])
        .collect())
}

/// The PCA scores scaled so that the first column has standard deviation 1e-4 (scikit-learn's
/// `init="pca"`); `None` when that deviation is 0 (all points identical).
fn initial_embedding(points: &Points<'_>) -> Result<Option<Vec<[f64; 2]>>> {
    let components = points.dim().min(2);
    let scores = pca(points, components)?;
    let n = points.len();
    let first: Vec<f64> = scores
        .iter()
        .step_by(components)
        .map(|&v| v as f64)
        .collect();
    let mean = first.iter().sum::<f64>() / n as f64;
    let deviation = (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    if deviation == 0.0 {
        return Ok(None);
    }
    let scale = 1e-4 / deviation;
    Ok(Some(
        scores
            .chunks_exact(components)
            .map(|row| {
                let second = if components == 2 { row[1] as f64 } else { 0.0 };
                [row[0] as f64 * scale, second * scale]
            })
            .collect(),
    ))
}

/// The joint affinities `P`, sparse and symmetric, rows in compressed form.
#[derive(Debug)]
struct Affinities {
    /// Row `i` is `starts[i]..starts[i + 1]` of `columns` and `values`.
    starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f64>,
    /// The same in `f32`, for the gradient.
    values32: Vec<f32>,
}

impl Affinities {
    /// Steps 1 to 3 of the module documentation.
    fn new(points: &Points<'_>, params: &TsneParams) -> Self {
        let n = points.len();
        let k = (n - 1).min((3.0 * params.perplexity + 1.0) as usize);
        let prepared = Prepared::new(points, params.metric);
        let found = k_nearest(&prepared, k + 1);
        // The neighbours without the point itself (usually first, but a duplicate with a
        // smaller index may come before it), and their squared distances in f32 as
        // scikit-learn's.
        let mut neighbours = vec![0u32; n * k];
        let mut squared = vec![0f32; n * k];
        for i in 0..n {
            let others = found
                .indices(i)
                .iter()
                .zip(found.distances(i))
                .filter(|&(&j, _)| j as usize != i)
                .take(k);
            for (slot, (&j, &d)) in others.enumerate() {
                neighbours[i * k + slot] = j;
                squared[i * k + slot] = d * d;
            }
        }
        let conditional = conditional_affinities(&squared, k, params.perplexity);

        // P = C + Cᵀ: every row gathers its own terms and those that name it, in a fixed
        // order, then merges the repeated columns.
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::with_capacity(2 * k); n];
        for i in 0..n {
            for slot in 0..k {
                let j = neighbours[i * k + slot];
                let c = conditional[i * k + slot];
                rows[i].push((j, c));
                rows[j as usize].push((i as u32, c));
            }
        }
        let mut starts = Vec::with_capacity(n + 1);
        let mut columns = Vec::with_capacity(2 * n * k);
        let mut values = Vec::with_capacity(2 * n * k);
        starts.push(0);
        for mut row in rows {
            row.sort_by_key(|&(j, _)| j);
            for (j, c) in row {
                if columns.len() > *starts.last().expect("starts begins with 0")
                    && columns.last() == Some(&j)
                {
                    *values.last_mut().expect("a column has a value") += c;
                } else {
                    columns.push(j);
                    values.push(c);
                }
            }
            starts.push(columns.len());
        }
        let total = values.iter().sum::<f64>().max(f64::EPSILON);
        values.iter_mut().for_each(|v| *v /= total);
        // Affinities below 1e-30 pull with no measurable force (P sums to 1), and in the f32
        // sums of the gradient they would be subnormal numbers, which are slow: leave them
        // out. P stays symmetric: p_ij and p_ji are the same two terms added.
        let mut kept = 0;
        let mut start = 0;
        for i in 0..n {
            let end = starts[i + 1];
            for at in start..end {
                if values[at] >= NEGLIGIBLE_AFFINITY {
                    columns[kept] = columns[at];
                    values[kept] = values[at];
                    kept += 1;
                }
            }
            start = end;
            starts[i + 1] = kept;
        }
        columns.truncate(kept);
        values.truncate(kept);
        let values32 = values.iter().map(|&v| v as f32).collect();
        Affinities {
            starts,
            columns,
            values,
            values32,
        }
    }

    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.starts[i]..self.starts[i + 1];
        (&self.columns[range.clone()], &self.values[range])
    }
}

/// The conditional affinities `p_j|i` of every row of `k` squared distances, each row's
/// bandwidth found by scikit-learn's binary search (`_binary_search_perplexity`).
fn conditional_affinities(squared: &[f32], k: usize, perplexity: f64) -> Vec<f64> {
    // scikit-learn passes the perplexity as a C float.
    let desired_entropy = (perplexity as f32 as f64).ln();
    let mut out = vec![0f64; squared.len()];
    out.par_chunks_mut(k)
        .zip(squared.par_chunks(k))
        .for_each(|(p, distances)| {
            let (mut beta, mut beta_min, mut beta_max) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
            for _ in 0..BANDWIDTH_STEPS {
                let mut sum = 0.0;
                for (p, &d) in p.iter_mut().zip(distances) {
                    *p = (-(d as f64) * beta).exp();
                    sum += *p;
                }
                if sum == 0.0 {
                    sum = EMPTY_ROW_SUM;
                }
                let mut weighted = 0.0;
                for (p, &d) in p.iter_mut().zip(distances) {
                    *p /= sum;
                    weighted += d as f64 * *p;
                }
                let entropy_difference = sum.ln() + beta * weighted - desired_entropy;
                if entropy_difference.abs() <= ENTROPY_TOLERANCE {
                    break;
                }
                if entropy_difference > 0.0 {
                    beta_min = beta;
                    beta = if beta_max == f64::INFINITY {
                        beta * 2.0
                    } else {
                        (beta + beta_max) / 2.0
                    };
                } else {
                    beta_max = beta;
                    beta = if beta_min == f64::NEG_INFINITY {
                        beta / 2.0
                    } else {
                        (beta + beta_min) / 2.0
                    };
                }
            }
        });
    out
}

/// The state of the gradient descent.
struct Descent<'a> {
    affinities: &'a Affinities,
    positions: Vec<[f64; 2]>,
    tree: QuadTree,
    theta: f64,
    learning_rate: f64,
}

impl Descent<'_> {
    /// scikit-learn's `_gradient_descent` from iteration `first` to `end` (exclusive), the
    /// affinities multiplied by `exaggeration`; returns the last iteration run.
    fn run(
        &mut self,
        first: usize,
        end: usize,
        momentum: f64,
        exaggeration: f64,
        without_progress: usize,
    ) -> usize {
        let n = self.positions.len();
        let mut update = vec![[0f64; 2]; n];
        let mut gains = vec![[1f64; 2]; n];
        let mut best_error = f64::MAX;
        let mut best_iteration = first;
        let mut last = first;
        for iteration in first..end {
            last = iteration;
            let check = (iteration + 1).is_multiple_of(CHECK_EVERY);
            let (mut gradient, error) = self.gradient(exaggeration, check);
            for ((g, u), (gain, p)) in gradient
                .iter_mut()
                .zip(update.iter_mut())
                .zip(gains.iter_mut().zip(self.positions.iter_mut()))
            {
                for axis in 0..2 {
                    gain[axis] = if u[axis] * g[axis] < 0.0 {
                        gain[axis] + 0.2
                    } else {
                        gain[axis] * 0.8
                    }
                    .max(MIN_GAIN);
                    g[axis] *= gain[axis];
                    u[axis] = momentum * u[axis] - self.learning_rate * g[axis];
                    p[axis] += u[axis];
                }
            }
            if check {
                let norm = gradient
                    .iter()
                    .map(|g| g[0] * g[0] + g[1] * g[1])
                    .sum::<f64>()
                    .sqrt();
                if error < best_error {
                    best_error = error;
                    best_iteration = iteration;
                } else if iteration - best_iteration > without_progress {
                    break;
                }
                if norm <= MIN_GRADIENT_NORM {
                    break;
                }
            }
        }
        last
    }

    /// The gradient of KL(P‖Q) at the current positions, and the divergence itself when
    /// `with_error` (NaN otherwise).
    fn gradient(&mut self, exaggeration: f64, with_error: bool) -> (Vec<[f64; 2]>, f64) {
        self.tree.build(&self.positions);
        let repulsion = self.tree.repulsion(self.theta);
        let sum_q = repulsion.sum_q.max(f64::EPSILON);
        let positions = &self.positions;
        let affinities = self.affinities;
        let n = positions.len();
        let mut gradient = vec![[0f64; 2]; n];
        let mut errors = vec![0f64; n.div_ceil(POINTS_PER_TASK)];
        gradient
            .par_chunks_mut(POINTS_PER_TASK)
            .zip(errors.par_iter_mut())
            .enumerate()
            .for_each_init(Attraction::default, |attraction, (task, (chunk, error))| {
                for (offset, g) in chunk.iter_mut().enumerate() {
                    let i = task * POINTS_PER_TASK + offset;
                    attraction.gather(affinities, positions, i);
                    let [fx, fy] = attraction.sum();
                    if with_error {
                        *error += divergence(affinities, positions, i, exaggeration, sum_q);
                    }
                    let [rx, ry] = repulsion.forces[i];
                    // 2 (dof + 1) / dof = 4 for one degree of freedom.
                    *g = [
                        4.0 * (exaggeration * fx - rx / sum_q),
                        4.0 * (exaggeration * fy - ry / sum_q),
                    ];
                }
            });
        let error = if with_error {
            errors.iter().sum()
        } else {
            f64::NAN
        };
        (gradient, error)
    }
}

/// Lanes of the attraction sums (as in the quadtree's sums of the repulsion).
const LANES: usize = 8;

/// The neighbours pulling on one point: offsets from it and affinities, in row order, each
/// in its own array; gathered first, then summed in a loop the compiler vectorises.
#[derive(Debug, Default)]
struct Attraction {
    dx: Vec<f32>,
    dy: Vec<f32>,
    p: Vec<f32>,
}

impl Attraction {
    /// Gathers row `i` of the affinities at the current positions, padded with weightless
    /// terms to whole batches of [`LANES`].
    fn gather(&mut self, affinities: &Affinities, positions: &[[f64; 2]], i: usize) {
        let range = affinities.starts[i]..affinities.starts[i + 1];
        let padded = range.len().div_ceil(LANES) * LANES;
        for v in [&mut self.dx, &mut self.dy, &mut self.p] {
            v.clear();
            v.resize(padded, 0.0);
        }
        let [x, y] = positions[i];
        let terms = affinities.columns[range.clone()]
            .iter()
            .zip(&affinities.values32[range]);
        for (((dx, dy), p), (&j, &affinity)) in self
            .dx
            .iter_mut()
            .zip(self.dy.iter_mut())
            .zip(self.p.iter_mut())
            .zip(terms)
        {
            let [xj, yj] = positions[j as usize];
            *dx = (x - xj) as f32;
            *dy = (y - yj) as f32;
            *p = affinity;
        }
    }

    /// `(Σ p q dx, Σ p q dy)` with `q = 1 / (1 + dx² + dy²)`, summed in [`LANES`] independent
    /// lanes (a fixed order) and then across them.
    fn sum(&self) -> [f64; 2] {
        let mut fx = [0f32; LANES];
        let mut fy = [0f32; LANES];
        let (dxs, _) = self.dx.as_chunks::<LANES>();
        let (dys, _) = self.dy.as_chunks::<LANES>();
        let (ps, _) = self.p.as_chunks::<LANES>();
        for ((dx, dy), p) in dxs.iter().zip(dys).zip(ps) {
            for lane in 0..LANES {
                let pq = p[lane] / (1.0 + dx[lane] * dx[lane] + dy[lane] * dy[lane]);
                fx[lane] += pq * dx[lane];
                fy[lane] += pq * dy[lane];
            }
        }
        let total = |lanes: &[f32; LANES]| lanes.iter().map(|&v| v as f64).sum::<f64>();
        [total(&fx), total(&fy)]
    }
}

/// Row `i`'s terms of KL(P‖Q), `Σ p log(p / (q / Z))` with both ratios kept above the smallest
/// `f32`, as scikit-learn's `compute_gradient_positive`.
fn divergence(
    affinities: &Affinities,
    positions: &[[f64; 2]],
    i: usize,
    exaggeration: f64,
    sum_q: f64,
) -> f64 {
    let (columns, values) = affinities.row(i);
    let [x, y] = positions[i];
    columns
        .iter()
        .zip(values)
        .map(|(&j, &p)| {
            let [xj, yj] = positions[j as usize];
            let p = p * exaggeration;
            let q = 1.0 / (1.0 + (x - xj).powi(2) + (y - yj).powi(2));
            p * (p.max(FLOAT32_TINY) / (q / sum_q).max(FLOAT32_TINY)).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::trustworthiness::trustworthiness;
    use crate::rng::SeededRng;

    /// `blobs` Gaussian blobs of `per_blob` points in `dim` dimensions: centres drawn with
    /// spread 4, points with spread 1 around them.
    pub(super) fn blobs(blobs: usize, per_blob: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        let centres: Vec<f64> = (0..blobs * dim).map(|_| rng.normal() * 4.0).collect();
        let mut data = Vec::with_capacity(blobs * per_blob * dim);
        for i in 0..blobs * per_blob {
            let centre = &centres[(i % blobs) * dim..][..dim];
            data.extend(centre.iter().map(|c| (c + rng.normal()) as f32));
        }
        data
    }

    fn quick() -> TsneParams {
        TsneParams {
            perplexity: 20.0,
            iterations: 400,
            ..TsneParams::new()
        }
    }

    #[test]
    fn the_map_keeps_neighbourhoods() {
        let data = blobs(5, 60, 50, 1);
        let points = Points::new(&data, 50).unwrap();
        let map = tsne(&points, &TsneParams::new()).unwrap();
        assert_eq!(map.len(), 600);
        assert!(map.iter().all(|v| v.is_finite()));
        let embedded = Points::new(&map, 2).unwrap();
        let t = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
        assert!(t > 0.9, "t-SNE trustworthiness {t}");
        let scores = pca(&points, 2).unwrap();
        let embedded = Points::new(&scores, 2).unwrap();
        let t_pca = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
        assert!(t_pca > 0.7, "PCA trustworthiness {t_pca}");
        assert!(t > t_pca, "t-SNE {t} should beat PCA {t_pca}");
    }

    #[test]
    fn blobs_end_up_apart() {
        let data = blobs(3, 40, 20, 2);
        let points = Points::new(&data, 20).unwrap();
        let map = tsne(&points, &quick()).unwrap();
        // Every point is nearer to the centroid of its own blob than to any other.
        let centroid = |b: usize| {
            let rows: Vec<&[f32]> = map.chunks_exact(2).skip(b).step_by(3).collect();
            let n = rows.len() as f32;
            [
                rows.iter().map(|r| r[0]).sum::<f32>() / n,
                rows.iter().map(|r| r[1]).sum::<f32>() / n,
            ]
        };
        let centroids = [centroid(0), centroid(1), centroid(2)];
        for (i, p) in map.chunks_exact(2).enumerate() {
            let distance = |c: &[f32; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
            let nearest = (0..3)
                .min_by(|&a, &b| distance(&centroids[a]).total_cmp(&distance(&centroids[b])))
                .unwrap();
            assert_eq!(nearest, i % 3, "point {i}");
        }
    }

    #[test]
    fn the_result_is_reproducible_and_independent_of_threads() {
        let data = blobs(4, 50, 16, 3);
        let points = Points::new(&data, 16).unwrap();
        let params = quick();
        let first = tsne(&points, &params).unwrap();
        assert_eq!(first, tsne(&points, &params).unwrap());
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| tsne(&points, &params).unwrap());
        assert_eq!(first, one_thread);
        // The seed plays no part with the PCA start.
        let reseeded = TsneParams { seed: 99, ..params };
        assert_eq!(first, tsne(&points, &reseeded).unwrap());
    }

    #[test]
    fn cosine_uses_directions_only() {
        // Scaling a vector changes nothing under cosine: the neighbours, hence the map's
        // neighbourhoods, stay the same.
        let data = blobs(3, 30, 8, 4);
        let scaled: Vec<f32> = data
            .chunks_exact(8)
            .enumerate()
            .flat_map(|(i, row)| row.iter().map(move |v| v * (1.0 + (i % 5) as f32)))
            .collect();
        let points = Points::new(&scaled, 8).unwrap();
        let params = TsneParams {
            metric: ClusterMetric::Cosine,
            ..quick()
        };
        let map = tsne(&points, &params).unwrap();
        let embedded = Points::new(&map, 2).unwrap();
        let t = trustworthiness(&points, &embedded, 5, ClusterMetric::Cosine).unwrap();
        assert!(t > 0.85, "{t}");
    }

    #[test]
    fn affinities_are_symmetric_and_sum_to_one() {
        let data = blobs(2, 15, 4, 5);
        let points = Points::new(&data, 4).unwrap();
        let params = TsneParams {
            perplexity: 5.0,
            ..TsneParams::new()
        };
        let p = Affinities::new(&points, &params);
        let total: f64 = p.values.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        let value = |i: usize, j: u32| {
            let (columns, values) = p.row(i);
            columns.iter().position(|&c| c == j).map(|at| values[at])
        };
        for i in 0..30 {
            let (columns, values) = p.row(i);
            assert!(columns.windows(2).all(|w| w[0] < w[1]));
            assert!(!columns.contains(&(i as u32)));
            for (&j, &v) in columns.iter().zip(values) {
                assert_eq!(value(j as usize, i as u32), Some(v));
            }
        }
    }

    #[test]
    fn the_bandwidth_search_reaches_the_perplexity() {
        let squared: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).powi(2)).collect();
        let p = conditional_affinities(&squared, 40, 10.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let entropy: f64 = p.iter().filter(|&&v| v > 0.0).map(|v| -v * v.ln()).sum();
        assert!((entropy.exp() - 10.0).abs() < 1e-3, "{}", entropy.exp());
    }

    #[test]
    fn tiny_and_degenerate_inputs_have_defined_maps() {
        let empty = Points::new(&[], 3).unwrap();
        assert!(tsne(&empty, &TsneParams::new()).unwrap().is_empty());
        let one = Points::new(&[1.0, 2.0, 3.0], 3).unwrap();
        assert_eq!(tsne(&one, &TsneParams::new()).unwrap(), vec![0.0, 0.0]);
        let same = [0.5f32, -1.0, 2.0].repeat(12);
        let points = Points::new(&same, 3).unwrap();
        let params = TsneParams {
            perplexity: 3.0,
            ..quick()
        };
        assert_eq!(tsne(&points, &params).unwrap(), vec![0.0; 24]);
        // Duplicates among distinct points, and a single dimension.
        let line: Vec<f32> = (0..30).map(|i| (i / 2) as f32).collect();
        let points = Points::new(&line, 1).unwrap();
        let map = tsne(&points, &params).unwrap();
        assert!(map.iter().all(|v| v.is_finite()));
        assert!(map.chunks_exact(2).any(|p| p != &map[0..2]));
        // Two points.
        let two = Points::new(&[0.0, 0.0, 1.0, 1.0], 2).unwrap();
        let params = TsneParams {
            perplexity: 1.0,
            ..quick()
        };
        let map = tsne(&two, &params).unwrap();
        assert!(map.iter().all(|v| v.is_finite()) && map[0..2] != map[2..4]);
    }

    #[test]
    fn bad_parameters_are_refused_with_the_fix() {
        let data = blobs(2, 10, 3, 6);
        let points = Points::new(&data, 3).unwrap();
        let error = |params: TsneParams| tsne(&points, &params).unwrap_err().to_string();
        let message = error(TsneParams::new());
        assert!(message.contains("number of points (20)") && message.contains("below 20"));
        for perplexity in [0.0, -1.0, f64::NAN] {
            let message = error(TsneParams {
                perplexity,
                ..TsneParams::new()
            });
            assert!(message.contains("positive"), "{message}");
        }
        let message = error(TsneParams {
            iterations: 100,
            ..quick()
        });
        assert!(message.contains("250 or more"), "{message}");
        let message = error(TsneParams {
            learning_rate: Some(0.0),
            ..quick()
        });
        assert!(message.contains("learning rate"), "{message}");
        let message = error(TsneParams {
            early_exaggeration: 0.5,
            ..quick()
        });
        assert!(message.contains("at least 1"), "{message}");
        let message = error(TsneParams {
            theta: 1.5,
            ..quick()
        });
        assert!(message.contains("between 0 and 1"), "{message}");
        // Bad parameters are refused even when there is nothing to map.
        let empty = Points::new(&[], 3).unwrap();
        let bad = TsneParams {
            perplexity: 0.0,
            ..TsneParams::new()
        };
        assert!(tsne(&empty, &bad).is_err());
    }
}

/// Timings against scikit-learn, run by hand:
/// `cargo test --profile bench-fast -p reeldb-engine --lib projection -- --ignored --nocapture`.
/// They read raw little-endian `f32` files from `/tmp/projection` (and skip when they are
/// missing), written with numpy:
/// `make_blobs(n_samples, n_features, centers=20, cluster_std=2.0, random_state=0)` as
/// `blobs_{10k_384,10k_512,100k_512}.f32`, and scikit-learn's own outputs on them
/// (`sk_pca_100k.f32`, `sk_tsne_10k_{384,512}.f32`).
#[cfg(test)]
mod bench {
    use super::*;
    use crate::projection::read_f32_file as read;
    use crate::projection::trustworthiness::trustworthiness;
    use std::time::Instant;

    #[allow(clippy::print_stdout)]
    fn run(dim: usize) {
        let Some(data) = read(&format!("/tmp/projection/blobs_10k_{dim}.f32")) else {
            println!("no data in /tmp/projection: skipped");
            return;
        };
        let points = Points::new(&data, dim).unwrap();
        let start = Instant::now();
        let _ = k_nearest(&Prepared::new(&points, ClusterMetric::Euclidean), 92);
        println!("its 91 nearest neighbours alone: {:?}", start.elapsed());
        let start = Instant::now();
        let map = tsne(&points, &TsneParams::new()).unwrap();
        println!("t-SNE 10k x {dim}: {:?}", start.elapsed());
        let bytes: Vec<u8> = map.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(format!("/tmp/projection/ours_tsne_10k_{dim}.f32"), bytes).unwrap();
        let embedded = Points::new(&map, 2).unwrap();
        let t = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
        println!("trustworthiness (k = 10) of our map: {t:.5}");
        if let Some(theirs) = read(&format!("/tmp/projection/sk_tsne_10k_{dim}.f32")) {
            let embedded = Points::new(&theirs, 2).unwrap();
            let t = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
            println!("trustworthiness (k = 10) of scikit-learn's map: {t:.5}");
        }
    }

    #[test]
    #[ignore]
    #[allow(clippy::print_stdout)]
    fn bench_descent_10k_x_10() {
        // Few dimensions: the neighbour search is cheap and the descent dominates.
        let data = tests::blobs(20, 500, 10, 9);
        let points = Points::new(&data, 10).unwrap();
        let start = Instant::now();
        let map = tsne(&points, &TsneParams::new()).unwrap();
        println!("t-SNE 10k x 10: {:?}", start.elapsed());
        let embedded = Points::new(&map, 2).unwrap();
        let t = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
        println!("trustworthiness (k = 10): {t:.5}");
    }

    #[test]
    #[ignore]
    fn bench_tsne_10k_384() {
        run(384);
    }

    #[test]
    #[ignore]
    fn bench_tsne_10k_512() {
        run(512);
    }
}
