//! Exact nearest neighbours by a parallel scan: the `k` nearest of every point, and every
//! point within a radius. DBSCAN, HDBSCAN and t-SNE build on these.
//!
//! Only distances that are true metrics over the vectors make sense for density clustering,
//! so [`ClusterMetric`] is Euclidean or cosine (`1 − cos`, as scikit-learn's `cosine`).
//!
//! The scans work as scikit-learn's brute-force neighbours do, comparing pairs of points in
//! blocks, with three differences that make them faster and leave the answers exact:
//! - the dot products of a block of rows with another block come from a register-blocked
//!   kernel (`tiles`), and distances follow from ‖x‖² + ‖y‖² − 2 x·y on centred rows;
//! - any pair whose computed distance is too close to the decision for rounding to be ruled
//!   out is settled with [`Prepared::distance`], so the answers are exactly those of
//!   comparing [`Prepared::distance`] of every pair, whichever CPU kernel ran: a radius is
//!   inclusive to the last bit, and `k_nearest` reports [`Prepared::distance`] itself;
//! - the points are grouped so that each block is compact (`layout`), and a pair of blocks
//!   (or of quarter-blocks) that the triangle inequality puts beyond the radius, or beyond
//!   every current `k`-th nearest, is not computed at all. Where the points form clusters
//!   that leaves mostly the pairs within a cluster; where they do not, nothing is skipped.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::distance::{dot, squared_l2};
use crate::error::{Error, Result};
use crate::points::Points;

mod hnsw;
mod layout;
mod tiles;

pub(crate) use hnsw::hnsw_radius_pairs;
use layout::Layout;
use tiles::{BLOCK, Packed, SUB, ValueKind, column_of_sub_tiles, row_of_sub_tiles};

/// The distance clustering uses between two vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterMetric {
    /// ‖a − b‖₂.
    Euclidean,
    /// 1 − a·b / (‖a‖ ‖b‖); a zero vector is at distance 1 from everything (as in
    /// scikit-learn, which normalises it to zero).
    Cosine,
}

impl ClusterMetric {
    /// Parses `euclidean` (`l2`) or `cosine`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "euclidean" | "l2" => Ok(ClusterMetric::Euclidean),
            "cosine" | "cos" => Ok(ClusterMetric::Cosine),
            other => Err(Error::InvalidArgument(format!(
                "unknown clustering metric '{other}': use 'euclidean' (or 'l2') or 'cosine'"
            ))),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            ClusterMetric::Euclidean => "euclidean",
            ClusterMetric::Cosine => "cosine",
        }
    }
}

/// The vectors in the form a metric compares fastest: unit length for cosine, as given for
/// Euclidean. Build it once, then compare any two rows with [`Prepared::distance`].
#[derive(Debug, Clone)]
pub struct Prepared {
    data: Vec<f32>,
    dim: usize,
    metric: ClusterMetric,
}

impl Prepared {
    /// Prepares `points` for `metric`.
    pub fn new(points: &Points<'_>, metric: ClusterMetric) -> Self {
        let mut data = points.data().to_vec();
        if metric == ClusterMetric::Cosine {
            data.par_chunks_exact_mut(points.dim()).for_each(|row| {
                let norm = dot(row, row).sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            });
        }
        Prepared {
            data,
            dim: points.dim(),
            metric,
        }
    }

    /// The number of vectors.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Vector `i` as prepared (unit length for cosine, unless it is zero).
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The metric.
    pub fn metric(&self) -> ClusterMetric {
        self.metric
    }

    /// The distance between rows `i` and `j`.
    #[inline]
    pub fn distance(&self, i: usize, j: usize) -> f32 {
        self.distance_to(self.row(i), j)
    }

    /// The distance between `query` (prepared the same way) and row `j`.
    #[inline]
    pub fn distance_to(&self, query: &[f32], j: usize) -> f32 {
        let row = self.row(j);
        match self.metric {
            ClusterMetric::Euclidean => squared_l2(query, row).sqrt(),
            // A zero vector stays zero: its dot product is 0 and its distance 1.
            ClusterMetric::Cosine => (1.0 - dot(query, row)).max(0.0),
        }
    }
}

