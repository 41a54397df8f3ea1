//! Snapshots: one committed version of the database, as a reader sees it.
//!
//! A snapshot holds a shared OS lock on its manifest file for as long as it lives. Vacuum
//! deletes a manifest (and the data files only it references) only after taking an exclusive
//! lock on it, so the files of a snapshot in use are never deleted under a reader, in this
//! process or another.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::layout::{MANIFEST_DIR, manifest_path, parse_manifest_name};
use crate::manifest::{DataFileEntry, Manifest, ModelEntry, TableEntry, VectorIndexEntry};
use crate::vector::vector_column;
use crate::vector_file::{VectorFile, open_vector_file};
use crate::vector_search::{self, SearchRequest, SearchResult};

/// A committed version of the database.
#[derive(Debug)]
pub struct Snapshot {
    root: PathBuf,
    manifest: Manifest,
    /// The open manifest file with a shared lock on it; `None` for version 0.
    _pin: Option<FileLock>,
}

impl Snapshot {
    /// The empty version 0 of a database with no commits.
    pub(crate) fn empty(root: &Path) -> Self {
        Snapshot {
            root: root.to_path_buf(),
            manifest: Manifest::empty(),
            _pin: None,
        }
    }

    /// Loads the newest committed version of the database at `root`.
    pub(crate) fn load_latest(root: &Path) -> Result<Arc<Self>> {
        // A manifest that vacuum deletes between our listing and our lock makes us list again;
        // vacuum never deletes the newest, so this ends.
        loop {
            let Some(version) = latest_version(root)? else {
                return Ok(Arc::new(Snapshot::empty(root)));
            };
            match Self::load(root, version) {
                Ok(Some(snapshot)) => return Ok(Arc::new(snapshot)),
                Ok(None) => {}
                Err(Error::CorruptFile { path, reason }) => {
                    return Err(Error::CorruptFile {
                        reason: format!("{reason}. {}", roll_back_hint(root, version)?),
                        path,
                    });
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Loads `version`, or returns `None` if its manifest no longer exists.
    fn load(root: &Path, version: u64) -> Result<Option<Self>> {
        let path = manifest_path(root, version);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let pin = FileLock::shared(file, &path)?;
        // Vacuum unlinks a manifest while it holds the exclusive lock; once we hold the shared
        // lock, the path still existing means vacuum has not taken it and now cannot.
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let manifest = Manifest::decode(&path, &bytes)?;
        if manifest.version != version {
            return Err(Error::corrupt(
                &path,
                format!(
                    "it holds version {} under the name of version {version}",
                    manifest.version
                ),
            ));
        }
        Ok(Some(Snapshot {
            root: root.to_path_buf(),
            manifest,
            _pin: Some(pin),
        }))
    }

    /// The version number; 0 for a database with no commits.
    pub fn version(&self) -> u64 {
        self.manifest.version
    }

    /// The catalog of this version.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The database directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The names of all tables, sorted.
    pub fn table_names(&self) -> Vec<&str> {
        self.manifest
            .tables
            .iter()
            .map(|t| t.name.as_str())
            .collect()
    }

    /// The table named `name`, or [`Error::TableNotFound`] with a suggestion.
    pub fn table(&self, name: &str) -> Result<&TableEntry> {
        self.manifest
            .table(name)
            .ok_or_else(|| table_not_found(&self.manifest, name))
    }

    /// The model named `name`, or [`Error::ModelNotFound`].
    pub fn model(&self, name: &str) -> Result<&ModelEntry> {
        self.manifest
            .model(name)
            .ok_or_else(|| Error::ModelNotFound {
                name: name.to_string(),
            })
    }

    /// The Arrow schema of table `name`.
    pub fn table_schema(&self, name: &str) -> Result<SchemaRef> {
        self.table(name)?.schema()
    }

    /// The absolute path of a data file.
    pub fn data_file_path(&self, file: &DataFileEntry) -> PathBuf {
        self.root.join(&file.path)
    }

    /// Checks that a data file exists with the size the manifest recorded, so that a missing
    /// or truncated file is reported by name before any reader trips over it.
    pub fn check_data_file(&self, file: &DataFileEntry) -> Result<()> {
        let path = self.data_file_path(file);
        let metadata = std::fs::metadata(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::corrupt(
                &path,
                "the data file is missing; the database directory was damaged or edited by hand",
            ),
            _ => Error::io(&path, e),
        })?;
        if metadata.len() != file.bytes {
            return Err(Error::corrupt(
                &path,
                format!(
                    "the data file has {} bytes but was committed with {} (truncated or overwritten)",
                    metadata.len(),
                    file.bytes
                ),
            ));
        }
        Ok(())
    }

    /// The flat vector file of vector column `column` of `file`, a data file of table
    /// `table`: the column's vectors, memory-mapped (built first if missing or stale; with
    /// `cache` false, as for a read-only database, built in memory only).
    pub fn vector_file(
        &self,
        table: &str,
        file: &DataFileEntry,
        column: &str,
        cache: bool,
    ) -> Result<Arc<VectorFile>> {
        let (dim, position) = vector_column(self.table(table)?, column)?;
        open_vector_file(self.root(), file, position, dim, cache)
    }

    /// The vector index named `name`, if the snapshot has it.
    pub fn vector_index(&self, name: &str) -> Option<(&TableEntry, &VectorIndexEntry)> {
        self.manifest().index(name)
    }

    /// Runs a top-k search; see [`SearchRequest`].
    pub fn vector_search(&self, request: &SearchRequest<'_>) -> Result<SearchResult> {
        vector_search::search(self, request)
    }
}

/// How to get a database whose newest manifest (of `version`) is unreadable back to the
/// version before it.
fn roll_back_hint(root: &Path, version: u64) -> Result<String> {
    let previous = list_versions(root)?
        .into_iter()
        .filter(|&v| v < version)
        .max();
    let path = manifest_path(root, version);
    Ok(match previous {
        Some(previous) => format!(
            "To open the database at the version before it ({previous}), losing the changes of \
             version {version}, move '{}' out of the manifests directory (keep it for a bug \
             report); the files only version {version} used stay until VACUUM",
            path.display()
        ),
        None => format!(
            "It is the only version, so there is no earlier one to go back to; restore the \
             database directory from a backup (keep '{}' for a bug report)",
            path.display()
        ),
    })
}

/// The newest version in the manifest directory, or `None` if there is none.
pub(crate) fn latest_version(root: &Path) -> Result<Option<u64>> {
    Ok(list_versions(root)?.into_iter().max())
}

/// All versions whose manifests exist, unsorted.
pub(crate) fn list_versions(root: &Path) -> Result<Vec<u64>> {
    let dir = root.join(MANIFEST_DIR);
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        if let Some(version) = entry.file_name().to_str().and_then(parse_manifest_name) {
            versions.push(version);
        }
    }
    Ok(versions)
}

/// A [`Error::TableNotFound`] for `name`, suggesting a table whose name differs only in case
/// or is the closest by edit distance.
pub(crate) fn table_not_found(manifest: &Manifest, name: &str) -> Error {
    let lower = name.to_lowercase();
    let suggestion = manifest
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .find(|t| t.to_lowercase() == lower)
        .or_else(|| {
            manifest
                .tables
                .iter()
                .map(|t| (edit_distance(&t.name, name), t.name.as_str()))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, t)| t)
        });
    Error::TableNotFound {
        name: name.to_string(),
        hint: suggestion
            .map(|s| format!(" (did you mean '{s}'?)"))
            .unwrap_or_default(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}
