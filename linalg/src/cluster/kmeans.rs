//! k-means by Lloyd's algorithm, with k-means++ seeding: scikit-learn's
//! `KMeans(algorithm="lloyd")` (1.7.2, `sklearn/cluster/_kmeans.py`, `_k_means_lloyd.pyx`,
//! `_k_means_common.pyx`), step for step, so that from the same initial centres it finds the
//! same labels.
//!
//! What is the same as scikit-learn:
//! - The data are centred on their mean before clustering (and the centres moved back after),
//!   which keeps `‖x‖² + ‖c‖² − 2 x·c` accurate in `f32`.
//! - Each iteration assigns every point to its nearest centre (the first one on a tie), then
//!   moves each centre to the mean of its points. Distances are compared as scikit-learn
//!   does, `‖c‖² − 2 x·c` in `f32`, except where two centres are closer than that rounding:
//!   those are compared again in `f64`, so a near-tie goes to the truly nearest centre rather
//!   than to whichever the rounding favours.
//! - A cluster left empty takes the point farthest from its own centre (the next farthest for
//!   the next empty cluster), unless every point sits exactly on its centre.
//! - It stops when the labels did not change ("strict convergence") or when the squared
//!   shifts of the centres sum to at most `tolerance` × the mean variance of the features,
//!   and if it stopped for any other reason the labels are computed once more against the
//!   final centres. `iterations` counts the iterations run.
//! - k-means++ is the greedy variant: each new centre is the best (lowest total squared
//!   distance) of `2 + ⌊ln k⌋` candidates drawn with probability proportional to the squared
//!   distance to the nearest centre so far.
//! - Of `n_init` runs the one with the lowest inertia wins (an earlier run is kept when a
//!   later one finds the same partition with a slightly lower inertia from rounding).
//!   Given initial centres, there is one run, whatever `n_init` says.
//!
//! What differs:
//! - Random numbers come from [`SeededRng`], not NumPy, so k-means++ picks different (but
//!   equally good) starting centres from scikit-learn for the same seed. Run `r` draws from
//!   `SeededRng::new(seed).fork(r)`, so runs go in parallel and stay reproducible.
//! - Centre sums are `f64` (scikit-learn sums in the data's `f32`), and when several clusters
//!   are empty at once they take the farthest points in order of distance (scikit-learn's
//!   `argpartition` leaves that order unspecified).
//! - Fewer distinct points than `k` (for example all rows identical) is not an error: some
//!   clusters stay empty, no point carries their label, and their centre is reported as a
//!   copy of the largest cluster's centre (scikit-learn warns and also returns duplicated
//!   centres).
//!
//! Speed without changing the result: the triangle inequality proves, for most points once
//! the centres settle, that a point keeps its centre, with a margin wider than the rounding
//! of the distances, so those distances are not computed (Hamerly's bounds in Lloyd's
//! iterations, and the same idea in k-means++); the centres' sums are kept between
//! iterations and only points that changed cluster update them; points are handled in
//! parallel and every sum is added in a fixed order, so results do not depend on the
//! number of threads.
//!
//! Identical labels to scikit-learn's need data without near-ties: where two centres are
//! within the `f32` rounding of a point's distances, scikit-learn's choice is its rounding's
//! (it does not even agree with itself between 1 and 2 threads there) while this one takes
//! the truly nearest, and one different label can steer the later iterations apart.
//!
//! Euclidean distance only: to cluster by cosine, normalise the vectors to unit length first
//! (on unit vectors squared Euclidean distance is `2 − 2 cos`).

use rayon::prelude::*;

use crate::distance::{dot, squared_l2};
use crate::error::{Error, Result};
use crate::points::Points;
use crate::rng::SeededRng;

/// Points handled per parallel task: large enough to amortise the task, small enough to
/// balance two to a few dozen threads.
const ROWS_PER_TASK: usize = 1024;

/// How the first centres are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum KMeansInit {
    /// k-means++ seeding from the run's random numbers.
    PlusPlus,
    /// These centres: `k` rows of `dim` values, row-major.
    Centres(Vec<f32>),
}

/// The parameters of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// The number of clusters.
    pub k: usize,
    /// Seed of the random numbers (k-means++).
    pub seed: u64,
    /// Independent runs; the one with the lowest inertia is returned.
    pub n_init: usize,
    /// The most iterations of one run.
    pub max_iter: usize,
    /// Convergence threshold, relative to the mean variance of the features (as
    /// scikit-learn's `tol`).
    pub tolerance: f64,
    /// How the first centres are chosen.
    pub init: KMeansInit,
}

impl KMeansParams {
    /// scikit-learn's defaults for `k` clusters: seed 0, one run of at most 300 iterations,
    /// tolerance 1e-4, k-means++.
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            seed: 0,
            n_init: 1,
            max_iter: 300,
            tolerance: 1e-4,
            init: KMeansInit::PlusPlus,
        }
    }
}

/// A clustering found by [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    /// The cluster of each point, `0..k`.
    pub labels: Vec<i64>,
    /// The `k` centres, row-major (`k × dim`).
    pub centres: Vec<f32>,
    /// The sum of the squared distances of the points to their centres.
    pub inertia: f64,
    /// The iterations the returned run took.
    pub iterations: usize,
}

/// Clusters `points` into `params.k` clusters (see the module documentation for the exact
/// algorithm). Deterministic: the same points and parameters give bit-identical results on
/// any number of threads.
pub fn kmeans(points: &Points<'_>, params: &KMeansParams) -> Result<KMeansResult> {
    check(points.len(), points.dim(), params)?;
    Centred::of(points).kmeans(params)
}