/// The `k` nearest neighbours of every point, the point itself included (it is its own
/// nearest, at distance 0), as scikit-learn's `kneighbors` on the training data.
#[derive(Debug, Clone)]
pub struct Neighbours {
    k: usize,
    indices: Vec<u32>,
    distances: Vec<f32>,
}

impl Neighbours {
    /// Neighbours per point.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The neighbours of point `i`, nearest first.
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// Their distances, ascending.
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}

impl Prepared {
    /// How the block kernel packs these rows: centred on their mean for Euclidean (distances
    /// do not change, and the rounding of ‖x‖² + ‖y‖² − 2 x·y shrinks with the norms), as
    /// prepared for cosine (unit length, where 1 − x·y needs no norms).
    fn packing(&self) -> (Option<Vec<f32>>, ValueKind) {
        match self.metric {
            ClusterMetric::Euclidean => {
                let mut sums = vec![0f64; self.dim];
                for row in self.data.chunks_exact(self.dim) {
                    sums.iter_mut()
                        .zip(row)
                        .for_each(|(s, &v)| *s += f64::from(v));
                }
                let rows = self.len().max(1) as f64;
                let centre = sums.iter().map(|s| (s / rows) as f32).collect();
                (Some(centre), ValueKind::SquaredDistance)
            }
            ClusterMetric::Cosine => (None, ValueKind::OneMinusProduct),
        }
    }

    /// A lower bound on the block kernel's value (see [`ValueKind`]) for two rows at least
    /// `gap` apart (Euclidean, between prepared vectors), whose packed squared norms sum to at
    /// most `norms`, less everything rounding can take off it (`error` as
    /// [`Packed::error`]). For cosine, 1 − x·y = ‖x − y‖² / 2 for unit vectors (and 1 ≥ it
    /// when either is zero).
    fn value_floor(&self, gap: f64, norms: f32, error: f32) -> f64 {
        let squared = gap * gap;
        let value = match self.metric {
            ClusterMetric::Euclidean => squared,
            ClusterMetric::Cosine => squared / 2.0,
        };
        let error = 4.0 * f64::from(error);
        value * (1.0 - error) - error * (f64::from(norms) + 2.0)
    }

    /// A distance as the block kernel's values measure it (see [`ValueKind`]).
    fn value_of_distance(&self, distance: f32) -> f32 {
        match self.metric {
            ClusterMetric::Euclidean => distance * distance,
            ClusterMetric::Cosine => distance,
        }
    }
}

/// The candidates that may still be among one point's `k` nearest, while the block kernel's
/// values (each known only within an interval, see [`Packed::slack`]) stream in, in any
/// order.
///
/// Invariant: at least `k` candidates have an upper end at most `limit` (or `limit` is
/// infinite), or `limit` is 0 where that is more (exact ties at distance 0 are possible);
/// every point offered whose lower end is at most `limit` is in `candidates`. Any other
/// point is strictly farther than `k` points offered, whatever the exact distances, so it
/// cannot be among the nearest: the final answer does not depend on the order of the offers.
struct Shortlist {
    k: usize,
    /// Scan position, lower and upper end of the value.
    candidates: Vec<(u32, f32, f32)>,
    limit: f32,
    prune_at: usize,
}

impl Shortlist {
    fn new(k: usize) -> Self {
        Shortlist {
            k,
            candidates: Vec::new(),
            limit: f32::INFINITY,
            prune_at: 2 * k + 64,
        }
    }

    /// Offers scan position `index`, whose value lies in `[lower, upper]` (not NaN); cheap
    /// to skip when `lower > self.limit`.
    #[inline]
    fn offer(&mut self, index: u32, lower: f32, upper: f32) {
        if lower > self.limit {
            return;
        }
        self.candidates.push((index, lower, upper));
        if self.candidates.len() >= self.prune_at {
            self.prune();
        }
    }

