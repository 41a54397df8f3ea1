//! Models through SQL: the built-in image model, CLIP models (small ONNX models this test
//! makes with `tests/models/make_tiny_clip.py`, with the Hugging Face export's input and output
//! names) run by ONNX Runtime, classify(), model bookkeeping, and the errors.
//!
//! Needs Python with `onnx`, `numpy` and `onnxruntime` (tests/requirements.txt, which
//! `scripts/test` installs).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type};
use reeldb_tests::{fixture_image as image, fixtures, sql, sql_error as error};

/// The tiny CLIP models, made once per test run.
fn tiny_clip() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/make_tiny_clip.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .arg(fixtures().join("models/clip-tokenizer"))
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{} failed (pip install -r tests/requirements.txt): {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
    .path()
}

fn open(dir: &tempfile::TempDir) -> reeldb::Database {
    reeldb::Database::open(dir.path().join("models.reeldb")).unwrap()
}

/// A new database with the split tiny CLIP model added as `clip`.
fn open_with_clip(dir: &tempfile::TempDir) -> reeldb::Database {
    let db = open(dir);
    let split = tiny_clip().join("split");
    sql(
        &db,
        &format!("CREATE MODEL clip FROM '{}'", split.display()),
    );
    db
}

fn floats(batches: &[RecordBatch], column: usize) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let array = b.column(column).as_primitive::<Float64Type>();
            (0..array.len()).map(|i| array.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

fn texts(batches: &[RecordBatch], column: usize) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let array =
                arrow::compute::cast(b.column(column), &arrow::datatypes::DataType::Utf8).unwrap();
            let array = array.as_string::<i32>();
            (0..array.len())
                .map(|i| array.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A smaller, recompressed copy of a fixture photo: a near-duplicate.
fn degraded_copy(name: &str, dir: &Path) -> String {
    let original = image::open(image(name)).unwrap().to_rgb8();
    let smaller = image::imageops::resize(
        &original,
        original.width() * 2 / 3,
        original.height() * 2 / 3,
        image::imageops::FilterType::Triangle,
    );
    let path = dir.join(format!("copy-of-{name}.jpg"));
    let mut file = std::fs::File::create(&path).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 60)
        .encode_image(&smaller)
        .unwrap();
    path.display().to_string()
}

#[test]
fn the_builtin_model_finds_near_duplicates_without_any_download() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let names = [
        "astronaut.png",
        "coffee.png",
        "chelsea.png",
        "rocket.jpg",
        "hubble_deep_field.jpg",
        "motorcycle_left.png",
    ];
    let values: Vec<String> = names.iter().map(|n| format!("('{}')", image(n))).collect();
    sql(
        &db,
        &format!(
            "CREATE TABLE photos AS SELECT column1 AS path, embed_image(column1) AS look, \
             phash(column1) AS hash FROM (VALUES {})",
            values.join(", ")
        ),
    );
    // The column records the model that filled it.
    let models = sql(&db, "SHOW MODELS");
    assert_eq!(texts(&models, 0)[0], "builtin");
    assert_eq!(texts(&models, 6)[0], "photos.look");
    for name in names {
        let copy = degraded_copy(name, dir.path());
        let nearest = sql(
            &db,
            &format!(
                "SELECT path FROM photos ORDER BY similarity(look, embed_image('{copy}')) DESC LIMIT 1"
            ),
        );
        assert_eq!(
            texts(&nearest, 0),
            vec![image(name)],
            "nearest to a copy of {name}"
        );
        let bits = sql(
            &db,
            &format!(
                "SELECT hamming(hash, phash('{copy}')) FROM photos WHERE path = '{}'",
                image(name)
            ),
        );
        let bits = bits[0].column(0).as_primitive::<Int32Type>().value(0);
        assert!(
            bits <= 6,
            "the pHash of a copy of {name} differs in {bits} bits"
        );
    }
    // Bytes work as well as paths; NULL gives NULL.
    let bytes = std::fs::read(image("rocket.jpg")).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let same = sql(
        &db,
        &format!(
            "SELECT similarity(embed_image(X'{hex}'), embed_image('{}'))",
            image("rocket.jpg")
        ),
    );
    assert!((floats(&same, 0)[0] - 1.0).abs() < 1e-6);
    let null = sql(&db, "SELECT embed_image(CAST(NULL AS TEXT)) IS NULL");
    assert_eq!(texts(&null, 0), vec!["true"]);
}

