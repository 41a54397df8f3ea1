//! The second half of HDBSCAN: from the single-linkage tree of the mutual-reachability
//! graph to flat labels. The tree is condensed (splits that shed fewer than
//! `min_cluster_size` points are not splits: those points "fall out" of the cluster), the
//! stability of every condensed cluster is measured, and clusters are selected by excess of
//! mass or as the leaves of the condensed tree, optionally merged below
//! `cluster_selection_epsilon`.
//!
//! This follows scikit-learn 1.7.2's `sklearn/cluster/_hdbscan/_tree.pyx` step by step
//! (`_condense_tree`, `_compute_stability`, `_get_clusters`, `epsilon_search`,
//! `_do_labelling`), its quirks included, so that the same tree gives the same labels and the
//! same cluster numbers. Where scikit-learn iterates a Python `set`, whose order the results
//! depend on only when two lambda values are exactly equal, the order here is ascending.

use crate::cluster::NOISE;

/// One merge of the single-linkage tree, in scipy's `linkage` layout: nodes below `n` are
/// points, node `n + i` is the cluster that merge `i` creates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Merge {
    /// One merged node.
    pub left: usize,
    /// The other merged node.
    pub right: usize,
    /// The mutual-reachability distance at which they merge.
    pub distance: f64,
    /// The number of points in the merged cluster.
    pub size: usize,
}

/// How clusters are chosen from the condensed tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Selection {
    /// Leaves of the condensed tree rather than excess of mass.
    pub leaf: bool,
    /// Whether the root (all points) may be the one cluster.
    pub allow_single_cluster: bool,
    /// Clusters born below this distance are merged into their parent (0 = off).
    pub epsilon: f64,
}

/// One row of the condensed tree: `child` (a point below `n`, or a cluster) leaves `parent`
/// at `lambda` = 1 / distance, carrying `size` points.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    parent: usize,
    child: usize,
    lambda: f64,
    size: usize,
}

/// The labels of the `n` points (`n` ≥ 2) whose single-linkage tree is `hierarchy`
/// (`n - 1` merges): cluster numbers from 0, ordered as scikit-learn orders them (by the
/// condensed cluster's id, i.e. breadth first from the root), and [`NOISE`].
pub(crate) fn labels_from_hierarchy(
    hierarchy: &[Merge],
    min_cluster_size: usize,
    selection: Selection,
) -> Vec<i64> {
    let n = hierarchy.len() + 1;
    let rows = condense(hierarchy, min_cluster_size);
    let tree = CondensedTree::new(n, rows);
    let clusters = tree.select(selection);
    tree.label(&clusters, selection)
}

/// The nodes of the subtree under `root`, breadth first, points included (as
/// `bfs_from_hierarchy`).
fn breadth_first(hierarchy: &[Merge], root: usize) -> Vec<usize> {
    let n = hierarchy.len() + 1;
    let mut result = Vec::new();
    let mut level = vec![root];
    while !level.is_empty() {
        result.extend_from_slice(&level);
        let mut next = Vec::with_capacity(level.len() * 2);
        for &node in &level {
            if node >= n {
                let merge = &hierarchy[node - n];
                next.push(merge.left);
                next.push(merge.right);
            }
        }
        level = next;
    }
    result
}

