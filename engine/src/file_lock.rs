//! OS file locks that are released when dropped, even if a child process shares the file.
//!
//! `flock` locks belong to the open file description, not to the file descriptor. A process
//! that forks while holding a lock gives the child a descriptor for the same description;
//! if the parent then merely closes its own descriptor, the lock lives on until the child
//! closes its copy (at `exec`, for a close-on-exec file). A program that writes to a
//! database on one thread while another thread spawns child processes would then see its
//! own next transaction refused with `WriterBusy`. Unlocking explicitly releases the lock on
//! the description itself, whoever else still holds a descriptor for it.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// A held file lock, shared or exclusive. Dropping it unlocks the file.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes an exclusive lock on `file` if no one else holds a lock on it; `Ok(None)` if
    /// someone does. `path` names the file in errors.
    pub(crate) fn try_exclusive(file: File, path: &Path) -> Result<Option<Self>> {
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io(path, e)),
        }
    }

    /// Takes a shared lock on `file`, waiting while someone holds an exclusive one.
    pub(crate) fn shared(file: File, path: &Path) -> Result<Self> {
        file.lock_shared().map_err(|e| Error::io(path, e))?;
        Ok(FileLock { file })
    }

    /// The locked file.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // An unlock error leaves the lock to be released when the file is closed, which is
        // all that can be done from a destructor.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor duplicated before the lock is dropped (as `fork` duplicates them) must
    /// not keep the lock alive.
    #[test]
    fn dropping_releases_the_lock_while_a_duplicate_descriptor_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let open = || File::create(&path).unwrap();
        let held = FileLock::try_exclusive(open(), &path).unwrap().unwrap();
        let duplicate = held.file().try_clone().unwrap();
        assert!(FileLock::try_exclusive(open(), &path).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_exclusive(open(), &path).unwrap().is_some());
        drop(duplicate);
    }

    #[test]
    fn a_shared_lock_keeps_out_an_exclusive_one_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest");
        let open = || File::create(&path).unwrap();
        let reader = FileLock::shared(open(), &path).unwrap();
        let _duplicate = reader.file().try_clone().unwrap();
        assert!(FileLock::try_exclusive(open(), &path).unwrap().is_none());
        drop(reader);
        assert!(FileLock::try_exclusive(open(), &path).unwrap().is_some());
    }
}
