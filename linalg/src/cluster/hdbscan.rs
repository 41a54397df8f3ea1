//! HDBSCAN: density clustering over every density level at once, keeping the clusters that
//! persist longest. The same algorithm and results as scikit-learn 1.7.2's
//! `sklearn.cluster.HDBSCAN` (files `sklearn/cluster/_hdbscan/hdbscan.py`, `_linkage.pyx`,
//! `_tree.pyx`):
//!
//! 1. the *core distance* of a point is the distance to its `min_samples`-th nearest
//!    neighbour, the point itself counting as the first (`kneighbors(X, min_samples)[:, -1]`);
//! 2. the *mutual-reachability distance* of two points is
//!    `max(core(a), core(b), d(a, b))`;
//! 3. its minimum spanning tree (`spanning_tree.rs`: Borůvka's algorithm with exact bounds
//!    rather than scikit-learn's Prim's algorithm, the same tree for a fraction of the
//!    distances; memory grows with the number of points, never with its square);
//! 4. the single-linkage tree of that spanning tree (`make_single_linkage`);
//! 5. the condensed tree, the stability of its clusters, their selection (excess of mass or
//!    leaves, `cluster_selection_epsilon`, `allow_single_cluster`) and the labels
//!    (`condensed_tree.rs`, a step-by-step port of `_tree.pyx`).
//!
//! Given the same spanning tree, the labels are scikit-learn's, cluster numbers included.
//! Two things can make the trees differ, both at the level of rounding:
//! - distances are computed in `f32` from the difference of the vectors (scikit-learn
//!   converts to `f64`); for cosine that is `½‖u − v‖²` of the unit vectors, which keeps the
//!   precision of small distances that `1 − u·v` in `f32` would lose;
//! - spanning-tree edges of exactly equal weight (common: many edges weigh a core distance)
//!   are ordered by their points, where scikit-learn's `np.argsort` (not stable, and
//!   vectorised differently on different CPUs) leaves them in an arbitrary order. Which of
//!   two equally heavy merges comes first can decide whether a handful of points form a
//!   small cluster or are noise.

mod condensed_tree;
mod spanning_tree;

use crate::cluster::NOISE;
use crate::error::{Error, Result};
use crate::neighbours::ClusterMetric;
use crate::points::Points;
use condensed_tree::{Merge, Selection, labels_from_hierarchy};
use spanning_tree::{Edge, minimum_spanning_tree};

/// How HDBSCAN picks the flat clustering out of its tree of clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClusterSelection {
    /// Excess of mass (`eom`, scikit-learn's default): the most persistent clusters, which
    /// may be large clusters whose sub-clusters are less stable than they are.
    #[default]
    ExcessOfMass,
    /// The leaves of the condensed tree (`leaf`): the finest, most homogeneous clusters.
    Leaf,
}

impl ClusterSelection {
    /// Parses `eom` (`excess_of_mass`) or `leaf`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "eom" | "excess_of_mass" => Ok(ClusterSelection::ExcessOfMass),
            "leaf" => Ok(ClusterSelection::Leaf),
            other => Err(Error::InvalidArgument(format!(
                "unknown HDBSCAN cluster selection method '{other}': use 'eom' or 'leaf'"
            ))),
        }
    }

    /// The canonical name, as scikit-learn's `cluster_selection_method`.
    pub fn name(self) -> &'static str {
        match self {
            ClusterSelection::ExcessOfMass => "eom",
            ClusterSelection::Leaf => "leaf",
        }
    }
}

/// The parameters of [`hdbscan`], named and defaulted as scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HdbscanParams {
    /// The fewest points a cluster may have (at least 2).
    pub min_cluster_size: usize,
    /// The neighbourhood that defines density: a point's core distance is the distance to
    /// its `min_samples`-th nearest neighbour, itself included. `None` means
    /// `min_cluster_size`.
    pub min_samples: Option<usize>,
    /// Excess of mass (the default) or leaves.
    pub selection: ClusterSelection,
    /// Euclidean (the default) or cosine.
    pub metric: ClusterMetric,
    /// Clusters that split below this distance are kept whole (0, the default, is off).
    pub cluster_selection_epsilon: f64,
    /// Whether all the points may form a single cluster (default false, as scikit-learn,
    /// which otherwise always splits off at least two clusters or reports only noise).
    pub allow_single_cluster: bool,
}

