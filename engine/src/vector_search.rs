//! Top-k vector search over a snapshot: an exact scan of the flat vector files on all cores,
//! or an HNSW index search merged with an exact scan of the rows the index does not cover.
//!
//! Results keep SQL's meaning of `ORDER BY similarity(col, q) DESC LIMIT k`: rows whose score
//! is NULL (a NULL vector, or a zero vector under cosine) are reported apart, so the caller
//! can place them first (`NULLS FIRST`, SQL's default for `DESC`) or last.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::Arc;

use arrow::buffer::BooleanBuffer;
use rayon::prelude::*;
use reeldb_linalg::distance::{Metric, cosine_distance, dot, l1, norm, squared_l2};

use crate::error::{Error, Result};
use crate::index::hnsw::VectorIndex;
use crate::manifest::TableEntry;
use crate::snapshot::Snapshot;
use crate::vector::vector_column;
use crate::vector_file::{VectorFile, open_vector_file};

/// Rows scored per task of an exact scan.
const ROWS_PER_TASK: usize = 16 * 1024;

/// Below this fraction of matching rows a filtered search scans the matching rows exactly:
/// a graph search would visit many non-matching nodes for each match.
const EXACT_BELOW_SELECTIVITY: f64 = 0.02;

/// A vector search request.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    /// The table.
    pub table: &'a str,
    /// The vector column.
    pub column: &'a str,
    /// The query vector.
    pub query: &'a [f32],
    /// The metric to rank by.
    pub metric: Metric,
    /// How many rows to return.
    pub k: usize,
    /// Which rows may be returned: one entry per data file of the table, in manifest order
    /// (`None` for a file means all its rows). `None` means every row.
    pub filter: Option<&'a [Option<BooleanBuffer>]>,
    /// How to search.
    pub mode: SearchMode,
    /// Whether flat vector files may be written to the database directory (false for a
    /// read-only database; they are then built in memory).
    pub cache_vector_files: bool,
}

/// How a search runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchMode {
    /// Scan every vector.
    Exact,
    /// Use the named index, with the given candidate list size (or the index's default).
    Index {
        /// The index name.
        name: String,
        /// `ef_search`, or `None` for the index's default.
        ef_search: Option<usize>,
    },
}

