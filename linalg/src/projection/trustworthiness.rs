//! Trustworthiness: how far a map (an embedding) keeps neighbours that are neighbours in the
//! original space, as scikit-learn 1.7's `sklearn.manifold.trustworthiness`.
//!
//! `T(k) = 1 − 2 / (n·k·(2n − 3k − 1)) · Σ_i Σ_{j ∈ N_i^k} max(0, r(i, j) − k)`, where
//! `N_i^k` are the `k` nearest neighbours of point `i` in the map (Euclidean) and `r(i, j)` is
//! the rank of `j` among the neighbours of `i` in the original space (1 for the nearest). 1
//! means that every map neighbour is also an original neighbour; a map that ignores the
//! original space scores about 0.5.
//!
//! Unlike scikit-learn, which forms and sorts the whole `n × n` distance matrix, the ranks
//! are counted for a few points at a time, in parallel, from their distances to every row,
//! so memory stays linear; the work is still `n²` distances (and no sort: a rank is a count
//! of nearer points). Ties (equal distances) are broken by index, where scikit-learn's
//! `argsort` leaves the order unspecified; in the map, when a point has more than `k`
//! coincident neighbours, the neighbour list leaves out the first rather than the point
//! itself, as scikit-learn's `kneighbors` does.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::neighbours::{ClusterMetric, Prepared, k_nearest};
use crate::points::Points;

/// The trustworthiness of `embedded` as a map of `original` (same number of rows) for `k`
/// neighbours; distances in the original space under `metric`, in the map Euclidean.
/// `k` must be at least 1 and less than half the number of rows (scikit-learn's rule, which
/// keeps the value within [0, 1]).
pub fn trustworthiness(
    original: &Points<'_>,
    embedded: &Points<'_>,
    k: usize,
    metric: ClusterMetric,
) -> Result<f64> {
    let n = original.len();
    if embedded.len() != n {
        return Err(Error::InvalidArgument(format!(
            "trustworthiness compares a map with its data row for row, but the data has {n} \
             rows and the map {}; pass the map of exactly these rows",
            embedded.len()
        )));
    }
    if k == 0 {
        return Err(Error::InvalidArgument(
            "trustworthiness needs at least 1 neighbour; use k = 5 or so".into(),
        ));
    }
    if k as f64 >= n as f64 / 2.0 {
        return Err(Error::InvalidArgument(format!(
            "trustworthiness with k = {k} needs more than {} rows, and there are {n}; use a k \
             below {} (less than half the rows)",
            2 * k,
            n.div_ceil(2)
        )));
    }

    let map = k_nearest(&Prepared::new(embedded, ClusterMetric::Euclidean), k + 1);
    let prepared = Prepared::new(original, metric);
    let blocks = n.div_ceil(QUERIES_PER_BLOCK);
    let penalty: u64 = (0..blocks)
        .into_par_iter()
        .map_init(
            || vec![0f32; QUERIES_PER_BLOCK * n],
            |distances, block| {
                let queries = block * QUERIES_PER_BLOCK..((block + 1) * QUERIES_PER_BLOCK).min(n);
                // Every row meets the whole block of queries while it is in the cache.
                for j in 0..n {
                    for (slot, i) in queries.clone().enumerate() {
                        distances[slot * n + j] = prepared.distance(i, j);
                    }
                }
                queries
                    .enumerate()
                    .map(|(slot, i)| {
                        let row = &mut distances[slot * n..(slot + 1) * n];
                        // As scikit-learn: a point is not its own neighbour.
                        row[i] = f32::INFINITY;
                        rank_penalty(row, map.indices(i), i, k)
                    })
                    .sum::<u64>()
            },
        )
        .sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - penalty as f64 * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))))
}

/// Queries whose distances to every row are computed together (their vectors stay in the
/// first-level cache while the rows stream past).
const QUERIES_PER_BLOCK: usize = 8;

