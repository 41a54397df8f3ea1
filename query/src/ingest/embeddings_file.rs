//! Precomputed embeddings, as others export them: JSON lines with one object per image (the
//! `*.embeds.json` files of the GDELT / Visual Explorer workflow), `.npy` arrays with a list
//! of ids, and Parquet.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The keys a JSON object may name its image by, in the order they are tried.
pub const NAME_KEYS: [&str; 10] = [
    "file",
    "filename",
    "file_name",
    "image",
    "imageid",
    "image_id",
    "image_filename",
    "path",
    "name",
    "id",
];
/// The keys a JSON object may hold its vector under, in the order they are tried.
pub const VECTOR_KEYS: [&str; 9] = [
    "embedding",
    "embeddings",
    "vector",
    "imageEmbedding",
    "image_embedding",
    "values",
    "emb",
    "features",
    "feature",
];

/// Vectors read from a file, one per image name.
#[derive(Debug, Clone, Default)]
pub struct ImportedVectors {
    /// The image names, as the file gives them.
    pub names: Vec<String>,
    /// `names.len() × dim` values.
    pub values: Vec<f32>,
    /// The vectors' length.
    pub dim: usize,
    /// What the reader decided (which keys or columns it used).
    pub notes: Vec<String>,
}

impl ImportedVectors {
    fn push(&mut self, name: String, vector: Vec<f32>, place: &str) -> Result<()> {
        if vector.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{place} ('{name}'): the vector is empty"
            )));
        }
        if self.names.is_empty() {
            self.dim = vector.len();
        } else if vector.len() != self.dim {
            return Err(Error::InvalidArgument(format!(
                "{place} ('{name}'): a vector of {} numbers, but the ones before have {}: \
                 every vector of a file must have the same dimension",
                vector.len(),
                self.dim
            )));
        }
        if let Some(bad) = vector.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "{place} ('{name}'): the vector holds {bad}, which a vector cannot"
            )));
        }
        self.names.push(name);
        self.values.extend_from_slice(&vector);
        Ok(())
    }
}

/// Reads `path` by its extension: `.json`/`.jsonl`/`.ndjson`, `.npy` (with `ids`, a text file
/// of one name per line or a JSON array), or `.parquet`; or a directory of `.json` files, one
/// per image (see [`read_json_directory`]).
pub fn read_embeddings(path: &Path, ids: Option<&Path>) -> Result<ImportedVectors> {
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return read_json_directory(path);
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let vectors = match extension.as_str() {
        "json" | "jsonl" | "ndjson" => read_json_lines(path)?,
        "npy" => {
            let ids = ids.ok_or_else(|| Error::InvalidFile {
                path: path.to_path_buf(),
                reason: "holds only vectors: name the file that lists their images, one per \
                         line, with ids = 'names.txt'"
                    .into(),
            })?;
            read_npy(path, ids)?
        }
        "parquet" => read_parquet(path)?,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "cannot tell the format of '{}': reeldb reads embeddings from .json/.jsonl \
                 (one object per line), .npy (with ids = '...') and .parquet",
                path.display()
            )));
        }
    };
    if vectors.names.is_empty() {
        return Err(Error::InvalidFile {
            path: path.to_path_buf(),
            reason: "holds no vectors".into(),
        });
    }
    Ok(vectors)
}

