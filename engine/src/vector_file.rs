//! Flat vector files: the vectors of one column of one data file, as raw `f32`s to map into
//! memory.
//!
//! Parquet is a fine format for storing vectors and a slow one for scanning them: every scan
//! decodes pages and copies. A flat vector file is derived from a data file once, and then
//! scans and index builds read the vectors straight from the page cache.
//!
//! ```text
//! vectors/t<table id>/<data file stem>.c<column index>.vec
//!
//! offset  size  field
//!      0     8  magic "REELVEC1"
//!      8     4  dimension (u32, little-endian, as everything here)
//!     12     4  reserved, zero
//!     16     8  rows
//!     24     8  size in bytes of the data file it was derived from
//!     32     4  CRC-32 of the payload
//!     36     4  CRC-32 of bytes 0..36
//!     40    24  reserved, zero
//!     64        payload: rows × dimension f32 (a NULL vector is stored as zeros),
//!               then rows f32 norms, then ⌈rows / 8⌉ bytes of validity bits (1 = not NULL)
//! ```
//!
//! Invariants:
//! - A vector file is a cache. It is never referenced by a manifest; any copy can be deleted
//!   and is rebuilt from its data file on next use. A missing, truncated, corrupt or stale
//!   file (one whose header does not match the data file's rows and size) is rebuilt.
//! - A vector file is written to a temporary name, synced and renamed into place, and never
//!   modified after; so a mapping of it never changes under a reader. Vacuum deletes the
//!   vector files of data files that no kept version references (deleting keeps existing
//!   mappings valid).
//! - The payload checksum is verified the first time a process opens the file.
//! - A vector file is named after its data file, so the data file's name is its identity: a
//!   transaction never gives a new data file the name of a file, or of vector files, left on
//!   disk by one that was rolled back or killed (see `WriteTransaction::create_data_file`),
//!   and a rolled-back transaction deletes the vector files of the data files it wrote.
//!   Otherwise an equal-sized new data file would pass the header check and be read with
//!   another file's vectors.

// Mapping a file into memory is `unsafe` in memmap2 because another process could change the
// file underneath; see the invariants above for why reeldb never does.
#![allow(unsafe_code)]

#[cfg(target_endian = "big")]
compile_error!(
    "vector files store little-endian f32s and are read in place; big-endian targets are not supported"
);

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float32Type;
use memmap2::Mmap;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reeldb_linalg::distance::norm;

use crate::error::{Error, Result};
use crate::layout::VECTOR_DIR;
use crate::manifest::DataFileEntry;
use crate::recent::RecentCache;

const MAGIC: &[u8; 8] = b"REELVEC1";
const HEADER_LEN: usize = 64;

/// The vectors of one column of one data file, mapped into memory (or held in memory where
/// the database cannot be written).
#[derive(Debug)]
pub struct VectorFile {
    dim: usize,
    rows: usize,
    storage: Storage,
    /// The rows that are NULL, and the rows whose vector is all zeros (no cosine), found
    /// once at open so that searches need not look at every row for them.
    null_rows: Vec<usize>,
    zero_rows: Vec<usize>,
}

#[derive(Debug)]
enum Storage {
    Mapped(Mmap),
    Owned {
        vectors: Vec<f32>,
        norms: Vec<f32>,
        validity: Vec<u8>,
    },
}

impl VectorFile {
    /// The dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of rows (NULL vectors included).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// All vectors, row after row; a NULL vector reads as zeros.
    pub fn vectors(&self) -> &[f32] {
        self.parts().0
    }

    /// The vector of `row` (zeros if it is NULL; see [`VectorFile::is_valid`]).
    pub fn vector(&self, row: usize) -> &[f32] {
        &self.vectors()[row * self.dim..(row + 1) * self.dim]
    }

    /// The Euclidean norm of every row's vector.
    pub fn norms(&self) -> &[f32] {
        self.parts().1
    }

    /// Whether `row` holds a vector (is not NULL).
    pub fn is_valid(&self, row: usize) -> bool {
        self.parts().2[row / 8] & (1 << (row % 8)) != 0
    }

    /// The rows that are NULL, ascending.
    pub fn null_rows(&self) -> &[usize] {
        &self.null_rows
    }

    /// The rows that hold an all-zero vector, ascending.
    pub fn zero_rows(&self) -> &[usize] {
        &self.zero_rows
    }

