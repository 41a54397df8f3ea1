//! Dot products of a block of rows with another block of rows, register-blocked: a micro
//! tile of several rows by several rows is summed at once, so each value loaded from memory
//! feeds several multiply-adds (as a matrix product does), instead of the two loads per
//! multiply-add of one dot product at a time.
//!
//! The neighbour scans turn these products into distances with
//! ‖x − y‖² = ‖x‖² + ‖y‖² − 2 x·y (or 1 − x·y for unit vectors). That identity loses
//! precision when the points are far from the origin compared with their distance, so the
//! rows are centred first, and [`Packed::slack`] bounds what rounding can change; the scans
//! settle every pair closer than that to the threshold with the exact kernel.
//!
//! The rows are copied into a padded matrix: the dimension is rounded up to a multiple of
//! [`DIM_ALIGN`] with zeros (which add nothing to a dot product) and the row count up to a
//! multiple of [`BLOCK`] with zero rows (which the scans skip), so the kernels have no
//! remainders to handle.

// `unsafe` is needed only to call the AVX2 copy of the kernel after checking that the CPU has
// AVX2 and FMA (see `products`), as in `crate::distance`.
#![allow(unsafe_code)]

use std::ops::Range;

use rayon::prelude::*;

/// Rows per block; a multiple of every micro tile's height and width (3, 4) times `SUBS`.
pub(crate) const BLOCK: usize = 96;

/// The padded dimension is a multiple of this (a multiple of every kernel's lane count).
const DIM_ALIGN: usize = 16;

/// What [`Packed::block_values`] makes of a dot product `x·y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// ‖x‖² + ‖y‖² − 2 x·y, the squared Euclidean distance.
    SquaredDistance,
    /// 1 − x·y, the cosine distance of unit vectors.
    OneMinusProduct,
}

/// Rows laid out for the block kernel, with their squared norms.
#[derive(Debug)]
pub(crate) struct Packed {
    data: Vec<f32>,
    kind: ValueKind,
    stride: usize,
    norms: Vec<f32>,
    /// Error bounds of a value computed from the products, relative to the norms and to the
    /// value compared (see [`Packed::slack`]).
    norms_error: f32,
    scale_error: f32,
}

impl Packed {
    /// Copies the rows of `dim` values in `data` (row `order[p]` to position `p` when an
    /// order is given), minus `centre` when given.
    pub(crate) fn new(
        data: &[f32],
        dim: usize,
        order: Option<&[u32]>,
        centre: Option<&[f32]>,
        kind: ValueKind,
    ) -> Self {
        let dim = dim.max(1);
        let rows = order.map_or(data.len() / dim, <[u32]>::len);
        let stride = dim.div_ceil(DIM_ALIGN) * DIM_ALIGN;
        let padded_rows = rows.div_ceil(BLOCK) * BLOCK;
        let mut packed = vec![0f32; padded_rows * stride];
        let mut norms = vec![0f32; padded_rows];
        packed
            .par_chunks_exact_mut(stride)
            .zip(norms.par_iter_mut())
            .take(rows)
            .enumerate()
            .for_each(|(position, (target, norm))| {
                let row = order.map_or(position, |order| order[position] as usize);
                let source = &data[row * dim..(row + 1) * dim];
                match centre {
                    Some(centre) => target
                        .iter_mut()
                        .zip(source.iter().zip(centre))
                        .for_each(|(t, (s, c))| *t = s - c),
                    None => target[..dim].copy_from_slice(source),
                }
                // In f64, so that the norm adds no error of its own worth counting.
                *norm = target
                    .iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>() as f32;
            });
        // Rounding bounds (u = EPSILON / 2), to first order. A product summed in lanes of L
        // (L = 4 in the portable copy, 8 with AVX2) errs by at most (d / L + log₂ L + 1) u
        // Σ|xₖ yₖ| ≤ (d / 4 + 3) u (‖x‖² + ‖y‖²) / 2, so twice it (in ‖x‖² + ‖y‖² − 2 x·y) by
        // (d / 4 + 3) u (‖x‖² + ‖y‖²); the norms (rounded from f64) and the two additions add
        // 5 u (‖x‖² + ‖y‖²), and centring moves a squared distance by at most
        // 4 u (‖x‖² + ‖y‖²). The exact kernel the scans compare against sums 32 lanes: its
        // squared distance (or dot product) errs by (d / 32 + 7) u of the value, and its
        // square root by u more. Each bound below is twice that.
        let norms_error = (stride as f32 / 4.0 + 16.0) * f32::EPSILON;
        let scale_error = (stride as f32 / 32.0 + 16.0) * f32::EPSILON;
        Packed {
            data: packed,
            kind,
            stride,
            norms,
            norms_error,
            scale_error,
        }
    }