    /// Lowers the limit to the `k`-th smallest upper end and drops the candidates beyond it.
    fn prune(&mut self) {
        if self.candidates.len() >= self.k {
            let mut upper: Vec<f32> = self.candidates.iter().map(|c| c.2).collect();
            let (_, kth, _) = upper.select_nth_unstable_by(self.k - 1, f32::total_cmp);
            self.limit = self.limit.min(kth.max(0.0));
        }
        let limit = self.limit;
        self.candidates.retain(|c| c.1 <= limit);
        // Many exact ties could keep the list long: prune again only once it doubles.
        self.prune_at = (2 * self.k + 64).max(2 * self.candidates.len());
    }

    /// The `k` nearest by exact distance (ties by index), point `i` itself first, into
    /// `indices` and `distances`; `order` maps the candidates' scan positions to points.
    fn finish(
        mut self,
        prepared: &Prepared,
        order: &[u32],
        i: usize,
        indices: &mut [u32],
        distances: &mut [f32],
    ) {
        self.prune();
        let query = prepared.row(i);
        let mut exact: Vec<(bool, f32, u32)> = self
            .candidates
            .iter()
            .map(|&(position, _, _)| {
                let j = order[position as usize];
                if j as usize == i {
                    (false, 0.0, j)
                } else {
                    (true, prepared.distance_to(query, j as usize), j)
                }
            })
            .collect();
        exact.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (slot, &(_, distance, j)) in exact.iter().take(self.k).enumerate() {
            indices[slot] = j;
            distances[slot] = distance;
        }
    }
}

/// A block's largest shortlist limit, shared between threads as the bits of an `f32`.
/// Limits only fall, so a stale value is larger than the true one: safe for skipping.
struct BlockLimit(AtomicU32);

impl BlockLimit {
    fn get(&self) -> f32 {
        f32::from_bits(self.0.load(AtomicOrdering::Relaxed))
    }

    fn set(&self, lists: &[Shortlist]) {
        let largest = lists.iter().map(|l| l.limit).fold(0.0, f32::max);
        self.0.store(largest.to_bits(), AtomicOrdering::Relaxed);
    }
}

