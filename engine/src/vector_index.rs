//! HNSW vector indexes (`hnsw_rs`): build, persist with the snapshot they cover, load, search.
//!
//! A build writes hnsw_rs's dump (`graph.hnsw.graph`, `graph.hnsw.data`) into a fresh
//! directory `indexes/<name>-<version>/`, syncs it, and records the files with their sizes and
//! checksums in a [`VectorIndexEntry`] that the same transaction publishes. A crash before the
//! commit leaves an unreferenced directory, which vacuum deletes; a crash after it leaves a
//! complete, checked index. So the index never disagrees with the data it says it covers.
//!
//! Each graph node's id is `(file ordinal) << 32 | row`, where the ordinal is the data file's
//! position in [`VectorIndexEntry::covered`]. Cosine graphs hold normalised vectors and use
//! `1 − a·b`; l2 graphs use the squared distance (same order, no square root). The search
//! code re-ranks every hit with the exact metric, so these internal distances never leak.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{AnnT, Distance, FilterT};

use crate::distance::{Metric, dot, l1, squared_l2};
use crate::error::{Error, Result};
use crate::layout::INDEX_DIR;
use crate::manifest::{IndexFileEntry, TableEntry, VectorIndexEntry};
use crate::recent::RecentCache;
use crate::transaction::WriteTransaction;
use crate::vector::vector_dimension;
use crate::vector_file::{VectorFile, open_vector_file};

/// The dump's base name inside a build directory.
const DUMP_NAME: &str = "graph";
/// hnsw_rs's maximum number of layers.
const MAX_LAYERS: usize = 16;

/// Builds of fewer rows insert one at a time. hnsw_rs draws node levels from a seeded
/// generator, so a sequential build gives the same graph (and the same answers) every time;
/// a parallel build depends on thread timing. Small builds lose little by it, large ones use
/// every core.
pub const SEQUENTIAL_BUILD_BELOW: usize = 20_000;

/// What a user asks for in `CREATE VECTOR INDEX ... WITH (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    /// The index name, unique in the database.
    pub name: String,
    /// The vector column to index.
    pub column: String,
    /// The metric searches will use.
    pub metric: Metric,
    /// Links per node (HNSW's M).
    pub m: u32,
    /// Candidate list size while building.
    pub ef_construction: u32,
    /// Default candidate list size while searching.
    pub ef_search: u32,
}

impl IndexSpec {
    /// The defaults: cosine, m 16, ef_construction 200, ef_search 128.
    pub fn new(name: &str, column: &str) -> Self {
        IndexSpec {
            name: name.to_string(),
            column: column.to_string(),
            metric: Metric::Cosine,
            m: 16,
            ef_construction: 200,
            ef_search: 128,
        }
    }

    /// The spec an existing index was built with, to build it again.
    pub fn of_entry(index: &VectorIndexEntry) -> Result<Self> {
        Ok(IndexSpec {
            name: index.name.clone(),
            column: index.column.clone(),
            metric: index.metric.parse()?,
            m: index.m,
            ef_construction: index.ef_construction,
            ef_search: index.ef_search,
        })
    }

    /// Sets one `WITH (key = value)` parameter; the error names the allowed keys and ranges.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let number = |low: u32, high: u32| -> Result<u32> {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (low..=high).contains(n))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "vector index parameter {key} = '{value}': use a whole number from {low} to {high}"
                    ))
                })
        };
        match key.to_ascii_lowercase().as_str() {
            "metric" => self.metric = value.parse()?,
            "m" => self.m = number(2, 128)?,
            "ef_construction" => self.ef_construction = number(8, 4096)?,
            "ef_search" => self.ef_search = number(1, 65536)?,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown vector index parameter '{key}': use metric, m, ef_construction or ef_search"
                )));
            }
        }
        Ok(())
    }
}

/// The distance hnsw_rs uses inside a graph (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphDistance {
    metric: Metric,
}

