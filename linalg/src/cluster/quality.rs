//! How good a clustering is: the silhouette (from the vectors alone), purity and the adjusted
//! Rand index (against known classes or another clustering).
//!
//! The silhouette and purity leave out the points labelled [`NOISE`]: DBSCAN and HDBSCAN
//! mark points that belong to no cluster, and scoring them as one more "cluster" would reward
//! or punish the noise rather than the clusters. The adjusted Rand index compares two whole
//! labellings, so there `-1` is a label like any other, as in scikit-learn.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use rayon::prelude::*;

use crate::cluster::NOISE;
use crate::distance::squared_l2;
use crate::error::{Error, Result};
use crate::neighbours::{ClusterMetric, Prepared};
use crate::points::Points;

/// Rows of a tile: their distance sums stay in cache while the other rows stream past.
const TILE: usize = 64;

/// The most memory the per-block distance sums of a silhouette may take together.
const SUM_BUFFER_BUDGET: usize = 128 << 20;

/// `rows` cut into tiles of [`TILE`] rows.
fn tiles(rows: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    rows.clone()
        .step_by(TILE)
        .map(move |start| start..(start + TILE).min(rows.end))
}

/// The mean silhouette coefficient of the clustered points, as scikit-learn's
/// `silhouette_score` (`sklearn/metrics/cluster/_unsupervised.py`) on the points whose label is
/// not [`NOISE`].
///
/// For a point in a cluster of size > 1, with `a` its mean distance to the other points of
/// its cluster and `b` its smallest mean distance to the points of another cluster,
/// `s = (b − a) / max(a, b)`; a point alone in its cluster (or with `a = b = 0`) has `s = 0`.
/// Any label other than `NOISE` names a cluster (they need not be consecutive).
///
/// `None` when fewer than 2 points remain, when they form fewer than 2 clusters, or when
/// every point is its own cluster (scikit-learn refuses all three: it needs between 2 and
/// `n − 1` clusters).
///
/// Exact: every pair's distance, computed once (in parallel, a tile of rows kept in cache
/// while the others stream past) and counted for both points, in memory that grows with
/// points × clusters, never points²; past a budget of that memory (128 MiB) each point sums
/// its own distances instead, twice the work. Sums are added in an order fixed by the sizes,
/// so the result does not depend on the thread schedule.
pub fn silhouette(
    points: &Points<'_>,
    labels: &[i64],
    metric: ClusterMetric,
) -> Result<Option<f64>> {
    same_length(points.len(), labels.len(), "points", "labels")?;
    let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != NOISE).collect();
    let clusters = Clusters::of(members.iter().map(|&i| labels[i]));
    if !clusters.silhouette_defined() {
        return Ok(None);
    }
    let prepared = Prepared::new(points, metric);
    Ok(Some(clusters.mean_silhouette(|i, j| {
        prepared.distance_to(prepared.row(members[i]), members[j])
    })))
}

/// The clusters of some labelled points: a dense number for each point's cluster and the
/// size of each cluster. Also serves `choose_k`, which scores many labellings of one sample.
#[derive(Debug, Clone)]
pub(crate) struct Clusters {
    /// `cluster_of[i]`: the cluster of point `i`, numbered from 0 in order of first
    /// appearance.
    cluster_of: Vec<u32>,
    /// `sizes[c]`: the number of points in cluster `c`.
    sizes: Vec<usize>,
}

impl Clusters {
    /// Numbers the clusters of `labels` (one per point) densely.
    pub(crate) fn of(labels: impl Iterator<Item = i64>) -> Self {
        let mut number: HashMap<i64, u32> = HashMap::new();
        let mut sizes = Vec::new();
        let cluster_of = labels
            .map(|label| {
                let next = number.len() as u32;
                let cluster = *number.entry(label).or_insert(next);
                if cluster == next {
                    sizes.push(0);
                }
                sizes[cluster as usize] += 1;
                cluster
            })
            .collect();
        Clusters { cluster_of, sizes }
    }

    /// Whether scikit-learn would compute a silhouette: 2 to `n − 1` clusters.
    pub(crate) fn silhouette_defined(&self) -> bool {
        self.sizes.len() >= 2 && self.sizes.len() < self.cluster_of.len()
    }

