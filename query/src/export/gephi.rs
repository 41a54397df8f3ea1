//! The graph of identities as Gephi reads it: the files of the seed-002 workflow
//! ("import the Nodes.csv and Edges.csv files into the Data Laboratory ... size nodes via
//! PageRank ... Render Nodes as Images"), plus the same graph as one GEXF 1.3 file.
//!
//! [`write_gephi`] writes into a directory (created if missing):
//!
//! ```text
//! nodes.csv     Id,Label,Size,Image        Data Laboratory > Import Spreadsheet, as a nodes table
//! edges.csv     Source,Target,Type,Weight,Frames    ... as an edges table
//! graph.gexf    GEXF 1.3 (http://gexf.net/1.3): File > Open; `image` and `frames` attributes,
//!               viz:size = Size
//! crops/<id>.jpg  the image of each node that has one (JPEG bytes, written as given)
//! ```
//!
//! # Format
//! - CSV: comma-separated, a header row, `\n` line ends, UTF-8; a field with a comma, a
//!   quote, a line break or surrounding spaces is quoted, with quotes doubled (RFC 4180).
//!   Numbers are written in Rust's shortest form that reads back exactly (`0.25`, `1`).
//! - `Image` is the crop's path relative to the directory, `crops/<id>.jpg`, or empty: in
//!   Gephi's Image Preview plugin, set "Image Path" to the directory.
//! - A crop's file name is the node id with every byte other than `A-Z a-z 0-9 _ -` written
//!   as `%XX` (so `news/3` is `news%2F3.jpg`): unique per id, and never a path or dotfile.
//! - `Type` is `Undirected` or `Directed` (the graph's [`GephiGraph::directed`]), GEXF's
//!   `defaultedgetype` likewise.
//! - XML: `& < > " '` are escaped, tabs and line breaks in attribute values are written as
//!   character references (so they survive), and the other control characters, which XML 1.0
//!   cannot hold, become U+FFFD.
//!
//! The graph is checked before anything is written: ids unique and not empty, every edge
//! between listed nodes, sizes and weights finite and not negative. A crop left from an
//! earlier export of a node no longer in the graph is left alone.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One identity: a node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct GephiNode {
    /// The node's id, unique in the graph (a label such as `3`, or `news/3` for labels per
    /// video).
    pub id: String,
    /// What Gephi shows on the node.
    pub label: String,
    /// The node's size: its PageRank, in the seed's workflow. Finite, 0 or more.
    pub size: f64,
    /// The JPEG bytes of the identity's image (its largest face crop), if any.
    pub image: Option<Vec<u8>>,
}

/// One co-occurrence: an edge of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct GephiEdge {
    /// The id of the node it starts from.
    pub source: String,
    /// The id of the node it goes to.
    pub target: String,
    /// Its weight, normalised to (0, 1] as the seed does (`face_cooccurrence()`'s `weight`).
    pub weight: f64,
    /// How many frames (or frame pairs) the pair was counted in (`face_cooccurrence()`'s
    /// `frames`).
    pub frames: u64,
}

/// A graph for Gephi.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GephiGraph {
    /// The nodes, in the order the files list them.
    pub nodes: Vec<GephiNode>,
    /// The edges, in the order the files list them.
    pub edges: Vec<GephiEdge>,
    /// Whether the edges are directed (`Type` = `Directed`); false for the co-occurrence
    /// graph's default.
    pub directed: bool,
}

/// The files [`write_gephi`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GephiFiles {
    /// `nodes.csv`.
    pub nodes_csv: PathBuf,
    /// `edges.csv`.
    pub edges_csv: PathBuf,
    /// `graph.gexf`.
    pub gexf: PathBuf,
    /// `crops/<id>.jpg`, one per node with an image, in node order.
    pub crops: Vec<PathBuf>,
}

/// The name of the nodes file.
pub const NODES_FILE: &str = "nodes.csv";
/// The name of the edges file.
pub const EDGES_FILE: &str = "edges.csv";
/// The name of the GEXF file.
pub const GEXF_FILE: &str = "graph.gexf";
/// The directory of the node images.
pub const CROPS_DIR: &str = "crops";

