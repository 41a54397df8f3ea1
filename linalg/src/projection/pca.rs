//! Principal component analysis: the scores of the vectors on the top principal axes of
//! their centred cloud, as scikit-learn's `PCA(n_components).fit_transform(X)`.
//!
//! # Method
//!
//! The axes are the top eigenvectors of the scatter matrix `C = X̃ᵀX̃` (`X̃` the centred
//! rows). `C` is never formed: for 100 000 × 512 vectors it would cost `n·d²/2` multiply-adds,
//! while the few top axes need only a handful of products `C·V = X̃ᵀ(X̃·V)` with a thin block
//! `V`, each one pass over the rows. The solver is a thick-restarted block Krylov method
//! (block Lanczos with full reorthogonalisation, expanded by the residuals of the Ritz
//! vectors): every pass adds a block to an orthonormal basis `Q`, the Rayleigh–Ritz step
//! diagonalises `QᵀCQ` (Jacobi), and it stops when the residual `‖C·u − θ·u‖` of every wanted
//! Ritz pair is below [`RESIDUAL_TOLERANCE`] × the largest eigenvalue, so the axes are exact up
//! to the rounding of the `f32` products. When the basis reaches the dimension it spans the
//! whole space and the decomposition is exact whatever the spectrum.
//!
//! The passes run in parallel over fixed chunks of rows whose partial sums are added in chunk
//! order, so the result is bit-identical whatever the number of threads.
//!
//! # Sign convention
//!
//! As scikit-learn 1.7 (`svd_flip(U, Vt, u_based_decision=False)` in
//! `sklearn/decomposition/_pca.py` and `sklearn/utils/extmath.py`): each axis is turned so
//! that its coordinate of largest absolute value (the first one on a tie) is positive. The
//! scores then equal scikit-learn's up to float rounding, wherever the axes are well defined
//! (distinct eigenvalues).
//!
//! # Edge cases
//!
//! No rows give an empty result; one row, or rows that are all identical, give zeros (no
//! spread, so every score is 0; scikit-learn refuses one row). Axes beyond the rank of the
//! data (more components than rows − 1) have no variance: their scores are rounding noise
//! around 0, as scikit-learn's, which refuses `components > min(rows, dim)` outright.

use rayon::prelude::*;

use crate::distance::dot;
use crate::error::{Error, Result};
use crate::points::Points;
use crate::rng::SeededRng;

/// Rows per parallel task. Fixed (not derived from the thread count) so that the partial
/// sums, added in task order, are the same on every machine.
const ROWS_PER_TASK: usize = 2048;

/// Rows centred and accumulated in `f32` at a time before their sums go into the `f64`
/// totals (bounds the rounding of the `f32` sums).
const ROWS_PER_TILE: usize = 64;

/// Columns of the product accumulated in registers at a time (see `accumulate_outer`).
const COLUMNS_PER_STRIP: usize = 8;

/// The products with the scatter matrix are computed with `f32` arithmetic; below this
/// relative residual a Ritz pair is as good as that arithmetic allows.
const RESIDUAL_TOLERANCE: f64 = 2e-6;

/// Upper bound on the passes over the data: a safety net for pathological spectra (clusters
/// of nearly equal eigenvalues, whose individual axes are not well defined anyway).
const MAX_PASSES: usize = 200;

/// The scores of `points` on their top `components` principal axes: `len × components`
/// values, row-major, centred (each column has mean 0), largest variance first, signs as
/// scikit-learn's `svd_flip` (see the module documentation).
pub fn pca(points: &Points<'_>, components: usize) -> Result<Vec<f32>> {
    let dim = points.dim();
    if components == 0 {
        return Err(Error::InvalidArgument(
            "PCA needs at least one component; ask for 1 or more (2 for a map)".into(),
        ));
    }
    if components > dim {
        return Err(Error::InvalidArgument(format!(
            "PCA was asked for {components} components but the vectors have only {dim} \
             dimensions; ask for at most {dim}"
        )));
    }
    let n = points.len();
    if n <= 1 {
        return Ok(vec![0.0; n * components]);
    }
    let mean = column_means(points);
    let axes = principal_axes(points, &mean, components);
    Ok(scores(points, &mean, &axes))
}

