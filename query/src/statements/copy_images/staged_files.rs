//! The files of one `COPY ... TO` image statement, written under temporary names and renamed
//! into place together.
//!
//! Each file is written to a temporary name in its target's directory (`.reeldb-copy.*.tmp`,
//! so the rename stays on one file system) and synced. [`StagedFiles::publish`] renames them
//! all over their targets and syncs the directories. Until then nothing the user named has
//! changed: dropping the set (an error, Ctrl-C) deletes the temporary files and the
//! directories it created, deepest first, so a failed statement leaves nothing behind.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::{Error, Result};

/// One file written under its temporary name.
#[derive(Debug)]
pub(super) struct StagedFile {
    temporary: TempPath,
    target: PathBuf,
    bytes: u64,
    converted: bool,
}

/// A file in place, as the statement reports it.
#[derive(Debug)]
pub(super) struct WrittenFile {
    /// The target, as the pattern made it.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Whether the cell was converted to the target's format.
    pub converted: bool,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct StagedFiles {
    files: Vec<StagedFile>,
    /// Directories this statement created, in order of creation (parents first).
    created: Vec<PathBuf>,
    /// Directories known to exist: targets' directories, checked or created once each.
    present: HashSet<PathBuf>,
}

impl StagedFiles {
    /// Makes sure `target`'s directory exists, creating what is missing of it (and recording
    /// that, to remove it if the statement fails).
    pub(super) fn prepare_directory(&mut self, target: &Path) -> Result<()> {
        let dir = directory_of(target);
        if self.present.contains(dir) {
            return Ok(());
        }
        let missing: Vec<&Path> = dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| std::fs::symlink_metadata(a).is_err())
            .collect();
        for dir in missing.into_iter().rev() {
            match std::fs::create_dir(dir) {
                Ok(()) => self.created.push(dir.to_path_buf()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(cause) => {
                    return Err(Error::Io {
                        action: "create the directory".into(),
                        path: dir.to_path_buf(),
                        cause,
                    });
                }
            }
        }
        if !dir.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a directory, so '{}' cannot be written in it",
                dir.display(),
                target.display()
            )));
        }
        self.present.insert(dir.to_path_buf());
        Ok(())
    }

    /// Writes `bytes` for `target` under a temporary name beside it and syncs them; the
    /// directory must be prepared. Safe to call from several threads at once.
    pub(super) fn write(target: &Path, bytes: &[u8], converted: bool) -> Result<StagedFile> {
        let dir = directory_of(target);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".reeldb-copy.").suffix(".tmp");
        // A temporary file is private to its owner, which the published file should not be:
        // give it the permissions of the file it replaces, or those of a new file.
        #[cfg(unix)]
        builder.permissions(match std::fs::metadata(target) {
            Ok(existing) => existing.permissions(),
            Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o644),
        });
        let io = |cause| Error::Io {
            action: "write a temporary file in".into(),
            path: dir.to_path_buf(),
            cause,
        };
        let mut file = builder.tempfile_in(dir).map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        Ok(StagedFile {
            // Closes the file: a statement may stage more files than a process may hold open.
            temporary: file.into_temp_path(),
            target: target.to_path_buf(),
            bytes: bytes.len() as u64,
            converted,
        })
    }

    /// Adds a written file, in the order of the rows.
    pub(super) fn push(&mut self, file: StagedFile) {
        self.files.push(file);
    }

    /// Renames every file over its target and syncs their directories, so that the new
    /// names survive a crash.
    ///
    /// The renames are the only step that is not all or nothing: each target's directory was
    /// checked to exist and each target not to be a directory, so only a failing disk can
    /// stop one part-way, and the error then says how many files were already in place.
    pub(super) fn publish(mut self) -> Result<Vec<WrittenFile>> {
        let files = std::mem::take(&mut self.files);
        let total = files.len();
        let mut written = Vec::with_capacity(total);
        let mut directories = HashSet::new();
        for (done, staged) in files.into_iter().enumerate() {
            let StagedFile {
                temporary,
                target,
                bytes,
                converted,
            } = staged;
            // A failed rename gives the temporary path back, and dropping it deletes it.
            temporary.persist(&target).map_err(|e| Error::Io {
                action: format!(
                    "move the written image into place ({done} of {total} files are in place) as"
                ),
                path: target.clone(),
                cause: e.error,
            })?;
            directories.insert(directory_of(&target).to_path_buf());
            written.push(WrittenFile {
                file: target.display().to_string(),
                bytes,
                converted,
            });
        }
        for created in std::mem::take(&mut self.created) {
            directories.insert(directory_of(&created).to_path_buf());
        }
        for dir in directories {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|cause| Error::Io {
                    action: "sync the directory".into(),
                    path: dir.clone(),
                    cause,
                })?;
        }
        Ok(written)
    }
}

impl Drop for StagedFiles {
    fn drop(&mut self) {
        // Temporary files delete themselves when dropped; then their directories are empty.
        self.files.clear();
        for dir in self.created.iter().rev() {
            // Never follows a link: `remove_dir` removes only an empty directory itself.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The directory a target is written in (`.` for a bare file name).
fn directory_of(target: &Path) -> &Path {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = walk(dir)
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        names.sort();
        names
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.clone());
            if path.is_dir() {
                found.extend(walk(&path));
            }
        }
        found
    }

    #[test]
    fn files_appear_together_and_a_dropped_set_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = |name: &str| root.path().join(name);
        std::fs::write(target("old.png"), b"old").unwrap();

        let mut staged = StagedFiles::default();
        for name in ["a/b/one.png", "old.png"] {
            staged.prepare_directory(&target(name)).unwrap();
            staged.push(StagedFiles::write(&target(name), b"new", false).unwrap());
        }
        assert_eq!(std::fs::read(target("old.png")).unwrap(), b"old");
        assert!(!target("a/b/one.png").exists());
        drop(staged);
        assert_eq!(names(root.path()), ["old.png"]);

        let mut staged = StagedFiles::default();
        for name in ["a/b/one.png", "old.png"] {
            staged.prepare_directory(&target(name)).unwrap();
            staged.push(StagedFiles::write(&target(name), b"new", true).unwrap());
        }
        let written = staged.publish().unwrap();
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|w| w.bytes == 3 && w.converted));
        assert_eq!(names(root.path()), ["a", "a/b", "a/b/one.png", "old.png"]);
        assert_eq!(std::fs::read(target("old.png")).unwrap(), b"new");
    }

    #[test]
    fn a_file_where_a_directory_should_be_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("plain"), b"x").unwrap();
        let mut staged = StagedFiles::default();
        let error = staged
            .prepare_directory(&root.path().join("plain/one.png"))
            .unwrap_err();
        assert!(error.to_string().contains("is not a directory"), "{error}");
    }
}
