//! The manifest: the catalog of one committed version of the database.
//!
//! A manifest lists every table, its columns and its data files. Manifests are immutable; a
//! commit publishes a new one under the next version number. On disk a manifest is a one-line
//! header followed by a JSON body:
//!
//! ```text
//! REELDB-MANIFEST <format> <body length in bytes> <crc32 of body, 8 hex digits>\n
//! {"version":7,"next_table_id":3,"tables":[...]}
//! ```
//!
//! The header makes truncation and bit rot detectable before the JSON is parsed; see
//! `docs/format.md` for the full format and its invariants.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::vector::MODEL_METADATA_KEY;

/// Magic word at the start of every manifest file.
pub const MANIFEST_MAGIC: &str = "REELDB-MANIFEST";

/// The newest manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// One committed version of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The version number; the first commit of a new database is version 1.
    pub version: u64,
    /// The id the next created table gets. Ids are never reused, so a dropped table's files
    /// can never be confused with a new table's.
    pub next_table_id: u64,
    /// The tables, sorted by name.
    pub tables: Vec<TableEntry>,
    /// The models stored with the database, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelEntry>,
}

/// A model stored with the database: its files live under `dir`, copied in when the model was
/// added, so the database stays self-contained and the model cannot change under it.
///
/// The engine stores and checks the files; what `kind`, `layout` and `config` mean is the
/// business of the layer that runs models (`reeldb-udf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// The model name, unique in the database.
    pub name: String,
    /// What it embeds: `image`, `text`, `image+text`, `face-detector`, ...
    pub kind: String,
    /// The file layout it was loaded from: `clip`, `sentence-transformer`, `onnx-image`, ...
    pub layout: String,
    /// The dimension of the vectors it produces (0 for models that produce none).
    pub dim: u32,
    /// Layout-specific settings: preprocessing, input and output names, logit scale.
    pub config: serde_json::Value,
    /// The directory of its files, relative to the database directory.
    pub dir: String,
    /// Its files, checked (size and CRC-32) before they are loaded.
    pub files: Vec<IndexFileEntry>,
    /// SHA-256 over the files' names and contents, in `files` order: the model's identity.
    pub sha256: String,
}

/// A table in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Unique id; data files live under `data/t<id>/`.
    pub id: u64,
    /// The table name, as the user wrote it.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<ColumnEntry>,
    /// The data files that hold the table's rows.
    pub files: Vec<DataFileEntry>,
    /// The vector indexes on the table's columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<VectorIndexEntry>,
}

/// A built vector (HNSW) index in a manifest.
///
/// Invariant: the index is published in the same manifest as the data it was built from, and
/// `covered` lists exactly the data files whose rows are in its graph. Rows of a table's files
/// that are not covered (inserted after the build) are searched exactly; covered files that
/// the table no longer has (deleted or compacted away) are filtered out of every search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorIndexEntry {
    /// The index name, unique in the database.
    pub name: String,
    /// The indexed vector column.
    pub column: String,
    /// The metric the graph was built with (`cosine`, `l2`, `l1`, `dot`).
    pub metric: String,
    /// HNSW: links per node.
    pub m: u32,
    /// HNSW: candidate list size while building.
    pub ef_construction: u32,
    /// HNSW: the default candidate list size while searching.
    pub ef_search: u32,
    /// The directory of the build, relative to the database directory.
    pub dir: String,
    /// The data files whose rows the graph holds; a row's id in the graph is
    /// `(position in this list) << 32 | row number in the file`.
    pub covered: Vec<String>,
    /// The files of the build, checked before loading.
    pub files: Vec<IndexFileEntry>,
    /// Rows in the graph.
    pub rows: u64,
}

/// A file of a vector index build or of a stored model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexFileEntry {
    /// The file name within the build directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32 of the content.
    pub crc32: u32,
}

/// A column in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnEntry {
    /// The column name.
    pub name: String,
    /// The Arrow data type, in Arrow's own textual form (`Int64`, `Utf8`,
    /// `FixedSizeList(4 x Float32)`, ...), which `DataType::from_str` reads back.
    pub data_type: String,
    /// Whether the column admits NULL.
    pub nullable: bool,
    /// For a vector column: the model whose vectors it holds, if one was recorded. Queries
    /// that embed text or images to compare against the column must use the same model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A Parquet data file in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFileEntry {
    /// Path relative to the database directory, with `/` separators.
    pub path: String,
    /// Number of rows in the file.
    pub rows: u64,
    /// Size of the file in bytes; a file of another size is reported as damaged.
    pub bytes: u64,
}

impl Manifest {
    /// The manifest of a database with no commits yet (version 0, never written to disk).
    pub fn empty() -> Self {
        Manifest {
            version: 0,
            next_table_id: 1,
            tables: Vec::new(),
            models: Vec::new(),
        }
    }