/// The mean of every column, computed in `f64` and rounded to `f32` (so that rows that are
/// all equal centre to exact zeros: their `f64` sum is exact).
fn column_means(points: &Points<'_>) -> Vec<f32> {
    let dim = points.dim();
    let partials: Vec<Vec<f64>> = points
        .data()
        .par_chunks(ROWS_PER_TASK * dim)
        .map(|chunk| {
            let mut sums = vec![0f64; dim];
            for row in chunk.chunks_exact(dim) {
                for (sum, &value) in sums.iter_mut().zip(row) {
                    *sum += value as f64;
                }
            }
            sums
        })
        .collect();
    let mut totals = vec![0f64; dim];
    for partial in &partials {
        for (total, value) in totals.iter_mut().zip(partial) {
            *total += value;
        }
    }
    let n = points.len() as f64;
    totals.iter().map(|&total| (total / n) as f32).collect()
}

/// `X̃ᵀ(X̃·v)` for every `v` in `block` (each `dim` long): one pass over the rows.
fn scatter_times(points: &Points<'_>, mean: &[f32], block: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let dim = points.dim();
    let width = block.len();
    // The block in f32, padded with zero vectors to a multiple of 4 (the register tile).
    let padded = width.div_ceil(4) * 4;
    let mut vectors: Vec<Vec<f32>> = block
        .iter()
        .map(|v| v.iter().map(|&x| x as f32).collect())
        .collect();
    vectors.resize(padded, vec![0f32; dim]);

    let partials: Vec<Vec<f64>> = points
        .data()
        .par_chunks(ROWS_PER_TASK * dim)
        .map(|chunk| {
            let mut totals = vec![0f64; padded * dim];
            let mut centred = vec![0f32; ROWS_PER_TILE * dim];
            let mut projections = vec![0f32; ROWS_PER_TILE * padded];
            for tile in chunk.chunks(ROWS_PER_TILE * dim) {
                let rows = tile.len() / dim;
                centre_rows(tile, mean, &mut centred[..rows * dim]);
                for (r, row) in centred[..rows * dim].chunks_exact(dim).enumerate() {
                    for (j, v) in vectors.iter().enumerate() {
                        projections[r * padded + j] = dot(row, v);
                    }
                }
                accumulate_outer(
                    &centred[..rows * dim],
                    &projections[..rows * padded],
                    dim,
                    padded,
                    &mut totals,
                );
            }
            totals
        })
        .collect();

    let mut result = vec![vec![0f64; dim]; width];
    for partial in &partials {
        for (j, out) in result.iter_mut().enumerate() {
            for (o, p) in out.iter_mut().zip(&partial[j * dim..(j + 1) * dim]) {
                *o += p;
            }
        }
    }
    result
}

/// Writes `row − mean` for every row of `tile` into `out`.
fn centre_rows(tile: &[f32], mean: &[f32], out: &mut [f32]) {
    let dim = mean.len();
    for (row, centred) in tile.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        for ((c, &x), &m) in centred.iter_mut().zip(row).zip(mean) {
            *c = x - m;
        }
    }
}

/// `totals[j] += Σ_r projections[r][j] · rows[r]` for every `j < width` (`width` a multiple
/// of 4): the `Xᵀ·Z` half of a pass. A strip of 8 columns of 4 outputs is kept in
/// registers while the rows stream past (16 columns would not fit in the 16 vector
/// registers of the baseline x86-64 target and spill); the `f32` strip sums go into the
/// `f64` totals.
fn accumulate_outer(
    rows: &[f32],
    projections: &[f32],
    dim: usize,
    width: usize,
    totals: &mut [f64],
) {
    let strips = dim / COLUMNS_PER_STRIP;
    for group in (0..width).step_by(4) {
        for strip in 0..strips {
            let start = strip * COLUMNS_PER_STRIP;
            let mut sums = [[0f32; COLUMNS_PER_STRIP]; 4];
            for (row, z) in rows.chunks_exact(dim).zip(projections.chunks_exact(width)) {
                let x: &[f32; COLUMNS_PER_STRIP] = row[start..start + COLUMNS_PER_STRIP]
                    .try_into()
                    .expect("a strip is COLUMNS_PER_STRIP wide");
                for (g, sum) in sums.iter_mut().enumerate() {
                    let weight = z[group + g];
                    for (s, &value) in sum.iter_mut().zip(x) {
                        *s += weight * value;
                    }
                }
            }
            for (g, sum) in sums.iter().enumerate() {
                let out = &mut totals[(group + g) * dim + start..][..COLUMNS_PER_STRIP];
                for (o, &s) in out.iter_mut().zip(sum) {
                    *o += s as f64;
                }
            }
        }
        // The columns that do not fill a strip.
        for column in strips * COLUMNS_PER_STRIP..dim {
            for g in 0..4 {
                let mut sum = 0f32;
                for (row, z) in rows.chunks_exact(dim).zip(projections.chunks_exact(width)) {
                    sum += z[group + g] * row[column];
                }
                totals[(group + g) * dim + column] += sum as f64;
            }
        }
    }
}

