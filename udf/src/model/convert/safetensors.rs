//! Reading a `.safetensors` file, Hugging Face's weight format: an 8-byte little-endian header
//! length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}` (and an optional
//! `__metadata__`), then the tensors' bytes, little-endian and row-major.
//!
//! The format is small enough to read here with checks whose errors name the file and the
//! tensor; weights come out as `f32` whatever their stored precision (F32, F16 or BF16).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::common::{DataFusionError, Result};
use serde_json::Value;

/// The largest header the format allows (the reference implementation's limit).
const MAX_HEADER_BYTES: u64 = 100 << 20;

/// A stored tensor's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredType {
    F32,
    F16,
    Bf16,
    /// Integers, booleans, 64-bit floats: never weights a graph here reads.
    Other(usize),
}

impl StoredType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "F32" => StoredType::F32,
            "F16" => StoredType::F16,
            "BF16" => StoredType::Bf16,
            "F64" | "I64" | "U64" => StoredType::Other(8),
            "I32" | "U32" => StoredType::Other(4),
            "I16" | "U16" => StoredType::Other(2),
            "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => StoredType::Other(1),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            StoredType::F32 => 4,
            StoredType::F16 | StoredType::Bf16 => 2,
            StoredType::Other(size) => size,
        }
    }
}

#[derive(Debug, Clone)]
struct TensorEntry {
    stored: StoredType,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

/// A `.safetensors` file read into memory.
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    bytes: Vec<u8>,
    data_start: usize,
    tensors: BTreeMap<String, TensorEntry>,
}

impl SafetensorsFile {
    /// Reads and checks the file at `path`: the header parses, every tensor's bytes lie inside
    /// the file and match its shape.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| DataFusionError::Plan(format!("cannot read '{}': {e}", path.display())))?;
        let bad = |what: String| {
            DataFusionError::Plan(format!(
                "'{}' is not a valid safetensors file: {what}. Is the download complete?",
                path.display()
            ))
        };
        if bytes.len() < 8 {
            return Err(bad(format!("it has {} bytes", bytes.len())));
        }
        let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if header_len > MAX_HEADER_BYTES || header_len > (bytes.len() - 8) as u64 {
            return Err(bad(format!(
                "its header length {header_len} does not fit the file's {} bytes",
                bytes.len()
            )));
        }
        let data_start = 8 + header_len as usize;
        let header: Value = serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| bad(format!("its header is not JSON ({e})")))?;
        let Value::Object(entries) = header else {
            return Err(bad("its header is not a JSON object".into()));
        };
        let data_len = bytes.len() - data_start;
        let mut tensors = BTreeMap::new();
        for (name, entry) in entries {
            if name == "__metadata__" {
                continue;
            }
            let stored = entry["dtype"]
                .as_str()
                .and_then(StoredType::parse)
                .ok_or_else(|| bad(format!("tensor '{name}' has dtype {}", entry["dtype"])))?;
            let shape: Option<Vec<usize>> = entry["shape"]
                .as_array()
                .map(|dims| {
                    dims.iter()
                        .map(|d| d.as_u64().map(|d| d as usize))
                        .collect()
                })
                .unwrap_or(None);
            let shape = shape.ok_or_else(|| bad(format!("tensor '{name}' has no valid shape")))?;
            let offsets = entry["data_offsets"].as_array();
            let (begin, end) = match offsets.map(|o| o.as_slice()) {
                Some([begin, end]) => (
                    begin.as_u64().unwrap_or(u64::MAX),
                    end.as_u64().unwrap_or(u64::MAX),
                ),
                _ => return Err(bad(format!("tensor '{name}' has no data_offsets"))),
            };
            let expected = shape
                .iter()
                .try_fold(stored.size() as u64, |n, &d| n.checked_mul(d as u64));
            if begin > end || end > data_len as u64 || expected != Some(end - begin) {
                return Err(bad(format!(
                    "tensor '{name}' (shape {shape:?}) has bytes {begin}..{end}, which do not \
                     match its shape or lie outside the file's {data_len} data bytes"
                )));
            }
            tensors.insert(
                name,
                TensorEntry {
                    stored,
                    shape,
                    begin: begin as usize,
                    end: end as usize,
                },
            );
        }
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            bytes,
            data_start,
            tensors,
        })
    }

    /// Whether the file holds a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The tensor `name` as `f32`, which must have the shape `expected`.
    pub fn floats(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let entry = self.tensors.get(name).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "'{}' has no tensor '{name}'; it is not the checkpoint its config.json describes",
                self.path.display()
            ))
        })?;
        if entry.shape != expected {
            return Err(DataFusionError::Plan(format!(
                "tensor '{name}' in '{}' has shape {:?}, but config.json implies {expected:?}",
                self.path.display(),
                entry.shape
            )));
        }
        let data = &self.bytes[self.data_start + entry.begin..self.data_start + entry.end];
        Ok(match entry.stored {
            StoredType::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            StoredType::F16 => data
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            StoredType::Bf16 => data
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            StoredType::Other(_) => {
                return Err(DataFusionError::Plan(format!(
                    "tensor '{name}' in '{}' is not stored as floats",
                    self.path.display()
                )));
            }
        })
    }
}

