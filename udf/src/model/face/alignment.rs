//! Aligning a face to the 5-point template face encoders are trained on.
//!
//! ArcFace-style encoders (MobileFaceNet among them) expect a 112×112 crop in which the eyes,
//! nose tip and mouth corners sit at fixed points. The similarity transform (rotation, uniform
//! scale, translation) that best maps the detected landmarks onto those points, in the
//! least-squares sense, is found in closed form, and the crop is sampled through its inverse
//! with bilinear interpolation; pixels from outside the image are black, as OpenCV's
//! `warpAffine` leaves them.

use image::{Rgb, RgbImage};

/// The ArcFace template for a 112×112 crop: left eye, right eye, nose tip, left and right
/// mouth corners.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// A similarity transform `q = [a -b; b a] p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Scale times the cosine of the rotation.
    pub a: f32,
    /// Scale times the sine of the rotation.
    pub b: f32,
    /// Horizontal translation.
    pub tx: f32,
    /// Vertical translation.
    pub ty: f32,
}

impl Similarity {
    /// The least-squares similarity taking `from` points onto `to` points. `None` when the
    /// `from` points all coincide.
    pub fn estimate(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Similarity> {
        let n = from.len().min(to.len()) as f32;
        let mean = |points: &[[f32; 2]]| {
            let (x, y) = points
                .iter()
                .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
            [x / n, y / n]
        };
        let (mf, mt) = (mean(from), mean(to));
        let (mut dot, mut cross, mut spread) = (0.0f32, 0.0f32, 0.0f32);
        for (p, q) in from.iter().zip(to) {
            let (x, y) = (p[0] - mf[0], p[1] - mf[1]);
            let (u, v) = (q[0] - mt[0], q[1] - mt[1]);
            dot += x * u + y * v;
            cross += x * v - y * u;
            spread += x * x + y * y;
        }
        if spread <= f32::EPSILON {
            return None;
        }
        let (a, b) = (dot / spread, cross / spread);
        Some(Similarity {
            a,
            b,
            tx: mt[0] - (a * mf[0] - b * mf[1]),
            ty: mt[1] - (b * mf[0] + a * mf[1]),
        })
    }

    /// Where `p` goes.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The point that goes to `q`.
    fn invert(&self, q: [f32; 2]) -> [f32; 2] {
        let norm = self.a * self.a + self.b * self.b;
        let (u, v) = (q[0] - self.tx, q[1] - self.ty);
        [
            (self.a * u + self.b * v) / norm,
            (-self.b * u + self.a * v) / norm,
        ]
    }
}

/// The `width`×`height` crop of `image` with `landmarks` moved onto the ArcFace template
/// (scaled to the crop size). `None` when the landmarks are degenerate.
pub fn align_face(
    image: &RgbImage,
    landmarks: &[[f32; 2]; 5],
    width: u32,
    height: u32,
) -> Option<RgbImage> {
    let (sx, sy) = (width as f32 / 112.0, height as f32 / 112.0);
    let template: Vec<[f32; 2]> = ARCFACE_TEMPLATE
        .iter()
        .map(|p| [p[0] * sx, p[1] * sy])
        .collect();
    let transform = Similarity::estimate(landmarks, &template)?;
    Some(RgbImage::from_fn(width, height, |x, y| {
        let source = transform.invert([x as f32, y as f32]);
        sample_bilinear(image, source[0], source[1])
    }))
}

/// The square crop around a box (for detectors without landmarks), resized to
/// `width`×`height`.
pub fn crop_box(image: &RgbImage, corners: [f32; 4], width: u32, height: u32) -> RgbImage {
    let side = (corners[2] - corners[0])
        .max(corners[3] - corners[1])
        .max(1.0);
    let (cx, cy) = (
        (corners[0] + corners[2]) / 2.0,
        (corners[1] + corners[3]) / 2.0,
    );
    let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
    RgbImage::from_fn(width, height, |x, y| {
        sample_bilinear(
            image,
            x0 + (x as f32 + 0.5) * side / width as f32 - 0.5,
            y0 + (y as f32 + 0.5) * side / height as f32 - 0.5,
        )
    })
}

/// The colour at `(x, y)` between pixel centres; black outside the image.
fn sample_bilinear(image: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = image.dimensions();
    // An image without pixels has nothing to sample (and `w - 1` would wrap).
    if w == 0 || h == 0 || !(x >= 0.0 && y >= 0.0 && x <= (w - 1) as f32 && y <= (h - 1) as f32) {
        return Rgb([0, 0, 0]);
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let (p00, p10, p01, p11) = (
        image.get_pixel(x0, y0),
        image.get_pixel(x1, y0),
        image.get_pixel(x0, y1),
        image.get_pixel(x1, y1),
    );
    let mut out = [0u8; 3];
    for (c, value) in out.iter_mut().enumerate() {
        let top = p00[c] as f32 * (1.0 - fx) + p10[c] as f32 * fx;
        let bottom = p01[c] as f32 * (1.0 - fx) + p11[c] as f32 * fx;
        *value = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    Rgb(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_scaled_shifted_template_is_recovered_exactly() {
        let (angle, scale) = (0.3f32, 2.5f32);
        let truth = Similarity {
            a: scale * angle.cos(),
            b: scale * angle.sin(),
            tx: 40.0,
            ty: -7.0,
        };
        let moved: Vec<[f32; 2]> = ARCFACE_TEMPLATE.iter().map(|p| truth.apply(*p)).collect();
        let found = Similarity::estimate(&ARCFACE_TEMPLATE, &moved).unwrap();
        for (got, want) in [found.a, found.b, found.tx, found.ty]
            .iter()
            .zip([truth.a, truth.b, truth.tx, truth.ty])
        {
            assert!((got - want).abs() < 1e-3, "{got} != {want}");
        }
        let back = found.invert(found.apply([3.0, 4.0]));
        assert!((back[0] - 3.0).abs() < 1e-3 && (back[1] - 4.0).abs() < 1e-3);
        assert!(Similarity::estimate(&[[1.0, 1.0]; 5], &ARCFACE_TEMPLATE).is_none());
    }

    #[test]
    fn aligning_puts_a_marked_eye_on_the_template_eye() {
        // An image twice the template's size with a white dot at the (scaled) left eye: the
        // aligned crop has the dot at the template's left eye.
        let mut image = RgbImage::new(224, 224);
        let eye = ARCFACE_TEMPLATE[0];
        for dy in 0..4 {
            for dx in 0..4 {
                let (x, y) = (
                    (eye[0] * 2.0) as u32 - 2 + dx,
                    (eye[1] * 2.0) as u32 - 2 + dy,
                );
                image.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let landmarks = ARCFACE_TEMPLATE.map(|p| [p[0] * 2.0, p[1] * 2.0]);
        let crop = align_face(&image, &landmarks, 112, 112).unwrap();
        assert!(crop.get_pixel(eye[0] as u32, eye[1] as u32)[0] > 128);
        assert_eq!(crop.get_pixel(100, 10)[0], 0);
    }
}