#[test]
fn clip_models_embed_text_and_images_into_one_space_and_classify() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_clip(&dir);
    let clip = tiny_clip();
    sql(
        &db,
        &format!(
            "CREATE MODEL clip-one-file FROM '{}'",
            clip.join("combined").display()
        ),
    );
    let models = sql(&db, "SHOW MODELS");
    assert_eq!(texts(&models, 0), vec!["builtin", "clip", "clip-one-file"]);
    assert_eq!(texts(&models, 1)[1..], ["image+text", "image+text"]);
    assert_eq!(texts(&models, 3)[1..], ["8", "8"]);

    let photos = ["coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg"];
    let values: Vec<String> = photos.iter().map(|n| format!("('{}')", image(n))).collect();
    for (table, model) in [("split", "clip"), ("combined", "clip-one-file")] {
        sql(
            &db,
            &format!(
                "CREATE TABLE {table} AS SELECT column1 AS path, embed_image(column1, '{model}') AS v \
                 FROM (VALUES {})",
                values.join(", ")
            ),
        );
    }
    // Both exports are the same model, so they give the same vectors (compared here, in
    // Rust: SQL refuses to compare vectors of two differently named models).
    let pairs = sql(
        &db,
        "SELECT s.v, c.v FROM split s JOIN combined c ON s.path = c.path",
    );
    let values = |column: usize| -> Vec<f32> {
        pairs
            .iter()
            .flat_map(|b| {
                let list = b.column(column).as_fixed_size_list();
                list.values()
                    .as_primitive::<arrow::datatypes::Float32Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    };
    let (split, combined) = (values(0), values(1));
    assert_eq!(split.len(), photos.len() * 8);
    for (a, b) in split.iter().zip(&combined) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    // Text search ranks through the planner's vector top-k, with the text embedded once.
    let plan = sql(
        &db,
        "EXPLAIN SELECT path FROM split ORDER BY similarity(v, embed('clip', 'red')) DESC LIMIT 2",
    );
    assert!(
        texts(&plan, 1).concat().contains("VectorTopK"),
        "{:?}",
        texts(&plan, 1)
    );

    // classify() is a softmax over logit_scale × cosine: 100 assumed for the split export, 50
    // measured from the one-file export's logits.
    for (table, model, scale) in [
        ("split", "clip", 100.0),
        ("combined", "clip-one-file", 50.0),
    ] {
        let rows = sql(
            &db,
            &format!(
                "SELECT similarity(v, embed('{model}', 'red')), similarity(v, embed('{model}', 'green')), \
                 classify(v, 'red', 'green')['red'], classify(v, 'red', 'green')['green'] FROM {table}"
            ),
        );
        let (red, green) = (floats(&rows, 0), floats(&rows, 1));
        let (p_red, p_green) = (floats(&rows, 2), floats(&rows, 3));
        for i in 0..red.len() {
            let expected = 1.0 / (1.0 + (-scale * (red[i] - green[i])).exp());
            assert!(
                (p_red[i] - expected).abs() < 1e-3,
                "{table} row {i}: {} vs {expected}",
                p_red[i]
            );
            assert!((p_red[i] + p_green[i] - 1.0).abs() < 1e-9);
        }
        // top_label() picks the more likely label, with its probability.
        let best = sql(
            &db,
            &format!(
                "SELECT t['label'], t['score'] FROM \
                 (SELECT top_label(classify(v, 'red', 'green')) AS t FROM {table})"
            ),
        );
        let (labels, scores) = (texts(&best, 0), floats(&best, 1));
        for i in 0..red.len() {
            let (label, p) = if p_red[i] >= p_green[i] {
                ("red", p_red[i])
            } else {
                ("green", p_green[i])
            };
            assert_eq!(
                (labels[i].as_str(), scores[i]),
                (label, p),
                "{table} row {i}"
            );
        }
    }

    // Vectors of different models are not compared, nor mixed in one column.
    let err = error(
        &db,
        "SELECT similarity(v, embed('clip-one-file', 'red')) FROM split",
    );
    assert!(err.contains("different models"), "{err}");
    let err = error(
        &db,
        &format!(
            "INSERT INTO split SELECT 'x', embed_image('{}', 'clip-one-file')",
            image("coffee.png")
        ),
    );
    assert!(err.contains("holds vectors of model 'clip'"), "{err}");

    // Inserting embed() results records the model on a column that had none.
    sql(&db, "CREATE TABLE copied (v FLOAT[8])");
    sql(&db, "INSERT INTO copied SELECT v FROM split");
    let models = sql(&db, "SHOW MODELS");
    assert_eq!(texts(&models, 6)[1], "copied.v, split.v");

    // A column of vectors from elsewhere does not know its model, and can be told.
    sql(&db, "CREATE TABLE plain (v FLOAT[8])");
    sql(&db, "INSERT INTO plain VALUES ([1, 0, 0, 0.1, 0, 0, 0, 0])");
    let err = error(&db, "SELECT classify(v, 'red', 'green') FROM plain");
    assert!(err.contains("SET MODEL"), "{err}");
    sql(&db, "ALTER TABLE plain ALTER COLUMN v SET MODEL clip");
    sql(&db, "SELECT classify(v, 'red', 'green') FROM plain");

    // The model lives in the database: it still works with the source files gone.
    let err = error(
        &db,
        "DROP MODEL clip-one-file; SELECT embed('clip-one-file', 'red')",
    );
    assert!(
        err.contains("does not exist") && err.contains("clip"),
        "{err}"
    );
}

#[test]
fn a_sentence_transformer_mean_pools_the_real_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let models = tiny_clip();
    sql(
        &db,
        &format!(
            "CREATE MODEL st FROM '{}'",
            models.join("sentence").display()
        ),
    );
    assert_eq!(
        texts(&sql(&db, "SHOW MODELS"), 2)[1],
        "sentence-transformer"
    );
    let err = error(&db, "SELECT embed_image('x.jpg', 'st')");
    assert!(err.contains("does not embed images"), "{err}");
    // One batch, so "red" is padded to the length of "green blue": padding must not count.
    let rows = sql(
        &db,
        "SELECT t, embed('st', t) FROM (VALUES ('red'), ('green blue')) AS v(t) ORDER BY t DESC",
    );
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join("sentence_expected.json")).unwrap())
            .unwrap();
    let names = texts(&rows, 0);
    let vectors = rows[0].column(1).as_fixed_size_list();
    for (row, name) in names.iter().enumerate() {
        let got = vectors.value(row);
        let got = got.as_primitive::<arrow::datatypes::Float32Type>();
        let want: Vec<f64> = expected[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.values().iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{name}: {g} vs {w}");
        }
    }
}