    /// The mean silhouette given the distance between points `i` and `j` (indices into the
    /// labelled points). Needs [`Clusters::silhouette_defined`].
    ///
    /// Rows are taken a tile at a time while every other row streams past once, so the
    /// tile's rows stay in cache. When the per-block buffers fit [`SUM_BUFFER_BUDGET`], each
    /// pair is computed once and counted for both its points; otherwise (very many points
    /// times clusters) each point sums its own row of distances, twice the work in memory
    /// that grows only with the threads.
    pub(crate) fn mean_silhouette(&self, distance: impl Fn(usize, usize) -> f32 + Sync) -> f64 {
        self.mean_silhouette_within(SUM_BUFFER_BUDGET, distance)
    }

    /// [`Clusters::mean_silhouette`] with `budget` bytes for the per-block sums.
    fn mean_silhouette_within(
        &self,
        budget: usize,
        distance: impl Fn(usize, usize) -> f32 + Sync,
    ) -> f64 {
        let n = self.cluster_of.len();
        let c = self.sizes.len();
        if let Some(blocks) = self.symmetric_blocks(budget, |i| n - 1 - i) {
            return self.mean_from_block_sums(&blocks, |rows, sums| {
                for tile in tiles(rows) {
                    for j in tile.start + 1..n {
                        let to = self.cluster_of[j] as usize;
                        for i in tile.start..tile.end.min(j) {
                            let d = f64::from(distance(i, j));
                            sums[i * c + to] += d;
                            sums[j * c + self.cluster_of[i] as usize] += d;
                        }
                    }
                }
            });
        }
        let scores: Vec<f64> = tiles(0..n)
            .collect::<Vec<_>>()
            .into_par_iter()
            .flat_map_iter(|tile| {
                let mut sums = vec![0f64; tile.len() * c];
                for j in 0..n {
                    let to = self.cluster_of[j] as usize;
                    for (slot, i) in tile.clone().enumerate() {
                        if i != j {
                            sums[slot * c + to] += f64::from(distance(i, j));
                        }
                    }
                }
                tile.enumerate()
                    .map(|(slot, i)| self.score(i, &sums[slot * c..(slot + 1) * c]))
                    .collect::<Vec<_>>()
            })
            .collect();
        scores.iter().sum::<f64>() / n as f64
    }

    /// The mean silhouette from precomputed distances (the points of `pairs`, in order).
    /// Needs [`Clusters::silhouette_defined`].
    pub(crate) fn mean_silhouette_from(&self, pairs: &PairDistances) -> f64 {
        let n = pairs.len();
        let c = self.sizes.len();
        let blocks = self
            .symmetric_blocks(SUM_BUFFER_BUDGET, |i| n - 1 - i)
            .unwrap_or_else(|| vec![0, n]);
        self.mean_from_block_sums(&blocks, |rows, sums| {
            for i in rows {
                let own = self.cluster_of[i] as usize;
                for (j, &d) in (i + 1..n).zip(pairs.row(i)) {
                    let d = f64::from(d);
                    sums[i * c + self.cluster_of[j] as usize] += d;
                    sums[j * c + own] += d;
                }
            }
        })
    }

    /// Boundaries of blocks of rows holding about the same number of pairs (`pairs_of(i)`
    /// for row `i`), as many as fit `budget` bytes of sums up to 16, or `None` when fewer
    /// than 4 fit. The number depends on the sizes only, never on the threads.
    fn symmetric_blocks(
        &self,
        budget: usize,
        pairs_of: impl Fn(usize) -> usize,
    ) -> Option<Vec<usize>> {
        let n = self.cluster_of.len();
        let buffer = n * self.sizes.len() * size_of::<f64>();
        let blocks = (budget / buffer.max(1)).min(16);
        if blocks < 4 {
            return None;
        }
        let total: usize = (0..n).map(&pairs_of).sum();
        let mut bounds = vec![0usize];
        let mut seen = 0usize;
        for i in 0..n {
            seen += pairs_of(i);
            if bounds.len() < blocks && seen * blocks >= total * bounds.len() {
                bounds.push(i + 1);
            }
        }
        bounds.push(n);
        bounds.dedup();
        Some(bounds)
    }