    /// The table named `name`, compared case-sensitively.
    pub fn table(&self, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The vector index called `name` and the table it is on.
    pub fn index(&self, name: &str) -> Option<(&TableEntry, &VectorIndexEntry)> {
        self.tables
            .iter()
            .find_map(|t| t.indexes.iter().find(|i| i.name == name).map(|i| (t, i)))
    }

    /// Serializes the manifest to its on-disk form (header line and JSON body).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::Internal(format!("cannot serialize manifest: {e}")))?;
        let crc = crc32fast::hash(&body);
        let mut out = format!(
            "{MANIFEST_MAGIC} {MANIFEST_FORMAT} {} {crc:08x}\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses a manifest read from `path`, checking its header, length and checksum.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason: String| Error::corrupt(path, reason);
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| corrupt("the header line is missing (file truncated?)".into()))?;
        let header = std::str::from_utf8(&bytes[..newline])
            .map_err(|_| corrupt("the header is not text".into()))?;
        let parts: Vec<&str> = header.split(' ').collect();
        if parts.len() != 4 || parts[0] != MANIFEST_MAGIC {
            return Err(corrupt(format!(
                "the header '{}' is not a reeldb manifest header",
                header.chars().take(60).collect::<String>()
            )));
        }
        let format: u32 = parts[1]
            .parse()
            .map_err(|_| corrupt(format!("bad format number '{}'", parts[1])))?;
        if format > MANIFEST_FORMAT {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found: format,
                supported: MANIFEST_FORMAT,
            });
        }
        let length: usize = parts[2]
            .parse()
            .map_err(|_| corrupt(format!("bad length '{}'", parts[2])))?;
        let crc = u32::from_str_radix(parts[3], 16)
            .map_err(|_| corrupt(format!("bad checksum '{}'", parts[3])))?;
        let body = &bytes[newline + 1..];
        if body.len() != length {
            return Err(corrupt(format!(
                "the body has {} bytes but the header says {length} (file truncated or appended to)",
                body.len()
            )));
        }
        let actual = crc32fast::hash(body);
        if actual != crc {
            return Err(corrupt(format!(
                "checksum mismatch: header says {crc:08x}, body hashes to {actual:08x}"
            )));
        }
        serde_json::from_slice(body).map_err(|e| corrupt(format!("invalid JSON body: {e}")))
    }
}

impl TableEntry {
    /// The table's Arrow schema, decoded from the column entries. A vector column that
    /// records its model names it in the field metadata ([`MODEL_METADATA_KEY`]).
    pub fn schema(&self) -> Result<SchemaRef> {
        let fields = self
            .columns
            .iter()
            .map(|c| {
                let data_type = decode_data_type(&c.data_type).ok_or_else(|| {
                    Error::Internal(format!(
                        "table '{}' column '{}' has an unreadable type '{}'",
                        self.name, c.name, c.data_type
                    ))
                })?;
                let field = Field::new(&c.name, data_type, c.nullable);
                Ok(match &c.model {
                    Some(model) => field
                        .with_metadata([(MODEL_METADATA_KEY.to_string(), model.clone())].into()),
                    None => field,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Total number of rows in the table.
    pub fn row_count(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Total size of the table's data files in bytes.
    pub fn byte_count(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Encodes a data type for the manifest. Returns `None` when the textual form does not read
/// back to the same type, so that such a type is refused at `CREATE TABLE` rather than
/// silently changed.
pub fn encode_data_type(data_type: &DataType) -> Option<String> {
    let text = data_type.to_string();
    (decode_data_type(&text).as_ref() == Some(data_type)).then_some(text)
}

fn decode_data_type(text: &str) -> Option<DataType> {
    DataType::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::vector_type;
    use arrow::datatypes::TimeUnit;

    fn sample() -> Manifest {
        Manifest {
            version: 3,
            next_table_id: 2,
            tables: vec![TableEntry {
                id: 1,
                name: "frames".into(),
                columns: vec![ColumnEntry {
                    name: "id".into(),
                    data_type: "Int64".into(),
                    nullable: true,
                    model: None,
                }],
                files: vec![DataFileEntry {
                    path: "data/t1/00000000000000000003-000000.parquet".into(),
                    rows: 10,
                    bytes: 1234,
                }],
                indexes: Vec::new(),
            }],
            models: vec![ModelEntry {
                name: "clip".into(),
                kind: "image+text".into(),
                layout: "clip".into(),
                dim: 512,
                config: serde_json::json!({"logit_scale": 100.0}),
                dir: "models/clip-00000000000000000002".into(),
                files: vec![IndexFileEntry {
                    name: "vision_model.onnx".into(),
                    bytes: 10,
                    crc32: 7,
                }],
                sha256: "00".repeat(32),
            }],
        }
    }

    #[test]
    fn manifest_round_trips() {
        let m = sample();
        let bytes = m.encode().unwrap();
        assert_eq!(Manifest::decode(Path::new("m"), &bytes).unwrap(), m);
    }

    #[test]
    fn truncated_manifest_is_reported_with_its_path() {
        let bytes = sample().encode().unwrap();
        for cut in [0, 5, 20, bytes.len() - 1] {
            let err = Manifest::decode(Path::new("dir/m1"), &bytes[..cut]).unwrap_err();
            match err {
                Error::CorruptFile { path, .. } => assert_eq!(path, Path::new("dir/m1")),
                other => panic!("cut at {cut}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn flipped_byte_fails_the_checksum() {
        let mut bytes = sample().encode().unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x01;
        let err = Manifest::decode(Path::new("m"), &bytes).unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }

    #[test]
    fn newer_format_is_refused_with_upgrade_hint() {
        let bytes = sample().encode().unwrap();
        let text = String::from_utf8(bytes).unwrap().replacen(" 1 ", " 9 ", 1);
        let err = Manifest::decode(Path::new("m"), text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedFormat { found: 9, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn column_types_round_trip_through_text() {
        for dt in [
            DataType::Boolean,
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt8,
            DataType::UInt32,
            DataType::UInt64,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            DataType::LargeUtf8,
            DataType::Utf8View,
            DataType::Binary,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            DataType::Decimal128(10, 2),
            vector_type(4),
            vector_type(512),
            DataType::new_list(DataType::Utf8, true),
        ] {
            let text = encode_data_type(&dt).unwrap_or_else(|| panic!("{dt} does not round-trip"));
            assert_eq!(decode_data_type(&text).unwrap(), dt);
        }
    }
}
