//! The co-occurrence graph of a faces table as Gephi reads it (seed 002): nodes are the
//! identities that keep at least one edge, sized by PageRank and pictured by their largest
//! face crop; edges are `face_cooccurrence()`'s.
//!
//! [`face_graph`] asks the session for the edges (`face_cooccurrence()`) and the crops (one
//! query with a window), and computes PageRank over the kept edges with their normalised
//! weights, as Gephi's "size nodes via PageRank" does after the seed's import.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use reeldb_linalg::graph::{PageRankParams, pagerank};

use super::gephi::{GephiEdge, GephiGraph, GephiNode};
use crate::error::{Error, Result};
use crate::session::Session;

/// Which graph [`face_graph`] builds.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceGraphOptions {
    /// The faces table (`DETECT FACES ... INTO faces`).
    pub faces: String,
    /// Its identity column (`CLUSTER ... INTO person`).
    pub label: String,
    /// Frames back a face is linked to (`face_cooccurrence()`'s `window`; the seed's is 1).
    pub window: u64,
    /// Pairs counted fewer times than this are dropped (the seed's threshold is 2).
    pub min_weight: u64,
    /// The column labels were clustered apart by (`PARTITION BY video`), if any: then a
    /// node is `<group>/<label>`.
    pub group: Option<String>,
    /// Whether edges keep the seed's direction (this frame's face to the previous frame's).
    pub directed: bool,
}

impl FaceGraphOptions {
    /// The seed's graph of `faces` by `label`: window 1, threshold 2, undirected.
    pub fn new(faces: &str, label: &str) -> Self {
        FaceGraphOptions {
            faces: faces.to_string(),
            label: label.to_string(),
            window: 1,
            min_weight: 2,
            group: None,
            directed: false,
        }
    }
}

/// `text` as a SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `name` as a SQL identifier.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A node's id: the label, or `group/label` when labels are per group.
fn node_id(group: Option<&str>, label: i64) -> String {
    match group {
        Some(group) => format!("{group}/{label}"),
        None => label.to_string(),
    }
}

/// The text of column `index` of `batch` at `row` (NULL: none).
fn text_at(batch: &RecordBatch, index: usize, row: usize) -> Result<Option<String>> {
    let column = arrow::compute::cast(batch.column(index), &DataType::Utf8)?;
    let column = column.as_string::<i32>();
    Ok(column.is_valid(row).then(|| column.value(row).to_string()))
}

/// The graph of who appears with whom in `options.faces`, for Gephi.
pub async fn face_graph(session: &Session, options: &FaceGraphOptions) -> Result<GephiGraph> {
    let group_argument = options
        .group
        .as_ref()
        .map(|g| format!(", {}", literal(&format!("group={g}"))))
        .unwrap_or_default();
    let edges_sql = format!(
        "SELECT * FROM face_cooccurrence({}, {}, {}, {}, {}{group_argument})",
        literal(&options.faces),
        literal(&options.label),
        literal(&format!("window={}", options.window)),
        literal(&format!("min_weight={}", options.min_weight)),
        literal(&format!("directed={}", options.directed)),
    );
    let offset = usize::from(options.group.is_some());
    let mut edges = Vec::new();
    let mut nodes: BTreeSet<(Option<String>, i64)> = BTreeSet::new();
    for batch in session.sql(&edges_sql).await? {
        let a = batch.column(offset).as_primitive::<Int64Type>();
        let b = batch.column(offset + 1).as_primitive::<Int64Type>();
        let frames = batch.column(offset + 2).as_primitive::<Int64Type>();
        let weight = batch.column(offset + 3).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let group = if offset == 1 {
                text_at(&batch, 0, row)?
            } else {
                None
            };
            nodes.insert((group.clone(), a.value(row)));
            nodes.insert((group.clone(), b.value(row)));
            edges.push(GephiEdge {
                source: node_id(group.as_deref(), a.value(row)),
                target: node_id(group.as_deref(), b.value(row)),
                weight: weight.value(row),
                frames: u64::try_from(frames.value(row)).unwrap_or(0),
            });
        }
    }
    let ids: Vec<String> = nodes
        .iter()
        .map(|(group, label)| node_id(group.as_deref(), *label))
        .collect();
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let weighted: Vec<(usize, usize, f64)> = edges
        .iter()
        .map(|e| (index[e.source.as_str()], index[e.target.as_str()], e.weight))
        .collect();
    let ranks = pagerank(
        ids.len(),
        &weighted,
        &PageRankParams {
            directed: options.directed,
            ..PageRankParams::default()
        },
    )
    .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let crops = largest_crops(session, options).await?;
    let nodes = ids
        .iter()
        .zip(ranks)
        .map(|(id, rank)| GephiNode {
            id: id.clone(),
            label: id.clone(),
            size: rank,
            image: crops.get(id).cloned(),
        })
        .collect();
    Ok(GephiGraph {
        nodes,
        edges,
        directed: options.directed,
    })
}

/// Each identity's largest face crop (by box area; ties: the earliest face), by node id.
async fn largest_crops(
    session: &Session,
    options: &FaceGraphOptions,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let label = identifier(&options.label);
    let group = options
        .group
        .as_ref()
        .map(|g| identifier(g))
        .unwrap_or_else(|| "NULL".to_string());
    let partition = match &options.group {
        Some(_) => format!("{group}, {label}"),
        None => label.clone(),
    };
    let sql = format!(
        "SELECT g, l, crop FROM (SELECT CAST({group} AS TEXT) AS g, {label} AS l, crop, \
         row_number() OVER (PARTITION BY {partition} ORDER BY width * height DESC, video, \
         frame, face) AS r FROM {faces} WHERE {label} >= 0 AND crop IS NOT NULL) WHERE r = 1",
        faces = identifier(&options.faces),
    );
    let mut crops = BTreeMap::new();
    for batch in session.sql(&sql).await? {
        let labels = arrow::compute::cast(batch.column(1), &DataType::Int64)?;
        let labels = labels.as_primitive::<Int64Type>();
        let images = batch.column(2).as_binary::<i32>();
        for row in 0..batch.num_rows() {
            let group = text_at(&batch, 0, row)?;
            crops.insert(
                node_id(group.as_deref(), labels.value(row)),
                images.value(row).to_vec(),
            );
        }
    }
    Ok(crops)
}
