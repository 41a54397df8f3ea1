//! Which frames a transcript segment belongs to.
//!
//! Two methods, after the ones used to pair news transcripts with frames (see
//! `../shared/seeds/001_*`):
//! - **nearest**: a segment goes to the one frame nearest its start time. For subtitles with
//!   tight times (SRT, WebVTT), where a frame shows what is being said.
//! - **uniform**: a segment's words are spread evenly over the frames from its start to its
//!   end (or to the next segment's start, when the transcript only has a timestamp every few
//!   seconds). For sparse timestamps, on the assumption that speech runs at an even pace.
//!
//! Segments may come out of order and may overlap: they are sorted by start time (the file's
//! order breaks ties), and a frame inside two overlapping segments gets text from both.

use super::transcript::Segment;
use crate::error::{Error, Result};

/// How segments are matched to frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alignment {
    /// Each segment to the frame nearest its start.
    #[default]
    Nearest,
    /// Each segment's words spread evenly over the frames it spans.
    Uniform,
}

impl Alignment {
    /// Parses the `align` option.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "nearest" => Ok(Alignment::Nearest),
            "uniform" => Ok(Alignment::Uniform),
            other => Err(Error::InvalidArgument(format!(
                "unknown alignment '{other}': use 'nearest' (each segment to the frame nearest \
                 its start) or 'uniform' (words spread over the frames a segment spans)"
            ))),
        }
    }
}

/// A segment's text (or part of it) on one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameText {
    /// The frame's number.
    pub frame: i64,
    /// The frame's time.
    pub ts: f64,
    /// The segment's position in time order (0-based).
    pub segment: usize,
    /// The text shown with this frame.
    pub text: String,
}

/// Segments in time order, each with the end it is taken to have: its own, else the next
/// segment's start, else its start (the last one of a transcript without ends). An end before
/// the start is taken as the start.
pub fn ordered(segments: &[Segment]) -> Vec<(f64, f64, &Segment)> {
    let mut order: Vec<&Segment> = segments.iter().collect();
    order.sort_by(|a, b| a.start.total_cmp(&b.start));
    (0..order.len())
        .map(|i| {
            let segment = order[i];
            let next_start = order[i + 1..]
                .iter()
                .map(|s| s.start)
                .find(|s| *s > segment.start);
            let end = segment.end.or(next_start).unwrap_or(segment.start);
            (segment.start, end.max(segment.start), segment)
        })
        .collect()
}

/// Aligns `segments` with `frames` (`(frame, ts)` sorted by `ts`).
pub fn align(segments: &[Segment], frames: &[(i64, f64)], method: Alignment) -> Vec<FrameText> {
    if frames.is_empty() {
        return Vec::new();
    }
    let mut aligned = Vec::new();
    for (position, (start, end, segment)) in ordered(segments).into_iter().enumerate() {
        if segment.text.is_empty() {
            continue;
        }
        let spanned: &[(i64, f64)] = match method {
            Alignment::Nearest => &[],
            Alignment::Uniform => {
                let first = frames.partition_point(|(_, ts)| *ts < start);
                let last = frames.partition_point(|(_, ts)| *ts < end);
                &frames[first..last]
            }
        };
        if spanned.is_empty() {
            let (frame, ts) = frames[nearest(frames, start)];
            aligned.push(FrameText {
                frame,
                ts,
                segment: position,
                text: segment.text.clone(),
            });
            continue;
        }
        let units = split_units(&segment.text);
        let joiner = if segment.text.split_whitespace().nth(1).is_some() {
            " "
        } else {
            ""
        };
        for (index, (frame, ts)) in spanned.iter().enumerate() {
            let from = index * units.len() / spanned.len();
            let to = (index + 1) * units.len() / spanned.len();
            if from == to {
                continue;
            }
            aligned.push(FrameText {
                frame: *frame,
                ts: *ts,
                segment: position,
                text: units[from..to].join(joiner),
            });
        }
    }
    aligned
}

