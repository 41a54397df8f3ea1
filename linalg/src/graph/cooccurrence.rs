//! Co-occurrence of labelled identities across the frames of videos: the graph of the GDELT
//! "Visual Explorer" face networks (seed workflow 002, its Perl script).
//!
//! # The rules
//! Per video (adjacency never crosses videos), take the set of distinct labels seen in each
//! frame; noise ([`NOISE`], -1) is no identity and is left out. Then, for each frame `f`:
//!
//! - every pair of distinct labels of `f` counts once, as the sorted pair `(smaller, larger)`
//!   ("faces that actually co-occurred together in THIS frame");
//! - every label `x` of `f` and every *different* label `y` of a frame `f - d`,
//!   `1 <= d <= window`, count once per frame pair, as `(x, y)`: this frame's label first
//!   ("connect to faces from previous frame"; the seed's window is 1, the immediately prior
//!   frame). A frame number with no faces is an empty set, so a gap breaks the link.
//!
//! These are the seed's `$EDGES{"a,b"}` keys and counts exactly ([`CooccurrenceParams::directed`]).
//! Undirected (the default) merges the keys `(a, b)` and `(b, a)` into `a < b` by adding their
//! counts: what Gephi does with the seed's two rows of one undirected pair. So frames
//! `{1, 2}` then `{1, 2}` give the undirected pair (1, 2) a count of 4: one per frame for the
//! same-frame pairs, and (2, 1) and (1, 2) across the cut.
//!
//! Each edge's weight is its count over the largest count of the graph, taken over all pairs
//! before the threshold, as the seed does ("Gephi wants range 0.0-1.0"); then pairs counted
//! fewer than `min_weight` times are dropped (the seed's `$THRESHOLD = 2`).
//!
//! One difference from the Perl: it sorts a frame's labels as text (`sort keys`), so for
//! labels of more than one digit its same-frame key may be `"10,9"`; here the sorted pair is
//! numeric, `(9, 10)`. Labels 0..=9 give the same keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cluster::NOISE;
use crate::error::{Error, Result};

/// What [`cooccurrence`] counts and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooccurrenceParams {
    /// How many earlier frames a frame's labels link to: 0 = the same frame only, 1 = the
    /// immediately prior frame too (the seed's rule, the default).
    pub window: u64,
    /// Pairs counted fewer times are dropped; default 2, the seed's threshold (0 or 1 keep
    /// every pair).
    pub min_weight: u64,
    /// Keep the seed's key order, `(a, b)` and `(b, a)` apart; default false: one undirected
    /// edge `a < b` with both counts added.
    pub directed: bool,
}

impl Default for CooccurrenceParams {
    /// The seed's rules: the prior frame, a threshold of 2, undirected.
    fn default() -> Self {
        CooccurrenceParams {
            window: 1,
            min_weight: 2,
            directed: false,
        }
    }
}

/// The distinct labels seen in each frame of one video.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameLabels {
    frames: BTreeMap<i64, BTreeSet<i64>>,
}

impl FrameLabels {
    /// No frames.
    pub fn new() -> Self {
        FrameLabels::default()
    }

    /// Records that `label` is seen in `frame`; noise ([`NOISE`]) is ignored, and a label
    /// seen twice in a frame counts once.
    pub fn insert(&mut self, frame: i64, label: i64) {
        if label != NOISE {
            self.frames.entry(frame).or_default().insert(label);
        }
    }

