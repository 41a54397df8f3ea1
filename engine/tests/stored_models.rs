//! Models stored with a database: added, read back after reopening, dropped, vacuumed, and
//! recorded on vector columns.

use arrow::datatypes::{DataType, Field, Schema};
use reeldb_engine::vector::vector_type;
use reeldb_engine::{Database, Error, ModelDescription, ModelFiles, check_model_files};

fn description(name: &str) -> ModelDescription {
    ModelDescription {
        name: name.into(),
        kind: "image".into(),
        layout: "onnx-image".into(),
        dim: 4,
        config: serde_json::json!({"size": 112}),
    }
}

fn model_source(dir: &std::path::Path) -> ModelFiles {
    let source = dir.join("source.onnx");
    std::fs::write(&source, b"not really a model, but bytes to store").unwrap();
    let mut files = ModelFiles::default();
    files.add(&source, "model.onnx");
    files
}

#[test]
fn a_model_is_copied_into_the_database_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let files = model_source(dir.path());
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).unwrap();
        let mut txn = db.begin_write().unwrap();
        let entry = txn.add_model(description("faces"), &files).unwrap();
        assert!(entry.dir.starts_with("models/faces-"), "{}", entry.dir);
        txn.commit().unwrap();
    }
    // The source can go away: the database holds its own copy.
    std::fs::remove_file(dir.path().join("source.onnx")).unwrap();
    let db = Database::open(&path).unwrap();
    let snapshot = db.snapshot().unwrap();
    let model = snapshot.model("faces").unwrap();
    assert_eq!(model.dim, 4);
    assert_eq!(model.config["size"], 112);
    let model_dir = check_model_files(&path, model).unwrap();
    assert_eq!(
        std::fs::read(model_dir.join("model.onnx")).unwrap(),
        b"not really a model, but bytes to store"
    );
}

#[test]
fn names_are_unique_checked_and_builtin_is_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let files = model_source(dir.path());
    let db = Database::open(dir.path().join("db")).unwrap();
    let mut txn = db.begin_write().unwrap();
    txn.add_model(description("clip"), &files).unwrap();
    let err = txn.add_model(description("clip"), &files).unwrap_err();
    assert!(matches!(err, Error::ModelExists { .. }), "{err}");
    for bad in ["builtin", "", "a/b", "../x", ".hidden"] {
        let err = txn.add_model(description(bad), &files).unwrap_err();
        assert!(err.to_string().contains("model name"), "{bad}: {err}");
    }
    let err = txn.drop_model("nope").unwrap_err();
    assert!(err.to_string().contains("SHOW MODELS"), "{err}");
}

#[test]
fn a_missing_source_file_is_an_error_that_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = ModelFiles::default();
    files.add(dir.path().join("absent.onnx"), "model.onnx");
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    let mut txn = db.begin_write().unwrap();
    let err = txn.add_model(description("m"), &files).unwrap_err();
    assert!(err.to_string().contains("absent.onnx"), "{err}");
    drop(txn);
    let left: Vec<_> = std::fs::read_dir(path.join("models"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "rolled back model files remain: {left:?}");
}

#[test]
fn vacuum_deletes_a_dropped_model_once_no_version_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = model_source(dir.path());
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    let mut txn = db.begin_write().unwrap();
    let entry = txn.add_model(description("m"), &files).unwrap();
    txn.commit().unwrap();
    let stored = path.join(&entry.dir);

    db.vacuum(1).unwrap();
    assert!(stored.is_dir(), "a live model was vacuumed");

    let mut txn = db.begin_write().unwrap();
    txn.drop_model("m").unwrap();
    txn.commit().unwrap();
    db.vacuum(2).unwrap();
    assert!(
        stored.is_dir(),
        "a model an older kept version uses was vacuumed"
    );
    db.vacuum(1).unwrap();
    assert!(!stored.exists(), "a dropped model's files were kept");
}

#[test]
fn a_vector_column_records_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let files = model_source(dir.path());
    let db = Database::open(dir.path().join("db")).unwrap();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("embedding", vector_type(4), true),
    ]);
    let mut txn = db.begin_write().unwrap();
    txn.create_table("frames", &schema).unwrap();
    let err = txn
        .set_column_model("frames", "embedding", Some("m"))
        .unwrap_err();
    assert!(matches!(err, Error::ModelNotFound { .. }), "{err}");
    txn.add_model(description("m"), &files).unwrap();
    txn.set_column_model("frames", "embedding", Some("m"))
        .unwrap();
    let err = txn.set_column_model("frames", "id", Some("m")).unwrap_err();
    assert!(err.to_string().contains("not a vector"), "{err}");
    // The built-in model makes 276-dimensional vectors, which a 4-dimensional column cannot
    // hold; the refusal leaves the recorded model as it was.
    let err = txn
        .set_column_model("frames", "embedding", Some("builtin"))
        .unwrap_err();
    assert!(err.to_string().contains("276-dimensional"), "{err}");
    let snapshot = txn.commit().unwrap();
    let column = &snapshot.table("frames").unwrap().columns[1];
    assert_eq!(column.model.as_deref(), Some("m"));
}
