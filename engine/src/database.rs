//! The database: a directory, its writer lock, and the newest committed snapshot.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::fs::{create_dir_durably, write_atomically};
use crate::layout::{DATA_DIR, LOCK_FILE, MANIFEST_DIR, MARKER_CONTENT, MARKER_FILE};
use crate::snapshot::Snapshot;
use crate::transaction::WriteTransaction;

/// Options for opening a database; see [`Database::builder`].
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Create the directory if it does not exist. Default: true, so that `reeldb news.reeldb`
    /// works on first use like `sqlite3 news.db`.
    pub create_if_missing: bool,
    /// Refuse every write. Default: false.
    pub read_only: bool,
    /// A data file is closed and a new one started once it reaches about this many bytes.
    /// Default: 256 MiB, large enough for efficient scans and few files, small enough that
    /// a rewrite after a delete touches little data.
    pub target_file_size: usize,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            create_if_missing: true,
            read_only: false,
            target_file_size: 256 * 1024 * 1024,
        }
    }
}

/// Builds a [`Database`] with non-default options.
#[derive(Debug, Clone, Default)]
pub struct DatabaseBuilder {
    options: DatabaseOptions,
}

impl DatabaseBuilder {
    /// Whether to create the database if it does not exist.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.options.create_if_missing = create;
        self
    }

    /// Whether to open read-only.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.options.read_only = read_only;
        self
    }

    /// The size at which data files are closed.
    pub fn target_file_size(mut self, bytes: usize) -> Self {
        self.options.target_file_size = bytes.max(1);
        self
    }

    /// Opens (or creates) the database at `path`.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path.as_ref(), self.options)
    }
}

/// A reeldb database directory. Cheap to clone; clones share the same state.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    options: DatabaseOptions,
    /// The newest snapshot this handle has seen; replaced when a newer version appears.
    current: Mutex<Arc<Snapshot>>,
}

