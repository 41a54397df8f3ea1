//! Parses reeldb's own statements with the pest grammar in `grammar.pest`.
//!
//! [`parse_reeldb_statement`] returns `Ok(None)` for any statement the grammar does not own,
//! which then goes to DataFusion's parser.

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::ast::{
    ClusterInto, CopyFrom, CreateModel, CreateVectorIndex, DetectFaces, Ingest, IngestKind,
    OptionValue, ReeldbStatement,
};
use crate::error::{Error, Result};

#[derive(Parser)]
#[grammar = "grammar.pest"]
struct ReeldbParser;

/// Parses `sql` if it is one of reeldb's own statements.
pub fn parse_reeldb_statement(sql: &str) -> Result<Option<ReeldbStatement>> {
    if ReeldbParser::parse(Rule::owned, sql).is_err() {
        return Ok(None);
    }
    let mut pairs = ReeldbParser::parse(Rule::statement, sql).map_err(parse_error)?;
    let statement = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| Error::Internal("the grammar matched an empty statement".into()))?;
    Ok(Some(build(statement)?))
}

fn parse_error(error: pest::error::Error<Rule>) -> Error {
    let (line, column) = match error.line_col {
        pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
    };
    let message = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<String> = positives.iter().map(describe).collect();
            expected.sort();
            expected.dedup();
            format!("expected {}", expected.join(" or "))
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    Error::Parse {
        line,
        column,
        message,
    }
}

fn describe(rule: &Rule) -> String {
    match rule {
        Rule::EOI => "end of statement".into(),
        Rule::string => "a quoted string such as 'file.parquet'".into(),
        Rule::table_name | Rule::identifier | Rule::quoted_identifier => "a name".into(),
        Rule::integer => "a whole number".into(),
        Rule::copy_options => "WITH (option value, ...)".into(),
        Rule::option_value | Rule::number => "an option value".into(),
        Rule::kw_keep => "KEEP".into(),
        Rule::kw_into => "INTO".into(),
        Rule::kw_in => "IN".into(),
        Rule::kw_faces => "FACES".into(),
        Rule::face_detector => "a face detector (a model name)".into(),
        Rule::face_encoder => "a face encoder (a model name)".into(),
        Rule::partition_by => "PARTITION BY".into(),
        Rule::kw_versions => "VERSIONS".into(),
        Rule::kw_from => "FROM".into(),
        Rule::kw_table => "TABLE".into(),
        Rule::kw_index => "INDEX".into(),
        Rule::kw_indexes => "INDEXES".into(),
        Rule::kw_on => "ON".into(),
        Rule::kw_using => "USING".into(),
        Rule::kw_if => "IF".into(),
        Rule::model_name => "a model name".into(),
        Rule::kw_model => "MODEL".into(),
        Rule::index_method => "an index method (HNSW)".into(),
        Rule::ingest_kind => "FRAMES, VIDEO, TRANSCRIPT or EMBEDDINGS".into(),
        other => format!("{other:?}"),
    }
}