    /// Whether no label was recorded.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// One edge of the co-occurrence graph.
#[derive(Debug, Clone, PartialEq)]
pub struct CooccurrenceEdge {
    /// The first label: the smaller one when undirected.
    pub a: i64,
    /// The second label.
    pub b: i64,
    /// How many times the pair was counted (frames, or frame pairs across a cut).
    pub frames: u64,
    /// `frames` over the largest count of the graph (before the threshold): in (0, 1].
    pub weight: f64,
}

/// The co-occurrence graph of `videos` (one [`FrameLabels`] each; labels are the same
/// identities in all of them): the edges counted at least `min_weight` times, most counted
/// first, then by `a` and `b`. No labels give no edges.
pub fn cooccurrence(
    videos: &[FrameLabels],
    params: &CooccurrenceParams,
) -> Result<Vec<CooccurrenceEdge>> {
    if params.window > i64::MAX as u64 {
        return Err(Error::InvalidArgument(format!(
            "window = {} is larger than any frame distance; use a window up to {}",
            params.window,
            i64::MAX
        )));
    }
    let window = params.window as i64;
    let mut counts: HashMap<(i64, i64), u64> = HashMap::new();
    let mut add = |x: i64, y: i64| {
        let key = if params.directed || x < y {
            (x, y)
        } else {
            (y, x)
        };
        *counts.entry(key).or_default() += 1;
    };
    for video in videos {
        for (&frame, labels) in &video.frames {
            let this: Vec<i64> = labels.iter().copied().collect();
            for (i, &x) in this.iter().enumerate() {
                for &y in &this[i + 1..] {
                    add(x, y);
                }
            }
            if window == 0 {
                continue;
            }
            let first = frame.saturating_sub(window);
            for (_, earlier) in video.frames.range(first..frame) {
                for &x in &this {
                    for &y in earlier {
                        if x != y {
                            add(x, y);
                        }
                    }
                }
            }
        }
    }
    let max = counts.values().copied().max().unwrap_or(0);
    let mut edges: Vec<CooccurrenceEdge> = counts
        .into_iter()
        .filter(|&(_, count)| count >= params.min_weight)
        .map(|((a, b), count)| CooccurrenceEdge {
            a,
            b,
            frames: count,
            weight: count as f64 / max as f64,
        })
        .collect();
    edges.sort_by(|x, y| {
        y.frames
            .cmp(&x.frames)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(sightings: &[(i64, i64)]) -> FrameLabels {
        let mut frames = FrameLabels::new();
        for &(frame, label) in sightings {
            frames.insert(frame, label);
        }
        frames
    }

    fn triples(edges: &[CooccurrenceEdge]) -> Vec<(i64, i64, u64)> {
        edges.iter().map(|e| (e.a, e.b, e.frames)).collect()
    }

    fn all(window: u64, directed: bool) -> CooccurrenceParams {
        CooccurrenceParams {
            window,
            min_weight: 0,
            directed,
        }
    }

    #[test]
    fn same_frame_pairs_are_sorted_and_prior_frame_pairs_keep_this_frame_first() {
        // Frame 0: {1, 2}; frame 1: {2, 3} (3 twice: counted once); frame 2: {1} and noise.
        let frames = video(&[(0, 2), (0, 1), (1, 3), (1, 2), (1, 3), (2, 1), (2, -1)]);
        let directed = cooccurrence(std::slice::from_ref(&frames), &all(1, true)).unwrap();
        // Same frame: (1,2) in 0, (2,3) in 1. Frame 1 -> 0: (2,1), (3,1), (3,2).
        // Frame 2 -> 1: (1,2), (1,3).
        assert_eq!(
            triples(&directed),
            [
                (1, 2, 2),
                (1, 3, 1),
                (2, 1, 1),
                (2, 3, 1),
                (3, 1, 1),
                (3, 2, 1)
            ]
        );
        assert_eq!(directed[0].weight, 1.0);
        assert_eq!(directed[1].weight, 0.5);
        let undirected = cooccurrence(&[frames], &all(1, false)).unwrap();
        assert_eq!(triples(&undirected), [(1, 2, 3), (1, 3, 2), (2, 3, 2)]);
    }

    #[test]
    fn the_threshold_drops_weak_pairs_after_the_weights_are_taken() {
        let frames = video(&[(0, 1), (0, 2), (1, 1), (1, 2), (5, 7), (5, 8)]);
        let params = CooccurrenceParams::default();
        let edges = cooccurrence(&[frames], &params).unwrap();
        // (1,2): twice in a frame, and (2,1) + (1,2) across the cut: 4. (7,8): once, dropped.
        assert_eq!(triples(&edges), [(1, 2, 4)]);
        assert_eq!(edges[0].weight, 1.0);
    }

    #[test]
    fn the_window_reaches_back_and_zero_means_the_same_frame_only() {
        let frames = video(&[(0, 1), (2, 2), (3, 3)]);
        assert_eq!(
            triples(&cooccurrence(std::slice::from_ref(&frames), &all(0, false)).unwrap()),
            []
        );
        // Window 1: only 3 -> 2 (frame 1 is empty, so 2 does not reach 1).
        assert_eq!(
            triples(&cooccurrence(std::slice::from_ref(&frames), &all(1, false)).unwrap()),
            [(2, 3, 1)]
        );
        assert_eq!(
            triples(&cooccurrence(std::slice::from_ref(&frames), &all(2, true)).unwrap()),
            [(2, 1, 1), (3, 2, 1)]
        );
        assert_eq!(
            triples(&cooccurrence(&[frames], &all(u64::MAX >> 1, true)).unwrap()),
            [(2, 1, 1), (3, 1, 1), (3, 2, 1)]
        );
    }

    #[test]
    fn adjacency_never_crosses_videos() {
        let first = video(&[(0, 1)]);
        let second = video(&[(1, 2)]);
        assert!(
            cooccurrence(&[first, second], &all(1, false))
                .unwrap()
                .is_empty()
        );
        assert!(cooccurrence(&[], &all(1, false)).unwrap().is_empty());
    }

    #[test]
    fn a_window_beyond_any_frame_distance_is_refused() {
        let error = cooccurrence(&[], &all(u64::MAX, false)).unwrap_err();
        assert!(error.to_string().contains("window"), "{error}");
    }
}
