//! k-means by Lloyd's algorithm, with k-means++ seeding: scikit-learn's
//! `KMeans(algorithm="lloyd")` (1.7.2, `sklearn/cluster/_kmeans.py`, `_k_means_lloyd.pyx`,
//! `_k_means_common.pyx`), step for step, so that from the same initial centres it finds the
//! same labels.
//!
//! What is the same as scikit-learn:
//! - The data are centred on their mean before clustering (and the centres moved back after),
//!   which keeps `‖x‖² + ‖c‖² − 2 x·c` accurate in `f32`.
//! - Each iteration assigns every point to its nearest centre (the first one on a tie), then
//!   moves each centre to the mean of its points.
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
//! Euclidean distance only: to cluster by cosine, normalise the vectors to unit length first
//! (on unit vectors squared Euclidean distance is `2 − 2 cos`).

use rayon::prelude::*;

use crate::cluster::points::Points;
use crate::cluster::rng::SeededRng;
use crate::distance::{dot, squared_l2};
use crate::error::{Error, Result};

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
    check(points, params)?;
    let dim = points.dim();
    let centred = Centred::of(points);
    let tolerance = params.tolerance * centred.mean_variance;
    let root = SeededRng::new(params.seed);
    let runs = match &params.init {
        KMeansInit::Centres(_) => 1,
        KMeansInit::PlusPlus => params.n_init,
    };
    let results: Vec<Run> = (0..runs)
        .into_par_iter()
        .map(|run| {
            let initial = match &params.init {
                KMeansInit::Centres(centres) => centres
                    .chunks_exact(dim)
                    .flat_map(|row| row.iter().zip(&centred.mean).map(|(v, m)| v - m))
                    .collect(),
                KMeansInit::PlusPlus => {
                    plus_plus(&centred.data, dim, params.k, &mut root.fork(run as u64))
                }
            };
            lloyd(&centred.data, dim, initial, params.max_iter, tolerance)
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
        row.iter_mut().zip(&centred.mean).for_each(|(v, m)| *v += m);
    }
    Ok(KMeansResult {
        labels: labels.into_iter().map(i64::from).collect(),
        centres,
        inertia,
        iterations,
    })
}

fn check(points: &Points<'_>, params: &KMeansParams) -> Result<()> {
    let n = points.len();
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
        let dim = points.dim();
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

/// The points moved so that their mean is the origin, as scikit-learn does before k-means.
struct Centred {
    data: Vec<f32>,
    mean: Vec<f32>,
    /// The mean over features of each feature's (population) variance.
    mean_variance: f64,
}

impl Centred {
    fn of(points: &Points<'_>) -> Self {
        let dim = points.dim();
        let n = points.len();
        // Sums per block of rows in parallel, then added in block order: deterministic.
        let column_sums = |data: &[f32], term: &(dyn Fn(usize, f32) -> f64 + Sync)| {
            let partial: Vec<Vec<f64>> = data
                .par_chunks(ROWS_PER_TASK * dim)
                .map(|block| {
                    let mut sums = vec![0f64; dim];
                    for row in block.chunks_exact(dim) {
                        for (feature, (sum, &v)) in sums.iter_mut().zip(row).enumerate() {
                            *sum += term(feature, v);
                        }
                    }
                    sums
                })
                .collect();
            partial
                .into_iter()
                .fold(vec![0f64; dim], |mut total, sums| {
                    total.iter_mut().zip(&sums).for_each(|(t, s)| *t += s);
                    total
                })
        };
        let mean64: Vec<f64> = column_sums(points.data(), &|_, v| f64::from(v))
            .into_iter()
            .map(|sum| sum / n.max(1) as f64)
            .collect();
        let variance_sum: f64 = column_sums(points.data(), &|feature, v| {
            (f64::from(v) - mean64[feature]).powi(2)
        })
        .iter()
        .sum();
        let mean: Vec<f32> = mean64.iter().map(|&m| m as f32).collect();
        let mut data = points.data().to_vec();
        data.par_chunks_mut(ROWS_PER_TASK * dim).for_each(|block| {
            for row in block.chunks_exact_mut(dim) {
                row.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
            }
        });
        Centred {
            data,
            mean,
            mean_variance: variance_sum / (n.max(1) * dim) as f64,
        }
    }
}

/// The outcome of one run, on the centred data.
struct Run {
    labels: Vec<u32>,
    centres: Vec<f32>,
    inertia: f64,
    iterations: usize,
}

/// k-means++ seeding (scikit-learn's `_kmeans_plusplus`): `k` centres, copies of data rows.
fn plus_plus(data: &[f32], dim: usize, k: usize, rng: &mut SeededRng) -> Vec<f32> {
    let n = data.len() / dim;
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.below(n);
    let mut centres = row(first).to_vec();
    centres.reserve((k - 1) * dim);
    // Squared distance of each point to its nearest centre so far.
    let mut closest: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| f64::from(squared_l2(row(i), row(first))))
        .collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0f64; n];
    let mut candidate_closest = vec![0f64; n * trials];
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
        candidate_closest
            .par_chunks_mut(trials)
            .zip(closest.par_iter())
            .enumerate()
            .for_each(|(i, (out, &now))| {
                for (slot, &candidate) in out.iter_mut().zip(&candidates) {
                    *slot = now.min(f64::from(squared_l2(row(i), row(candidate))));
                }
            });
        let potentials: Vec<f64> = (0..trials)
            .map(|t| candidate_closest.iter().skip(t).step_by(trials).sum())
            .collect();
        let mut best = 0;
        for t in 1..trials {
            if potentials[t] < potentials[best] {
                best = t;
            }
        }
        potential = potentials[best];
        closest
            .iter_mut()
            .zip(candidate_closest.iter().skip(best).step_by(trials))
            .for_each(|(c, &d)| *c = d);
        centres.extend_from_slice(row(candidates[best]));
    }
    centres
}