    fn new(dim: usize, rows: usize, storage: Storage) -> Self {
        let mut file = VectorFile {
            dim,
            rows,
            storage,
            null_rows: Vec::new(),
            zero_rows: Vec::new(),
        };
        let (null_rows, zero_rows) = {
            let norms = file.norms();
            let mut nulls = Vec::new();
            let mut zeros = Vec::new();
            for (row, norm) in norms.iter().enumerate() {
                if !file.is_valid(row) {
                    nulls.push(row);
                } else if *norm == 0.0 {
                    zeros.push(row);
                }
            }
            (nulls, zeros)
        };
        file.null_rows = null_rows;
        file.zero_rows = zero_rows;
        file
    }

    fn parts(&self) -> (&[f32], &[f32], &[u8]) {
        match &self.storage {
            Storage::Owned {
                vectors,
                norms,
                validity,
            } => (vectors, norms, validity),
            Storage::Mapped(map) => {
                let (vectors, norms, validity) = payload_ranges(self.rows, self.dim);
                (
                    bytemuck::cast_slice(&map[vectors]),
                    bytemuck::cast_slice(&map[norms]),
                    &map[validity],
                )
            }
        }
    }
}

/// Where the three parts of the payload lie in the file.
fn payload_ranges(
    rows: usize,
    dim: usize,
) -> (
    std::ops::Range<usize>,
    std::ops::Range<usize>,
    std::ops::Range<usize>,
) {
    let vectors_end = HEADER_LEN + rows * dim * 4;
    let norms_end = vectors_end + rows * 4;
    (
        HEADER_LEN..vectors_end,
        vectors_end..norms_end,
        norms_end..norms_end + rows.div_ceil(8),
    )
}

/// Files opened by this process, so that each is mapped and verified once.
static OPEN_FILES: LazyLock<RecentCache<CacheKey, VectorFile>> =
    LazyLock::new(|| RecentCache::new(4096));

/// A vector file's cache key: its path, and the identity of the file now at that path (a
/// rebuilt file is a new file, renamed into place), so that a database deleted and created
/// again at the same path never sees the old one's vectors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    path: PathBuf,
    inode: u64,
    modified: Option<std::time::SystemTime>,
    bytes: u64,
    dim: usize,
}

fn cache_key(path: &Path, dim: usize) -> Option<CacheKey> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(CacheKey {
        path: path.to_path_buf(),
        inode,
        modified: metadata.modified().ok(),
        bytes: metadata.len(),
        dim,
    })
}

/// The path of the vector file of column `column_index` of `file`, under database `root`.
pub(crate) fn vector_file_path(root: &Path, file: &DataFileEntry, column_index: usize) -> PathBuf {
    // `data/t7/000…12-000003.parquet` → `vectors/t7/000…12-000003.c2.vec`
    let relative = Path::new(&file.path);
    let table_dir = relative
        .parent()
        .and_then(Path::file_name)
        .unwrap_or_default();
    let stem = relative.file_stem().unwrap_or_default().to_string_lossy();
    root.join(VECTOR_DIR)
        .join(table_dir)
        .join(format!("{stem}.c{column_index}.vec"))
}