/// The scores `X̃·axes`, row-major.
fn scores(points: &Points<'_>, mean: &[f32], axes: &[Vec<f64>]) -> Vec<f32> {
    let dim = points.dim();
    let components = axes.len();
    let axes: Vec<Vec<f32>> = axes
        .iter()
        .map(|axis| axis.iter().map(|&x| x as f32).collect())
        .collect();
    let mut out = vec![0f32; points.len() * components];
    out.par_chunks_mut(components)
        .zip(points.data().par_chunks_exact(dim))
        .for_each_init(
            || vec![0f32; dim],
            |centred, (scores, row)| {
                centre_rows(row, mean, centred);
                for (score, axis) in scores.iter_mut().zip(&axes) {
                    *score = dot(centred, axis);
                }
            },
        );
    out
}

/// The top `components` eigenvectors of the scatter matrix, unit length, sign-normalised as
/// scikit-learn's `svd_flip`.
fn principal_axes(points: &Points<'_>, mean: &[f32], components: usize) -> Vec<Vec<f64>> {
    let dim = points.dim();
    let block_width = (components + 2).min(dim);
    // The basis stays small: restarting keeps the best Ritz vectors and the products with them.
    let max_basis = dim.min((8 * block_width).max(48));
    let keep_on_restart = (2 * block_width).min(max_basis - block_width);

    let mut rng = SeededRng::new(0x5EED_0F9C);
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut images: Vec<Vec<f64>> = Vec::new();
    let mut block: Vec<Vec<f64>> = Vec::new();
    extend_block(&mut block, &basis, block_width, dim, &mut rng);

    let mut ritz = RitzPairs::default();
    for _pass in 0..MAX_PASSES {
        let products = scatter_times(points, mean, &block);
        basis.append(&mut block);
        images.extend(products);
        ritz = rayleigh_ritz(&basis, &images);
        let largest = ritz.values[0].max(0.0);
        let residuals: Vec<Vec<f64>> = (0..block_width.min(ritz.values.len()))
            .map(|i| ritz.residual(&basis, &images, i))
            .collect();
        let converged = largest == 0.0
            || residuals[..components]
                .iter()
                .all(|r| norm(r) <= RESIDUAL_TOLERANCE * largest);
        if converged || basis.len() == dim {
            break;
        }
        if max_basis < dim && basis.len() + block_width > max_basis {
            // Thick restart: the best Ritz vectors and their images span what matters so far.
            let kept = keep_on_restart.min(basis.len());
            let new_basis: Vec<Vec<f64>> = (0..kept).map(|i| ritz.vector(&basis, i)).collect();
            let new_images: Vec<Vec<f64>> = (0..kept).map(|i| ritz.vector(&images, i)).collect();
            basis = new_basis;
            images = new_images;
        }
        // The next block: the residuals, which extend the Krylov space (for block Lanczos
        // they span the same space as the next block of products).
        let room = (dim - basis.len()).min(block_width);
        for residual in residuals.into_iter().take(room) {
            if let Some(v) = orthonormalised(residual, &basis, &block) {
                block.push(v);
            }
        }
        extend_block(&mut block, &basis, room, dim, &mut rng);
        if block.is_empty() {
            break;
        }
    }

    (0..components)
        .map(|i| {
            let mut axis = if i < ritz.values.len() {
                ritz.vector(&basis, i)
            } else {
                vec![0f64; dim]
            };
            flip_sign(&mut axis);
            axis
        })
        .collect()
}

/// Turns `axis` so that its coordinate of largest absolute value (the first on a tie) is
/// positive: scikit-learn's `svd_flip(u_based_decision=False)`.
fn flip_sign(axis: &mut [f64]) {
    let mut largest = 0;
    for (i, value) in axis.iter().enumerate() {
        if value.abs() > axis[largest].abs() {
            largest = i;
        }
    }
    if axis.get(largest).is_some_and(|&v| v < 0.0) {
        axis.iter_mut().for_each(|v| *v = -*v);
    }
}