    /// The mean silhouette when `add(rows, sums)` adds, for every pair `(i, j)` with `i` in
    /// `rows` and `j > i`, their distance to `sums[i][cluster of j]` and to
    /// `sums[j][cluster of i]`: each block of rows into a buffer of its own, in parallel,
    /// then the buffers added in block order, so that the result does not depend on the
    /// thread schedule.
    fn mean_from_block_sums(
        &self,
        bounds: &[usize],
        add: impl Fn(Range<usize>, &mut [f64]) + Sync,
    ) -> f64 {
        let n = self.cluster_of.len();
        let c = self.sizes.len();
        let partial: Vec<Vec<f64>> = bounds
            .par_windows(2)
            .map(|range| {
                let mut sums = vec![0f64; n * c];
                add(range[0]..range[1], &mut sums);
                sums
            })
            .collect();
        let mut totals = vec![0f64; n * c];
        for sums in &partial {
            totals.iter_mut().zip(sums).for_each(|(t, s)| *t += s);
        }
        let scores: Vec<f64> = (0..n)
            .map(|i| self.score(i, &totals[i * c..(i + 1) * c]))
            .collect();
        scores.iter().sum::<f64>() / n as f64
    }

    /// The silhouette of point `i` from its summed distances to each cluster.
    fn score(&self, i: usize, sums: &[f64]) -> f64 {
        let own = self.cluster_of[i] as usize;
        if self.sizes[own] == 1 {
            return 0.0;
        }
        let a = sums[own] / (self.sizes[own] - 1) as f64;
        let b = (0..self.sizes.len())
            .filter(|&c| c != own)
            .map(|c| sums[c] / self.sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let larger = a.max(b);
        // 0 / 0 (every distance zero) is 0, as scikit-learn's `nan_to_num`.
        if larger > 0.0 { (b - a) / larger } else { 0.0 }
    }
}

/// The Euclidean distances between every pair of some points, computed once so that many
/// labellings of the same points can be scored (`choose_k` scores one per K): `n (n − 1) / 2`
/// values, row `i` holding the distances from point `i` to the points after it.
pub(crate) struct PairDistances {
    n: usize,
    values: Vec<f32>,
}

impl PairDistances {
    /// The bytes the distances between `n` points take.
    pub(crate) fn bytes(n: usize) -> usize {
        n.saturating_mul(n.saturating_sub(1)) / 2 * size_of::<f32>()
    }

    /// The distances between the rows `rows` of `points`.
    pub(crate) fn euclidean(points: &Points<'_>, rows: &[usize]) -> Self {
        let n = rows.len();
        let mut values = vec![0f32; n * n.saturating_sub(1) / 2];
        // The rows of a tile are contiguous in `values`: one slice per tile, filled in
        // parallel, each tile's rows in cache while the later rows stream past.
        let mut pieces: Vec<(Range<usize>, &mut [f32])> = Vec::new();
        let mut rest = values.as_mut_slice();
        for tile in tiles(0..n) {
            let length: usize = tile.clone().map(|i| n - 1 - i).sum();
            let (piece, tail) = rest.split_at_mut(length);
            pieces.push((tile, piece));
            rest = tail;
        }
        pieces.into_par_iter().for_each(|(tile, piece)| {
            // Where each row of the tile starts in `piece`.
            let starts: Vec<usize> = tile
                .clone()
                .scan(0, |offset, i| {
                    let start = *offset;
                    *offset += n - 1 - i;
                    Some(start)
                })
                .collect();
            for j in tile.start + 1..n {
                let y = points.row(rows[j]);
                for (slot, i) in (tile.start..tile.end.min(j)).enumerate() {
                    piece[starts[slot] + (j - i - 1)] = squared_l2(points.row(rows[i]), y).sqrt();
                }
            }
        });
        PairDistances { n, values }
    }