impl Centred {
    /// [`kmeans`] on these points: callers that cluster the same points many times
    /// (`choose_k`) centre them once.
    pub(crate) fn kmeans(&self, params: &KMeansParams) -> Result<KMeansResult> {
        let dim = self.dim;
        check(self.len(), dim, params)?;
        let tolerance = params.tolerance * self.mean_variance;
        let root = SeededRng::new(params.seed);
        let runs = match &params.init {
            KMeansInit::Centres(_) => 1,
            KMeansInit::PlusPlus => params.n_init,
        };
        let results: Vec<Run> = (0..runs)
            .into_par_iter()
            .map(|run| {
                let (initial, bounds) = match &params.init {
                    KMeansInit::Centres(centres) => (
                        centres
                            .chunks_exact(dim)
                            .flat_map(|row| row.iter().zip(&self.mean).map(|(v, m)| v - m))
                            .collect(),
                        Bounds::unknown(self.len()),
                    ),
                    KMeansInit::PlusPlus => plus_plus(self, params.k, &mut root.fork(run as u64)),
                };
                lloyd(self, initial, bounds, params.max_iter, tolerance)
            })
            .collect();

        // A later run replaces the kept one only if it is better and not the same partition
        // (whose lower inertia would be rounding), as scikit-learn's `fit`.
        let mut results = results.into_iter();
        let mut best = results
            .next()
            .ok_or_else(|| Error::Internal("k-means made no run".into()))?;
        for run in results {
            if run.inertia < best.inertia && !same_partition(&run.labels, &best.labels, params.k) {
                best = run;
            }
        }
        let Run {
            labels,
            mut centres,
            inertia,
            iterations,
        } = best;
        for row in centres.chunks_exact_mut(dim) {
            row.iter_mut().zip(&self.mean).for_each(|(v, m)| *v += m);
        }
        Ok(KMeansResult {
            labels: labels.into_iter().map(i64::from).collect(),
            centres,
            inertia,
            iterations,
        })
    }
}

fn check(n: usize, dim: usize, params: &KMeansParams) -> Result<()> {
    let k = params.k;
    let fail = |message: String| Err(Error::InvalidArgument(message));
    if k == 0 {
        return fail("k = 0: k-means needs at least one cluster; use a k of at least 1".into());
    }
    if k > n {
        return fail(format!("k = {k} but only {n} rows; use a k of at most {n}"));
    }
    if params.n_init == 0 {
        return fail("n_init = 0: k-means needs at least one run; use n_init >= 1".into());
    }
    if params.max_iter == 0 {
        return fail(
            "max_iter = 0: k-means needs at least one iteration; use max_iter >= 1".into(),
        );
    }
    if !(params.tolerance >= 0.0 && params.tolerance.is_finite()) {
        return fail(format!(
            "tolerance = {}: use a finite tolerance >= 0 (1e-4 by default)",
            params.tolerance
        ));
    }
    if let KMeansInit::Centres(centres) = &params.init {
        if centres.len() != k * dim {
            return fail(format!(
                "the initial centres hold {} values, but {k} centres of {dim} dimensions need \
                 {}; give k rows of {dim} values",
                centres.len(),
                k * dim
            ));
        }
        if let Some(position) = centres.iter().position(|v| !v.is_finite()) {
            return fail(format!(
                "initial centre {} has a NaN or infinite value; give finite centres",
                position / dim
            ));
        }
    }
    Ok(())
}

/// The points moved so that their mean is the origin, as scikit-learn does before k-means,
/// and what every run needs from them.
pub(crate) struct Centred {
    /// The centred points, row-major.
    data: Vec<f32>,
    dim: usize,
    /// The mean that was subtracted.
    mean: Vec<f32>,
    /// The mean over features of each feature's (population) variance.
    mean_variance: f64,
    /// `‖x‖²` of each centred point.
    norms: Vec<f64>,
    /// A bound on the relative rounding error of a `dot` or `squared_l2` of `dim` values.
    rounding: f64,
}

impl Centred {
    /// Centres `points` (a copy).
    pub(crate) fn of(points: &Points<'_>) -> Self {
        let dim = points.dim();
        let n = points.len().max(1) as f64;
        let mean64: Vec<f64> = column_sums(points.data(), dim, |sum, row| {
            sum.iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += f64::from(v))
        })
        .into_iter()
        .map(|sum| sum / n)
        .collect();
        let squares = column_sums(points.data(), dim, |sum, row| {
            for ((s, &v), &m) in sum.iter_mut().zip(row).zip(&mean64) {
                *s += (f64::from(v) - m).powi(2);
            }
        });
        let mean: Vec<f32> = mean64.iter().map(|&m| m as f32).collect();
        let mut data = points.data().to_vec();
        data.par_chunks_mut(ROWS_PER_TASK * dim).for_each(|block| {
            for row in block.chunks_exact_mut(dim) {
                row.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
            }
        });
        let norms = data
            .par_chunks_exact(dim)
            .map(|row| row.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
            .collect();
        // Each of the kernels' 32 lanes sums dim / 32 products, then the lanes are added:
        // the worst-case error is about (dim / 32 + 32) units of rounding; twice that, with
        // room to spare, bounds it.
        let rounding = 2.0 * ((dim / 32) as f64 + 40.0) * f64::from(f32::EPSILON) / 2.0;
        Centred {
            data,
            dim,
            mean,
            mean_variance: squares.iter().sum::<f64>() / (n * dim as f64),
            norms,
            rounding,
        }
    }

    fn len(&self) -> usize {
        self.norms.len()
    }

    /// The distance between `a` and `b`, rounded down: never more than the true distance.
    fn distance_at_least(&self, a: &[f32], b: &[f32]) -> f64 {
        (f64::from(squared_l2(a, b)) * (1.0 - self.rounding))
            .max(0.0)
            .sqrt()
    }

    #[inline]
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Per-column sums over the rows of `data`, `add` adding one row into the sums: blocks of
/// rows in parallel, then the blocks added in order, so the result does not depend on the
/// thread schedule.
fn column_sums(data: &[f32], dim: usize, add: impl Fn(&mut [f64], &[f32]) + Sync) -> Vec<f64> {
    let partial: Vec<Vec<f64>> = data
        .par_chunks(ROWS_PER_TASK * dim)
        .map(|block| {
            let mut sums = vec![0f64; dim];
            block.chunks_exact(dim).for_each(|row| add(&mut sums, row));
            sums
        })
        .collect();
    partial
        .into_iter()
        .fold(vec![0f64; dim], |mut total, sums| {
            total.iter_mut().zip(&sums).for_each(|(t, s)| *t += s);
            total
        })
}

/// The outcome of one run, on the centred data.
struct Run {
    labels: Vec<u32>,
    centres: Vec<f32>,
    inertia: f64,
    iterations: usize,
}

/// What is known of each point's distances to the centres, to skip computing them:
/// Hamerly's bounds ("Making k-means even faster", SDM 2010).
///
/// Invariant: `upper[i]` ≥ the distance from point `i` to centre `labels[i]`, and `lower[i]`
/// ≤ its distance to every other centre (true distances, not rounded ones). An upper bound
/// of infinity means nothing is known yet.
struct Bounds {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

impl Bounds {
    fn unknown(n: usize) -> Self {
        Bounds {
            labels: vec![0; n],
            upper: vec![f64::INFINITY; n],
            lower: vec![0.0; n],
        }
    }

