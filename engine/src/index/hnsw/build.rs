//! Building an HNSW graph over a table's flat vector files.

use std::path::Path;
use std::sync::Arc;

use hnsw_rs::hnsw::Hnsw;
use reeldb_linalg::Metric;

use super::persist::dump;
use super::{GraphDistance, MAX_LAYERS, node_id};
use crate::error::{Error, Result};
use crate::index::IndexSpec;
use crate::layout::INDEX_DIR;
use crate::manifest::{TableEntry, VectorIndexEntry};
use crate::names::validate_index_name;
use crate::vector::vector_column;
use crate::vector_file::{VectorFile, open_vector_file};

/// Builds of fewer rows insert one at a time. hnsw_rs draws node levels from a seeded
/// generator, so a sequential build gives the same graph (and the same answers) every time;
/// a parallel build depends on thread timing. Small builds lose little by it, large ones use
/// every core.
pub const SEQUENTIAL_BUILD_BELOW: usize = 20_000;

/// Builds an index over every data file of `table` into `indexes/<name>-<version>/` under
/// `root`, and returns the manifest entry that publishes it.
pub(crate) fn build_index(
    root: &Path,
    table: &TableEntry,
    spec: &IndexSpec,
    version: u64,
) -> Result<VectorIndexEntry> {
    // The one place an index name becomes a path.
    validate_index_name(&spec.name)?;
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
