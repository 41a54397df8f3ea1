use super::*;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use std::collections::{BTreeMap, BTreeSet};

fn listed() -> Vec<FunctionEntry> {
    function_entries()
}

/// Every name (aliases included) a state answers to, with the kinds it answers to it as.
fn names_by_kind(state: &SessionState) -> BTreeMap<String, BTreeSet<FunctionKind>> {
    let mut names: BTreeMap<String, BTreeSet<FunctionKind>> = BTreeMap::new();
    let kinds = [
        (
            FunctionKind::Scalar,
            state.scalar_functions().keys().collect::<Vec<_>>(),
        ),
        (
            FunctionKind::Aggregate,
            state.aggregate_functions().keys().collect(),
        ),
        (
            FunctionKind::Window,
            state.window_functions().keys().collect(),
        ),
        (
            FunctionKind::Table,
            state.table_functions().keys().collect(),
        ),
    ];
    for (kind, keys) in kinds {
        for name in keys {
            names.entry(name.to_lowercase()).or_default().insert(kind);
        }
    }
    names
}

#[test]
fn no_name_is_registered_twice() {
    // Among reeldb's own functions, of all kinds (DataFusion `functions/src/lib.rs`
    // `test_no_duplicate_name`; SQL looks names up in lower case).
    let mut ours = BTreeSet::new();
    for function in listed() {
        for name in std::iter::once(&function.name).chain(&function.aliases) {
            assert!(
                ours.insert(name.to_lowercase()),
                "two reeldb functions are named {name}"
            );
        }
    }

    // Against DataFusion's built-in functions: registering one of those names would replace
    // the built-in (same kind) or make the name mean two things (another kind).
    let defaults = names_by_kind(&SessionStateBuilder::new().with_default_features().build());
    for name in &ours {
        if let Some(kinds) = defaults.get(name) {
            panic!("reeldb's {name}() has the name of a DataFusion {kinds:?} function");
        }
    }

    // What a session registers beyond DataFusion's defaults is exactly the list the docs are
    // made from, each name as one kind.
    let dir = tempfile::tempdir().unwrap();
    let db = reeldb_engine::Database::open(dir.path().join("functions.reeldb")).unwrap();
    let session = crate::Session::new(db);
    let registered = names_by_kind(&session.context().state());
    let added: BTreeSet<String> = registered
        .keys()
        .filter(|name| !defaults.contains_key(*name))
        .cloned()
        .collect();
    assert_eq!(
        added, ours,
        "a session registers what all_functions() lists"
    );
    for name in &ours {
        assert_eq!(
            registered[name].len(),
            1,
            "{name} is registered as {:?}",
            registered[name]
        );
    }
}

#[test]
fn every_function_has_documentation() {
    let sections = reeldb_udf::doc_sections();
    let all = listed();
    for function in &all {
        let name = &function.name;
        let Some(docs) = &function.documentation else {
            panic!("{name}() has no documentation()");
        };
        assert!(
            sections.contains(&docs.doc_section),
            "{name}(): section {:?} is not in reeldb_udf::doc_sections()",
            docs.doc_section.label
        );
        assert!(!docs.description.is_empty(), "{name}(): no description");
        assert!(
            docs.syntax_example.starts_with(&format!("{name}(")),
            "{name}(): the syntax line is {:?}",
            docs.syntax_example
        );
        assert!(
            docs.arguments.as_ref().is_some_and(|a| !a.is_empty()),
            "{name}(): no argument docs"
        );
        let example = docs.sql_example.as_deref().unwrap_or_default();
        // Lines before the first `> statement;` show the function on a real collection
        // (a picture's bytes are no table to check); the `> ` statements are run.
        assert!(
            example.starts_with("```sql\n")
                && example.contains("\n> ")
                && example.ends_with("\n```")
                && example.contains("\n+-"),
            "{name}(): the example is not a ```sql block of `> statement;` and its result table:\n{example}"
        );
        for related in docs.related_udfs.iter().flatten() {
            assert!(
                all.iter().any(|f| &f.name == related),
                "{name}(): related function {related}() is not one of reeldb's"
            );
        }
    }
}

#[test]
fn the_reference_renders_every_function() {
    let markdown = docs::sql_functions_markdown().unwrap();
    for function in listed() {
        assert!(
            markdown.contains(&format!("\n### `{}`\n", function.name)),
            "{}",
            function.name
        );
    }
}
