//! `reeldb_query::export::write_gephi`: the files read back, `graph.gexf` validated against
//! the official GEXF 1.3 schema with `xmllint` (`scripts/test` installs `libxml2-utils`), the
//! refusal of a database directory, and the whole seed-002 chain from a faces table.
//!
//! The schema (`tests/graph/gexf-1.3/`, from github.com/gephi/gexf `specs/1.3`, CC BY 4.0;
//! see its README) declares the viz elements (`size`, `color`, `position`) in the GEXF
//! namespace itself (since gephi/gexf#19), while Gephi writes and reads them as
//! `viz:size` in `http://gexf.net/1.3/viz`, as the 1.3 primer shows. So the file keeps
//! Gephi's `viz:` form, and the test validates it with the viz elements moved into the
//! namespace where the schema declares them: every other element and attribute is checked
//! as written.

use std::path::Path;
use std::process::Command;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use reeldb_query::Error;
use reeldb_query::export::{GephiEdge, GephiGraph, GephiNode, write_gephi};
use reeldb_tests::sql;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/graph/gexf-1.3/gexf.xsd");

/// A CSV file's rows, RFC 4180 quoting undone.
fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        row.is_empty() && field.is_empty() && !quoted,
        "no final line break"
    );
    rows
}

/// Runs xmllint on `file` (against the GEXF 1.3 schema when `schema`).
fn xmllint(file: &Path, schema: bool) -> (bool, String) {
    let mut command = Command::new("xmllint");
    command.arg("--noout");
    if schema {
        command.args(["--schema", SCHEMA]);
    }
    let output = command.arg(file).output().unwrap_or_else(|e| {
        panic!("xmllint is needed for this test ({e}); apt-get install libxml2-utils, as scripts/test does")
    });
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Validates a GEXF file as the module docs say: as written for well-formedness, and with
/// the viz elements in the namespace the official schema declares them in.
fn assert_valid_gexf(path: &Path) {
    let (ok, errors) = xmllint(path, false);
    assert!(ok, "{path:?} is not well-formed XML: {errors}");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(r#"xmlns:viz="http://gexf.net/1.3/viz""#));
    let schema_form = text
        .replace(r#" xmlns:viz="http://gexf.net/1.3/viz""#, "")
        .replace("<viz:", "<");
    assert!(!schema_form.contains("viz:"), "viz: left in {schema_form}");
    let copy = path.with_extension("schema-form.gexf");
    std::fs::write(&copy, schema_form).unwrap();
    let (ok, errors) = xmllint(&copy, true);
    std::fs::remove_file(&copy).unwrap();
    assert!(ok, "{path:?} does not validate against GEXF 1.3: {errors}");
}

fn node(id: &str, label: &str, size: f64, image: Option<&[u8]>) -> GephiNode {
    GephiNode {
        id: id.into(),
        label: label.into(),
        size,
        image: image.map(<[u8]>::to_vec),
    }
}

fn edge(source: &str, target: &str, weight: f64, frames: u64) -> GephiEdge {
    GephiEdge {
        source: source.into(),
        target: target.into(),
        weight,
        frames,
    }
}

fn awkward_graph() -> GephiGraph {
    GephiGraph {
        nodes: vec![
            node("0", "Olga Skabeyeva", 0.5, Some(b"\xFF\xD8jpeg 0\xFF\xD9")),
            node("1", "Carlson, Tucker", 0.25, None),
            node(
                "news/2",
                "say \"hi\" <&> 'x'\nsecond line",
                0.125,
                Some(b"\xFF\xD8two"),
            ),
            node("3", "Zoë\tTab", 0.125, None),
        ],
        edges: vec![
            edge("0", "1", 1.0, 8),
            edge("0", "news/2", 0.5, 4),
            edge("3", "1", 0.25, 2),
        ],
        directed: false,
    }
}

#[test]
fn gephi_files_read_back_and_the_gexf_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export/graph");
    let graph = awkward_graph();
    let files = write_gephi(&out, &graph).unwrap();
    assert_eq!(files.nodes_csv, out.join("nodes.csv"));
    assert_eq!(
        files.crops,
        [out.join("crops/0.jpg"), out.join("crops/news%2F2.jpg")]
    );

    let nodes = read_csv(&files.nodes_csv);
    assert_eq!(nodes[0], ["Id", "Label", "Size", "Image"]);
    assert_eq!(nodes[1], ["0", "Olga Skabeyeva", "0.5", "crops/0.jpg"]);
    assert_eq!(nodes[2], ["1", "Carlson, Tucker", "0.25", ""]);
    assert_eq!(
        nodes[3],
        [
            "news/2",
            "say \"hi\" <&> 'x'\nsecond line",
            "0.125",
            "crops/news%2F2.jpg"
        ]
    );
    assert_eq!(nodes[4], ["3", "Zoë\tTab", "0.125", ""]);
    let edges = read_csv(&files.edges_csv);
    assert_eq!(
        edges,
        [
            vec!["Source", "Target", "Type", "Weight", "Frames"],
            vec!["0", "1", "Undirected", "1", "8"],
            vec!["0", "news/2", "Undirected", "0.5", "4"],
            vec!["3", "1", "Undirected", "0.25", "2"],
        ]
    );
    assert_eq!(
        std::fs::read(&files.crops[0]).unwrap(),
        b"\xFF\xD8jpeg 0\xFF\xD9"
    );
    assert_eq!(std::fs::read(&files.crops[1]).unwrap(), b"\xFF\xD8two");

    assert_valid_gexf(&files.gexf);
    let gexf = std::fs::read_to_string(&files.gexf).unwrap();
    assert!(gexf.contains(r#"defaultedgetype="undirected""#));
    assert!(gexf.contains(
        r#"<node id="news/2" label="say &quot;hi&quot; &lt;&amp;&gt; &apos;x&apos;&#10;second line">"#
    ));
    assert!(gexf.contains(r#"<attvalue for="image" value="crops/news%2F2.jpg"/>"#));
    assert!(gexf.contains(r#"<viz:size value="0.125"/>"#));
    assert!(gexf.contains(r#"<attvalue for="frames" value="8"/>"#));

    // Written again over the old files, directed this time: whole files, no leftovers.
    let directed = GephiGraph {
        directed: true,
        ..awkward_graph()
    };
    let files = write_gephi(&out, &directed).unwrap();
    assert_eq!(read_csv(&files.edges_csv)[1][2], "Directed");
    assert_valid_gexf(&files.gexf);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["crops", "edges.csv", "graph.gexf", "nodes.csv"]);
}

#[test]
fn an_empty_graph_is_still_a_valid_gexf() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_gephi(dir.path(), &GephiGraph::default()).unwrap();
    assert_eq!(read_csv(&files.nodes_csv).len(), 1);
    assert!(files.crops.is_empty());
    assert!(!dir.path().join("crops").exists());
    assert_valid_gexf(&files.gexf);
}

#[test]
fn gephi_export_refuses_a_database_directory_and_bad_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("news.reeldb")).unwrap();
    let inside = dir.path().join("news.reeldb/graph");
    let error = write_gephi(&inside, &awkward_graph()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Engine(reeldb_engine::Error::InsideDatabase { .. })
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("write it somewhere else"),
        "{error}"
    );
    assert!(!inside.exists());
    drop(db);

    let out = dir.path().join("bad");
    let bad = |change: &dyn Fn(&mut GephiGraph)| {
        let mut graph = awkward_graph();
        change(&mut graph);
        let error = write_gephi(&out, &graph).unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
        assert!(!out.exists(), "nothing is written for a bad graph");
        error.to_string()
    };
    assert!(bad(&|g| g.nodes[1].id = "0".into()).contains("two Gephi nodes have the id '0'"));
    assert!(bad(&|g| g.nodes[1].id = String::new()).contains("empty id"));
    assert!(bad(&|g| g.edges[0].target = "9".into()).contains("names node '9'"));
    assert!(bad(&|g| g.nodes[0].size = f64::NAN).contains("size NaN"));
    assert!(bad(&|g| g.edges[0].weight = -1.0).contains("weight -1"));
}

#[test]
fn the_seed_graph_goes_from_a_faces_table_to_gephi_files() {
    // What `reeldb export DB gephi` does: co-occurrence, PageRank, the largest crop each.
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("news.reeldb")).unwrap();
    sql(
        &db,
        "CREATE TABLE faces (video TEXT, frame BIGINT, person BIGINT, width FLOAT, \
         height FLOAT, crop BYTEA)",
    );
    sql(
        &db,
        "INSERT INTO faces VALUES
            ('news', 0, 0, 10, 10, X'FFD800'), ('news', 0, 1, 20, 20, X'FFD801'),
            ('news', 1, 0, 30, 30, X'FFD8000000'), ('news', 1, 1, 5, 5, X'FFD8'),
            ('news', 2, 1, 8, 8, X'FFD8'), ('news', 2, 2, 9, 9, X'FFD802'),
            ('news', 3, 2, 9, 9, X'FFD8'), ('news', 3, -1, 50, 50, X'FFD8FF')",
    );
    sql(
        &db,
        "CREATE TABLE edges AS SELECT * FROM face_cooccurrence('faces', 'person')",
    );
    let ranks = sql(
        &db,
        "SELECT r.node, r.rank, c.crop FROM pagerank('edges', 'a', 'b', weight => 'weight', \
         directed => false) r LEFT JOIN (SELECT person, first_value(crop ORDER BY width * \
         height DESC) AS crop FROM faces GROUP BY person) c ON c.person = r.node ORDER BY r.node",
    );
    let mut graph = GephiGraph::default();
    for batch in &ranks {
        for row in 0..batch.num_rows() {
            let id = batch.column(0).as_primitive::<Int64Type>().value(row);
            let crops = batch.column(2).as_binary::<i32>();
            graph.nodes.push(node(
                &id.to_string(),
                &format!("person {id}"),
                batch.column(1).as_primitive::<Float64Type>().value(row),
                Some(crops.value(row)),
            ));
        }
    }
    let edges: Vec<RecordBatch> = sql(&db, "SELECT a, b, frames, weight FROM edges");
    for batch in &edges {
        let int = |i: usize| batch.column(i).as_primitive::<Int64Type>().clone();
        for row in 0..batch.num_rows() {
            graph.edges.push(edge(
                &int(0).value(row).to_string(),
                &int(1).value(row).to_string(),
                batch.column(3).as_primitive::<Float64Type>().value(row),
                int(2).value(row) as u64,
            ));
        }
    }
    let files = write_gephi(&dir.path().join("graph"), &graph).unwrap();
    let nodes = read_csv(&files.nodes_csv);
    assert_eq!(nodes.len(), 4, "{nodes:?}");
    assert_eq!(
        read_csv(&files.edges_csv)[1..],
        [
            vec!["0", "1", "Undirected", "1", "5"],
            vec!["1", "2", "Undirected", "0.6", "3"],
        ]
    );
    // Person 0's largest face is the 30 x 30 one.
    assert_eq!(std::fs::read(&files.crops[0]).unwrap(), b"\xFF\xD8\0\0\0");
    assert_valid_gexf(&files.gexf);
}