fn build(pair: Pair<'_, Rule>) -> Result<ReeldbStatement> {
    match pair.as_rule() {
        Rule::copy_from => {
            let mut table = None;
            let mut path = None;
            let mut options = Vec::new();
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::table_name => table = Some(table_name(part)),
                    Rule::string => path = Some(unquote_string(part.as_str())),
                    Rule::copy_options => options = statement_options(part),
                    _ => {}
                }
            }
            match (table, path) {
                (Some(table), Some(path)) => Ok(ReeldbStatement::CopyFrom(CopyFrom {
                    table,
                    path,
                    options,
                })),
                _ => Err(grammar_shape("COPY table FROM 'file'")),
            }
        }
        Rule::vacuum => {
            let keep_versions = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::integer)
                .map(|p| {
                    p.as_str().parse::<u64>().map_err(|_| {
                        Error::InvalidArgument(format!("'{}' is too large", p.as_str()))
                    })
                })
                .transpose()?;
            Ok(ReeldbStatement::Vacuum { keep_versions })
        }
        Rule::create_index => {
            let mut names = Vec::new();
            let mut method = None;
            let mut if_not_exists = false;
            let mut options = Vec::new();
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::table_name => names.push(table_name(part)),
                    Rule::if_not_exists => if_not_exists = true,
                    Rule::index_method => method = Some(part.as_str().to_lowercase()),
                    Rule::copy_options => options = statement_options(part),
                    _ => {}
                }
            }
            let [name, table, column]: [String; 3] = names
                .try_into()
                .map_err(|_| grammar_shape("CREATE VECTOR INDEX name ON table (column)"))?;
            Ok(ReeldbStatement::CreateVectorIndex(CreateVectorIndex {
                name,
                table,
                column,
                method,
                if_not_exists,
                options,
            }))
        }
        Rule::drop_index => {
            let mut name = None;
            let mut if_exists = false;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::table_name => name = Some(table_name(part)),
                    Rule::if_exists => if_exists = true,
                    _ => {}
                }
            }
            let name = name.ok_or_else(|| grammar_shape("DROP VECTOR INDEX name"))?;
            Ok(ReeldbStatement::DropVectorIndex { name, if_exists })
        }
        Rule::show_indexes => Ok(ReeldbStatement::ShowVectorIndexes),
        Rule::create_model => {
            let mut model = CreateModel {
                name: String::new(),
                path: String::new(),
                if_not_exists: false,
                options: Vec::new(),
            };
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::model_name => model.name = model_name(part),
                    Rule::if_not_exists => model.if_not_exists = true,
                    Rule::string => model.path = unquote_string(part.as_str()),
                    Rule::copy_options => model.options = statement_options(part),
                    _ => {}
                }
            }
            Ok(ReeldbStatement::CreateModel(model))
        }
        Rule::drop_model => {
            let mut name = String::new();
            let mut if_exists = false;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::model_name => name = model_name(part),
                    Rule::if_exists => if_exists = true,
                    _ => {}
                }
            }
            Ok(ReeldbStatement::DropModel { name, if_exists })
        }
        Rule::show_models => Ok(ReeldbStatement::ShowModels),
        Rule::ingest => {
            let mut ingest = Ingest {
                kind: IngestKind::Frames,
                path: String::new(),
                options: Vec::new(),
            };
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::ingest_kind => {
                        let keyword = part.into_inner().next().map(|k| k.as_rule());
                        ingest.kind = match keyword {
                            Some(Rule::kw_video) => IngestKind::Video,
                            Some(Rule::kw_transcript) => IngestKind::Transcript,
                            Some(Rule::kw_embeddings) => IngestKind::Embeddings,
                            _ => IngestKind::Frames,
                        };
                    }
                    Rule::string => ingest.path = unquote_string(part.as_str()),
                    Rule::copy_options => ingest.options = statement_options(part),
                    _ => {}
                }
            }
            Ok(ReeldbStatement::Ingest(ingest))
        }
        Rule::cluster_into => {
            let mut names = Vec::new();
            let mut cluster = ClusterInto {
                table: String::new(),
                column: String::new(),
                method: String::new(),
                options: Vec::new(),
                partition: None,
                into: String::new(),
                keep_labels: false,
            };
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::table_name => names.push(table_name(part)),
                    Rule::cluster_method => cluster.method = part.as_str().to_lowercase(),
                    Rule::copy_options => cluster.options = statement_options(part),
                    Rule::partition_by => {
                        cluster.partition = part.into_inner().last().map(table_name)
                    }
                    Rule::into_column => {
                        cluster.into = part.into_inner().last().map(table_name).unwrap_or_default()
                    }
                    Rule::keep_labels => cluster.keep_labels = true,
                    _ => {}
                }
            }
            let [table, column]: [String; 2] = names
                .try_into()
                .map_err(|_| grammar_shape("CLUSTER table ON column USING method INTO column"))?;
            cluster.table = table;
            cluster.column = column;
            Ok(ReeldbStatement::Cluster(cluster))
        }
        Rule::detect_faces => {
            let mut names = Vec::new();
            let mut detect = DetectFaces {
                frames: String::new(),
                detector: String::new(),
                encoder: None,
                into: String::new(),
                options: Vec::new(),
            };
            for part in pair.into_inner() {
                let model = |part: Pair<'_, Rule>| part.into_inner().next().map(model_name);
                match part.as_rule() {
                    Rule::table_name => names.push(table_name(part)),
                    Rule::face_detector => detect.detector = model(part).unwrap_or_default(),
                    Rule::face_encoder => detect.encoder = model(part),
                    Rule::copy_options => detect.options = statement_options(part),
                    _ => {}
                }
            }
            let [frames, into]: [String; 2] = names.try_into().map_err(|_| {
                grammar_shape("DETECT FACES IN frames USING detector [, encoder] INTO faces")
            })?;
            detect.frames = frames;
            detect.into = into;
            Ok(ReeldbStatement::DetectFaces(detect))
        }
        Rule::set_column_model => {
            let mut names = Vec::new();
            let mut model = None;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::table_name => names.push(table_name(part)),
                    Rule::model_name => model = Some(model_name(part)),
                    _ => {}
                }
            }
            let [table, column]: [String; 2] = names
                .try_into()
                .map_err(|_| grammar_shape("ALTER TABLE t ALTER COLUMN c SET MODEL m"))?;
            Ok(ReeldbStatement::SetColumnModel {
                table,
                column,
                model,
            })
        }
        Rule::compact => Ok(ReeldbStatement::Compact {
            table: pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::table_name)
                .map(table_name),
        }),
        other => Err(Error::Internal(format!(
            "the grammar gave a statement the parser does not build: {other:?}"
        ))),
    }
}

