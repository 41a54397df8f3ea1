//! Writes ingested frames in commits of bounded size, so that an interrupted ingest keeps what
//! it committed and a re-run resumes after it.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use reeldb_engine::{Database, WriteTransaction};
use reeldb_udf::model::EmbeddingModel;

use super::frame_analysis::{AnalysedFrame, embed};
use super::frame_table::{EmbeddingColumn, ensure_frames_table, frames_batch};
use crate::error::Result;

/// Frames per commit unless told otherwise: a crash loses at most this many frames' work, and
/// a table of a long broadcast is a few files rather than thousands.
pub const DEFAULT_COMMIT_EVERY: usize = 512;

/// Appends frames to a frames table, committing every `commit_every` rows.
pub struct FrameWriter {
    db: Database,
    table: String,
    models: Vec<Arc<dyn EmbeddingModel>>,
    columns: Vec<EmbeddingColumn>,
    commit_every: usize,
    txn: Option<(WriteTransaction, SchemaRef)>,
    pending: usize,
    written: u64,
}

impl FrameWriter {
    /// A writer to `table` (created on the first commit if absent) with `models`' embeddings.
    /// Checks at once that an existing table has the right columns.
    pub fn new(
        db: Database,
        table: &str,
        models: Vec<Arc<dyn EmbeddingModel>>,
        commit_every: usize,
    ) -> Result<Self> {
        let columns = models
            .iter()
            .map(|m| EmbeddingColumn {
                model: m.name().to_string(),
                dim: m.dim(),
            })
            .collect();
        let mut writer = FrameWriter {
            db,
            table: table.to_string(),
            models,
            columns,
            commit_every: commit_every.max(1),
            txn: None,
            pending: 0,
            written: 0,
        };
        // Fail before any work if the table cannot take these frames.
        writer.transaction()?;
        Ok(writer)
    }

    /// The models, in column order.
    pub fn models(&self) -> &[Arc<dyn EmbeddingModel>] {
        &self.models
    }

    /// Embeds and appends a step of frames; commits when enough rows are pending.
    pub fn write(&mut self, frames: Vec<AnalysedFrame>) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let rows = embed(frames, &self.models)?;
        let table = self.table.clone();
        let (txn, schema) = self.transaction()?;
        let batch = frames_batch(schema, &rows)?;
        txn.append(&table, &batch)?;
        self.pending += rows.len();
        if self.pending >= self.commit_every {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits the pending rows. Returns the rows written in all.
    pub fn commit(&mut self) -> Result<u64> {
        if let Some((txn, _)) = self.txn.take() {
            txn.commit()?;
            self.written += self.pending as u64;
            self.pending = 0;
        }
        Ok(self.written)
    }

    fn transaction(&mut self) -> Result<&mut (WriteTransaction, SchemaRef)> {
        if self.txn.is_none() {
            let mut txn = self.db.begin_write()?;
            let schema = ensure_frames_table(&mut txn, &self.table, &self.columns)?;
            self.txn = Some((txn, schema));
        }
        Ok(self.txn.as_mut().expect("the transaction was just begun"))
    }
}
