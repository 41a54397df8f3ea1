//! `reeldb model pull NAME`: downloading a model from a model source, checked against the
//! checksums its description lists, so that a model is used whole or not at all.
//!
//! A model source is any HTTP(S) server with one directory per model. `BASE/NAME/reeldb-model.json`
//! describes the model:
//!
//! ```json
//! {"name": "mobilefacenet", "entry": "model.onnx",
//!  "options": {"layout": "face-encoder"},
//!  "files": [{"path": "model.onnx", "bytes": 4002386, "sha256": "a3f1...",
//!             "url": "https://.../model.onnx"}]}
//! ```
//!
//! Each file comes from its `url`, or from `BASE/NAME/PATH` without one. `entry` is the path
//! `CREATE MODEL` is given (the directory itself when absent), `options` its `WITH` options.
//!
//! Files are written into a staging directory beside the models directory and hashed as they
//! arrive; only when every file has its size and SHA-256 is the staging directory synced and
//! renamed to `MODELS_DIR/NAME`. A failed or interrupted download leaves no model behind, and
//! its staging directory is removed by the next pull of that name.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The file that describes a model in a model source.
pub const DESCRIPTION_FILE: &str = "reeldb-model.json";

/// The environment variable naming the model source.
pub const BASE_URL_VAR: &str = "REELDB_MODEL_BASE_URL";

/// The environment variable naming the directory pulled models are kept in.
pub const MODELS_DIR_VAR: &str = "REELDB_MODELS_DIR";

/// The largest model description read.
const DESCRIPTION_LIMIT: u64 = 1 << 20;

/// A model as a model source describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelDescription {
    /// The path within the model's directory to add (the directory when absent).
    #[serde(default)]
    pub entry: Option<String>,
    /// The `WITH` options to add it with.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The files, with their sizes and checksums.
    pub files: Vec<FileDescription>,
}

/// One file of a model.
#[derive(Debug, Clone, Deserialize)]
pub struct FileDescription {
    /// Where it goes in the model's directory.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, in hexadecimal.
    pub sha256: String,
    /// Where to fetch it, when not beside the description.
    #[serde(default)]
    pub url: Option<String>,
}

/// A model on disk after a pull.
#[derive(Debug)]
pub struct PulledModel {
    /// What `CREATE MODEL` is given: the directory, or its entry file.
    pub path: PathBuf,
    /// The options to add it with.
    pub options: BTreeMap<String, String>,
}

/// Pulls model `name` from the source at `base_url` into `models_dir/name`, or checks the
/// copy already there. Progress goes to `log`.
pub fn pull(
    name: &str,
    base_url: &str,
    models_dir: &Path,
    idle_timeout: Duration,
    log: &mut dyn Write,
) -> Result<PulledModel> {
    check_name(name)?;
    let base = base_url.trim_end_matches('/');
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let description_url = format!("{base}/{name}/{DESCRIPTION_FILE}");
    let description = fetch_description(&agent, name, &description_url)?;
    std::fs::create_dir_all(models_dir)
        .with_context(|| format!("cannot create '{}'", models_dir.display()))?;
    remove_stale_staging(models_dir, name);
    let target = models_dir.join(name);
    let pulled = || PulledModel {
        path: match &description.entry {
            Some(entry) => target.join(entry),
            None => target.clone(),
        },
        options: description.options.clone(),
    };
    if target.is_dir() && matches_description(&target, &description) {
        writeln!(
            log,
            "{name}: already in {}, checksums match",
            target.display()
        )?;
        return Ok(pulled());
    }
    let staging = models_dir.join(format!(".pull-{name}-{}", std::process::id()));
    let result = download_all(
        &agent,
        base,
        name,
        &description,
        &staging,
        idle_timeout,
        log,
    );
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if let Err(e) = publish(&staging, &target) {
        let _ = std::fs::remove_dir_all(&staging);
        bail!("cannot move the download into '{}': {e}", target.display());
    }
    writeln!(log, "{name}: complete in {}", target.display())?;
    Ok(pulled())
}

