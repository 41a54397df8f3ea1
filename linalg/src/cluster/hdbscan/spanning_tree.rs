//! The first half of HDBSCAN: core distances and the minimum spanning tree of the
//! mutual-reachability graph, where the weight of the edge between points `a` and `b` is
//! `max(core(a), core(b), d(a, b))` and `core(a)` is the distance from `a` to its
//! `min_samples`-th nearest neighbour, `a` itself counting as the first.
//!
//! scikit-learn grows the tree with Prim's algorithm over the dense graph
//! (`mst_from_data_matrix`): every step measures the point just added against every point
//! outside the tree, `n²/2` distances in all, each reading a whole vector. Here the tree is
//! grown with Borůvka's algorithm instead, which finds the same tree (any minimum spanning
//! tree gives the same single-linkage hierarchy) while skipping most distances, with bounds
//! that are exact, so that the weights are exactly those of the full computation:
//!
//! - each round, every component of the forest finds its lightest edge to another
//!   component; its nearest-neighbour lists give a first candidate at once;
//! - a point whose `max(core, distance to the last of its listed neighbours)` is already no
//!   lighter than that candidate cannot do better through a point it did not list, so it is
//!   not searched at all (most points, in most rounds);
//! - the other points search every point of other components, skipping a pair when
//!   `max(core(a), core(b))`, or the distance between the two points projected onto the
//!   data's principal subspace (a projection never lengthens a distance), already exceeds
//!   the lightest edge the component has found so far.
//!
//! Ties are broken by a total order (weight, then lower point, then higher point), so the
//! tree does not depend on how the work was split among threads.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::distance::{dot, squared_l2};
use crate::error::Result;
use crate::neighbours::{ClusterMetric, Prepared, k_nearest};
use crate::points::Points;
use crate::rng::SeededRng;

/// An edge of the spanning tree between points `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edge {
    /// One point (in the returned tree, the one on the side of point 0).
    pub a: u32,
    /// The other point.
    pub b: u32,
    /// The mutual-reachability distance between them.
    pub weight: f32,
}

impl Edge {
    const NONE: Edge = Edge {
        a: u32::MAX,
        b: u32::MAX,
        weight: f32::INFINITY,
    };

    fn new(a: usize, b: usize, weight: f32) -> Self {
        Edge {
            a: a.min(b) as u32,
            b: a.max(b) as u32,
            weight,
        }
    }

    /// The total order: lighter first, then by the lower point, then by the higher.
    fn order(&self, other: &Self) -> CmpOrdering {
        let points = |e: &Self| (e.a.min(e.b), e.a.max(e.b));
        self.weight
            .total_cmp(&other.weight)
            .then(points(self).cmp(&points(other)))
    }

    fn lighter(self, other: Self) -> Self {
        if other.order(&self) == CmpOrdering::Less {
            other
        } else {
            self
        }
    }
}

/// The minimum spanning tree of the mutual-reachability graph of `points` (at least two)
/// with core distances at `min_samples` (between 1 and the number of points): `n - 1`
/// edges sorted by weight, as [`in_prim_order`] directs and orders them.
pub(super) fn minimum_spanning_tree(
    points: &Points<'_>,
    metric: ClusterMetric,
    min_samples: usize,
) -> Result<Vec<Edge>> {
    let distance = PairDistance::new(points, metric)?;
    let neighbourhood = Neighbourhood::new(&distance, min_samples)?;
    let projection = Projection::new(&distance);
    let edges = boruvka(&distance, &neighbourhood, projection.as_ref());
    // scikit-learn's default takes the dense path for cosine (no tree index supports it).
    Ok(in_prim_order(edges, distance.len(), distance.cosine))
}