/// IEEE half precision to single (exact: every half is a single).
fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half >> 15) << 31;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, _) => {
            // A subnormal half is a normal single: shift the mantissa up to its leading one.
            let shift = mantissa.leading_zeros() - 21;
            let exponent = 127 - 15 + 1 - shift;
            sign | (exponent << 23) | (((mantissa << shift) & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (mantissa << 13),
        _ => sign | ((exponent + 127 - 15) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, header: &str, data: &[u8]) -> PathBuf {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        let path = dir.join("model.safetensors");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn tensors_read_in_every_float_precision() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = Vec::new();
        data.extend(1.5f32.to_le_bytes());
        data.extend((-2.0f32).to_le_bytes());
        data.extend(0x3c00u16.to_le_bytes()); // f16 1.0
        data.extend(0xc000u16.to_le_bytes()); // f16 -2.0
        data.extend(0x3f80u16.to_le_bytes()); // bf16 1.0
        let header = r#"{"__metadata__":{"format":"pt"},
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
            "h":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},
            "b":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}}"#;
        let file = SafetensorsFile::open(&write(dir.path(), header, &data)).unwrap();
        assert_eq!(file.floats("a", &[2]).unwrap(), vec![1.5, -2.0]);
        assert_eq!(file.floats("h", &[1, 2]).unwrap(), vec![1.0, -2.0]);
        assert_eq!(file.floats("b", &[1]).unwrap(), vec![1.0]);
        let wrong = file.floats("a", &[3]).unwrap_err().to_string();
        assert!(wrong.contains("has shape [2]"), "{wrong}");
        let missing = file.floats("c", &[1]).unwrap_err().to_string();
        assert!(missing.contains("no tensor 'c'"), "{missing}");
    }

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // the smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn truncated_and_inconsistent_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = write(
            dir.path(),
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            &[0u8; 8],
        );
        let error = SafetensorsFile::open(&short).unwrap_err().to_string();
        assert!(error.contains("outside the file"), "{error}");
        let mismatch = write(
            dir.path(),
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        );
        let error = SafetensorsFile::open(&mismatch).unwrap_err().to_string();
        assert!(error.contains("do not match its shape"), "{error}");
        std::fs::write(dir.path().join("tiny"), [1u8, 2]).unwrap();
        let error = SafetensorsFile::open(&dir.path().join("tiny"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a valid safetensors file"), "{error}");
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        std::fs::write(dir.path().join("huge"), huge).unwrap();
        let error = SafetensorsFile::open(&dir.path().join("huge"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("header length"), "{error}");
    }
}