/// The directory pulled models are kept in: `REELDB_MODELS_DIR`, else the user's cache.
pub fn default_models_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(MODELS_DIR_VAR) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(cache).join("reeldb/models"));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/reeldb/models")),
        None => bail!("no models directory: set {MODELS_DIR_VAR} or pass --models-dir"),
    }
}

/// A model name that is a single, visible path component.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        bail!("'{name}' is not a model name: use letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

fn fetch_description(agent: &ureq::Agent, name: &str, url: &str) -> Result<ModelDescription> {
    let mut response = match agent.get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::StatusCode(404)) => {
            bail!("the model source has no model '{name}' ({url} answered 404 Not Found)")
        }
        Err(e) => bail!("cannot fetch {url}: {e}"),
    };
    let body = response
        .body_mut()
        .with_config()
        .limit(DESCRIPTION_LIMIT)
        .read_to_vec()
        .with_context(|| format!("cannot read {url}"))?;
    let description: ModelDescription = serde_json::from_slice(&body)
        .with_context(|| format!("{url} is not a model description"))?;
    if description.files.is_empty() {
        bail!("{url} lists no files");
    }
    for file in &description.files {
        check_relative(&file.path, url)?;
        if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "{url}: file '{}' has sha256 '{}', which is not 64 hexadecimal digits",
                file.path,
                file.sha256
            );
        }
    }
    if let Some(entry) = &description.entry {
        check_relative(entry, url)?;
    }
    Ok(description)
}

/// Refuses a path that could leave the model's directory.
fn check_relative(path: &str, url: &str) -> Result<()> {
    let components: Vec<Component<'_>> = Path::new(path).components().collect();
    if components.is_empty() || !components.iter().all(|c| matches!(c, Component::Normal(_))) {
        bail!("{url} lists the path '{path}', which is not a plain relative path; refused");
    }
    Ok(())
}

/// Whether every file in `dir` has the described size and checksum.
fn matches_description(dir: &Path, description: &ModelDescription) -> bool {
    description.files.iter().all(|file| {
        let path = dir.join(&file.path);
        let Ok(metadata) = std::fs::metadata(&path) else {
            return false;
        };
        metadata.len() == file.bytes
            && File::open(&path)
                .and_then(|mut f| sha256_of(&mut f))
                .is_ok_and(|sum| sum.eq_ignore_ascii_case(&file.sha256))
    })
}

fn sha256_of(reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn download_all(
    agent: &ureq::Agent,
    base: &str,
    name: &str,
    description: &ModelDescription,
    staging: &Path,
    idle_timeout: Duration,
    log: &mut dyn Write,
) -> Result<()> {
    std::fs::create_dir_all(staging)
        .with_context(|| format!("cannot create '{}'", staging.display()))?;
    for file in &description.files {
        let url = file
            .url
            .clone()
            .unwrap_or_else(|| format!("{base}/{name}/{}", file.path));
        let started = Instant::now();
        download(agent, &url, file, &staging.join(&file.path), idle_timeout)?;
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        writeln!(
            log,
            "{name}: {} ({:.1} MB, {:.1} MB/s), sha256 checked",
            file.path,
            file.bytes as f64 / 1e6,
            file.bytes as f64 / 1e6 / seconds
        )?;
    }
    Ok(())
}

/// Streams `url` into `path`, checking its size and SHA-256 as it arrives; a server that
/// sends nothing for `idle_timeout` ends the download with an error.
fn download(
    agent: &ureq::Agent,
    url: &str,
    file: &FileDescription,
    path: &Path,
    idle_timeout: Duration,
) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create '{}'", parent.display()))?;
    }
    let response = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot download {url}"))?;
    // One byte more than described, so that a longer file is caught rather than cut.
    let body = response
        .into_body()
        .into_with_config()
        .limit(file.bytes + 1)
        .reader();
    let mut reader = IdleTimeoutReader::spawn(body, idle_timeout);
    let mut out =
        File::create(path).with_context(|| format!("cannot create '{}'", path.display()))?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buffer).with_context(|| {
            format!(
                "the download of {url} broke off after {received} of {} bytes",
                file.bytes
            )
        })?;
        if n == 0 {
            break;
        }
        received += n as u64;
        if received > file.bytes {
            bail!(
                "{url} is longer than the {} bytes its description gives",
                file.bytes
            );
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n])
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    if received != file.bytes {
        bail!(
            "the download of {url} ended after {received} of {} bytes",
            file.bytes
        );
    }
    let sum = hex(&hasher.finalize());
    if !sum.eq_ignore_ascii_case(&file.sha256) {
        bail!(
            "{url} has SHA-256 {sum}, but its description gives {}: the file on the server is \
             not the one described (or was damaged in transit); nothing was kept",
            file.sha256
        );
    }
    out.sync_all()
        .with_context(|| format!("cannot sync '{}'", path.display()))?;
    Ok(())
}