/// The vector files derived from the data file at `relative` (a path relative to `root`), of
/// any column: `vectors/t<id>/<stem>.c<column>.vec` and their temporary copies.
pub(crate) fn derived_vector_files(root: &Path, relative: &str) -> Result<Vec<PathBuf>> {
    let relative = Path::new(relative);
    let Some(table_dir) = relative.parent().and_then(Path::file_name) else {
        return Ok(Vec::new());
    };
    let stem = relative.file_stem().unwrap_or_default().to_string_lossy();
    let prefix = format!("{stem}.c");
    let dir = root.join(VECTOR_DIR).join(table_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// Opens the vector file of column `column_index` (a vector column of dimension `dim`) of
/// `file`, building it from the data file first if it is missing or stale. With `writable`
/// false (a read-only database) a missing file is built in memory only.
pub(crate) fn open_vector_file(
    root: &Path,
    file: &DataFileEntry,
    column_index: usize,
    dim: usize,
    writable: bool,
) -> Result<Arc<VectorFile>> {
    let path = vector_file_path(root, file, column_index);
    let open = || open_uncached(root, file, column_index, dim, writable);
    match cache_key(&path, dim) {
        Some(key) => OPEN_FILES.get_or_open(&key, open),
        None => open().map(Arc::new),
    }
}

/// Opens (maps and verifies) the vector file, building it first if it is missing or stale.
fn open_uncached(
    root: &Path,
    file: &DataFileEntry,
    column_index: usize,
    dim: usize,
    writable: bool,
) -> Result<VectorFile> {
    let path = vector_file_path(root, file, column_index);
    if let Some(mapped) = map_verified(&path, file, dim)? {
        return Ok(mapped);
    }
    let built = build(&root.join(&file.path), file, column_index, dim)?;
    if !writable {
        return Ok(built);
    }
    // A file we cannot write (a full disk, a directory we may not write to) costs speed, not
    // correctness: use the vectors from memory.
    match write_file(&path, file, &built).and_then(|()| map_verified(&path, file, dim)) {
        Ok(Some(mapped)) => Ok(mapped),
        _ => Ok(built),
    }
}

/// Maps `path` if it is a complete, uncorrupted vector file for `file`; `None` if it must be
/// rebuilt (missing, stale, truncated or corrupt).
fn map_verified(path: &Path, file: &DataFileEntry, dim: usize) -> Result<Option<VectorFile>> {
    let handle = match File::open(path) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    // SAFETY: vector files are never modified after they are renamed into place (see the
    // module invariants), so the mapped bytes do not change while mapped.
    let map = unsafe { Mmap::map(&handle) }.map_err(|e| Error::io(path, e))?;
    let rows = file.rows as usize;
    let (_, _, validity) = payload_ranges(rows, dim);
    if map.len() != validity.end || &map[0..8] != MAGIC {
        return Ok(None);
    }
    let header_ok = crc32fast::hash(&map[0..36]) == read_u32(&map, 36)
        && read_u32(&map, 8) as usize == dim
        && read_u64(&map, 16) == file.rows
        && read_u64(&map, 24) == file.bytes;
    if !header_ok || crc32fast::hash(&map[HEADER_LEN..]) != read_u32(&map, 32) {
        return Ok(None);
    }
    Ok(Some(VectorFile::new(dim, rows, Storage::Mapped(map))))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default())
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
}

/// Reads column `column_index` of the data file into memory.
fn build(
    data_path: &Path,
    file: &DataFileEntry,
    column_index: usize,
    dim: usize,
) -> Result<VectorFile> {
    let corrupt = |e: &dyn std::fmt::Display| {
        Error::corrupt(data_path, format!("cannot read the vector column: {e}"))
    };
    let handle = File::open(data_path).map_err(|e| Error::io(data_path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|e| corrupt(&e))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [column_index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| corrupt(&e))?;
    let rows = file.rows as usize;
    let mut vectors = Vec::with_capacity(rows * dim);
    let mut validity = vec![0u8; rows.div_ceil(8)];
    let mut row = 0;
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&e))?;
        let list = batch
            .column(0)
            .as_fixed_size_list_opt()
            .filter(|list| list.value_length() as usize == dim)
            .ok_or_else(|| corrupt(&format!("it is not a vector column of dimension {dim}")))?;
        let values = list
            .values()
            .as_primitive_opt::<Float32Type>()
            .ok_or_else(|| corrupt(&"the vector elements are not 32-bit floats".to_string()))?;
        let offset = list.offset() * dim;
        for i in 0..list.len() {
            if row + i >= rows {
                break;
            }
            if list.is_valid(i) {
                let start = offset + i * dim;
                vectors.extend_from_slice(&values.values()[start..start + dim]);
                validity[(row + i) / 8] |= 1 << ((row + i) % 8);
            } else {
                vectors.resize(vectors.len() + dim, 0.0);
            }
        }
        row += list.len();
    }
    if row != rows {
        return Err(corrupt(&format!(
            "it holds {row} rows but was committed with {rows}"
        )));
    }
    let norms = if dim == 0 {
        vec![0.0; rows]
    } else {
        vectors.chunks_exact(dim).map(norm).collect()
    };
    Ok(VectorFile::new(
        dim,
        rows,
        Storage::Owned {
            vectors,
            norms,
            validity,
        },
    ))
}