/// A directory of one JSON file per image, as the GDELT workflow of seed 000 writes them
/// before merging (`<image>.json`, each a Vertex AI response `{"predictions":
/// [{"imageEmbedding": [...]}]}` or any object holding the vector under a known key). The
/// image's name is the object's own name key if it has one, else the file name without
/// `.json`. Files are read in name order; other files and subdirectories are left alone, and
/// links are not followed.
pub fn read_json_directory(dir: &Path) -> Result<ImportedVectors> {
    let unreadable = |cause: std::io::Error| Error::Io {
        action: "list".into(),
        path: dir.to_path_buf(),
        cause,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let regular = entry.file_type().map_err(unreadable)?.is_file();
        if regular && name.to_ascii_lowercase().ends_with(".json") && !name.starts_with('.') {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    let mut vectors = ImportedVectors::default();
    let mut used_keys: Vec<String> = Vec::new();
    for (file_name, path) in &files {
        let place = format!("'{file_name}'");
        let text = fs::read_to_string(path).map_err(|cause| cannot_read(path, cause))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::InvalidArgument(format!("{place} is not valid JSON: {e}")))?;
        let (key, vector) = find_vector(&value, "").ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{place} holds no vector under any of {} (nested objects and arrays are \
                 searched too)",
                VECTOR_KEYS.join(", ")
            ))
        })?;
        let name = match &value {
            Value::Object(object) => NAME_KEYS.iter().find_map(|k| match object.get(*k) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            }),
            _ => None,
        }
        .unwrap_or_else(|| file_name[..file_name.len() - ".json".len()].to_string());
        if !used_keys.contains(&key) {
            used_keys.push(key);
        }
        vectors.push(name, vector, &place)?;
    }
    if vectors.names.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the directory '{}' holds no .json files of embeddings",
            dir.display()
        )));
    }
    vectors.notes.push(format!(
        "read {} file(s) of one image each, the vector from \"{}\" and the name from each \
         file's name",
        files.len(),
        used_keys.join("\", \"")
    ));
    Ok(vectors)
}

/// The first list of numbers under a [`VECTOR_KEYS`] key in `value`, searched depth first
/// (object keys in the order of [`VECTOR_KEYS`] first), with the path of keys to it.
fn find_vector(value: &Value, path: &str) -> Option<(String, Vec<f32>)> {
    match value {
        Value::Object(object) => {
            for key in VECTOR_KEYS {
                if let Some(found) = object.get(key)
                    && let Some(vector) = numbers(found).filter(|v| !v.is_empty())
                {
                    return Some((join_path(path, key), vector));
                }
            }
            object
                .iter()
                .find_map(|(key, child)| find_vector(child, &join_path(path, key)))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_vector(item, &format!("{path}[{i}]"))),
        _ => None,
    }
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn cannot_read(path: &Path, cause: std::io::Error) -> Error {
    Error::Io {
        action: "read".into(),
        path: path.to_path_buf(),
        cause,
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|cause| Error::Io {
        action: "open".into(),
        path: path.to_path_buf(),
        cause,
    })
}

/// One JSON object per line (a file that is one JSON array of objects is read too).
fn read_json_lines(path: &Path) -> Result<ImportedVectors> {
    let mut vectors = ImportedVectors::default();
    let mut keys: Option<(String, String)> = None;
    let mut add = |object: &Map<String, Value>, place: String| -> Result<()> {
        let (name_key, vector_key) = match &keys {
            Some(keys) => keys.clone(),
            None => {
                let chosen = choose_keys(object)
                    .map_err(|e| Error::InvalidArgument(format!("{place}: {e}")))?;
                vectors.notes.push(format!(
                    "read the image name from \"{}\" and the vector from \"{}\"",
                    chosen.0, chosen.1
                ));
                keys = Some(chosen.clone());
                chosen
            }
        };
        let name = match object.get(&name_key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{place}: no \"{name_key}\" (the image name)"
                )));
            }
        };
        let vector = match object.get(&vector_key) {
            Some(value) => numbers(value).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{place} ('{name}'): \"{vector_key}\" is not a list of numbers"
                ))
            })?,
            None => {
                return Err(Error::InvalidArgument(format!(
                    "{place} ('{name}'): no \"{vector_key}\""
                )));
            }
        };
        vectors.push(name, vector, &place)
    };
    let mut reader = BufReader::new(open(path)?);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .map_err(|cause| cannot_read(path, cause))?;
    if first.trim_start().starts_with('[') {
        let mut rest = first;
        std::io::Read::read_to_string(&mut reader, &mut rest)
            .map_err(|cause| cannot_read(path, cause))?;
        let items: Vec<Value> = serde_json::from_str(&rest).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("is not valid JSON: {e}"),
        })?;
        for (index, item) in items.iter().enumerate() {
            let Value::Object(object) = item else {
                return Err(Error::InvalidArgument(format!(
                    "item {}: not an object",
                    index + 1
                )));
            };
            add(object, format!("item {}", index + 1))?;
        }
    } else {
        let lines = std::iter::once(Ok(first)).chain(reader.lines());
        for (index, line) in lines.enumerate() {
            let line = line.map_err(|cause| cannot_read(path, cause))?;
            if line.trim().is_empty() {
                continue;
            }
            let place = format!("line {}", index + 1);
            let value: Value = serde_json::from_str(&line)
                .map_err(|e| Error::InvalidArgument(format!("{place}: not a JSON object: {e}")))?;
            let Value::Object(object) = value else {
                return Err(Error::InvalidArgument(format!(
                    "{place}: not a JSON object"
                )));
            };
            add(&object, place)?;
        }
    }
    Ok(vectors)
}

