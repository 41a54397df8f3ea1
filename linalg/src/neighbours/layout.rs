//! The order in which the scans visit the points, and the bounds that let them skip whole
//! pairs of blocks.
//!
//! Points are grouped by the nearest of a few pivots (sampled with a fixed seed), so that
//! each block of [`BLOCK`] consecutive points lies in a small region. Each block gets a
//! centre and a radius (the largest distance of its points from the centre), and by the
//! triangle inequality no point of block `a` is closer to a point of block `b` than
//! `‖centre_a − centre_b‖ − radius_a − radius_b`. Where the points form clusters, most pairs of
//! blocks lie in different clusters and are skipped whole; where they do not, nothing is
//! skipped and the grouping costs about one scan of the points against the pivots.
//!
//! The grouping changes only which pairs are computed, never an answer: a pair is skipped
//! only when its bound rules it out with room to spare for rounding.

use rayon::prelude::*;

use super::Prepared;
use super::tiles::{ALL_SUB_TILES, BLOCK, Packed, SUB, SUBS, sub_tile};
use crate::rng::SeededRng;

/// The pivots' seed: any fixed value (the answers do not depend on it, only the speed).
const PIVOT_SEED: u64 = 0x6e65_6967_6862_6f75;
/// Points per pivot, on average: two blocks. Grouping costs about 1 / (2 × this) of a full
/// scan; fewer pivots would leave regions that mix clusters (and blocks that span them).
const POINTS_PER_PIVOT: usize = 2 * BLOCK;
/// At least this many pivots.
const MIN_PIVOTS: usize = 16;
/// At most this many pivots (the grouping's cost grows with their number).
const MAX_PIVOTS: usize = 1024;

/// The points in scan order, packed for the block kernel, with the bounds of each block
/// and of each of its sub-blocks.
#[derive(Debug)]
pub(crate) struct Layout {
    /// `order[p]` is the point at scan position `p`.
    pub(crate) order: Vec<u32>,
    /// The rows in scan order.
    pub(crate) packed: Packed,
    blocks: Bounds,
    subs: Bounds,
}

/// Where the points of each group of consecutive scan positions lie.
#[derive(Debug)]
struct Bounds {
    dim: usize,
    /// Per group: its centre (in the prepared space, `dim` values).
    centres: Vec<f64>,
    /// Per group: the largest distance of its points from its centre; NaN when it has
    /// none (a group of padding).
    radii: Vec<f64>,
    /// Per group: the largest squared norm of its rows as packed (see [`Packed::slack`]).
    max_norms: Vec<f32>,
}

impl Bounds {
    /// The bounds of the groups of `size` consecutive scan positions.
    fn new(prepared: &Prepared, order: &[u32], packed: &Packed, size: usize) -> Self {
        let dim = prepared.dim;
        let groups = packed.blocks() * BLOCK / size;
        let bounds: Vec<(Vec<f64>, f64, f32)> = (0..groups)
            .into_par_iter()
            .map(|group| {
                let positions = group * size..((group + 1) * size).min(order.len());
                let rows = order.get(positions.clone()).unwrap_or(&[]);
                let mut centre = vec![0f64; dim];
                for &row in rows {
                    for (c, &v) in centre.iter_mut().zip(prepared.row(row as usize)) {
                        *c += f64::from(v);
                    }
                }
                centre.iter_mut().for_each(|c| *c /= rows.len() as f64);
                let radius = rows
                    .iter()
                    .map(|&row| {
                        let squared: f64 = centre
                            .iter()
                            .zip(prepared.row(row as usize))
                            .map(|(c, &v)| (f64::from(v) - c).powi(2))
                            .sum();
                        squared.sqrt()
                    })
                    .fold(if rows.is_empty() { f64::NAN } else { 0.0 }, f64::max);
                let max_norm = positions.map(|p| packed.norm(p)).fold(0.0, f32::max);
                (centre, radius, max_norm)
            })
            .collect();
        let mut centres = Vec::with_capacity(groups * dim);
        let mut radii = Vec::with_capacity(groups);
        let mut max_norms = Vec::with_capacity(groups);
        for (centre, radius, max_norm) in bounds {
            centres.extend(centre);
            radii.push(radius);
            max_norms.push(max_norm);
        }
        Bounds {
            dim,
            centres,
            radii,
            max_norms,
        }
    }