/// The exact `k` nearest neighbours of every point (itself included, first); `k` is capped
/// at the number of points. Distances are [`Prepared::distance`]; ties go to the lower index.
///
/// Pairs of blocks are visited nearest first (by their centres; see the module docs), each
/// thread taking the next; each pair is computed once and offered to the shortlists of both
/// blocks' rows, and a pair is skipped when its gap puts it beyond every shortlist it could
/// enter. The answer does not depend on which pairs were skipped or in what order they came.
/// Besides the answer, memory holds 16 bytes per pair of blocks of 96 points: 9 MB for
/// 100 000 points, 870 MB for a million.
pub fn k_nearest(prepared: &Prepared, k: usize) -> Neighbours {
    let n = prepared.len();
    let k = k.min(n);
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    if k == 0 {
        return Neighbours {
            k,
            indices,
            distances,
        };
    }
    let layout = Layout::new(prepared);
    let packed = &layout.packed;
    let blocks = layout.blocks();
    let error = packed.error();
    let lists: Vec<Mutex<Vec<Shortlist>>> = (0..blocks)
        .map(|block| {
            let rows = (n - block * BLOCK).min(BLOCK);
            Mutex::new((0..rows).map(|_| Shortlist::new(k)).collect())
        })
        .collect();
    let limits: Vec<BlockLimit> = (0..blocks)
        .map(|_| BlockLimit(AtomicU32::new(f32::INFINITY.to_bits())))
        .collect();
    let lock = |block: usize| lists[block].lock().unwrap_or_else(PoisonError::into_inner);

    // Nearest centres first: a block that straddles two clusters has a large radius, so a
    // gap of 0 to everything, yet its quarter-blocks are far from most blocks; by the time
    // such pairs come, the limits are small enough to skip most of them.
    let mut pairs: Vec<(f32, f32, u32, u32)> = (0..blocks)
        .into_par_iter()
        .flat_map_iter(|a| (a..blocks).map(move |b| (a, b)))
        .map(|(a, b)| {
            let (between, gap) = layout.separation(a, b);
            // Rounded down: the gap must stay a lower bound.
            let narrow = gap as f32;
            let narrow = if f64::from(narrow) > gap {
                narrow.next_down()
            } else {
                narrow
            };
            (between as f32, narrow, a as u32, b as u32)
        })
        .collect();
    pairs.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.2.cmp(&y.2)).then(x.3.cmp(&y.3)));
    // Every thread takes the nearest pair left, so pairs are visited about nearest first
    // without waiting for one another.
    let next = AtomicUsize::new(0);
    (0..rayon::current_num_threads())
        .into_par_iter()
        .for_each(|_| {
            let mut values = Box::new([0f32; BLOCK * BLOCK]);
            let mut lower = Box::new([0f32; BLOCK * BLOCK]);
            let mut upper = Box::new([0f32; BLOCK * BLOCK]);
            loop {
                let taken = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(&(_, gap, row_block, col_block)) = pairs.get(taken) else {
                    break;
                };
                let (row_block, col_block) = (row_block as usize, col_block as usize);
                let limit = f64::from(limits[row_block].get().max(limits[col_block].get()));
                let mask = layout.tile_mask(row_block, col_block, f64::from(gap), |gap, norms| {
                    prepared.value_floor(gap, norms, error) <= limit
                });
                if mask != 0 {
                    let tile = (row_block, col_block, mask);
                    let buffers = (&mut *values, &mut *lower, &mut *upper);
                    offer_block_pair(packed, n, tile, buffers, &lock, &limits);
                }
            }
        });

    // Finished in scan order, so that the rows of neighbouring points, which share most
    // candidates, are read one after another.
    let order = &layout.order;
    let finished: Vec<(Vec<u32>, Vec<f32>)> = lists
        .into_par_iter()
        .enumerate()
        .map(|(block, lists)| {
            let lists = lists.into_inner().unwrap_or_else(PoisonError::into_inner);
            let mut indices = vec![0u32; lists.len() * k];
            let mut distances = vec![0f32; lists.len() * k];
            for (r, ((list, indices), distances)) in lists
                .into_iter()
                .zip(indices.chunks_exact_mut(k))
                .zip(distances.chunks_exact_mut(k))
                .enumerate()
            {
                let i = order[block * BLOCK + r] as usize;
                list.finish(prepared, order, i, indices, distances);
            }
            (indices, distances)
        })
        .collect();
    for (block, (block_indices, block_distances)) in finished.iter().enumerate() {
        for (r, (found, measured)) in block_indices
            .chunks_exact(k)
            .zip(block_distances.chunks_exact(k))
            .enumerate()
        {
            let i = order[block * BLOCK + r] as usize;
            indices[i * k..(i + 1) * k].copy_from_slice(found);
            distances[i * k..(i + 1) * k].copy_from_slice(measured);
        }
    }
    Neighbours {
        k,
        indices,
        distances,
    }
}

/// Computes the sub-tiles `mask` of blocks `row_block` and `col_block` and offers their
/// values to both blocks' shortlists (once, on the diagonal).
fn offer_block_pair<'a>(
    packed: &Packed,
    n: usize,
    (row_block, col_block, mask): (usize, usize, u16),
    (values, lower, upper): (
        &mut [f32; BLOCK * BLOCK],
        &mut [f32; BLOCK * BLOCK],
        &mut [f32; BLOCK * BLOCK],
    ),
    lock: &impl Fn(usize) -> std::sync::MutexGuard<'a, Vec<Shortlist>>,
    limits: &[BlockLimit],
) {
    packed.block_values(row_block, packed, col_block, mask, values);
    let row_norms = packed.block_norms(row_block);
    let col_norms = packed.block_norms(col_block);
    for (((row, low_row), high_row), &norm_i) in values
        .chunks_exact(BLOCK)
        .zip(lower.chunks_exact_mut(BLOCK))
        .zip(upper.chunks_exact_mut(BLOCK))
        .zip(row_norms)
    {
        for (((&value, &norm_j), low), high) in row.iter().zip(col_norms).zip(low_row).zip(high_row)
        {
            let slack = packed.slack(norm_i, norm_j, value);
            // A NaN (an overflowing value) could be anything; a skipped sub-tile's infinity
            // is nothing.
            let (low_value, high_value) = if value.is_nan() {
                (f32::NEG_INFINITY, f32::INFINITY)
            } else if value == f32::INFINITY {
                (f32::INFINITY, f32::INFINITY)
            } else {
                (value - slack, value + slack)
            };
            *low = low_value;
            *high = high_value;
        }
    }
    let diagonal = col_block == row_block;
    if diagonal {
        // A point's own distance is 0 by definition.
        for r in 0..BLOCK {
            lower[r * BLOCK + r] = 0.0;
            upper[r * BLOCK + r] = 0.0;
        }
    }
    let rows = (n - row_block * BLOCK).min(BLOCK);
    let cols = (n - col_block * BLOCK).min(BLOCK);
    {
        let mut mine = lock(row_block);
        for (r, list) in mine.iter_mut().enumerate() {
            if mask & row_of_sub_tiles(r / SUB) == 0 {
                continue;
            }
            for c in 0..cols {
                let at = r * BLOCK + c;
                if lower[at] <= list.limit {
                    list.offer((col_block * BLOCK + c) as u32, lower[at], upper[at]);
                }
            }
        }
        limits[row_block].set(&mine);
    }
    if !diagonal {
        let mut theirs = lock(col_block);
        for (c, list) in theirs.iter_mut().enumerate() {
            if mask & column_of_sub_tiles(c / SUB) == 0 {
                continue;
            }
            for r in 0..rows {
                let at = r * BLOCK + c;
                if lower[at] <= list.limit {
                    list.offer((row_block * BLOCK + r) as u32, lower[at], upper[at]);
                }
            }
        }
        limits[col_block].set(&theirs);
    }
}