/// Fills `block` up to `width` vectors with random ones orthonormal to `basis` and to the
/// block (as long as the space has room).
fn extend_block(
    block: &mut Vec<Vec<f64>>,
    basis: &[Vec<f64>],
    width: usize,
    dim: usize,
    rng: &mut SeededRng,
) {
    let mut attempts = 0;
    while block.len() < width && basis.len() + block.len() < dim && attempts < 4 * width + 8 {
        attempts += 1;
        let candidate: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
        if let Some(v) = orthonormalised(candidate, basis, block) {
            block.push(v);
        }
    }
}

/// `v` made orthogonal to every vector of `basis` and `block` (Gram–Schmidt twice, which is
/// enough in floating point) and of unit length; `None` if nothing of it is left.
fn orthonormalised(mut v: Vec<f64>, basis: &[Vec<f64>], block: &[Vec<f64>]) -> Option<Vec<f64>> {
    let before = norm(&v);
    if before == 0.0 {
        return None;
    }
    for _ in 0..2 {
        for q in basis.iter().chain(block) {
            let c = dot64(&v, q);
            v.iter_mut().zip(q).for_each(|(x, &y)| *x -= c * y);
        }
    }
    let after = norm(&v);
    if after <= 1e-10 * before {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= after);
    Some(v)
}

/// The Ritz pairs of the scatter matrix in a basis: values in descending order, and the
/// coordinates of the vectors in the basis.
#[derive(Debug, Default)]
struct RitzPairs {
    values: Vec<f64>,
    /// Column `i` (`coordinates[j * m + i]`) holds the coordinates of Ritz vector `i`.
    coordinates: Vec<f64>,
    m: usize,
}

impl RitzPairs {
    /// `Σ_j coordinates[j][i] · vectors[j]`: Ritz vector `i` (from the basis) or its image
    /// (from the images).
    fn vector(&self, vectors: &[Vec<f64>], i: usize) -> Vec<f64> {
        let mut out = vec![0f64; vectors[0].len()];
        for (j, v) in vectors.iter().enumerate() {
            let c = self.coordinates[j * self.m + i];
            out.iter_mut().zip(v).for_each(|(o, &x)| *o += c * x);
        }
        out
    }

    /// `C·u − θ·u` for Ritz pair `i`.
    fn residual(&self, basis: &[Vec<f64>], images: &[Vec<f64>], i: usize) -> Vec<f64> {
        let u = self.vector(basis, i);
        let mut r = self.vector(images, i);
        r.iter_mut()
            .zip(&u)
            .for_each(|(x, &y)| *x -= self.values[i] * y);
        r
    }
}

/// Diagonalises `Qᵀ·C·Q` (from the basis `Q` and its images `C·Q`).
fn rayleigh_ritz(basis: &[Vec<f64>], images: &[Vec<f64>]) -> RitzPairs {
    let m = basis.len();
    let mut projected = vec![0f64; m * m];
    for i in 0..m {
        for j in i..m {
            // Symmetrise: the images carry rounding that QᵀCQ would not.
            let value = 0.5 * (dot64(&basis[i], &images[j]) + dot64(&basis[j], &images[i]));
            projected[i * m + j] = value;
            projected[j * m + i] = value;
        }
    }
    let (values, coordinates) = symmetric_eigen(projected, m);
    RitzPairs {
        values,
        coordinates,
        m,
    }
}