/// The edges of the tree `edges` over `n` points as scikit-learn orders them: in the order
/// Prim's algorithm, started at point 0, adds their points, then sorted by weight, stably
/// (scikit-learn's `argsort` is not stable, and leaves runs of equal weights in an order of
/// its own: none could be closer). Prim's algorithm on the tree itself adds the points in
/// the same order as on the whole graph (the lightest edge out of the grown tree is a tree
/// edge); ties go to the lower point, as in scikit-learn's scan.
///
/// Each edge runs from the point already in the tree, as `mst_from_data_matrix` records it
/// (the side of point 0 becomes the left child of the merge, which decides the cluster
/// numbers) or, `as_path`, from the point added just before, as `mst_from_mutual_reachability` records it
/// on scikit-learn's dense path: a path through the points in Prim's order, weighted as
/// the tree, which merges the same sets at every distance.
fn in_prim_order(edges: Vec<Edge>, n: usize, as_path: bool) -> Vec<Edge> {
    // The tree as adjacency lists (compressed: offsets, then (neighbour, weight)).
    let mut offsets = vec![0usize; n + 1];
    for edge in &edges {
        offsets[edge.a as usize + 1] += 1;
        offsets[edge.b as usize + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut filled = offsets.clone();
    let mut adjacent = vec![(0u32, 0f32); 2 * edges.len()];
    for edge in &edges {
        adjacent[filled[edge.a as usize]] = (edge.b, edge.weight);
        filled[edge.a as usize] += 1;
        adjacent[filled[edge.b as usize]] = (edge.a, edge.weight);
        filled[edge.b as usize] += 1;
    }
    // Weights are not negative, so their bits order as they do.
    let mut frontier = BinaryHeap::new();
    let mut added = vec![false; n];
    let mut ordered = Vec::with_capacity(n.saturating_sub(1));
    let mut previous = 0u32;
    frontier.push(Reverse((0u32, 0u32, 0u32)));
    while let Some(Reverse((weight, point, from))) = frontier.pop() {
        if added[point as usize] {
            continue;
        }
        added[point as usize] = true;
        if point != 0 {
            ordered.push(Edge {
                a: if as_path { previous } else { from },
                b: point,
                weight: f32::from_bits(weight),
            });
        }
        previous = point;
        for &(other, w) in &adjacent[offsets[point as usize]..offsets[point as usize + 1]] {
            if !added[other as usize] {
                frontier.push(Reverse((w.to_bits(), other, point)));
            }
        }
    }
    // Stable: equal weights stay in the order of Prim's algorithm.
    ordered.sort_by(|x, y| x.weight.total_cmp(&y.weight));
    ordered
}

/// The metric's distance between points, computed from the difference of the vectors so
/// that small distances keep their precision in `f32`.
///
/// Cosine distance is `1 − u·v` for unit vectors, but in `f32` that subtraction loses the
/// distance between nearby directions (at 1e-5 it keeps two digits, below 6e-8 nothing):
/// scikit-learn computes it in `f64` and would find other clusters. `½‖u − v‖²` is the same
/// quantity with the precision of the distance itself, and ranks neighbours as the
/// Euclidean distance between the unit vectors does. A zero vector is at distance 1 from
/// every other point (as in [`Prepared`] and scikit-learn).
pub(super) struct PairDistance {
    /// Euclidean: the points as given; cosine: the points scaled to unit length (a zero
    /// vector stays zero). Either way compared by Euclidean distance.
    prepared: Prepared,
    dim: usize,
    cosine: bool,
    /// For cosine, whether each point is the zero vector.
    zero: Vec<bool>,
}

impl PairDistance {
    fn new(points: &Points<'_>, metric: ClusterMetric) -> Result<Self> {
        let dim = points.dim();
        match metric {
            ClusterMetric::Euclidean => Ok(PairDistance {
                prepared: Prepared::new(points, ClusterMetric::Euclidean),
                dim,
                cosine: false,
                zero: Vec::new(),
            }),
            ClusterMetric::Cosine => {
                let mut unit = points.data().to_vec();
                let zero = unit
                    .par_chunks_exact_mut(dim)
                    .map(|row| {
                        let norm = dot(row, row).sqrt();
                        if norm > 0.0 {
                            row.iter_mut().for_each(|v| *v /= norm);
                        }
                        norm == 0.0
                    })
                    .collect();
                let unit = Points::new(&unit, dim)?;
                Ok(PairDistance {
                    prepared: Prepared::new(&unit, ClusterMetric::Euclidean),
                    dim,
                    cosine: true,
                    zero,
                })
            }
        }
    }

    fn len(&self) -> usize {
        self.prepared.len()
    }

    fn is_zero(&self, i: usize) -> bool {
        self.cosine && self.zero[i]
    }

    /// The distance between points `i` and `j`.
    #[inline]
    fn between(&self, i: usize, j: usize) -> f32 {
        if i == j {
            return 0.0;
        }
        let squared = squared_l2(self.prepared.row(i), self.prepared.row(j));
        if !self.cosine {
            squared.sqrt()
        } else if self.zero[i] || self.zero[j] {
            1.0
        } else {
            0.5 * squared
        }
    }

    /// The Euclidean distance (between the prepared vectors) that corresponds to the
    /// metric's distance `d`: the two grow together, and bounds are computed on the first.
    fn euclidean_of(&self, d: f32) -> f32 {
        if self.cosine { (2.0 * d).sqrt() } else { d }
    }
}

/// Every point's nearest neighbours (from [`k_nearest`], distances measured again by
/// [`PairDistance`]), its core distance, and how near any point it did not list can be.
struct Neighbourhood {
    /// Neighbours per point (the same for all).
    width: usize,
    /// `width` neighbours per point, nearest first (the point itself among them).
    indices: Vec<u32>,
    /// Their distances.
    distances: Vec<f32>,
    core: Vec<f32>,
    /// Every point not listed is at least this far (infinite when all are listed).
    beyond: Vec<f32>,
}

/// One point's row of a [`Neighbourhood`] while it is built.
struct PointNeighbours {
    /// (distance, neighbour), nearest first.
    list: Vec<(f32, u32)>,
    core: f32,
    beyond: f32,
}

/// Neighbours listed per point beyond `min_samples`: more find more components' lightest
/// edges without a search, at the cost of a longer neighbour search.
const EXTRA_NEIGHBOURS: usize = 8;

impl Neighbourhood {
    fn new(distance: &PairDistance, min_samples: usize) -> Result<Self> {
        let n = distance.len();
        let wanted = min_samples + EXTRA_NEIGHBOURS;
        let zero_count = distance.zero.iter().filter(|&&zero| zero).count();
        // The points searched (all but cosine's zero vectors, which the unit vectors would
        // put at the wrong distance: they are counted in at distance 1 instead).
        let searched: Vec<usize> = (0..n).filter(|&i| !distance.is_zero(i)).collect();
        let subset;
        let prepared = if zero_count == 0 {
            &distance.prepared
        } else {
            let mut data = Vec::with_capacity(searched.len() * distance.dim);
            for &i in &searched {
                data.extend_from_slice(distance.prepared.row(i));
            }
            subset = Prepared::new(&Points::new(&data, distance.dim)?, ClusterMetric::Euclidean);
            &subset
        };
        let found = k_nearest(prepared, wanted);
        let width = found.k().max(1);
        let mut indices = vec![0u32; n * width];
        let mut distances = vec![0f32; n * width];
        let mut core = vec![if min_samples == 1 { 0.0 } else { 1.0 }; n];
        let mut beyond = vec![1.0f32; n];
        // Zero vectors list themselves only; every other point is at distance 1.
        for i in (0..n).filter(|&i| distance.is_zero(i)) {
            indices[i * width..(i + 1) * width].fill(i as u32);
        }
        let lists: Vec<PointNeighbours> = (0..searched.len())
            .into_par_iter()
            .map(|p| {
                let i = searched[p];
                let mut list: Vec<(f32, u32)> = found
                    .indices(p)
                    .iter()
                    .map(|&q| {
                        let j = searched[q as usize];
                        (distance.between(i, j), j as u32)
                    })
                    .collect();
                list.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                // The min_samples-th smallest distance, zero vectors (at 1) counted in.
                let below_one = list.iter().filter(|x| x.0 <= 1.0).count();
                let core = if zero_count == 0 || min_samples <= below_one {
                    list[min_samples - 1].0
                } else if min_samples <= below_one + zero_count {
                    1.0
                } else {
                    list[min_samples - 1 - zero_count].0
                };
                let mut beyond = if list.len() == searched.len() {
                    f32::INFINITY
                } else {
                    list[list.len() - 1].0
                };
                if zero_count > 0 {
                    beyond = beyond.min(1.0);
                }
                PointNeighbours { list, core, beyond }
            })
            .collect();
        for (p, point) in lists.into_iter().enumerate() {
            let i = searched[p];
            for (slot, (d, j)) in point.list.into_iter().enumerate() {
                indices[i * width + slot] = j;
                distances[i * width + slot] = d;
            }
            core[i] = point.core;
            beyond[i] = point.beyond;
        }
        Ok(Neighbourhood {
            width,
            indices,
            distances,
            core,
            beyond,
        })
    }

    fn listed(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = i * self.width..(i + 1) * self.width;
        self.indices[range.clone()]
            .iter()
            .zip(&self.distances[range])
            .map(|(&j, &d)| (j as usize, d))
    }
}

/// Coordinates in the principal subspace of the data: `‖P(x − y)‖ ≤ ‖x − y‖` for the
/// orthonormal projection `P`, so the distance between two projections, less a margin for
/// rounding, bounds the distance between the points from below. Built when the vectors
/// are long enough for the short projections to be worth it.
struct Projection {
    /// The projection of every point, [`PROJECTED_DIM`] values each.
    rows: Vec<f32>,
    /// Per point, a bound on the rounding error of its projection.
    slack: Vec<f32>,
    max_slack: f32,
    /// Relative rounding margin of a computed distance.
    relative: f32,
}

/// Principal directions kept: enough to separate a few dozen clusters, few enough that a
/// bound costs a small fraction of a distance.
const PROJECTED_DIM: usize = 32;

/// Rows sampled to estimate the principal subspace.
const SUBSPACE_SAMPLE: usize = 2048;

/// Rounds of subspace iteration.
const SUBSPACE_ITERATIONS: usize = 16;

impl Projection {
    fn new(distance: &PairDistance) -> Option<Self> {
        let (n, dim) = (distance.len(), distance.dim);
        if dim <= 2 * PROJECTED_DIM || n < 4 * PROJECTED_DIM {
            return None;
        }
        let row = |i: usize| distance.prepared.row(i);
        // The principal subspace of a strided sample, by subspace iteration on its
        // covariance (in f64; only its quality depends on it, not the exactness).
        let stride = n.div_ceil(SUBSPACE_SAMPLE);
        let sample: Vec<usize> = (0..n).step_by(stride).collect();
        let mut mean = vec![0f64; dim];
        for &i in &sample {
            for (m, &v) in mean.iter_mut().zip(row(i)) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= sample.len() as f64);
        // Centred sample, one column per coordinate.
        let mut columns = vec![0f64; dim * sample.len()];
        for (s, &i) in sample.iter().enumerate() {
            for (c, &v) in row(i).iter().enumerate() {
                columns[c * sample.len() + s] = f64::from(v) - mean[c];
            }
        }
        let column = |c: usize| &columns[c * sample.len()..(c + 1) * sample.len()];
        let covariance: Vec<f64> = (0..dim * dim)
            .into_par_iter()
            .map(|k| {
                let (r, c) = (k / dim, k % dim);
                column(r).iter().zip(column(c)).map(|(x, y)| x * y).sum()
            })
            .collect();
        let mut rng = SeededRng::new(0x4844_4253_4341_4e00);
        let mut basis: Vec<Vec<f64>> = (0..PROJECTED_DIM)
            .map(|_| (0..dim).map(|_| rng.normal()).collect())
            .collect();
        orthonormalise(&mut basis);
        for _ in 0..SUBSPACE_ITERATIONS {
            basis = basis
                .par_iter()
                .map(|v| {
                    (0..dim)
                        .map(|r| {
                            covariance[r * dim..(r + 1) * dim]
                                .iter()
                                .zip(v)
                                .map(|(a, b)| a * b)
                                .sum()
                        })
                        .collect()
                })
                .collect();
            orthonormalise(&mut basis);
        }
        // Project every point, in f64, and round once to f32.
        let projected: Vec<(Vec<f32>, f32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let centred: Vec<f64> = row(i)
                    .iter()
                    .zip(&mean)
                    .map(|(&v, m)| f64::from(v) - m)
                    .collect();
                let coordinates = basis
                    .iter()
                    .map(|b| b.iter().zip(&centred).map(|(x, y)| x * y).sum::<f64>() as f32)
                    .collect();
                let length = centred.iter().map(|x| x * x).sum::<f64>().sqrt();
                // Rounding each coordinate to f32 moves the projection by at most 2^-24 of
                // its length, itself at most the centred vector's; the f64 sums and the
                // basis's departure from orthonormality are far below. Four times that.
                (
                    coordinates,
                    (length * 4.0 * f64::from(f32::EPSILON) / 2.0) as f32,
                )
            })
            .collect();
        let mut rows = Vec::with_capacity(n * PROJECTED_DIM);
        let mut slack = Vec::with_capacity(n);
        for (coordinates, point_slack) in projected {
            rows.extend_from_slice(&coordinates);
            slack.push(point_slack);
        }
        let max_slack = slack.iter().copied().fold(0.0, f32::max);
        // A computed squared distance over `len` values is within about
        // (len / 32 + 32) · 2^-24 of the true one, relatively (32 lanes, then their sum);
        // a distance within half that. Both the projected and the full distance; twice.
        let relative = 2.0 * ((dim + PROJECTED_DIM) as f32 / 32.0 + 64.0) * f32::EPSILON;
        Some(Projection {
            rows,
            slack,
            max_slack,
            relative,
        })
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * PROJECTED_DIM..(i + 1) * PROJECTED_DIM]
    }

    /// The squared projected distance above which the points of any pair with `a` are
    /// provably farther apart than `euclidean` (a Euclidean distance between prepared
    /// vectors).
    fn limit(&self, a: usize, euclidean: f32) -> f32 {
        let bound = (euclidean + self.slack[a] + self.max_slack) / (1.0 - self.relative);
        bound * bound
    }
}