/// Writes `graph` into `dir` (created if missing) as the files the [module docs](self) list,
/// each atomically. Fails with [`reeldb_engine::Error::InsideDatabase`] (as
/// [`Error::Engine`]) if `dir` is inside a reeldb database directory, with
/// [`Error::InvalidArgument`] if the graph is not one Gephi can read (nothing is written
/// then), and with [`Error::Io`] if a file cannot be written.
///
/// ```no_run
/// use reeldb_query::export::{GephiEdge, GephiGraph, GephiNode, write_gephi};
///
/// let node = |id: &str, size| GephiNode { id: id.into(), label: id.into(), size, image: None };
/// let graph = GephiGraph {
///     nodes: vec![node("0", 0.6), node("1", 0.4)],
///     edges: vec![GephiEdge { source: "0".into(), target: "1".into(), weight: 1.0, frames: 5 }],
///     directed: false,
/// };
/// let files = write_gephi("graph".as_ref(), &graph)?;
/// assert!(files.gexf.ends_with("graph.gexf"));
/// # Ok::<(), reeldb_query::Error>(())
/// ```
pub fn write_gephi(dir: &Path, graph: &GephiGraph) -> Result<GephiFiles> {
    if let Some(database) = reeldb_engine::database_containing(dir)? {
        return Err(Error::Engine(reeldb_engine::Error::InsideDatabase {
            path: dir.to_path_buf(),
            database,
        }));
    }
    check(graph)?;
    let crops_dir = dir.join(CROPS_DIR);
    let has_images = graph.nodes.iter().any(|n| n.image.is_some());
    let create = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|cause| Error::Io {
            action: "create the directory".into(),
            path: path.to_path_buf(),
            cause,
        })
    };
    create(dir)?;
    if has_images {
        create(&crops_dir)?;
    }
    let mut crops = Vec::new();
    for node in &graph.nodes {
        if let Some(image) = &node.image {
            let name = crop_file_name(&node.id);
            write_atomically(&crops_dir, &name, image)?;
            crops.push(crops_dir.join(name));
        }
    }
    write_atomically(dir, NODES_FILE, nodes_csv(graph).as_bytes())?;
    write_atomically(dir, EDGES_FILE, edges_csv(graph).as_bytes())?;
    write_atomically(dir, GEXF_FILE, gexf(graph).as_bytes())?;
    Ok(GephiFiles {
        nodes_csv: dir.join(NODES_FILE),
        edges_csv: dir.join(EDGES_FILE),
        gexf: dir.join(GEXF_FILE),
        crops,
    })
}

fn check(graph: &GephiGraph) -> Result<()> {
    let invalid = |message: String| Err(Error::InvalidArgument(message));
    let mut ids = HashSet::new();
    for node in &graph.nodes {
        if node.id.is_empty() {
            return invalid("a Gephi node has an empty id; give every node an id".into());
        }
        if !ids.insert(node.id.as_str()) {
            return invalid(format!(
                "two Gephi nodes have the id '{}'; ids must be unique (with labels per \
                 video, make the id from the video and the label)",
                node.id
            ));
        }
        if !(node.size.is_finite() && node.size >= 0.0) {
            return invalid(format!(
                "Gephi node '{}' has size {}; sizes must be finite and 0 or more",
                node.id, node.size
            ));
        }
    }
    for edge in &graph.edges {
        for end in [&edge.source, &edge.target] {
            if !ids.contains(end.as_str()) {
                return invalid(format!(
                    "the Gephi edge {} -> {} names node '{end}', which is not in the graph's \
                     nodes; add the node or drop the edge",
                    edge.source, edge.target
                ));
            }
        }
        if !(edge.weight.is_finite() && edge.weight >= 0.0) {
            return invalid(format!(
                "the Gephi edge {} -> {} has weight {}; weights must be finite and 0 or more",
                edge.source, edge.target, edge.weight
            ));
        }
    }
    Ok(())
}

