//! Transcripts: SRT, WebVTT and JSON (`[{start, end, text}]`, or Whisper's
//! `{"segments": [...]}`), read into timed segments.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// One timed piece of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Seconds from the start of the video.
    pub start: f64,
    /// Seconds from the start of the video; `None` when the transcript gives only start times
    /// (the segment then lasts until the next one starts).
    pub end: Option<f64>,
    /// The words.
    pub text: String,
}

/// The transcript formats reeldb reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// SubRip: numbered cues, `00:00:01,000 --> 00:00:04,000`.
    Srt,
    /// WebVTT: `WEBVTT`, then cues `00:01.000 --> 00:04.000`.
    WebVtt,
    /// JSON: an array of `{start, end, text}` (or an object with such a `segments` array).
    Json,
}

impl TranscriptFormat {
    /// The format a file's extension names (`.srt`, `.vtt`, `.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("srt") => Ok(TranscriptFormat::Srt),
            Some("vtt") => Ok(TranscriptFormat::WebVtt),
            Some("json") => Ok(TranscriptFormat::Json),
            _ => Err(Error::InvalidArgument(format!(
                "cannot tell the transcript format of '{}' from its name: name it .srt, .vtt or \
                 .json, or say format = 'srt' | 'vtt' | 'json'",
                path.display()
            ))),
        }
    }

    /// Parses a `format` option.
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "srt" => Ok(TranscriptFormat::Srt),
            "vtt" | "webvtt" => Ok(TranscriptFormat::WebVtt),
            "json" => Ok(TranscriptFormat::Json),
            other => Err(Error::InvalidArgument(format!(
                "unknown transcript format '{other}': use 'srt', 'vtt' or 'json'"
            ))),
        }
    }
}

/// Reads the segments of a transcript, in the file's order (which need not be by time).
/// Errors name the line (or JSON item) and what is wrong.
pub fn parse_transcript(text: &str, format: TranscriptFormat) -> Result<Vec<Segment>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        TranscriptFormat::Srt | TranscriptFormat::WebVtt => parse_cues(text, format),
        TranscriptFormat::Json => parse_json(text),
    }
}

/// SRT and WebVTT share their shape: blocks separated by blank lines, each with a timing line
/// `start --> end` and text lines after it.
fn parse_cues(text: &str, format: TranscriptFormat) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    if format == TranscriptFormat::WebVtt
        && !lines
            .first()
            .is_some_and(|l| l.trim_start().starts_with("WEBVTT"))
    {
        return Err(Error::InvalidArgument(
            "a WebVTT file starts with the line WEBVTT; is this an SRT file (format = 'srt')?"
                .into(),
        ));
    }
    let mut index = 0;
    while index < lines.len() {
        // A block: the lines up to the next blank one.
        let start = index;
        while index < lines.len() && !lines[index].trim().is_empty() {
            index += 1;
        }
        let block = &lines[start..index];
        index += 1;
        let Some(timing) = block.iter().position(|l| l.contains("-->")) else {
            // The WEBVTT header, NOTE, STYLE and REGION blocks, and stray numbers.
            continue;
        };
        let line_number = start + timing + 1;
        let (from, to) = block[timing]
            .split_once("-->")
            .expect("the line contains -->");
        let to = to.split_whitespace().next().unwrap_or("");
        let parse = |t: &str| {
            parse_timestamp(t.trim()).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "line {line_number}: '{}' is not a cue timing (HH:MM:SS,mmm --> HH:MM:SS,mmm)",
                    block[timing].trim()
                ))
            })
        };
        let (from, to) = (parse(from)?, parse(to)?);
        let words: Vec<String> = block[timing + 1..]
            .iter()
            .map(|l| strip_tags(l.trim()))
            .filter(|l| !l.is_empty())
            .collect();
        segments.push(Segment {
            start: from,
            end: Some(to),
            text: words.join(" "),
        });
    }
    Ok(segments)
}

/// `HH:MM:SS,mmm`, `HH:MM:SS.mmm`, `MM:SS.mmm` or plain seconds.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.replace(',', ".");
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut seconds = 0.0;
    for part in &parts {
        let value: f64 = part.parse().ok()?;
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        seconds = seconds * 60.0 + value;
    }
    Some(seconds)
}

/// Removes WebVTT markup: `<v Speaker>`, `<c.yellow>`, `<b>`, `<00:00:01.000>`.
fn strip_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .trim()
        .to_string()
}

const START_KEYS: [&str; 4] = ["start", "start_time", "begin", "from"];
const END_KEYS: [&str; 4] = ["end", "end_time", "stop", "to"];
const TEXT_KEYS: [&str; 4] = ["text", "transcript", "caption", "words"];