/// Gram–Schmidt, twice over for orthogonality to rounding level.
fn orthonormalise(basis: &mut [Vec<f64>]) {
    for _ in 0..2 {
        for k in 0..basis.len() {
            let (done, rest) = basis.split_at_mut(k);
            let v = &mut rest[0];
            for u in done.iter() {
                let projection: f64 = u.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, y)| *x -= projection * y);
            }
            let length = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if length > 0.0 {
                v.iter_mut().for_each(|x| *x /= length);
            }
        }
    }
}

/// Active points searched together against each tile of candidates, so that a tile read
/// from memory serves all of them.
const SEARCH_BLOCK: usize = 8;

/// Candidates per tile.
const TILE: usize = 64;

/// Borůvka's algorithm over the mutual-reachability graph; see the module documentation.
fn boruvka(
    distance: &PairDistance,
    neighbourhood: &Neighbourhood,
    projection: Option<&Projection>,
) -> Vec<Edge> {
    let n = distance.len();
    let core = &neighbourhood.core;
    let mutual = |a: usize, b: usize, d: f32| core[a].max(core[b]).max(d);
    let mut forest = UnionFind::new(n);
    let mut edges = Vec::with_capacity(n - 1);
    while edges.len() < n - 1 {
        let component: Vec<u32> = (0..n).map(|i| forest.find(i) as u32).collect();
        // The lightest listed edge of every point to another component.
        let listed: Vec<Edge> = (0..n)
            .into_par_iter()
            .map(|a| {
                neighbourhood
                    .listed(a)
                    .filter(|&(b, _)| component[b] != component[a])
                    .map(|(b, d)| Edge::new(a, b, mutual(a, b, d)))
                    .fold(Edge::NONE, Edge::lighter)
            })
            .collect();
        let mut lightest = vec![Edge::NONE; n];
        for (a, edge) in listed.into_iter().enumerate() {
            let c = component[a] as usize;
            lightest[c] = lightest[c].lighter(edge);
        }
        // The points that may have a lighter edge to a point they did not list.
        let active: Vec<usize> = (0..n)
            .filter(|&a| {
                core[a].max(neighbourhood.beyond[a]) < lightest[component[a] as usize].weight
            })
            .collect();
        if !active.is_empty() {
            let threshold: Vec<AtomicU32> = lightest
                .iter()
                .map(|edge| AtomicU32::new(edge.weight.to_bits()))
                .collect();
            let search = Search::new(distance, core, &component, projection, &threshold);
            let found: Vec<Edge> = active
                .par_chunks(SEARCH_BLOCK)
                .flat_map_iter(|block| search.lightest_edges(block))
                .collect();
            for (&a, edge) in active.iter().zip(found) {
                let c = component[a] as usize;
                lightest[c] = lightest[c].lighter(edge);
            }
        }
        let mut chosen: Vec<Edge> = (0..n)
            .filter(|&c| component[c] as usize == c)
            .map(|c| lightest[c])
            .collect();
        chosen.sort_by(Edge::order);
        for edge in chosen {
            if forest.union(edge.a as usize, edge.b as usize) {
                edges.push(edge);
            }
        }
    }
    edges
}