/// Every pair of neighbours, once, held as the later neighbours (in scan order) of each
/// point: memory grows with the number of pairs, not with the square of the number of
/// points.
#[derive(Debug, Clone)]
pub(crate) struct NeighbourPairs {
    /// `order[p]` is the point at scan position `p`.
    order: Vec<u32>,
    parts: Vec<PairPart>,
}

/// The later neighbours (scan positions) of the consecutive scan positions from `first`.
#[derive(Debug, Clone)]
struct PairPart {
    first: usize,
    /// `later[offsets[r]..offsets[r + 1]]` are the neighbours of scan position `first + r`.
    offsets: Vec<usize>,
    later: Vec<u32>,
}

impl PairPart {
    fn new(first: usize, lists: &[Vec<u32>]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0);
        let mut later = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for list in lists {
            later.extend_from_slice(list);
            offsets.push(later.len());
        }
        PairPart {
            first,
            offsets,
            later,
        }
    }
}

impl NeighbourPairs {
    /// From each point's later neighbours (entries above its index), in index order.
    pub(crate) fn from_lists(lists: &[Vec<u32>]) -> Self {
        NeighbourPairs {
            order: (0..lists.len() as u32).collect(),
            parts: vec![PairPart::new(0, lists)],
        }
    }

    /// The number of points.
    pub(crate) fn points(&self) -> usize {
        self.order.len()
    }

    /// `order()[p]` is the point at scan position `p`.
    pub(crate) fn order(&self) -> &[u32] {
        &self.order
    }

    /// Each scan position with its later neighbours (scan positions), in scan order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (usize, &[u32])> + '_ {
        self.parts.iter().flat_map(|part| {
            part.offsets
                .windows(2)
                .enumerate()
                .map(move |(r, range)| (part.first + r, &part.later[range[0]..range[1]]))
        })
    }

    /// How many points are within the radius of each scan position, itself included.
    pub(crate) fn counts(&self) -> Vec<usize> {
        let mut counts = vec![1usize; self.points()];
        for (p, later) in self.rows() {
            counts[p] += later.len();
            for &q in later {
                counts[q as usize] += 1;
            }
        }
        counts
    }
}

