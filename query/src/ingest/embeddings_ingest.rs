//! `INGEST EMBEDDINGS FROM 'x.embeds.json' WITH (column = 'vertex')`: vectors computed
//! elsewhere, put on the frames they were computed from.
//!
//! A vector is matched to a frame by file name: the exact name first, then the name without
//! its extensions, so that `…-000123.resized.jpg` (the seed workflow embeds resized copies)
//! finds the frame `…-000123.jpg`. The frames table is rewritten with the column added (or
//! its values replaced), in one commit; frames without a vector get NULL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{Field, Schema};
use reeldb_engine::vector::{MODEL_METADATA_KEY, vector_dimension, vector_item_field, vector_type};
use reeldb_engine::{Database, read_data_file};
use reeldb_udf::ModelRegistry;

use super::control::IngestReport;
use super::embeddings_file::{ImportedVectors, read_embeddings};
use super::frame_table::DEFAULT_FRAMES_TABLE;
use crate::error::{Error, Result};

/// Where imported vectors go.
#[derive(Debug, Clone)]
pub struct EmbeddingsOptions {
    /// The frames table.
    pub table: String,
    /// The column the vectors go to (added if absent).
    pub column: String,
    /// The model that made them, if reeldb has it (recorded on the column; the dimensions must
    /// agree).
    pub model: Option<String>,
    /// For `.npy`: the file listing the images, one per line.
    pub ids: Option<PathBuf>,
}

impl Default for EmbeddingsOptions {
    fn default() -> Self {
        EmbeddingsOptions {
            table: DEFAULT_FRAMES_TABLE.into(),
            column: "embedding".into(),
            model: None,
            ids: None,
        }
    }
}

/// The key vectors and frames are matched by: the last path component, and that without
/// everything from its first dot.
fn match_keys(name: &str) -> (&str, &str) {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = base.split('.').next().unwrap_or(base);
    (base, stem)
}

