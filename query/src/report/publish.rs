//! Publishing a report directory whole or not at all.
//!
//! Everything is written into a temporary directory beside the destination (same file
//! system, so a rename moves it), each file synced as it is closed; then the directory is
//! synced and renamed into place, and its parent synced. A report that fails drops its
//! temporary directory, so a reader of the destination sees the old report or the new one,
//! never part of one. Replacing renames the old report aside first, renames the new one in,
//! and only then deletes the old one (a link in it is removed, never followed). The temporary
//! names start with `.NAME.report-PID-`, so a run killed before it could clean up is
//! recognised by the next one, which removes what a process no longer running left.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use reeldb_engine::{Database, database_containing};
use tempfile::TempDir;

use super::error::ReportError;
use crate::error::Error;

/// The page's file name in the output directory.
pub const INDEX_FILE: &str = "index.html";

/// The `<meta>` every page carries, by which `--replace` knows a directory is a report.
pub(crate) const GENERATOR_META: &str = "<meta name=\"generator\" content=\"reeldb report\">";

fn io_error(action: &str, path: &Path, cause: std::io::Error) -> ReportError {
    ReportError::output(Error::Io {
        action: action.into(),
        path: path.to_path_buf(),
        cause,
    })
}

/// Checks that a report may be written to `out`: outside every database directory (`db`'s
/// included, however the path is spelled), and either absent or, with `replace`, a report
/// reeldb wrote.
pub fn check_destination(db: &Database, out: &Path, replace: bool) -> Result<(), ReportError> {
    db.check_outside(out).map_err(ReportError::output)?;
    if let Some(database) = database_containing(out).map_err(ReportError::output)? {
        return Err(ReportError::output(Error::Engine(
            reeldb_engine::Error::InsideDatabase {
                path: out.to_path_buf(),
                database,
            },
        )));
    }
    if out.file_name().is_none() {
        return Err(ReportError::output(Error::InvalidArgument(format!(
            "--out '{}' does not name a directory to create; give one, as in --out nightly",
            out.display()
        ))));
    }
    check_existing(out, replace)
}

/// The part of [`check_destination`] that is checked again just before publishing.
fn check_existing(out: &Path, replace: bool) -> Result<(), ReportError> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(cause) => Err(io_error("read", out, cause)),
        Ok(_) if !replace => Err(ReportError::OutputExists {
            path: out.to_path_buf(),
        }),
        Ok(_) if is_report(out) => Ok(()),
        Ok(_) => Err(ReportError::NotAReport {
            path: out.to_path_buf(),
        }),
    }
}

/// Whether `dir` holds an `index.html` that `reeldb report` wrote.
fn is_report(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(INDEX_FILE)) else {
        return false;
    };
    // The marker is in the page's head, well within its first bytes.
    let mut head = Vec::new();
    if file.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    String::from_utf8_lossy(&head).contains(GENERATOR_META)
}

/// A report being written: a temporary directory beside its destination.
pub(crate) struct Staging {
    dir: TempDir,
    out: PathBuf,
    parent: PathBuf,
    name: String,
}

impl Staging {
    /// Creates the temporary directory for a report to be published at `out` (its parent is
    /// created if missing).
    pub(crate) fn create(out: &Path) -> Result<Self, ReportError> {
        let parent = match out.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::create_dir_all(&parent)
            .map_err(|cause| io_error("create the directory", &parent, cause))?;
        remove_stale(&parent, &name);
        let dir = tempfile::Builder::new()
            .prefix(&staging_prefix(&name, std::process::id()))
            .tempdir_in(&parent)
            .map_err(|cause| io_error("create a directory in", &parent, cause))?;
        // A temporary directory is private to its owner; a published report is not.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|cause| io_error("set the permissions of", dir.path(), cause))?;
        }
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
            parent,
            name,
        })
    }

    /// The temporary directory, where the report's files are written.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` as the file `name` of the report, synced.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<(), ReportError> {
        let path = self.dir.path().join(name);
        let mut file = File::create(&path).map_err(|cause| io_error("create", &path, cause))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|cause| io_error("write", &path, cause))
    }

    /// Moves the report to its destination, replacing a report there when `replace` says so.
    pub(crate) fn publish(self, replace: bool) -> Result<PathBuf, ReportError> {
        let staged = self.dir.path().to_path_buf();
        sync_dir(&staged)?;
        check_existing(&self.out, replace)?;
        let old = match std::fs::symlink_metadata(&self.out) {
            Ok(_) => {
                let aside = self.unused_name("old");
                std::fs::rename(&self.out, &aside)
                    .map_err(|cause| io_error("move aside", &self.out, cause))?;
                Some(aside)
            }
            Err(_) => None,
        };
        if let Err(cause) = std::fs::rename(&staged, &self.out) {
            if let Some(aside) = &old {
                // Put the old report back; the error says what failed.
                let _ = std::fs::rename(aside, &self.out);
            }
            return Err(io_error("move the new report to", &self.out, cause));
        }
        // The new report is in place: the temporary directory no longer exists to delete.
        let _ = self.dir.keep();
        sync_dir(&self.parent)?;
        if let Some(aside) = old {
            remove_without_following(&aside)
                .map_err(|cause| io_error("delete the old report", &aside, cause))?;
        }
        Ok(self.out)
    }

    /// A name beside the destination that nothing has.
    fn unused_name(&self, what: &str) -> PathBuf {
        let pid = std::process::id();
        (0u32..)
            .map(|n| self.parent.join(format!(".{}.{what}-{pid}-{n}", self.name)))
            .find(|path| std::fs::symlink_metadata(path).is_err())
            .expect("some number is unused")
    }
}

