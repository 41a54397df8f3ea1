//! Names of the files and directories inside a database directory.
//!
//! ```text
//! news.reeldb/
//!   REELDB                                  marker: "reeldb database" and the format version
//!   LOCK                                    the writer lock (an OS file lock, never any content)
//!   manifests/00000000000000000007.manifest one file per committed version
//!   data/t<table id>/<version>-<seq>.parquet
//!   vectors/t<table id>/<version>-<seq>.c<column>.vec   derived flat vector files (a cache)
//!   indexes/<index name>-<version>/                     one built HNSW index per directory
//!   models/<model name>-<version>/                      the files of one stored model
//! ```

use std::path::{Path, PathBuf};

/// The marker file that identifies a database directory.
pub const MARKER_FILE: &str = "REELDB";
/// The marker file's content for the current format.
pub const MARKER_CONTENT: &str = "reeldb database\nformat 1\n";
/// The file that writers lock.
pub const LOCK_FILE: &str = "LOCK";
/// The directory of manifests.
pub const MANIFEST_DIR: &str = "manifests";
/// The directory of data files.
pub const DATA_DIR: &str = "data";
/// The directory of flat vector files (derived from data files; see `vector_file.rs`).
pub const VECTOR_DIR: &str = "vectors";
/// The directory of vector index builds.
pub const INDEX_DIR: &str = "indexes";
/// The directory of stored models.
pub const MODEL_DIR: &str = "models";
/// The extension of manifest files.
pub const MANIFEST_EXTENSION: &str = "manifest";

/// The path of the manifest of `version`.
pub fn manifest_path(root: &Path, version: u64) -> PathBuf {
    root.join(MANIFEST_DIR)
        .join(format!("{version:020}.{MANIFEST_EXTENSION}"))
}

/// The version a manifest file name stands for, or `None` for any other file.
pub fn parse_manifest_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(MANIFEST_EXTENSION)?.strip_suffix('.')?;
    if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

/// The directory (relative to the root, `/`-separated) of a table's data files.
pub fn table_dir(table_id: u64) -> String {
    format!("{DATA_DIR}/t{table_id}")
}

/// The directory (relative to the root) of model `name` added by the commit of `version`.
pub fn model_dir(name: &str, version: u64) -> String {
    format!("{MODEL_DIR}/{name}-{version:020}")
}

/// The relative path of data file `seq` written by the commit of `version`.
pub fn data_file_path(table_id: u64, version: u64, seq: u32) -> String {
    format!("{}/{version:020}-{seq:06}.parquet", table_dir(table_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_names_round_trip() {
        let path = manifest_path(Path::new("/db"), 42);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_manifest_name(name), Some(42));
        assert_eq!(
            parse_manifest_name("00000000000000000042.manifest.123.tmp"),
            None
        );
        assert_eq!(parse_manifest_name("42.manifest"), None);
    }
}
