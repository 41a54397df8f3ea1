//! PageRank by power iteration, as networkx 3.x computes it (`networkx.pagerank`, which runs
//! `_pagerank_scipy`), so that the ranks match networkx's to rounding.
//!
//! # The algorithm
//! With `N` nodes, `A` the weighted adjacency matrix and `S_i` the sum of row `i` (the
//! weighted out-degree):
//!
//! - each row with `S_i > 0` is multiplied by `1 / S_i`; a node with `S_i = 0` (no out-edges,
//!   or only edges of weight 0) is *dangling*;
//! - `x` starts at `1/N` everywhere, and each iteration computes
//!   `x' = d (x A + (sum of x over the dangling nodes) / N) + (1 - d) / N`: a dangling node's
//!   rank is spread evenly over all nodes, and the teleport is uniform;
//! - it stops as soon as `sum |x' - x| < N * tolerance`, returning `x'`; after
//!   `max_iterations` iterations without that, it fails (networkx raises
//!   `PowerIterationFailedConvergence`).
//!
//! # Edges
//! - **Duplicates are summed.** An edge given twice weighs the sum of its weights: networkx
//!   on a `MultiDiGraph` (or `MultiGraph`), whose adjacency matrix sums parallel edges. A
//!   plain `DiGraph` keeps the last weight given, which for rows of a table would depend on
//!   an order SQL does not define.
//! - **Undirected** ([`PageRankParams::directed`] false): each edge counts both ways, as
//!   networkx's matrix of an undirected graph; a self-loop counts once.
//! - Weights must be finite and not negative (networkx does not check; the algorithm is
//!   meaningless for negative weights).

use crate::error::{Error, Result};

/// The parameters of [`pagerank`], with networkx's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRankParams {
    /// The damping factor `d` (networkx `alpha`): the chance of following an edge rather
    /// than jumping to a random node. Default 0.85, in `[0, 1]`.
    pub damping: f64,
    /// Iterations before giving up (networkx `max_iter`); default 100, at least 1.
    pub max_iterations: usize,
    /// Stop when the L1 change of an iteration is below `N * tolerance` (networkx `tol`);
    /// default 1e-6, above 0.
    pub tolerance: f64,
    /// Whether an edge goes from its source to its target only; default true. False: both
    /// ways (networkx's `pagerank` of an undirected `Graph`).
    pub directed: bool,
}

impl Default for PageRankParams {
    /// networkx's defaults: `alpha=0.85, max_iter=100, tol=1e-06`, directed.
    fn default() -> Self {
        PageRankParams {
            damping: 0.85,
            max_iterations: 100,
            tolerance: 1e-6,
            directed: true,
        }
    }
}

impl PageRankParams {
    /// Fails with a message naming the parameter unless every parameter is one
    /// [`pagerank`] takes ([`pagerank`] checks too; this lets a caller fail early).
    pub fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.damping) {
            return Err(Error::InvalidArgument(format!(
                "damping = {} is not a probability; use a damping in [0, 1] (0.85 is usual)",
                self.damping
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::InvalidArgument(
                "iterations = 0 computes nothing; use at least 1 (networkx's default is 100)"
                    .into(),
            ));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "tolerance = {} can never be reached or always is; use a small number above 0 \
                 (networkx's default is 1e-6)",
                self.tolerance
            )));
        }
        Ok(())
    }
}