fn staging_prefix(name: &str, pid: u32) -> String {
    format!(".{name}.report-{pid}-")
}

/// Removes the temporary and set-aside directories of reports to `name` that processes no
/// longer running left in `parent` (killed, or the machine stopped). Where there is no
/// `/proc` to ask whether a process runs, nothing is removed.
fn remove_stale(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefixes = [format!(".{name}.report-"), format!(".{name}.old-")];
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(rest) = prefixes
            .iter()
            .find_map(|p| file_name.strip_prefix(p.as_str()))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = remove_without_following(&entry.path());
        }
    }
}

/// Deletes `path`: a directory with everything in it, a file, or a link (the link itself:
/// what it points to is never touched).
fn remove_without_following(path: &Path) -> std::io::Result<()> {
    let metadata = std::fs::symlink_metadata(path)?;
    if metadata.is_dir() {
        // `remove_dir_all` removes links inside the tree without following them.
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

fn sync_dir(dir: &Path) -> Result<(), ReportError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|cause| io_error("sync", dir, cause))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        format!("<!DOCTYPE html><html><head>{GENERATOR_META}</head></html>")
    }

    #[test]
    fn a_report_appears_whole_and_replaces_only_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reports/nightly");
        let staging = Staging::create(&out).unwrap();
        staging.write(INDEX_FILE, page().as_bytes()).unwrap();
        staging.write("a.csv", b"x\n1\n").unwrap();
        assert!(
            !out.exists(),
            "nothing at the destination before publishing"
        );
        assert_eq!(staging.publish(false).unwrap(), out);
        assert_eq!(std::fs::read(out.join("a.csv")).unwrap(), b"x\n1\n");
        let names = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir.path().join("reports"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(), ["nightly"]);

        // Again: refused without replace, replaced with it, nothing left beside it.
        let staging = Staging::create(&out).unwrap();
        staging.write(INDEX_FILE, page().as_bytes()).unwrap();
        assert!(matches!(
            staging.publish(false),
            Err(ReportError::OutputExists { .. })
        ));
        assert_eq!(names(), ["nightly"], "a refused run leaves nothing");
        // A link in the old report is removed, and what it points to kept.
        let precious = dir.path().join("precious");
        std::fs::create_dir(&precious).unwrap();
        std::fs::write(precious.join("keep.txt"), b"keep").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&precious, out.join("link")).unwrap();
        let staging = Staging::create(&out).unwrap();
        staging.write(INDEX_FILE, page().as_bytes()).unwrap();
        staging.write("b.csv", b"y\n").unwrap();
        staging.publish(true).unwrap();
        assert!(out.join("b.csv").exists() && !out.join("a.csv").exists());
        assert_eq!(names(), ["nightly"]);
        assert_eq!(std::fs::read(precious.join("keep.txt")).unwrap(), b"keep");

        // A directory that is not a report is never replaced.
        let other = dir.path().join("home");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("thesis.tex"), b"...").unwrap();
        let staging = Staging::create(&other).unwrap();
        staging.write(INDEX_FILE, page().as_bytes()).unwrap();
        assert!(matches!(
            staging.publish(true),
            Err(ReportError::NotAReport { .. })
        ));
        assert!(other.join("thesis.tex").exists());
    }

    #[test]
    fn what_a_dead_run_left_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // No process has a pid this large (Linux allows at most 2^22).
        let dead = dir
            .path()
            .join(format!("{}x", staging_prefix("nightly", 99_999_999)));
        let live = dir.path().join(format!(
            "{}x",
            staging_prefix("nightly", std::process::id())
        ));
        let unrelated = dir
            .path()
            .join(format!("{}x", staging_prefix("weekly", 99_999_999)));
        for path in [&dead, &live, &unrelated] {
            std::fs::create_dir(path).unwrap();
        }
        let staging = Staging::create(&dir.path().join("nightly")).unwrap();
        assert!(!dead.exists() || !Path::new("/proc/self").exists());
        assert!(live.exists() && unrelated.exists());
        drop(staging);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(
            left.len(),
            if Path::new("/proc/self").exists() {
                2
            } else {
                3
            }
        );
    }
}
