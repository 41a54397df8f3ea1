//! Write transactions: the only way the database changes.
//!
//! A transaction holds the writer lock from [`Database::begin_write`] until it is committed or
//! dropped. It starts from the newest committed version, collects changes (tables created or
//! dropped, rows appended, files removed) and publishes them all at once in
//! [`WriteTransaction::commit`]:
//!
//! 1. every new data file is finished and synced, and so are the directories that gained one;
//! 2. the new manifest is written under a temporary name and synced;
//! 3. it is renamed to the next version's name, and the manifest directory is synced.
//!
//! Readers pick up only renamed manifests, so they see all of a commit or none of it. A
//! transaction dropped without commit deletes the files it wrote (never published, so no
//! reader can know them); a crash leaves them behind as unreferenced files, which vacuum
//! removes.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::conform::conform_batch;
use crate::data_file::DataFileWriter;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::fs::{create_dir_durably, sync_dir, write_atomically_then};
use crate::index::IndexSpec;
use crate::index::hnsw::build_index;
use crate::layout::{data_file_path, manifest_path, model_dir, table_dir};
use crate::manifest::{
    ColumnEntry, DataFileEntry, Manifest, ModelEntry, TableEntry, VectorIndexEntry,
    encode_data_type,
};
use crate::model_store::{
    BUILTIN_MODEL, ModelDescription, ModelFiles, check_column_takes_model, check_new_model_name,
    insert_model, model_dimension, store_model,
};
use crate::names::validate_table_name;
use crate::snapshot::{Snapshot, table_not_found};
use crate::vector::{
    MAX_VECTOR_DIMENSION, MODEL_METADATA_KEY, vector_column, vector_dimension, vector_type,
};
use crate::vector_file::derived_vector_files;

/// A write transaction; see the module documentation.
pub struct WriteTransaction {
    db: Database,
    /// Holds the writer lock while the transaction lives.
    _lock: FileLock,
    base: Arc<Snapshot>,
    manifest: Manifest,
    /// The open data file of each table that received rows, by table id.
    open_files: BTreeMap<u64, DataFileWriter>,
    /// Rows appended per table in this transaction, for error messages.
    rows_appended: BTreeMap<u64, u64>,
    /// Every data file this transaction created, finished or not (relative paths).
    created_files: Vec<String>,
    /// Every model directory this transaction created (relative paths).
    created_dirs: Vec<String>,
    next_seq: u32,
    changed: bool,
    committed: bool,
    /// Set when an append failed part-way; such a transaction can only be rolled back.
    failed: bool,
}

impl WriteTransaction {
    pub(crate) fn new(db: Database, lock: FileLock, base: Arc<Snapshot>) -> Self {
        let mut manifest = base.manifest().clone();
        manifest.version = base.version() + 1;
        WriteTransaction {
            db,
            _lock: lock,
            base,
            manifest,
            open_files: BTreeMap::new(),
            rows_appended: BTreeMap::new(),
            created_files: Vec::new(),
            created_dirs: Vec::new(),
            next_seq: 0,
            changed: false,
            committed: false,
            failed: false,
        }
    }

    /// The committed version this transaction started from.
    pub fn base(&self) -> &Arc<Snapshot> {
        &self.base
    }

    /// The catalog as this transaction has changed it so far.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The table `name` as this transaction sees it.
    pub fn table(&self, name: &str) -> Result<&TableEntry> {
        self.manifest
            .table(name)
            .ok_or_else(|| table_not_found(&self.manifest, name))
    }