impl Distance<f32> for GraphDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.metric {
            // hnsw_rs requires distances ≥ 0; rounding can make 1 − a·b of unit vectors -1e-7.
            Metric::Cosine => (1.0 - dot(a, b)).max(0.0),
            Metric::L2 => squared_l2(a, b),
            Metric::L1 => l1(a, b),
            // Refused when the index is created; kept total for safety.
            Metric::Dot => (1.0 - dot(a, b)).max(0.0),
        }
    }
}

/// The id of `row` of the data file at `ordinal` in the covered list.
pub(crate) fn node_id(ordinal: usize, row: usize) -> usize {
    (ordinal << 32) | row
}

/// The (file ordinal, row) of a node id.
pub(crate) fn split_node_id(id: usize) -> (usize, usize) {
    (id >> 32, id & 0xFFFF_FFFF)
}

/// Checks that `column` of `table` can be indexed with `metric`; returns its dimension and
/// position.
pub(crate) fn vector_column(table: &TableEntry, column: &str) -> Result<(usize, usize)> {
    let not_vector = |reason: String| Error::NotAVectorColumn {
        table: table.name.clone(),
        column: column.to_string(),
        reason,
    };
    let schema = table.schema()?;
    let (position, field) = schema.column_with_name(column).ok_or_else(|| {
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        not_vector(format!(
            "does not exist; its columns are {}",
            names.join(", ")
        ))
    })?;
    let dim = vector_dimension(field.data_type()).ok_or_else(|| {
        not_vector(format!(
            "is {}, not a vector column (VECTOR(n))",
            field.data_type()
        ))
    })?;
    Ok((dim, position))
}

/// Builds an index over every data file of `table` into `indexes/<name>-<version>/` under
/// `root`, and returns the manifest entry that publishes it.
pub(crate) fn build_index(
    root: &Path,
    table: &TableEntry,
    spec: &IndexSpec,
    version: u64,
) -> Result<VectorIndexEntry> {
    if spec.metric == Metric::Dot {
        return Err(Error::InvalidArgument(
            "an HNSW index needs a true distance, and the dot product is not one: use \
             metric = 'cosine' (the same ranking for normalised vectors), 'l2' or 'l1'"
                .into(),
        ));
    }
    let (dim, position) = vector_column(table, &spec.column)?;
    let files = table
        .files
        .iter()
        .map(|f| open_vector_file(root, f, position, dim, true))
        .collect::<Result<Vec<_>>>()?;
    let rows: usize = files.iter().map(|f| f.rows()).sum();
    let graph = Hnsw::<f32, GraphDistance>::new(
        spec.m as usize,
        rows.max(1),
        MAX_LAYERS,
        spec.ef_construction as usize,
        GraphDistance {
            metric: spec.metric,
        },
    );
    let parallel = rows >= SEQUENTIAL_BUILD_BELOW;
    let inserted = insert_files(&graph, spec.metric, &files, 0, parallel);
    let relative_dir = format!("{INDEX_DIR}/{}-{version:020}", spec.name);
    let files = dump(&graph, &root.join(&relative_dir))?;
    Ok(VectorIndexEntry {
        name: spec.name.clone(),
        column: spec.column.clone(),
        metric: spec.metric.name().to_string(),
        m: spec.m,
        ef_construction: spec.ef_construction,
        ef_search: spec.ef_search,
        dir: relative_dir,
        covered: table.files.iter().map(|f| f.path.clone()).collect(),
        files,
        rows: inserted as u64,
    })
}