/// Reads the vectors at `path` and stores them in `options.column` of the frames table in
/// `db`; a model named in the options is looked up in `models`.
pub async fn ingest_embeddings(
    db: &Database,
    models: &ModelRegistry,
    path: &Path,
    options: &EmbeddingsOptions,
) -> Result<IngestReport> {
    let imported = read_embeddings(path, options.ids.as_deref())?;
    let mut report = IngestReport::new(&options.table);
    report.notes.extend(imported.notes.iter().cloned());
    if let Some(model) = &options.model {
        let info = models.info(model)?;
        if info.dim != imported.dim {
            return Err(Error::InvalidArgument(format!(
                "model '{model}' makes {}-d vectors but '{}' holds {}-d ones: name the model \
                 that made them, or none",
                info.dim,
                path.display(),
                imported.dim
            )));
        }
    }

    let mut txn = db.begin_write()?;
    let entry = txn
        .manifest()
        .table(&options.table)
        .cloned()
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "there is no table '{}' to put the vectors on: ingest the frames first (INGEST \
             FRAMES FROM '<directory>'), then their embeddings",
                options.table
            ))
        })?;
    if !entry.indexes.is_empty() {
        let names: Vec<&str> = entry.indexes.iter().map(|i| i.name.as_str()).collect();
        return Err(Error::InvalidArgument(format!(
            "table '{}' has vector indexes ({}), which adding a column would invalidate: drop \
             them (DROP INDEX ...), ingest the embeddings, then create them again",
            options.table,
            names.join(", ")
        )));
    }
    let old_schema = entry.schema()?;
    let file_column = old_schema.index_of("file").map_err(|_| {
        Error::InvalidArgument(format!(
            "table '{}' has no file column to match the vectors' names with",
            options.table
        ))
    })?;
    let existing = old_schema.index_of(&options.column).ok();
    if let Some(position) = existing {
        let field = old_schema.field(position);
        match vector_dimension(field.data_type()) {
            Some(dim) if dim == imported.dim => {}
            Some(dim) => {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' holds {dim}-d vectors but '{}' holds {}-d ones: put them in \
                     another column (column = '...')",
                    options.column,
                    path.display(),
                    imported.dim
                )));
            }
            None => {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' of '{}' is not a vector column: name another (column = '...')",
                    options.column, options.table
                )));
            }
        }
    }

    let lookup = VectorLookup::new(&imported);
    let dim = i32::try_from(imported.dim)
        .map_err(|_| Error::InvalidArgument("the vectors are too long".into()))?;
    let mut field = Field::new(&options.column, vector_type(dim), true);
    if let Some(model) = &options.model {
        field = field.with_metadata([(MODEL_METADATA_KEY.to_string(), model.clone())].into());
    }
    let mut fields: Vec<Field> = old_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    match existing {
        Some(position) => fields[position] = field,
        None => fields.push(field),
    }
    let new_schema = Arc::new(Schema::new(fields));

    // The table is recreated with the new column, and its rows copied file by file.
    let base = Arc::clone(txn.base());
    txn.drop_table(&options.table)?;
    txn.create_table(&options.table, &new_schema)?;
    let mut matched = vec![false; imported.names.len()];
    let (mut with_vector, mut without_vector) = (0u64, 0u64);
    for file in &entry.files {
        for batch in read_data_file(&base.data_file_path(file))? {
            let batch = batch?;
            let files = batch.column(file_column).as_string::<i32>();
            let mut values = Vec::with_capacity(batch.num_rows() * imported.dim);
            let mut valid = Vec::with_capacity(batch.num_rows());
            let old = existing.map(|p| batch.column(p).as_fixed_size_list().clone());
            for row in 0..batch.num_rows() {
                let found = files
                    .is_valid(row)
                    .then(|| lookup.find(files.value(row)))
                    .flatten();
                match found {
                    Some(index) => {
                        matched[index] = true;
                        values.extend_from_slice(lookup.vector(index));
                        valid.push(true);
                        with_vector += 1;
                    }
                    // A frame the file does not mention keeps the vector it had.
                    None => match &old {
                        Some(old) if old.is_valid(row) => {
                            let kept = old.value(row);
                            values.extend_from_slice(
                                kept.as_primitive::<arrow::datatypes::Float32Type>()
                                    .values(),
                            );
                            valid.push(true);
                        }
                        _ => {
                            values.resize(values.len() + imported.dim, 0.0);
                            valid.push(false);
                            without_vector += 1;
                        }
                    },
                }
            }
            let vectors: ArrayRef = Arc::new(FixedSizeListArray::try_new(
                Arc::new(vector_item_field()),
                dim,
                Arc::new(Float32Array::from(values)),
                Some(NullBuffer::from(valid)),
            )?);
            let mut columns = batch.columns().to_vec();
            match existing {
                Some(position) => columns[position] = vectors,
                None => columns.push(vectors),
            }
            txn.append(
                &options.table,
                &RecordBatch::try_new(Arc::clone(&new_schema), columns)?,
            )?;
        }
    }
    let unmatched: Vec<&str> = imported
        .names
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(n, _)| n.as_str())
        .collect();
    if with_vector == 0 {
        let examples: Vec<&str> = unmatched.iter().take(3).copied().collect();
        return Err(Error::InvalidArgument(format!(
            "none of the {} names in '{}' ({}, ...) is the file of a frame in '{}': are these \
             the embeddings of the frames ingested there?",
            imported.names.len(),
            path.display(),
            examples.join(", "),
            options.table
        )));
    }
    txn.commit()?;
    report.added = with_vector;
    report.notes.push(format!(
        "{with_vector} frame(s) got a {}-d vector in column '{}'",
        imported.dim, options.column
    ));
    if !unmatched.is_empty() {
        let examples: Vec<&str> = unmatched.iter().take(5).copied().collect();
        report.notes.push(format!(
            "{} vector(s) match no frame and were left out: {}{}",
            unmatched.len(),
            examples.join(", "),
            if unmatched.len() > 5 { ", ..." } else { "" }
        ));
    }
    if without_vector > 0 {
        report.notes.push(format!(
            "{without_vector} frame(s) have no vector in the file (NULL)"
        ));
    }
    Ok(report)
}

/// Imported vectors by file name and by name without extensions.
struct VectorLookup<'a> {
    vectors: &'a ImportedVectors,
    by_name: HashMap<&'a str, usize>,
    by_stem: HashMap<&'a str, usize>,
}

impl<'a> VectorLookup<'a> {
    fn new(vectors: &'a ImportedVectors) -> Self {
        let mut by_name = HashMap::new();
        let mut by_stem = HashMap::new();
        for (index, name) in vectors.names.iter().enumerate() {
            let (base, stem) = match_keys(name);
            // The last vector given for a name wins, as a later line corrects an earlier.
            by_name.insert(base, index);
            by_stem.insert(stem, index);
        }
        VectorLookup {
            vectors,
            by_name,
            by_stem,
        }
    }

    fn find(&self, file: &str) -> Option<usize> {
        let (base, stem) = match_keys(file);
        self.by_name
            .get(base)
            .or_else(|| self.by_stem.get(stem))
            .copied()
    }

    fn vector(&self, index: usize) -> &[f32] {
        &self.vectors.values[index * self.vectors.dim..(index + 1) * self.vectors.dim]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_with_or_without_extensions() {
        let vectors = ImportedVectors {
            names: vec![
                "RUSSIA1_20231017_130000_Vesti-000001.resized.jpg".into(),
                "dir/b.png".into(),
            ],
            values: vec![1.0, 2.0],
            dim: 1,
            notes: Vec::new(),
        };
        let lookup = VectorLookup::new(&vectors);
        assert_eq!(
            lookup.find("RUSSIA1_20231017_130000_Vesti-000001.jpg"),
            Some(0)
        );
        assert_eq!(lookup.find("b.png"), Some(1));
        assert_eq!(lookup.find("c.png"), None);
    }
}
