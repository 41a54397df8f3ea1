//! `docs/sql-functions.md`: it is what the functions' documentation renders to, and the
//! examples in it give the results they show.

use std::path::Path;

use arrow::util::pretty::pretty_format_batches;
use reeldb_query::functions::docs::{
    EXAMPLE_DATABASE, MODEL_EXAMPLES, UPDATE_COMMAND, sql_functions_markdown,
};
use reeldb_query::functions::function_entries;

const DOCS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sql-functions.md");

#[test]
fn function_docs_are_up_to_date() {
    let rendered = sql_functions_markdown().unwrap();
    let path = Path::new(DOCS_PATH);
    if std::env::var_os("REELDB_UPDATE_DOCS").is_some() {
        std::fs::write(path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/sql-functions.md is not what the functions' documentation() renders to; \
         update it with `{UPDATE_COMMAND}` and commit the result"
    );
}

/// The `> statement;` lines of an example, each with the result table that follows it.
fn statements(example: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut in_statement = false;
    for line in example.lines() {
        if line.starts_with("```") {
            continue;
        }
        if let Some(start) = line.strip_prefix("> ") {
            pairs.push((start.to_string(), String::new()));
            in_statement = !start.ends_with(';');
        } else if let Some((statement, result)) = pairs.last_mut() {
            if in_statement {
                statement.push('\n');
                statement.push_str(line);
                in_statement = !line.ends_with(';');
            } else {
                result.push_str(line);
                result.push('\n');
            }
        }
    }
    pairs
}

#[test]
fn function_docs_examples_give_the_results_they_show() {
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb::Database::open(dir.path().join("examples.reeldb")).unwrap();
    db.sql_blocking(EXAMPLE_DATABASE).unwrap();
    let photos = format!("'{}/", reeldb_tests::fixtures().join("images").display());
    let mut wrong = Vec::new();
    for function in function_entries() {
        if MODEL_EXAMPLES.contains(&function.name.as_str()) {
            continue;
        }
        let example = function
            .documentation
            .and_then(|d| d.sql_example)
            .unwrap_or_default();
        let pairs = statements(&example);
        if pairs.is_empty() {
            wrong.push(format!(
                "{}(): the example has no `> statement;`",
                function.name
            ));
        }
        for (statement, shown) in pairs {
            let actual = match db.sql_blocking(&statement.replace("'photos/", &photos)) {
                Ok(batches) => format!("{}\n", pretty_format_batches(&batches).unwrap()),
                Err(e) => format!("error: {e}\n"),
            };
            if actual != shown {
                wrong.push(format!(
                    "{}(): > {statement}\nshows:\n{shown}gives:\n{actual}",
                    function.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
