//! `PendingFile`: a file the CLI writes (a `--output` result) that appears under its name only
//! once it is complete.
//!
//! It is written under a temporary name in the same directory and renamed over the target
//! when the command succeeded, so a failed or interrupted statement never truncates or half
//! writes the file a user named; dropping it unpublished deletes the temporary file. The
//! target is checked to lie outside the database directory first: only the engine writes
//! there.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reeldb_engine::Database;
use tempfile::NamedTempFile;

/// See the module documentation.
pub struct PendingFile {
    target: PathBuf,
    temporary: NamedTempFile,
}

impl PendingFile {
    /// A temporary file beside `target`, which must not be inside `db`'s directory.
    pub fn create(db: &Database, target: &Path) -> Result<Self> {
        db.check_outside(target)?;
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .with_context(|| format!("'{}' does not name a file", target.display()))?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A temporary file is private to its owner, which the published result should not
        // be: give it the permissions of the file it replaces, or those of a new file.
        #[cfg(unix)]
        builder.permissions(match std::fs::metadata(target) {
            Ok(existing) => existing.permissions(),
            Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o644),
        });
        let temporary = builder
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a file in '{}'", dir.display()))?;
        Ok(PendingFile {
            target: target.to_path_buf(),
            temporary,
        })
    }

    /// A handle to write the temporary file through.
    pub fn file(&self) -> Result<File> {
        self.temporary
            .as_file()
            .try_clone()
            .with_context(|| format!("cannot write '{}'", self.temporary.path().display()))
    }

    /// The temporary file's path, for writers that open it themselves.
    pub fn temporary_path(&self) -> &Path {
        self.temporary.path()
    }

    /// Syncs the temporary file and renames it over the target.
    pub fn publish(self) -> Result<()> {
        self.temporary
            .as_file()
            .sync_all()
            .with_context(|| format!("cannot write '{}'", self.temporary.path().display()))?;
        self.temporary
            .persist(&self.target)
            .with_context(|| format!("cannot create '{}'", self.target.display()))?;
        Ok(())
    }
}
