//! Stored models: what a caller says about a model it adds ([`ModelDescription`]), the checks
//! of its name and of the columns that record it, and its files, copied into the database when
//! it is added and checked before they are loaded.
//!
//! A model is stored as a directory `models/<name>-<version>/` holding copies of the files it
//! was added from. Copying (rather than remembering where the files were) keeps a database
//! self-contained and makes a model's identity, its SHA-256, mean the same bytes for as long
//! as the model exists. Files are synced before the manifest that lists them is published.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::manifest::{IndexFileEntry, Manifest, ModelEntry};
use crate::names::validate_model_name;

/// What the caller says about a model it adds; see [`WriteTransaction::add_model`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDescription {
    /// The name it is known by in SQL.
    pub name: String,
    /// What it embeds (`image`, `text`, `image+text`) or does (`face-detector`).
    pub kind: String,
    /// The layout of its files (`clip`, `sentence-transformer`, ...).
    pub layout: String,
    /// The dimension of its vectors (0 for a model that makes none).
    pub dim: u32,
    /// Layout-specific settings.
    pub config: serde_json::Value,
}

/// The name of the built-in image model, which needs no files and always exists.
pub const BUILTIN_MODEL: &str = "builtin";

/// The length of the built-in model's vectors (the udf crate, which computes them, checks
/// that it agrees at compile time).
pub const BUILTIN_MODEL_DIM: usize = 276;