/// What the search of a round reads: the points grouped by component (so that a point
/// skips its own component as one range), with their core distances and, tile by tile,
/// their projected coordinates stored coordinate by coordinate (so that the bounds of a
/// whole tile are one vectorised loop).
struct Search<'a> {
    distance: &'a PairDistance,
    core: &'a [f32],
    projection: Option<&'a Projection>,
    /// Per component, the weight of the lightest edge found so far (f32 bits: weights are
    /// not negative, so the bits order as the values). Only ever lowered.
    threshold: &'a [AtomicU32],
    component: &'a [u32],
    /// The points, grouped by component.
    order: Vec<u32>,
    /// Per component (indexed by its root), its range in `order`.
    range: Vec<(u32, u32)>,
    /// `core` in `order`.
    ordered_core: Vec<f32>,
    /// Per tile of `order`, `PROJECTED_DIM` rows of `TILE` projected coordinates.
    tiles: Vec<f32>,
}

/// The state of one active point's search.
struct Searcher {
    point: usize,
    component: u32,
    /// The positions of its component in `order`.
    own: std::ops::Range<usize>,
    /// The component's lightest weight as last seen.
    threshold: f32,
    /// The squared projected distance beyond which a pair is heavier than `threshold`.
    limit: f32,
    best: Edge,
}

