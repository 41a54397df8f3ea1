//! File-system helpers: durable writes and directory syncs.
//!
//! The commit protocol relies on three operations being durable in order: data files are
//! synced, the manifest is written to a temporary name and synced, then renamed into place
//! and its directory synced. These helpers are the only places that do that.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Syncs a directory so that entries created or renamed in it survive a crash.
pub fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Syncs the contents of an already written file.
pub fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Writes `bytes` to `path` through a temporary file, so that `path` either keeps its old
/// content or holds all of `bytes`, never a part. The directory is synced afterwards.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_then(path, bytes, || {})
}

/// [`write_atomically`], calling `renamed` as soon as the rename has happened, before the
/// directory sync: from then on the new content is visible, whatever the sync returns.
pub fn write_atomically_then(path: &Path, bytes: &[u8], renamed: impl FnOnce()) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => {
            return Err(Error::Internal(format!(
                "'{}' has no parent",
                path.display()
            )));
        }
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Internal(format!("'{}' has no file name", path.display())))?;
    let tmp = dir.join(format!(
        "{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    crate::crash::crash_point("manifest-written");
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    crate::crash::crash_point("manifest-synced");
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    renamed();
    crate::crash::crash_point("manifest-renamed");
    sync_dir(dir)
}

/// Creates `path` and any missing parents, syncing each directory it creates and the
/// parent that gained an entry.
pub fn create_dir_durably(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    let parent = match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Some(Path::new(".")),
        other => other,
    };
    if let Some(parent) = parent {
        create_dir_durably(parent)?;
    }
    match std::fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    if let Some(parent) = parent {
        sync_dir(parent)?;
    }
    Ok(())
}
