//! `CREATE MODEL`, `DROP MODEL`, `SHOW MODELS` and `ALTER TABLE ... SET MODEL`, each in its
//! own commit; and recording the model of vectors an `INSERT` writes (for `dml`).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::DFSchema;
use datafusion::execution::SendableRecordBatchStream;
use reeldb_engine::vector::MODEL_METADATA_KEY;
use reeldb_engine::{BUILTIN_MODEL, Database, Snapshot, WriteTransaction};
use reeldb_udf::model::global_descriptor::{GLOBAL_DESCRIPTOR_DIM, GLOBAL_DESCRIPTOR_VERSION};
use reeldb_udf::model::source::{ModelOptions, inspect_model};

use super::{batch_stream, empty_stream};
use crate::ast::CreateModel;
use crate::error::{Error, Result};

/// Loads the model at the statement's path to check it, then copies it into the database.
/// Runs on a blocking thread: checking a model loads it, and copying a large one takes time.
pub(crate) async fn create_model(
    db: &Database,
    statement: CreateModel,
) -> Result<SendableRecordBatchStream> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        if statement.if_not_exists && db.snapshot()?.manifest().model(&statement.name).is_some() {
            return Ok(());
        }
        let options: ModelOptions = statement
            .options
            .iter()
            .map(|(key, value)| (key.clone(), value.as_text()))
            .collect();
        let inspected = inspect_model(&statement.name, Path::new(&statement.path), &options)?;
        let mut txn = db.begin_write()?;
        if statement.if_not_exists && txn.manifest().model(&statement.name).is_some() {
            return Ok(());
        }
        txn.add_model(inspected.description, &inspected.files)?;
        txn.commit()?;
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(format!("adding the model stopped: {e}")))??;
    Ok(empty_stream())
}

/// Drops the model, or does nothing for a missing one with `IF EXISTS`.
pub(crate) fn drop_model(
    db: &Database,
    name: &str,
    if_exists: bool,
) -> Result<SendableRecordBatchStream> {
    let mut txn = db.begin_write()?;
    if if_exists && txn.manifest().model(name).is_none() {
        return Ok(empty_stream());
    }
    txn.drop_model(name)?;
    txn.commit()?;
    Ok(empty_stream())
}

/// Records (or forgets) the model of a vector column.
pub(crate) fn set_column_model(
    db: &Database,
    table: &str,
    column: &str,
    model: Option<&str>,
) -> Result<SendableRecordBatchStream> {
    let mut txn = db.begin_write()?;
    txn.set_column_model(table, column, model)?;
    txn.commit()?;
    Ok(empty_stream())
}

/// One row per model, the built-in one first: name, kind, layout, dimension, size, identity
/// and the vector columns that record it.
pub(crate) fn show_models(snapshot: &Snapshot) -> Result<SendableRecordBatchStream> {
    let columns_of = |model: &str| -> String {
        let mut columns = Vec::new();
        for table in &snapshot.manifest().tables {
            for column in &table.columns {
                if column.model.as_deref() == Some(model) {
                    columns.push(format!("{}.{}", table.name, column.name));
                }
            }
        }
        columns.join(", ")
    };
    let mut names = vec![BUILTIN_MODEL.to_string()];
    let mut kinds = vec!["image".to_string()];
    let mut layouts = vec!["builtin".to_string()];
    let mut dims = vec![GLOBAL_DESCRIPTOR_DIM as u32];
    let mut bytes = vec![0u64];
    let mut identities = vec![GLOBAL_DESCRIPTOR_VERSION.to_string()];
    let mut used_by = vec![columns_of(BUILTIN_MODEL)];
    for model in &snapshot.manifest().models {
        names.push(model.name.clone());
        kinds.push(model.kind.clone());
        layouts.push(model.layout.clone());
        dims.push(model.dim);
        bytes.push(model.files.iter().map(|f| f.bytes).sum());
        identities.push(format!("sha256:{}", model.sha256));
        used_by.push(columns_of(&model.name));
    }
    let schema = Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("layout", DataType::Utf8, false),
        Field::new("dim", DataType::UInt32, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("identity", DataType::Utf8, false),
        Field::new("columns", DataType::Utf8, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(kinds)),
        Arc::new(StringArray::from(layouts)),
        Arc::new(UInt32Array::from(dims)),
        Arc::new(UInt64Array::from(bytes)),
        Arc::new(StringArray::from(identities)),
        Arc::new(StringArray::from(used_by)),
    ];
    batch_stream(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// For an `INSERT` into `table` of rows shaped like `input`: a vector column that records a
/// model only takes vectors of that model; one that records none starts recording the model of
/// the vectors it gets (when they name one, as `embed()` and `embed_image()` results do).
pub(crate) fn record_inserted_models(
    txn: &mut WriteTransaction,
    table: &str,
    input: &DFSchema,
) -> Result<()> {
    let columns = txn.table(table)?.columns.clone();
    for (column, field) in columns.iter().zip(input.fields()) {
        let Some(incoming) = field.metadata().get(MODEL_METADATA_KEY) else {
            continue;
        };
        match &column.model {
            Some(recorded) if recorded != incoming => {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' of table '{table}' holds vectors of model '{recorded}', and these \
                     come from model '{incoming}'; vectors of different models cannot be \
                     compared. Embed with '{recorded}', or store them in another column",
                    column.name
                )));
            }
            Some(_) => {}
            None => {
                let known = incoming == BUILTIN_MODEL || txn.manifest().model(incoming).is_some();
                if known {
                    txn.set_column_model(table, &column.name, Some(incoming))?;
                }
            }
        }
    }
    Ok(())
}