    /// Keeps the bounds true after centre `j` moved by `shifts[j]`.
    fn centres_moved(&mut self, shifts: &[f64]) {
        // The largest shift, and the largest of the others for the points of its centre.
        let (mut first, mut second, mut first_index) = (0.0f64, 0.0f64, usize::MAX);
        for (j, &shift) in shifts.iter().enumerate() {
            if shift > first {
                (second, first, first_index) = (first, shift, j);
            } else if shift > second {
                second = shift;
            }
        }
        self.labels
            .par_iter()
            .zip(self.upper.par_iter_mut())
            .zip(self.lower.par_iter_mut())
            .for_each(|((&label, upper), lower)| {
                *upper += shifts[label as usize];
                let others = if label as usize == first_index {
                    second
                } else {
                    first
                };
                *lower = (*lower - others).max(0.0);
            });
    }
}

/// k-means++ seeding (scikit-learn's `_kmeans_plusplus`): `k` centres, copies of data rows,
/// and the bounds this leaves for the first assignment.
///
/// A candidate centre `b` cannot come nearer to point `x` than `x`'s nearest centre `a` when
/// `‖a − b‖ ≥ 2 ‖x − a‖` (triangle inequality), so that distance is not computed: the
/// potentials, and so the centres chosen, are those of the full computation.
fn plus_plus(centred: &Centred, k: usize, rng: &mut SeededRng) -> (Vec<f32>, Bounds) {
    let n = centred.len();
    let row = |i: usize| centred.row(i);
    let trials = 2 + (k as f64).ln().floor() as usize;
    // Skip only with a margin that rounding cannot cross, so that a skipped distance would
    // have left the nearest distance unchanged had it been computed.
    let skip_factor = 4.0 * (1.0 + 4.0 * centred.rounding);
    let first = rng.below(n);
    let mut chosen = vec![first];
    // Squared distance of each point to its nearest centre so far, which centre that is,
    // and a lower bound on its distance to the other centres.
    let mut closest: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| f64::from(squared_l2(row(i), row(first))))
        .collect();
    let mut nearest = vec![0u32; n];
    let mut second = vec![f64::INFINITY; n];
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0f64; n];
    // The squared distance of each point to each candidate, NaN where it was skipped.
    let mut to_candidates = vec![0f64; n * trials];
    for _ in 1..k {
        let mut running = 0.0;
        for (c, d) in cumulative.iter_mut().zip(&closest) {
            running += d;
            *c = running;
        }
        // NumPy's `searchsorted` (left): the first point whose cumulative sum reaches the
        // drawn value, clipped for rounding at the top.
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.next_f64() * potential;
                cumulative.partition_point(|&c| c < target).min(n - 1)
            })
            .collect();
        // gaps[t][c]: at most the distance from candidate t to chosen centre c.
        let gaps: Vec<Vec<f64>> = candidates
            .iter()
            .map(|&candidate| {
                chosen
                    .iter()
                    .map(|&centre| centred.distance_at_least(row(candidate), row(centre)))
                    .collect()
            })
            .collect();
        to_candidates
            .par_chunks_mut(trials)
            .enumerate()
            .for_each(|(i, out)| {
                for (t, slot) in out.iter_mut().enumerate() {
                    let gap = gaps[t][nearest[i] as usize];
                    *slot = if gap * gap >= skip_factor * closest[i] {
                        f64::NAN
                    } else {
                        f64::from(squared_l2(row(i), row(candidates[t])))
                    };
                }
            });
        // `min` of a NaN (skipped) and the nearest distance is the nearest distance.
        let potentials: Vec<f64> = (0..trials)
            .map(|t| {
                closest
                    .iter()
                    .zip(to_candidates.iter().skip(t).step_by(trials))
                    .map(|(&now, &d)| now.min(d))
                    .sum()
            })
            .collect();
        let mut best = 0;
        for t in 1..trials {
            if potentials[t] < potentials[best] {
                best = t;
            }
        }
        potential = potentials[best];
        let index = chosen.len() as u32;
        closest
            .par_iter_mut()
            .zip(nearest.par_iter_mut())
            .zip(second.par_iter_mut())
            .zip(to_candidates.par_chunks(trials))
            .for_each(|(((closest, nearest), second), distances)| {
                let d = distances[best];
                if d.is_nan() {
                    *second = second.min(gaps[best][*nearest as usize] - closest.sqrt());
                } else if d < *closest {
                    *second = second.min(closest.sqrt());
                    *nearest = index;
                    *closest = d;
                } else {
                    *second = second.min(d.sqrt());
                }
            });
        chosen.push(candidates[best]);
    }
    let centres = chosen.iter().flat_map(|&i| row(i).to_vec()).collect();
    // The distances above are rounded: widen the bounds by more than that rounding.
    let slack = 2.0 * centred.rounding;
    let upper = closest.iter().map(|d| (d * (1.0 + slack)).sqrt()).collect();
    let lower = second
        .iter()
        .zip(&closest)
        .map(|(&s, &d)| (s - slack * (s + d.sqrt())).max(0.0))
        .collect();
    (
        centres,
        Bounds {
            labels: nearest,
            upper,
            lower,
        },
    )
}

/// Lloyd's iterations from `centres` (scikit-learn's `_kmeans_single_lloyd`).
fn lloyd(
    centred: &Centred,
    mut centres: Vec<f32>,
    mut bounds: Bounds,
    max_iter: usize,
    tolerance: f64,
) -> Run {
    let dim = centred.dim;
    let k = centres.len() / dim;
    let mut previous = vec![u32::MAX; centred.len()];
    let mut sums = ClusterSums::new(centred.len(), k, dim);
    let mut strict_convergence = false;
    let mut iterations = 0;
    for iteration in 0..max_iter {
        iterations = iteration + 1;
        assign(centred, &centres, &mut bounds);
        let moved = sums.update(centred, &centres, &bounds.labels);
        let squared_shifts: Vec<f64> = moved
            .chunks_exact(dim)
            .zip(centres.chunks_exact(dim))
            .map(|(new, old)| f64::from(squared_l2(new, old)))
            .collect();
        let shifts: Vec<f64> = squared_shifts
            .iter()
            .map(|s| (s * (1.0 + centred.rounding)).sqrt())
            .collect();
        bounds.centres_moved(&shifts);
        centres = moved;
        if bounds.labels == previous {
            strict_convergence = true;
            break;
        }
        if squared_shifts.iter().sum::<f64>() <= tolerance {
            break;
        }
        previous.copy_from_slice(&bounds.labels);
    }
    if !strict_convergence {
        // The labels must belong to the centres returned.
        assign(centred, &centres, &mut bounds);
    }
    let labels = bounds.labels;
    let squared: Vec<f64> = labels
        .par_iter()
        .enumerate()
        .map(|(i, &label)| {
            let centre = &centres[label as usize * dim..(label as usize + 1) * dim];
            f64::from(squared_l2(centred.row(i), centre))
        })
        .collect();
    let inertia = squared.iter().sum();
    copy_largest_into_empty(&mut centres, dim, &labels, k);
    Run {
        labels,
        centres,
        inertia,
        iterations,
    }
}

