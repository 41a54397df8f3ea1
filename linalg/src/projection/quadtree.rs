//! The Barnes–Hut quadtree of a 2-D embedding: the repulsive forces of t-SNE in
//! `O(n log n)` instead of `O(n²)`.
//!
//! Every cell of the tree summarises the points inside it by their number and centre of
//! mass. The force on a point from a cell whose width is small next to its distance
//! (`width² < θ² · distance²`, scikit-learn's test in `_QuadTree.summarize`) is computed as if
//! all its points sat at the centre of mass; nearer cells are opened, and the points of a
//! near leaf are taken one by one (exactly).
//!
//! # Layout and walk
//!
//! The points are sorted by their Morton (Z-order) code in the bounding square, so that every
//! cell holds a contiguous run of them and nearby points sit next to each other in memory.
//! The cells are stored in depth-first order with, in each, the index of the cell that follows
//! its subtree: a walk is then a forward scan that either steps into a cell (`+1`) or skips
//! it, with no stack.
//!
//! The points of a leaf (at most [`LEAF_CAPACITY`]) share one walk: the θ test is taken
//! against the distance from the cell's centre of mass to the bounding box of the group,
//! which is at most the distance to any of its points, so each point gets summaries at
//! least as accurate as its own walk would give it (scikit-learn walks once per point). The
//! list of masses the walk collects is then summed once per point, in `f32` lanes that the
//! compiler vectorises. This divides the cost of the walks by the size of the leaves and
//! makes the sums, where the time goes, several lanes wide.
//!
//! # Differences from scikit-learn's `_QuadTree`
//!
//! - The shared walk above: a slightly more accurate approximation for the same θ.
//! - Leaves hold up to [`LEAF_CAPACITY`] points instead of one, summed exactly when near
//!   (scikit-learn's leaves hold one point, or all the points within 1e-6 of it, which it then
//!   skips as duplicates of the query).
//! - A cell that contains the point is always opened (scikit-learn could summarise it for θ
//!   above 1/√2 and count the point against itself).
//! - The root is the bounding square of the points (scikit-learn widens the upper bound by at
//!   least 1e-3 in absolute terms, ten times the spread of the initial embedding).
//! - Coincident points count in the normalisation `Z` as the t-SNE formula says
//!   (`q = 1` each); scikit-learn leaves out everything within 1e-6 of the query point.
//! - Positions and centres of mass are `f64`; the terms and per-point sums are `f32`, as in
//!   scikit-learn, and the per-point sums are added up in `f64`.
//!
//! # Determinism
//!
//! The sort key is `(code, index)`, unique, so the tree is a function of the positions only;
//! each point's sums follow the fixed order of its walk, and `Z` is added up in Morton order
//! after the parallel part, so the result does not depend on the thread count.

use rayon::prelude::*;

/// Most points in a leaf (unless the leaf is at [`MAX_DEPTH`]).
const LEAF_CAPACITY: usize = 8;

/// Levels of subdivision: the Morton code has 32 bits per axis. A cell at this depth is
/// 2⁻³² of the root wide; points closer than that share a leaf whatever their number.
const MAX_DEPTH: u32 = 32;

/// A cell of the tree.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// Centre of mass of the points inside.
    centre: [f64; 2],
    /// Squared width of the cell.
    width2: f64,
    /// Number of points inside.
    count: u32,
    /// Their first position in Morton order (they are `first..first + count`).
    first: u32,
    /// The cell after this one's subtree in depth-first order; `index + 1` for a leaf.
    next: u32,
}

/// A quadtree over 2-D points, rebuilt at every step of the optimisation.
#[derive(Debug, Default)]
pub(crate) struct QuadTree {
    cells: Vec<Cell>,
    /// `(Morton code, point index)`, sorted; kept between builds because points move little
    /// from one step to the next, which makes the next sort nearly free.
    keys: Vec<(u64, u32)>,
    /// The positions in Morton order.
    sorted: Vec<[f64; 2]>,
    /// The leaves in depth-first order (so their points follow each other in Morton order).
    leaves: Vec<u32>,
}

/// The repulsive part of the t-SNE gradient.
#[derive(Debug)]
pub(crate) struct Repulsion {
    /// For every point `i` (in the caller's order): `Σ_j q_ij² (y_i − y_j)` with
    /// `q_ij = 1 / (1 + ‖y_i − y_j‖²)`, unnormalised.
    pub forces: Vec<[f64; 2]>,
    /// `Z = Σ_{i≠j} q_ij`, the normalisation of the low-dimensional affinities.
    pub sum_q: f64,
}

