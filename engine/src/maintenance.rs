//! Maintenance: compaction of small data files, and vacuum of old versions.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::layout::{DATA_DIR, INDEX_DIR, MANIFEST_DIR, MODEL_DIR, VECTOR_DIR, manifest_path};
use crate::manifest::Manifest;
use crate::snapshot::list_versions;

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Data files merged away.
    pub files_removed: usize,
    /// Data files written.
    pub files_written: usize,
    /// Rows moved.
    pub rows: u64,
    /// Vector indexes rebuilt to cover the new files.
    pub indexes_rebuilt: usize,
    /// The version committed, or `None` if there was nothing to do.
    pub version: Option<u64>,
}

/// What a vacuum did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// Old manifests deleted.
    pub versions_removed: usize,
    /// Old versions kept because a reader still uses them.
    pub versions_in_use: usize,
    /// Data files (and left-over temporary files) deleted.
    pub files_removed: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
}

impl Database {
    /// Merges the small data files of `table` (of every table if `None`) into files of about
    /// the target size, in one commit. A file counts as small below half the target size.
    /// Vector indexes that no longer cover exactly the table's files are rebuilt in the same
    /// commit.
    pub fn compact(&self, table: Option<&str>) -> Result<CompactionReport> {
        let mut txn = self.begin_write()?;
        let small_limit = (self.options().target_file_size / 2) as u64;
        let tables: Vec<String> = match table {
            Some(name) => vec![txn.table(name)?.name.clone()],
            None => txn
                .manifest()
                .tables
                .iter()
                .map(|t| t.name.clone())
                .collect(),
        };
        let mut report = CompactionReport::default();
        for name in tables {
            let small: Vec<_> = txn
                .table(&name)?
                .files
                .iter()
                .filter(|f| f.bytes < small_limit)
                .cloned()
                .collect();
            if small.len() >= 2 {
                for file in &small {
                    let path = txn.base().root().join(&file.path);
                    for batch in crate::data_file::read_data_file(&path)? {
                        report.rows += txn.append(&name, &batch?)?;
                    }
                    txn.remove_file(&name, &file.path)?;
                }
                report.files_removed += small.len();
            }
            // Rows inserted or deleted since an index was built, and compacted files, are put
            // into the table's indexes by rebuilding them in this commit.
            report.indexes_rebuilt += txn.refresh_vector_indexes(&name)?;
        }
        if report.files_removed == 0 && report.indexes_rebuilt == 0 {
            return Ok(report);
        }
        let before: HashSet<String> = txn
            .base()
            .manifest()
            .tables
            .iter()
            .flat_map(|t| t.files.iter().map(|f| f.path.clone()))
            .collect();
        let snapshot = txn.commit()?;
        report.files_written = snapshot
            .manifest()
            .tables
            .iter()
            .flat_map(|t| t.files.iter())
            .filter(|f| !before.contains(&f.path))
            .count();
        report.version = Some(snapshot.version());
        Ok(report)
    }

    /// Deletes old versions and the files only they use, keeping the newest `keep_versions`
    /// versions (at least one) and every version a reader still has open, in any process.
    /// Also deletes files left behind by transactions that crashed.
    pub fn vacuum(&self, keep_versions: usize) -> Result<VacuumReport> {
        // The writer lock keeps commits (and so new files) out while we decide what is garbage.
        let txn = self.begin_write()?;
        let root = self.path();
        let mut versions = list_versions(root)?;
        versions.sort_unstable();
        let keep_from = versions.len().saturating_sub(keep_versions.max(1));
        let mut report = VacuumReport::default();
        let mut kept: Vec<u64> = versions[keep_from..].to_vec();
        for &version in &versions[..keep_from] {
            if remove_unpinned_manifest(root, version, &mut report)? {
                report.versions_removed += 1;
            } else {
                report.versions_in_use += 1;
                kept.push(version);
            }
        }
        // Every file a kept version references stays.
        let mut live: HashSet<String> = HashSet::new();
        let mut live_dirs: HashSet<String> = HashSet::new();
        for version in kept {
            let path = manifest_path(root, version);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let manifest = Manifest::decode(&path, &bytes)?;
            for table in &manifest.tables {
                live.extend(table.files.iter().map(|f| f.path.clone()));
                live_dirs.extend(table.indexes.iter().map(|i| i.dir.clone()));
            }
            live_dirs.extend(manifest.models.iter().map(|m| m.dir.clone()));
        }
        remove_dead_data_files(root, &live, &mut report)?;
        remove_dead_vector_files(root, &live, &mut report)?;
        remove_dead_directories(root, INDEX_DIR, &live_dirs, &mut report)?;
        remove_dead_directories(root, MODEL_DIR, &live_dirs, &mut report)?;
        remove_temporary_manifests(root, &mut report)?;
        drop(txn);
        Ok(report)
    }
}

/// Deletes the manifest of `version` if no reader holds it. Returns whether it was deleted.
fn remove_unpinned_manifest(root: &Path, version: u64, report: &mut VacuumReport) -> Result<bool> {
    let path = manifest_path(root, version);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let Some(held) = FileLock::try_exclusive(file, &path)? else {
        return Ok(false);
    };
    let bytes = held.file().metadata().map(|m| m.len()).unwrap_or(0);
    // Unlinked while we hold the exclusive lock: a reader that locks it after us sees the path
    // gone and looks for a newer version (see `Snapshot::load`).
    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    crate::crash::crash_point("vacuum-removed-manifest");
    report.bytes_freed += bytes;
    Ok(true)
}