/// `Σ max(0, r(i, j) − k)` over the map neighbours `j` of point `i` (`found`: its `k + 1`
/// nearest in the map, itself usually among them), with `distances` from `i` in the original
/// space (`+∞` at `i`). `r(i, j)` is 1 + the number of points nearer to `i` than `j`, or as
/// near with a smaller index.
fn rank_penalty(distances: &[f32], found: &[u32], i: usize, k: usize) -> u64 {
    // Without the point itself, or without the first one if the point is not among its own
    // k + 1 nearest (many coincident points), as scikit-learn's `kneighbors`.
    let skip = found.iter().position(|&j| j as usize == i).unwrap_or(0);
    found
        .iter()
        .enumerate()
        .filter(|&(slot, _)| slot != skip)
        .map(|(_, &j)| {
            let j = j as usize;
            let threshold = distances[j];
            let nearer = distances.iter().filter(|&&d| d < threshold).count();
            let tied_before = distances[..j].iter().filter(|&&d| d == threshold).count();
            let rank = (1 + nearer + tied_before) as u64;
            rank.saturating_sub(k as u64)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 points in 3 dimensions (every pairwise distance distinct).
    #[rustfmt::skip]
    const ORIGINAL: [f32; 60] = [
        3.38, -0.93, 0.07, 0.82, -1.58, 0.0, -0.0, -3.51, 2.04, 1.2, -1.25, -0.34,
        1.01, -0.52, -0.49, -2.91, 1.11, 0.25, 0.55, -3.05, 3.3, 0.31, -0.77, 4.06,
        -0.09, -2.9, -0.81, -4.58, 2.1, -0.83, -1.49, 2.14, -3.3, 1.07, -4.13, -1.32,
        -2.41, 2.92, 3.53, -0.66, 1.68, -0.36, 1.14, -1.51, -3.42, -3.61, 0.77, 4.5,
        0.54, -1.05, 3.82, 0.47, 0.2, 0.51, -0.26, -0.62, -2.87, 1.0, -0.19, 2.39,
    ];

    /// A noisy map of them in 2 dimensions.
    #[rustfmt::skip]
    const MAP: [f32; 40] = [
        2.83, -3.79, 0.67, 0.97, -0.58, -4.84, -0.59, -2.83, 0.56, -2.29,
        -0.66, 0.69, 0.71, -0.89, 2.56, -1.09, 0.41, -1.8, -4.87, -0.57,
        -0.51, 3.48, 1.69, -5.52, -2.7, 2.03, -1.11, 3.63, 3.43, -0.51,
        -2.79, 1.78, 0.52, -1.16, -0.54, 0.12, 3.13, 0.68, 0.49, -0.9,
    ];

    #[test]
    fn values_equal_scikit_learns() {
        // sklearn.manifold.trustworthiness(ORIGINAL, MAP, n_neighbors=k, metric=...) with
        // scikit-learn 1.7.2.
        let expected = [
            (1, 0.7138888888888888, 0.6888888888888889),
            (3, 0.6977777777777778, 0.6777777777777778),
            (5, 0.7008333333333333, 0.6833333333333333),
            (9, 0.712962962962963, 0.7027777777777777),
        ];
        let original = Points::new(&ORIGINAL, 3).unwrap();
        let map = Points::new(&MAP, 2).unwrap();
        for (k, euclidean, cosine) in expected {
            let got = trustworthiness(&original, &map, k, ClusterMetric::Euclidean).unwrap();
            assert!(
                (got - euclidean).abs() < 1e-12,
                "k = {k}: {got} vs {euclidean}"
            );
            let got = trustworthiness(&original, &map, k, ClusterMetric::Cosine).unwrap();
            assert!((got - cosine).abs() < 1e-12, "k = {k}: {got} vs {cosine}");
        }
    }

    #[test]
    fn a_map_that_keeps_every_neighbour_scores_one() {
        let original = Points::new(&ORIGINAL, 3).unwrap();
        let same = Points::new(&ORIGINAL, 3).unwrap();
        let t = trustworthiness(&original, &same, 5, ClusterMetric::Euclidean).unwrap();
        assert_eq!(t, 1.0);
    }

    #[test]
    fn k_must_be_below_half_the_rows() {
        let original = Points::new(&ORIGINAL, 3).unwrap();
        let map = Points::new(&MAP, 2).unwrap();
        let error = trustworthiness(&original, &map, 10, ClusterMetric::Euclidean)
            .unwrap_err()
            .to_string();
        assert!(error.contains("below 10"), "{error}");
        let error = trustworthiness(&original, &map, 0, ClusterMetric::Euclidean)
            .unwrap_err()
            .to_string();
        assert!(error.contains("at least 1"), "{error}");
        let empty = Points::new(&[], 3).unwrap();
        let empty_map = Points::new(&[], 2).unwrap();
        assert!(trustworthiness(&empty, &empty_map, 1, ClusterMetric::Euclidean).is_err());
    }

    #[test]
    fn the_map_must_have_the_same_rows() {
        let original = Points::new(&ORIGINAL, 3).unwrap();
        let map = Points::new(&MAP[..38], 2).unwrap();
        let error = trustworthiness(&original, &map, 3, ClusterMetric::Euclidean)
            .unwrap_err()
            .to_string();
        assert!(error.contains("20 rows and the map 19"), "{error}");
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

    #[test]
    #[ignore]
    #[allow(clippy::print_stdout)]
    fn bench_trustworthiness_10k_384() {
        let (Some(data), Some(map)) = (
            read("/tmp/projection/blobs_10k_384.f32"),
            read("/tmp/projection/sk_tsne_10k_384.f32"),
        ) else {
            println!("no data in /tmp/projection: skipped");
            return;
        };
        let points = Points::new(&data, 384).unwrap();
        let embedded = Points::new(&map, 2).unwrap();
        let start = std::time::Instant::now();
        let t = trustworthiness(&points, &embedded, 10, ClusterMetric::Euclidean).unwrap();
        println!("trustworthiness {t:.5} in {:?}", start.elapsed());
    }
}