/// The error for a parse tree that does not have the shape its grammar rule gives it.
fn grammar_shape(shape: &str) -> Error {
    Error::Internal(format!(
        "the grammar gave a statement not of the form {shape}"
    ))
}

/// A model name as written: a quoted string, or a bare name kept as it is (model names are
/// compared exactly, as the model functions' string arguments are).
fn model_name(pair: Pair<'_, Rule>) -> String {
    let text = pair.as_str();
    if text.starts_with('\'') {
        unquote_string(text)
    } else {
        text.to_string()
    }
}

/// The `(name value, ...)` options of a statement, names lowercased.
fn statement_options(pair: Pair<'_, Rule>) -> Vec<(String, OptionValue)> {
    let mut options = Vec::new();
    for option in pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::copy_option)
    {
        let mut inner = option.into_inner();
        let name = inner.next().map(|p| p.as_str().to_lowercase());
        let value = inner.next().and_then(|p| p.into_inner().next());
        if let (Some(name), Some(value)) = (name, value) {
            options.push((name, option_value(value)));
        }
    }
    options
}

/// Unquoted names are lowercased, as DataFusion does; quoted names are kept as written.
fn table_name(pair: Pair<'_, Rule>) -> String {
    let text = pair.as_str();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => text.to_lowercase(),
    }
}

fn unquote_string(text: &str) -> String {
    text[1..text.len() - 1].replace("''", "'")
}