/// Every pair of points with `prepared.distance(i, j) <= radius`, once, by the block scan:
/// pairs of blocks whose gap rules them out are skipped, and pairs whose computed distance
/// is within rounding of the radius are settled with [`Prepared::distance`].
pub(crate) fn radius_pairs(prepared: &Prepared, radius: f32) -> NeighbourPairs {
    let n = prepared.len();
    if n == 0 || radius.is_nan() || radius < 0.0 {
        return NeighbourPairs::from_lists(&vec![Vec::new(); n]);
    }
    let layout = Layout::new(prepared);
    let packed = &layout.packed;
    let blocks = layout.blocks();
    let error = packed.error();
    let threshold = prepared.value_of_distance(radius);
    let parts = (0..blocks)
        .into_par_iter()
        .map(|row_block| {
            let first = row_block * BLOCK;
            let rows = (n - first).min(BLOCK);
            let mut lists: Vec<Vec<u32>> = vec![Vec::new(); rows];
            let mut values = Box::new([0f32; BLOCK * BLOCK]);
            let mut maybe = [0u8; BLOCK];
            let row_norms = packed.block_norms(row_block);
            // Only the blocks on and after the diagonal: each pair once.
            for col_block in row_block..blocks {
                let gap = layout.gap(row_block, col_block);
                let mask = layout.tile_mask(row_block, col_block, gap, |gap, norms| {
                    let reach = threshold + packed.slack(norms, 0.0, threshold);
                    prepared.value_floor(gap, norms, error) <= f64::from(reach)
                });
                if mask == 0 {
                    continue;
                }
                packed.block_values(row_block, packed, col_block, mask, &mut values);
                let col_norms = packed.block_norms(col_block);
                let cols = (n - col_block * BLOCK).min(BLOCK);
                for (r, list) in lists.iter_mut().enumerate() {
                    if mask & row_of_sub_tiles(r / SUB) == 0 {
                        continue;
                    }
                    let i = layout.order[first + r] as usize;
                    let norm_i = row_norms[r];
                    let row = &values[r * BLOCK..(r + 1) * BLOCK];
                    // A branch-free pass first: which pairs may be within the radius. A NaN
                    // (an overflowing value) counts as maybe.
                    for ((flag, &value), &norm_j) in maybe.iter_mut().zip(row).zip(col_norms) {
                        let slack = packed.slack(norm_i, norm_j, threshold);
                        *flag = u8::from(value <= threshold + slack || value.is_nan());
                    }
                    let from = if col_block == row_block { r + 1 } else { 0 };
                    for (word_index, word) in maybe.chunks_exact(8).enumerate() {
                        let mut bits = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                        while bits != 0 {
                            let c = word_index * 8 + bits.trailing_zeros() as usize / 8;
                            bits &= !(0xFFu64 << (8 * (c % 8)));
                            if c < from || c >= cols {
                                continue;
                            }
                            let q = col_block * BLOCK + c;
                            let slack = packed.slack(norm_i, col_norms[c], threshold);
                            if row[c] < threshold - slack
                                || prepared.distance(i, layout.order[q] as usize) <= radius
                            {
                                list.push(q as u32);
                            }
                        }
                    }
                }
            }
            PairPart::new(first, &lists)
        })
        .collect();
    NeighbourPairs {
        order: layout.order,
        parts,
    }
}