/// The E-step: each point's nearest centre, the first one on a tie, comparing
/// `‖c‖² − 2 x·c` in `f32` (the `‖x‖²` term is the same for every centre), as scikit-learn
/// does, and near-ties again in `f64` ([`near_tie`]): the truly nearest centre.
///
/// The bounds skip the points whose label this computation could not change: those whose
/// upper bound, widened by the worst rounding of that `f32` value, is still below the lower
/// bound on every other centre. Labels are therefore those of the full computation.
fn assign(centred: &Centred, centres: &[f32], bounds: &mut Bounds) {
    let dim = centred.dim;
    let k = centres.len() / dim;
    let centre = |j: usize| &centres[j * dim..(j + 1) * dim];
    let norms: Vec<f32> = centres.chunks_exact(dim).map(|c| dot(c, c)).collect();
    let largest_norm = norms.iter().fold(0f64, |m, &v| m.max(f64::from(v)));
    // gap[j]: at most the distance from centre j to the nearest other centre.
    let gap: Vec<f64> = (0..k)
        .into_par_iter()
        .map(|j| {
            (0..k)
                .filter(|&other| other != j)
                .map(|other| centred.distance_at_least(centre(j), centre(other)))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    // Centres compared with a group of points at a time: as many as fit in about 128 KiB.
    let centres_per_block = ((128 << 10) / (dim * size_of::<f32>())).max(1);
    let Bounds {
        labels,
        upper,
        lower,
    } = bounds;
    labels
        .par_chunks_mut(ROWS_PER_TASK)
        .zip(upper.par_chunks_mut(ROWS_PER_TASK))
        .zip(lower.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, ((labels, upper), lower))| {
            let first = task * ROWS_PER_TASK;
            // How far a point's f32 value `‖c‖² − 2 x·c` can be from the true one.
            let error = |i: usize| {
                let x_norm = centred.norms[i];
                centred.rounding * (largest_norm + 2.0 * (x_norm * largest_norm).sqrt() + x_norm)
            };
            let value = |i: usize, j: usize| norms[j] - 2.0 * dot(centred.row(i), centre(j));
            // The points whose label the bounds cannot vouch for.
            let mut pending = Vec::new();
            for (slot, label) in labels.iter().enumerate() {
                let i = first + slot;
                let certain = |upper: f64, lower: f64| {
                    let lower = lower.max(gap[*label as usize] - upper);
                    let error = error(i);
                    lower > 0.0 && upper * upper + error < lower * lower - error
                };
                if upper[slot].is_finite() {
                    if certain(upper[slot], lower[slot]) {
                        continue;
                    }
                    let tight = centred.norms[i] + f64::from(value(i, *label as usize)) + error(i);
                    upper[slot] = tight.max(0.0).sqrt();
                    if certain(upper[slot], lower[slot]) {
                        continue;
                    }
                }
                pending.push(slot);
            }
            // Every centre for the pending points, a group of points against a block of
            // centres at a time so that both stay in cache; each point still meets the
            // centres in order, so ties go to the first.
            for group in pending.chunks(64) {
                let mut best = vec![(f32::INFINITY, 0usize, f32::INFINITY); group.len()];
                for block in (0..k).step_by(centres_per_block) {
                    for (state, &slot) in best.iter_mut().zip(group) {
                        let (best, nearest, runner_up) = state;
                        for j in block..(block + centres_per_block).min(k) {
                            let v = value(first + slot, j);
                            if v < *best {
                                *runner_up = *best;
                                *best = v;
                                *nearest = j;
                            } else if v < *runner_up {
                                *runner_up = v;
                            }
                        }
                    }
                }
                for (&(best, nearest, runner_up), &slot) in best.iter().zip(group) {
                    let i = first + slot;
                    let error = error(i);
                    let (nearest, best, runner_up) =
                        if f64::from(runner_up) - f64::from(best) > 2.0 * error {
                            (nearest, best, runner_up)
                        } else {
                            near_tie(centred, centres, &norms, i, error)
                        };
                    labels[slot] = nearest as u32;
                    upper[slot] = (centred.norms[i] + f64::from(best) + error).max(0.0).sqrt();
                    lower[slot] = (centred.norms[i] + f64::from(runner_up) - error)
                        .max(0.0)
                        .sqrt();
                }
            }
        });
}

/// The nearest centre of point `i` when the `f32` values `‖c‖² − 2 x·c` of two centres are
/// closer than their rounding `error`, so that `f32` cannot tell which is nearer: those
/// centres are compared again by distances summed in `f64`, the first one on an exact tie.
/// Returns the centre, its `f32` value, and the smallest `f32` value of the other centres
/// (for the bounds).
fn near_tie(
    centred: &Centred,
    centres: &[f32],
    norms: &[f32],
    i: usize,
    error: f64,
) -> (usize, f32, f32) {
    let dim = centred.dim;
    let x = centred.row(i);
    let values: Vec<f32> = centres
        .chunks_exact(dim)
        .zip(norms)
        .map(|(c, &norm)| norm - 2.0 * dot(x, c))
        .collect();
    let smallest = values.iter().copied().fold(f32::INFINITY, f32::min);
    let exact = |j: usize| -> f64 {
        x.iter()
            .zip(&centres[j * dim..(j + 1) * dim])
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum()
    };
    let mut nearest = usize::MAX;
    let mut nearest_distance = f64::INFINITY;
    for (j, &v) in values.iter().enumerate() {
        if f64::from(v) - f64::from(smallest) <= 2.0 * error {
            let distance = exact(j);
            if distance < nearest_distance {
                nearest = j;
                nearest_distance = distance;
            }
        }
    }
    let others = values
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != nearest)
        .fold(f32::INFINITY, |m, (_, &v)| m.min(v));
    (nearest, values[nearest], others)
}