    /// No two points of groups `a` and `b` are closer than this (Euclidean, between the
    /// prepared vectors); NaN if either group is empty.
    fn gap(&self, a: usize, b: usize) -> f64 {
        self.separation(a, b).1
    }

    /// The distance between the centres of groups `a` and `b`, and their gap.
    fn separation(&self, a: usize, b: usize) -> (f64, f64) {
        if a == b {
            return (0.0, self.radii[a] * 0.0);
        }
        let centre = |group: usize| &self.centres[group * self.dim..(group + 1) * self.dim];
        let between: f64 = centre(a)
            .iter()
            .zip(centre(b))
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt();
        (between, (between - self.radii[a] - self.radii[b]).max(0.0))
    }
}

impl Layout {
    /// Groups and packs the rows of `prepared`.
    pub(crate) fn new(prepared: &Prepared) -> Self {
        let n = prepared.len();
        let (centre, kind) = prepared.packing();
        let order: Vec<u32> = if n <= 2 * BLOCK {
            (0..n as u32).collect()
        } else {
            pivot_order(prepared)
        };
        let packed = Packed::new(
            &prepared.data,
            prepared.dim,
            Some(&order),
            centre.as_deref(),
            kind,
        );
        let blocks = Bounds::new(prepared, &order, &packed, BLOCK);
        let subs = Bounds::new(prepared, &order, &packed, SUB);
        Layout {
            order,
            packed,
            blocks,
            subs,
        }
    }

    /// The number of blocks.
    pub(crate) fn blocks(&self) -> usize {
        self.blocks.radii.len()
    }

    /// No two points of blocks `a` and `b` are closer than this (Euclidean, between the
    /// prepared vectors).
    pub(crate) fn gap(&self, a: usize, b: usize) -> f64 {
        self.blocks.gap(a, b)
    }

    /// The distance between the centres of blocks `a` and `b`, and their gap.
    pub(crate) fn separation(&self, a: usize, b: usize) -> (f64, f64) {
        self.blocks.separation(a, b)
    }

    /// The largest squared norm, as packed, of a row of `block`.
    pub(crate) fn max_norm(&self, block: usize) -> f32 {
        self.blocks.max_norms[block]
    }

    /// The sub-tiles (see [`sub_tile`]) of blocks `a` and `b` that `keep` keeps, given the
    /// gap between their sub-blocks and the sum of the sub-blocks' largest squared norms.
    /// Nothing if `keep` rejects the blocks' own gap (`gap`, from [`Layout::gap`]); never a
    /// sub-tile of padding alone.
    pub(crate) fn tile_mask(
        &self,
        a: usize,
        b: usize,
        gap: f64,
        keep: impl Fn(f64, f32) -> bool,
    ) -> u16 {
        if !keep(gap, self.max_norm(a) + self.max_norm(b)) {
            return 0;
        }
        let mut mask = 0;
        for row_sub in 0..SUBS {
            for col_sub in 0..SUBS {
                let (x, y) = (a * SUBS + row_sub, b * SUBS + col_sub);
                let gap = self.subs.gap(x, y);
                if !gap.is_nan() && keep(gap, self.subs.max_norms[x] + self.subs.max_norms[y]) {
                    mask |= sub_tile(row_sub, col_sub);
                }
            }
        }
        mask
    }
}