/// For every point, the points within `radius` (distance ≤ `radius`), itself included, in
/// index order. Memory grows with the number of such pairs, not with the square of the
/// number of points.
pub fn within_radius(prepared: &Prepared, radius: f32) -> Vec<Vec<u32>> {
    let pairs = radius_pairs(prepared, radius);
    let order = pairs.order();
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); pairs.points()];
    for (p, count) in pairs.counts().into_iter().enumerate() {
        lists[order[p] as usize].reserve_exact(count);
    }
    for (p, later) in pairs.rows() {
        let i = order[p];
        lists[i as usize].push(i);
        for &q in later {
            let j = order[q as usize];
            lists[i as usize].push(j);
            lists[j as usize].push(i);
        }
    }
    lists.par_iter_mut().for_each(|list| list.sort_unstable());
    lists
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Vec<f32> {
        // Points on a line at 0, 1, 3, 6, 10.
        vec![0.0, 1.0, 3.0, 6.0, 10.0]
    }

    #[test]
    fn nearest_neighbours_start_with_the_point_itself() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let neighbours = k_nearest(&prepared, 3);
        assert_eq!(neighbours.indices(2), &[2, 1, 0]);
        assert_eq!(neighbours.distances(2), &[0.0, 2.0, 3.0]);
        assert_eq!(neighbours.indices(4), &[4, 3, 2]);
    }

    #[test]
    fn k_is_capped_at_the_number_of_points() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        assert_eq!(k_nearest(&prepared, 50).k(), 5);
    }

    #[test]
    fn the_radius_is_inclusive() {
        let data = line();
        let points = Points::new(&data, 1).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let within = within_radius(&prepared, 2.0);
        assert_eq!(within[1], vec![0, 1, 2]);
        assert_eq!(within[4], vec![4]);
    }

    #[test]
    fn cosine_ignores_length_and_puts_zero_vectors_at_one() {
        let data = [1.0, 0.0, 5.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        let points = Points::new(&data, 2).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Cosine);
        assert!(prepared.distance(0, 1).abs() < 1e-6);
        assert!((prepared.distance(0, 2) - 1.0).abs() < 1e-6);
        assert!((prepared.distance(0, 3) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn metric_names_parse_and_unknown_ones_say_what_to_use() {
        assert_eq!(
            ClusterMetric::parse("L2").unwrap(),
            ClusterMetric::Euclidean
        );
        assert_eq!(
            ClusterMetric::parse("cosine").unwrap(),
            ClusterMetric::Cosine
        );
        let error = ClusterMetric::parse("hamming").unwrap_err().to_string();
        assert!(error.contains("euclidean"), "{error}");
    }

    /// Points that test the block scans: more than two blocks, exact duplicates, a zero
    /// vector, all far from the origin when `offset` is large.
    fn awkward_points(n: usize, dim: usize, offset: f32, seed: u64) -> Vec<f32> {
        let mut rng = crate::SeededRng::new(seed);
        let mut data: Vec<f32> = (0..n * dim)
            .map(|_| offset + (rng.normal() as f32) * (1.0 + (rng.below(3) as f32)))
            .collect();
        // Duplicates of earlier rows, and a row of zeros.
        for (copy, original) in [(n - 1, 3), (n / 2, 3), (n - 2, n / 3)] {
            let row = data[original * dim..(original + 1) * dim].to_vec();
            data[copy * dim..(copy + 1) * dim].copy_from_slice(&row);
        }
        data[7 * dim..8 * dim].fill(0.0);
        data
    }

    fn brute_nearest(prepared: &Prepared, i: usize, k: usize) -> (Vec<u32>, Vec<f32>) {
        let mut all: Vec<(bool, f32, u32)> = (0..prepared.len())
            .map(|j| {
                if j == i {
                    (false, 0.0, j as u32)
                } else {
                    (true, prepared.distance(i, j), j as u32)
                }
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
        all.truncate(k);
        (
            all.iter().map(|c| c.2).collect(),
            all.iter().map(|c| c.1).collect(),
        )
    }

    #[test]
    fn k_nearest_is_exactly_the_brute_force_answer() {
        for (trial, (dim, offset)) in [(1, 0.0), (7, 0.0), (40, 0.0), (40, 1000.0), (3, -50.0)]
            .into_iter()
            .enumerate()
        {
            let n = 2 * BLOCK + 17;
            let data = awkward_points(n, dim, offset, trial as u64);
            let points = Points::new(&data, dim).unwrap();
            for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
                let prepared = Prepared::new(&points, metric);
                for k in [1, 6, 40] {
                    let neighbours = k_nearest(&prepared, k);
                    for i in 0..n {
                        let (indices, distances) = brute_nearest(&prepared, i, k);
                        assert_eq!(
                            neighbours.indices(i),
                            &indices[..],
                            "{trial} {metric:?} {k} {i}"
                        );
                        assert_eq!(
                            neighbours.distances(i),
                            &distances[..],
                            "{trial} {metric:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn within_radius_is_exactly_the_brute_force_answer_even_at_the_boundary() {
        for (trial, (dim, offset)) in [(2, 0.0), (16, 0.0), (33, 500.0)].into_iter().enumerate() {
            let n = 2 * BLOCK + 9;
            let data = awkward_points(n, dim, offset, 10 + trial as u64);
            let points = Points::new(&data, dim).unwrap();
            for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
                let prepared = Prepared::new(&points, metric);
                // Radii equal to some pair's distance, so that pairs sit exactly on the edge.
                let mut radii: Vec<f32> = (0..5).map(|p| prepared.distance(p, 100 + p)).collect();
                radii.push(0.0);
                for radius in radii {
                    let within = within_radius(&prepared, radius);
                    for (i, found) in within.iter().enumerate() {
                        let expected: Vec<u32> = (0..n)
                            .filter(|&j| j == i || prepared.distance(i, j) <= radius)
                            .map(|j| j as u32)
                            .collect();
                        assert_eq!(found, &expected, "{trial} {metric:?} {radius} {i}");
                    }
                }
            }
        }
    }

    /// Clusters far apart (so that the scans skip most pairs of blocks), interleaved in
    /// index order, with duplicates across block boundaries.
    fn clustered_points(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::SeededRng::new(seed);
        let centres: Vec<f32> = (0..6 * dim).map(|_| rng.normal() as f32 * 20.0).collect();
        let mut data = Vec::with_capacity(n * dim);
        for i in 0..n {
            let centre = &centres[(i % 6) * dim..(i % 6 + 1) * dim];
            data.extend(centre.iter().map(|c| c + rng.normal() as f32));
        }
        for (copy, original) in [(n - 1, 5), (300, 11), (301, 11)] {
            let row = data[original * dim..(original + 1) * dim].to_vec();
            data[copy * dim..(copy + 1) * dim].copy_from_slice(&row);
        }
        data
    }

    #[test]
    fn skipping_far_blocks_changes_no_answer() {
        let (n, dim) = (7 * BLOCK + 5, 10);
        let data = clustered_points(n, dim, 4);
        let points = Points::new(&data, dim).unwrap();
        for metric in [ClusterMetric::Euclidean, ClusterMetric::Cosine] {
            let prepared = Prepared::new(&points, metric);
            // k within one cluster, and beyond it (about 113 points each), where the other
            // clusters' nearest blocks must not be skipped.
            for k in [30, 150] {
                let neighbours = k_nearest(&prepared, k);
                for i in (0..n).step_by(7) {
                    let (indices, distances) = brute_nearest(&prepared, i, k);
                    assert_eq!(neighbours.indices(i), &indices[..], "{metric:?} {k} {i}");
                    assert_eq!(
                        neighbours.distances(i),
                        &distances[..],
                        "{metric:?} {k} {i}"
                    );
                }
            }
            // A radius within a cluster, and one that reaches into another (points 0 and 1
            // are in different clusters), each equal to a pair's distance.
            for radius in [prepared.distance(0, 6), prepared.distance(0, 1)] {
                let within = within_radius(&prepared, radius);
                for i in (0..n).step_by(5) {
                    let expected: Vec<u32> = (0..n)
                        .filter(|&j| j == i || prepared.distance(i, j) <= radius)
                        .map(|j| j as u32)
                        .collect();
                    assert_eq!(within[i], expected, "{metric:?} {radius} {i}");
                }
            }
        }
    }

    #[test]
    fn answers_do_not_depend_on_the_number_of_threads() {
        let (n, dim) = (5 * BLOCK + 7, 12);
        let data = clustered_points(n, dim, 8);
        let points = Points::new(&data, dim).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let radius = prepared.distance(0, 6);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let neighbours = k_nearest(&prepared, 20);
                (
                    neighbours.indices.clone(),
                    neighbours.distances.clone(),
                    within_radius(&prepared, radius),
                )
            })
        };
        let one = run(1);
        assert_eq!(run(3), one);
        assert_eq!(run(4), one);
    }

    #[test]
    fn empty_and_single_point_inputs() {
        let points = Points::new(&[], 4).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        assert_eq!(k_nearest(&prepared, 3).k(), 0);
        assert!(within_radius(&prepared, 1.0).is_empty());
        let points = Points::new(&[1.0, 2.0], 2).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Cosine);
        let neighbours = k_nearest(&prepared, 3);
        assert_eq!(
            (neighbours.indices(0), neighbours.distances(0)),
            (&[0][..], &[0.0][..])
        );
        assert_eq!(within_radius(&prepared, 0.5), vec![vec![0]]);
        // A negative radius holds only the point itself.
        assert_eq!(within_radius(&prepared, -1.0), vec![vec![0]]);
    }
}
