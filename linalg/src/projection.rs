//! Projections of vectors to two dimensions for maps: PCA and t-SNE, and the
//! trustworthiness measure that says how well a map keeps neighbours. Pure computation over
//! [`Points`](crate::Points).

pub mod pca;
mod quadtree;
pub mod trustworthiness;
pub mod tsne;

/// A raw little-endian `f32` file, for the `#[ignore]`d benchmarks; `None` when it is missing.
#[cfg(test)]
fn read_f32_file(path: &str) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
    )
}