impl QuadTree {
    /// An empty tree.
    pub(crate) fn new() -> Self {
        QuadTree::default()
    }

    /// Builds the tree over `positions` (finite values).
    pub(crate) fn build(&mut self, positions: &[[f64; 2]]) {
        let n = positions.len();
        self.cells.clear();
        self.sorted.clear();
        self.leaves.clear();
        if n == 0 {
            self.keys.clear();
            return;
        }
        let mut low = [f64::INFINITY; 2];
        let mut high = [f64::NEG_INFINITY; 2];
        for p in positions {
            for axis in 0..2 {
                low[axis] = low[axis].min(p[axis]);
                high[axis] = high[axis].max(p[axis]);
            }
        }
        let side = (high[0] - low[0]).max(high[1] - low[1]);
        // All points at one place: any positive side puts them all in the first cell.
        let scale = if side > 0.0 { 1.0 / side } else { 1.0 };
        let code_of = |p: &[f64; 2]| {
            let quantise = |axis: usize| {
                let unit = ((p[axis] - low[axis]) * scale).clamp(0.0, 1.0);
                (unit * 4_294_967_296.0).min(u32::MAX as f64) as u32
            };
            interleave(quantise(0), quantise(1))
        };
        if self.keys.len() == n {
            // Same points as last time: refresh the codes in the previous order.
            for key in &mut self.keys {
                key.0 = code_of(&positions[key.1 as usize]);
            }
        } else {
            self.keys = positions
                .iter()
                .enumerate()
                .map(|(i, p)| (code_of(p), i as u32))
                .collect();
        }
        self.keys.sort_unstable();
        self.sorted
            .extend(self.keys.iter().map(|&(_, i)| positions[i as usize]));
        let root_side = if side > 0.0 { side } else { 0.0 };
        self.build_cell(0, n, 0, root_side);
    }

    /// Appends the cell of points `lo..hi` (Morton order) at `depth` and its subtree;
    /// returns the sum of their positions.
    fn build_cell(&mut self, lo: usize, hi: usize, depth: u32, width: f64) -> [f64; 2] {
        let index = self.cells.len();
        self.cells.push(Cell {
            centre: [0.0; 2],
            width2: width * width,
            count: (hi - lo) as u32,
            first: lo as u32,
            next: 0,
        });
        let mut sum = [0f64; 2];
        if hi - lo <= LEAF_CAPACITY || depth == MAX_DEPTH {
            self.leaves.push(index as u32);
            for p in &self.sorted[lo..hi] {
                sum[0] += p[0];
                sum[1] += p[1];
            }
        } else {
            // The two bits of this level select the quadrant; within the cell the codes share
            // their higher bits, so the quadrants are consecutive runs.
            let shift = 62 - 2 * depth;
            let mut start = lo;
            for quadrant in 0..4u64 {
                let end = start
                    + self.keys[start..hi]
                        .partition_point(|&(code, _)| (code >> shift) & 3 <= quadrant);
                if end > start {
                    let child = self.build_cell(start, end, depth + 1, width * 0.5);
                    sum[0] += child[0];
                    sum[1] += child[1];
                }
                start = end;
            }
        }
        let count = (hi - lo) as f64;
        let next = self.cells.len() as u32;
        let cell = &mut self.cells[index];
        cell.centre = [sum[0] / count, sum[1] / count];
        cell.next = next;
        sum
    }

    /// The repulsive forces on every point of the last build, with accuracy `theta`
    /// (0 = exact).
    pub(crate) fn repulsion(&self, theta: f64) -> Repulsion {
        let theta2 = theta * theta;
        // (force x, force y, Σ q) per point in Morton order: the leaves of a task hold a run
        // of consecutive points, so the tasks' results follow each other.
        let parts: Vec<Vec<[f64; 3]>> = self
            .leaves
            .par_chunks(LEAVES_PER_TASK)
            .map_init(Masses::default, |masses, leaves| {
                let mut out = Vec::new();
                for &leaf in leaves {
                    self.group_forces(&self.cells[leaf as usize], theta2, masses, &mut out);
                }
                out
            })
            .collect();
        let mut forces = vec![[0f64; 2]; self.sorted.len()];
        let mut sum_q = 0f64;
        for (&(_, index), s) in self.keys.iter().zip(parts.iter().flatten()) {
            forces[index as usize] = [s[0], s[1]];
            sum_q += s[2];
        }
        Repulsion { forces, sum_q }
    }