impl Database {
    /// Opens the database at `path`, creating it if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path.as_ref(), DatabaseOptions::default())
    }

    /// A builder for opening with options.
    pub fn builder() -> DatabaseBuilder {
        DatabaseBuilder::default()
    }

    fn open_with(path: &Path, options: DatabaseOptions) -> Result<Database> {
        prepare_directory(path, &options)?;
        // An absolute root keeps data file paths valid whatever the process's working directory.
        let root = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let current = Snapshot::load_latest(&root)?;
        Ok(Database {
            inner: Arc::new(Inner {
                root,
                options,
                current: Mutex::new(current),
            }),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.root
    }

    /// Checks that `path`, a file some statement or command is about to write (an export, a
    /// result file), lies outside this database's directory: only the engine writes there,
    /// and a file written over a manifest or a data file would lose committed data. Links
    /// and `..` are resolved first, so neither can hide the database directory.
    pub fn check_outside(&self, path: &Path) -> Result<()> {
        let root = std::fs::canonicalize(self.path()).map_err(|e| Error::io(self.path(), e))?;
        // Resolved as the OS would, and with `..` taken lexically (`missing/../x` is not a
        // path the OS opens, but there is no reason to take a chance on it).
        let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
        let resolved = [
            resolve_existing_prefix(&absolute),
            resolve_existing_prefix(&lexically_normal(&absolute)),
        ];
        if resolved.iter().any(|target| target.starts_with(&root)) {
            return Err(Error::InsideDatabase {
                path: path.to_path_buf(),
                database: self.path().to_path_buf(),
            });
        }
        Ok(())
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DatabaseOptions {
        &self.inner.options
    }

    /// The newest committed version. Each call looks for versions committed since the last
    /// one, by this process or another; the returned snapshot never changes.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>> {
        self.refresh()
    }

    /// Starts a write transaction. Fails at once with [`Error::WriterBusy`] if another
    /// transaction, in this process or another, holds the writer lock.
    pub fn begin_write(&self) -> Result<WriteTransaction> {
        if self.inner.options.read_only {
            return Err(Error::ReadOnly {
                path: self.inner.root.clone(),
            });
        }
        let lock_path = self.inner.root.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        let Some(lock) = FileLock::try_exclusive(lock, &lock_path)? else {
            return Err(Error::WriterBusy {
                path: self.inner.root.clone(),
            });
        };
        // Under the lock no one else can commit, so this is the version we build on.
        let base = self.refresh()?;
        Ok(WriteTransaction::new(self.clone(), lock, base))
    }

    /// Loads the newest version if it is newer than the one held, and returns it.
    pub(crate) fn refresh(&self) -> Result<Arc<Snapshot>> {
        let latest = crate::snapshot::latest_version(&self.inner.root)?.unwrap_or(0);
        let mut current = self
            .inner
            .current
            .lock()
            .map_err(|_| Error::Internal("snapshot lock poisoned".into()))?;
        if latest > current.version() {
            *current = Snapshot::load_latest(&self.inner.root)?;
        }
        Ok(Arc::clone(&current))
    }
}

/// Checks that `path` is a database directory, creating one if allowed.
fn prepare_directory(path: &Path, options: &DatabaseOptions) -> Result<()> {
    let not_a_database = |reason: &str| Error::NotADatabase {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let marker = path.join(MARKER_FILE);
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => {
            return Err(not_a_database(
                "it is a file; a reeldb database is a directory",
            ));
        }
        Ok(_) if marker.exists() => {
            let content = std::fs::read_to_string(&marker).map_err(|e| Error::io(&marker, e))?;
            check_marker(&marker, &content)?;
            return Ok(());
        }
        Ok(_) => {
            if !is_empty_or_half_created(path)? {
                return Err(not_a_database(
                    "the directory has other files and no REELDB marker; choose a new or empty \
                     directory",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    if !options.create_if_missing {
        return Err(not_a_database("it does not exist"));
    }
    if options.read_only {
        return Err(not_a_database(
            "it does not exist, and read-only mode cannot create it",
        ));
    }
    create_dir_durably(&path.join(MANIFEST_DIR))?;
    create_dir_durably(&path.join(DATA_DIR))?;
    // The marker goes last: a directory with a marker is complete.
    write_atomically(&marker, MARKER_CONTENT.as_bytes())?;
    Ok(())
}

/// Whether `path` is empty, or holds only what a creation that crashed before writing the
/// marker leaves behind (empty `manifests/` and `data/`, a temporary marker).
fn is_empty_or_half_created(path: &Path) -> Result<bool> {
    for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let entry = entry.map_err(|e| Error::io(path, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let leftover = match name.as_str() {
            MANIFEST_DIR | DATA_DIR => std::fs::read_dir(entry.path())
                .map(|mut d| d.next().is_none())
                .unwrap_or(false),
            other => other.starts_with(&format!("{MARKER_FILE}.")) && other.ends_with(".tmp"),
        };
        if !leftover {
            return Ok(false);
        }
    }
    Ok(true)
}

fn check_marker(marker: &Path, content: &str) -> Result<()> {
    let mut lines = content.lines();
    if lines.next() != Some("reeldb database") {
        return Err(Error::corrupt(
            marker,
            "the marker file does not say 'reeldb database'",
        ));
    }
    let format = lines
        .next()
        .and_then(|l| l.strip_prefix("format "))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| Error::corrupt(marker, "the marker file has no format line"))?;
    if format > crate::manifest::MANIFEST_FORMAT {
        return Err(Error::UnsupportedFormat {
            path: marker.to_path_buf(),
            found: format,
            supported: crate::manifest::MANIFEST_FORMAT,
        });
    }
    Ok(())
}

/// The database directory that `path` (a file or directory some command is about to write)
/// is or lies in, if any: the nearest directory above it that holds a database's marker
/// file. Unlike [`Database::check_outside`] it needs no open database, so a writer that is
/// given only a path can refuse every database, not just one. Links and `..` are resolved as
/// there.
pub fn database_containing(path: &Path) -> Result<Option<PathBuf>> {
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    for resolved in [
        resolve_existing_prefix(&absolute),
        resolve_existing_prefix(&lexically_normal(&absolute)),
    ] {
        if let Some(root) = resolved
            .ancestors()
            .find(|dir| dir.join(MARKER_FILE).is_file())
        {
            return Ok(Some(root.to_path_buf()));
        }
    }
    Ok(None)
}

/// `absolute` with its longest existing prefix canonicalised (links and `..` resolved); the
/// rest, which does not exist yet, is appended as written.
fn resolve_existing_prefix(absolute: &Path) -> PathBuf {
    let mut existing = absolute;
    let mut rest = Vec::new();
    loop {
        if let Ok(mut resolved) = std::fs::canonicalize(existing) {
            for part in rest.iter().rev() {
                resolved.push(part);
            }
            return resolved;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            // A `..` below a missing directory, or the root.
            _ => return absolute.to_path_buf(),
        }
    }
}

/// `absolute` with `.` dropped and each `..` removing the component before it.
fn lexically_normal(absolute: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}
