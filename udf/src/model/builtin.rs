//! The built-in image model, always available: the global descriptor of
//! [`global_descriptor`](super::global_descriptor) under the name `builtin`.

use datafusion::common::Result;
use image::RgbImage;

use super::global_descriptor::{GLOBAL_DESCRIPTOR_DIM, global_descriptor};
use super::{EmbeddingModel, ModelKind};

pub use reeldb_engine::BUILTIN_MODEL;

/// The built-in image model.
#[derive(Debug, Default)]
pub struct BuiltinImageModel;

impl EmbeddingModel for BuiltinImageModel {
    fn name(&self) -> &str {
        BUILTIN_MODEL
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Image
    }

    fn dim(&self) -> usize {
        GLOBAL_DESCRIPTOR_DIM
    }

    fn prepare_image(&self, image: &RgbImage) -> Result<Vec<f32>> {
        Ok(global_descriptor(image))
    }

    fn embed_prepared_images(&self, inputs: &[Vec<f32>]) -> Result<Vec<f32>> {
        Ok(inputs.concat())
    }
}