/// Replaces `target` with `staging`: the old copy (if any) is moved aside first, so that the
/// name never points at a half-written model.
fn publish(staging: &Path, target: &Path) -> std::io::Result<()> {
    sync_tree(staging)?;
    let parent = target.parent().unwrap_or(Path::new("."));
    if target.exists() {
        let aside = parent.join(format!(
            ".old-{}-{}",
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("model"),
            std::process::id()
        ));
        std::fs::rename(target, &aside)?;
        std::fs::rename(staging, target)?;
        std::fs::remove_dir_all(&aside)?;
    } else {
        std::fs::rename(staging, target)?;
    }
    File::open(parent)?.sync_all()
}

/// Syncs every directory under `dir` (the files were synced as they were written).
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    File::open(dir)?.sync_all()
}

/// Removes staging directories an interrupted pull of `name` left behind (those of a process
/// that is still running are its own business).
fn remove_stale_staging(models_dir: &Path, name: &str) {
    let prefixes = [format!(".pull-{name}-"), format!(".old-{name}-")];
    let Ok(entries) = std::fs::read_dir(models_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if prefixes.iter().any(|p| {
            file_name.strip_prefix(p.as_str()).is_some_and(|pid| {
                pid.bytes().all(|b| b.is_ascii_digit()) && !Path::new("/proc").join(pid).exists()
            })
        }) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A reader of a body on its own thread, so that a read can be given up: ureq bounds a whole
/// body's time, not the wait for its next bytes, and a model of a gigabyte may rightly take
/// long while a stalled server must not hang the pull for ever. A read that brings nothing
/// for the idle time fails with `TimedOut`; the thread, blocked on its socket, ends with the
/// process (or when the server finally answers).
struct IdleTimeoutReader {
    chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    idle: Duration,
}

impl IdleTimeoutReader {
    fn spawn(mut body: impl Read + Send + 'static, idle: Duration) -> Self {
        // Two chunks in flight: the network stays busy while one is hashed and written.
        let (sender, chunks) = mpsc::sync_channel(2);
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let read = body.read(&mut buffer).map(|n| buffer[..n].to_vec());
                let done = !matches!(&read, Ok(chunk) if !chunk.is_empty());
                if sender.send(read).is_err() || done {
                    break;
                }
            }
        });
        IdleTimeoutReader {
            chunks,
            current: Vec::new(),
            at: 0,
            idle,
        }
    }
}

impl Read for IdleTimeoutReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.current.len() {
            self.current = match self.chunks.recv_timeout(self.idle) {
                Ok(chunk) => chunk?,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "the server sent nothing for {} s (--idle-timeout)",
                            self.idle.as_secs_f64()
                        ),
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => Vec::new(),
            };
            self.at = 0;
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