/// The file name of a node's image in `crops/`: the id with every byte other than
/// `A-Z a-z 0-9 _ -` as `%XX`, then `.jpg`.
pub fn crop_file_name(id: &str) -> String {
    let mut name = String::with_capacity(id.len() + 4);
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            name.push(byte as char);
        } else {
            let _ = write!(name, "%{byte:02X}");
        }
    }
    name.push_str(".jpg");
    name
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    let needs_quotes = text.contains([',', '"', '\n', '\r'])
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_row(out: &mut String, fields: &[&str]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push('\n');
}

fn image_path(node: &GephiNode) -> String {
    match node.image {
        Some(_) => format!("{CROPS_DIR}/{}", crop_file_name(&node.id)),
        None => String::new(),
    }
}

fn edge_type(graph: &GephiGraph) -> &'static str {
    if graph.directed {
        "Directed"
    } else {
        "Undirected"
    }
}

fn nodes_csv(graph: &GephiGraph) -> String {
    let mut out = String::new();
    csv_row(&mut out, &["Id", "Label", "Size", "Image"]);
    for node in &graph.nodes {
        let size = node.size.to_string();
        csv_row(&mut out, &[&node.id, &node.label, &size, &image_path(node)]);
    }
    out
}

fn edges_csv(graph: &GephiGraph) -> String {
    let mut out = String::new();
    csv_row(&mut out, &["Source", "Target", "Type", "Weight", "Frames"]);
    for edge in &graph.edges {
        let (weight, frames) = (edge.weight.to_string(), edge.frames.to_string());
        csv_row(
            &mut out,
            &[
                &edge.source,
                &edge.target,
                edge_type(graph),
                &weight,
                &frames,
            ],
        );
    }
    out
}

/// `text` as an XML attribute value or element content (both quotes escaped).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            // Not allowed in XML 1.0 at all, not even as references.
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn gexf(graph: &GephiGraph) -> String {
    let mut out = String::new();
    let edge_type = if graph.directed {
        "directed"
    } else {
        "undirected"
    };
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">
  <meta>
    <creator>reeldb</creator>
    <description>Co-occurrence graph of identities across video frames</description>
  </meta>
  <graph defaultedgetype="{edge_type}" mode="static">
    <attributes class="node" mode="static">
      <attribute id="image" title="Image" type="string"/>
    </attributes>
    <attributes class="edge" mode="static">
      <attribute id="frames" title="Frames" type="long"/>
    </attributes>
    <nodes count="{}">
"#,
        graph.nodes.len()
    );
    for node in &graph.nodes {
        let _ = writeln!(
            out,
            r#"      <node id="{}" label="{}">"#,
            xml(&node.id),
            xml(&node.label)
        );
        if node.image.is_some() {
            let _ = writeln!(
                out,
                r#"        <attvalues><attvalue for="image" value="{}"/></attvalues>"#,
                xml(&image_path(node))
            );
        }
        let _ = writeln!(out, r#"        <viz:size value="{}"/>"#, node.size);
        out.push_str("      </node>\n");
    }
    let _ = writeln!(
        out,
        "    </nodes>\n    <edges count=\"{}\">",
        graph.edges.len()
    );
    for (index, edge) in graph.edges.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"      <edge id="{index}" source="{}" target="{}" weight="{}">
        <attvalues><attvalue for="frames" value="{}"/></attvalues>
      </edge>"#,
            xml(&edge.source),
            xml(&edge.target),
            edge.weight,
            edge.frames
        );
    }
    out.push_str("    </edges>\n  </graph>\n</gexf>\n");
    out
}

/// Writes `bytes` to `dir/name` through a temporary file in `dir`, synced, then renamed over
/// the name: a reader sees the old file or the new one, never part of one.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |action: &str, path: &Path, cause| Error::Io {
        action: action.into(),
        path: path.to_path_buf(),
        cause,
    };
    let written = File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|cause| io("write", &temporary, cause))
        .and_then(|()| {
            std::fs::rename(&temporary, &path).map_err(|cause| io("rename into", &path, cause))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests;