fn option_value(pair: Pair<'_, Rule>) -> OptionValue {
    match pair.as_rule() {
        Rule::string => OptionValue::String(unquote_string(pair.as_str())),
        Rule::number => pair
            .as_str()
            .parse()
            .map(OptionValue::Number)
            .unwrap_or_else(|_| OptionValue::Word(pair.as_str().to_string())),
        _ => OptionValue::Word(pair.as_str().to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> ReeldbStatement {
        parse_reeldb_statement(sql)
            .unwrap()
            .expect("a reeldb statement")
    }

    #[test]
    fn cluster_takes_its_parameters_in_parentheses_with_or_without_with() {
        let ReeldbStatement::Cluster(cluster) =
            parse("cluster Frames on CLIP using KMeans (k = 5, seed = 42) into c;")
        else {
            panic!("not a CLUSTER statement");
        };
        assert_eq!(cluster.table, "frames");
        assert_eq!(cluster.column, "clip");
        assert_eq!(cluster.method, "kmeans");
        assert_eq!(cluster.options[0], ("k".into(), OptionValue::Number(5.0)));
        assert_eq!(cluster.partition, None);
        assert_eq!(cluster.into, "c");
        let error = parse_reeldb_statement("CLUSTER frames ON clip USING kmeans (k = 5)")
            .unwrap_err()
            .to_string();
        assert!(error.contains("INTO"), "{error}");
    }

    #[test]
    fn statements_round_trip_through_display() {
        for sql in [
            "COPY frames FROM 'a.parquet'",
            "COPY \"Frames\" FROM 'it''s.csv' WITH (format csv, header true, delimiter ';')",
            "VACUUM",
            "VACUUM KEEP 3 VERSIONS",
            "COMPACT",
            "COMPACT TABLE frames",
            "CREATE VECTOR INDEX frames_emb ON frames (embedding)",
            "CREATE VECTOR INDEX IF NOT EXISTS \"Emb\" ON frames (clip) USING HNSW WITH (metric = 'cosine', m = 16, ef_construction = 200)",
            "DROP VECTOR INDEX frames_emb",
            "DROP VECTOR INDEX IF EXISTS frames_emb",
            "SHOW VECTOR INDEXES",
            "CREATE MODEL clip-vit-b32 FROM '/models/clip' WITH (logit_scale = 100)",
            "CREATE MODEL IF NOT EXISTS faces FROM 'f.onnx' WITH (size = 112, mean = '127.5')",
            "DROP MODEL IF EXISTS faces",
            "SHOW MODELS",
            "ALTER TABLE frames ALTER COLUMN clip SET MODEL clip",
            "ALTER TABLE frames ALTER COLUMN clip DROP MODEL",
            "INGEST FRAMES FROM './frames/' WITH (interval = '4s', model = 'builtin')",
            "INGEST VIDEO FROM 'broadcast.mp4' WITH (every = 2)",
            "INGEST TRANSCRIPT FROM 'b.vtt' WITH (video = 'broadcast', align = uniform)",
            "INGEST EMBEDDINGS FROM 'x.embeds.json' WITH (column = 'vertex')",
            "CLUSTER frames ON clip USING hdbscan WITH (min_cluster_size = 3, selection = 'leaf') PARTITION BY video INTO topic",
            "CLUSTER faces ON encoding USING dbscan WITH (eps = 0.4) INTO person",
            "CLUSTER faces ON encoding USING dbscan WITH (eps = 0.4) PARTITION BY video INTO person KEEP LABELS",
            "DETECT FACES IN frames USING yunet INTO faces",
            "DETECT FACES IN \"Frames\" USING yunet, mobilefacenet INTO faces WITH (root = '/data/frames', commit_every = 64)",
        ] {
            let statement = parse(sql);
            assert_eq!(statement.to_string(), sql);
            assert_eq!(parse(&statement.to_string()), statement);
        }
    }

    #[test]
    fn detect_faces_names_its_tables_and_models() {
        let ReeldbStatement::DetectFaces(detect) =
            parse("detect faces in Frames using 'yunet-2023', mobilefacenet into faces;")
        else {
            panic!("not a DETECT FACES statement");
        };
        assert_eq!(detect.frames, "frames");
        assert_eq!(detect.detector, "yunet-2023");
        assert_eq!(detect.encoder.as_deref(), Some("mobilefacenet"));
        assert_eq!(detect.into, "faces");
        let error = parse_reeldb_statement("DETECT FACES IN frames USING yunet")
            .unwrap_err()
            .to_string();
        assert!(error.contains("INTO"), "{error}");
    }

    #[test]
    fn keywords_are_case_insensitive_and_names_fold() {
        let statement = parse("copy Frames from 'x.csv' (HEADER = false);");
        assert_eq!(
            statement,
            ReeldbStatement::CopyFrom(CopyFrom {
                table: "frames".into(),
                path: "x.csv".into(),
                options: vec![("header".into(), OptionValue::Word("false".into()))],
            })
        );
    }

    #[test]
    fn other_statements_are_left_to_datafusion() {
        for sql in [
            "SELECT 1",
            "COPY frames TO 'x.parquet'",
            "COPY (SELECT 1) TO 'x.csv'",
            "vacuumed",
            "CREATE TABLE copy (a INT)",
            "CREATE TABLE vector (a INT)",
            "SHOW TABLES",
            "ALTER TABLE frames ADD COLUMN x INT",
            "CREATE TABLE model (a INT)",
        ] {
            assert_eq!(parse_reeldb_statement(sql).unwrap(), None, "{sql}");
        }
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse_reeldb_statement("COPY frames FROM\n  frames.csv").unwrap_err();
        match err {
            Error::Parse {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (2, 3));
                assert!(message.contains("a quoted string"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = parse_reeldb_statement("VACUUM KEEP three VERSIONS").unwrap_err();
        assert_eq!(
            err.to_string(),
            "syntax error at line 1, column 13: expected a whole number"
        );
    }
}
