//! Where ingested frames go: the table, the models that embed them, and the commit size.

use std::collections::HashSet;
use std::sync::Arc;

use reeldb_engine::{BUILTIN_MODEL, Database};
use reeldb_udf::ModelRegistry;
use reeldb_udf::model::EmbeddingModel;

use super::frame_table::{DEFAULT_FRAMES_TABLE, FrameKey, existing_frame_keys};
use super::frame_writer::{DEFAULT_COMMIT_EVERY, FrameWriter};
use crate::error::{Error, Result};

/// Where ingested frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTarget {
    /// The frames table (created if absent).
    pub table: String,
    /// The models whose embeddings are stored, one column each, named after the model.
    pub models: Vec<String>,
    /// Frames per commit.
    pub commit_every: usize,
}

impl Default for FrameTarget {
    fn default() -> Self {
        FrameTarget {
            table: DEFAULT_FRAMES_TABLE.to_string(),
            models: vec![BUILTIN_MODEL.to_string()],
            commit_every: DEFAULT_COMMIT_EVERY,
        }
    }
}

impl FrameTarget {
    /// A writer to the table in `db` with the models loaded from `models` (the table checked
    /// first), and the keys of the frames already in it, which a re-run skips.
    pub fn open(
        &self,
        db: &Database,
        models: &ModelRegistry,
    ) -> Result<(FrameWriter, HashSet<FrameKey>)> {
        let writer = FrameWriter::new(
            db.clone(),
            &self.table,
            self.resolve_models(models)?,
            self.commit_every,
        )?;
        // The writer holds the writer lock: the newest version is the one it appends to.
        let snapshot = db.snapshot()?;
        let existing = existing_frame_keys(&snapshot, &self.table)?;
        Ok((writer, existing))
    }

    /// The models, loaded; each must embed images, and no model may be named twice.
    pub fn resolve_models(&self, models: &ModelRegistry) -> Result<Vec<Arc<dyn EmbeddingModel>>> {
        if self.models.is_empty() {
            return Err(Error::InvalidArgument(
                "no model to embed the frames with: name one (model = 'builtin')".into(),
            ));
        }
        let mut loaded: Vec<Arc<dyn EmbeddingModel>> = Vec::with_capacity(self.models.len());
        for name in &self.models {
            if loaded.iter().any(|m| m.name() == name) {
                return Err(Error::InvalidArgument(format!(
                    "model '{name}' is named twice"
                )));
            }
            let model = models.model(name)?;
            if !model.kind().embeds_images() {
                return Err(Error::InvalidArgument(format!(
                    "model '{name}' ({}) does not embed images; ingest embeds frames with an \
                     image model (SHOW MODELS lists them)",
                    model.kind()
                )));
            }
            loaded.push(model);
        }
        Ok(loaded)
    }
}
