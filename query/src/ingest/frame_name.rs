//! What a frame's file name says: its video, its number, and where the video is known, its
//! station, show and broadcast start.
//!
//! The TV News Archive / Visual Explorer names every preview frame
//! `STATION_YYYYMMDD_HHMMSS_Show-000123.jpg`: the broadcast's station, its start (UTC) and
//! show, then the frame's number. Other schemes are read with a regular expression whose named
//! groups say which part is which (`video`, `frame`, `ts`, `station`, `show`, `start`).

use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, Result};

/// The TV News Archive naming: `STATION_YYYYMMDD_HHMMSS_Show-000123` (extension removed).
static TV_NEWS_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<video>(?P<station>[A-Za-z0-9]+)_(?P<start>\d{8}_\d{6})_(?P<show>.+?))-(?P<frame>\d+)$",
    )
    .expect("the TV News Archive pattern is a valid regex")
});

/// A video id alone in the TV News Archive form (`STATION_YYYYMMDD_HHMMSS_Show`), as a video
/// file's stem.
static TV_NEWS_VIDEO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<station>[A-Za-z0-9]+)_(?P<start>\d{8}_\d{6})_(?P<show>.+)$")
        .expect("the TV News Archive video pattern is a valid regex")
});

/// A name that ends in a number (`frame_0042`, `IMG_1234`): the number is the frame's (the
/// rest is not taken for a video id; the directory names the video).
static TRAILING_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<frame>\d+)$").expect("the trailing-number pattern is valid"));

/// What a name says about its frame. Missing parts are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameName {
    /// The video the frame belongs to (`None`: the caller uses the directory's name).
    pub video: Option<String>,
    /// The frame's number within its video.
    pub frame: Option<i64>,
    /// Seconds from the start of the video, when the name carries them.
    pub ts: Option<f64>,
    /// The broadcaster (TV News Archive: `RUSSIA1`, `CNNW`, ...).
    pub station: Option<String>,
    /// The show's name as the archive spells it.
    pub show: Option<String>,
    /// The broadcast's start, in milliseconds since the Unix epoch (UTC).
    pub start_ms: Option<i64>,
}

/// How file names are read.
#[derive(Debug, Clone)]
pub enum NamingScheme {
    /// The TV News Archive naming, else a trailing number as the frame's (the default).
    Automatic,
    /// A regular expression over the file name without its extension; its named groups
    /// `video`, `frame`, `ts`, `station`, `show` and `start` (`YYYYMMDD_HHMMSS` or
    /// `YYYYMMDDHHMMSS`) say what each part is. A name that does not match is an error.
    Pattern(Regex),
}

impl NamingScheme {
    /// Parses the `pattern` option: a regular expression with at least a `frame` or `ts`
    /// group.
    pub fn pattern(pattern: &str) -> Result<Self> {
        let regex = Regex::new(pattern).map_err(|e| {
            Error::InvalidArgument(format!(
                "pattern '{pattern}' is not a valid regular expression: {e}"
            ))
        })?;
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        if !names.iter().any(|n| *n == "frame" || *n == "ts") {
            return Err(Error::InvalidArgument(format!(
                "pattern '{pattern}' names no frame number or time: give it a group \
                 (?P<frame>\\d+) or (?P<ts>[0-9.]+), and (?P<video>...) for the video"
            )));
        }
        if let Some(unknown) = names
            .iter()
            .find(|n| !["video", "frame", "ts", "station", "show", "start"].contains(n))
        {
            return Err(Error::InvalidArgument(format!(
                "pattern '{pattern}' has a group '{unknown}' reeldb does not know; the groups \
                 are video, frame, ts, station, show and start"
            )));
        }
        Ok(NamingScheme::Pattern(regex))
    }

    /// Reads `stem` (a file name without its extension).
    pub fn parse(&self, stem: &str) -> Result<FrameName> {
        match self {
            // Lenient: a name that only looks like one of these (an impossible date, a number
            // too long for a frame) says nothing rather than failing the file.
            NamingScheme::Automatic => Ok(TV_NEWS_NAME
                .captures(stem)
                .and_then(|captures| from_captures(&captures).ok())
                .or_else(|| {
                    TRAILING_NUMBER
                        .captures(stem)
                        .and_then(|captures| from_captures(&captures).ok())
                })
                .unwrap_or_default()),
            NamingScheme::Pattern(regex) => {
                let captures = regex.captures(stem).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "file name '{stem}' does not match the pattern '{}'",
                        regex.as_str()
                    ))
                })?;
                from_captures(&captures)
            }
        }
    }
}