impl<'a> Search<'a> {
    fn new(
        distance: &'a PairDistance,
        core: &'a [f32],
        component: &'a [u32],
        projection: Option<&'a Projection>,
        threshold: &'a [AtomicU32],
    ) -> Self {
        let n = component.len();
        // Counting sort of the points by component.
        let mut range = vec![(0u32, 0u32); n];
        for &c in component {
            range[c as usize].1 += 1;
        }
        let mut start = 0u32;
        for r in range.iter_mut() {
            let count = r.1;
            *r = (start, start);
            start += count;
        }
        let mut order = vec![0u32; n];
        for (i, &c) in component.iter().enumerate() {
            let r = &mut range[c as usize];
            order[r.1 as usize] = i as u32;
            r.1 += 1;
        }
        let ordered_core = order.iter().map(|&i| core[i as usize]).collect();
        let tiles = match projection {
            Some(projection) => {
                let mut tiles = vec![0f32; n.div_ceil(TILE) * TILE * PROJECTED_DIM];
                for (position, &i) in order.iter().enumerate() {
                    let (tile, slot) = (position / TILE, position % TILE);
                    let row = projection.row(i as usize);
                    for (k, &value) in row.iter().enumerate() {
                        tiles[(tile * PROJECTED_DIM + k) * TILE + slot] = value;
                    }
                }
                tiles
            }
            None => Vec::new(),
        };
        Search {
            distance,
            core,
            projection,
            threshold,
            component,
            order,
            range,
            ordered_core,
            tiles,
        }
    }

