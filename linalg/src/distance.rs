//! Vector metrics and the kernels that compute them.
//!
//! Every metric has a *similarity* (larger is closer) and a *distance* (smaller is closer),
//! and for every metric ordering by similarity descending is the same as ordering by
//! distance ascending. The search code ranks by distance only.
//!
//! | metric | similarity                | distance            |
//! |--------|---------------------------|---------------------|
//! | cosine | a·b / (‖a‖ ‖b‖)           | 1 − similarity      |
//! | dot    | a·b                       | −(a·b)              |
//! | l2     | 1 / (1 + ‖a − b‖₂)        | ‖a − b‖₂            |
//! | l1     | 1 / (1 + ‖a − b‖₁)        | ‖a − b‖₁            |
//!
//! Cosine is undefined when either vector is all zeros; it is then `None` (SQL NULL).
//!
//! The kernels sum into 32 independent lanes so that the compiler vectorises them, and on
//! x86-64 a copy compiled for AVX2 is chosen at run time, so a portable build still uses the
//! wide registers of the machine it runs on.

// `unsafe` is needed only to call the AVX2 copies of the kernels, after checking that the CPU
// has AVX2 (see `dispatch!`).
#![allow(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A way to compare two vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// The cosine of the angle between the vectors.
    Cosine,
    /// The inner (dot) product.
    Dot,
    /// Euclidean distance.
    L2,
    /// Manhattan distance.
    L1,
}

impl Metric {
    /// Every metric, in the order the docs list them.
    pub const ALL: [Metric; 4] = [Metric::Cosine, Metric::Dot, Metric::L2, Metric::L1];

    /// The canonical name (`cosine`, `dot`, `l2`, `l1`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::L2 => "l2",
            Metric::L1 => "l1",
        }
    }

    /// The similarity of `a` and `b` (same length), or `None` where it is undefined.
    pub fn similarity(self, a: &[f32], b: &[f32]) -> Option<f32> {
        self.distance(a, b)
            .map(|d| self.similarity_from_distance(d))
    }

    /// The distance between `a` and `b` (same length), or `None` where it is undefined.
    pub fn distance(self, a: &[f32], b: &[f32]) -> Option<f32> {
        match self {
            Metric::Cosine => cosine_distance(dot(a, b), norm(a), norm(b)),
            // `0.0 -` rather than negation, so that a zero product reads 0, not -0.
            Metric::Dot => Some(0.0 - dot(a, b)),
            Metric::L2 => Some(squared_l2(a, b).sqrt()),
            Metric::L1 => Some(l1(a, b)),
        }
    }

    /// Converts a distance of this metric into the matching similarity.
    pub fn similarity_from_distance(self, distance: f32) -> f32 {
        match self {
            Metric::Cosine => 1.0 - distance,
            Metric::Dot => 0.0 - distance,
            Metric::L2 | Metric::L1 => 1.0 / (1.0 + distance),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(Metric::Cosine),
            "dot" | "inner_product" | "ip" => Ok(Metric::Dot),
            "l2" | "euclidean" => Ok(Metric::L2),
            "l1" | "manhattan" => Ok(Metric::L1),
            _ => Err(Error::InvalidArgument(format!(
                "unknown metric '{text}': use one of cosine, dot, l2 (euclidean), l1 (manhattan)"
            ))),
        }
    }
}

/// The cosine distance from a dot product and the two norms; `None` if a norm is zero.
#[inline]
pub fn cosine_distance(dot: f32, norm_a: f32, norm_b: f32) -> Option<f32> {
    let denominator = norm_a * norm_b;
    // Rounding can push the cosine of (anti)parallel vectors just past ±1.
    (denominator > 0.0).then(|| 1.0 - (dot / denominator).clamp(-1.0, 1.0))
}

/// The Euclidean norm of `a`.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

const LANES: usize = 32;

macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident, $portable:ident, $avx2:ident, |$x:ident, $y:ident| $term:expr) => {
        #[inline(always)]
        fn $portable(a: &[f32], b: &[f32]) -> f32 {
            debug_assert_eq!(a.len(), b.len());
            let (a_chunks, a_tail) = a.as_chunks::<LANES>();
            let (b_chunks, b_tail) = b.as_chunks::<LANES>();
            let mut lanes = [0f32; LANES];
            for (xs, ys) in a_chunks.iter().zip(b_chunks) {
                for i in 0..LANES {
                    let ($x, $y) = (xs[i], ys[i]);
                    lanes[i] += $term;
                }
            }
            let mut sum: f32 = lanes.iter().sum();
            for (&$x, &$y) in a_tail.iter().zip(b_tail) {
                sum += $term;
            }
            sum
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2(a: &[f32], b: &[f32]) -> f32 {
            $portable(a, b)
        }

        $(#[$doc])*
        #[inline]
        pub fn $name(a: &[f32], b: &[f32]) -> f32 {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, the only requirement of the AVX2 copy.
                return unsafe { $avx2(a, b) };
            }
            $portable(a, b)
        }
    };
}

kernel!(
    /// The dot product of `a` and `b`, which have the same length.
    dot, dot_portable, dot_avx2, |x, y| x * y
);
kernel!(
    /// The squared Euclidean distance between `a` and `b`, which have the same length.
    squared_l2, squared_l2_portable, squared_l2_avx2, |x, y| (x - y) * (x - y)
);
kernel!(
    /// The Manhattan distance between `a` and `b`, which have the same length.
    l1, l1_portable, l1_avx2, |x, y| (x - y).abs()
);

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn kernels_agree_with_a_naive_sum_at_every_length() {
        for len in [0, 1, 3, 31, 32, 33, 100, 512, 515] {
            let a: Vec<f32> = (0..len).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
            let b: Vec<f32> = (0..len).map(|i| ((i * 5) % 11) as f32 * 0.5).collect();
            let expected_dot = naive_dot(&a, &b);
            assert!((dot(&a, &b) as f64 - expected_dot).abs() < 1e-3, "{len}");
            let expected_l2: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum();
            assert!(
                (squared_l2(&a, &b) as f64 - expected_l2).abs() < 1e-2,
                "{len}"
            );
            let expected_l1: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs() as f64).sum();
            assert!((l1(&a, &b) as f64 - expected_l1).abs() < 1e-2, "{len}");
        }
    }

    #[test]
    fn similarity_descending_is_distance_ascending() {
        let q = [1.0, 0.5, -0.25];
        let points = [
            [1.0, 0.4, -0.2],
            [0.0, 1.0, 0.0],
            [-1.0, 0.0, 2.0],
            [3.0, 1.0, 0.0],
        ];
        for metric in Metric::ALL {
            let mut by_similarity: Vec<usize> = (0..points.len()).collect();
            by_similarity.sort_by(|&i, &j| {
                let si = metric.similarity(&q, &points[i]).unwrap();
                let sj = metric.similarity(&q, &points[j]).unwrap();
                sj.total_cmp(&si)
            });
            let mut by_distance: Vec<usize> = (0..points.len()).collect();
            by_distance.sort_by(|&i, &j| {
                let di = metric.distance(&q, &points[i]).unwrap();
                let dj = metric.distance(&q, &points[j]).unwrap();
                di.total_cmp(&dj)
            });
            assert_eq!(by_similarity, by_distance, "{metric}");
        }
    }

    #[test]
    fn known_values() {
        let a = [3.0, 4.0];
        let b = [4.0, 3.0];
        assert!((Metric::Cosine.similarity(&a, &b).unwrap() - 24.0 / 25.0).abs() < 1e-6);
        assert_eq!(Metric::Dot.similarity(&a, &b), Some(24.0));
        assert!((Metric::L2.distance(&a, &b).unwrap() - 2f32.sqrt()).abs() < 1e-6);
        assert_eq!(Metric::L1.distance(&a, &b), Some(2.0));
        assert_eq!(Metric::Cosine.similarity(&a, &[0.0, 0.0]), None);
        assert_eq!(
            Metric::Cosine.similarity(&a, &a).map(|s| s.min(1.0)),
            Some(1.0)
        );
    }

    #[test]
    fn metric_names_parse_with_aliases_and_a_helpful_error() {
        assert_eq!("Euclidean".parse::<Metric>().unwrap(), Metric::L2);
        assert_eq!("manhattan".parse::<Metric>().unwrap(), Metric::L1);
        assert_eq!("inner_product".parse::<Metric>().unwrap(), Metric::Dot);
        let err = "hamming".parse::<Metric>().unwrap_err().to_string();
        assert!(
            err.contains("unknown metric 'hamming'") && err.contains("cosine"),
            "{err}"
        );
    }
}
