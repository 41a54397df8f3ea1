//! reeldb's cross-crate integration tests, in one test binary.

mod integration {
    mod clustering;
    mod copy_images;
    mod crash;
    mod face_scan;
    mod faces;
    mod function_docs;
    mod gephi;
    mod graph;
    mod ingest;
    mod library;
    mod models;
    mod pictures;
    mod robustness;
    mod text_model;
    mod vector_recall;
}