    /// The lightest edge from each point of `block` to another component; pairs are
    /// skipped only when provably heavier than an edge already found, so the result does
    /// not depend on the order of the search.
    fn lightest_edges(&self, block: &[usize]) -> Vec<Edge> {
        let n = self.order.len();
        let mut searchers: Vec<Searcher> = block
            .iter()
            .map(|&a| {
                let component = self.component[a];
                let (start, end) = self.range[component as usize];
                Searcher {
                    point: a,
                    component,
                    own: start as usize..end as usize,
                    threshold: f32::INFINITY,
                    limit: f32::INFINITY,
                    best: Edge::NONE,
                }
            })
            .collect();
        let mut bounds = [0f32; TILE];
        for tile in 0..n.div_ceil(TILE) {
            let positions = tile * TILE..((tile + 1) * TILE).min(n);
            for searcher in &mut searchers {
                if searcher.own.start <= positions.start && positions.end <= searcher.own.end {
                    continue;
                }
                self.refresh(searcher);
                match self.projection {
                    Some(projection) => {
                        self.tile_bounds(projection.row(searcher.point), tile, &mut bounds);
                        for (slot, position) in positions.clone().enumerate() {
                            // The limit falls as lighter edges are found within the tile.
                            if bounds[slot] <= searcher.limit {
                                self.consider(searcher, position);
                            }
                        }
                    }
                    None => {
                        for position in positions.clone() {
                            self.consider(searcher, position);
                        }
                    }
                }
            }
        }
        searchers.into_iter().map(|s| s.best).collect()
    }

    /// The squared projected distance from `row` to every candidate of `tile`.
    #[inline]
    fn tile_bounds(&self, row: &[f32], tile: usize, bounds: &mut [f32; TILE]) {
        let size = PROJECTED_DIM * TILE;
        let coordinates = &self.tiles[tile * size..(tile + 1) * size];
        bounds.fill(0.0);
        for (k, candidates) in coordinates.chunks_exact(TILE).enumerate() {
            let y = row[k];
            for (bound, &x) in bounds.iter_mut().zip(candidates) {
                let d = y - x;
                *bound += d * d;
            }
        }
    }

    /// Takes in what the other searchers of the component have found.
    fn refresh(&self, searcher: &mut Searcher) {
        let shared =
            f32::from_bits(self.threshold[searcher.component as usize].load(Ordering::Relaxed));
        if shared < searcher.threshold {
            self.lower(searcher, shared);
        }
    }

