//! DBSCAN: the labels of `sklearn.cluster.DBSCAN(eps, min_samples, metric).fit(X).labels_`.
//!
//! A point's neighbourhood is every point at distance ≤ `eps`, itself included; a point is a
//! *core* point when its neighbourhood holds at least `min_samples` points. Core points
//! within `eps` of each other are in the same cluster; a non-core point within `eps` of a
//! core point (a *border* point) joins a cluster of such a core point; every other point is
//! noise ([`NOISE`]).
//!
//! scikit-learn (`_dbscan.py`, `_dbscan_inner.pyx`) scans the points in index order and,
//! from each core point not yet labelled, runs a depth-first search that labels every point
//! it reaches with the next cluster number, expanding only core points. So clusters are
//! numbered in the order of their lowest-indexed core point, every cluster is finished
//! before the next starts, and a border point within reach of several clusters takes the
//! lowest-numbered one, whatever order the neighbourhoods list their points in. This module
//! computes exactly that without a search: the clusters are the connected components of the
//! core points (a union–find over the core–core pairs), numbered by their lowest core point,
//! and each border point takes the lowest cluster number among its core neighbours. The
//! tests check it against a port of scikit-learn's search.
//!
//! Distances are [`Prepared::distance`] (`f32`), compared with `eps` inclusively and exactly
//! (see [`crate::neighbours`]). scikit-learn computes them in `float64` and compares
//! with `eps` as a Python float, so a pair within rounding of `eps` (about 1e-7 relative) can
//! fall on the other side there; scikit-learn itself decides such pairs differently with
//! its tree and brute-force searches. Away from such ties the labels are identical (checked
//! against scikit-learn 1.7.2 on clustered vectors: 20 000 × 384 Euclidean and cosine,
//! 100 000 × 512 Euclidean).
//!
//! Memory grows with the number of neighbour pairs (one `u32` per pair), never with the
//! square of the number of points.

use crate::cluster::NOISE;
use crate::error::{Error, Result};
use crate::neighbours::{ClusterMetric, NeighbourPairs, Prepared, hnsw_radius_pairs, radius_pairs};
use crate::points::Points;

/// With [`NeighbourSearch::Hnsw`], each point links to at most this many nearest neighbours
/// (or `min_samples`, if more).
pub const HNSW_MIN_NEIGHBOURS: usize = 16;

/// Where DBSCAN finds each point's neighbourhood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighbourSearch {
    /// Every pair of points is compared (as scikit-learn's brute force): exact neighbourhoods,
    /// time that grows with the square of the number of points.
    Exact,
    /// An in-memory HNSW graph, searched for each point's `max(min_samples,`
    /// [`HNSW_MIN_NEIGHBOURS`]`)` nearest neighbours; those within `eps` are its links.
    /// Approximate, in two ways. A graph search can miss a near neighbour, so a core point
    /// can be taken for a border or noise point. And two core points within `eps` of each
    /// other that are not among each other's nearest are not linked, so a cluster can split
    /// where it is thin. Given exact searches, core points and the clusters of border points
    /// are exactly DBSCAN's. Memory and time grow with `n log n`, not with the number of
    /// pairs within `eps`. Deterministic: the graph is built one point at a time.
    Hnsw,
}

/// The parameters of [`dbscan`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbscanParams {
    /// The neighbourhood radius (inclusive): finite and above 0.
    pub eps: f32,
    /// The neighbourhood size, the point itself included, that makes a core point: at
    /// least 1.
    pub min_samples: usize,
    /// The distance.
    pub metric: ClusterMetric,
    /// Where neighbourhoods come from.
    pub search: NeighbourSearch,
}

impl DbscanParams {
    /// `eps` with scikit-learn's other defaults: `min_samples` 5, Euclidean, and an exact
    /// neighbour search.
    pub fn new(eps: f32) -> Self {
        DbscanParams {
            eps,
            min_samples: 5,
            metric: ClusterMetric::Euclidean,
            search: NeighbourSearch::Exact,
        }
    }

