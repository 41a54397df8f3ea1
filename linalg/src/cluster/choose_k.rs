//! Scores that help choose the number of k-means clusters: for each K in a range, how
//! compact the clusters are, how far apart, the silhouette, and how robust the clustering
//! is, to other seeds and to one more centre.
//!
//! This is the K selection of "An Efficient and Explanatory Image and Text Clustering System
//! with Multimodal Autoencoder Architecture" (§3.4.1): a good K has compact clusters (small
//! `mean_intra_distance`), distinct clusters (large `mean_inter_centroid_distance`), and
//! clusters that do not change much as centroids are added (`k_stability` near 1). The
//! scores are meant to be plotted against K and read together; none of them picks K alone
//! (inertia and the intra distance always fall as K grows).

use rayon::prelude::*;

use crate::cluster::kmeans::{Centred, KMeansParams, KMeansResult};
use crate::cluster::quality::{Clusters, PairDistances, adjusted_rand_index};
use crate::distance::squared_l2;
use crate::error::{Error, Result};
use crate::points::Points;
use crate::rng::SeededRng;

/// The most memory the silhouette's table of pair distances may take; a larger sample is
/// scored without the table (slower: every K computes the distances again).
const PAIR_TABLE_BUDGET: usize = 256 << 20;

/// The parameters of [`choose_k`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChooseKParams {
    /// The smallest K scored (at least 1).
    pub k_min: usize,
    /// The largest K scored (at most the number of points).
    pub k_max: usize,
    /// Seed of every random choice (the runs' seeds and the silhouette's sample).
    pub seed: u64,
    /// k-means runs per K, each from its own seed (5 by default).
    pub runs: usize,
    /// The silhouette is computed on a random sample of at most this many points (10 000 by
    /// default; exact when there are fewer points); 0 skips the silhouette.
    pub silhouette_sample: usize,
}

impl ChooseKParams {
    /// Scores K from `k_min` to `k_max` with seed 0, 5 runs per K and a silhouette sample of
    /// 10 000 points.
    pub fn new(k_min: usize, k_max: usize) -> Self {
        ChooseKParams {
            k_min,
            k_max,
            seed: 0,
            runs: 5,
            silhouette_sample: 10_000,
        }
    }
}

/// The scores of one K, from the best (lowest inertia) of its runs unless said otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct KScore {
    /// The number of clusters.
    pub k: usize,
    /// The sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// The mean Euclidean distance of a point to its centre: small for compact clusters.
    pub mean_intra_distance: f64,
    /// The mean Euclidean distance between two centres, over all pairs: large for distinct
    /// clusters. 0 when K = 1.
    pub mean_inter_centroid_distance: f64,
    /// The mean silhouette on the sample (see [`ChooseKParams::silhouette_sample`]); `None`
    /// when K = 1, when the sample holds fewer than two of the clusters or when the
    /// silhouette is skipped.
    pub silhouette: Option<f64>,
    /// The mean adjusted Rand index between the labellings of every two runs: 1.0 when every
    /// seed finds the same clusters (1.0 also with a single run).
    pub seed_stability: f64,
    /// The adjusted Rand index between this K's clustering and K − 1's: near 1.0 when one
    /// more centre leaves the clusters much as they were. `None` for the first K.
    pub k_stability: Option<f64>,
}

