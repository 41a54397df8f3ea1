//! A running `ffmpeg` that hands out one frame every N seconds of a video, with its time.
//!
//! ffmpeg's `select` filter keeps the first frame and then each frame at least N seconds after
//! the last one kept, so every timestamp is that of a real frame of the video (the `fps`
//! filter would make up a constant rate instead). `showinfo` prints each kept frame's
//! `pts_time` on stderr, and the frames come back on stdout as binary PPM images (`P6`): no
//! temporary files, and nothing to parse but a three-line header. The selection is a pure
//! function of the video and N, so decoding again with the same N gives the same frames
//! (`DETECT FACES` relies on it).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use image::RgbImage;

use super::transcript::parse_timestamp;
use super::video::FFMPEG_ENV;
use crate::error::{Error, Result};

/// The lines of ffmpeg's stderr kept for an error message.
const STDERR_TAIL: usize = 8;

/// What ffmpeg's stderr tells the reader thread.
enum StderrEvent {
    /// The input's duration, in seconds (from its header).
    Duration(f64),
    /// The `pts_time` of the next frame kept.
    Frame(f64),
}

/// A running ffmpeg that hands out `(pts_time, frame)` pairs.
pub(crate) struct FrameDecoder {
    child: Child,
    program: PathBuf,
    video: PathBuf,
    stdout: BufReader<std::process::ChildStdout>,
    events: mpsc::Receiver<StderrEvent>,
    stderr_tail: Option<thread::JoinHandle<Vec<String>>>,
    /// The video's duration in seconds, once ffmpeg has said it.
    pub(crate) duration: Option<f64>,
    stopped: bool,
}

impl FrameDecoder {
    /// Starts ffmpeg on `video`, keeping a frame every `every` seconds; `ffmpeg` is the program
    /// to run (default: `$REELDB_FFMPEG`, else `ffmpeg` on the `PATH`).
    pub(crate) fn spawn(video: &Path, every: f64, ffmpeg: Option<&Path>) -> Result<Self> {
        let program = ffmpeg
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(FFMPEG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("ffmpeg"));
        // Keep the first frame, then each one at least `every` seconds after the last kept.
        let filter = format!(
            "select='isnan(prev_selected_t)+gte(t-prev_selected_t,{})',showinfo",
            every
        );
        let mut child = Command::new(&program)
            .args(["-nostdin", "-hide_banner", "-loglevel", "info", "-i"])
            .arg(video)
            .args(["-map", "0:v:0", "-vf", &filter, "-fps_mode", "passthrough"])
            .args(["-f", "image2pipe", "-c:v", "ppm", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::InvalidArgument(format!(
                        "ffmpeg was not found (looked for '{}'): install it (Debian and Ubuntu: \
                         apt-get install ffmpeg), or name it with the environment variable \
                         {FFMPEG_ENV} (or `reeldb ingest ... --ffmpeg PATH`)",
                        program.display()
                    ))
                } else {
                    Error::Io {
                        action: "start".into(),
                        path: program.clone(),
                        cause: e,
                    }
                }
            })?;
        let stdout =
            BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout is piped"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, events) = mpsc::channel();
        let stderr_tail = thread::spawn(move || read_stderr(stderr, &sender));
        Ok(FrameDecoder {
            child,
            program,
            video: video.to_path_buf(),
            stdout,
            events,
            stderr_tail: Some(stderr_tail),
            duration: None,
            stopped: false,
        })
    }

    /// The next kept frame, or `None` at the end of the video (or of what ffmpeg could read).
    pub(crate) fn next_frame(&mut self) -> Result<Option<(f64, RgbImage)>> {
        let Some(image) = read_ppm(&mut self.stdout).map_err(|e| self.failure(&e))? else {
            return Ok(None);
        };
        // showinfo prints a frame's line before the encoder writes the frame, so it is there.
        loop {
            match self.events.recv() {
                Ok(StderrEvent::Duration(d)) => self.duration = Some(d),
                Ok(StderrEvent::Frame(pts)) => return Ok(Some((pts, image))),
                Err(_) => {
                    return Err(self.failure("ffmpeg gave a frame without its timestamp"));
                }
            }
        }
    }

    /// Stops ffmpeg early (the ingest was cancelled).
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
        // It may have exited already; either way it is reaped in `finish`.
        let _ = self.child.kill();
    }

    /// Waits for ffmpeg; an error if it failed (and was not stopped).
    pub(crate) fn finish(mut self) -> Result<()> {
        let status = self.child.wait().map_err(|cause| Error::System {
            action: "wait for ffmpeg".into(),
            cause,
        })?;
        let tail = self.take_tail();
        if status.success() || self.stopped {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "ffmpeg ('{}') could not read '{}' ({status}): {}",
            self.program.display(),
            self.video.display(),
            tail.join(" | ")
        )))
    }

    fn failure(&mut self, what: &str) -> Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let tail = self.take_tail();
        Error::InvalidArgument(format!(
            "reading frames of '{}' from ffmpeg failed: {what}; ffmpeg said: {}",
            self.video.display(),
            tail.join(" | ")
        ))
    }

    fn take_tail(&mut self) -> Vec<String> {
        self.stderr_tail
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        // An error on the way out must not leave ffmpeg running (or a zombie).
        if self.stderr_tail.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads ffmpeg's stderr: sends durations and frame times, and returns the last lines that
/// are neither (for an error message).
fn read_stderr(stderr: impl Read, events: &mpsc::Sender<StderrEvent>) -> Vec<String> {
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.contains("showinfo") {
            if let Some(pts) = field_after(&line, "pts_time:").and_then(|t| t.parse().ok()) {
                // The reader may have stopped listening (cancelled); keep draining stderr.
                let _ = events.send(StderrEvent::Frame(pts));
            }
            continue;
        }
        if let Some(duration) = field_after(&line, "Duration:").and_then(parse_timestamp) {
            let _ = events.send(StderrEvent::Duration(duration));
        }
        tail.push(line.trim().to_string());
        if tail.len() > STDERR_TAIL {
            tail.remove(0);
        }
    }
    tail
}