    /// Appends to `out` the sums `(Σ q² dx, Σ q² dy, Σ q)` of the points of `leaf`.
    ///
    /// The points of a leaf share one walk of the tree: a cell counts as far when it is far
    /// (by the θ test) from the bounding box of the group, hence from each of its points, so
    /// every point sees a summary at least as accurate as its own walk would give. Each
    /// point then sums the shared list of masses from its own position. The group's own leaf
    /// is always in the list point by point (or, at the deepest level, as one mass), so each
    /// point meets itself exactly once, at distance 0, where it adds 1 to `Σ q` and nothing
    /// to the force: that 1 is taken off.
    fn group_forces(&self, leaf: &Cell, theta2: f64, masses: &mut Masses, out: &mut Vec<[f64; 3]>) {
        let group = leaf.first as usize..(leaf.first + leaf.count) as usize;
        let mut low = [f64::INFINITY; 2];
        let mut high = [f64::NEG_INFINITY; 2];
        for p in &self.sorted[group.clone()] {
            for axis in 0..2 {
                low[axis] = low[axis].min(p[axis]);
                high[axis] = high[axis].max(p[axis]);
            }
        }
        // Offsets are taken from the centre of the box, in f32.
        let anchor = [(low[0] + high[0]) * 0.5, (low[1] + high[1]) * 0.5];
        masses.clear();
        let mut k = 0;
        while k < self.cells.len() {
            let cell = &self.cells[k];
            let next = cell.next as usize;
            let [cx, cy] = cell.centre;
            // From the centre of mass to the nearest point of the box.
            let gx = (low[0] - cx).max(cx - high[0]).max(0.0);
            let gy = (low[1] - cy).max(cy - high[1]).max(0.0);
            let holds_group = cell.first <= leaf.first && leaf.first < cell.first + cell.count;
            if cell.width2 < theta2 * (gx * gx + gy * gy) && !holds_group {
                masses.push(cx - anchor[0], cy - anchor[1], cell.count as f64);
                k = next;
            } else if next != k + 1 {
                k += 1;
            } else {
                let first = cell.first as usize;
                let count = cell.count as usize;
                if count <= LEAF_CAPACITY {
                    for &[px, py] in &self.sorted[first..first + count] {
                        masses.push(px - anchor[0], py - anchor[1], 1.0);
                    }
                } else {
                    // Points closer than the deepest cell: one mass.
                    masses.push(cx - anchor[0], cy - anchor[1], cell.count as f64);
                }
                k = next;
            }
        }
        masses.pad();
        for &[x, y] in &self.sorted[group] {
            let [fx, fy, z] = masses.sum_from((x - anchor[0]) as f32, (y - anchor[1]) as f32);
            out.push([fx, fy, z - 1.0]);
        }
    }
}

/// Leaves per parallel task of the force computation.
const LEAVES_PER_TASK: usize = 32;

/// Lanes of the interaction sums: independent `f32` accumulators that the compiler turns into
/// vector registers (the divisions dominate, and a vector divides several lanes at once).
const LANES: usize = 8;

/// The masses acting on a group of points, in traversal order: positions relative to the
/// group's anchor, and weights, each in its own array so that the sums load whole vectors.
#[derive(Debug, Default)]
struct Masses {
    x: Vec<f32>,
    y: Vec<f32>,
    weight: Vec<f32>,
}

impl Masses {
    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.weight.clear();
    }

    #[inline]
    fn push(&mut self, x: f64, y: f64, weight: f64) {
        self.x.push(x as f32);
        self.y.push(y as f32);
        self.weight.push(weight as f32);
    }

    /// Fills the last batch of [`LANES`] with weightless masses.
    fn pad(&mut self) {
        while !self.x.len().is_multiple_of(LANES) {
            self.push(0.0, 0.0, 0.0);
        }
    }

    /// `(Σ w q² dx, Σ w q² dy, Σ w q)` for a point at `(x, y)` (relative to the anchor), with
    /// `(dx, dy)` its offset from each mass and `q = 1 / (1 + dx² + dy²)`; summed in
    /// [`LANES`] independent lanes (a fixed order), then across them.
    fn sum_from(&self, x: f32, y: f32) -> [f64; 3] {
        let mut fx = [0f32; LANES];
        let mut fy = [0f32; LANES];
        let mut z = [0f32; LANES];
        let (xs, _) = self.x.as_chunks::<LANES>();
        let (ys, _) = self.y.as_chunks::<LANES>();
        let (weights, _) = self.weight.as_chunks::<LANES>();
        for ((mx, my), weight) in xs.iter().zip(ys).zip(weights) {
            for lane in 0..LANES {
                let (dx, dy) = (x - mx[lane], y - my[lane]);
                let q = 1.0 / (1.0 + dx * dx + dy * dy);
                let wq = weight[lane] * q;
                z[lane] += wq;
                fx[lane] += wq * q * dx;
                fy[lane] += wq * q * dy;
            }
        }
        let total = |lanes: &[f32; LANES]| lanes.iter().map(|&v| v as f64).sum::<f64>();
        [total(&fx), total(&fy), total(&z)]
    }
}

