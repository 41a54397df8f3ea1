//! `docs/sql-functions.md`, rendered from the functions' own documentation (DataFusion's
//! `dev/update_function_docs.sh` does the same for its functions).
//!
//! Sections follow [`reeldb_udf::doc_sections`], functions are alphabetical inside a section,
//! and each has its description, syntax, arguments, example and related functions. The
//! examples run against [`EXAMPLE_DATABASE`], with the fixture photos as `photos/`; the
//! tests run each one (except those of [`MODEL_EXAMPLES`]) and compare its result.

use std::fmt::Write as _;

use datafusion::logical_expr::DocSection;

use super::{FunctionEntry, capitalised, function_entries};
use crate::error::{Error, Result};

/// The statements that make the tables the examples read.
pub const EXAMPLE_DATABASE: &str = "\
CREATE TABLE frames (id BIGINT, video TEXT, embedding VECTOR(2), topic BIGINT, editor_topic TEXT);
INSERT INTO frames VALUES
    (1, 'news', [1.0, 0.0], 0, 'weather'),
    (2, 'news', [0.9, 0.1], 0, 'weather'),
    (3, 'news', [0.8, 0.0], 0, 'weather'),
    (4, 'news', [0.0, 1.0], 1, 'sport'),
    (5, 'news', [0.1, 0.9], 1, 'sport'),
    (6, 'news', [0.0, 0.8], 1, 'weather'),
    (7, 'sport', [0.9, 0.0], 0, 'weather'),
    (8, 'sport', [1.0, 0.1], 0, 'weather'),
    (9, 'sport', [0.8, 0.1], 0, 'weather'),
    (10, 'sport', [0.1, 1.0], 1, 'sport'),
    (11, 'sport', [0.0, 0.9], 1, 'sport'),
    (12, 'sport', [0.1, 0.8], 1, 'sport');
CREATE TABLE faces (video TEXT, frame BIGINT, person BIGINT);
INSERT INTO faces VALUES
    ('news', 0, 0), ('news', 0, 1), ('news', 1, 0), ('news', 1, 1),
    ('news', 2, 1), ('news', 2, 2), ('news', 3, 2), ('news', 3, -1);
CREATE TABLE edges (source TEXT, target TEXT, weight DOUBLE);
INSERT INTO edges VALUES
    ('anchor', 'guest', 3.0), ('guest', 'anchor', 1.0), ('guest', 'expert', 1.0),
    ('expert', 'anchor', 2.0);
CREATE TABLE thumbnails (id BIGINT, topic BIGINT, x DOUBLE, y DOUBLE, thumbnail BYTEA);
INSERT INTO thumbnails VALUES
    (1, 0, 0.0, 0.0, X'89504e470d0a1a0a0000000d4948445200000010000000090802000000b4483b65000000144944415478da6338a1a141126218d530283400000c719d817860e3300000000049454e44ae426082'),
    (2, 0, 1.0, 0.0, X'89504e470d0a1a0a0000000d49484452000000100000000c0802000000e485aad6000000154944415478da63b853a141126218d530aa013b0200ea751d10faed36a20000000049454e44ae426082'),
    (3, 1, 0.0, 1.0, X'89504e470d0a1a0a0000000d4948445200000010000000090802000000b4483b65000000144944415478da63d0883a41126218d53028340000935ab9a152f1157c0000000049454e44ae426082'),
    (4, 1, 1.0, 1.0, X'89504e470d0a1a0a0000000d494844520000000c000000100802000000ad030950000000154944415478da63d058104510318c2a1a55449c22006785d9816144ba790000000049454e44ae426082');";

/// The functions whose examples need a model that [`EXAMPLE_DATABASE`] does not hold (a CLIP
/// model, a face detector): their results show the shape of the answer, not a checked one.
pub const MODEL_EXAMPLES: &[&str] = &["classify", "detect_faces", "embed"];

/// The command that rewrites `docs/sql-functions.md`.
pub const UPDATE_COMMAND: &str =
    "REELDB_UPDATE_DOCS=1 cargo test -p reeldb-tests --test integration function_docs";

