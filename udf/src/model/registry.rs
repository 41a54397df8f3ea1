//! Finding models by the names SQL uses, and keeping the loaded ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::common::{DataFusionError, Result};
use reeldb_engine::{Database, ModelEntry, check_model_files};

use super::builtin::{BUILTIN_MODEL, BuiltinImageModel};
use super::embedding_cache::EmbeddingCache;
use super::face::{FACE_DETECTOR_KIND, FaceDetector};
use super::global_descriptor::{GLOBAL_DESCRIPTOR_DIM, GLOBAL_DESCRIPTOR_VERSION};
use super::source::{LoadedModel, load_model};
use super::{EmbeddingModel, ModelKind};

/// What planning needs to know of a model, read from the catalog without loading it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The name.
    pub name: String,
    /// What it embeds.
    pub kind: ModelKind,
    /// The vector length.
    pub dim: usize,
    /// Its identity: the stored files' SHA-256, or the built-in model's version.
    pub identity: String,
}

/// The models of one database (and the built-in one), loaded on first use and kept while
/// their stored files stay the same.
#[derive(Debug, Default)]
pub struct ModelRegistry {
    db: Option<Database>,
    /// Loaded models by the directory they were loaded from (unique per added model).
    loaded: Mutex<HashMap<String, LoadedModel>>,
    /// Embeddings of texts, by model identity.
    texts: EmbeddingCache,
}

impl ModelRegistry {
    /// A registry over the models stored in `db`.
    pub fn new(db: Database) -> Self {
        ModelRegistry {
            db: Some(db),
            ..Default::default()
        }
    }

    /// A registry with only the built-in model (for a session without a database).
    pub fn builtin_only() -> Self {
        ModelRegistry::default()
    }

    /// Describes model `name` from the newest committed catalog.
    pub fn info(&self, name: &str) -> Result<ModelInfo> {
        if name == BUILTIN_MODEL {
            return Ok(ModelInfo {
                name: name.to_string(),
                kind: ModelKind::Image,
                dim: GLOBAL_DESCRIPTOR_DIM,
                identity: GLOBAL_DESCRIPTOR_VERSION.to_string(),
            });
        }
        let entry = self.entry(name)?;
        let kind = ModelKind::parse(&entry.kind).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "model '{name}' is a {} model, which does not make embeddings{}",
                entry.kind,
                if entry.kind == FACE_DETECTOR_KIND {
                    format!("; use it in detect_faces(image, '{name}')")
                } else {
                    String::new()
                }
            ))
        })?;
        Ok(ModelInfo {
            name: entry.name,
            kind,
            dim: entry.dim as usize,
            identity: entry.sha256,
        })
    }

    /// Embedding model `name`, loaded (and its files checked) on first use.
    pub fn model(&self, name: &str) -> Result<Arc<dyn EmbeddingModel>> {
        if name == BUILTIN_MODEL {
            return Ok(Arc::new(BuiltinImageModel));
        }
        match self.load(name)? {
            LoadedModel::Embedding(model) => Ok(model),
            LoadedModel::FaceDetector(_) => Err(DataFusionError::Plan(format!(
                "model '{name}' is a face detector and makes no embeddings; use it in \
                 detect_faces(image, '{name}')"
            ))),
        }
    }

    /// Face detector `name`, loaded (and its files checked) on first use.
    pub fn face_detector(&self, name: &str) -> Result<Arc<dyn FaceDetector>> {
        self.check_face_detector(name)?;
        match self.load(name)? {
            LoadedModel::FaceDetector(detector) => Ok(detector),
            LoadedModel::Embedding(model) => Err(not_a_detector(name, model.kind().as_str())),
        }
    }

    /// Checks, from the catalog and without loading it, that `name` is a face detector.
    pub fn check_face_detector(&self, name: &str) -> Result<()> {
        let kind = if name == BUILTIN_MODEL {
            ModelKind::Image.as_str().to_string()
        } else {
            self.entry(name)?.kind
        };
        if kind == FACE_DETECTOR_KIND {
            Ok(())
        } else {
            Err(not_a_detector(name, &kind))
        }
    }

    /// Stored model `name`, loaded on first use and kept while its files stay the same.
    fn load(&self, name: &str) -> Result<LoadedModel> {
        let entry = self.entry(name)?;
        if let Some(model) = self.lock()?.get(&entry.dir) {
            return Ok(model.clone());
        }
        let db = self.db.as_ref().ok_or_else(|| no_database(name))?;
        // Loading can take seconds for a large model; it happens outside the lock, and if two
        // threads race, both load and one result is kept.
        let dir = check_model_files(db.path(), &entry)
            .map_err(|e| DataFusionError::Execution(format!("model '{name}': {e}")))?;
        let model = load_model(&entry, &dir)?;
        Ok(self
            .lock()?
            .entry(entry.dir.clone())
            .or_insert(model)
            .clone())
    }

    /// The embedding of each text under `model`, from the cache where possible; the texts not
    /// cached are embedded in one batch.
    pub fn embed_texts(&self, model: &str, texts: &[&str]) -> Result<Vec<Arc<[f32]>>> {
        let info = self.info(model)?;
        let mut vectors: Vec<Option<Arc<[f32]>>> = texts
            .iter()
            .map(|t| self.texts.get(&info.identity, t))
            .collect();
        let missing: Vec<&str> = texts
            .iter()
            .zip(&vectors)
            .filter(|(_, v)| v.is_none())
            .map(|(t, _)| *t)
            .collect();
        if !missing.is_empty() {
            let loaded = self.model(model)?;
            let values = loaded.embed_texts(&missing)?;
            let mut fresh = values.chunks_exact(info.dim.max(1));
            for (text, slot) in texts.iter().zip(vectors.iter_mut()) {
                if slot.is_none() {
                    let vector: Arc<[f32]> = Arc::from(fresh.next().ok_or_else(|| {
                        DataFusionError::Internal("model returned too few vectors".into())
                    })?);
                    self.texts.put(&info.identity, text, Arc::clone(&vector));
                    *slot = Some(vector);
                }
            }
        }
        Ok(vectors.into_iter().flatten().collect())
    }

    /// The names of the stored models, for error messages.
    fn names(&self) -> Vec<String> {
        let mut names = vec![BUILTIN_MODEL.to_string()];
        if let Some(db) = &self.db
            && let Ok(snapshot) = db.snapshot()
        {
            names.extend(snapshot.manifest().models.iter().map(|m| m.name.clone()));
        }
        names
    }

    fn entry(&self, name: &str) -> Result<ModelEntry> {
        let db = self.db.as_ref().ok_or_else(|| no_database(name))?;
        let snapshot = db
            .snapshot()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        snapshot.manifest().model(name).cloned().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "model '{name}' does not exist; the models are: {}. Add one with \
                 `reeldb model add {name} <directory>` or CREATE MODEL {name} FROM '<directory>'",
                self.names().join(", ")
            ))
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, LoadedModel>>> {
        self.loaded
            .lock()
            .map_err(|_| DataFusionError::Internal("model registry lock poisoned".into()))
    }
}

fn not_a_detector(name: &str, kind: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "model '{name}' ({kind}) is not a face detector; add a detector such as YuNet \
         with `reeldb model add yunet yunet_s_dynamic.onnx`"
    ))
}

fn no_database(name: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "model '{name}' does not exist: without a database only the built-in model is available"
    ))
}