/// The word after `key` in `line`, up to whitespace or a comma.
fn field_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line[line.find(key)? + key.len()..].trim_start();
    rest.split(|c: char| c.is_whitespace() || c == ',').next()
}

/// Reads one binary PPM (`P6`, 8-bit) image; `None` at a clean end of the stream.
fn read_ppm(input: &mut impl BufRead) -> std::result::Result<Option<RgbImage>, String> {
    if input.fill_buf().map_err(|e| e.to_string())?.is_empty() {
        return Ok(None);
    }
    let magic = ppm_token(input)?;
    if magic != "P6" {
        return Err(format!("expected a PPM image (P6), found '{magic}'"));
    }
    let number = |input: &mut dyn BufRead, what: &str| -> std::result::Result<u32, String> {
        let token = ppm_token(input)?;
        token
            .parse()
            .map_err(|_| format!("bad PPM {what} '{token}'"))
    };
    let width = number(input, "width")?;
    let height = number(input, "height")?;
    let max = number(input, "maximum")?;
    if max == 0 || max > 255 {
        return Err(format!(
            "PPM with maximum {max}: only 8-bit frames are read"
        ));
    }
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    input
        .read_exact(&mut pixels)
        .map_err(|e| format!("a frame was cut short: {e}"))?;
    RgbImage::from_raw(width, height, pixels)
        .map(Some)
        .ok_or_else(|| "a PPM frame of the wrong size".to_string())
}

/// The next whitespace-separated header token; consumes the one whitespace byte after it.
fn ppm_token(input: &mut dyn BufRead) -> std::result::Result<String, String> {
    let mut token = String::new();
    let mut byte = [0u8; 1];
    loop {
        input
            .read_exact(&mut byte)
            .map_err(|e| format!("a PPM header was cut short: {e}"))?;
        match byte[0] {
            b'#' if token.is_empty() => {
                let mut comment = Vec::new();
                input
                    .read_until(b'\n', &mut comment)
                    .map_err(|e| e.to_string())?;
            }
            b if b.is_ascii_whitespace() => {
                if !token.is_empty() {
                    return Ok(token);
                }
            }
            b => token.push(char::from(b)),
        }
        if token.len() > 16 {
            return Err("a PPM header token is too long".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ppm_frames_one_after_another() {
        let mut stream = b"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06".to_vec();
        stream.extend_from_slice(b"P6 1 1 255 \x07\x08\x09");
        let mut input = BufReader::new(&stream[..]);
        let first = read_ppm(&mut input).unwrap().unwrap();
        assert_eq!(first.dimensions(), (2, 1));
        assert_eq!(first.get_pixel(1, 0).0, [4, 5, 6]);
        let second = read_ppm(&mut input).unwrap().unwrap();
        assert_eq!(second.get_pixel(0, 0).0, [7, 8, 9]);
        assert!(read_ppm(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_cut_frame_is_an_error() {
        let mut input = BufReader::new(&b"P6\n2 2\n255\n\x01\x02"[..]);
        assert!(read_ppm(&mut input).unwrap_err().contains("cut short"));
    }

    #[test]
    fn reads_showinfo_and_duration_lines() {
        let line = "[Parsed_showinfo_1 @ 0x5581] n:   3 pts:  82118 pts_time:6.85002 duration:1001";
        assert_eq!(field_after(line, "pts_time:"), Some("6.85002"));
        let header = "  Duration: 00:01:09.20, start: 0.000000, bitrate: 1234 kb/s";
        assert_eq!(
            field_after(header, "Duration:").and_then(parse_timestamp),
            Some(69.2)
        );
        assert_eq!(
            field_after("  Duration: N/A, bitrate: N/A", "Duration:").and_then(parse_timestamp),
            None
        );
    }
}