/// The index of the frame whose time is nearest `t` (the earlier one on a tie).
fn nearest(frames: &[(i64, f64)], t: f64) -> usize {
    let after = frames.partition_point(|(_, ts)| *ts < t);
    if after == 0 {
        return 0;
    }
    if after == frames.len() {
        return frames.len() - 1;
    }
    if t - frames[after - 1].1 <= frames[after].1 - t {
        after - 1
    } else {
        after
    }
}

/// Words; or, for text written without spaces (Chinese, Japanese), characters.
fn split_units(text: &str) -> Vec<&str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() > 1 {
        return words;
    }
    text.char_indices()
        .map(|(i, c)| &text[i..i + c.len_utf8()])
        .filter(|c| !c.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(start: f64, end: Option<f64>, text: &str) -> Segment {
        Segment {
            start,
            end,
            text: text.into(),
        }
    }

    /// Frames every 4 s: 0, 4, 8, ..., 36.
    fn frames() -> Vec<(i64, f64)> {
        (0..10).map(|n| (n, n as f64 * 4.0)).collect()
    }

    #[test]
    fn nearest_takes_the_frame_closest_to_the_start() {
        let segments = [
            segment(5.0, Some(6.0), "a"),
            segment(6.5, Some(7.0), "b"),
            segment(99.0, None, "c"),
        ];
        let aligned = align(&segments, &frames(), Alignment::Nearest);
        let frames: Vec<i64> = aligned.iter().map(|a| a.frame).collect();
        assert_eq!(frames, [1, 2, 9]);
    }

    #[test]
    fn uniform_spreads_words_over_the_frames_spanned() {
        // Timestamps only every 10 s, as in the seed's Chinese broadcast.
        let segments = [
            segment(0.0, None, "one two three four five six"),
            segment(10.0, None, "seven eight"),
        ];
        let aligned = align(&segments, &frames(), Alignment::Uniform);
        let first: Vec<(i64, &str)> = aligned
            .iter()
            .filter(|a| a.segment == 0)
            .map(|a| (a.frame, a.text.as_str()))
            .collect();
        // 0..10 s spans frames 0, 4 and 8 s.
        assert_eq!(first, [(0, "one two"), (1, "three four"), (2, "five six")]);
        // The last segment has no end: it goes to the frame nearest its start (10 s is as far
        // from 8 s as from 12 s; the frame on screen at 10 s, 8 s, wins the tie).
        let last: Vec<i64> = aligned
            .iter()
            .filter(|a| a.segment == 1)
            .map(|a| a.frame)
            .collect();
        assert_eq!(last, [2]);
    }

    #[test]
    fn out_of_order_and_overlapping_segments() {
        let segments = [
            segment(8.0, Some(16.0), "later words here"),
            segment(0.0, Some(12.0), "early words"),
        ];
        let aligned = align(&segments, &frames(), Alignment::Uniform);
        // Sorted: "early words" is segment 0 and spans 0, 4, 8; "later" spans 8, 12.
        let by_frame = |f: i64| -> Vec<&str> {
            aligned
                .iter()
                .filter(|a| a.frame == f)
                .map(|a| a.text.as_str())
                .collect()
        };
        assert_eq!(aligned.iter().filter(|a| a.segment == 0).count(), 2);
        assert_eq!(
            by_frame(2).len(),
            2,
            "frame 8 s lies in both segments: {aligned:?}"
        );
        assert_eq!(by_frame(3), ["words here"]);
    }

    #[test]
    fn text_without_spaces_is_spread_by_character() {
        let segments = [segment(0.0, Some(8.0), "新闻联播")];
        let aligned = align(&segments, &frames(), Alignment::Uniform);
        let texts: Vec<&str> = aligned.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(texts, ["新闻", "联播"]);
    }

    #[test]
    fn unknown_methods_are_refused() {
        assert!(
            Alignment::parse("closest")
                .unwrap_err()
                .to_string()
                .contains("'nearest'")
        );
    }
}
