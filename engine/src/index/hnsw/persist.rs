//! An HNSW graph on disk: written with hnsw_rs's dump into a fresh directory and synced,
//! recorded with sizes and checksums, checked before every load (hnsw_rs panics on a damaged
//! dump), and kept loaded for the process's next searches.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::AnnT;
use reeldb_linalg::Metric;

use super::{DUMP_NAME, GraphDistance, VectorIndex};
use crate::error::{Error, Result};
use crate::manifest::{IndexFileEntry, VectorIndexEntry};
use crate::recent::RecentCache;

/// Writes `graph` into the new directory `dir`, syncs it, and returns its files.
pub(super) fn dump(
    graph: &Hnsw<'_, f32, GraphDistance>,
    dir: &Path,
) -> Result<Vec<IndexFileEntry>> {
    if dir.exists() {
        // Left by a build that crashed before its commit; nothing references it.
        std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::fs::create_dir_durably(dir)?;
    let basename = graph
        .file_dump(dir, DUMP_NAME)
        .map_err(|e| Error::io(dir, std::io::Error::other(e.to_string())))?;
    if basename != DUMP_NAME {
        return Err(Error::Internal(format!(
            "hnsw_rs dumped under the name '{basename}' in the fresh directory '{}'",
            dir.display()
        )));
    }
    crate::crash::crash_point("index-dumped");
    let mut files = Vec::new();
    for suffix in ["hnsw.graph", "hnsw.data"] {
        let name = format!("{DUMP_NAME}.{suffix}");
        let path = dir.join(&name);
        crate::fs::sync_file(&path)?;
        let (bytes, crc32) = checksum(&path)?;
        files.push(IndexFileEntry { name, bytes, crc32 });
    }
    crate::fs::sync_dir(dir)?;
    Ok(files)
}

fn checksum(path: &Path) -> Result<(u64, u32)> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hasher.finalize()))
}

self_cell::self_cell!(
    /// A graph loaded from its dump. hnsw_rs ties a loaded graph's lifetime to its loader.
    pub(super) struct LoadedGraph {
        owner: HnswIo,
        #[not_covariant]
        dependent: Graph,
    }
);

type Graph<'a> = Hnsw<'a, f32, GraphDistance>;

/// Indexes loaded by this process, by build directory and file checksums (a build directory
/// never changes, but a database deleted and created again may reuse its name).
static LOADED: LazyLock<RecentCache<(PathBuf, Vec<IndexFileEntry>), VectorIndex>> =
    LazyLock::new(|| RecentCache::new(4));

impl VectorIndex {
    /// Loads the index `entry` of the database at `root`, checking its files first.
    pub(crate) fn load(root: &Path, entry: &VectorIndexEntry) -> Result<Arc<Self>> {
        let dir = root.join(&entry.dir);
        LOADED.get_or_open(&(dir.clone(), entry.files.clone()), || {
            Self::load_uncached(&dir, entry)
        })
    }

    fn load_uncached(dir: &Path, entry: &VectorIndexEntry) -> Result<Self> {
        // hnsw_rs asserts (panics) on a damaged dump, so damage is caught here first.
        for file in &entry.files {
            let path = dir.join(&file.name);
            let (bytes, crc32) = checksum(&path).map_err(|e| match e {
                Error::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound => {
                    Error::corrupt(
                        &path,
                        format!(
                            "a file of vector index '{}' is missing; DROP VECTOR INDEX {} and create it again",
                            entry.name, entry.name
                        ),
                    )
                }
                other => other,
            })?;
            if (bytes, crc32) != (file.bytes, file.crc32) {
                return Err(Error::corrupt(
                    &path,
                    format!(
                        "a file of vector index '{}' is damaged (size or checksum differs); \
                         DROP VECTOR INDEX {} and create it again",
                        entry.name, entry.name
                    ),
                ));
            }
        }
        let metric: Metric = entry.metric.parse()?;
        let distance = GraphDistance { metric };
        let graph = LoadedGraph::try_new(HnswIo::new(dir, DUMP_NAME), |io| {
            io.load_hnsw_with_dist::<f32, GraphDistance>(distance)
                .map(|mut graph| {
                    graph.set_searching_mode(true);
                    graph
                })
                .map_err(|e| Error::corrupt(dir, format!("cannot load the vector index: {e}")))
        })?;
        Ok(VectorIndex {
            entry: entry.clone(),
            metric,
            graph,
        })
    }
}