/// The condensed tree (`_condense_tree`): walking down from the root, a merge whose two sides
/// both have at least `min_cluster_size` points is a split into two new clusters; otherwise
/// the points of each small side fall out of the current cluster at that merge's lambda and
/// a large side carries the current cluster on. Clusters are numbered `n`, `n + 1`, … in the
/// order they are met, so a child's number is larger than its parent's.
fn condense(hierarchy: &[Merge], min_cluster_size: usize) -> Vec<Row> {
    let n = hierarchy.len() + 1;
    let root = 2 * hierarchy.len();
    let size_of = |node: usize| {
        if node >= n {
            hierarchy[node - n].size
        } else {
            1
        }
    };
    let mut relabel = vec![0usize; root + 1];
    relabel[root] = n;
    let mut next_label = n + 1;
    let mut ignore = vec![false; root + 1];
    let mut rows = Vec::with_capacity(2 * n);

    for node in breadth_first(hierarchy, root) {
        if ignore[node] || node < n {
            continue;
        }
        let merge = hierarchy[node - n];
        let (left, right) = (merge.left, merge.right);
        let lambda = if merge.distance > 0.0 {
            1.0 / merge.distance
        } else {
            f64::INFINITY
        };
        let (left_size, right_size) = (size_of(left), size_of(right));
        let parent = relabel[node];
        let left_is_cluster = left_size >= min_cluster_size;
        let right_is_cluster = right_size >= min_cluster_size;
        if left_is_cluster && right_is_cluster {
            // A true split: two new clusters are born.
            for (child, size) in [(left, left_size), (right, right_size)] {
                relabel[child] = next_label;
                next_label += 1;
                rows.push(Row {
                    parent,
                    child: relabel[child],
                    lambda,
                    size,
                });
            }
        } else {
            // The small sides' points fall out; a large side carries the cluster on.
            for (child, is_cluster) in [(left, left_is_cluster), (right, right_is_cluster)] {
                if is_cluster {
                    relabel[child] = parent;
                } else {
                    fall_out(hierarchy, child, parent, lambda, &mut rows, &mut ignore);
                }
            }
        }
    }
    rows
}

/// Every point under `subtree` falls out of cluster `parent` at `lambda`; the subtree's
/// nodes are not visited again.
fn fall_out(
    hierarchy: &[Merge],
    subtree: usize,
    parent: usize,
    lambda: f64,
    rows: &mut Vec<Row>,
    ignore: &mut [bool],
) {
    let n = hierarchy.len() + 1;
    for node in breadth_first(hierarchy, subtree) {
        if node < n {
            rows.push(Row {
                parent,
                child: node,
                lambda,
                size: 1,
            });
        }
        ignore[node] = true;
    }
}

/// The condensed tree with what selection and labelling read from it. Clusters are indexed
/// `id - n`, so the root is index 0 and a child's index is larger than its parent's.
struct CondensedTree {
    /// The number of points.
    n: usize,
    /// The rows in the order `condense` wrote them (stability sums in that order).
    rows: Vec<Row>,
    /// The parent of every cluster but the root.
    parent: Vec<Option<usize>>,
    /// The lambda at which every cluster was born (0 for the root).
    birth: Vec<f64>,
    /// The child clusters of every cluster, in row order (none or two).
    children: Vec<Vec<usize>>,
}

impl CondensedTree {
    fn new(n: usize, rows: Vec<Row>) -> Self {
        let count = rows.iter().map(|row| row.parent + 1 - n).max().unwrap_or(1);
        let mut parent = vec![None; count];
        let mut birth = vec![0.0; count];
        let mut children = vec![Vec::new(); count];
        for row in rows.iter().filter(|row| row.child >= n) {
            parent[row.child - n] = Some(row.parent - n);
            birth[row.child - n] = row.lambda;
            children[row.parent - n].push(row.child - n);
        }
        CondensedTree {
            n,
            rows,
            parent,
            birth,
            children,
        }
    }

    /// The number of condensed clusters, the root included.
    fn cluster_count(&self) -> usize {
        self.parent.len()
    }

    /// `_compute_stability`: for every cluster, the sum over what leaves it (points and
    /// child clusters) of (lambda at leaving − lambda at the cluster's birth) × size.
    fn stability(&self) -> Vec<f64> {
        let mut stability = vec![0.0; self.cluster_count()];
        for row in &self.rows {
            let parent = row.parent - self.n;
            stability[parent] += (row.lambda - self.birth[parent]) * row.size as f64;
        }
        stability
    }