/// The Markdown of `docs/sql-functions.md`: every function reeldb registers.
pub fn sql_functions_markdown() -> Result<String> {
    render(&function_entries(), &reeldb_udf::doc_sections())
}

/// The Markdown reference of `functions`, in `sections`' order. Fails if a function has no
/// documentation or belongs to a section that is not listed, so none is left out silently.
pub fn render(functions: &[FunctionEntry], sections: &[DocSection]) -> Result<String> {
    let undocumented: Vec<&str> = functions
        .iter()
        .filter(|f| f.documentation.is_none())
        .map(|f| f.name.as_str())
        .collect();
    if !undocumented.is_empty() {
        return Err(Error::Internal(format!(
            "these functions have no documentation: {}; give each a documentation()",
            undocumented.join(", ")
        )));
    }
    let unlisted: Vec<&str> = functions
        .iter()
        .filter(|f| {
            f.documentation
                .as_ref()
                .is_some_and(|d| !sections.contains(&d.doc_section))
        })
        .map(|f| f.name.as_str())
        .collect();
    if !unlisted.is_empty() {
        return Err(Error::Internal(format!(
            "these functions' doc sections are not in reeldb_udf::doc_sections(): {}",
            unlisted.join(", ")
        )));
    }

    let mut out = String::new();
    let _ = write!(
        out,
        "<!-- Generated from the functions' documentation() by reeldb_query::functions::docs; \
         do not edit. To update: {UPDATE_COMMAND} -->

# SQL functions

The functions reeldb adds to DataFusion's SQL, generated from each function's own
documentation. DataFusion's built-in functions are in its
[SQL reference](https://datafusion.apache.org/user-guide/sql/index.html).

The examples read the tables below, and `photos/` is the `images/` folder of the test
fixtures. The test suite runs every example and checks its result, except the examples of
{model_examples}: they need a model that the example database does not hold.

```sql
{EXAMPLE_DATABASE}
```
",
        model_examples = english_list(
            &MODEL_EXAMPLES
                .iter()
                .map(|name| format!("`{name}()`"))
                .collect::<Vec<_>>()
        ),
    );

    for section in sections {
        let mut members: Vec<&FunctionEntry> = functions
            .iter()
            .filter(|f| {
                f.documentation
                    .as_ref()
                    .is_some_and(|d| &d.doc_section == section)
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        let _ = writeln!(out, "\n## {}\n", section.label);
        if let Some(description) = section.description {
            let _ = writeln!(out, "{description}\n");
        }
        for function in &members {
            let _ = writeln!(
                out,
                "- [{name}](#{name}) ({kind})",
                name = function.name,
                kind = function.kind.label()
            );
        }
        for function in members {
            render_function(&mut out, function);
        }
    }
    Ok(out)
}

fn render_function(out: &mut String, function: &FunctionEntry) {
    let Some(documentation) = &function.documentation else {
        return;
    };
    let _ = write!(
        out,
        "\n### `{name}`\n\n_{kind} function_\n\n{description}\n\n```sql\n{syntax}\n```\n",
        name = function.name,
        kind = capitalised(function.kind.label()),
        description = documentation.description,
        syntax = documentation.syntax_example,
    );
    if let Some(arguments) = &documentation.arguments {
        let _ = writeln!(out, "\n#### Arguments\n");
        for (name, description) in arguments {
            let _ = writeln!(out, "- **{name}**: {description}");
        }
    }
    if let Some(example) = &documentation.sql_example {
        let _ = writeln!(out, "\n#### Example\n\n{example}");
        if MODEL_EXAMPLES.contains(&function.name.as_str()) {
            let _ = writeln!(
                out,
                "\n_The example needs a model that the example database does not hold, so the \
                 tests do not run it; its result shows the shape of one._"
            );
        }
    }
    if !function.aliases.is_empty() {
        let _ = writeln!(out, "\n#### Aliases\n");
        for alias in &function.aliases {
            let _ = writeln!(out, "- {alias}");
        }
    }
    if let Some(related) = &documentation.related_udfs {
        let _ = writeln!(out, "\n**Related functions**:\n");
        for name in related {
            let _ = writeln!(out, "- [{name}](#{name})");
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