/// Scores every K from `params.k_min` to `params.k_max` (see [`KScore`]), in order of K.
///
/// Each K runs k-means `params.runs` times (k-means++, one run each, seeds drawn from
/// `params.seed` and K), in parallel. Deterministic: the same points and parameters give the
/// same scores on any number of threads.
pub fn choose_k(points: &Points<'_>, params: &ChooseKParams) -> Result<Vec<KScore>> {
    check(points.len(), params)?;
    let centred = Centred::of(points);
    let root = SeededRng::new(params.seed);
    let sample = Sample::new(points, params.silhouette_sample, &mut root.fork(0));
    let mut scores = Vec::with_capacity(params.k_max - params.k_min + 1);
    let mut previous: Option<Vec<i64>> = None;
    for k in params.k_min..=params.k_max {
        let seeds = root.fork(k as u64);
        let runs: Vec<KMeansResult> = (0..params.runs)
            .into_par_iter()
            .map(|run| {
                let seed = seeds.fork(run as u64).next_u64();
                centred.kmeans(&KMeansParams {
                    seed,
                    ..KMeansParams::new(k)
                })
            })
            .collect::<Result<_>>()?;
        let best = runs.iter().enumerate().fold(0, |best, (r, run)| {
            if run.inertia < runs[best].inertia {
                r
            } else {
                best
            }
        });
        let best = &runs[best];
        let k_stability = match &previous {
            Some(labels) => Some(adjusted_rand_index(labels, &best.labels)?),
            None => None,
        };
        scores.push(KScore {
            k,
            inertia: best.inertia,
            mean_intra_distance: mean_intra_distance(points, best),
            mean_inter_centroid_distance: mean_inter_centroid_distance(&best.centres, points.dim()),
            silhouette: sample.silhouette(&best.labels),
            seed_stability: seed_stability(&runs)?,
            k_stability,
        });
        previous = Some(best.labels.clone());
    }
    Ok(scores)
}

fn check(n: usize, params: &ChooseKParams) -> Result<()> {
    let fail = |message: String| Err(Error::InvalidArgument(message));
    let ChooseKParams {
        k_min, k_max, runs, ..
    } = *params;
    if k_min == 0 {
        return fail(
            "k_min = 0: K starts at 1 clusters; use a k_min of at least 1 (2 for a \
                     silhouette)"
                .into(),
        );
    }
    if k_min > k_max {
        return fail(format!(
            "k_min = {k_min} is above k_max = {k_max}; give k_min <= k_max"
        ));
    }
    if k_max > n {
        return fail(format!(
            "k_max = {k_max} but only {n} rows; use a k_max of at most {n}"
        ));
    }
    if runs == 0 {
        return fail("runs = 0: each K needs at least one k-means run; use runs >= 1".into());
    }
    Ok(())
}

/// The mean Euclidean distance of a point to its centre.
fn mean_intra_distance(points: &Points<'_>, clustering: &KMeansResult) -> f64 {
    let dim = points.dim();
    let distances: Vec<f64> = clustering
        .labels
        .par_iter()
        .enumerate()
        .map(|(i, &label)| {
            let centre = &clustering.centres[label as usize * dim..(label as usize + 1) * dim];
            f64::from(squared_l2(points.row(i), centre)).sqrt()
        })
        .collect();
    distances.iter().sum::<f64>() / distances.len() as f64
}

/// The mean Euclidean distance over all pairs of centres; 0 for a single centre.
fn mean_inter_centroid_distance(centres: &[f32], dim: usize) -> f64 {
    let k = centres.len() / dim;
    let centre = |j: usize| &centres[j * dim..(j + 1) * dim];
    let mut sum = 0.0;
    for a in 0..k {
        for b in a + 1..k {
            let squared: f64 = centre(a)
                .iter()
                .zip(centre(b))
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum();
            sum += squared.sqrt();
        }
    }
    let pairs = k * k.saturating_sub(1) / 2;
    if pairs == 0 { 0.0 } else { sum / pairs as f64 }
}

/// The mean adjusted Rand index over every two runs; 1.0 with a single run.
fn seed_stability(runs: &[KMeansResult]) -> Result<f64> {
    let pairs: Vec<(usize, usize)> = (0..runs.len())
        .flat_map(|a| (a + 1..runs.len()).map(move |b| (a, b)))
        .collect();
    if pairs.is_empty() {
        return Ok(1.0);
    }
    let indices = pairs
        .par_iter()
        .map(|&(a, b)| adjusted_rand_index(&runs[a].labels, &runs[b].labels))
        .collect::<Result<Vec<f64>>>()?;
    Ok(indices.iter().sum::<f64>() / indices.len() as f64)
}

/// The points the silhouette is computed on, the same for every K (as scikit-learn's
/// `silhouette_score(sample_size=..., random_state=...)` with a fixed seed).
struct Sample<'a> {
    points: Points<'a>,
    /// Sorted row numbers; empty when the silhouette is skipped.
    rows: Vec<usize>,
    /// Their distances, when they fit in [`PAIR_TABLE_BUDGET`].
    pairs: Option<PairDistances>,
}