    /// The number of points.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The distances from point `i` to points `i + 1..n`.
    fn row(&self, i: usize) -> &[f32] {
        let start = i * self.n - i * (i + 1) / 2;
        &self.values[start..start + self.n - 1 - i]
    }
}

/// The purity of a clustering against known classes: for each cluster the number of its
/// points in its most common class, summed over clusters and divided by the number of
/// clustered points. 1.0 means every cluster holds a single class.
///
/// Points labelled [`NOISE`] are left out (they are in no cluster); `None` when no point is
/// left.
pub fn purity<T: Eq + Hash>(labels: &[i64], truth: &[T]) -> Result<Option<f64>> {
    same_length(labels.len(), truth.len(), "cluster labels", "truth values")?;
    let mut counts: HashMap<(i64, &T), usize> = HashMap::new();
    let mut clustered = 0usize;
    for (&label, class) in labels.iter().zip(truth) {
        if label != NOISE {
            *counts.entry((label, class)).or_insert(0) += 1;
            clustered += 1;
        }
    }
    if clustered == 0 {
        return Ok(None);
    }
    let mut largest: HashMap<i64, usize> = HashMap::new();
    for (&(label, _), &count) in &counts {
        let entry = largest.entry(label).or_insert(0);
        *entry = (*entry).max(count);
    }
    let agreeing: usize = largest.values().sum();
    Ok(Some(agreeing as f64 / clustered as f64))
}

/// The adjusted Rand index of two labellings of the same items, exactly as scikit-learn's
/// `adjusted_rand_score` (`sklearn/metrics/cluster/_supervised.py`): 1.0 for the same
/// partition (whatever the label values), about 0 for independent ones, negative for worse
/// than chance. Symmetric in `a` and `b`.
///
/// As in scikit-learn, it is 1.0 when no pair of items is split by one labelling and joined
/// by the other: no items, one item, or the same partition (for example all items in one
/// cluster in both, or every item alone in both). Pair counts are exact integers, and the
/// final division rounds as scikit-learn's Python integers do.
pub fn adjusted_rand_index<A: Eq + Hash, B: Eq + Hash>(a: &[A], b: &[B]) -> Result<f64> {
    same_length(
        a.len(),
        b.len(),
        "labels in the first labelling",
        "in the second",
    )?;
    let a_ids = dense_ids(a);
    let b_ids = dense_ids(b);
    let mut contingency: HashMap<(u32, u32), i128> = HashMap::new();
    let mut a_sizes = vec![0i128; a_ids.iter().max().map_or(0, |&m| m as usize + 1)];
    let mut b_sizes = vec![0i128; b_ids.iter().max().map_or(0, |&m| m as usize + 1)];
    for (&x, &y) in a_ids.iter().zip(&b_ids) {
        *contingency.entry((x, y)).or_insert(0) += 1;
        a_sizes[x as usize] += 1;
        b_sizes[y as usize] += 1;
    }
    let n = a.len() as i128;
    let sum_squares: i128 = contingency.values().map(|c| c * c).sum();
    let a_squares: i128 = a_sizes.iter().map(|c| c * c).sum();
    let b_squares: i128 = b_sizes.iter().map(|c| c * c).sum();
    // scikit-learn's `pair_confusion_matrix` (ordered pairs, so every count is doubled).
    let together_in_both = sum_squares - n;
    let only_in_b = b_squares - sum_squares;
    let only_in_a = a_squares - sum_squares;
    let apart_in_both = n * n - only_in_b - only_in_a - sum_squares;
    let (tp, fp, fn_, tn) = (together_in_both, only_in_b, only_in_a, apart_in_both);
    if fn_ == 0 && fp == 0 {
        return Ok(1.0);
    }
    // `2.0 * (tp * tn - fn * fp) / (...)` in Python: each integer becomes the nearest f64.
    let numerator = 2.0 * (tp * tn - fn_ * fp) as f64;
    let denominator = ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn)) as f64;
    Ok(numerator / denominator)
}

/// Numbers the distinct values of `values` from 0, in order of first appearance.
fn dense_ids<T: Eq + Hash>(values: &[T]) -> Vec<u32> {
    let mut ids: HashMap<&T, u32> = HashMap::new();
    values
        .iter()
        .map(|value| {
            let next = ids.len() as u32;
            *ids.entry(value).or_insert(next)
        })
        .collect()
}

