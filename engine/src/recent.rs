//! A small cache that keeps the most recently used values alive.
//!
//! Loaded indexes and mapped vector files are expensive to open (a checksum over every byte,
//! a graph to rebuild in memory) and cheap to keep. Their files never change once written, so
//! a value cached under its path is right for as long as it is cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Keeps up to `capacity` values, dropping the least recently used.
#[derive(Debug)]
pub(crate) struct RecentCache<K, V> {
    capacity: usize,
    entries: Mutex<Entries<K, V>>,
}

/// The cached values, each with the tick of its last use.
#[derive(Debug)]
struct Entries<K, V> {
    clock: u64,
    values: HashMap<K, (u64, Arc<V>)>,
}

impl<K: Eq + Hash + Clone, V> RecentCache<K, V> {
    /// An empty cache.
    pub(crate) fn new(capacity: usize) -> Self {
        RecentCache {
            capacity,
            entries: Mutex::new(Entries {
                clock: 0,
                values: HashMap::new(),
            }),
        }
    }

    /// The value for `key`, made by `open` if it is not cached. `open` runs without the
    /// cache's lock, so two threads may open the same value at once; one copy is kept.
    pub(crate) fn get_or_open(&self, key: &K, open: impl FnOnce() -> Result<V>) -> Result<Arc<V>> {
        if let Some(value) = self.touch(key)? {
            return Ok(value);
        }
        let value = Arc::new(open()?);
        let mut guard = self.lock()?;
        let Entries {
            clock,
            values: entries,
        } = &mut *guard;
        *clock += 1;
        if let Some((used, existing)) = entries.get_mut(key) {
            *used = *clock;
            return Ok(Arc::clone(existing));
        }
        if entries.len() >= self.capacity
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key.clone(), (*clock, Arc::clone(&value)));
        Ok(value)
    }

    fn touch(&self, key: &K) -> Result<Option<Arc<V>>> {
        let mut guard = self.lock()?;
        let Entries {
            clock,
            values: entries,
        } = &mut *guard;
        *clock += 1;
        Ok(entries.get_mut(key).map(|(used, value)| {
            *used = *clock;
            Arc::clone(value)
        }))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries<K, V>>> {
        self.entries
            .lock()
            .map_err(|_| Error::Internal("cache lock poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used() {
        let cache = RecentCache::new(2);
        let opened = std::cell::Cell::new(0);
        let open = |v: i32| {
            opened.set(opened.get() + 1);
            Ok(v)
        };
        assert_eq!(*cache.get_or_open(&"a", || open(1)).unwrap(), 1);
        assert_eq!(*cache.get_or_open(&"b", || open(2)).unwrap(), 2);
        assert_eq!(*cache.get_or_open(&"a", || open(9)).unwrap(), 1); // cached
        assert_eq!(*cache.get_or_open(&"c", || open(3)).unwrap(), 3); // evicts b
        assert_eq!(*cache.get_or_open(&"a", || open(9)).unwrap(), 1);
        assert_eq!(*cache.get_or_open(&"b", || open(4)).unwrap(), 4); // reopened
        assert_eq!(opened.get(), 4);
    }
}