/// Lloyd's iterations from `centres` (scikit-learn's `_kmeans_single_lloyd`).
fn lloyd(data: &[f32], dim: usize, mut centres: Vec<f32>, max_iter: usize, tolerance: f64) -> Run {
    let n = data.len() / dim;
    let k = centres.len() / dim;
    let mut labels = vec![u32::MAX; n];
    let mut previous = vec![u32::MAX; n];
    let mut strict_convergence = false;
    let mut iterations = 0;
    for iteration in 0..max_iter {
        iterations = iteration + 1;
        assign(data, dim, &centres, &mut labels);
        let moved = update(data, dim, &centres, &labels);
        let shift: f64 = moved
            .chunks_exact(dim)
            .zip(centres.chunks_exact(dim))
            .map(|(new, old)| f64::from(squared_l2(new, old)))
            .sum();
        centres = moved;
        if labels == previous {
            strict_convergence = true;
            break;
        }
        if shift <= tolerance {
            break;
        }
        previous.copy_from_slice(&labels);
    }
    if !strict_convergence {
        // The labels must belong to the centres returned.
        assign(data, dim, &centres, &mut labels);
    }
    let squared: Vec<f64> = labels
        .par_iter()
        .enumerate()
        .map(|(i, &label)| {
            let centre = &centres[label as usize * dim..(label as usize + 1) * dim];
            f64::from(squared_l2(&data[i * dim..(i + 1) * dim], centre))
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

/// The E-step: each point's nearest centre, the first one on a tie. Compares
/// `‖c‖² − 2 x·c` (the `‖x‖²` term is the same for every centre), as scikit-learn does.
fn assign(data: &[f32], dim: usize, centres: &[f32], labels: &mut [u32]) {
    let norms: Vec<f32> = centres.chunks_exact(dim).map(|c| dot(c, c)).collect();
    labels
        .par_chunks_mut(ROWS_PER_TASK)
        .zip(data.par_chunks(ROWS_PER_TASK * dim))
        .for_each(|(labels, rows)| {
            for (label, x) in labels.iter_mut().zip(rows.chunks_exact(dim)) {
                let mut best = f32::INFINITY;
                let mut nearest = 0;
                for (j, (c, &norm)) in centres.chunks_exact(dim).zip(&norms).enumerate() {
                    let distance = norm - 2.0 * dot(x, c);
                    if distance < best {
                        best = distance;
                        nearest = j as u32;
                    }
                }
                *label = nearest;
            }
        });
}

/// The M-step: the mean of each cluster's points, after giving empty clusters the points
/// farthest from their centres (scikit-learn's `_relocate_empty_clusters_dense` and
/// `_average_centers`).
fn update(data: &[f32], dim: usize, centres: &[f32], labels: &[u32]) -> Vec<f32> {
    let n = labels.len();
    let k = centres.len() / dim;
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let mut owner = labels.to_vec();
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l as usize] += 1);

    let empty: Vec<usize> = (0..k).filter(|&j| sizes[j] == 0).collect();
    if !empty.is_empty() {
        let distances: Vec<f32> = labels
            .par_iter()
            .enumerate()
            .map(|(i, &l)| squared_l2(row(i), &centres[l as usize * dim..(l as usize + 1) * dim]))
            .collect();
        // When every point is on its centre there are fewer distinct points than clusters,
        // and moving centres onto points would not help.
        if distances.iter().any(|&d| d > 0.0) {
            let mut farthest: Vec<usize> = (0..n).collect();
            let taken = empty.len();
            let by_distance =
                |a: &usize, b: &usize| distances[*b].total_cmp(&distances[*a]).then(a.cmp(b));
            farthest.select_nth_unstable_by(taken - 1, by_distance);
            farthest.truncate(taken);
            farthest.sort_unstable_by(by_distance);
            for (&cluster, &point) in empty.iter().zip(&farthest) {
                sizes[owner[point] as usize] -= 1;
                sizes[cluster] += 1;
                owner[point] = cluster as u32;
            }
        }
    }

    // Members of each cluster in point order (a counting sort), then each cluster's sum in
    // that order, clusters in parallel: deterministic.
    let mut starts = vec![0usize; k + 1];
    for j in 0..k {
        starts[j + 1] = starts[j] + sizes[j];
    }
    let mut members = vec![0usize; n];
    let mut next = starts.clone();
    for (i, &o) in owner.iter().enumerate() {
        members[next[o as usize]] = i;
        next[o as usize] += 1;
    }
    let sums: Vec<Vec<f64>> = (0..k)
        .into_par_iter()
        .map(|j| {
            let mut sum = vec![0f64; dim];
            for &i in &members[starts[j]..starts[j + 1]] {
                sum.iter_mut()
                    .zip(row(i))
                    .for_each(|(s, &v)| *s += f64::from(v));
            }
            sum
        })
        .collect();

    // An empty cluster (only when relocation was pointless) takes the place of the largest,
    // as scikit-learn's `_average_centers`, which copies the largest cluster's row as it is
    // at that moment: already divided if it comes earlier, still a sum if it comes later.
    let largest = (0..k).fold(0, |best, j| if sizes[j] > sizes[best] { j } else { best });
    let mut new = vec![0f32; k * dim];
    for j in 0..k {
        let (source, divisor) = if sizes[j] > 0 {
            (j, sizes[j] as f64)
        } else if largest < j {
            (largest, sizes[largest] as f64)
        } else {
            (largest, 1.0)
        };
        new[j * dim..(j + 1) * dim]
            .iter_mut()
            .zip(&sums[source])
            .for_each(|(c, &s)| *c = (s / divisor) as f32);
    }
    new
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
