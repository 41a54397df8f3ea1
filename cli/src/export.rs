//! `reeldb export DATABASE gephi ...`: the face co-occurrence graph written for Gephi.

use std::process::ExitCode;

use anyhow::Result;
use reeldb_query::Session;
use reeldb_query::export::{FaceGraphOptions, face_graph, write_gephi};

use crate::args::ExportKind;
use crate::ingest::runtime;

/// Builds the graph through the session's SQL and writes its files; prints what it wrote.
pub fn export(session: &Session, what: ExportKind) -> Result<ExitCode> {
    let ExportKind::Gephi {
        faces,
        label,
        out,
        window,
        min_weight,
        group,
        directed,
    } = what;
    let options = FaceGraphOptions {
        window,
        min_weight,
        group,
        directed,
        ..FaceGraphOptions::new(&faces, &label)
    };
    let graph = runtime()?.block_on(face_graph(session, &options))?;
    let files = write_gephi(&out, &graph)?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{} nodes, {} edges: {}, {}, {} and {} crops in {}",
            graph.nodes.len(),
            graph.edges.len(),
            files.nodes_csv.display(),
            files.edges_csv.display(),
            files.gexf.display(),
            files.crops.len(),
            out.join("crops").display()
        );
        if graph.edges.is_empty() {
            println!(
                "no pair of identities appears together in {min_weight} or more frames: lower \
                 --min-weight or widen --window"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