/// The PageRank of each of `nodes` nodes (numbered `0..nodes`) of the graph with `edges`
/// (`(source, target, weight)`); the ranks sum to 1. No nodes give no ranks.
pub fn pagerank(
    nodes: usize,
    edges: &[(usize, usize, f64)],
    params: &PageRankParams,
) -> Result<Vec<f64>> {
    params.check()?;
    if nodes == 0 {
        return Ok(Vec::new());
    }
    // Rows of the adjacency matrix, duplicates summed (a CSR build: entries by source).
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); nodes];
    for (index, &(source, target, weight)) in edges.iter().enumerate() {
        if source >= nodes || target >= nodes {
            return Err(Error::InvalidArgument(format!(
                "edge {index} joins node {source} to node {target}, but there are only \
                 {nodes} nodes"
            )));
        }
        if !(weight >= 0.0 && weight.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "edge {index} ({source} -> {target}) has weight {weight}; PageRank needs \
                 finite weights of 0 or more"
            )));
        }
        rows[source].push((target, weight));
        if !params.directed && source != target {
            rows[target].push((source, weight));
        }
    }
    let mut matrix: Vec<Vec<(usize, f64)>> = Vec::with_capacity(nodes);
    let mut dangling = Vec::new();
    for (source, mut row) in rows.into_iter().enumerate() {
        row.sort_by_key(|&(target, _)| target);
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(row.len());
        for (target, weight) in row {
            match merged.last_mut() {
                Some((last, sum)) if *last == target => *sum += weight,
                _ => merged.push((target, weight)),
            }
        }
        let out_weight: f64 = merged.iter().map(|&(_, w)| w).sum();
        if out_weight == 0.0 {
            dangling.push(source);
        } else {
            // networkx scales by the reciprocal (`Q @ A`, Q = diag(1 / S)).
            let scale = 1.0 / out_weight;
            for (_, weight) in &mut merged {
                *weight *= scale;
            }
        }
        matrix.push(merged);
    }

    let n = nodes as f64;
    let uniform = 1.0 / n;
    let d = params.damping;
    let mut x = vec![uniform; nodes];
    let mut next = vec![0.0; nodes];
    for _ in 0..params.max_iterations {
        next.iter_mut().for_each(|v| *v = 0.0);
        for (source, row) in matrix.iter().enumerate() {
            let rank = x[source];
            for &(target, weight) in row {
                next[target] += rank * weight;
            }
        }
        let dangling_rank: f64 = dangling.iter().map(|&i| x[i]).sum();
        let mut change = 0.0;
        for (value, last) in next.iter_mut().zip(&x) {
            *value = d * (*value + dangling_rank * uniform) + (1.0 - d) * uniform;
            change += (*value - last).abs();
        }
        std::mem::swap(&mut x, &mut next);
        if change < n * params.tolerance {
            return Ok(x);
        }
    }
    Err(Error::InvalidArgument(format!(
        "PageRank did not converge in {} iterations (the L1 change stayed at or above {} = \
         nodes x tolerance); allow more iterations or a larger tolerance",
        params.max_iterations,
        n * params.tolerance
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
                "{a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn a_cycle_ranks_every_node_alike() {
        let ranks = pagerank(
            3,
            &[(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0)],
            &PageRankParams::default(),
        )
        .unwrap();
        close(&ranks, &[1.0 / 3.0; 3]);
    }

    #[test]
    fn a_dangling_node_spreads_its_rank_evenly() {
        // 0 -> 1, 1 dangling. Fixed point: x0 = 0.15/2 + 0.85 x1/2, x1 = x0 + x0 (all).
        // By symmetry of the jump: x1 = 0.15/2 + 0.85 (x0 + x1/2); with x0 + x1 = 1:
        // x1 = 0.075 + 0.85 (1 - x1/2) -> x1 = 0.925 / 1.425.
        let ranks = pagerank(2, &[(0, 1, 1.0)], &PageRankParams::default()).unwrap();
        let x1 = 0.925 / 1.425;
        assert!((ranks[1] - x1).abs() < 1e-5, "{ranks:?}");
        assert!((ranks.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn duplicate_edges_add_their_weights() {
        let split = [
            (0, 1, 1.0),
            (0, 1, 2.0),
            (0, 2, 1.0),
            (1, 0, 1.0),
            (2, 0, 1.0),
        ];
        let summed = [(0, 1, 3.0), (0, 2, 1.0), (1, 0, 1.0), (2, 0, 1.0)];
        let params = PageRankParams::default();
        close(
            &pagerank(3, &split, &params).unwrap(),
            &pagerank(3, &summed, &params).unwrap(),
        );
    }

    #[test]
    fn undirected_edges_count_both_ways_and_self_loops_once() {
        let params = PageRankParams {
            directed: false,
            ..PageRankParams::default()
        };
        let undirected = pagerank(3, &[(0, 1, 2.0), (1, 2, 1.0), (2, 2, 1.0)], &params).unwrap();
        let both_ways = pagerank(
            3,
            &[
                (0, 1, 2.0),
                (1, 0, 2.0),
                (1, 2, 1.0),
                (2, 1, 1.0),
                (2, 2, 1.0),
            ],
            &PageRankParams::default(),
        )
        .unwrap();
        close(&undirected, &both_ways);
    }

    #[test]
    fn bad_parameters_and_edges_are_refused() {
        let bad = |params: PageRankParams, edges: &[(usize, usize, f64)]| {
            pagerank(2, edges, &params).unwrap_err().to_string()
        };
        let ok = PageRankParams::default();
        assert!(
            bad(
                PageRankParams {
                    damping: 1.5,
                    ..ok.clone()
                },
                &[]
            )
            .contains("damping")
        );
        assert!(
            bad(
                PageRankParams {
                    max_iterations: 0,
                    ..ok.clone()
                },
                &[]
            )
            .contains("iterations")
        );
        assert!(
            bad(
                PageRankParams {
                    tolerance: 0.0,
                    ..ok.clone()
                },
                &[]
            )
            .contains("tolerance")
        );
        assert!(bad(ok.clone(), &[(0, 1, -1.0)]).contains("weight -1"));
        assert!(bad(ok.clone(), &[(0, 1, f64::NAN)]).contains("weight NaN"));
        assert!(bad(ok.clone(), &[(0, 5, 1.0)]).contains("only 2 nodes"));
        assert!(pagerank(0, &[], &ok).unwrap().is_empty());
    }

    #[test]
    fn a_graph_that_does_not_settle_in_time_fails() {
        let params = PageRankParams {
            max_iterations: 1,
            tolerance: 1e-12,
            ..PageRankParams::default()
        };
        let error = pagerank(2, &[(0, 1, 1.0)], &params).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("did not converge in 1 iterations"),
            "{error}"
        );
    }
}
