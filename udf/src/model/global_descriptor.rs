//! The built-in image model: a classic global image descriptor that needs no weight file.
//!
//! It describes an image by three things people use to tell shots apart, each a
//! non-negative histogram, square-rooted (the Hellinger mapping, so that cosine similarity
//! compares histograms the way the Bhattacharyya coefficient does) and L2-normalised, then
//! concatenated and normalised again:
//!
//! - **colour** (108 values): a joint histogram of hue (12 bins), saturation (3) and value (3)
//!   in HSV, a colour space where distances follow how people see colour better than RGB;
//! - **colour layout** (128): for each cell of a 4 × 4 grid, a histogram over 8 coarse
//!   CIELAB colours (light/dark × the signs of a* and b*), so a studio with a blue wall on the
//!   left differs from one with it on the right;
//! - **edges** (40): histograms of gradient orientation (8 directions, weighted by gradient
//!   strength) over the whole image and each quarter, which separate text graphics, faces,
//!   crowds and landscapes.
//!
//! Images are first reduced to 128 × 128 by area averaging, so the descriptor does not depend
//! on resolution or aspect ratio and costs little beyond decoding.
//!
//! What it cannot do: it knows nothing of meaning. Two different people in the same studio
//! look alike to it, the same person in two places does not, and it cannot compare images
//! with text. It finds near-duplicates, repeated graphics and visually similar shots.

use std::sync::LazyLock;

use image::RgbImage;
use image::imageops::thumbnail;

/// The vector length of the built-in descriptor.
pub const GLOBAL_DESCRIPTOR_DIM: usize = COLOUR_BINS + LAYOUT_BINS + EDGE_BINS;
const _: () = assert!(GLOBAL_DESCRIPTOR_DIM == reeldb_engine::BUILTIN_MODEL_DIM);

/// The built-in model's version, part of its identity: vectors of different versions must
/// not be compared.
pub const GLOBAL_DESCRIPTOR_VERSION: &str = "reeldb-global-descriptor-v1";

const SIDE: u32 = 128;
const HUE_BINS: usize = 12;
const SATURATION_BINS: usize = 3;
const VALUE_BINS: usize = 3;
const COLOUR_BINS: usize = HUE_BINS * SATURATION_BINS * VALUE_BINS;
const GRID: usize = 4;
const LAB_BINS: usize = 8;
const LAYOUT_BINS: usize = GRID * GRID * LAB_BINS;
const ORIENTATIONS: usize = 8;
const EDGE_BINS: usize = ORIENTATIONS * 5;
/// Gradients weaker than this (on a 0..1 lightness scale, Sobel units) are noise, not edges.
const EDGE_THRESHOLD: f32 = 0.1;

/// Computes the descriptor of `image`: `GLOBAL_DESCRIPTOR_DIM` values, L2-normalised.
pub fn global_descriptor(image: &RgbImage) -> Vec<f32> {
    let small = thumbnail(image, SIDE, SIDE);
    let side = SIDE as usize;
    let mut colour = vec![0f32; COLOUR_BINS];
    let mut layout = vec![0f32; LAYOUT_BINS];
    let mut lightness = vec![0f32; side * side];
    for (x, y, pixel) in small.enumerate_pixels() {
        let [r, g, b] = pixel.0.map(|c| c as f32 / 255.0);
        colour[hsv_bin(r, g, b)] += 1.0;
        let (l, a, bb) = srgb_to_lab(pixel.0);
        let cell = (y as usize * GRID / side) * GRID + x as usize * GRID / side;
        let lab_bin =
            usize::from(l >= 50.0) * 4 + usize::from(a >= 0.0) * 2 + usize::from(bb >= 0.0);
        layout[cell * LAB_BINS + lab_bin] += 1.0;
        lightness[y as usize * side + x as usize] = l / 100.0;
    }
    let edges = edge_histograms(&lightness, side);
    let mut descriptor = Vec::with_capacity(GLOBAL_DESCRIPTOR_DIM);
    for block in [colour, layout, edges] {
        descriptor.extend(hellinger(block));
    }
    normalise(&mut descriptor);
    descriptor
}