/// Inserts every searchable row of `files` (their ordinals start at `first_ordinal`) into
/// `graph`, on all cores if `parallel`. NULL vectors, and zero vectors under cosine, are left
/// out: no query ranks them. Returns the number of rows inserted.
fn insert_files(
    graph: &Hnsw<'_, f32, GraphDistance>,
    metric: Metric,
    files: &[Arc<VectorFile>],
    first_ordinal: usize,
    parallel: bool,
) -> usize {
    let insert = |refs: &Vec<(&[f32], usize)>| {
        if parallel {
            graph.parallel_insert_slice(refs);
        } else {
            for &(vector, id) in refs {
                graph.insert_slice((vector, id));
            }
        }
    };
    let mut inserted = 0;
    for (offset, file) in files.iter().enumerate() {
        let ordinal = first_ordinal + offset;
        let rows = (0..file.rows()).filter(|&row| {
            file.is_valid(row) && (metric != Metric::Cosine || file.norms()[row] > 0.0)
        });
        if metric == Metric::Cosine {
            let normalised: Vec<(Vec<f32>, usize)> = rows
                .map(|row| {
                    let inverse = 1.0 / file.norms()[row];
                    let vector = file.vector(row).iter().map(|x| x * inverse).collect();
                    (vector, node_id(ordinal, row))
                })
                .collect();
            let refs: Vec<(&[f32], usize)> = normalised
                .iter()
                .map(|(v, id)| (v.as_slice(), *id))
                .collect();
            insert(&refs);
            inserted += refs.len();
        } else {
            let refs: Vec<(&[f32], usize)> = rows
                .map(|row| (file.vector(row), node_id(ordinal, row)))
                .collect();
            insert(&refs);
            inserted += refs.len();
        }
    }
    inserted
}

/// Writes `graph` into the new directory `dir`, syncs it, and returns its files.
fn dump(graph: &Hnsw<'_, f32, GraphDistance>, dir: &Path) -> Result<Vec<IndexFileEntry>> {
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
    struct LoadedGraph {
        owner: HnswIo,
        #[not_covariant]
        dependent: Graph,
    }
);

type Graph<'a> = Hnsw<'a, f32, GraphDistance>;

impl WriteTransaction {
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
}

/// A vector index ready to search.
pub struct VectorIndex {
    entry: VectorIndexEntry,
    metric: Metric,
    graph: LoadedGraph,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

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

    /// The manifest entry of this index.
    pub fn entry(&self) -> &VectorIndexEntry {
        &self.entry
    }

    /// The metric the graph was built with.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The `k` nodes nearest to `query` that `keep` accepts, searched with candidate list
    /// size `ef`; as `(file ordinal, row)` pairs, nearest first.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: Option<&(dyn Fn(usize, usize) -> bool + Sync)>,
    ) -> Vec<(usize, usize)> {
        let normalised;
        let query = if self.metric == Metric::Cosine {
            let norm = crate::distance::norm(query);
            normalised = query.iter().map(|x| x / norm).collect::<Vec<_>>();
            &normalised[..]
        } else {
            query
        };
        let filter = |id: &usize| {
            let (ordinal, row) = split_node_id(*id);
            keep.is_none_or(|keep| keep(ordinal, row))
        };
        // hnsw_rs stops a search early only without a filter; with one it goes on through
        // every candidate closer than the current results (about ten times the work at
        // ef 16 on siftsmall), so pass one only when some nodes must be skipped.
        let filter = keep.is_some().then_some(&filter as &dyn FilterT);
        self.graph.with_dependent(|_, graph| {
            graph
                .search_filter(query, k, ef.max(k), filter)
                .into_iter()
                .map(|n| split_node_id(n.d_id))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        for (ordinal, row) in [(0, 0), (1, 5), (700, 4_000_000_000)] {
            assert_eq!(split_node_id(node_id(ordinal, row)), (ordinal, row));
        }
    }

    #[test]
    fn parameters_are_checked_with_their_ranges() {
        let mut spec = IndexSpec::new("i", "v");
        spec.set("M", "32").unwrap();
        spec.set("metric", "euclidean").unwrap();
        assert_eq!((spec.m, spec.metric), (32, Metric::L2));
        let err = spec.set("m", "1000").unwrap_err().to_string();
        assert!(err.contains("from 2 to 128"), "{err}");
        let err = spec.set("efsearch", "10").unwrap_err().to_string();
        assert!(
            err.contains("use metric, m, ef_construction or ef_search"),
            "{err}"
        );
    }
}