    /// The entry of the table with id `id`, to change it.
    fn table_mut(&mut self, id: u64) -> Result<&mut TableEntry> {
        self.manifest
            .tables
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| Error::Internal(format!("table {id} vanished from the transaction")))
    }

    /// Creates an empty table. Vector columns (`FixedSizeList<Float32, D>`) are normalised to
    /// the canonical vector type, whatever their element field is named.
    pub fn create_table(&mut self, name: &str, schema: &Schema) -> Result<()> {
        validate_table_name(name)?;
        if self.manifest.table(name).is_some() {
            return Err(Error::TableExists {
                name: name.to_string(),
            });
        }
        let mut columns = table_columns(name, schema)?;
        // A column made by embed() names its model; it is recorded if the model is known.
        for column in &mut columns {
            if let Some(model) = &column.model
                && model != BUILTIN_MODEL
                && self.manifest.model(model).is_none()
            {
                column.model = None;
            }
        }
        let id = self.manifest.next_table_id;
        self.manifest.next_table_id += 1;
        let position = self
            .manifest
            .tables
            .partition_point(|t| t.name.as_str() < name);
        self.manifest.tables.insert(
            position,
            TableEntry {
                id,
                name: name.to_string(),
                columns,
                files: Vec::new(),
                indexes: Vec::new(),
            },
        );
        self.changed = true;
        Ok(())
    }

    /// Drops a table. Its data files stay on disk until vacuum finds no version that uses them.
    pub fn drop_table(&mut self, name: &str) -> Result<()> {
        let id = self.table(name)?.id;
        if let Some(writer) = self.open_files.remove(&id) {
            drop(writer);
        }
        self.manifest.tables.retain(|t| t.name != name);
        self.changed = true;
        Ok(())
    }

    /// Appends a batch to table `name`. The batch's columns are matched to the table's by
    /// position and converted (see [`conform_batch`]); vectors are checked. Returns the
    /// number of rows appended.
    pub fn append(&mut self, name: &str, batch: &RecordBatch) -> Result<u64> {
        let result = self.append_inner(name, batch);
        // A refused batch (bad data) leaves nothing behind; a failed write may have left part
        // of a batch in a file, so the transaction must not commit.
        if matches!(
            result,
            Err(Error::Io { .. } | Error::Parquet { .. } | Error::Internal(_))
        ) {
            self.failed = true;
        }
        result
    }

    fn append_inner(&mut self, name: &str, batch: &RecordBatch) -> Result<u64> {
        let table = self.table(name)?;
        let (id, schema) = (table.id, table.schema()?);
        let first_row = self.rows_appended.get(&id).copied().unwrap_or(0) + 1;
        let batch = conform_batch(name, &schema, batch, first_row)?;
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        if !self.open_files.contains_key(&id) {
            let writer = self.create_data_file(id, &schema)?;
            self.open_files.insert(id, writer);
        }
        let writer = self
            .open_files
            .get_mut(&id)
            .ok_or_else(|| Error::Internal("open data file vanished".into()))?;
        writer.write(&batch)?;
        *self.rows_appended.entry(id).or_default() += batch.num_rows() as u64;
        crate::crash::crash_point("batch-appended");
        if writer.approximate_size() >= self.db.options().target_file_size {
            self.finish_data_file(id)?;
        }
        self.changed = true;
        Ok(batch.num_rows() as u64)
    }

    /// Removes a data file from table `name` (its rows disappear from the table). Used by
    /// delete-by-rewrite and compaction, which append the rows to keep.
    pub fn remove_file(&mut self, name: &str, path: &str) -> Result<()> {
        let id = self.table(name)?.id;
        let table = self.table_mut(id)?;
        let before = table.files.len();
        table.files.retain(|f| f.path != path);
        if table.files.len() == before {
            return Err(Error::Internal(format!(
                "file '{path}' is not part of table '{name}'"
            )));
        }
        self.changed = true;
        Ok(())
    }

    /// Finishes the data files this transaction is writing, so that the manifest lists them
    /// (an index build in the same transaction reads them).
    pub(crate) fn finish_open_files(&mut self) -> Result<()> {
        let ids: Vec<u64> = self.open_files.keys().copied().collect();
        for id in ids {
            self.finish_data_file(id)?;
        }
        Ok(())
    }

    /// The version this transaction publishes when it commits.
    pub fn version(&self) -> u64 {
        self.manifest.version
    }

    /// Builds the vector index `spec` over every row of `table` (those appended in this
    /// transaction included) and adds it to the manifest this transaction publishes.
    pub fn create_vector_index(&mut self, table: &str, spec: &IndexSpec) -> Result<()> {
        if let Some((owner, _)) = self.manifest().index(&spec.name) {
            return Err(Error::IndexExists {
                name: spec.name.clone(),
                table: owner.name.clone(),
            });
        }
        self.finish_open_files()?;
        let entry = build_index(self.base().root(), self.table(table)?, spec, self.version())?;
        self.add_vector_index(table, entry)
    }

    /// Rebuilds every vector index of `table` whose covered files are no longer exactly the
    /// table's files, so that rows added since the build are in the graph and deleted rows
    /// are gone from it. Returns the number of indexes rebuilt.
    pub fn refresh_vector_indexes(&mut self, table: &str) -> Result<usize> {
        self.finish_open_files()?;
        let entry = self.table(table)?.clone();
        let mut rebuilt = 0;
        for index in &entry.indexes {
            let current: Vec<&str> = entry.files.iter().map(|f| f.path.as_str()).collect();
            let covered: Vec<&str> = index.covered.iter().map(String::as_str).collect();
            if current == covered {
                continue;
            }
            let spec = IndexSpec::of_entry(index)?;
            let built = build_index(self.base().root(), &entry, &spec, self.version())?;
            self.replace_vector_index(built)?;
            rebuilt += 1;
        }
        Ok(rebuilt)
    }

    /// Adds a built vector index to table `table`. The index name must be unused in the
    /// database.
    pub fn add_vector_index(&mut self, table: &str, index: VectorIndexEntry) -> Result<()> {
        if let Some((owner, _)) = self.manifest.index(&index.name) {
            return Err(Error::IndexExists {
                name: index.name,
                table: owner.name.clone(),
            });
        }
        let id = self.table(table)?.id;
        let entry = self.table_mut(id)?;
        entry.indexes.push(index);
        self.changed = true;
        Ok(())
    }

    /// Replaces the vector index of the same name (a rebuild or an extension of its graph).
    pub fn replace_vector_index(&mut self, index: VectorIndexEntry) -> Result<()> {
        let slot = self
            .manifest
            .tables
            .iter_mut()
            .flat_map(|t| t.indexes.iter_mut())
            .find(|i| i.name == index.name)
            .ok_or_else(|| Error::IndexNotFound {
                name: index.name.clone(),
            })?;
        *slot = index;
        self.changed = true;
        Ok(())
    }

    /// Drops the vector index `name`. Its files stay until vacuum finds no version using them.
    pub fn drop_vector_index(&mut self, name: &str) -> Result<()> {
        let mut found = false;
        for table in &mut self.manifest.tables {
            let before = table.indexes.len();
            table.indexes.retain(|i| i.name != name);
            found |= table.indexes.len() != before;
        }
        if !found {
            return Err(Error::IndexNotFound {
                name: name.to_string(),
            });
        }
        self.changed = true;
        Ok(())
    }

    /// Stores a model with the database: copies `files` into a new directory of the database
    /// and records it under `name`, with the description the caller gives (kind, layout,
    /// dimension, config). The name must be unused. Returns the stored entry.
    pub fn add_model(
        &mut self,
        description: ModelDescription,
        files: &ModelFiles,
    ) -> Result<ModelEntry> {
        check_new_model_name(&self.manifest, &description.name)?;
        let relative_dir = model_dir(&description.name, self.manifest.version);
        // Recorded first, so that a copy that fails half-way is removed on rollback.
        self.created_dirs.push(relative_dir.clone());
        let entry = store_model(self.db.path(), relative_dir, description, files)?;
        insert_model(&mut self.manifest, entry.clone());
        self.changed = true;
        Ok(entry)
    }

    /// Removes the model `name`. Its files stay until vacuum finds no version using them;
    /// columns that recorded it keep the name (a query that needs the model then says it is
    /// missing).
    pub fn drop_model(&mut self, name: &str) -> Result<()> {
        let before = self.manifest.models.len();
        self.manifest.models.retain(|m| m.name != name);
        if self.manifest.models.len() == before {
            return Err(Error::ModelNotFound {
                name: name.to_string(),
            });
        }
        self.changed = true;
        Ok(())
    }

    /// Records (or, with `None`, forgets) the model whose vectors vector column `column` of
    /// `table` holds.
    pub fn set_column_model(
        &mut self,
        table: &str,
        column: &str,
        model: Option<&str>,
    ) -> Result<()> {
        let model_dim = model
            .map(|name| model_dimension(&self.manifest, name))
            .transpose()?;
        let (dim, _) = vector_column(self.table(table)?, column)?;
        if let (Some(name), Some(model_dim)) = (model, model_dim) {
            check_column_takes_model(name, model_dim, column, dim)?;
        }
        let id = self.table(table)?.id;
        let entry = self.table_mut(id)?;
        let slot = entry
            .columns
            .iter_mut()
            .find(|c| c.name == column)
            .ok_or_else(|| Error::Internal(format!("vector column '{column}' vanished")))?;
        slot.model = model.map(str::to_string);
        self.changed = true;
        Ok(())
    }

    /// Publishes the transaction's changes as the next version and returns that version's
    /// snapshot. A transaction without changes publishes nothing and returns its base.
    pub fn commit(mut self) -> Result<Arc<Snapshot>> {
        if self.failed {
            return Err(Error::Internal(
                "commit of a transaction whose write failed; it was rolled back".into(),
            ));
        }
        if !self.changed {
            self.committed = true;
            return Ok(Arc::clone(&self.base));
        }
        self.finish_open_files()?;
        // New files are synced one by one in `finish`; their directories gain entries too.
        let mut dirs = HashSet::new();
        for path in &self.created_files {
            if let Some((dir, _)) = path.rsplit_once('/') {
                dirs.insert(dir.to_string());
            }
        }
        for dir in dirs {
            sync_dir(&self.db.path().join(dir))?;
        }
        crate::crash::crash_point("data-synced");
        let version = self.manifest.version;
        let bytes = self.manifest.encode()?;
        let path = manifest_path(self.db.path(), version);
        // Once the manifest is renamed into place the commit is visible: from then on the
        // files it lists must never be deleted, even if the directory sync below fails.
        let mut published = false;
        let result = write_atomically_then(&path, &bytes, || published = true);
        self.committed = published;
        if let Err(e) = result {
            return Err(if published {
                Error::CommittedNotSynced {
                    version,
                    cause: Box::new(e),
                }
            } else {
                e
            });
        }
        crate::crash::crash_point("committed");
        self.db.refresh()
    }

    fn create_data_file(&mut self, table_id: u64, schema: &SchemaRef) -> Result<DataFileWriter> {
        // A transaction of the same version that was killed, or whose rollback could not
        // delete everything, may have left a data file or vector files under the next name.
        // Never reuse such a name: a vector file is trusted by its data file's name, rows and
        // size (see `vector_file.rs`).
        let relative = loop {
            let candidate = data_file_path(table_id, self.manifest.version, self.next_seq);
            self.next_seq += 1;
            let taken = std::fs::symlink_metadata(self.db.path().join(&candidate)).is_ok()
                || !derived_vector_files(self.db.path(), &candidate)?.is_empty();
            if !taken {
                break candidate;
            }
        };
        create_dir_durably(&self.db.path().join(table_dir(table_id)))?;
        let path = self.db.path().join(&relative);
        self.created_files.push(relative.clone());
        DataFileWriter::create(path, relative, schema)
    }

    fn finish_data_file(&mut self, table_id: u64) -> Result<()> {
        let Some(writer) = self.open_files.remove(&table_id) else {
            return Ok(());
        };
        let relative = writer.relative.clone();
        let (rows, bytes) = writer.finish()?;
        let table = self
            .manifest
            .tables
            .iter_mut()
            .find(|t| t.id == table_id)
            .ok_or_else(|| Error::Internal("table of an open data file vanished".into()))?;
        table.files.push(DataFileEntry {
            path: relative,
            rows,
            bytes,
        });
        Ok(())
    }
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Rolled back: the files were never referenced by a manifest, so deleting them is
        // safe. Failure to delete only leaves garbage for vacuum.
        self.open_files.clear();
        for path in &self.created_files {
            let _ = std::fs::remove_file(self.db.path().join(path));
            // Vector files the transaction derived from its data files (an index build does).
            for derived in derived_vector_files(self.db.path(), path).unwrap_or_default() {
                let _ = std::fs::remove_file(derived);
            }
        }
        for dir in &self.created_dirs {
            let _ = std::fs::remove_dir_all(self.db.path().join(dir));
        }
    }
}