/// The joint HSV bin of an RGB colour (components in 0..1).
fn hsv_bin(r: f32, g: f32, b: f32) -> usize {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let hue = if delta <= f32::EPSILON {
        0.0
    } else if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    } / 6.0;
    let saturation = if max <= f32::EPSILON {
        0.0
    } else {
        delta / max
    };
    let h = ((hue * HUE_BINS as f32) as usize).min(HUE_BINS - 1);
    let s = ((saturation * SATURATION_BINS as f32) as usize).min(SATURATION_BINS - 1);
    let v = ((max * VALUE_BINS as f32) as usize).min(VALUE_BINS - 1);
    (h * SATURATION_BINS + s) * VALUE_BINS + v
}

/// Linear light of each 8-bit sRGB value: the transfer curve computed once, not three
/// `powf` per pixel.
static SRGB_TO_LINEAR: LazyLock<[f32; 256]> = LazyLock::new(|| {
    std::array::from_fn(|i| {
        let c = i as f32 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    })
});

/// 8-bit sRGB to CIELAB under D65: L* in 0..100, a* and b* roughly -100..100.
fn srgb_to_lab(rgb: [u8; 3]) -> (f32, f32, f32) {
    let [r, g, b] = rgb.map(|c| SRGB_TO_LINEAR[c as usize]);
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f32| {
        if t > 0.008_856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))
}

/// Orientation histograms of Sobel gradients: the whole image, then its four quarters.
fn edge_histograms(lightness: &[f32], side: usize) -> Vec<f32> {
    let mut histograms = vec![0f32; EDGE_BINS];
    let at = |x: usize, y: usize| lightness[y * side + x];
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            let magnitude = (gx * gx + gy * gy).sqrt();
            if magnitude < EDGE_THRESHOLD {
                continue;
            }
            // Orientation without sign (an edge from dark to light or back is the same edge).
            let angle = gy.atan2(gx).rem_euclid(std::f32::consts::PI);
            let bin = ((angle / std::f32::consts::PI * ORIENTATIONS as f32) as usize)
                .min(ORIENTATIONS - 1);
            let quarter = 1 + (y * 2 / side) * 2 + x * 2 / side;
            histograms[bin] += magnitude;
            histograms[quarter * ORIENTATIONS + bin] += magnitude;
        }
    }
    histograms
}

/// Square root of a histogram normalised to sum 1, which has unit L2 norm; all zeros stays
/// all zeros (an image without edges).
fn hellinger(histogram: Vec<f32>) -> Vec<f32> {
    let total: f32 = histogram.iter().sum();
    if total <= 0.0 {
        return histogram;
    }
    histogram.into_iter().map(|v| (v / total).sqrt()).collect()
}

fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn the_descriptor_is_unit_length_and_ignores_resolution() {
        let image = RgbImage::from_fn(320, 180, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let large = global_descriptor(&image);
        assert_eq!(large.len(), GLOBAL_DESCRIPTOR_DIM);
        let norm: f32 = large.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        let half = image::imageops::resize(&image, 160, 90, image::imageops::FilterType::Triangle);
        assert!(cosine(&large, &global_descriptor(&half)) > 0.97);
    }

    #[test]
    fn layout_tells_mirrored_scenes_apart() {
        let left_blue = RgbImage::from_fn(200, 100, |x, _| {
            if x < 100 {
                Rgb([20, 40, 200])
            } else {
                Rgb([230, 220, 200])
            }
        });
        let right_blue = image::imageops::flip_horizontal(&left_blue);
        let same = global_descriptor(&left_blue);
        let mirrored = global_descriptor(&right_blue);
        // Same colours and edges, different places: similar, but clearly not identical.
        let similarity = cosine(&same, &mirrored);
        assert!(similarity < 0.9 && similarity > 0.4, "{similarity}");
    }

    #[test]
    fn a_flat_image_has_no_edges_and_still_a_valid_vector() {
        let grey = RgbImage::from_pixel(50, 50, Rgb([128, 128, 128]));
        let descriptor = global_descriptor(&grey);
        assert!(descriptor.iter().all(|v| v.is_finite()));
        assert!(
            descriptor[COLOUR_BINS + LAYOUT_BINS..]
                .iter()
                .all(|v| *v == 0.0)
        );
    }
}