/// Checks that `name` can name a new model of the catalog `manifest`.
pub(crate) fn check_new_model_name(manifest: &Manifest, name: &str) -> Result<()> {
    validate_model_name(name)?;
    if manifest.model(name).is_some() {
        return Err(Error::ModelExists {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Copies `files` into `relative_dir` of the database at `root` and returns the entry that
/// records the model described by `description`.
pub(crate) fn store_model(
    root: &Path,
    relative_dir: String,
    description: ModelDescription,
    files: &ModelFiles,
) -> Result<ModelEntry> {
    let stored = store_model_files(&root.join(&relative_dir), files)?;
    Ok(ModelEntry {
        name: description.name,
        kind: description.kind,
        layout: description.layout,
        dim: description.dim,
        config: description.config,
        dir: relative_dir,
        files: stored.files,
        sha256: stored.sha256,
    })
}

/// Adds `entry` to the catalog, which keeps its models sorted by name.
pub(crate) fn insert_model(manifest: &mut Manifest, entry: ModelEntry) {
    let position = manifest.models.partition_point(|m| m.name < entry.name);
    manifest.models.insert(position, entry);
}

/// The length of the vectors model `name` makes (0 for a model that makes none).
pub(crate) fn model_dimension(manifest: &Manifest, name: &str) -> Result<usize> {
    if name == BUILTIN_MODEL {
        return Ok(BUILTIN_MODEL_DIM);
    }
    manifest
        .model(name)
        .map(|model| model.dim as usize)
        .ok_or_else(|| Error::ModelNotFound {
            name: name.to_string(),
        })
}

/// Checks that vector column `column`, of dimension `dim`, can hold the vectors of model
/// `name`, which makes vectors of dimension `model_dim`.
pub(crate) fn check_column_takes_model(
    name: &str,
    model_dim: usize,
    column: &str,
    dim: usize,
) -> Result<()> {
    if model_dim == dim {
        return Ok(());
    }
    Err(Error::InvalidArgument(if model_dim == 0 {
        format!("model '{name}' makes no vectors, so column '{column}' cannot record it")
    } else {
        format!(
            "model '{name}' makes {model_dim}-dimensional vectors and column '{column}' \
             holds {dim}-dimensional ones; they cannot be from that model"
        )
    }))
}

/// The files a model is added from: each source path, and the name its copy gets inside the
/// model's directory (a plain file name, unique within the model).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFiles {
    /// `(source, stored name)` pairs, in the order they are hashed.
    pub files: Vec<(PathBuf, String)>,
}

impl ModelFiles {
    /// Adds the file at `source`, stored under `name`.
    pub fn add(&mut self, source: impl Into<PathBuf>, name: impl Into<String>) {
        self.files.push((source.into(), name.into()));
    }
}

/// The stored copies of a model's files.
struct StoredModel {
    pub files: Vec<IndexFileEntry>,
    pub sha256: String,
}

/// Copies `files` into the new directory `dir` (which must not exist yet, or is a left-over
/// of a crashed transaction), syncing each file and the directory.
fn store_model_files(dir: &Path, files: &ModelFiles) -> Result<StoredModel> {
    if files.files.is_empty() {
        return Err(Error::InvalidArgument(
            "a stored model needs at least one file".into(),
        ));
    }
    for (_, name) in &files.files {
        let plain = Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name.as_str());
        if !plain || name.starts_with('.') {
            return Err(Error::Internal(format!(
                "model file name '{name}' is not a plain file name"
            )));
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::fs::create_dir_durably(dir)?;
    let mut identity = Sha256::new();
    let mut stored = Vec::with_capacity(files.files.len());
    for (source, name) in &files.files {
        let target = dir.join(name);
        let (bytes, crc32, sha) = copy_and_hash(source, &target)?;
        identity.update((name.len() as u64).to_le_bytes());
        identity.update(name.as_bytes());
        identity.update(bytes.to_le_bytes());
        identity.update(sha);
        stored.push(IndexFileEntry {
            name: name.clone(),
            bytes,
            crc32,
        });
    }
    crate::fs::sync_dir(dir)?;
    Ok(StoredModel {
        files: stored,
        sha256: hex(&identity.finalize()),
    })
}

/// Checks that every file of `model` is present under `root` with its recorded size and
/// CRC-32, and returns the model's directory.
pub fn check_model_files(root: &Path, model: &ModelEntry) -> Result<PathBuf> {
    let dir = root.join(&model.dir);
    for file in &model.files {
        let path = dir.join(&file.name);
        let mut reader = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut hasher = crc32fast::Hasher::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = reader.read(&mut buffer).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        if bytes != file.bytes {
            return Err(Error::corrupt(
                &path,
                format!(
                    "model '{}' file has {bytes} bytes, the manifest says {}",
                    model.name, file.bytes
                ),
            ));
        }
        let crc32 = hasher.finalize();
        if crc32 != file.crc32 {
            return Err(Error::corrupt(
                &path,
                format!(
                    "model '{}' file fails its checksum ({crc32:08x}, expected {:08x})",
                    model.name, file.crc32
                ),
            ));
        }
    }
    Ok(dir)
}

/// Copies `source` to `target` and syncs it; returns the size, CRC-32 and SHA-256.
fn copy_and_hash(source: &Path, target: &Path) -> Result<(u64, u32, [u8; 32])> {
    let mut reader = File::open(source).map_err(|e| Error::io(source, e))?;
    let mut writer = File::create(target).map_err(|e| Error::io(target, e))?;
    let mut crc = crc32fast::Hasher::new();
    let mut sha = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = reader.read(&mut buffer).map_err(|e| Error::io(source, e))?;
        if n == 0 {
            break;
        }
        crc.update(&buffer[..n]);
        sha.update(&buffer[..n]);
        writer
            .write_all(&buffer[..n])
            .map_err(|e| Error::io(target, e))?;
        bytes += n as u64;
    }
    writer.sync_all().map_err(|e| Error::io(target, e))?;
    Ok((bytes, crc.finalize(), sha.finalize().into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_files_are_checked_for_size_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("model.onnx");
        std::fs::write(&source, b"weights").unwrap();
        let mut files = ModelFiles::default();
        files.add(&source, "model.onnx");
        let stored = store_model_files(&dir.path().join("models/m-1"), &files).unwrap();
        assert_eq!(stored.files[0].bytes, 7);
        assert_eq!(stored.sha256.len(), 64);
        let entry = ModelEntry {
            name: "m".into(),
            kind: "image".into(),
            layout: "onnx-image".into(),
            dim: 4,
            config: serde_json::Value::Null,
            dir: "models/m-1".into(),
            files: stored.files,
            sha256: stored.sha256,
        };
        assert!(check_model_files(dir.path(), &entry).is_ok());

        std::fs::write(dir.path().join("models/m-1/model.onnx"), b"weighTs").unwrap();
        let err = check_model_files(dir.path(), &entry).unwrap_err();
        assert!(err.to_string().contains("fails its checksum"), "{err}");
        std::fs::write(dir.path().join("models/m-1/model.onnx"), b"weight").unwrap();
        let err = check_model_files(dir.path(), &entry).unwrap_err();
        assert!(err.to_string().contains("has 6 bytes"), "{err}");
    }

    #[test]
    fn the_same_bytes_under_the_same_names_have_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"x").unwrap();
        let mut files = ModelFiles::default();
        files.add(&a, "model.onnx");
        let first = store_model_files(&dir.path().join("m1"), &files).unwrap();
        let second = store_model_files(&dir.path().join("m2"), &files).unwrap();
        assert_eq!(first.sha256, second.sha256);
        let mut renamed = ModelFiles::default();
        renamed.add(&a, "other.onnx");
        let third = store_model_files(&dir.path().join("m3"), &renamed).unwrap();
        assert_ne!(first.sha256, third.sha256);
    }
}
