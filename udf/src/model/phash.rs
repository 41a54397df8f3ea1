//! The 64-bit perceptual hash (pHash) of an image.
//!
//! As the widely used `imagehash.phash`: the image in greyscale at 32 × 32 (here by area
//! averaging), its 2-D DCT-II, the 8 × 8 lowest frequencies, and one bit per coefficient: set
//! when it is above their median. The first coefficient (row-major) is the most significant
//! bit. Near-duplicates (re-encoded, rescaled, lightly edited) differ in a few bits; unrelated
//! images in about half of them. Compare hashes with `hamming()`.

use image::RgbImage;
use image::imageops::{grayscale, thumbnail};

const SIZE: usize = 32;
const KEPT: usize = 8;

/// The pHash of `image`, its 64 bits as a signed integer (SQL `BIGINT`).
pub fn perceptual_hash(image: &RgbImage) -> i64 {
    let grey = grayscale(&thumbnail(image, SIZE as u32, SIZE as u32));
    let pixels: Vec<f64> = grey.pixels().map(|p| p.0[0] as f64).collect();
    let basis = dct_basis();
    // Rows first, then columns; only the first KEPT outputs of each are needed.
    let mut rows = vec![0f64; SIZE * KEPT];
    for y in 0..SIZE {
        for u in 0..KEPT {
            rows[y * KEPT + u] = (0..SIZE)
                .map(|x| pixels[y * SIZE + x] * basis[u * SIZE + x])
                .sum();
        }
    }
    let mut coefficients = [0f64; KEPT * KEPT];
    for v in 0..KEPT {
        for u in 0..KEPT {
            coefficients[v * KEPT + u] = (0..SIZE)
                .map(|y| rows[y * KEPT + u] * basis[v * SIZE + y])
                .sum();
        }
    }
    let mut sorted = coefficients;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[KEPT * KEPT / 2 - 1] + sorted[KEPT * KEPT / 2]) / 2.0;
    let bits = coefficients
        .iter()
        .fold(0u64, |acc, &c| (acc << 1) | u64::from(c > median));
    bits as i64
}

/// `basis[k * SIZE + n] = cos(π (2n + 1) k / 2N)`: the unscaled DCT-II (scaling does not change
/// which coefficients are above the median).
fn dct_basis() -> Vec<f64> {
    let mut basis = vec![0f64; SIZE * SIZE];
    for k in 0..SIZE {
        for n in 0..SIZE {
            basis[k * SIZE + n] =
                (std::f64::consts::PI * (2 * n + 1) as f64 * k as f64 / (2 * SIZE) as f64).cos();
        }
    }
    basis
}

/// The number of bits in which two hashes differ.
pub fn hamming_distance(a: i64, b: i64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> RgbImage {
        let path = format!(
            "{}/../../shared/fixtures/images/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        image::open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .to_rgb8()
    }

    /// `image` at half size, through a JPEG encoding at quality 70: a typical near-duplicate.
    fn degraded(image: &RgbImage) -> RgbImage {
        let half = image::imageops::resize(
            image,
            image.width() / 2,
            image.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 70)
            .encode_image(&half)
            .unwrap();
        image::load_from_memory(&bytes).unwrap().to_rgb8()
    }

    #[test]
    fn near_duplicates_hash_nearly_the_same_and_other_photos_do_not() {
        let photos = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"].map(fixture);
        let hashes: Vec<i64> = photos.iter().map(perceptual_hash).collect();
        for (photo, hash) in photos.iter().zip(&hashes) {
            let copy = hamming_distance(*hash, perceptual_hash(&degraded(photo)));
            assert!(copy <= 4, "a degraded copy differs in {copy} bits");
        }
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                let other = hamming_distance(hashes[i], hashes[j]);
                assert!(
                    other >= 16,
                    "photos {i} and {j} differ in only {other} bits"
                );
            }
        }
    }

    #[test]
    fn hamming_counts_differing_bits() {
        assert_eq!(hamming_distance(0, -1), 64);
        assert_eq!(hamming_distance(0b1011, 0b0001), 2);
    }
}