    /// The larger relative error bound of [`Packed::slack`].
    pub(crate) fn error(&self) -> f32 {
        self.norms_error.max(self.scale_error)
    }

    /// The number of blocks of [`BLOCK`] rows.
    pub(crate) fn blocks(&self) -> usize {
        self.norms.len() / BLOCK
    }

    /// The squared norm (as centred) of row `row`.
    pub(crate) fn norm(&self, row: usize) -> f32 {
        self.norms[row]
    }

    /// The squared norms (as centred) of the rows of block `block`.
    #[inline]
    pub(crate) fn block_norms(&self, block: usize) -> &[f32] {
        &self.norms[block * BLOCK..(block + 1) * BLOCK]
    }

    /// A bound on how far a value computed from the products of rows `i` and `j` (a
    /// squared distance, or one minus a dot product) can be from the exact kernel's result,
    /// where `scale` is the size of the value compared (the threshold, or the value itself).
    #[inline]
    pub(crate) fn slack(&self, norm_i: f32, norm_j: f32, scale: f32) -> f32 {
        self.norms_error * (norm_i + norm_j) + self.scale_error * scale.abs() + 1e-30
    }

    /// `out[r * BLOCK + c]` = the value (see [`ValueKind`]) of rows `row_block * BLOCK + r`
    /// and `col_block * BLOCK + c` (of `cols`, packed the same way: same dimension, kind and
    /// centre), for the sub-tiles in `mask` (see [`sub_tile`]); the others are set to
    /// infinity.
    pub(crate) fn block_values(
        &self,
        row_block: usize,
        cols: &Packed,
        col_block: usize,
        mask: u16,
        out: &mut [f32; BLOCK * BLOCK],
    ) {
        debug_assert_eq!((self.stride, self.kind), (cols.stride, cols.kind));
        let span = BLOCK * self.stride;
        let row_data = &self.data[row_block * span..(row_block + 1) * span];
        let col_data = &cols.data[col_block * span..(col_block + 1) * span];
        let row_norms = self.block_norms(row_block);
        let col_norms = cols.block_norms(col_block);
        let compute = |rows: Range<usize>,
                       columns: Range<usize>,
                       out: &mut [f32; BLOCK * BLOCK]| {
            products(
                row_data,
                col_data,
                self.stride,
                rows.clone(),
                columns.clone(),
                out,
            );
            for r in rows {
                let row = &mut out[r * BLOCK + columns.start..r * BLOCK + columns.end];
                match self.kind {
                    ValueKind::SquaredDistance => {
                        let norm_i = row_norms[r];
                        for (value, &norm_j) in row.iter_mut().zip(&col_norms[columns.clone()]) {
                            *value = norm_i + norm_j - 2.0 * *value;
                        }
                    }
                    ValueKind::OneMinusProduct => row.iter_mut().for_each(|v| *v = 1.0 - *v),
                }
            }
        };
        for row_sub in 0..SUBS {
            let rows = row_sub * SUB..(row_sub + 1) * SUB;
            let bits = (mask >> (row_sub * SUBS)) & ROW_OF_SUB_TILES;
            if bits == ROW_OF_SUB_TILES {
                compute(rows, 0..BLOCK, out);
                continue;
            }
            for col_sub in 0..SUBS {
                let columns = col_sub * SUB..(col_sub + 1) * SUB;
                if bits & (1 << col_sub) != 0 {
                    compute(rows.clone(), columns, out);
                } else {
                    for r in rows.clone() {
                        out[r * BLOCK + columns.start..r * BLOCK + columns.end].fill(f32::INFINITY);
                    }
                }
            }
        }
    }
}