    /// The cluster itself and every cluster below it.
    fn descendants(&self, cluster: usize) -> Vec<usize> {
        let mut result = vec![cluster];
        let mut next = 0;
        while next < result.len() {
            result.extend_from_slice(&self.children[result[next]]);
            next += 1;
        }
        result
    }

    /// The selected clusters (indices, ascending), as `_get_clusters`.
    fn select(&self, selection: Selection) -> Vec<usize> {
        let count = self.cluster_count();
        // The candidates: every cluster, the root only when it may be the single cluster.
        let first_candidate = usize::from(!selection.allow_single_cluster);
        let has_splits = count > 1;
        let mut selected = vec![false; count];
        if selection.leaf {
            // Without splits there are no leaves, and scikit-learn then selects nothing
            // (even with allow_single_cluster).
            if has_splits {
                let leaves: Vec<usize> = (1..count)
                    .filter(|&c| self.children[c].is_empty())
                    .collect();
                let chosen = if selection.epsilon != 0.0 {
                    self.epsilon_search(&leaves, selection)
                } else {
                    leaves
                };
                for c in chosen {
                    selected[c] = true;
                }
            }
        } else {
            let mut stability = self.stability();
            // Excess of mass, children before parents: keep a cluster if it is at least as
            // stable as its children together, else pass their stability up.
            let mut kept = vec![false; count];
            for c in (first_candidate..count).rev() {
                let subtree: f64 = self.children[c].iter().map(|&child| stability[child]).sum();
                if subtree > stability[c] {
                    stability[c] = subtree;
                } else {
                    kept[c] = true;
                }
            }
            // A kept cluster deselects every cluster below it.
            let mut blocked = vec![false; count];
            for c in 0..count {
                if let Some(parent) = self.parent[c] {
                    blocked[c] = blocked[parent] || kept[parent];
                }
                selected[c] = kept[c] && !blocked[c];
            }
            if selection.epsilon != 0.0 && has_splits {
                let eom: Vec<usize> = (0..count).filter(|&c| selected[c]).collect();
                let chosen = if eom == [0] {
                    // Only the root: the epsilon search is skipped.
                    if selection.allow_single_cluster {
                        eom
                    } else {
                        Vec::new()
                    }
                } else {
                    self.epsilon_search(&eom, selection)
                };
                selected = vec![false; count];
                for c in chosen {
                    selected[c] = true;
                }
            }
        }
        // Only candidates can be clusters.
        (first_candidate..count).filter(|&c| selected[c]).collect()
    }