impl<'a> Sample<'a> {
    fn new(points: &Points<'a>, size: usize, rng: &mut SeededRng) -> Self {
        let n = points.len();
        let rows: Vec<usize> = if size >= n {
            (0..n).collect()
        } else {
            // A partial Fisher-Yates shuffle: `size` distinct rows, uniformly.
            let mut order: Vec<usize> = (0..n).collect();
            for i in 0..size {
                let j = i + rng.below(n - i);
                order.swap(i, j);
            }
            order.truncate(size);
            order.sort_unstable();
            order
        };
        let pairs = (rows.len() >= 2 && PairDistances::bytes(rows.len()) <= PAIR_TABLE_BUDGET)
            .then(|| PairDistances::euclidean(points, &rows));
        Sample {
            points: *points,
            rows,
            pairs,
        }
    }

    /// The mean silhouette of the sampled points under `labels` (one per point of all).
    fn silhouette(&self, labels: &[i64]) -> Option<f64> {
        let clusters = Clusters::of(self.rows.iter().map(|&i| labels[i]));
        if !clusters.silhouette_defined() {
            return None;
        }
        Some(match &self.pairs {
            Some(pairs) => clusters.mean_silhouette_from(pairs),
            None => clusters.mean_silhouette(|a, b| {
                squared_l2(self.points.row(self.rows[a]), self.points.row(self.rows[b])).sqrt()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` points around each of `k` centres far apart, in 4 dimensions.
    fn blobs(k: usize, count: usize, seed: u64) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        let centres: Vec<f64> = (0..k * 4).map(|_| rng.normal() * 30.0).collect();
        (0..k * count)
            .flat_map(|i| {
                let blob = i % k;
                (0..4)
                    .map(|d| (centres[blob * 4 + d] + rng.normal()) as f32)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_true_k_stands_out() {
        let data = blobs(4, 50, 1);
        let points = Points::new(&data, 4).unwrap();
        let scores = choose_k(&points, &ChooseKParams::new(1, 6)).unwrap();
        assert_eq!(
            scores.iter().map(|s| s.k).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6]
        );
        let at = |k: usize| &scores[k - 1];
        // The silhouette peaks at the true K, and every seed finds those clusters.
        let best = (2..=6)
            .max_by(|&a, &b| {
                at(a)
                    .silhouette
                    .unwrap()
                    .total_cmp(&at(b).silhouette.unwrap())
            })
            .unwrap();
        assert_eq!(best, 4);
        assert_eq!(at(4).seed_stability, 1.0);
        assert!(at(4).silhouette.unwrap() > 0.8);
        // Inertia and the distance to the centre fall as K grows, sharply until 4.
        for k in 2..=6 {
            assert!(at(k).inertia <= at(k - 1).inertia);
            assert!(at(k).mean_intra_distance <= at(k - 1).mean_intra_distance + 1e-9);
        }
        assert!(at(4).inertia < at(3).inertia / 10.0);
        // The first K has no K - 1, and K = 1 has no silhouette or centre pairs.
        assert_eq!(at(1).k_stability, None);
        assert_eq!(at(1).silhouette, None);
        assert_eq!(at(1).mean_inter_centroid_distance, 0.0);
        assert_eq!(at(1).seed_stability, 1.0);
        // Going from 1 cluster to 2 changes everything (ARI 0 against one cluster).
        assert_eq!(at(2).k_stability, Some(0.0));
        assert!(at(4).mean_inter_centroid_distance > 10.0 * at(4).mean_intra_distance);
    }

    #[test]
    fn scores_match_their_definitions() {
        let data = blobs(3, 10, 2);
        let points = Points::new(&data, 4).unwrap();
        let params = ChooseKParams {
            runs: 3,
            ..ChooseKParams::new(2, 3)
        };
        let scores = choose_k(&points, &params).unwrap();
        // Recompute K = 3 from the same runs as choose_k makes.
        let centred = Centred::of(&points);
        let seeds = SeededRng::new(0).fork(3);
        let runs: Vec<KMeansResult> = (0..3)
            .map(|r| {
                let seed = seeds.fork(r).next_u64();
                centred
                    .kmeans(&KMeansParams {
                        seed,
                        ..KMeansParams::new(3)
                    })
                    .unwrap()
            })
            .collect();
        let best = runs
            .iter()
            .min_by(|a, b| a.inertia.total_cmp(&b.inertia))
            .unwrap();
        let score = &scores[1];
        assert_eq!(score.inertia, best.inertia);
        let intra: f64 = (0..30)
            .map(|i| {
                let label = best.labels[i] as usize;
                let centre = &best.centres[label * 4..label * 4 + 4];
                points
                    .row(i)
                    .iter()
                    .zip(centre)
                    .map(|(&x, &c)| (f64::from(x) - f64::from(c)).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .sum::<f64>()
            / 30.0;
        assert!((score.mean_intra_distance - intra).abs() < 1e-4);
        let silhouette = crate::cluster::quality::silhouette(
            &points,
            &best.labels,
            crate::neighbours::ClusterMetric::Euclidean,
        )
        .unwrap();
        // 30 points, fewer than the sample: the silhouette is exact.
        assert!((score.silhouette.unwrap() - silhouette.unwrap()).abs() < 1e-9);
        let k2_best = choose_k(
            &points,
            &ChooseKParams {
                runs: 3,
                ..ChooseKParams::new(2, 2)
            },
        )
        .unwrap();
        assert_eq!(k2_best[0], scores[0]);
    }

    #[test]
    fn the_silhouette_sample_is_seeded_and_can_be_skipped() {
        let data = blobs(3, 40, 3);
        let points = Points::new(&data, 4).unwrap();
        let sampled = ChooseKParams {
            silhouette_sample: 20,
            runs: 2,
            ..ChooseKParams::new(2, 4)
        };
        let first = choose_k(&points, &sampled).unwrap();
        assert_eq!(first, choose_k(&points, &sampled).unwrap());
        // Well separated blobs score high on any sample.
        assert!(first[1].silhouette.unwrap() > 0.8);
        let skipped = ChooseKParams {
            silhouette_sample: 0,
            ..sampled.clone()
        };
        let without = choose_k(&points, &skipped).unwrap();
        assert!(without.iter().all(|s| s.silhouette.is_none()));
        assert_eq!(without[1].inertia, first[1].inertia);
    }

    #[test]
    fn a_sample_too_large_for_the_table_scores_the_same_without_it() {
        let data = blobs(3, 20, 6);
        let points = Points::new(&data, 4).unwrap();
        let with_table = Sample::new(&points, 45, &mut SeededRng::new(1));
        assert!(with_table.pairs.is_some());
        let without = Sample {
            points,
            rows: with_table.rows.clone(),
            pairs: None,
        };
        let labels: Vec<i64> = (0..60).map(|i| (i % 3) as i64).collect();
        let a = with_table.silhouette(&labels).unwrap();
        let b = without.silhouette(&labels).unwrap();
        assert!((a - b).abs() < 1e-12, "{a} {b}");
        assert_eq!(with_table.rows.len(), 45);
        assert!(with_table.rows.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn one_thread_or_many_give_the_same_scores() {
        let data = blobs(5, 30, 4);
        let points = Points::new(&data, 4).unwrap();
        let params = ChooseKParams {
            silhouette_sample: 60,
            ..ChooseKParams::new(2, 7)
        };
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| choose_k(&points, &params).unwrap())
        };
        assert_eq!(on(1), on(3));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_fix() {
        let data = blobs(2, 3, 5);
        let points = Points::new(&data, 4).unwrap();
        let error = |params: ChooseKParams| choose_k(&points, &params).unwrap_err().to_string();
        assert!(error(ChooseKParams::new(0, 3)).contains("k_min of at least 1"));
        assert!(error(ChooseKParams::new(4, 3)).contains("k_min <= k_max"));
        assert_eq!(
            error(ChooseKParams::new(2, 8)),
            "k_max = 8 but only 6 rows; use a k_max of at most 6"
        );
        let no_runs = ChooseKParams {
            runs: 0,
            ..ChooseKParams::new(2, 3)
        };
        assert!(error(no_runs).contains("runs >= 1"));
        // Identical rows: defined scores, no failure.
        let same = [1.0f32; 20];
        let points = Points::new(&same, 4).unwrap();
        let scores = choose_k(&points, &ChooseKParams::new(1, 3)).unwrap();
        assert!(
            scores
                .iter()
                .all(|s| s.inertia == 0.0 && s.silhouette.is_none())
        );
    }
}