/// The name and vector keys of an object: the first known ones, else the only string and
/// only list of numbers it has.
fn choose_keys(object: &Map<String, Value>) -> std::result::Result<(String, String), String> {
    let known = |keys: &[&str], fits: &dyn Fn(&Value) -> bool| {
        keys.iter()
            .find(|k| object.get(**k).is_some_and(fits))
            .map(|k| k.to_string())
    };
    let is_name = |v: &Value| v.is_string() || v.is_number();
    let is_vector = |v: &Value| numbers(v).is_some_and(|n| n.len() > 1);
    let only = |fits: &dyn Fn(&Value) -> bool| {
        let mut matching = object.iter().filter(|(_, v)| fits(v));
        match (matching.next(), matching.next()) {
            (Some((k, _)), None) => Some(k.clone()),
            _ => None,
        }
    };
    let name = known(&NAME_KEYS, &is_name).or_else(|| only(&|v| v.is_string()));
    let vector = known(&VECTOR_KEYS, &is_vector).or_else(|| only(&is_vector));
    let found = || object.keys().cloned().collect::<Vec<_>>().join(", ");
    match (name, vector) {
        (Some(name), Some(vector)) => Ok((name, vector)),
        (None, _) => Err(format!(
            "cannot tell which key names the image (keys: {}); reeldb looks for {}",
            found(),
            NAME_KEYS.join(", ")
        )),
        (_, None) => Err(format!(
            "cannot tell which key holds the vector (keys: {}); reeldb looks for {}",
            found(),
            VECTOR_KEYS.join(", ")
        )),
    }
}

fn numbers(value: &Value) -> Option<Vec<f32>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_f64().map(|f| f as f32))
        .collect()
}

/// A 2-D little-endian float32 or float64 `.npy` array, with its ids from another file.
fn read_npy(path: &Path, ids: &Path) -> Result<ImportedVectors> {
    let bytes = fs::read(path).map_err(|cause| cannot_read(path, cause))?;
    let bad = |what: &str| Error::InvalidFile {
        path: path.to_path_buf(),
        reason: format!("is not a .npy array reeldb reads: {what}"),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no NUMPY magic"));
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("an unknown format version")),
    };
    let header = bytes
        .get(header_start..header_start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("a damaged header"))?;
    let descr = header_value(header, "descr").ok_or_else(|| bad("no 'descr'"))?;
    let width = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "<f4" | "|f4" => 4,
        "<f8" | "|f8" => 8,
        other => {
            return Err(bad(&format!(
                "elements of type {other}; save float32 or float64"
            )));
        }
    };
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad("Fortran order; save it with np.ascontiguousarray"));
    }
    let shape = header_value(header, "shape").ok_or_else(|| bad("no 'shape'"))?;
    let dims: Vec<usize> = shape
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse().map_err(|_| bad("a bad shape")))
        .collect::<Result<_>>()?;
    let [rows, dim] = dims[..] else {
        return Err(bad(&format!(
            "shape {shape}; an array of one vector per row (2-D) is needed"
        )));
    };
    let data = &bytes[header_start + header_len..];
    if data.len() != rows * dim * width {
        return Err(bad(&format!(
            "{} bytes of data for shape ({rows}, {dim})",
            data.len()
        )));
    }
    let names = read_ids(ids)?;
    if names.len() != rows {
        return Err(Error::InvalidFile {
            path: ids.to_path_buf(),
            reason: format!(
                "lists {} names but '{}' holds {rows} vectors: they must match row for row",
                names.len(),
                path.display()
            ),
        });
    }
    let mut vectors = ImportedVectors::default();
    for (row, name) in names.into_iter().enumerate() {
        let chunk = &data[row * dim * width..(row + 1) * dim * width];
        let vector: Vec<f32> = if width == 4 {
            chunk
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        } else {
            chunk
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect()
        };
        vectors.push(name, vector, &format!("row {}", row + 1))?;
    }
    vectors.notes.push(format!(
        "read {rows} vectors of {dim} from the array, names from '{}'",
        ids.display()
    ));
    Ok(vectors)
}