impl fmt::Display for SearchMode {
    /// As EXPLAIN shows it: `search=exact`, or `index=NAME [ef_search=N]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchMode::Exact => write!(f, "search=exact"),
            SearchMode::Index { name, ef_search } => {
                write!(f, "index={name}")?;
                match ef_search {
                    Some(ef) => write!(f, " ef_search={ef}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A row found by a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchHit {
    /// The data file's position in the table's file list.
    pub file: usize,
    /// The row within the data file, counting from 0.
    pub row: usize,
    /// The exact distance under the request's metric.
    pub distance: f32,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResult {
    /// Up to `k` rows, nearest first (ties broken by file, then row).
    pub hits: Vec<SearchHit>,
    /// Up to `k` matching rows whose score is NULL, as (file, row), in table order.
    pub null_rows: Vec<(usize, usize)>,
    /// How the search ran, for EXPLAIN ANALYZE and tests.
    pub path: SearchPath,
}

impl SearchResult {
    /// The rows SQL's `ORDER BY score LIMIT k` picks, in that order, as `(file, row,
    /// distance)`: the rows whose score is NULL (no distance) first when `nulls_first` (SQL's
    /// default for `DESC`), after the others otherwise.
    pub fn ranked(&self, k: usize, nulls_first: bool) -> Vec<(usize, usize, Option<f32>)> {
        let hits = self
            .hits
            .iter()
            .map(|hit| (hit.file, hit.row, Some(hit.distance)));
        let nulls = self.null_rows.iter().map(|&(file, row)| (file, row, None));
        if nulls_first {
            nulls.chain(hits).take(k).collect()
        } else {
            hits.chain(nulls).take(k).collect()
        }
    }
}

/// How a search actually ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SearchPath {
    /// An exact scan of every matching row.
    #[default]
    Exact,
    /// A graph search (ef as used), plus an exact scan of `uncovered_rows` rows.
    Index {
        /// The candidate list size used.
        ef: usize,
        /// Rows searched exactly because the index does not cover them yet.
        uncovered_rows: usize,
    },
    /// The index was asked for, but the filter matched too few rows (or the graph search
    /// came back with fewer than k of them), so the matching rows were scanned exactly.
    ExactBecauseSelective,
}

/// Runs the top-k search `request` over `snapshot`; see [`Snapshot::vector_search`].
pub(crate) fn search(snapshot: &Snapshot, request: &SearchRequest<'_>) -> Result<SearchResult> {
    let table = snapshot.table(request.table)?;
    let (dim, position) = vector_column(table, request.column)?;
    if request.query.len() != dim {
        return Err(Error::InvalidArgument(format!(
            "the query vector has {} values, but column '{}' holds vectors of dimension {dim}",
            request.query.len(),
            request.column
        )));
    }
    if let Some(filter) = request.filter
        && filter.len() != table.files.len()
    {
        return Err(Error::Internal(format!(
            "a search filter for {} files on a table of {}",
            filter.len(),
            table.files.len()
        )));
    }
    let files = table
        .files
        .par_iter()
        .map(|f| {
            open_vector_file(
                snapshot.root(),
                f,
                position,
                dim,
                request.cache_vector_files,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let scorer = Scorer::new(request.metric, request.query);
    let matches = |file: usize, row: usize| match request.filter {
        None => true,
        Some(filter) => filter[file].as_ref().is_none_or(|mask| mask.value(row)),
    };
    let null_rows = null_rows(&files, &scorer, request.k, &matches);
    if request.k == 0 || !scorer.defined() {
        // No row has a score: every matching row's similarity is NULL.
        return Ok(SearchResult {
            hits: Vec::new(),
            null_rows,
            path: SearchPath::Exact,
        });
    }
    let all_files: Vec<usize> = (0..files.len()).collect();
    let (hits, path) = match &request.mode {
        SearchMode::Exact => (
            exact_top_k(&files, &all_files, &scorer, request.k, &matches),
            SearchPath::Exact,
        ),
        SearchMode::Index { name, ef_search } => {
            let (_, entry) = snapshot
                .vector_index(name)
                .ok_or_else(|| Error::IndexNotFound { name: name.clone() })?;
            let index = VectorIndex::load(snapshot.root(), entry)?;
            indexed_top_k(
                table, &files, &index, &scorer, request, *ef_search, &matches,
            )
        }
    };
    Ok(SearchResult {
        hits,
        null_rows,
        path,
    })
}

/// Scores rows against one query. The score is the metric's distance.
struct Scorer<'q> {
    metric: Metric,
    query: &'q [f32],
    query_norm: f32,
}

impl<'q> Scorer<'q> {
    fn new(metric: Metric, query: &'q [f32]) -> Self {
        Scorer {
            metric,
            query,
            query_norm: norm(query),
        }
    }

    /// Whether any row can have a score (cosine against a zero query has none).
    fn defined(&self) -> bool {
        self.metric != Metric::Cosine || self.query_norm > 0.0
    }

    /// The distance to `row` of `file`, or `None` if its score is NULL.
    #[inline]
    fn distance(&self, file: &VectorFile, row: usize) -> Option<f32> {
        if !file.is_valid(row) {
            return None;
        }
        let vector = file.vector(row);
        match self.metric {
            Metric::Cosine => {
                cosine_distance(dot(self.query, vector), self.query_norm, file.norms()[row])
            }
            Metric::Dot => Some(0.0 - dot(self.query, vector)),
            Metric::L2 => Some(squared_l2(self.query, vector).sqrt()),
            Metric::L1 => Some(l1(self.query, vector)),
        }
    }
}

/// A candidate in a bounded max-heap: the worst kept candidate is on top.
#[derive(Debug, Clone, Copy)]
struct Candidate(SearchHit);

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .distance
            .total_cmp(&other.0.distance)
            .then(self.0.file.cmp(&other.0.file))
            .then(self.0.row.cmp(&other.0.row))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// Keeps the `k` nearest hits offered.
struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            // `k` comes from a SQL LIMIT and may be huge; grow as rows arrive.
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    #[inline]
    fn offer(&mut self, hit: SearchHit) {
        if self.heap.len() < self.k {
            self.heap.push(Candidate(hit));
        } else if let Some(worst) = self.heap.peek()
            && Candidate(hit) < *worst
        {
            self.heap.pop();
            self.heap.push(Candidate(hit));
        }
    }

    fn merge(mut self, other: TopK) -> TopK {
        for candidate in other.heap {
            self.offer(candidate.0);
        }
        self
    }

    fn into_sorted(self) -> Vec<SearchHit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| c.0)
            .collect()
    }
}

/// The exact top `k` of the matching rows of the files at `file_positions`, scanned in
/// parallel, `ROWS_PER_TASK` rows per task.
fn exact_top_k(
    files: &[Arc<VectorFile>],
    file_positions: &[usize],
    scorer: &Scorer<'_>,
    k: usize,
    matches: &(dyn Fn(usize, usize) -> bool + Sync),
) -> Vec<SearchHit> {
    let tasks: Vec<(usize, usize)> = file_positions
        .iter()
        .flat_map(|&file| {
            (0..files[file].rows())
                .step_by(ROWS_PER_TASK)
                .map(move |start| (file, start))
        })
        .collect();
    tasks
        .par_iter()
        .map(|&(file, start)| {
            let vectors = &files[file];
            let mut top = TopK::new(k);
            for row in start..(start + ROWS_PER_TASK).min(vectors.rows()) {
                if !matches(file, row) {
                    continue;
                }
                if let Some(distance) = scorer.distance(vectors, row) {
                    top.offer(SearchHit {
                        file,
                        row,
                        distance,
                    });
                }
            }
            top
        })
        .reduce(|| TopK::new(k), TopK::merge)
        .into_sorted()
}

/// Up to `k` matching rows whose score is NULL, in table order.
fn null_rows(
    files: &[Arc<VectorFile>],
    scorer: &Scorer<'_>,
    k: usize,
    matches: &dyn Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (file, vectors) in files.iter().enumerate() {
        let mut add = |rows: &mut dyn Iterator<Item = usize>| {
            for row in rows {
                if found.len() == k {
                    return;
                }
                if matches(file, row) {
                    found.push((file, row));
                }
            }
        };
        if !scorer.defined() {
            add(&mut (0..vectors.rows()));
        } else if scorer.metric == Metric::Cosine {
            // Both lists are ascending; merge them to keep table order.
            let mut merged: Vec<usize> = vectors
                .null_rows()
                .iter()
                .chain(vectors.zero_rows())
                .copied()
                .collect();
            merged.sort_unstable();
            add(&mut merged.into_iter());
        } else {
            add(&mut vectors.null_rows().iter().copied());
        }
        if found.len() == k {
            break;
        }
    }
    found
}

/// An index search over the covered files that the table still has, merged with an exact
/// scan of the files added since the build.
fn indexed_top_k(
    table: &TableEntry,
    files: &[Arc<VectorFile>],
    index: &VectorIndex,
    scorer: &Scorer<'_>,
    request: &SearchRequest<'_>,
    ef_search: Option<usize>,
    matches: &(dyn Fn(usize, usize) -> bool + Sync),
) -> (Vec<SearchHit>, SearchPath) {
    let entry = index.entry();
    // The table's file position of each covered file it still has.
    let position_of_covered: Vec<Option<usize>> = entry
        .covered
        .iter()
        .map(|path| table.files.iter().position(|f| &f.path == path))
        .collect();
    let covered_positions: Vec<usize> = position_of_covered.iter().flatten().copied().collect();
    let uncovered: Vec<usize> = (0..files.len())
        .filter(|p| !covered_positions.contains(p))
        .collect();
    let k = request.k;
    if index.metric() != request.metric {
        // The planner only picks an index of the query's metric; stay correct regardless.
        return (
            exact_top_k(
                files,
                &(0..files.len()).collect::<Vec<_>>(),
                scorer,
                k,
                matches,
            ),
            SearchPath::Exact,
        );
    }
    let covered_rows: usize = covered_positions.iter().map(|&p| files[p].rows()).sum();
    let matching_covered = if request.filter.is_some() {
        covered_positions
            .iter()
            .map(|&p| (0..files[p].rows()).filter(|&row| matches(p, row)).count())
            .sum()
    } else {
        covered_rows
    };
    // The graph also holds the rows of covered files that were removed since the build: a
    // search has to step over them like over rows a filter rejects.
    let graph_rows = (entry.rows as usize).max(covered_rows);
    let selectivity = matching_covered as f64 / graph_rows.max(1) as f64;
    // A candidate list longer than the graph gains nothing, and a session setting or LIMIT
    // far above it (`SET reeldb.ef_search = 10000000000`) must not become an allocation.
    let base_ef = ef_search
        .unwrap_or(entry.ef_search as usize)
        .max(k)
        .min(graph_rows.max(1));
    let uncovered_rows: usize = uncovered.iter().map(|&p| files[p].rows()).sum();
    if matching_covered <= k || selectivity < EXACT_BELOW_SELECTIVITY {
        let all: Vec<usize> = (0..files.len()).collect();
        return (
            exact_top_k(files, &all, scorer, k, matches),
            SearchPath::ExactBecauseSelective,
        );
    }
    // Filtered and removed rows hide some of the nodes a search visits; widen the candidate
    // list to match.
    let ef = if selectivity < 1.0 {
        ((base_ef as f64 / selectivity).ceil() as usize)
            .min(base_ef * 32)
            .min(graph_rows.max(1))
    } else {
        base_ef
    };
    let keep = |ordinal: usize, row: usize| {
        position_of_covered
            .get(ordinal)
            .copied()
            .flatten()
            .is_some_and(|position| matches(position, row))
    };
    let every_node_counts =
        request.filter.is_none() && position_of_covered.iter().all(Option::is_some);
    let graph_hits = index.search(request.query, k, ef, (!every_node_counts).then_some(&keep));
    let expected = k.min(matching_covered);
    if graph_hits.len() < expected {
        // The graph could not reach enough matching rows; an exact scan always can.
        let all: Vec<usize> = (0..files.len()).collect();
        return (
            exact_top_k(files, &all, scorer, k, matches),
            SearchPath::ExactBecauseSelective,
        );
    }
    let mut top = TopK::new(k);
    for (ordinal, row) in graph_hits {
        let Some(file) = position_of_covered[ordinal] else {
            continue;
        };
        if let Some(distance) = scorer.distance(&files[file], row) {
            top.offer(SearchHit {
                file,
                row,
                distance,
            });
        }
    }
    for hit in exact_top_k(files, &uncovered, scorer, k, matches) {
        top.offer(hit);
    }
    (top.into_sorted(), SearchPath::Index { ef, uncovered_rows })
}