/// Rows per sub-block: a block is `SUBS` sub-blocks, and a pair of blocks `SUBS × SUBS`
/// sub-tiles, each of which the scans may skip.
pub(crate) const SUB: usize = 24;
/// Sub-blocks per block.
pub(crate) const SUBS: usize = BLOCK / SUB;
/// Every sub-tile of a pair of blocks.
pub(crate) const ALL_SUB_TILES: u16 = u16::MAX;
const _: () = assert!(SUBS == 4 && SUBS * SUB == BLOCK, "the masks are 4 × 4 bits");
/// The mask bits of one row of sub-tiles.
const ROW_OF_SUB_TILES: u16 = (1 << SUBS) - 1;
/// The mask bits of one column of sub-tiles.
const COLUMN_OF_SUB_TILES: u16 = 0x1111;

/// The mask bit of the sub-tile of row sub-block `row_sub` and column sub-block `col_sub`.
pub(crate) fn sub_tile(row_sub: usize, col_sub: usize) -> u16 {
    1 << (row_sub * SUBS + col_sub)
}

/// The mask bits of the sub-tiles of row sub-block `row_sub`.
pub(crate) fn row_of_sub_tiles(row_sub: usize) -> u16 {
    ROW_OF_SUB_TILES << (row_sub * SUBS)
}

/// The mask bits of the sub-tiles of column sub-block `col_sub`.
pub(crate) fn column_of_sub_tiles(col_sub: usize) -> u16 {
    COLUMN_OF_SUB_TILES << col_sub
}

