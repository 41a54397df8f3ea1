//! Scalar functions: one file per function; `pairwise` holds what similarity and distance
//! share.

pub mod distance;
pub mod pairwise;
pub mod similarity;