#[test]
fn model_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_with_clip(&dir);
    let clip = tiny_clip();

    let err = error(&db, "SELECT embed('nope', 'red')");
    assert!(
        err.contains("model 'nope' does not exist") && err.contains("clip"),
        "{err}"
    );
    let err = error(&db, "SELECT embed('builtin', 'red')");
    assert!(err.contains("does not embed text"), "{err}");
    let err = error(&db, "SELECT embed_image('/no/such/frame.jpg', 'clip')");
    assert!(err.contains("/no/such/frame.jpg"), "{err}");
    let not_an_image = dir.path().join("notes.jpg");
    std::fs::write(&not_an_image, b"these are not pixels").unwrap();
    let err = error(
        &db,
        &format!("SELECT embed_image('{}')", not_an_image.display()),
    );
    assert!(
        err.contains("notes.jpg") && err.contains("JPEG and PNG"),
        "{err}"
    );

    // A corrupt model file is refused when it is added, and nothing is stored.
    let corrupt = dir.path().join("corrupt.onnx");
    let bytes = std::fs::read(clip.join("split/vision_model.onnx")).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    let err = error(
        &db,
        &format!("CREATE MODEL broken FROM '{}'", corrupt.display()),
    );
    assert!(
        err.contains("corrupt.onnx") && err.contains("complete ONNX file"),
        "{err}"
    );
    assert_eq!(texts(&sql(&db, "SHOW MODELS"), 0), vec!["builtin", "clip"]);

    // A declared input size the model does not take.
    let err = error(
        &db,
        &format!(
            "CREATE MODEL wrong FROM '{}' WITH (size = 112)",
            clip.join("split/vision_model.onnx").display()
        ),
    );
    assert!(err.contains("[N, 3, 112, 112]"), "{err}");
    let err = error(&db, "CREATE MODEL missing FROM '/no/such/model'");
    assert!(err.contains("does not exist"), "{err}");
    let err = error(
        &db,
        &format!("CREATE MODEL clip FROM '{}'", clip.join("split").display()),
    );
    assert!(err.contains("already exists"), "{err}");
    let err = error(
        &db,
        &format!(
            "CREATE MODEL x FROM '{}' WITH (colour = 1)",
            clip.join("split").display()
        ),
    );
    assert!(err.contains("unknown model option 'colour'"), "{err}");
}

/// Without the ONNX Runtime library, ONNX models fail with instructions; everything else,
/// the built-in model included, still works. A child process, because the runtime is loaded
/// once per process.
#[test]
fn a_missing_runtime_library_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let reeldb = env!("CARGO_BIN_EXE_reeldb-model-probe");
    let clip = tiny_clip();
    let output = Command::new(reeldb)
        .arg(dir.path().join("db"))
        .arg(format!(
            "CREATE MODEL clip FROM '{}'",
            clip.join("split").display()
        ))
        .env(
            "ORT_DYLIB_PATH",
            dir.path().join("no-such-libonnxruntime.so"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("pip install onnxruntime"), "{stderr}");
    assert!(stderr.contains("no-such-libonnxruntime.so"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let output = Command::new(reeldb)
        .arg(dir.path().join("db"))
        .arg(format!(
            "SELECT embed_image('{}') IS NOT NULL",
            image("coffee.png")
        ))
        .env(
            "ORT_DYLIB_PATH",
            dir.path().join("no-such-libonnxruntime.so"),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
