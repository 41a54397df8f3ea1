//! Colours: one per category (matplotlib's tab10, then tab20's lighter shades, then evenly
//! spaced hues), grey for noise, and the viridis scale for values.

use image::Rgb;
use plotters::style::colors::colormaps::ViridisRGB;

/// The colour of noise (label -1, or NULL): drawn first, under the clusters.
pub const NOISE: Rgb<u8> = Rgb([180, 180, 180]);

const CATEGORIES: [[u8; 3]; 20] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
    [174, 199, 232],
    [255, 187, 120],
    [152, 223, 138],
    [255, 152, 150],
    [197, 176, 213],
    [196, 156, 148],
    [247, 182, 210],
    [199, 199, 199],
    [219, 219, 141],
    [158, 218, 229],
];

/// The colour of category `index` (0-based, in the legend's order).
pub fn category(index: usize) -> Rgb<u8> {
    if let Some(rgb) = CATEGORIES.get(index) {
        return Rgb(*rgb);
    }
    // Beyond twenty, hues a golden angle apart, at one saturation and lightness.
    let hue = (index as f64 * 137.507_764) % 360.0;
    hsl(hue, 0.65, 0.45)
}

fn hsl(hue: f64, saturation: f64, lightness: f64) -> Rgb<u8> {
    let c = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let x = c * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let m = lightness - c / 2.0;
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let channel = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgb([channel(r), channel(g), channel(b)])
}

/// The viridis colour of `value` between `min` and `max` (clamped).
pub fn viridis(value: f64, min: f64, max: f64) -> Rgb<u8> {
    let t = if max > min {
        ((value - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let colour = ViridisRGB::get_color_normalized(t, 0.0, 1.0);
    Rgb([colour.0, colour.1, colour.2])
}

/// The labels of a column in legend order: numerically when every label is a whole number
/// (so 10 follows 9), else as text. Noise (-1) and NULL are not labels: they are drawn
/// grey and listed last as "noise".
pub fn label_order(labels: &[Option<String>]) -> Vec<String> {
    let mut distinct: Vec<&str> = labels
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|label| !is_noise(label))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let numeric: Option<Vec<i64>> = distinct.iter().map(|l| l.parse::<i64>().ok()).collect();
    match numeric {
        Some(mut numbers) => {
            numbers.sort_unstable();
            numbers.iter().map(i64::to_string).collect()
        }
        None => distinct.into_iter().map(str::to_string).collect(),
    }
}

/// Whether `label` is DBSCAN's and HDBSCAN's noise label.
pub fn is_noise(label: &str) -> bool {
    label.trim() == "-1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_sort_as_numbers_when_they_are_numbers() {
        let labels = ["10", "9", "-1", "0", "9"].map(|l| Some(l.to_string()));
        assert_eq!(label_order(&labels), ["0", "9", "10"]);
        let labels = [Some("b".to_string()), None, Some("a".to_string())];
        assert_eq!(label_order(&labels), ["a", "b"]);
    }

    #[test]
    fn categories_differ_and_viridis_grows_lighter() {
        let colours: Vec<Rgb<u8>> = (0..40).map(category).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let luminance =
            |c: Rgb<u8>| 0.2126 * c[0] as f64 + 0.7152 * c[1] as f64 + 0.0722 * c[2] as f64;
        let steps: Vec<f64> = (0..=10)
            .map(|i| luminance(viridis(i as f64, 0.0, 10.0)))
            .collect();
        assert!(steps.windows(2).all(|w| w[1] > w[0]), "{steps:?}");
    }
}