    fn validate(&self) -> Result<()> {
        if !self.eps.is_finite() || self.eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "DBSCAN eps = {} must be a finite distance above 0; use the largest distance \
                 at which two points count as neighbours, e.g. 0.5",
                self.eps
            )));
        }
        if self.min_samples == 0 {
            return Err(Error::InvalidArgument(
                "DBSCAN min_samples = 0: a neighbourhood always holds its own point, so use \
                 a min_samples of at least 1 (scikit-learn's default is 5)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The DBSCAN label of every point: clusters numbered from 0 in the order of their
/// lowest-indexed core point, noise [`NOISE`]. See the module documentation.
pub fn dbscan(points: &Points<'_>, params: &DbscanParams) -> Result<Vec<i64>> {
    params.validate()?;
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let prepared = Prepared::new(points, params.metric);
    let pairs = match params.search {
        NeighbourSearch::Exact => radius_pairs(&prepared, params.eps),
        NeighbourSearch::Hnsw => {
            let k = params.min_samples.max(HNSW_MIN_NEIGHBOURS);
            hnsw_radius_pairs(&prepared, params.eps, k)
        }
    };
    Ok(label(&pairs, params.min_samples))
}

/// The labels from the neighbour pairs (see the module documentation). The pairs come in
/// the scan's order of the points (`pairs.order()`); everything is computed in that order
/// and mapped back at the end, except the numbering of the clusters, which follows the
/// points' own order.
fn label(pairs: &NeighbourPairs, min_samples: usize) -> Vec<i64> {
    let n = pairs.points();
    let order = pairs.order();
    let core: Vec<bool> = pairs
        .counts()
        .into_iter()
        .map(|count| count >= min_samples)
        .collect();

    let mut components = Components::new(n);
    for (p, later) in pairs.rows() {
        if core[p] {
            for &q in later {
                if core[q as usize] {
                    components.join(p, q as usize);
                }
            }
        }
    }

    // Clusters are numbered in the order of their lowest core point: the order in which
    // scikit-learn's scan starts them.
    let mut position = vec![0usize; n];
    for (p, &i) in order.iter().enumerate() {
        position[i as usize] = p;
    }
    let mut labels = vec![NOISE; n];
    let mut cluster_of_root = vec![NOISE; n];
    let mut clusters = 0;
    for &p in &position {
        if core[p] {
            let root = components.root(p);
            if cluster_of_root[root] == NOISE {
                cluster_of_root[root] = clusters;
                clusters += 1;
            }
            labels[p] = cluster_of_root[root];
        }
    }

    // A border point takes the first cluster to reach it: the lowest-numbered one among
    // its core neighbours.
    let offer = |labels: &mut [i64], border: usize, core: usize| {
        let cluster = labels[core];
        if labels[border] == NOISE || cluster < labels[border] {
            labels[border] = cluster;
        }
    };
    for (p, later) in pairs.rows() {
        for &q in later {
            let q = q as usize;
            match (core[p], core[q]) {
                (true, false) => offer(&mut labels, q, p),
                (false, true) => offer(&mut labels, p, q),
                _ => {}
            }
        }
    }
    position.into_iter().map(|p| labels[p]).collect()
}

/// Union–find over scan positions.
struct Components {
    parent: Vec<u32>,
}

impl Components {
    fn new(n: usize) -> Self {
        Components {
            parent: (0..n as u32).collect(),
        }
    }

    /// The root of `i`'s component, halving the path on the way.
    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] as usize != i {
            let grandparent = self.parent[self.parent[i] as usize];
            self.parent[i] = grandparent;
            i = grandparent as usize;
        }
        i
    }

    /// Merges the components of `a` and `b`.
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            let (low, high) = (a.min(b), a.max(b));
            self.parent[high] = low as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRng;
    use crate::neighbours::within_radius;

    /// scikit-learn's `dbscan_inner`, line for line, over neighbourhoods in index order.
    fn sklearn_dbscan_inner(neighbourhoods: &[Vec<u32>], min_samples: usize) -> Vec<i64> {
        let n = neighbourhoods.len();
        let is_core: Vec<bool> = neighbourhoods
            .iter()
            .map(|hood| hood.len() >= min_samples)
            .collect();
        let mut labels = vec![-1i64; n];
        let mut label_num = 0;
        let mut stack: Vec<usize> = Vec::new();
        for start in 0..n {
            if labels[start] != -1 || !is_core[start] {
                continue;
            }
            let mut i = start;
            loop {
                if labels[i] == -1 {
                    labels[i] = label_num;
                    if is_core[i] {
                        for &v in &neighbourhoods[i] {
                            if labels[v as usize] == -1 {
                                stack.push(v as usize);
                            }
                        }
                    }
                }
                match stack.pop() {
                    Some(next) => i = next,
                    None => break,
                }
            }
            label_num += 1;
        }
        labels
    }

    fn run(data: &[f32], dim: usize, params: &DbscanParams) -> Vec<i64> {
        dbscan(&Points::new(data, dim).unwrap(), params).unwrap()
    }

    fn params(eps: f32, min_samples: usize) -> DbscanParams {
        DbscanParams {
            min_samples,
            ..DbscanParams::new(eps)
        }
    }

    #[test]
    fn two_clusters_and_noise_on_a_line() {
        // 0, 1, 2 | 10, 11, 12, 13 | 30 (alone)
        let data = [10.0, 0.0, 11.0, 1.0, 30.0, 12.0, 2.0, 13.0];
        let labels = run(&data, 1, &params(1.0, 3));
        // Core points: 11, 12 and 1. Cluster 0 starts at point 2 (x = 11), cluster 1 at
        // point 3 (x = 1); 10, 13, 0 and 2 are border points.
        assert_eq!(labels, vec![0, 1, 0, 1, -1, 0, 1, 0]);
    }

    #[test]
    fn a_border_point_goes_to_the_first_cluster_that_reaches_it() {
        // Two clusters on a line, 0..=2 and 6..=8; the point at 4 is within eps = 2 of one
        // core point of each (2 and 6) but has only 3 neighbours, so it is a border point.
        // The cluster of 6..=8 starts first (its point has the lower index), so it wins.
        let data = [6.0, 7.0, 8.0, 4.0, 0.0, 1.0, 2.0];
        let labels = run(&data, 1, &params(2.0, 4));
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
        // The same points with the left cluster first: the border point follows it.
        let data = [0.0, 1.0, 2.0, 4.0, 6.0, 7.0, 8.0];
        let labels = run(&data, 1, &params(2.0, 4));
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
        let data = [4.0, 0.0, 1.0, 2.0, 6.0, 7.0, 8.0];
        let labels = run(&data, 1, &params(2.0, 4));
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
        let data = [4.0, 6.0, 7.0, 8.0, 0.0, 1.0, 2.0];
        let labels = run(&data, 1, &params(2.0, 4));
        assert_eq!(labels, vec![0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn eps_is_inclusive_and_min_samples_counts_the_point_itself() {
        let data = [0.0, 1.0, 5.0];
        // Points 0 and 1 are exactly eps apart: each has 2 neighbours, itself included.
        assert_eq!(run(&data, 1, &params(1.0, 2)), vec![0, 0, -1]);
        assert_eq!(run(&data, 1, &params(0.999, 2)), vec![-1, -1, -1]);
        // min_samples 1: every point is a core point, alone if need be.
        assert_eq!(run(&data, 1, &params(1.0, 1)), vec![0, 0, 1]);
    }

    #[test]
    fn identical_points_form_one_cluster_when_there_are_enough() {
        // scikit-learn: DBSCAN(eps=0.5, min_samples=5) on 5 equal rows gives [0 0 0 0 0],
        // and with min_samples=6 all noise.
        let data = [3.0f32, -1.0].repeat(5);
        for search in [NeighbourSearch::Exact, NeighbourSearch::Hnsw] {
            let with = |eps, min_samples| DbscanParams {
                search,
                ..params(eps, min_samples)
            };
            assert_eq!(run(&data, 2, &with(0.5, 5)), vec![0; 5], "{search:?}");
            assert_eq!(run(&data, 2, &with(0.5, 6)), vec![-1; 5], "{search:?}");
            assert_eq!(run(&data[..2], 2, &with(0.5, 1)), vec![0], "{search:?}");
            assert_eq!(run(&data[..2], 2, &with(0.5, 2)), vec![-1], "{search:?}");
        }
    }

    #[test]
    fn cosine_groups_by_direction_whatever_the_length() {
        let data = [
            1.0, 0.0, // 0: along x
            0.0, 3.0, // 1: along y
            5.0, 0.1, // 2: along x
            0.1, 2.0, // 3: along y
            -1.0, -1.0, // 4: alone
            2.0, 0.05, // 5: along x
        ];
        let labels = run(
            &data,
            2,
            &DbscanParams {
                metric: ClusterMetric::Cosine,
                ..params(0.01, 2)
            },
        );
        assert_eq!(labels, vec![0, 1, 0, 1, -1, 0]);
        // Euclidean sees lengths instead.
        assert_eq!(run(&data, 2, &params(0.5, 2)), vec![-1; 6]);
    }

    /// `clusters` blobs of `per` points in `dim` dimensions, well apart, interleaved.
    fn blobs(clusters: usize, per: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| (0..dim).map(|_| (rng.normal() * 10.0) as f32).collect())
            .collect();
        let mut data = Vec::new();
        for p in 0..clusters * per {
            let centre = &centres[p % clusters];
            data.extend(centre.iter().map(|&c| c + (rng.normal() * 0.3) as f32));
        }
        data
    }

    #[test]
    fn hnsw_gives_the_exact_labels_on_well_separated_blobs() {
        let dim = 16;
        let data = blobs(5, 60, dim, 11);
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            let eps = match metric {
                ClusterMetric::Euclidean => 3.0,
                ClusterMetric::Cosine => 0.05,
            };
            let exact = run(
                &data,
                dim,
                &DbscanParams {
                    metric,
                    ..params(eps, 5)
                },
            );
            let clusters = exact.iter().max().unwrap() + 1;
            assert_eq!(clusters, 5, "{metric:?}: {exact:?}");
            assert!(!exact.contains(&NOISE), "{metric:?}");
            let approximate = run(
                &data,
                dim,
                &DbscanParams {
                    metric,
                    search: NeighbourSearch::Hnsw,
                    ..params(eps, 5)
                },
            );
            assert_eq!(approximate, exact, "{metric:?}");
        }
    }

    #[test]
    fn labels_match_a_port_of_sklearns_search_on_random_data() {
        // Random points at a density where clusters, borders between clusters and noise
        // all occur; the exact scan's neighbourhoods feed the port of scikit-learn's loop.
        let mut rng = SeededRng::new(5);
        for trial in 0..20 {
            let dim = 1 + trial % 3;
            let n = 150 + trial * 10;
            let data: Vec<f32> = (0..n * dim).map(|_| rng.next_f64() as f32 * 10.0).collect();
            let points = Points::new(&data, dim).unwrap();
            let eps = 0.3 + 0.1 * (trial % 5) as f32;
            let min_samples = 2 + trial % 6;
            let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
            let expected = sklearn_dbscan_inner(&within_radius(&prepared, eps), min_samples);
            let got = dbscan(&points, &params(eps, min_samples)).unwrap();
            assert_eq!(got, expected, "trial {trial}");
        }
    }

    #[test]
    fn bad_parameters_say_what_to_use() {
        let data = [0.0, 1.0];
        let points = Points::new(&data, 1).unwrap();
        for eps in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let error = dbscan(&points, &params(eps, 2)).unwrap_err().to_string();
            assert!(error.contains("above 0"), "{error}");
        }
        let error = dbscan(&points, &params(1.0, 0)).unwrap_err().to_string();
        assert!(error.contains("at least 1"), "{error}");
    }

    #[test]
    fn empty_input_gives_no_labels() {
        let points = Points::new(&[], 3).unwrap();
        assert_eq!(
            dbscan(&points, &DbscanParams::new(1.0)).unwrap(),
            Vec::<i64>::new()
        );
        let hnsw = DbscanParams {
            search: NeighbourSearch::Hnsw,
            ..DbscanParams::new(1.0)
        };
        assert_eq!(dbscan(&points, &hnsw).unwrap(), Vec::<i64>::new());
    }

    /// Timing on a raw little-endian `f32` file, for comparison with scikit-learn:
    /// `REELDB_BENCH_FILE=x.f32 REELDB_BENCH_DIM=384 REELDB_BENCH_EPS=7 cargo test --lib
    /// dbscan_timing -- --ignored --nocapture` (optional: `REELDB_BENCH_MIN_SAMPLES`,
    /// `REELDB_BENCH_METRIC`, `REELDB_BENCH_SEARCH=hnsw`, `REELDB_BENCH_K` to time
    /// `k_nearest` too, `REELDB_BENCH_NEIGHBOURS` to write its indices as raw `u32`,
    /// `REELDB_BENCH_LABELS` to write the labels as raw `i64`).
    #[test]
    #[ignore = "a measurement on a file given in the environment"]
    #[allow(clippy::print_stderr)]
    fn dbscan_timing() {
        let var = |name: &str| std::env::var(name).ok();
        let Some(path) = var("REELDB_BENCH_FILE") else {
            return;
        };
        let bytes = std::fs::read(&path).unwrap();
        let data: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let dim: usize = var("REELDB_BENCH_DIM").unwrap().parse().unwrap();
        let points = Points::new(&data, dim).unwrap();
        let metric =
            ClusterMetric::parse(&var("REELDB_BENCH_METRIC").unwrap_or("l2".into())).unwrap();
        if let Some(k) = var("REELDB_BENCH_K") {
            let start = std::time::Instant::now();
            let prepared = Prepared::new(&points, metric);
            let neighbours = crate::neighbours::k_nearest(&prepared, k.parse().unwrap());
            eprintln!(
                "k_nearest k={} on {}x{dim}: {:.3} s (last distance of point 0: {})",
                neighbours.k(),
                points.len(),
                start.elapsed().as_secs_f64(),
                neighbours.distances(0).last().unwrap()
            );
            if let Some(out) = var("REELDB_BENCH_NEIGHBOURS") {
                let bytes: Vec<u8> = (0..points.len())
                    .flat_map(|i| neighbours.indices(i).to_vec())
                    .flat_map(|j| j.to_le_bytes())
                    .collect();
                std::fs::write(out, bytes).unwrap();
            }
        }
        let Some(eps) = var("REELDB_BENCH_EPS") else {
            return;
        };
        let params = DbscanParams {
            eps: eps.parse().unwrap(),
            min_samples: var("REELDB_BENCH_MIN_SAMPLES").map_or(5, |m| m.parse().unwrap()),
            metric,
            search: if var("REELDB_BENCH_SEARCH").as_deref() == Some("hnsw") {
                NeighbourSearch::Hnsw
            } else {
                NeighbourSearch::Exact
            },
        };
        let start = std::time::Instant::now();
        let labels = dbscan(&points, &params).unwrap();
        let clusters = labels.iter().max().map_or(0, |m| m + 1);
        let noise = labels.iter().filter(|&&l| l == NOISE).count();
        eprintln!(
            "dbscan {params:?} on {}x{dim}: {:.3} s, {clusters} clusters, {noise} noise",
            points.len(),
            start.elapsed().as_secs_f64()
        );
        if let Some(out) = var("REELDB_BENCH_LABELS") {
            let bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
            std::fs::write(out, bytes).unwrap();
        }
    }
}