/// The M-step: the mean of each cluster's points, after giving empty clusters the points
/// farthest from their centres (scikit-learn's `_relocate_empty_clusters_dense` and
/// `_average_centers`).
///
/// The sums of the clusters' points are kept from one iteration to the next in `f64`, and
/// only the points that changed cluster are subtracted from one sum and added to another:
/// once k-means settles, an iteration touches few points.
struct ClusterSums {
    /// `k × dim` sums.
    sums: Vec<f64>,
    sizes: Vec<usize>,
    /// The cluster each point is counted in (after relocation), `u32::MAX` before the first
    /// update.
    owner: Vec<u32>,
}

impl ClusterSums {
    fn new(n: usize, k: usize, dim: usize) -> Self {
        ClusterSums {
            sums: vec![0.0; k * dim],
            sizes: vec![0; k],
            owner: vec![u32::MAX; n],
        }
    }

    /// The new centres for `labels`, the assignment to `centres`.
    fn update(&mut self, centred: &Centred, centres: &[f32], labels: &[u32]) -> Vec<f32> {
        let dim = centred.dim;
        let k = self.sizes.len();
        let mut owner = labels.to_vec();
        let mut sizes = vec![0usize; k];
        labels.iter().for_each(|&l| sizes[l as usize] += 1);
        let empty: Vec<usize> = (0..k).filter(|&j| sizes[j] == 0).collect();
        if !empty.is_empty() {
            relocate(centred, centres, labels, &empty, &mut owner, &mut sizes);
        }

        // Each cluster applies its arrivals and departures in point order, clusters in
        // parallel: the sums do not depend on the thread schedule.
        let mut changes: Vec<Vec<(usize, bool)>> = vec![Vec::new(); k];
        for (i, (&old, &new)) in self.owner.iter().zip(&owner).enumerate() {
            if old != new {
                if old != u32::MAX {
                    changes[old as usize].push((i, false));
                }
                changes[new as usize].push((i, true));
            }
        }
        self.sums
            .par_chunks_exact_mut(dim)
            .zip(changes.par_iter())
            .for_each(|(sum, changes)| {
                for &(i, arrives) in changes {
                    let x = centred.row(i);
                    if arrives {
                        sum.iter_mut().zip(x).for_each(|(s, &v)| *s += f64::from(v));
                    } else {
                        sum.iter_mut().zip(x).for_each(|(s, &v)| *s -= f64::from(v));
                    }
                }
            });
        self.owner = owner;
        self.sizes = sizes;

        // An empty cluster (only when relocation was pointless) takes the place of the
        // largest, as scikit-learn's `_average_centers`, which copies the largest cluster's
        // row as it is at that moment: already divided if it comes earlier, still a sum if
        // it comes later.
        let sizes = &self.sizes;
        let largest = (0..k).fold(0, |best, j| if sizes[j] > sizes[best] { j } else { best });
        let mut new = vec![0f32; k * dim];
        for (j, centre) in new.chunks_exact_mut(dim).enumerate() {
            let (source, divisor) = if sizes[j] > 0 {
                (j, sizes[j] as f64)
            } else if largest < j {
                (largest, sizes[largest] as f64)
            } else {
                (largest, 1.0)
            };
            centre
                .iter_mut()
                .zip(&self.sums[source * dim..(source + 1) * dim])
                .for_each(|(c, &s)| *c = (s / divisor) as f32);
        }
        new
    }
}

/// Gives each cluster in `empty` (ascending) the point farthest from its centre, the
/// farthest to the first (scikit-learn's `_relocate_empty_clusters_dense`): `owner` and
/// `sizes` say where the points are counted; the labels do not change.
fn relocate(
    centred: &Centred,
    centres: &[f32],
    labels: &[u32],
    empty: &[usize],
    owner: &mut [u32],
    sizes: &mut [usize],
) {
    let dim = centred.dim;
    let distances: Vec<f32> = labels
        .par_iter()
        .enumerate()
        .map(|(i, &l)| {
            let centre = &centres[l as usize * dim..(l as usize + 1) * dim];
            squared_l2(centred.row(i), centre)
        })
        .collect();
    // When every point is on its centre there are fewer distinct points than clusters, and
    // moving centres onto points would not help.
    if distances.iter().all(|&d| d == 0.0) {
        return;
    }
    let mut farthest: Vec<usize> = (0..labels.len()).collect();
    let by_distance = |a: &usize, b: &usize| distances[*b].total_cmp(&distances[*a]).then(a.cmp(b));
    farthest.select_nth_unstable_by(empty.len() - 1, by_distance);
    farthest.truncate(empty.len());
    farthest.sort_unstable_by(by_distance);
    for (&cluster, &point) in empty.iter().zip(&farthest) {
        sizes[owner[point] as usize] -= 1;
        sizes[cluster] += 1;
        owner[point] = cluster as u32;
    }
}

/// Gives each cluster without points the centre of the largest cluster (the first largest),
/// so that no reported centre is an artefact of the iterations.
fn copy_largest_into_empty(centres: &mut [f32], dim: usize, labels: &[u32], k: usize) {
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l as usize] += 1);
    let largest = (0..k).fold(0, |best, j| if sizes[j] > sizes[best] { j } else { best });
    for j in (0..k).filter(|&j| sizes[j] == 0) {
        let source = centres[largest * dim..(largest + 1) * dim].to_vec();
        centres[j * dim..(j + 1) * dim].copy_from_slice(&source);
    }
}

