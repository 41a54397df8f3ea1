//! Scalar functions: one file per function; `pairwise` holds what similarity and distance
//! share, `model_args` what the model functions share.

pub mod classify;
pub mod detect_faces;
pub mod distance;
pub mod embed;
pub mod embed_image;
pub mod model_args;
pub mod pairwise;
pub mod phash;
pub mod similarity;