/// The Morton code of `(x, y)`: their bits interleaved, `y`'s in the odd positions.
fn interleave(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x) | (spread(y) << 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    /// The forces summed over every pair.
    fn exact(positions: &[[f64; 2]]) -> Repulsion {
        let mut forces = vec![[0f64; 2]; positions.len()];
        let mut sum_q = 0.0;
        for (i, a) in positions.iter().enumerate() {
            for (j, b) in positions.iter().enumerate() {
                if i != j {
                    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
                    let q = 1.0 / (1.0 + dx * dx + dy * dy);
                    sum_q += q;
                    forces[i][0] += q * q * dx;
                    forces[i][1] += q * q * dy;
                }
            }
        }
        Repulsion { forces, sum_q }
    }

    fn scattered(n: usize, seed: u64) -> Vec<[f64; 2]> {
        let mut rng = SeededRng::new(seed);
        (0..n)
            .map(|i| {
                let centre = (i % 3) as f64 * 4.0;
                [centre + rng.normal(), rng.normal() * 2.0]
            })
            .collect()
    }

    #[test]
    fn theta_zero_is_exact() {
        let positions = scattered(300, 1);
        let mut tree = QuadTree::new();
        tree.build(&positions);
        let got = tree.repulsion(0.0);
        let want = exact(&positions);
        // Exact up to the f32 arithmetic of the sums.
        assert!((got.sum_q - want.sum_q).abs() < 1e-6 * want.sum_q);
        let largest = want
            .forces
            .iter()
            .fold(0f64, |m, f| m.max(f[0].abs()).max(f[1].abs()));
        for (g, w) in got.forces.iter().zip(&want.forces) {
            assert!((g[0] - w[0]).abs() < 1e-5 * largest && (g[1] - w[1]).abs() < 1e-5 * largest);
        }
    }

    #[test]
    fn the_approximation_is_close() {
        let positions = scattered(2000, 2);
        let mut tree = QuadTree::new();
        tree.build(&positions);
        let got = tree.repulsion(0.5);
        let want = exact(&positions);
        assert!((got.sum_q - want.sum_q).abs() < 1e-2 * want.sum_q);
        let (mut error, mut total) = (0.0, 0.0);
        for (g, w) in got.forces.iter().zip(&want.forces) {
            error += (g[0] - w[0]).powi(2) + (g[1] - w[1]).powi(2);
            total += w[0].powi(2) + w[1].powi(2);
        }
        assert!(
            (error / total).sqrt() < 0.02,
            "relative error {}",
            (error / total).sqrt()
        );
    }

    #[test]
    fn coincident_points_are_finite_and_push_nothing() {
        let positions = vec![[1.5, -2.0]; 50];
        let mut tree = QuadTree::new();
        tree.build(&positions);
        let got = tree.repulsion(0.5);
        assert_eq!(got.sum_q, 50.0 * 49.0);
        assert!(got.forces.iter().all(|f| *f == [0.0, 0.0]));
    }

    #[test]
    fn rebuilding_after_a_move_gives_the_tree_of_the_new_positions() {
        let before = scattered(500, 3);
        let after: Vec<[f64; 2]> = before.iter().map(|p| [p[1], -p[0] * 0.5]).collect();
        let mut reused = QuadTree::new();
        reused.build(&before);
        reused.build(&after);
        let mut fresh = QuadTree::new();
        fresh.build(&after);
        let (a, b) = (reused.repulsion(0.5), fresh.repulsion(0.5));
        assert_eq!(a.sum_q, b.sum_q);
        assert_eq!(a.forces, b.forces);
    }

    #[test]
    fn morton_codes_interleave_y_above_x() {
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
        assert_eq!(interleave(u32::MAX, 0), 0x5555_5555_5555_5555);
    }
}
