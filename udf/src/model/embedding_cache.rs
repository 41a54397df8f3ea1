//! A bounded cache of embeddings, so repeated inputs (the same query text in every statement
//! of a report, the same label list) are embedded once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept per generation; the cache holds at most two generations.
const GENERATION: usize = 4096;

/// Maps `(model identity, input)` to its vector.
///
/// Eviction is by generations: when the current map is full it becomes the previous one and
/// the oldest is dropped; a hit in the previous generation moves the entry forward. This keeps
/// recently used entries at a cost of one hash lookup, without an LRU list.
#[derive(Debug, Default)]
pub struct EmbeddingCache {
    inner: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<(String, String), Arc<[f32]>>,
    previous: HashMap<(String, String), Arc<[f32]>>,
}

impl EmbeddingCache {
    /// The cached vector of `input` under `model`, if any.
    pub fn get(&self, model: &str, input: &str) -> Option<Arc<[f32]>> {
        let mut inner = self.inner.lock().ok()?;
        let key = (model.to_string(), input.to_string());
        if let Some(hit) = inner.current.get(&key) {
            return Some(Arc::clone(hit));
        }
        let hit = inner.previous.remove(&key)?;
        inner.insert(key, Arc::clone(&hit));
        Some(hit)
    }

    /// Remembers the vector of `input` under `model`.
    pub fn put(&self, model: &str, input: &str, vector: Arc<[f32]>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.insert((model.to_string(), input.to_string()), vector);
        }
    }
}

impl Generations {
    fn insert(&mut self, key: (String, String), vector: Arc<[f32]>) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, vector);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_one_generation_and_are_keyed_by_model() {
        let cache = EmbeddingCache::default();
        cache.put("m", "boat", Arc::from(vec![1.0f32]));
        assert_eq!(cache.get("m", "boat").as_deref(), Some(&[1.0f32][..]));
        assert!(cache.get("other", "boat").is_none());
        for i in 0..GENERATION {
            cache.put("m", &i.to_string(), Arc::from(vec![0.0f32]));
        }
        // "boat" is in the previous generation now, and a hit brings it forward.
        assert!(cache.get("m", "boat").is_some());
        for i in 0..2 * GENERATION {
            cache.put("m", &format!("x{i}"), Arc::from(vec![0.0f32]));
        }
        assert!(cache.get("m", "boat").is_none());
    }
}
