//! Turning a decoded image into the input tensor a vision model expects.
//!
//! The steps follow Hugging Face's image processors, so that a model exported from there gets
//! the input it was trained on: resize (the shortest edge to a size, keeping the aspect
//! ratio, or to an exact size), centre crop, rescale (`x · scale`), normalise per channel
//! (`(x - mean) / std`), and lay out as `[3, H, W]` in RGB or BGR order.

use datafusion::common::{DataFusionError, Result};
use image::RgbImage;
use image::imageops::{FilterType, crop_imm, resize};
use serde::{Deserialize, Serialize};

/// How an image is resized before cropping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Scale so that the shorter side has this length, keeping the aspect ratio.
    ShortestEdge(u32),
    /// Scale to exactly this width and height.
    Exact {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// The preprocessing of one vision model; stored in the model's config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePreprocess {
    /// The resize step.
    pub resize: Resize,
    /// The centre crop `(width, height)`, if any.
    pub crop: Option<(u32, u32)>,
    /// The factor pixel values (0..255) are multiplied by before normalising.
    pub scale: f32,
    /// The per-channel mean subtracted after scaling (RGB order).
    pub mean: [f32; 3],
    /// The per-channel divisor applied after the mean (RGB order).
    pub std: [f32; 3],
    /// Whether the model wants its channels in BGR order.
    #[serde(default)]
    pub bgr: bool,
    /// The resampling filter: `bicubic` (as PIL's, which CLIP uses) or `bilinear`.
    #[serde(default = "default_filter")]
    pub filter: String,
}

fn default_filter() -> String {
    "bicubic".into()
}

impl ImagePreprocess {
    /// CLIP's preprocessing at `size` pixels: bicubic resize of the shortest edge, centre
    /// crop, 1/255 rescale and OpenAI's mean and std.
    pub fn clip(size: u32) -> Self {
        ImagePreprocess {
            resize: Resize::ShortestEdge(size),
            crop: Some((size, size)),
            scale: 1.0 / 255.0,
            mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
            std: [0.268_629_54, 0.261_302_6, 0.275_777_1],
            bgr: false,
            filter: default_filter(),
        }
    }

    /// Checks the values for things that cannot work (zero sizes or divisors).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| {
            Err(DataFusionError::Plan(format!(
                "image preprocessing: {what}"
            )))
        };
        match self.resize {
            Resize::ShortestEdge(0) => return bad("the resize size must be positive"),
            Resize::Exact { width, height } if width == 0 || height == 0 => {
                return bad("the resize width and height must be positive");
            }
            _ => {}
        }
        if matches!(self.crop, Some((w, h)) if w == 0 || h == 0) {
            return bad("the crop size must be positive");
        }
        if self.std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return bad("std must be finite and non-zero");
        }
        if !matches!(self.filter.as_str(), "bicubic" | "bilinear" | "nearest") {
            return bad("filter must be 'bicubic', 'bilinear' or 'nearest'");
        }
        Ok(())
    }

    /// The `(width, height)` of the tensor this produces.
    pub fn output_size(&self) -> (u32, u32) {
        match (self.crop, self.resize) {
            (Some(crop), _) => crop,
            (None, Resize::Exact { width, height }) => (width, height),
            (None, Resize::ShortestEdge(size)) => (size, size),
        }
    }

    /// Number of `f32` values per image: `3 · width · height`.
    pub fn tensor_len(&self) -> usize {
        let (w, h) = self.output_size();
        3 * w as usize * h as usize
    }

    /// Resizes, crops and normalises `image` into `out` (`[3, H, W]`, `tensor_len` values).
    pub fn write_tensor(&self, image: &RgbImage, out: &mut [f32]) {
        let filter = match self.filter.as_str() {
            "bilinear" => FilterType::Triangle,
            "nearest" => FilterType::Nearest,
            _ => FilterType::CatmullRom,
        };
        let (width, height) = image.dimensions();
        let (resized_w, resized_h) = match self.resize {
            Resize::Exact { width, height } => (width, height),
            Resize::ShortestEdge(size) => {
                // As Hugging Face computes it: the long side is scaled and truncated.
                if width <= height {
                    (
                        size,
                        ((size as u64 * height as u64) / width.max(1) as u64) as u32,
                    )
                } else {
                    (
                        ((size as u64 * width as u64) / height.max(1) as u64) as u32,
                        size,
                    )
                }
            }
        };
        let resized = if (resized_w, resized_h) == (width, height) {
            image.clone()
        } else {
            resize(image, resized_w.max(1), resized_h.max(1), filter)
        };
        let (out_w, out_h) = self.output_size();
        let cropped = match self.crop {
            Some((cw, ch)) if (cw, ch) != resized.dimensions() => {
                let x = resized.width().saturating_sub(cw) / 2;
                let y = resized.height().saturating_sub(ch) / 2;
                crop_imm(
                    &resized,
                    x,
                    y,
                    cw.min(resized.width()),
                    ch.min(resized.height()),
                )
                .to_image()
            }
            _ => resized,
        };
        let plane = out_w as usize * out_h as usize;
        out.fill(0.0);
        for (x, y, pixel) in cropped.enumerate_pixels() {
            if x >= out_w || y >= out_h {
                continue;
            }
            let at = y as usize * out_w as usize + x as usize;
            for c in 0..3 {
                let value = (pixel[c] as f32 * self.scale - self.mean[c]) / self.std[c];
                let channel = if self.bgr { 2 - c } else { c };
                out[channel * plane + at] = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_edge_resize_then_centre_crop_gives_the_model_size() {
        let image = RgbImage::from_fn(64, 32, |x, _| image::Rgb([x as u8 * 4, 0, 255]));
        let pre = ImagePreprocess::clip(16);
        let mut out = vec![0.0; pre.tensor_len()];
        pre.write_tensor(&image, &mut out);
        assert_eq!(out.len(), 3 * 16 * 16);
        // Blue is 255 everywhere: (1 - mean) / std in the third plane.
        let expected = (1.0 - pre.mean[2]) / pre.std[2];
        assert!((out[2 * 256 + 37] - expected).abs() < 1e-4);
        // The crop is centred: the red ramp is about 128 at the middle column.
        let middle = out[8] * pre.std[0] + pre.mean[0];
        assert!((middle - 0.5).abs() < 0.1, "{middle}");
    }

    #[test]
    fn bgr_order_swaps_the_planes() {
        let image = RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 0]));
        let pre = ImagePreprocess {
            resize: Resize::Exact {
                width: 4,
                height: 4,
            },
            crop: None,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            bgr: true,
            filter: "bilinear".into(),
        };
        let mut out = vec![0.0; pre.tensor_len()];
        pre.write_tensor(&image, &mut out);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[2 * 16], 255.0);
    }

    #[test]
    fn zero_sizes_and_divisors_are_refused() {
        let mut pre = ImagePreprocess::clip(0);
        assert!(pre.validate().is_err());
        pre = ImagePreprocess::clip(224);
        pre.std[1] = 0.0;
        assert!(pre.validate().is_err());
    }
}