fn parse_json(text: &str) -> Result<Vec<Segment>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("the transcript is not valid JSON: {e}")))?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(object) => match object.get("segments") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Error::InvalidArgument(
                    "a JSON transcript is an array of {start, end, text} objects (or an object \
                     whose \"segments\" is one)"
                        .into(),
                ));
            }
        },
        _ => {
            return Err(Error::InvalidArgument(
                "a JSON transcript is an array of {start, end, text} objects".into(),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let item_error =
                |what: String| Error::InvalidArgument(format!("segment {}: {what}", position + 1));
            let Value::Object(object) = item else {
                return Err(item_error("is not an object".into()));
            };
            let find = |keys: &[&str]| keys.iter().find_map(|k| object.get(*k));
            let time = |value: &Value| match value {
                Value::Number(n) => n.as_f64().filter(|v| v.is_finite() && *v >= 0.0),
                Value::String(s) => parse_timestamp(s),
                _ => None,
            };
            let start = find(&START_KEYS).ok_or_else(|| {
                item_error(format!("has no start time ({})", START_KEYS.join(", ")))
            })?;
            let start = time(start)
                .ok_or_else(|| item_error(format!("start {start} is not a time in seconds")))?;
            let end = match (find(&END_KEYS), object.get("duration")) {
                (None | Some(Value::Null), None | Some(Value::Null)) => None,
                (Some(end), _) if !end.is_null() => {
                    Some(time(end).ok_or_else(|| item_error(format!("end {end} is not a time")))?)
                }
                // youtube-transcript-api writes `start` and `duration`, not an end.
                (_, Some(duration)) => {
                    let duration = time(duration).ok_or_else(|| {
                        item_error(format!("duration {duration} is not a time in seconds"))
                    })?;
                    Some(start + duration)
                }
                (Some(_), None) => None,
            };
            let text = match find(&TEXT_KEYS) {
                Some(Value::String(s)) => s.trim().to_string(),
                _ => {
                    return Err(item_error(format!(
                        "has no text ({})",
                        TEXT_KEYS.join(", ")
                    )));
                }
            };
            Ok(Segment { start, end, text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_srt() {
        let srt = "1\n00:00:01,000 --> 00:00:04,500\nGood evening.\nHere is the news.\n\n\
                   2\n00:00:05,000 --> 00:00:07,000\nFirst, the weather.\n";
        let segments = parse_transcript(srt, TranscriptFormat::Srt).unwrap();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].text, "Good evening. Here is the news.");
        assert_eq!((segments[0].start, segments[0].end), (1.0, Some(4.5)));
    }

    #[test]
    fn reads_webvtt_with_markup_notes_and_short_times() {
        let vtt = "WEBVTT - evening news\n\nNOTE made by hand\n\nintro\n00:01.000 --> 00:04.000 \
                   align:start\n<v Anchor>Good <b>evening</b> &amp; welcome.\n\n\
                   01:00:00.000 --> 01:00:02.000\nLate.\n";
        let segments = parse_transcript(vtt, TranscriptFormat::WebVtt).unwrap();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].text, "Good evening & welcome.");
        assert_eq!(segments[1].start, 3600.0);
        let error = parse_transcript(
            "1\n00:00:01,000 --> 00:00:02,000\nhi\n",
            TranscriptFormat::WebVtt,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("WEBVTT"), "{error}");
    }

    #[test]
    fn a_bad_timing_names_its_line() {
        let srt =
            "1\n00:00:01,000 --> 00:00:04,000\nfine\n\n2\n00:00:xx,000 --> 00:00:05,000\nbad\n";
        let error = parse_transcript(srt, TranscriptFormat::Srt)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 6:"), "{error}");
    }

    #[test]
    fn reads_json_arrays_and_whisper_objects() {
        let json =
            r#"[{"start": 0, "end": 2.5, "text": " one "}, {"start": "00:00:10", "text": "two"}]"#;
        let segments = parse_transcript(json, TranscriptFormat::Json).unwrap();
        assert_eq!(segments[0].text, "one");
        assert_eq!((segments[1].start, segments[1].end), (10.0, None));
        let whisper =
            r#"{"text": "x", "segments": [{"id": 0, "start": 1.0, "end": 2.0, "text": "x"}]}"#;
        assert_eq!(
            parse_transcript(whisper, TranscriptFormat::Json)
                .unwrap()
                .len(),
            1
        );
        let error = parse_transcript(r#"[{"start": 1}]"#, TranscriptFormat::Json)
            .unwrap_err()
            .to_string();
        assert!(error.contains("segment 1: has no text"), "{error}");
        let error = parse_transcript(r#"[{"start": -3, "text": "a"}]"#, TranscriptFormat::Json)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a time"), "{error}");
    }

    /// Issue 21, item 5: youtube-transcript-api's `duration` was ignored, so a segment's end
    /// came from the next segment's start.
    #[test]
    fn a_duration_gives_the_end() {
        let youtube = r#"[{"text": "Good evening", "start": 0.5, "duration": 2.25},
                          {"text": "the news", "start": 10.0, "duration": 3.0}]"#;
        let segments = parse_transcript(youtube, TranscriptFormat::Json).unwrap();
        assert_eq!(segments[0].end, Some(2.75));
        assert_eq!(segments[1].end, Some(13.0));
        let error = parse_transcript(
            r#"[{"text": "a", "start": 1, "duration": "long"}]"#,
            TranscriptFormat::Json,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("duration \"long\" is not a time"), "{error}");
    }
}