/// Writes `built` to `path` durably: a temporary file, synced, renamed into place.
fn write_file(path: &Path, file: &DataFileEntry, built: &VectorFile) -> Result<()> {
    let (vectors, norms, validity) = built.parts();
    let mut payload_crc = crc32fast::Hasher::new();
    payload_crc.update(bytemuck::cast_slice(vectors));
    payload_crc.update(bytemuck::cast_slice(norms));
    payload_crc.update(validity);
    let mut header = [0u8; HEADER_LEN];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&(built.dim as u32).to_le_bytes());
    header[16..24].copy_from_slice(&file.rows.to_le_bytes());
    header[24..32].copy_from_slice(&file.bytes.to_le_bytes());
    header[32..36].copy_from_slice(&payload_crc.finalize().to_le_bytes());
    let header_crc = crc32fast::hash(&header[0..36]);
    header[36..40].copy_from_slice(&header_crc.to_le_bytes());

    let dir = path.parent().ok_or_else(|| {
        Error::Internal(format!("vector file '{}' has no directory", path.display()))
    })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Several processes may build the same file at once; each writes its own temporary file
    // and the renames replace one complete file with an identical one.
    let temporary = dir.join(format!(
        "{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut out = File::create(&temporary).map_err(|e| Error::io(&temporary, e))?;
        for part in [
            &header[..],
            bytemuck::cast_slice(vectors),
            bytemuck::cast_slice(norms),
            validity,
        ] {
            out.write_all(part).map_err(|e| Error::io(&temporary, e))?;
        }
        out.sync_all().map_err(|e| Error::io(&temporary, e))?;
        std::fs::rename(&temporary, path).map_err(|e| Error::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::Database;
    use crate::vector::vector_type;
    use arrow::array::{FixedSizeListArray, Float32Array, RecordBatch};
    use arrow::datatypes::{Field, Schema};

    fn database_with_vectors() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("v.reeldb")).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("v", vector_type(3), true)]));
        let values = Float32Array::from(vec![1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 4.0]);
        let list = FixedSizeListArray::try_new(
            Arc::new(crate::vector::vector_item_field()),
            3,
            Arc::new(values),
            Some(vec![true, false, true].into()),
        )
        .unwrap();
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(list)]).unwrap();
        let mut txn = db.begin_write().unwrap();
        txn.create_table("t", &schema).unwrap();
        txn.append("t", &batch).unwrap();
        txn.commit().unwrap();
        (dir, db)
    }

    #[test]
    fn built_then_mapped_with_nulls_and_norms() {
        let (_dir, db) = database_with_vectors();
        let snapshot = db.snapshot().unwrap();
        let file = &snapshot.table("t").unwrap().files[0];
        let opened = open_vector_file(snapshot.root(), file, 0, 3, true).unwrap();
        assert!(matches!(opened.storage, Storage::Mapped(_)));
        assert_eq!(opened.rows(), 3);
        assert_eq!(opened.vector(0), &[1.0, 2.0, 2.0]);
        assert!(opened.is_valid(0) && !opened.is_valid(1) && opened.is_valid(2));
        assert_eq!(opened.norms(), &[3.0, 0.0, 5.0]);
    }

    #[test]
    fn a_corrupt_or_stale_file_is_rebuilt() {
        let (_dir, db) = database_with_vectors();
        let snapshot = db.snapshot().unwrap();
        let file = snapshot.table("t").unwrap().files[0].clone();
        let path = vector_file_path(snapshot.root(), &file, 0);
        drop(open_vector_file(snapshot.root(), &file, 0, 3, true).unwrap());
        // Flip a payload byte: the checksum no longer matches. The damaged copy is a new file
        // (never rewrite a mapped file in place: its mappings would change under readers).
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN] ^= 0xFF;
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let reopened = open_vector_file(snapshot.root(), &file, 0, 3, true).unwrap();
        assert_eq!(reopened.vector(0), &[1.0, 2.0, 2.0]);
        drop(reopened);
        // Truncated: rebuilt as well.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes[..10]).unwrap();
        let reopened = open_vector_file(snapshot.root(), &file, 0, 3, true).unwrap();
        assert_eq!(reopened.vector(2), &[0.0, 3.0, 4.0]);
    }

    #[test]
    fn read_only_builds_in_memory() {
        let (_dir, db) = database_with_vectors();
        let snapshot = db.snapshot().unwrap();
        let file = &snapshot.table("t").unwrap().files[0];
        let opened = open_vector_file(snapshot.root(), file, 0, 3, false).unwrap();
        assert!(matches!(opened.storage, Storage::Owned { .. }));
        assert!(!vector_file_path(snapshot.root(), file, 0).exists());
        assert_eq!(opened.vector(2), &[0.0, 3.0, 4.0]);
    }
}
