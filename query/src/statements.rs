//! Carrying out statements: one module per statement family.

pub(crate) mod cluster;
pub(crate) mod copy_from;
pub(crate) mod ingest;
pub(crate) mod model;
pub(crate) mod vector_index;