/// The points grouped by their nearest pivot (pivot order, then index order).
fn pivot_order(prepared: &Prepared) -> Vec<u32> {
    let n = prepared.len();
    let (centre, kind) = prepared.packing();
    let pivot_count = (n / POINTS_PER_PIVOT).clamp(MIN_PIVOTS, MAX_PIVOTS).min(n);
    let mut rng = SeededRng::new(PIVOT_SEED);
    let mut pool: Vec<u32> = (0..n as u32).collect();
    for slot in 0..pivot_count {
        let pick = slot + rng.below(n - slot);
        pool.swap(slot, pick);
    }
    let pivots = Packed::new(
        &prepared.data,
        prepared.dim,
        Some(&pool[..pivot_count]),
        centre.as_deref(),
        kind,
    );
    let points = Packed::new(&prepared.data, prepared.dim, None, centre.as_deref(), kind);
    let nearest: Vec<u32> = (0..points.blocks())
        .into_par_iter()
        .flat_map_iter(|block| {
            let rows = (n - block * BLOCK).min(BLOCK);
            let mut best = vec![(f32::INFINITY, 0u32); rows];
            let mut values = Box::new([0f32; BLOCK * BLOCK]);
            for pivot_block in 0..pivots.blocks() {
                points.block_values(block, &pivots, pivot_block, ALL_SUB_TILES, &mut values);
                let cols = (pivot_count - pivot_block * BLOCK).min(BLOCK);
                for (best, row) in best.iter_mut().zip(values.chunks_exact(BLOCK)) {
                    for (c, &value) in row[..cols].iter().enumerate() {
                        if value < best.0 {
                            *best = (value, (pivot_block * BLOCK + c) as u32);
                        }
                    }
                }
            }
            best.into_iter().map(|(_, pivot)| pivot)
        })
        .collect();
    let rank = chain(&pivots, pivot_count);
    let mut order: Vec<u32> = (0..n as u32).collect();
    // Stable: index order within a pivot's group.
    order.sort_by_key(|&i| rank[nearest[i as usize] as usize]);
    order
}

/// Each pivot's place in a path through the pivots that always steps to the nearest one
/// not yet visited, so that the groups of neighbouring pivots (a cluster split between
/// several pivots) follow one another, and the blocks that straddle two groups stay small.
fn chain(pivots: &Packed, count: usize) -> Vec<u32> {
    let blocks = pivots.blocks();
    let mut between = vec![0f32; blocks * BLOCK * count];
    between
        .par_chunks_mut(BLOCK * count)
        .enumerate()
        .for_each(|(row_block, rows)| {
            let mut values = Box::new([0f32; BLOCK * BLOCK]);
            for col_block in 0..blocks {
                pivots.block_values(row_block, pivots, col_block, ALL_SUB_TILES, &mut values);
                let cols = (count - col_block * BLOCK).min(BLOCK);
                for (row, values) in rows.chunks_exact_mut(count).zip(values.chunks_exact(BLOCK)) {
                    row[col_block * BLOCK..col_block * BLOCK + cols]
                        .copy_from_slice(&values[..cols]);
                }
            }
        });
    let mut rank = vec![u32::MAX; count];
    let mut current = 0;
    for step in 0..count as u32 {
        rank[current] = step;
        let row = &between[current * count..(current + 1) * count];
        let next = (0..count)
            .filter(|&p| rank[p] == u32::MAX)
            .min_by(|&a, &b| row[a].total_cmp(&row[b]).then(a.cmp(&b)));
        match next {
            Some(next) => current = next,
            None => break,
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::ClusterMetric;
    use crate::points::Points;

    #[test]
    fn blocks_of_clustered_points_are_tight_and_far_apart() {
        // Four clusters far apart, interleaved in index order.
        let dim = 8;
        let n = 4 * 3 * BLOCK;
        let mut rng = SeededRng::new(3);
        let data: Vec<f32> = (0..n * dim)
            .map(|v| ((v / dim) % 4) as f32 * 100.0 + rng.normal() as f32)
            .collect();
        let points = Points::new(&data, dim).unwrap();
        let prepared = Prepared::new(&points, ClusterMetric::Euclidean);
        let layout = Layout::new(&prepared);
        let mut sorted = layout.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
        // Every gap is a true lower bound; blocks of one cluster touch, others do not.
        let mut far = 0;
        for a in 0..layout.blocks() {
            for b in 0..layout.blocks() {
                let gap = layout.gap(a, b);
                let closest = (a * BLOCK..(a + 1) * BLOCK)
                    .flat_map(|p| (b * BLOCK..(b + 1) * BLOCK).map(move |q| (p, q)))
                    .map(|(p, q)| {
                        let (i, j) = (layout.order[p] as usize, layout.order[q] as usize);
                        f64::from(prepared.distance(i, j))
                    })
                    .fold(f64::INFINITY, f64::min);
                assert!(gap <= closest + 1e-9, "{a} {b}: {gap} > {closest}");
                if gap > 50.0 {
                    far += 1;
                }
            }
        }
        // 12 blocks, 3 per cluster: 144 − 4 × 9 = 108 pairs far if no block straddled two
        // clusters; at most 3 do.
        assert!(far >= 80, "{far}");
    }
}