fn remove_dead_data_files(
    root: &Path,
    live: &HashSet<String>,
    report: &mut VacuumReport,
) -> Result<()> {
    let data = root.join(DATA_DIR);
    let tables = std::fs::read_dir(&data).map_err(|e| Error::io(&data, e))?;
    for table_dir in tables {
        let table_dir = table_dir.map_err(|e| Error::io(&data, e))?;
        let dir_name = table_dir.file_name().to_string_lossy().into_owned();
        let dir_path = table_dir.path();
        // Never through a link: a `data/t9 -> elsewhere` link is not the engine's, and
        // deleting what it points to would delete files outside the database.
        if !is_real_dir(&table_dir, &data)? {
            continue;
        }
        let files = std::fs::read_dir(&dir_path).map_err(|e| Error::io(&dir_path, e))?;
        let mut remaining = 0usize;
        for file in files {
            let file = file.map_err(|e| Error::io(&dir_path, e))?;
            let relative = format!(
                "{DATA_DIR}/{dir_name}/{}",
                file.file_name().to_string_lossy()
            );
            if live.contains(&relative) {
                remaining += 1;
                continue;
            }
            remove_counted(&file.path(), report)?;
            crate::crash::crash_point("vacuum-removed-file");
        }
        if remaining == 0 {
            // The directory of a dropped table; a later commit recreates it if needed.
            let _ = std::fs::remove_dir(&dir_path);
        }
    }
    crate::fs::sync_dir(&data)
}

/// Deletes the flat vector files of data files no kept version references, and temporary
/// vector files (a reader that loses its temporary file uses its vectors from memory).
fn remove_dead_vector_files(
    root: &Path,
    live: &HashSet<String>,
    report: &mut VacuumReport,
) -> Result<()> {
    let vectors = root.join(VECTOR_DIR);
    let tables = match std::fs::read_dir(&vectors) {
        Ok(tables) => tables,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&vectors, e)),
    };
    for table_dir in tables {
        let table_dir = table_dir.map_err(|e| Error::io(&vectors, e))?;
        let dir_name = table_dir.file_name().to_string_lossy().into_owned();
        let dir_path = table_dir.path();
        if !is_real_dir(&table_dir, &vectors)? {
            continue;
        }
        let mut remaining = 0usize;
        for file in std::fs::read_dir(&dir_path).map_err(|e| Error::io(&dir_path, e))? {
            let file = file.map_err(|e| Error::io(&dir_path, e))?;
            let name = file.file_name().to_string_lossy().into_owned();
            // `<stem>.c<column>.vec` belongs to `data/<table dir>/<stem>.parquet`.
            let data_file = name
                .strip_suffix(".vec")
                .and_then(|rest| rest.rsplit_once(".c"))
                .map(|(stem, _)| format!("{DATA_DIR}/{dir_name}/{stem}.parquet"));
            if data_file.is_some_and(|data_file| live.contains(&data_file)) {
                remaining += 1;
                continue;
            }
            remove_counted(&file.path(), report)?;
        }
        if remaining == 0 {
            let _ = std::fs::remove_dir(&dir_path);
        }
    }
    Ok(())
}

/// Deletes the directories under `parent` (index builds, stored models) that no kept version
/// references: dropped or replaced ones, and ones whose transaction never committed.
fn remove_dead_directories(
    root: &Path,
    parent: &str,
    live: &HashSet<String>,
    report: &mut VacuumReport,
) -> Result<()> {
    let indexes = root.join(parent);
    let builds = match std::fs::read_dir(&indexes) {
        Ok(builds) => builds,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&indexes, e)),
    };
    for build in builds {
        let build = build.map_err(|e| Error::io(&indexes, e))?;
        let relative = format!("{parent}/{}", build.file_name().to_string_lossy());
        if live.contains(&relative) {
            continue;
        }
        remove_tree(&build.path(), report)?;
    }
    Ok(())
}

/// Whether `entry` (of directory `parent`) is a directory itself, not a link to one.
fn is_real_dir(entry: &std::fs::DirEntry, parent: &Path) -> Result<bool> {
    // `DirEntry::file_type` does not follow links, unlike `Path::is_dir`.
    Ok(entry
        .file_type()
        .map_err(|e| Error::io(parent, e))?
        .is_dir())
}

/// Deletes `path` and, if it is a directory (not a link to one), everything in it. A link is
/// removed itself; what it points to is never touched.
fn remove_tree(path: &Path, report: &mut VacuumReport) -> Result<()> {
    let metadata = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if !metadata.is_dir() {
        return remove_counted(path, report);
    }
    for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        remove_tree(&entry.path(), report)?;
    }
    std::fs::remove_dir(path).map_err(|e| Error::io(path, e))
}

/// Deletes the file (or link) at `path`, counting it and its bytes.
fn remove_counted(path: &Path, report: &mut VacuumReport) -> Result<()> {
    // The link's own size for a link: the target is not what is freed.
    let bytes = std::fs::symlink_metadata(path)
        .map(|m| m.len())
        .unwrap_or(0);
    std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    report.files_removed += 1;
    report.bytes_freed += bytes;
    Ok(())
}

fn remove_temporary_manifests(root: &Path, report: &mut VacuumReport) -> Result<()> {
    let dir = root.join(MANIFEST_DIR);
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            remove_counted(&entry.path(), report)?;
        }
    }
    Ok(())
}