/// `out[r * BLOCK + c]` = the dot product of rows `r` of `rows` and `c` of `cols` for `r` in
/// `row_range` and `c` in `col_range` (multiples of the micro tile's sides).
fn products(
    rows: &[f32],
    cols: &[f32],
    stride: usize,
    row_range: Range<usize>,
    col_range: Range<usize>,
    out: &mut [f32; BLOCK * BLOCK],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, the only requirements of this copy.
            unsafe { products_avx2(rows, cols, stride, row_range, col_range, out) };
            return;
        }
    }
    micro_tiles::<4, 3, 4, false>(rows, cols, stride, row_range, col_range, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn products_avx2(
    rows: &[f32],
    cols: &[f32],
    stride: usize,
    row_range: Range<usize>,
    col_range: Range<usize>,
    out: &mut [f32; BLOCK * BLOCK],
) {
    // 3 × 4 accumulators of 8 lanes: 12 of the 16 registers, 3 for the rows. Measured on
    // Zen 4 (which has AVX-512): this shape reached about 44 G multiply-adds per second per
    // core, other shapes 7 to 38, and AVX-512 copies of it (whose 512-bit operations Zen 4
    // splits in two anyway) no more than 38, so there is no AVX-512 copy.
    micro_tiles::<8, 3, 4, true>(rows, cols, stride, row_range, col_range, out);
}

/// The block product with micro tiles of `R` rows by `C` columns, summing `L` lanes at a
/// time; `FMA` fuses each multiply-add (only where the CPU has the instruction).
#[inline(always)]
fn micro_tiles<const L: usize, const R: usize, const C: usize, const FMA: bool>(
    rows: &[f32],
    cols: &[f32],
    stride: usize,
    row_range: Range<usize>,
    col_range: Range<usize>,
    out: &mut [f32; BLOCK * BLOCK],
) {
    for r0 in row_range.step_by(R) {
        let row: [&[[f32; L]]; R] = std::array::from_fn(|r| {
            let start = (r0 + r) * stride;
            rows[start..start + stride].as_chunks::<L>().0
        });
        let steps = stride / L;
        for c0 in col_range.clone().step_by(C) {
            let col: [&[[f32; L]]; C] = std::array::from_fn(|c| {
                let start = (c0 + c) * stride;
                cols[start..start + stride].as_chunks::<L>().0
            });
            // Equal lengths let the compiler drop the bounds checks in the loop.
            let row = row.map(|r| &r[..steps]);
            let col = col.map(|c| &c[..steps]);
            let mut acc = [[[0f32; L]; C]; R];
            for k in 0..steps {
                let x: [[f32; L]; R] = std::array::from_fn(|r| row[r][k]);
                for c in 0..C {
                    let y = col[c][k];
                    for r in 0..R {
                        for l in 0..L {
                            acc[r][c][l] = if FMA {
                                x[r][l].mul_add(y[l], acc[r][c][l])
                            } else {
                                acc[r][c][l] + x[r][l] * y[l]
                            };
                        }
                    }
                }
            }
            for r in 0..R {
                for c in 0..C {
                    out[(r0 + r) * BLOCK + c0 + c] = horizontal_sum(&acc[r][c]);
                }
            }
        }
    }
}

/// The sum of the lanes, halving pairwise (a fixed order).
#[inline(always)]
fn horizontal_sum<const L: usize>(lanes: &[f32; L]) -> f32 {
    let mut values = *lanes;
    let mut width = L;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            values[l] += values[l + width];
        }
    }
    values[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_products_match_dot_products_with_padding_and_centring() {
        let dim = 37;
        let n = BLOCK + 5;
        let data: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919) % 101) as f32 / 10.0 - 5.0)
            .collect();
        let centre: Vec<f32> = (0..dim).map(|i| i as f32 / 7.0).collect();
        let packed = Packed::new(&data, dim, None, Some(&centre), ValueKind::SquaredDistance);
        assert_eq!(packed.blocks(), 2);
        let mut out = Box::new([0f32; BLOCK * BLOCK]);
        let span = BLOCK * packed.stride;
        let blocks = |b: usize| &packed.data[b * span..(b + 1) * span];
        products(
            blocks(1),
            blocks(0),
            packed.stride,
            0..BLOCK,
            0..BLOCK,
            &mut out,
        );
        for r in 0..5 {
            for c in 0..BLOCK {
                let (i, j) = (BLOCK + r, c);
                let expected: f64 = (0..dim)
                    .map(|k| {
                        f64::from(data[i * dim + k] - centre[k])
                            * f64::from(data[j * dim + k] - centre[k])
                    })
                    .sum();
                let got = f64::from(out[r * BLOCK + c]);
                assert!(
                    (got - expected).abs() < 1e-3,
                    "{i} {j}: {got} vs {expected}"
                );
            }
        }
        // Padding rows are zero.
        assert_eq!(out[10 * BLOCK + 3], 0.0);
        assert_eq!(packed.block_norms(1)[6], 0.0);
        // Values: squared distances from the centred norms.
        let mut values = Box::new([0f32; BLOCK * BLOCK]);
        packed.block_values(1, &packed, 0, ALL_SUB_TILES, &mut values);
        let expected: f32 = (0..dim)
            .map(|k| (data[BLOCK * dim + k] - data[3 * dim + k]).powi(2))
            .sum();
        assert!(
            (values[3] - expected).abs() < 1e-2 * expected,
            "{} {expected}",
            values[3]
        );
    }

    #[test]
    fn every_kernel_copy_gives_the_same_products_up_to_rounding() {
        let dim = 64;
        let data: Vec<f32> = (0..BLOCK * dim)
            .map(|i| ((i * 31) % 17) as f32 - 8.0)
            .collect();
        let packed = Packed::new(&data, dim, None, None, ValueKind::OneMinusProduct);
        let mut dispatched = Box::new([0f32; BLOCK * BLOCK]);
        let data = &packed.data;
        products(
            data,
            data,
            packed.stride,
            0..BLOCK,
            0..BLOCK,
            &mut dispatched,
        );
        let mut portable = Box::new([0f32; BLOCK * BLOCK]);
        micro_tiles::<4, 3, 4, false>(data, data, packed.stride, 0..BLOCK, 0..BLOCK, &mut portable);
        // Small integers: every copy is exact.
        assert_eq!(dispatched[..], portable[..]);
    }

    #[test]
    fn skipped_sub_tiles_are_infinite_and_the_others_unchanged() {
        let dim = 20;
        let data: Vec<f32> = (0..2 * BLOCK * dim)
            .map(|i| ((i * 13) % 7) as f32)
            .collect();
        let packed = Packed::new(&data, dim, None, None, ValueKind::SquaredDistance);
        let mut full = Box::new([0f32; BLOCK * BLOCK]);
        packed.block_values(0, &packed, 1, ALL_SUB_TILES, &mut full);
        let mask =
            sub_tile(0, 1) | sub_tile(2, 0) | sub_tile(2, 1) | sub_tile(2, 2) | sub_tile(2, 3);
        let mut some = Box::new([0f32; BLOCK * BLOCK]);
        packed.block_values(0, &packed, 1, mask, &mut some);
        for r in 0..BLOCK {
            for c in 0..BLOCK {
                let at = r * BLOCK + c;
                if mask & sub_tile(r / SUB, c / SUB) != 0 {
                    assert_eq!(some[at], full[at], "{r} {c}");
                } else {
                    assert_eq!(some[at], f32::INFINITY, "{r} {c}");
                }
            }
        }
    }
}