/// What a video file's stem says: station, show and start for a TV News Archive id.
pub fn video_name(stem: &str) -> FrameName {
    let mut name = TV_NEWS_VIDEO
        .captures(stem)
        .and_then(|c| from_captures(&c).ok())
        .unwrap_or_default();
    name.video = Some(stem.to_string());
    name
}

fn from_captures(captures: &regex::Captures<'_>) -> Result<FrameName> {
    let text = |group: &str| captures.name(group).map(|m| m.as_str().to_string());
    let number = |group: &str| -> Result<Option<i64>> {
        text(group)
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| Error::InvalidArgument(format!("'{t}' is not a frame number")))
            })
            .transpose()
    };
    let ts = text("ts")
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::InvalidArgument(format!("'{t}' is not a time in seconds")))
        })
        .transpose()?;
    let start_ms = text("start")
        .map(|t| {
            parse_start(&t).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "'{t}' is not a broadcast start (YYYYMMDD_HHMMSS or YYYYMMDDHHMMSS)"
                ))
            })
        })
        .transpose()?;
    Ok(FrameName {
        video: text("video").filter(|v| !v.is_empty()),
        frame: number("frame")?,
        ts,
        station: text("station"),
        show: text("show"),
        start_ms,
    })
}

/// `YYYYMMDD_HHMMSS` (or without the underscore), UTC, as milliseconds since the epoch.
fn parse_start(text: &str) -> Option<i64> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| digits[range].parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tv_news_archive_naming() {
        let name = NamingScheme::Automatic
            .parse("RUSSIA1_20231017_130000_Vesti-000123")
            .unwrap();
        assert_eq!(name.video.as_deref(), Some("RUSSIA1_20231017_130000_Vesti"));
        assert_eq!(name.frame, Some(123));
        assert_eq!(name.station.as_deref(), Some("RUSSIA1"));
        assert_eq!(name.show.as_deref(), Some("Vesti"));
        // 2023-10-17T13:00:00Z
        assert_eq!(name.start_ms, Some(1_697_547_600_000));
    }

    #[test]
    fn a_show_may_contain_underscores() {
        let name = NamingScheme::Automatic
            .parse("CNNW_20240101_000000_CNN_Newsroom_With_Fredricka_Whitfield-000001")
            .unwrap();
        assert_eq!(
            name.show.as_deref(),
            Some("CNN_Newsroom_With_Fredricka_Whitfield")
        );
        assert_eq!(name.frame, Some(1));
    }

    #[test]
    fn otherwise_a_trailing_number_is_the_frame() {
        let name = NamingScheme::Automatic.parse("frame_0042").unwrap();
        assert_eq!((name.video.as_deref(), name.frame), (None, Some(42)));
        let name = NamingScheme::Automatic.parse("sunset").unwrap();
        assert_eq!(name, FrameName::default());
    }

    #[test]
    fn a_pattern_names_the_parts() {
        let scheme = NamingScheme::pattern(r"^(?P<video>\w+)@(?P<ts>[0-9.]+)s$").unwrap();
        let name = scheme.parse("evening@12.5s").unwrap();
        assert_eq!(
            (name.video.as_deref(), name.ts),
            (Some("evening"), Some(12.5))
        );
        let error = scheme.parse("evening-12").unwrap_err().to_string();
        assert!(error.contains("does not match the pattern"), "{error}");
    }

    #[test]
    fn a_bad_pattern_is_refused_with_the_fix() {
        let error = NamingScheme::pattern(r"(?P<video>\w+)")
            .unwrap_err()
            .to_string();
        assert!(error.contains("(?P<frame>"), "{error}");
        let error = NamingScheme::pattern(r"(?P<frame>\d+)(?P<camera>\w)")
            .unwrap_err()
            .to_string();
        assert!(error.contains("'camera'"), "{error}");
        assert!(NamingScheme::pattern("(").is_err());
    }

    #[test]
    fn an_impossible_start_is_refused() {
        assert_eq!(parse_start("20230230_120000"), None);
        assert_eq!(parse_start("20240229_235959"), Some(1_709_251_199_000));
        let error = NamingScheme::pattern(r"(?P<start>\d{8}_\d{6})-(?P<frame>\d+)")
            .unwrap()
            .parse("20231399_000000-1")
            .unwrap_err()
            .to_string();
        assert!(error.contains("broadcast start"), "{error}");
    }

    #[test]
    fn a_video_stem_gives_station_show_and_start() {
        let name = video_name("BBCNEWS_20231017_180000_BBC_News");
        assert_eq!(name.station.as_deref(), Some("BBCNEWS"));
        assert_eq!(name.show.as_deref(), Some("BBC_News"));
        assert!(name.start_ms.is_some());
        assert_eq!(video_name("broadcast").station, None);
    }
}