fn same_length(left: usize, right: usize, left_name: &str, right_name: &str) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{left} {left_name} but {right} {right_name}; give one of each per point"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight groups on a line and a far point: 0, 1, 2 | 10, 11 | 30.
    fn line() -> Vec<f32> {
        vec![0.0, 1.0, 2.0, 10.0, 11.0, 30.0]
    }

    #[test]
    fn silhouette_matches_scikit_learn() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        // sklearn.metrics.silhouette_score(X, [0,0,0,1,1,2]) = 0.7273829999836191
        // (X = [[0],[1],[2],[10],[11],[30]]; the singleton cluster 2 scores 0).
        let score = silhouette(&points, &[0, 0, 0, 1, 1, 2], ClusterMetric::Euclidean)
            .unwrap()
            .unwrap();
        assert!((score - 0.727_382_999_983_619_1).abs() < 1e-9, "{score}");
        // silhouette_score(X, [0,0,1,1,1,1]) = 0.2079928669979412 (a poorer split).
        let score = silhouette(&points, &[0, 0, 1, 1, 1, 1], ClusterMetric::Euclidean)
            .unwrap()
            .unwrap();
        assert!((score - 0.207_992_866_997_941_2).abs() < 1e-9, "{score}");
    }

    #[test]
    fn silhouette_with_cosine_matches_scikit_learn() {
        let data = [1.0, 0.0, 2.0, 0.1, 0.0, 1.0, 0.1, 3.0, -1.0, -0.2];
        let points = Points::new(&data, 2).unwrap();
        // silhouette_score(X, [0,0,1,1,0], metric="cosine") = 0.3080114054594968
        let score = silhouette(&points, &[0, 0, 1, 1, 0], ClusterMetric::Cosine)
            .unwrap()
            .unwrap();
        assert!((score - 0.308_011_405_459_496_8).abs() < 1e-6, "{score}");
    }

    #[test]
    fn silhouette_leaves_noise_out() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        // The same as sklearn's score on the first five points only:
        // silhouette_score(X[:5], [0,0,0,1,1]) = 0.872859599980343.
        let score = silhouette(&points, &[0, 0, 0, 1, 1, NOISE], ClusterMetric::Euclidean)
            .unwrap()
            .unwrap();
        assert!((score - 0.872_859_599_980_343).abs() < 1e-9, "{score}");
    }

    #[test]
    fn every_way_of_summing_gives_the_textbook_silhouette() {
        // 150 points (several tiles), 4 clusters of unequal sizes, one singleton.
        let mut rng = crate::SeededRng::new(8);
        let data: Vec<f32> = (0..450).map(|_| rng.normal() as f32).collect();
        let points = Points::new(&data, 3).unwrap();
        let mut labels: Vec<i64> = (0..150).map(|i| (i * i % 7 % 3) as i64).collect();
        labels[77] = 9;
        let distance = |i: usize, j: usize| squared_l2(points.row(i), points.row(j)).sqrt();
        let textbook = (0..150)
            .map(|i| {
                let mean_to = |label: i64| {
                    let others: Vec<usize> =
                        (0..150).filter(|&j| j != i && labels[j] == label).collect();
                    others
                        .iter()
                        .map(|&j| f64::from(distance(i, j)))
                        .sum::<f64>()
                        / others.len() as f64
                };
                if labels.iter().filter(|&&l| l == labels[i]).count() == 1 {
                    return 0.0;
                }
                let a = mean_to(labels[i]);
                let b = [0, 1, 2, 9]
                    .into_iter()
                    .filter(|&l| l != labels[i])
                    .map(mean_to)
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .sum::<f64>()
            / 150.0;
        let clusters = Clusters::of(labels.iter().copied());
        let symmetric = clusters.mean_silhouette(distance);
        let per_point = clusters.mean_silhouette_within(0, distance);
        let rows: Vec<usize> = (0..150).collect();
        let table = clusters.mean_silhouette_from(&PairDistances::euclidean(&points, &rows));
        for got in [symmetric, per_point, table] {
            assert!((got - textbook).abs() < 1e-12, "{got} {textbook}");
        }
    }

    #[test]
    fn silhouette_from_pair_distances_is_the_same() {
        let mut rng = crate::SeededRng::new(5);
        let data: Vec<f32> = (0..300).map(|_| rng.normal() as f32).collect();
        let points = Points::new(&data, 3).unwrap();
        let labels: Vec<i64> = (0..100).map(|i| (i * 7 % 4) as i64).collect();
        let direct = silhouette(&points, &labels, ClusterMetric::Euclidean)
            .unwrap()
            .unwrap();
        let rows: Vec<usize> = (0..100).collect();
        let pairs = PairDistances::euclidean(&points, &rows);
        assert_eq!(PairDistances::bytes(100), 4950 * 4);
        let from_pairs = Clusters::of(labels.iter().copied()).mean_silhouette_from(&pairs);
        assert!((direct - from_pairs).abs() < 1e-12, "{direct} {from_pairs}");
        // A subset of rows: the same as the silhouette of those points alone.
        let rows: Vec<usize> = (0..100).step_by(3).collect();
        let subset: Vec<f32> = rows.iter().flat_map(|&i| points.row(i).to_vec()).collect();
        let subset_labels: Vec<i64> = rows.iter().map(|&i| labels[i]).collect();
        let expected = silhouette(
            &Points::new(&subset, 3).unwrap(),
            &subset_labels,
            ClusterMetric::Euclidean,
        )
        .unwrap()
        .unwrap();
        let pairs = PairDistances::euclidean(&points, &rows);
        let got = Clusters::of(subset_labels.iter().copied()).mean_silhouette_from(&pairs);
        assert!((expected - got).abs() < 1e-12, "{expected} {got}");
    }

    #[test]
    fn silhouette_is_none_where_undefined() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let euclidean = ClusterMetric::Euclidean;
        assert_eq!(silhouette(&points, &[3; 6], euclidean).unwrap(), None);
        assert_eq!(silhouette(&points, &[NOISE; 6], euclidean).unwrap(), None);
        assert_eq!(
            silhouette(&points, &[0, 1, 2, 3, 4, 5], euclidean).unwrap(),
            None
        );
        assert_eq!(
            silhouette(&points, &[0, 1, NOISE, NOISE, NOISE, NOISE], euclidean).unwrap(),
            None
        );
        let empty = Points::new(&[], 3).unwrap();
        assert_eq!(silhouette(&empty, &[], euclidean).unwrap(), None);
    }

    #[test]
    fn identical_points_score_zero_not_nan() {
        let data = [1.0f32; 8];
        let points = Points::new(&data, 2).unwrap();
        let score = silhouette(&points, &[0, 0, 1, 1], ClusterMetric::Euclidean)
            .unwrap()
            .unwrap();
        assert_eq!(score, 0.0);
    }

    #[test]
    fn silhouette_refuses_a_label_count_that_differs() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let error = silhouette(&points, &[0, 1], ClusterMetric::Euclidean)
            .unwrap_err()
            .to_string();
        assert!(error.contains("6 points but 2 labels"), "{error}");
    }

    #[test]
    fn purity_counts_the_largest_class_of_each_cluster() {
        let labels = [0, 0, 0, 1, 1, 1, NOISE];
        let truth = ["a", "a", "b", "b", "b", "b", "a"];
        // (2 + 3) / 6: the noise point is left out.
        assert_eq!(purity(&labels, &truth).unwrap(), Some(5.0 / 6.0));
        assert_eq!(purity(&[0, 1], &[7, 7]).unwrap(), Some(1.0));
        assert_eq!(purity(&[NOISE, NOISE], &[1, 2]).unwrap(), None);
        assert_eq!(purity::<u8>(&[], &[]).unwrap(), None);
        assert!(purity(&[0, 1], &[1]).is_err());
    }

    #[test]
    fn adjusted_rand_index_matches_scikit_learn() {
        // Values from sklearn.metrics.adjusted_rand_score 1.7.2.
        let cases: [(&[i64], &[i64], f64); 6] = [
            (&[0, 0, 1, 1], &[0, 1, 0, 1], -0.5),
            (&[0, 0, 1, 1], &[1, 1, 0, 0], 1.0),
            (
                &[0, 0, 0, 1, 1, 1],
                &[0, 0, 1, 1, 2, 2],
                0.242_424_242_424_242_45,
            ),
            (
                &[0, 0, 1, 2, 2, 2, 3, 3, 1, 0],
                &[1, 1, 1, 0, 0, 2, 2, 2, 0, 1],
                0.364_406_779_661_016_9,
            ),
            (&[0, 1, 2, 3], &[0, 0, 0, 0], 0.0),
            (
                &[-1, -1, 0, 0, 1],
                &[5, 5, 5, 7, 7],
                0.090_909_090_909_090_91,
            ),
        ];
        for (a, b, expected) in cases {
            let ari = adjusted_rand_index(a, b).unwrap();
            assert!((ari - expected).abs() < 1e-15, "{a:?} {b:?}: {ari}");
            assert_eq!(ari, adjusted_rand_index(b, a).unwrap());
        }
    }

    #[test]
    fn adjusted_rand_index_special_cases_are_one() {
        // scikit-learn returns 1.0 when no pair is split by one labelling and joined by the
        // other: nothing, one item, one cluster in both, singletons in both.
        assert_eq!(adjusted_rand_index::<i64, i64>(&[], &[]).unwrap(), 1.0);
        assert_eq!(adjusted_rand_index(&[4], &["x"]).unwrap(), 1.0);
        assert_eq!(adjusted_rand_index(&[1, 1, 1], &[2, 2, 2]).unwrap(), 1.0);
        assert_eq!(
            adjusted_rand_index(&[0, 1, 2], &["a", "b", "c"]).unwrap(),
            1.0
        );
    }

    #[test]
    fn adjusted_rand_index_takes_any_label_types_and_checks_lengths() {
        let a = ["cat", "cat", "dog", "dog"];
        let b = [Some(3), Some(3), None, None];
        assert_eq!(adjusted_rand_index(&a, &b).unwrap(), 1.0);
        let error = adjusted_rand_index(&a, &[1, 2]).unwrap_err().to_string();
        assert!(
            error.contains("4 labels in the first labelling but 2 in the second"),
            "{error}"
        );
    }
}