    /// `epsilon_search`: a selected cluster born below `epsilon` (in distance) is replaced by
    /// its nearest ancestor born above it (`traverse_upwards`), and the clusters under that
    /// ancestor are then not considered.
    fn epsilon_search(&self, leaves: &[usize], selection: Selection) -> Vec<usize> {
        let mut chosen = Vec::new();
        let mut processed = vec![false; self.cluster_count()];
        for &leaf in leaves {
            let born_at = 1.0 / self.birth[leaf];
            if born_at < selection.epsilon {
                if !processed[leaf] {
                    let ancestor = self.traverse_upwards(leaf, selection);
                    chosen.push(ancestor);
                    for below in self.descendants(ancestor).into_iter().skip(1) {
                        processed[below] = true;
                    }
                }
            } else {
                chosen.push(leaf);
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// `traverse_upwards`: the nearest ancestor of `leaf` born above epsilon; a child of
    /// the root stops at itself, or at the root when the root may be the single cluster.
    fn traverse_upwards(&self, mut leaf: usize, selection: Selection) -> usize {
        loop {
            let parent = self.parent[leaf].expect("only the root has no parent");
            if parent == 0 {
                return if selection.allow_single_cluster {
                    parent
                } else {
                    leaf
                };
            }
            if 1.0 / self.birth[parent] > selection.epsilon {
                return parent;
            }
            leaf = parent;
        }
    }

    /// `_do_labelling`: a point takes the label of its nearest selected ancestor; under the
    /// root alone it is noise, unless the root is the single cluster and the point left it
    /// late enough (at the root's largest lambda, or above 1 / epsilon).
    fn label(&self, clusters: &[usize], selection: Selection) -> Vec<i64> {
        let count = self.cluster_count();
        let mut number = vec![None; count];
        for (label, &c) in clusters.iter().enumerate() {
            number[c] = Some(label as i64);
        }
        // The nearest selected ancestor of every cluster (itself if selected; the root if
        // none), parents first since they have the smaller index.
        let mut owner = vec![0usize; count];
        for c in 0..count {
            owner[c] = match (number[c], self.parent[c]) {
                (Some(_), _) | (None, None) => c,
                (None, Some(parent)) => owner[parent],
            };
        }
        let single_root = clusters.len() == 1 && selection.allow_single_cluster;
        let threshold = if selection.epsilon != 0.0 {
            1.0 / selection.epsilon
        } else {
            self.rows
                .iter()
                .filter(|row| row.parent == self.n)
                .map(|row| row.lambda)
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let mut labels = vec![NOISE; self.n];
        for row in self.rows.iter().filter(|row| row.child < self.n) {
            let cluster = owner[row.parent - self.n];
            labels[row.child] = if cluster != 0 {
                number[cluster].unwrap_or(NOISE)
            } else if single_root && row.lambda >= threshold {
                number[0].unwrap_or(NOISE)
            } else {
                NOISE
            };
        }
        labels
    }
}

// Every expected label below is also what scikit-learn 1.7.2's `tree_to_labels` gives for
// the same tree (with epsilon, where it fails under NumPy 2 in `traverse_upwards`, a
// transcription of `_tree.pyx` with the failing scalar conversions fixed).
#[cfg(test)]
mod tests {
    use super::*;

    fn merge(left: usize, right: usize, distance: f64, size: usize) -> Merge {
        Merge {
            left,
            right,
            distance,
            size,
        }
    }

    fn selection(leaf: bool, allow_single_cluster: bool, epsilon: f64) -> Selection {
        Selection {
            leaf,
            allow_single_cluster,
            epsilon,
        }
    }

    /// Points 0–2 and 3–5 form two groups (pairs at 1, a third point at 2), the groups
    /// merge at 10 and point 6 joins at 20.
    fn two_groups_and_an_outlier() -> Vec<Merge> {
        vec![
            merge(0, 1, 1.0, 2),   // 7
            merge(3, 4, 1.0, 2),   // 8
            merge(7, 2, 2.0, 3),   // 9
            merge(8, 5, 2.0, 3),   // 10
            merge(9, 10, 10.0, 6), // 11
            merge(11, 6, 20.0, 7), // 12
        ]
    }

    /// Pairs {0, 1} and {2, 3} merge at 1.1, just after forming (at 1); pair {4, 5} joins
    /// them at 10.
    fn short_lived_pairs() -> Vec<Merge> {
        vec![
            merge(0, 1, 1.0, 2),  // 6
            merge(2, 3, 1.0, 2),  // 7
            merge(6, 7, 1.1, 4),  // 8
            merge(4, 5, 1.0, 2),  // 9
            merge(8, 9, 10.0, 6), // 10
        ]
    }

    #[test]
    fn the_condensed_tree_splits_where_both_sides_are_large_enough() {
        let rows = condense(&two_groups_and_an_outlier(), 3);
        let expected = [
            (7, 6, 0.05, 1),
            (7, 8, 0.1, 3),
            (7, 9, 0.1, 3),
            (8, 0, 0.5, 1),
            (8, 1, 0.5, 1),
            (8, 2, 0.5, 1),
            (9, 3, 0.5, 1),
            (9, 4, 0.5, 1),
            (9, 5, 0.5, 1),
        ];
        let found: Vec<_> = rows
            .iter()
            .map(|r| (r.parent, r.child, r.lambda, r.size))
            .collect();
        assert_eq!(found, expected);
        let tree = CondensedTree::new(7, rows);
        let stability = tree.stability();
        let expected = [0.05 + 0.3 + 0.3, 3.0 * 0.4, 3.0 * 0.4];
        for (found, expected) in stability.iter().zip(expected) {
            assert!((found - expected).abs() < 1e-12, "{stability:?}");
        }
    }

    #[test]
    fn excess_of_mass_keeps_a_stable_parent_and_leaf_its_children() {
        let tree = short_lived_pairs();
        let eom = labels_from_hierarchy(&tree, 2, selection(false, false, 0.0));
        assert_eq!(eom, [0, 0, 0, 0, 1, 1]);
        let leaf = labels_from_hierarchy(&tree, 2, selection(true, false, 0.0));
        assert_eq!(leaf, [1, 1, 2, 2, 0, 0]);
    }

    #[test]
    fn points_that_leave_before_any_split_are_noise() {
        let tree = two_groups_and_an_outlier();
        for leaf in [false, true] {
            let labels = labels_from_hierarchy(&tree, 3, selection(leaf, false, 0.0));
            assert_eq!(labels, [0, 0, 0, 1, 1, 1, NOISE]);
        }
    }

    #[test]
    fn epsilon_merges_clusters_born_closer_than_it_only_below_the_root() {
        let tree = two_groups_and_an_outlier();
        // The groups split at distance 10: below an epsilon of 15 they would merge, but
        // their parent is the root, which is a cluster only where allowed.
        let labels = labels_from_hierarchy(&tree, 3, selection(true, false, 15.0));
        assert_eq!(labels, [0, 0, 0, 1, 1, 1, NOISE]);
        // Allowed: one cluster, of the points that left the root within epsilon (the
        // outlier left at distance 20).
        let labels = labels_from_hierarchy(&tree, 3, selection(true, true, 15.0));
        assert_eq!(labels, [0, 0, 0, 0, 0, 0, NOISE]);
        let labels = labels_from_hierarchy(&tree, 3, selection(false, true, 15.0));
        assert_eq!(labels, [0, 0, 0, 0, 0, 0, NOISE]);
        // An epsilon below the split keeps both.
        let labels = labels_from_hierarchy(&tree, 3, selection(true, true, 5.0));
        assert_eq!(labels, [0, 0, 0, 1, 1, 1, NOISE]);
    }

    #[test]
    fn without_a_split_only_excess_of_mass_may_keep_the_root() {
        // Four points merging one by one: nothing splits at min_cluster_size 3.
        let chain = [
            merge(0, 1, 1.0, 2),
            merge(4, 2, 2.0, 3),
            merge(5, 3, 4.0, 4),
        ];
        for leaf in [false, true] {
            let labels = labels_from_hierarchy(&chain, 3, selection(leaf, false, 0.0));
            assert_eq!(labels, [NOISE; 4]);
        }
        // The root keeps the points that left it last: point 3 leaves at 1/4, the others
        // together at 1/2 (when what is left is smaller than min_cluster_size).
        let labels = labels_from_hierarchy(&chain, 3, selection(false, true, 0.0));
        assert_eq!(labels, [0, 0, 0, NOISE]);
        // As in scikit-learn, leaf selection finds no leaf and no cluster.
        let labels = labels_from_hierarchy(&chain, 3, selection(true, true, 0.0));
        assert_eq!(labels, [NOISE; 4]);
        // At min_cluster_size 2, point 2 leaves at 1/2 too, and points 0 and 1 at 1.
        let labels = labels_from_hierarchy(&chain, 2, selection(false, true, 0.0));
        assert_eq!(labels, [0, 0, NOISE, NOISE]);
    }
}
