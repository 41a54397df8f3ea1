//! Graphs of identities: who appears with whom across a video's frames
//! ([`cooccurrence`]), and how central each identity is in that graph ([`pagerank`]).
//! Pure computation over integer labels and edge lists: no SQL, no files. `reeldb-query`
//! exposes both as the table functions `face_cooccurrence()` and `pagerank()`.

pub mod cooccurrence;
pub mod pagerank;

pub use cooccurrence::{CooccurrenceEdge, CooccurrenceParams, FrameLabels, cooccurrence};
pub use pagerank::{PageRankParams, pagerank};