/// The text after `'key':` in a `.npy` header dict, up to the next top-level comma.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = header[start..].trim_start();
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    Some(rest.trim())
}

fn read_ids(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).map_err(|cause| Error::Io {
        action: "read the ids".into(),
        path: path.to_path_buf(),
        cause,
    })?;
    if text.trim_start().starts_with('[') {
        let items: Vec<Value> = serde_json::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("is not a JSON array: {e}"),
        })?;
        return Ok(items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect());
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// A Parquet file with a name column (a known name, else its only text column) and a vector
/// column (a known name, else its only list-of-floats column).
fn read_parquet(path: &Path) -> Result<ImportedVectors> {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(open(path)?).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("is not a Parquet file: {e}"),
        })?;
    let schema = std::sync::Arc::clone(builder.schema());
    let pick = |keys: &[&str], fits: &dyn Fn(&DataType) -> bool, what: &str| -> Result<usize> {
        let by_name = keys.iter().find_map(|k| {
            schema
                .index_of(k)
                .ok()
                .filter(|i| fits(schema.field(*i).data_type()))
        });
        let only: Vec<usize> = (0..schema.fields().len())
            .filter(|i| fits(schema.field(*i).data_type()))
            .collect();
        by_name.or(if only.len() == 1 { Some(only[0]) } else { None }).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "cannot tell which column of '{}' holds the {what} (columns: {}); name it one of {}",
                path.display(),
                schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", "),
                keys.join(", ")
            ))
        })
    };
    let is_text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let is_vector = |t: &DataType| match t {
        DataType::FixedSizeList(item, _) | DataType::List(item) | DataType::LargeList(item) => {
            matches!(item.data_type(), DataType::Float32 | DataType::Float64)
        }
        _ => false,
    };
    let name_column = pick(&NAME_KEYS, &is_text, "image names")?;
    let vector_column = pick(&VECTOR_KEYS, &is_vector, "vectors")?;
    let mut vectors = ImportedVectors::default();
    vectors.notes.push(format!(
        "read the image name from column \"{}\" and the vector from \"{}\"",
        schema.field(name_column).name(),
        schema.field(vector_column).name()
    ));
    let reader = builder
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot read '{}': {e}", path.display())))?;
    let mut row = 0usize;
    for batch in reader {
        let batch = batch?;
        let names = arrow::compute::cast(batch.column(name_column), &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let lists = arrow::compute::cast(
            batch.column(vector_column),
            &DataType::List(std::sync::Arc::new(
                arrow::datatypes::Field::new_list_field(DataType::Float64, true),
            )),
        )?;
        let lists = lists.as_list::<i32>();
        for index in 0..batch.num_rows() {
            row += 1;
            let place = format!("row {row}");
            if names.is_null(index) || lists.is_null(index) {
                return Err(Error::InvalidArgument(format!(
                    "{place}: a NULL name or vector"
                )));
            }
            let list = lists.value(index);
            let values = list.as_primitive::<Float64Type>();
            if values.null_count() > 0 {
                return Err(Error::InvalidArgument(format!(
                    "{place}: the vector has NULL elements"
                )));
            }
            let vector: Vec<f32> = values.values().iter().map(|v| *v as f32).collect();
            vectors.push(names.value(index).to_string(), vector, &place)?;
        }
    }
    Ok(vectors)
}