impl HdbscanParams {
    /// The defaults, with `min_cluster_size`.
    pub fn new(min_cluster_size: usize) -> Self {
        HdbscanParams {
            min_cluster_size,
            min_samples: None,
            selection: ClusterSelection::ExcessOfMass,
            metric: ClusterMetric::Euclidean,
            cluster_selection_epsilon: 0.0,
            allow_single_cluster: false,
        }
    }

    /// `min_samples`, or `min_cluster_size` when it is not set.
    fn effective_min_samples(&self) -> usize {
        self.min_samples.unwrap_or(self.min_cluster_size)
    }

    /// An error naming the bad parameter and the fix.
    fn validate(&self) -> Result<()> {
        if self.min_cluster_size < 2 {
            return Err(Error::InvalidArgument(format!(
                "HDBSCAN min_cluster_size = {} but a cluster needs at least 2 points; \
                 use a min_cluster_size of 2 or more",
                self.min_cluster_size
            )));
        }
        if self.min_samples == Some(0) {
            return Err(Error::InvalidArgument(
                "HDBSCAN min_samples = 0 but it counts the point itself, so it is at least 1; \
                 use a min_samples of 1 or more, or leave it unset to use min_cluster_size"
                    .into(),
            ));
        }
        let epsilon = self.cluster_selection_epsilon;
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "HDBSCAN cluster_selection_epsilon = {epsilon} but it is a distance; \
                 use a finite value of 0 or more (0 turns it off)"
            )));
        }
        Ok(())
    }
}

/// Clusters `points` with HDBSCAN: one label per point, clusters numbered from 0 as
/// scikit-learn numbers them, [`NOISE`] for points in no cluster.
///
/// Defined results where scikit-learn refuses or where the question is degenerate:
/// - no points: no labels;
/// - fewer points than `min_cluster_size`: no cluster can split off, so every point is
///   noise, or, with `allow_single_cluster` and excess of mass, in cluster 0 if it left
///   the root within `cluster_selection_epsilon` (as scikit-learn); scikit-learn refuses
///   a `min_samples` (which defaults to `min_cluster_size`) above the number of points,
///   here it is then lowered to the number of points; one point (which scikit-learn
///   refuses) is noise, or cluster 0 under the same conditions;
/// - all points identical: noise, or cluster 0 with `allow_single_cluster` and excess of
///   mass (as scikit-learn).
///
/// Errors: `min_cluster_size` below 2, `min_samples` of 0, a negative or non-finite
/// `cluster_selection_epsilon`, and (as scikit-learn) a `min_samples` larger than the
/// number of points when there are at least `min_cluster_size` of them.
pub fn hdbscan(points: &Points<'_>, params: &HdbscanParams) -> Result<Vec<i64>> {
    params.validate()?;
    let n = points.len();
    let selection = Selection {
        leaf: params.selection == ClusterSelection::Leaf,
        allow_single_cluster: params.allow_single_cluster,
        epsilon: params.cluster_selection_epsilon,
    };
    if n <= 1 {
        // One point: nothing to merge. It is the single cluster where one is allowed (as
        // two or more points would be, below).
        let label = if params.allow_single_cluster && !selection.leaf {
            0
        } else {
            NOISE
        };
        return Ok(vec![label; n]);
    }
    let mut min_samples = params.effective_min_samples();
    if min_samples > n {
        if n >= params.min_cluster_size {
            return Err(Error::InvalidArgument(format!(
                "HDBSCAN min_samples = {min_samples} but there are only {n} points; \
                 use a min_samples of at most {n}"
            )));
        }
        // Too few points for a cluster anyway: every merge has two sides smaller than
        // min_cluster_size, so nothing splits and every point falls out of the root at
        // the last merge. min_samples only moves that merge, so n stands in for it.
        min_samples = n;
    }
    let edges = minimum_spanning_tree(points, params.metric, min_samples)?;
    let hierarchy = single_linkage(n, &edges);
    Ok(labels_from_hierarchy(
        &hierarchy,
        params.min_cluster_size,
        selection,
    ))
}