    fn lower(&self, searcher: &mut Searcher, threshold: f32) {
        searcher.threshold = threshold;
        if let Some(projection) = self.projection {
            searcher.limit = if threshold.is_finite() {
                projection.limit(searcher.point, self.distance.euclidean_of(threshold))
            } else {
                f32::INFINITY
            };
        }
    }

    /// Measures the pair of the searcher's point and the point at `position`, unless it
    /// is in the same component or provably heavier than the lightest edge found.
    fn consider(&self, searcher: &mut Searcher, position: usize) {
        if searcher.own.contains(&position) {
            return;
        }
        let a = searcher.point;
        let floor = self.core[a].max(self.ordered_core[position]);
        // Strictly heavier only: an edge as light as the best found may still win on the
        // order of its points.
        if floor > searcher.threshold {
            return;
        }
        let b = self.order[position] as usize;
        let edge = Edge::new(a, b, floor.max(self.distance.between(a, b)));
        searcher.best = searcher.best.lighter(edge);
        if edge.weight < searcher.threshold {
            self.threshold[searcher.component as usize]
                .fetch_min(edge.weight.to_bits(), Ordering::Relaxed);
            self.lower(searcher, edge.weight);
        }
    }
}

/// Union–find over points, by size with path halving.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins the sets of `a` and `b`; false if they were one already.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs of different spreads around centres in [-10, 10], shifted by `offset`, with
    /// one point in 20 uniform noise.
    fn clustered(seed: u64, n: usize, dim: usize, offset: f32) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        let centres: Vec<Vec<f32>> = (0..5)
            .map(|_| {
                (0..dim)
                    .map(|_| (rng.next_f64() * 20.0 - 10.0) as f32)
                    .collect()
            })
            .collect();
        let mut data = Vec::with_capacity(n * dim);
        for i in 0..n {
            if i % 20 == 19 {
                data.extend((0..dim).map(|_| (rng.next_f64() * 24.0 - 12.0) as f32 + offset));
            } else {
                let k = i % centres.len();
                let spread = [0.3, 1.0, 2.0, 0.5, 1.5][k];
                data.extend(
                    centres[k]
                        .iter()
                        .map(|&c| c + (spread * rng.normal()) as f32 + offset),
                );
            }
        }
        data
    }

    /// Core distances by sorting all distances, and the weights of the tree that Prim's
    /// algorithm grows over the whole graph (scikit-learn's `mst_from_data_matrix`), sorted.
    fn reference(distance: &PairDistance, min_samples: usize) -> (Vec<f32>, Vec<f32>) {
        let n = distance.len();
        let core: Vec<f32> = (0..n)
            .map(|i| {
                let mut all: Vec<f32> = (0..n).map(|j| distance.between(i, j)).collect();
                all.sort_by(f32::total_cmp);
                all[min_samples - 1]
            })
            .collect();
        let mut in_tree = vec![false; n];
        let mut reach = vec![f32::INFINITY; n];
        let mut weights = Vec::new();
        let mut current = 0;
        for _ in 1..n {
            in_tree[current] = true;
            let mut nearest = (f32::INFINITY, usize::MAX);
            for j in (0..n).filter(|&j| !in_tree[j]) {
                let mutual = core[current].max(core[j]).max(distance.between(current, j));
                reach[j] = reach[j].min(mutual);
                if reach[j] < nearest.0 {
                    nearest = (reach[j], j);
                }
            }
            weights.push(nearest.0);
            current = nearest.1;
        }
        weights.sort_by(f32::total_cmp);
        (core, weights)
    }

    /// Checks the core distances and the tree against the reference, and that the edges
    /// span all the points.
    fn check(data: &[f32], dim: usize, metric: ClusterMetric, min_samples: usize) {
        let points = Points::new(data, dim).unwrap();
        let distance = PairDistance::new(&points, metric).unwrap();
        let n = distance.len();
        let (core, weights) = reference(&distance, min_samples);
        let neighbourhood = Neighbourhood::new(&distance, min_samples).unwrap();
        assert_eq!(neighbourhood.core, core);
        let edges = minimum_spanning_tree(&points, metric, min_samples).unwrap();
        let found: Vec<f32> = edges.iter().map(|e| e.weight).collect();
        assert_eq!(found, weights);
        let mut forest = UnionFind::new(n);
        for edge in &edges {
            assert!(
                forest.union(edge.a as usize, edge.b as usize),
                "{edge:?} closes a cycle"
            );
            if metric == ClusterMetric::Euclidean {
                let (a, b) = (edge.a as usize, edge.b as usize);
                assert_eq!(
                    edge.weight,
                    core[a].max(core[b]).max(distance.between(a, b))
                );
            }
        }
        assert_eq!(edges.len(), n - 1);
    }

    #[test]
    fn the_tree_weighs_what_prims_algorithm_over_the_whole_graph_finds() {
        // Short vectors: no projection.
        check(&clustered(1, 300, 5, 0.0), 5, ClusterMetric::Euclidean, 5);
        // Long vectors far from the origin: the projection bounds prune, with their margins.
        let long = clustered(2, 400, 80, 1000.0);
        check(&long, 80, ClusterMetric::Euclidean, 4);
        check(&long, 80, ClusterMetric::Euclidean, 1);
        // Integer points: many equal distances and weights.
        let grid: Vec<f32> = (0..400).map(|i| ((i * 7919) % 13) as f32).collect();
        check(&grid, 2, ClusterMetric::Euclidean, 3);
    }

    #[test]
    fn cosine_trees_count_zero_vectors_and_duplicates_in() {
        let mut data = clustered(3, 300, 80, 0.0);
        // Zero vectors, and a run of copies of one point.
        for i in [7, 100, 250] {
            data[i * 80..(i + 1) * 80].fill(0.0);
        }
        for i in 200..210 {
            let copy = data[10 * 80..11 * 80].to_vec();
            data[i * 80..(i + 1) * 80].copy_from_slice(&copy);
        }
        check(&data, 80, ClusterMetric::Cosine, 6);
        check(&data, 80, ClusterMetric::Cosine, 12);
        check(&data[..40 * 80], 80, ClusterMetric::Cosine, 40);
    }

    #[test]
    fn projected_distances_never_exceed_their_margin() {
        let data = clustered(4, 300, 100, 500.0);
        let points = Points::new(&data, 100).unwrap();
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            let distance = PairDistance::new(&points, metric).unwrap();
            let projection = Projection::new(&distance).expect("long vectors are projected");
            for a in (0..300).step_by(7) {
                for b in 0..300 {
                    // A pair exactly as heavy as the threshold must never be skipped.
                    let threshold = distance.between(a, b);
                    let limit = projection.limit(a, distance.euclidean_of(threshold));
                    let (pa, pb) = (projection.row(a), projection.row(b));
                    let projected: f32 = pa.iter().zip(pb).map(|(x, y)| (x - y) * (x - y)).sum();
                    assert!(
                        projected <= limit,
                        "{metric:?} {a} {b}: {projected} > {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn cosine_distance_keeps_the_precision_of_small_angles() {
        let angle = 1e-4f64;
        let data = [1.0, 0.0, angle.cos() as f32, angle.sin() as f32, 0.0, 0.0];
        let points = Points::new(&data, 2).unwrap();
        let distance = PairDistance::new(&points, ClusterMetric::Cosine).unwrap();
        let expected = 1.0 - angle.cos();
        let found = f64::from(distance.between(0, 1));
        assert!(
            (found - expected).abs() < 1e-3 * expected,
            "{found} vs {expected}"
        );
        assert_eq!(distance.between(0, 2), 1.0);
        assert_eq!(distance.between(2, 2), 0.0);
    }

    #[test]
    fn edges_come_in_the_order_and_direction_of_prims_algorithm() {
        // A star around point 2 with equal weights, and a heavier edge to point 4.
        let star = vec![
            Edge::new(2, 3, 1.0),
            Edge::new(2, 0, 1.0),
            Edge::new(4, 3, 5.0),
            Edge::new(1, 2, 1.0),
        ];
        let tree = in_prim_order(star.clone(), 5, false);
        let pairs: Vec<(u32, u32)> = tree.iter().map(|e| (e.a, e.b)).collect();
        // From point 0: 2, then 1 and 3 (lower first), then 4.
        assert_eq!(pairs, [(0, 2), (2, 1), (2, 3), (3, 4)]);
        let path = in_prim_order(star, 5, true);
        let pairs: Vec<(u32, u32)> = path.iter().map(|e| (e.a, e.b)).collect();
        assert_eq!(pairs, [(0, 2), (2, 1), (1, 3), (3, 4)]);
        assert_eq!(
            path.iter().map(|e| e.weight).collect::<Vec<_>>(),
            [1.0, 1.0, 1.0, 5.0]
        );
    }
}