/// Whether `a` and `b` are the same partition up to renaming, as scikit-learn's
/// `_is_same_clustering` (which checks that `a`'s labels map to `b`'s consistently).
fn same_partition(a: &[u32], b: &[u32], k: usize) -> bool {
    let mut mapping = vec![u32::MAX; k];
    a.iter().zip(b).all(|(&x, &y)| {
        let slot = &mut mapping[x as usize];
        if *slot == u32::MAX {
            *slot = y;
        }
        *slot == y
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::quality::adjusted_rand_index;

    /// The distance between two vectors, summed in `f64`.
    fn exact_distance(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// The test data of `known_answers`, made the same way in Python: row `i` is blob
    /// `i % 3` of (0,0,0), (3,0,0), (0,3,0) plus a spread of ±1.5 from an integer hash, so
    /// that the blobs overlap and k-means takes several iterations.
    fn overlapping_blobs() -> Vec<f32> {
        let blobs = [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 3.0, 0.0]];
        let mut data = Vec::new();
        for i in 0..90u64 {
            for j in 0..3u64 {
                let hash = (i * 2_654_435_761 + j * 40_503 + 12_345) % 1_000_003;
                let spread = (hash as f64 / 1_000_003.0 * 2.0 - 1.0) * 1.5;
                data.push((spread + blobs[i as usize % 3][j as usize]) as f32);
            }
        }
        data
    }

    /// What scikit-learn 1.7.2 returned: `KMeans(n_clusters=k, init=..., n_init=1,
    /// algorithm="lloyd").fit(X)` with `X = overlapping_blobs()` as float32
    /// (`labels_`, `n_iter_`, `inertia_`, `cluster_centers_`).
    struct Expected {
        labels: &'static [i64],
        iterations: usize,
        inertia: f64,
        centres: &'static [f64],
    }

    // KMeans(3, init=X[[0, 3, 6]], n_init=1): strict convergence
    const FROM_ROWS_0_3_6: Expected = Expected {
        labels: &[
            0, 2, 1, 0, 2, 1, 0, 0, 1, 1, 2, 1, 0, 2, 1, 0, 2, 1, 0, 0, 1, 0, 2, 1, 0, 2, 1, 0, 2,
            1, 1, 2, 1, 0, 2, 1, 0, 2, 1, 0, 0, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 1, 2, 1, 0, 2, 1, 0,
            2, 1, 0, 0, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 1, 2, 1, 0, 2, 1, 0, 2, 1, 0, 0, 1, 1, 2, 1,
            0, 2, 1,
        ],
        iterations: 12,
        inertia: 201.57781982421875,
        centres: &[
            0.18178528547286987,
            -0.49670612812042236,
            -0.3751973509788513,
            0.18121671676635742,
            2.7027251720428467,
            0.08137686550617218,
            3.3010621070861816,
            0.18257099390029907,
            0.1840796321630478,
        ],
    };
    // the same with tol=0.03: stops on the centre shift, labels computed again
    const LOOSE_TOLERANCE: Expected = Expected {
        labels: &[
            0, 2, 2, 0, 2, 1, 1, 1, 2, 2, 1, 2, 0, 2, 1, 1, 2, 1, 1, 1, 2, 1, 2, 2, 0, 2, 1, 1, 2,
            2, 2, 1, 2, 0, 2, 1, 1, 2, 1, 1, 1, 2, 1, 2, 2, 0, 2, 1, 1, 2, 1, 2, 1, 2, 0, 2, 1, 1,
            2, 1, 1, 1, 2, 1, 2, 2, 0, 2, 1, 1, 2, 1, 2, 1, 2, 0, 2, 2, 0, 2, 1, 1, 1, 2, 1, 2, 2,
            0, 2, 1,
        ],
        iterations: 4,
        inertia: 384.5273132324219,
        centres: &[
            -0.9555784463882446,
            -0.8340699672698975,
            -0.7125611901283264,
            0.4684269428253174,
            0.42326897382736206,
            -0.45522236824035645,
            1.9776161909103394,
            1.7582159042358398,
            0.4479062557220459,
        ],
    };
    // init=[[100]*3, [0]*3, [1]*3]: cluster 0 starts empty and is relocated
    const FROM_A_FAR_CENTRE: Expected = Expected {
        labels: &[
            1, 0, 2, 1, 0, 1, 1, 0, 2, 2, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 2, 0, 0, 2, 1, 0, 1, 1, 0,
            2, 2, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 0, 0, 2, 1, 0, 1, 1, 0, 2, 2, 0, 2, 1, 0, 2, 1,
            0, 2, 1, 0, 2, 0, 0, 2, 1, 0, 1, 1, 0, 2, 2, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2,
            1, 0, 1,
        ],
        iterations: 6,
        inertia: 207.5504913330078,
        centres: &[
            2.9018044471740723,
            -0.15850520133972168,
            -0.12790565192699432,
            -0.4706987142562866,
            0.2714996337890625,
            -0.33112961053848267,
            0.43619364500045776,
            2.9148452281951904,
            0.35778236389160156,
        ],
    };
    // KMeans(4, init=X[[0, 3, 6, 9]], max_iter=2): stopped by max_iter
    const TWO_ITERATIONS: Expected = Expected {
        labels: &[
            0, 2, 3, 1, 3, 1, 1, 2, 3, 3, 2, 3, 0, 2, 1, 1, 3, 3, 2, 2, 3, 2, 2, 3, 0, 3, 1, 1, 2,
            3, 3, 2, 3, 0, 2, 2, 1, 3, 1, 2, 2, 3, 1, 2, 3, 0, 3, 1, 1, 2, 3, 3, 2, 3, 0, 2, 2, 1,
            3, 1, 2, 2, 3, 1, 2, 3, 0, 3, 1, 1, 3, 3, 3, 2, 3, 0, 2, 3, 1, 3, 1, 2, 2, 3, 2, 2, 3,
            0, 3, 1,
        ],
        iterations: 2,
        inertia: 333.7522888183594,
        centres: &[
            -1.0815993547439575,
            -0.9600907564163208,
            -0.8385821580886841,
            -0.02891850471496582,
            -0.08388018608093262,
            -0.668254017829895,
            1.311207890510559,
            0.4327164888381958,
            -0.3457748591899872,
            1.7513688802719116,
            2.2062108516693115,
            0.6610527634620667,
        ],
    };

    fn check_against(expected: &Expected, init: Vec<f32>, tolerance: f64, max_iter: usize) {
        let data = overlapping_blobs();
        let points = Points::new(&data, 3).unwrap();
        let params = KMeansParams {
            tolerance,
            max_iter,
            init: KMeansInit::Centres(init.clone()),
            ..KMeansParams::new(init.len() / 3)
        };
        let result = kmeans(&points, &params).unwrap();
        assert_eq!(result.labels, expected.labels);
        assert_eq!(result.iterations, expected.iterations);
        assert!(
            (result.inertia - expected.inertia).abs() < 1e-4 * expected.inertia,
            "{} {}",
            result.inertia,
            expected.inertia
        );
        for (got, want) in result.centres.iter().zip(expected.centres) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "{got} {want}");
        }
    }

    fn rows(data: &[f32], indices: &[usize]) -> Vec<f32> {
        indices
            .iter()
            .flat_map(|&i| data[i * 3..i * 3 + 3].to_vec())
            .collect()
    }

    #[test]
    fn known_answers_from_given_centres() {
        let data = overlapping_blobs();
        check_against(&FROM_ROWS_0_3_6, rows(&data, &[0, 3, 6]), 1e-4, 300);
        check_against(&LOOSE_TOLERANCE, rows(&data, &[0, 3, 6]), 0.03, 300);
        let far = vec![100.0, 100.0, 100.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        check_against(&FROM_A_FAR_CENTRE, far, 1e-4, 300);
        check_against(&TWO_ITERATIONS, rows(&data, &[0, 3, 6, 9]), 1e-4, 2);
    }

    /// `count` points in each of `k` tight, well separated groups of `dim` dimensions.
    fn separated_blobs(k: usize, count: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = SeededRng::new(seed);
        let centres: Vec<f64> = (0..k * dim).map(|_| rng.normal() * 20.0).collect();
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for i in 0..k * count {
            let blob = i % k;
            truth.push(blob);
            for d in 0..dim {
                data.push((centres[blob * dim + d] + rng.normal() * 0.5) as f32);
            }
        }
        (data, truth)
    }

    #[test]
    fn k_means_plus_plus_finds_separated_blobs_whatever_the_seed() {
        let (data, truth) = separated_blobs(5, 40, 8, 1);
        let points = Points::new(&data, 8).unwrap();
        for seed in 0..4 {
            let params = KMeansParams {
                seed,
                n_init: 3,
                ..KMeansParams::new(5)
            };
            let result = kmeans(&points, &params).unwrap();
            assert_eq!(adjusted_rand_index(&result.labels, &truth).unwrap(), 1.0);
            // Each centre is the mean of its points.
            let first = result.labels[0] as usize;
            let members: Vec<usize> = (0..200).filter(|&i| truth[i] == truth[0]).collect();
            let mean = members.iter().map(|&i| f64::from(data[i * 8])).sum::<f64>() / 40.0;
            assert!((f64::from(result.centres[first * 8]) - mean).abs() < 1e-4);
        }
    }

    /// k-means++ computed the plain way: every distance, with the same random draws.
    fn plain_plus_plus(centred: &Centred, k: usize, rng: &mut SeededRng) -> Vec<f32> {
        let n = centred.len();
        let trials = 2 + (k as f64).ln().floor() as usize;
        let first = rng.below(n);
        let distance = |i: usize, j: usize| f64::from(squared_l2(centred.row(i), centred.row(j)));
        let mut closest: Vec<f64> = (0..n).map(|i| distance(i, first)).collect();
        let mut chosen = vec![first];
        for _ in 1..k {
            let potential: f64 = closest.iter().sum();
            let cumulative: Vec<f64> = closest
                .iter()
                .scan(0.0, |sum, d| {
                    *sum += d;
                    Some(*sum)
                })
                .collect();
            let mut best: Option<(f64, Vec<f64>, usize)> = None;
            for _ in 0..trials {
                let target = rng.next_f64() * potential;
                let candidate = cumulative.partition_point(|&c| c < target).min(n - 1);
                let updated: Vec<f64> = (0..n)
                    .map(|i| closest[i].min(distance(i, candidate)))
                    .collect();
                let total: f64 = updated.iter().sum();
                if best.as_ref().is_none_or(|(b, _, _)| total < *b) {
                    best = Some((total, updated, candidate));
                }
            }
            let (_, updated, candidate) = best.unwrap();
            closest = updated;
            chosen.push(candidate);
        }
        chosen
            .iter()
            .flat_map(|&i| centred.row(i).to_vec())
            .collect()
    }

    /// Checks the invariant of `Bounds` against distances computed in `f64`.
    fn assert_bounds_hold(centred: &Centred, centres: &[f32], bounds: &Bounds) {
        let dim = centred.dim;
        for i in 0..centred.len() {
            let label = bounds.labels[i] as usize;
            for (j, centre) in centres.chunks_exact(dim).enumerate() {
                let distance = exact_distance(centred.row(i), centre);
                if j == label {
                    assert!(distance <= bounds.upper[i], "point {i}: {distance} > upper");
                } else {
                    assert!(distance >= bounds.lower[i], "point {i}: {distance} < lower");
                }
            }
        }
    }

    #[test]
    fn the_distances_skipped_change_nothing() {
        // Five blobs, seven clusters: centres move for a while and points change clusters.
        let (data, _) = separated_blobs(5, 60, 6, 4);
        let points = Points::new(&data, 6).unwrap();
        let centred = Centred::of(&points);
        for seed in 0..3 {
            let (mut centres, mut bounds) = plus_plus(&centred, 7, &mut SeededRng::new(seed));
            let plain = plain_plus_plus(&centred, 7, &mut SeededRng::new(seed));
            assert_eq!(centres, plain);
            assert_bounds_hold(&centred, &centres, &bounds);
            let mut sums = ClusterSums::new(centred.len(), 7, 6);
            for _ in 0..8 {
                assign(&centred, &centres, &mut bounds);
                let mut everything = Bounds::unknown(centred.len());
                assign(&centred, &centres, &mut everything);
                assert_eq!(bounds.labels, everything.labels);
                assert_bounds_hold(&centred, &centres, &bounds);
                let moved = sums.update(&centred, &centres, &bounds.labels);
                let shifts: Vec<f64> = moved
                    .chunks_exact(6)
                    .zip(centres.chunks_exact(6))
                    .map(|(new, old)| exact_distance(new, old))
                    .collect();
                bounds.centres_moved(&shifts);
                centres = moved;
                assert_bounds_hold(&centred, &centres, &bounds);
            }
        }
    }

    #[test]
    fn near_ties_go_to_the_truly_nearest_centre() {
        // x = (10000, 1); its mirror keeps the mean at the origin. The two centres are 0.5
        // and 0.50098 from x, while ‖c‖² ≈ 1e8 rounds in f32 by several units: f32 alone
        // cannot tell them apart.
        let data = [10_000.0f32, 1.0, -10_000.0, -1.0];
        let points = Points::new(&data, 2).unwrap();
        let centred = Centred::of(&points);
        let near = [10_000.5f32, 1.0];
        let far = [9_999.499f32, 1.0];
        for (centres, nearest) in [([near, far], 0), ([far, near], 1)] {
            let centres: Vec<f32> = centres.concat();
            let mut bounds = Bounds::unknown(2);
            assign(&centred, &centres, &mut bounds);
            assert_eq!(bounds.labels[0], nearest);
            assert_bounds_hold(&centred, &centres, &bounds);
        }
    }

    #[test]
    fn cluster_sums_kept_across_iterations_are_the_means() {
        let (data, _) = separated_blobs(3, 20, 4, 5);
        let points = Points::new(&data, 4).unwrap();
        let centred = Centred::of(&points);
        let centres = centred.data[..3 * 4].to_vec();
        let mut sums = ClusterSums::new(60, 3, 4);
        let first: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
        let second: Vec<u32> = (0..60).map(|i| (i / 20) as u32).collect();
        sums.update(&centred, &centres, &first);
        let moved = sums.update(&centred, &centres, &second);
        for (j, centre) in moved.chunks_exact(4).enumerate() {
            for (d, &value) in centre.iter().enumerate() {
                let mean = (j * 20..j * 20 + 20)
                    .map(|i| f64::from(centred.row(i)[d]))
                    .sum::<f64>()
                    / 20.0;
                assert!((f64::from(value) - mean).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_result_on_any_number_of_threads() {
        let (data, _) = separated_blobs(4, 300, 5, 2);
        let points = Points::new(&data, 5).unwrap();
        // Overlapping clusters (k > blobs) make the result sensitive to every rounding.
        let params = KMeansParams {
            seed: 9,
            n_init: 4,
            ..KMeansParams::new(7)
        };
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| kmeans(&points, &params).unwrap())
        };
        let one = on(1);
        assert_eq!(one, on(3));
        assert_eq!(one, kmeans(&points, &params).unwrap());
    }

    #[test]
    fn more_runs_never_do_worse() {
        let (data, _) = separated_blobs(6, 30, 4, 3);
        let points = Points::new(&data, 4).unwrap();
        for seed in 0..5 {
            let single = kmeans(
                &points,
                &KMeansParams {
                    seed,
                    ..KMeansParams::new(4)
                },
            )
            .unwrap();
            let params = KMeansParams {
                seed,
                n_init: 6,
                ..KMeansParams::new(4)
            };
            let best = kmeans(&points, &params).unwrap();
            // Run 0 of both is the same run, so the best of six is at least as good.
            assert!(
                best.inertia <= single.inertia,
                "{} {}",
                best.inertia,
                single.inertia
            );
        }
    }

    #[test]
    fn identical_rows_leave_clusters_empty_without_failing() {
        let data = [2.5f32; 12];
        let points = Points::new(&data, 2).unwrap();
        let result = kmeans(&points, &KMeansParams::new(3)).unwrap();
        assert_eq!(result.labels, vec![0; 6]);
        assert_eq!(result.centres, vec![2.5; 6]);
        assert_eq!(result.inertia, 0.0);
        // Two distinct values and three clusters: the empty cluster copies the largest.
        let data = [1.0f32, 1.0, 1.0, 5.0, 5.0];
        let points = Points::new(&data, 1).unwrap();
        let result = kmeans(&points, &KMeansParams::new(3)).unwrap();
        assert_eq!(
            adjusted_rand_index(&result.labels, &[0, 0, 0, 1, 1]).unwrap(),
            1.0
        );
        let mut centres = result.centres.clone();
        centres.sort_by(f32::total_cmp);
        assert_eq!(centres, vec![1.0, 1.0, 5.0]);
    }

    #[test]
    fn a_cluster_that_cannot_be_filled_keeps_scikit_learns_labels() {
        let data = [2.0f32, 2.0, 2.0, 1.0, 1.0];
        let points = Points::new(&data, 1).unwrap();
        // KMeans(3, init=[[5], [2], [1]], n_init=1).fit(X): labels [1 1 1 2 2], n_iter 2,
        // centres [2.8 2. 1.] (2.8: the running sum its `_average_centers` copies into the
        // empty cluster 0; we report the largest cluster's centre instead).
        let params = KMeansParams {
            init: KMeansInit::Centres(vec![5.0, 2.0, 1.0]),
            ..KMeansParams::new(3)
        };
        let result = kmeans(&points, &params).unwrap();
        assert_eq!(result.labels, vec![1, 1, 1, 2, 2]);
        assert_eq!(result.iterations, 2);
        assert_eq!(result.centres, vec![2.0, 2.0, 1.0]);
        assert_eq!(result.inertia, 0.0);
    }

    #[test]
    fn as_many_clusters_as_rows_puts_each_row_alone() {
        let data = [0.0f32, 1.0, 5.0, 9.0, 20.0];
        let points = Points::new(&data, 1).unwrap();
        let result = kmeans(&points, &KMeansParams::new(5)).unwrap();
        let mut labels = result.labels.clone();
        labels.sort_unstable();
        assert_eq!(labels, vec![0, 1, 2, 3, 4]);
        assert_eq!(result.inertia, 0.0);
        let one = kmeans(&points, &KMeansParams::new(1)).unwrap();
        assert_eq!(one.labels, vec![0; 5]);
        assert_eq!(one.centres, vec![7.0]);
    }

    #[test]
    fn bad_parameters_are_refused_with_the_fix() {
        let data = [0.0f32, 1.0, 2.0, 3.0, 4.0];
        let points = Points::new(&data, 1).unwrap();
        let error = |params: KMeansParams| kmeans(&points, &params).unwrap_err().to_string();
        assert!(error(KMeansParams::new(0)).contains("at least 1"));
        assert_eq!(
            error(KMeansParams::new(8)),
            "k = 8 but only 5 rows; use a k of at most 5"
        );
        let params = |change: fn(&mut KMeansParams)| {
            let mut params = KMeansParams::new(2);
            change(&mut params);
            params
        };
        assert!(error(params(|p| p.n_init = 0)).contains("n_init >= 1"));
        assert!(error(params(|p| p.max_iter = 0)).contains("max_iter >= 1"));
        assert!(error(params(|p| p.tolerance = -1.0)).contains("tolerance >= 0"));
        assert!(error(params(|p| p.tolerance = f64::NAN)).contains("tolerance >= 0"));
        let message = error(params(|p| {
            p.init = KMeansInit::Centres(vec![1.0, 2.0, 3.0])
        }));
        assert!(
            message.contains("hold 3 values, but 2 centres of 1 dimensions need 2"),
            "{message}"
        );
        let message = error(params(|p| {
            p.init = KMeansInit::Centres(vec![1.0, f32::INFINITY])
        }));
        assert!(message.contains("initial centre 1"), "{message}");
        let empty = Points::new(&[], 4).unwrap();
        assert!(kmeans(&empty, &KMeansParams::new(1)).is_err());
    }
}