/// The single-linkage tree of spanning-tree `edges` sorted by distance (scikit-learn's
/// `make_single_linkage`): each edge merges the clusters of its two ends into cluster
/// `n + i`.
fn single_linkage(n: usize, edges: &[Edge]) -> Vec<Merge> {
    // Union-find whose root is the newest cluster containing a node.
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    let mut size = vec![1usize; 2 * n - 1];
    let find = |parent: &mut Vec<usize>, mut node: usize| {
        let mut root = node;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[node] != root {
            let next = parent[node];
            parent[node] = root;
            node = next;
        }
        root
    };
    let mut hierarchy = Vec::with_capacity(n - 1);
    for (i, edge) in edges.iter().enumerate() {
        let left = find(&mut parent, edge.a as usize);
        let right = find(&mut parent, edge.b as usize);
        let merged = n + i;
        parent[left] = merged;
        parent[right] = merged;
        size[merged] = size[left] + size[right];
        hierarchy.push(Merge {
            left,
            right,
            distance: f64::from(edge.weight),
            size: size[merged],
        });
    }
    hierarchy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frac(x: f64) -> f64 {
        x - x.floor()
    }

    /// `count` points spread over a square of half-side `spread` around (cx, cy), by a
    /// low-discrepancy sequence that differs with `k` (no two blobs alike, few equal
    /// distances), computed in f64 exactly as the Python that produced the expected labels.
    fn blob(cx: f64, cy: f64, count: usize, spread: f64, k: usize) -> Vec<f64> {
        let k = k as f64;
        let a = frac(0.41421356237309503 + k * 0.7320508075688772);
        let b = frac(0.6180339887498949 + k * 0.2360679774997898);
        (0..count)
            .flat_map(|i| {
                let (i, square) = (i as f64, (i * i) as f64);
                [
                    cx + spread
                        * (2.0 * frac(i * a + k * 0.1) - 1.0 + 0.05 * frac(square * 0.1234567)),
                    cy + spread
                        * (2.0 * frac(i * b + k * 0.3) - 1.0 + 0.05 * frac(square * 0.7654321)),
                ]
            })
            .collect()
    }

    fn to_f32(values: Vec<f64>) -> Vec<f32> {
        values.into_iter().map(|v| v as f32).collect()
    }

    /// Blobs of 40, 30 and 20 points of different densities, and five far points.
    fn blobs_with_noise() -> Vec<f32> {
        let mut data = blob(0.0, 0.0, 40, 1.0, 0);
        data.extend(blob(6.0, 0.0, 30, 0.5, 1));
        data.extend(blob(0.0, 6.0, 20, 1.5, 2));
        data.extend([15.0, 15.0, -15.0, 15.0, 15.0, -15.0, -15.0, -15.0, 8.0, 8.0]);
        to_f32(data)
    }

    /// Two groups far apart, each of two touching sub-blobs of 25 points.
    fn nested() -> Vec<f32> {
        let mut data = blob(0.0, 0.0, 25, 0.5, 0);
        data.extend(blob(1.3, 0.0, 25, 0.5, 1));
        data.extend(blob(20.0, 0.0, 25, 0.5, 2));
        data.extend(blob(21.3, 0.0, 25, 0.5, 3));
        to_f32(data)
    }

    /// Three directions in 3-D, 20 points each at lengths from 1 to 10.
    fn directions() -> Vec<f32> {
        let axes = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let steps = [0.41421356237309503, 0.7320508075688772, 0.2360679774997898];
        let mut data = Vec::new();
        for (k, axis) in axes.iter().enumerate() {
            let k = k as f64;
            for i in 0..20 {
                let i = i as f64;
                let length = 1.0 + 9.0 * frac(i * 0.6180339887498949 + k * 0.05);
                for t in 0..3 {
                    let jitter = 0.05 * (frac(i * steps[t] + k * 0.37) - 0.5);
                    data.push(((axis[t] + jitter) * length) as f32);
                }
            }
        }
        data
    }

    fn run(data: &[f32], dim: usize, params: &HdbscanParams) -> Vec<i64> {
        hdbscan(&Points::new(data, dim).unwrap(), params).unwrap()
    }

    fn params(min_cluster_size: usize, change: impl FnOnce(&mut HdbscanParams)) -> HdbscanParams {
        let mut params = HdbscanParams::new(min_cluster_size);
        change(&mut params);
        params
    }

    // The expected labels below are scikit-learn 1.7.2's `HDBSCAN(...).fit(X).labels_` on
    // the same f32 data (cluster numbers included), checked to be the same whatever the
    // order of equally heavy spanning-tree edges.

    #[test]
    fn blobs_of_different_densities_with_noise_match_scikit_learn() {
        let data = blobs_with_noise();
        let eom = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 3, 3, 3, 3, 2, 2, 3, 3, 3, 3, 2, 2, 2, 3, 3,
            3, 3, 2, 2, 2, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, -1, -1, -1, -1, -1,
        ];
        assert_eq!(run(&data, 2, &HdbscanParams::new(5)), eom);
        let leaf = [
            -1, 6, 4, 6, 4, 5, 6, 4, -1, 4, 5, 6, -1, -1, 4, 5, -1, -1, -1, -1, -1, -1, -1, 4, -1,
            5, -1, 6, 4, -1, 6, 4, 6, 4, 5, 6, 4, -1, 4, 5, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1,
            0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 2, -1, 3, 3, 3, -1, 2, 2, 2, 2, 3,
            3, 3, 3, 3, 3, 2, 2, 2, -1, -1, -1, -1, -1, -1,
        ];
        let leaf_params = params(5, |p| p.selection = ClusterSelection::Leaf);
        assert_eq!(run(&data, 2, &leaf_params), leaf);
        let fewer_samples = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 2, 2, 1, 1, 1, 2, 2,
            2, 2, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 3, 3, 4, 4, 4, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 3,
            3, 3, 4, -1, -1, -1, -1, -1,
        ];
        let fewer_params = params(5, |p| p.min_samples = Some(3));
        assert_eq!(run(&data, 2, &fewer_params), fewer_samples);
    }

    #[test]
    fn excess_of_mass_keeps_the_groups_and_leaf_splits_them() {
        let data = nested();
        let groups: Vec<i64> = (0..100).map(|i| i64::from(i >= 50)).collect();
        assert_eq!(run(&data, 2, &HdbscanParams::new(10)), groups);
        let leaves = [
            -1, 1, -1, -1, 1, -1, 1, -1, -1, 1, 1, 1, 1, -1, 1, 1, 1, -1, -1, 1, 1, -1, -1, 1, -1,
            2, 2, -1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0, 3, -1, -1,
            3, 3, -1, -1, 3, 3, 3, 3, 3, 3, 3, 3, -1, -1, -1, -1, -1, 3, 3, 3, 3, -1, -1, -1, 4,
            -1, 4, 4, -1, 4, 4, -1, 4, 4, 4, -1, 4, 4, -1, 4, 4, -1, 4, -1, -1, 4, -1,
        ];
        let leaf = params(10, |p| p.selection = ClusterSelection::Leaf);
        assert_eq!(run(&data, 2, &leaf), leaves);
        // Splits below a distance of 3 are not kept: the leaves merge back into the groups.
        let merged = params(10, |p| {
            p.selection = ClusterSelection::Leaf;
            p.cluster_selection_epsilon = 3.0;
        });
        assert_eq!(run(&data, 2, &merged), groups);
    }

    #[test]
    fn a_single_cluster_only_when_allowed() {
        let data = nested();
        let everything = params(60, |p| p.allow_single_cluster = true);
        let single = [
            -1, -1, 0, -1, -1, -1, -1, 0, -1, -1, -1, -1, 0, -1, 0, -1, -1, -1, -1, 0, -1, -1, -1,
            -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, 0, -1,
            -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, 0, -1, -1, -1, -1, 0, -1, -1, -1,
        ];
        assert_eq!(run(&data, 2, &everything), single);
        assert_eq!(run(&data, 2, &HdbscanParams::new(60)), vec![NOISE; 100]);
    }

    #[test]
    fn cosine_clusters_directions_whatever_the_lengths() {
        let data = directions();
        let cosine = params(5, |p| p.metric = ClusterMetric::Cosine);
        let expected: Vec<i64> = (0..60).map(|i| [1, 2, 0][i / 20]).collect();
        assert_eq!(run(&data, 3, &cosine), expected);
        // Euclidean distance sees the lengths, and splits a direction or calls points noise.
        let euclidean = run(&data, 3, &HdbscanParams::new(5));
        assert_ne!(euclidean, expected);
        assert!(euclidean.contains(&NOISE));
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let data = blobs_with_noise();
        let params = params(5, |p| p.selection = ClusterSelection::Leaf);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let alone = one_thread.install(|| run(&data, 2, &params));
        let four_threads = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        assert_eq!(four_threads.install(|| run(&data, 2, &params)), alone);
    }

    #[test]
    fn degenerate_inputs_have_defined_results() {
        let single = params(5, |p| p.allow_single_cluster = true);
        // No points.
        assert!(run(&[], 2, &HdbscanParams::new(5)).is_empty());
        // One point.
        assert_eq!(run(&[1.0, 2.0], 2, &HdbscanParams::new(5)), vec![NOISE]);
        assert_eq!(run(&[1.0, 2.0], 2, &single), vec![0]);
        // Fewer points than min_cluster_size (scikit-learn refuses the default
        // min_samples; it is lowered to the number of points).
        let few = [0.0, 1.0, 3.0];
        assert_eq!(run(&few, 1, &HdbscanParams::new(5)), vec![NOISE; 3]);
        assert_eq!(run(&few, 1, &single), vec![0; 3]);
        let leaf = params(5, |p| {
            p.allow_single_cluster = true;
            p.selection = ClusterSelection::Leaf;
        });
        assert_eq!(run(&few, 1, &leaf), vec![NOISE; 3]);
        // All points identical, for both metrics.
        let same = [1.0f32; 20];
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            let plain = params(5, |p| p.metric = metric);
            assert_eq!(run(&same, 2, &plain), vec![NOISE; 10]);
            let allowed = params(5, |p| {
                p.metric = metric;
                p.allow_single_cluster = true;
            });
            assert_eq!(run(&same, 2, &allowed), vec![0; 10]);
        }
        // Zero vectors under cosine are at distance 1 from everything.
        let zeros = [0.0f32; 20];
        let cosine = params(5, |p| p.metric = ClusterMetric::Cosine);
        assert_eq!(run(&zeros, 2, &cosine), vec![NOISE; 10]);
    }

    #[test]
    fn bad_parameters_are_refused_with_the_fix() {
        let data = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        let points = Points::new(&data, 1).unwrap();
        let error = |params: HdbscanParams| hdbscan(&points, &params).unwrap_err().to_string();
        let message = error(HdbscanParams::new(1));
        assert!(
            message.contains("min_cluster_size of 2 or more"),
            "{message}"
        );
        let message = error(params(2, |p| p.min_samples = Some(0)));
        assert!(message.contains("min_samples of 1 or more"), "{message}");
        let message = error(params(2, |p| p.min_samples = Some(7)));
        assert!(
            message.contains("only 6 points") && message.contains("at most 6"),
            "{message}"
        );
        for epsilon in [-1.0, f64::NAN, f64::INFINITY] {
            let message = error(params(2, |p| p.cluster_selection_epsilon = epsilon));
            assert!(message.contains("0 or more"), "{message}");
        }
    }

    #[test]
    fn selection_methods_parse_by_their_scikit_learn_names() {
        assert_eq!(
            ClusterSelection::parse("EOM").unwrap(),
            ClusterSelection::ExcessOfMass
        );
        assert_eq!(
            ClusterSelection::parse(" leaf ").unwrap(),
            ClusterSelection::Leaf
        );
        assert_eq!(ClusterSelection::Leaf.name(), "leaf");
        let message = ClusterSelection::parse("tree").unwrap_err().to_string();
        assert!(message.contains("'eom' or 'leaf'"), "{message}");
    }
}