fn table_columns(table: &str, schema: &Schema) -> Result<Vec<ColumnEntry>> {
    let invalid = |reason: String| Error::InvalidSchema {
        table: table.to_string(),
        reason,
    };
    if schema.fields().is_empty() {
        return Err(invalid("a table needs at least one column".into()));
    }
    let mut seen = HashSet::new();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        if !seen.insert(field.name().as_str()) {
            return Err(invalid(format!("column '{}' appears twice", field.name())));
        }
        let data_type = canonical_type(field)
            .map_err(|reason| invalid(format!("column '{}': {reason}", field.name())))?;
        let encoded = encode_data_type(&data_type).ok_or_else(|| {
            invalid(format!(
                "column '{}' has type {data_type}, which reeldb cannot store yet",
                field.name()
            ))
        })?;
        columns.push(ColumnEntry {
            name: field.name().clone(),
            data_type: encoded,
            nullable: field.is_nullable(),
            model: match field.metadata().get(MODEL_METADATA_KEY) {
                Some(model) if vector_dimension(&data_type).is_some() => Some(model.clone()),
                _ => None,
            },
        });
    }
    Ok(columns)
}

fn canonical_type(field: &Field) -> std::result::Result<DataType, String> {
    match field.data_type() {
        DataType::FixedSizeList(item, dim) => {
            if *dim <= 0 {
                return Err(format!("a vector needs a positive dimension, got {dim}"));
            }
            if *dim as usize > MAX_VECTOR_DIMENSION {
                return Err(format!(
                    "a vector may have at most {MAX_VECTOR_DIMENSION} dimensions, not {dim}"
                ));
            }
            match item.data_type() {
                DataType::Float32 => Ok(vector_type(*dim)),
                DataType::Float16 | DataType::Float64 => Err(format!(
                    "vectors hold 32-bit floats; declare it as FLOAT[{dim}] or VECTOR({dim})"
                )),
                _ => Ok(field.data_type().clone()),
            }
        }
        other => {
            debug_assert!(vector_dimension(other).is_none());
            Ok(other.clone())
        }
    }
}