/// Eigenvalues (descending) and eigenvectors (column `i` of the row-major result) of the
/// symmetric `m × m` matrix `a`, by cyclic Jacobi rotations: slow for big matrices but
/// exact to rounding, and `m` stays small here.
pub(crate) fn symmetric_eigen(mut a: Vec<f64>, m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j] * a[i * m + j])
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        let mut rotated = false;
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                let app = a[p * m + p];
                let aqq = a[q * m + q];
                // Below this the rotation would not change the diagonal (Demmel & Veselić).
                if apq.abs() <= f64::EPSILON * (app * aqq).abs().sqrt() || apq == 0.0 {
                    continue;
                }
                rotated = true;
                // The rotation that zeroes a[p][q] (Golub & Van Loan, algorithm 8.4.1).
                let tau = (aqq - app) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..m {
                    let akp = a[k * m + p];
                    let akq = a[k * m + q];
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let apk = a[p * m + k];
                    let aqk = a[q * m + k];
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for k in 0..m {
                    let vkp = v[k * m + p];
                    let vkq = v[k * m + q];
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| a[j * m + j].total_cmp(&a[i * m + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| a[i * m + i]).collect();
    let mut vectors = vec![0f64; m * m];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..m {
            vectors[k * m + new] = v[k * m + old];
        }
    }
    (values, vectors)
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot64(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 rows of 4 dimensions with different spreads per column.
    #[rustfmt::skip]
    const SMALL: [f32; 40] = [
        6.37, -1.13, 0.10, 4.07,
        0.17, -2.71, -0.08, 4.69,
        0.87, -2.95, -1.31, 5.44,
        3.64, 1.42, 0.05, 4.80,
        -0.64, -5.09, 0.98, 4.45,
        -2.56, -2.41, 1.49, 5.12,
        -2.07, -3.43, 0.63, 4.92,
        -1.31, -2.46, 0.75, 5.99,
        -2.73, -3.25, -0.80, 3.79,
        -1.77, -4.05, 1.12, 4.93,
    ];

    /// `sklearn.decomposition.PCA(3).fit_transform(SMALL)` with scikit-learn 1.7.2
    /// (float32 input, the `covariance_eigh` solver, signs by `svd_flip`), as numpy prints
    /// them.
    #[rustfmt::skip]
    #[allow(clippy::excessive_precision)]
    const SMALL_SCORES: [f32; 30] = [
        6.4114251, -1.4248673, 0.3915597,
        0.1487842, -0.2112793, -0.3602671,
        0.7524394, -0.6529811, -1.3033426,
        5.0117407, 2.0922508, 0.0051935,
        -1.6727542, -1.9811723, 0.6460212,
        -2.3335690, 1.3479364, 0.8867484,
        -2.2439163, 0.1455627, 0.1293895,
        -1.2008628, 0.9059493, 0.5024313,
        -2.5936747, 0.2747808, -1.5759146,
        -2.2796125, -0.4961832, 0.6781815,
    ];

    /// Seeded Gaussian data whose columns have decreasing spreads, so that the axes are well
    /// separated.
    fn gaussian(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        (0..n * dim)
            .map(|i| {
                let column = i % dim;
                (rng.normal() * (1.0 + 10.0 / (1.0 + column as f64)) + column as f64) as f32
            })
            .collect()
    }

    /// The scores from the scatter matrix formed in `f64` and fully diagonalised.
    fn reference_scores(data: &[f32], dim: usize, components: usize) -> Vec<f64> {
        let n = data.len() / dim;
        let mut mean = vec![0f64; dim];
        for row in data.chunks_exact(dim) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f64 / n as f64;
            }
        }
        let mut scatter = vec![0f64; dim * dim];
        for row in data.chunks_exact(dim) {
            for i in 0..dim {
                for j in 0..dim {
                    scatter[i * dim + j] += (row[i] as f64 - mean[i]) * (row[j] as f64 - mean[j]);
                }
            }
        }
        let (_, vectors) = symmetric_eigen(scatter, dim);
        let mut out = vec![0f64; n * components];
        for c in 0..components {
            let mut axis: Vec<f64> = (0..dim).map(|k| vectors[k * dim + c]).collect();
            flip_sign(&mut axis);
            for (r, row) in data.chunks_exact(dim).enumerate() {
                out[r * components + c] = row
                    .iter()
                    .zip(&mean)
                    .zip(&axis)
                    .map(|((&x, m), a)| (x as f64 - m) * a)
                    .sum();
            }
        }
        out
    }

    #[test]
    fn scores_equal_scikit_learns() {
        let points = Points::new(&SMALL, 4).unwrap();
        let scores = pca(&points, 3).unwrap();
        for (i, (got, want)) in scores.iter().zip(SMALL_SCORES).enumerate() {
            assert!((got - want).abs() < 2e-5, "score {i}: {got} vs {want}");
        }
    }

    #[test]
    fn axes_converge_when_the_basis_must_restart() {
        // 120 dimensions: the Krylov basis (at most 48 vectors here) restarts before it
        // could span the space, so this checks the convergence test, not exhaustion.
        let dim = 120;
        let data = gaussian(500, dim, 11);
        let points = Points::new(&data, dim).unwrap();
        let scores = pca(&points, 3).unwrap();
        let reference = reference_scores(&data, dim, 3);
        let scale = reference.iter().fold(0f64, |m, v| m.max(v.abs()));
        for (i, (&got, want)) in scores.iter().zip(&reference).enumerate() {
            assert!(
                (got as f64 - want).abs() < 1e-4 * scale,
                "score {i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn fewer_rows_than_dimensions_and_a_large_offset_are_handled() {
        // 30 rows in 200 dimensions (rank 29), shifted far from the origin.
        let dim = 200;
        let data: Vec<f32> = gaussian(30, dim, 4).iter().map(|v| v + 1000.0).collect();
        let points = Points::new(&data, dim).unwrap();
        let scores = pca(&points, 2).unwrap();
        let reference = reference_scores(&data, dim, 2);
        let scale = reference.iter().fold(0f64, |m, v| m.max(v.abs()));
        for (i, (&got, want)) in scores.iter().zip(&reference).enumerate() {
            assert!(
                (got as f64 - want).abs() < 1e-4 * scale,
                "score {i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn columns_are_centred_and_ordered_by_variance() {
        let data = gaussian(300, 10, 5);
        let points = Points::new(&data, 10).unwrap();
        let scores = pca(&points, 4).unwrap();
        let mut variances = Vec::new();
        for c in 0..4 {
            let column: Vec<f64> = scores.chunks_exact(4).map(|r| r[c] as f64).collect();
            let mean = column.iter().sum::<f64>() / column.len() as f64;
            assert!(mean.abs() < 1e-4, "column {c} has mean {mean}");
            variances.push(column.iter().map(|x| x * x).sum::<f64>());
        }
        assert!(variances.windows(2).all(|w| w[0] >= w[1]), "{variances:?}");
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let data = gaussian(5000, 24, 2);
        let points = Points::new(&data, 24).unwrap();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| pca(&points, 2).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_eq!(one, pca(&points, 2).unwrap());
    }

    #[test]
    fn no_rows_one_row_and_identical_rows_give_empty_or_zero_scores() {
        let empty = Points::new(&[], 3).unwrap();
        assert!(pca(&empty, 2).unwrap().is_empty());
        let one = Points::new(&[1.0, 2.0, 3.0], 3).unwrap();
        assert_eq!(pca(&one, 2).unwrap(), vec![0.0, 0.0]);
        let same = [0.5f32, -2.0, 7.25].repeat(20);
        let points = Points::new(&same, 3).unwrap();
        assert_eq!(pca(&points, 3).unwrap(), vec![0.0; 60]);
    }

    #[test]
    fn components_beyond_the_rank_have_no_spread() {
        // Two rows: one axis of variance (the line through them), two without.
        let data = [0.0f32, 0.0, 0.0, 3.0, 4.0, 0.0];
        let points = Points::new(&data, 3).unwrap();
        let scores = pca(&points, 3).unwrap();
        assert!((scores[0].abs() - 2.5).abs() < 1e-6, "{scores:?}");
        assert!((scores[0] + scores[3]).abs() < 1e-6, "{scores:?}");
        for s in [scores[1], scores[2], scores[4], scores[5]] {
            assert!(s.abs() < 1e-5, "{scores:?}");
        }
    }

    #[test]
    fn too_many_or_no_components_are_refused_with_the_fix() {
        let points = Points::new(&SMALL, 4).unwrap();
        let error = pca(&points, 5).unwrap_err().to_string();
        assert!(error.contains("at most 4"), "{error}");
        let error = pca(&points, 0).unwrap_err().to_string();
        assert!(error.contains("at least one"), "{error}");
    }

    #[test]
    fn the_sign_puts_the_largest_coordinate_positive() {
        let mut axis = vec![0.1, -0.9, 0.3];
        flip_sign(&mut axis);
        assert_eq!(axis, vec![-0.1, 0.9, -0.3]);
        let mut tie = vec![0.5, -0.5];
        flip_sign(&mut tie);
        assert_eq!(tie, vec![0.5, -0.5]);
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
    fn bench_pca_100k_512() {
        let (Some(data), Some(reference)) = (
            read("/tmp/projection/blobs_100k_512.f32"),
            read("/tmp/projection/sk_pca_100k.f32"),
        ) else {
            println!("no data in /tmp/projection: skipped");
            return;
        };
        let points = Points::new(&data, 512).unwrap();
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let scores = pca(&points, 2).unwrap();
            let elapsed = start.elapsed();
            let worst = scores
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            println!(
                "PCA 100k x 512 -> 2: {elapsed:?}, largest difference from scikit-learn {worst} (scores up to {scale})"
            );
        }
    }
}
