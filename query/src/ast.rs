//! The typed form of reeldb's own statements. `Display` prints canonical SQL that parses back
//! to the same value.

use std::fmt;

/// A statement of reeldb's grammar.
#[derive(Debug, Clone, PartialEq)]
pub enum ReeldbStatement {
    /// `COPY table FROM 'path' [WITH (option value, ...)]`
    CopyFrom(CopyFrom),
    /// `VACUUM [KEEP n VERSIONS]`
    Vacuum {
        /// How many of the newest versions to keep (default 1).
        keep_versions: Option<u64>,
    },
    /// `COMPACT [TABLE] [name]`
    Compact {
        /// The table, or every table.
        table: Option<String>,
    },
    /// `CREATE VECTOR INDEX [IF NOT EXISTS] name ON table (column) [USING HNSW] [WITH (...)]`
    CreateVectorIndex(CreateVectorIndex),
    /// `DROP VECTOR INDEX [IF EXISTS] name`
    DropVectorIndex {
        /// The index.
        name: String,
        /// Whether a missing index is fine.
        if_exists: bool,
    },
    /// `SHOW VECTOR INDEXES`
    ShowVectorIndexes,
    /// `CREATE MODEL [IF NOT EXISTS] name FROM 'path' [WITH (...)]`
    CreateModel(CreateModel),
    /// `DROP MODEL [IF EXISTS] name`
    DropModel {
        /// The model.
        name: String,
        /// Whether a missing model is fine.
        if_exists: bool,
    },
    /// `SHOW MODELS`
    ShowModels,
    /// `INGEST FRAMES | VIDEO | TRANSCRIPT | EMBEDDINGS FROM 'path' [WITH (...)]`
    Ingest(Ingest),
    /// `CLUSTER table ON column USING method [(...)] [PARTITION BY column] INTO column
    /// [KEEP LABELS]`
    Cluster(ClusterInto),
    /// `DETECT FACES IN frames USING detector [, encoder] INTO faces [WITH (...)]`
    DetectFaces(DetectFaces),
    /// `ALTER TABLE t ALTER [COLUMN] c SET MODEL m` (or `DROP MODEL`: `model` is `None`)
    SetColumnModel {
        /// The table.
        table: String,
        /// The vector column.
        column: String,
        /// The model its vectors come from, or `None` to forget it.
        model: Option<String>,
    },
}

impl ReeldbStatement {
    /// Whether the statement only reads the database (and writes no file), so that it may
    /// run on a pinned snapshot ([`crate::PinnedSession`]), as in a report.
    pub fn reads_only(&self) -> bool {
        match self {
            ReeldbStatement::ShowVectorIndexes | ReeldbStatement::ShowModels => true,
            ReeldbStatement::CopyFrom(_)
            | ReeldbStatement::Vacuum { .. }
            | ReeldbStatement::Compact { .. }
            | ReeldbStatement::CreateVectorIndex(_)
            | ReeldbStatement::DropVectorIndex { .. }
            | ReeldbStatement::CreateModel(_)
            | ReeldbStatement::DropModel { .. }
            | ReeldbStatement::Ingest(_)
            | ReeldbStatement::Cluster(_)
            | ReeldbStatement::DetectFaces(_)
            | ReeldbStatement::SetColumnModel { .. } => false,
        }
    }

    /// The statement's name if, once started, it runs to its end and commits even when the
    /// caller stops waiting: its work is one blocking call (an index build, a compaction, a
    /// model's check and copy, a vacuum) that nothing interrupts part-way. A shell tells the
    /// user so on Ctrl-C instead of claiming to have cancelled it.
    pub fn runs_to_completion(&self) -> Option<&'static str> {
        match self {
            ReeldbStatement::CreateVectorIndex(_) => Some("CREATE VECTOR INDEX"),
            ReeldbStatement::Compact { .. } => Some("COMPACT"),
            ReeldbStatement::CreateModel(_) => Some("CREATE MODEL"),
            ReeldbStatement::Vacuum { .. } => Some("VACUUM"),
            _ => None,
        }
    }
}

/// What an `INGEST` statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestKind {
    /// A directory of frame images.
    Frames,
    /// A video file, sampled through ffmpeg.
    Video,
    /// A transcript (SRT, WebVTT, JSON).
    Transcript,
    /// Precomputed embeddings (JSON lines, `.npy`, Parquet).
    Embeddings,
}

impl IngestKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            IngestKind::Frames => "FRAMES",
            IngestKind::Video => "VIDEO",
            IngestKind::Transcript => "TRANSCRIPT",
            IngestKind::Embeddings => "EMBEDDINGS",
        }
    }
}

/// `INGEST kind FROM 'path' ...`
#[derive(Debug, Clone, PartialEq)]
pub struct Ingest {
    /// What is read.
    pub kind: IngestKind,
    /// The file or directory.
    pub path: String,
    /// Options, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
}

/// `CLUSTER table ON column USING method ... INTO column`: cluster labels kept as a column.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInto {
    /// The table.
    pub table: String,
    /// Its vector column.
    pub column: String,
    /// `dbscan`, `hdbscan` or `kmeans` (lowercased).
    pub method: String,
    /// The method's parameters, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
    /// A column whose values are clustered apart (`PARTITION BY video`).
    pub partition: Option<String>,
    /// The column the labels go into (added, or replaced if it exists).
    pub into: String,
    /// `KEEP LABELS`: each new cluster takes the label already in `into` that most of its
    /// rows have, so that names given to labels survive re-clustering.
    pub keep_labels: bool,
}

/// `DETECT FACES IN frames USING detector [, encoder] INTO faces [WITH (...)]`
#[derive(Debug, Clone, PartialEq)]
pub struct DetectFaces {
    /// The frames table read.
    pub frames: String,
    /// The face detector.
    pub detector: String,
    /// The face encoder, if any.
    pub encoder: Option<String>,
    /// The faces table written.
    pub into: String,
    /// Options, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
}

/// `CREATE MODEL ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateModel {
    /// The name SQL will know it by.
    pub name: String,
    /// The model directory or `.onnx` file.
    pub path: String,
    /// Whether an existing model of that name is fine.
    pub if_not_exists: bool,
    /// Options, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
}

/// `CREATE VECTOR INDEX ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateVectorIndex {
    /// The index name.
    pub name: String,
    /// The table.
    pub table: String,
    /// The vector column.
    pub column: String,
    /// The method (`hnsw`, lowercased), if written.
    pub method: Option<String>,
    /// Whether an existing index of that name is fine.
    pub if_not_exists: bool,
    /// Parameters, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
}

/// `COPY table FROM 'path' ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CopyFrom {
    /// The target table.
    pub table: String,
    /// The file to read.
    pub path: String,
    /// Options, names lowercased, in the order written.
    pub options: Vec<(String, OptionValue)>,
}

/// The value of a statement option.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A quoted string.
    String(String),
    /// A number.
    Number(f64),
    /// A bare word (`csv`, `true`).
    Word(String),
}

impl OptionValue {
    /// The value as text, whatever its form.
    pub fn as_text(&self) -> String {
        match self {
            OptionValue::String(s) | OptionValue::Word(s) => s.clone(),
            OptionValue::Number(n) => n.to_string(),
        }
    }
}

/// Quotes an identifier when it would not read back as itself unquoted.
fn identifier(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// ` WITH (name<separator>value, ...)`, or nothing when there are no options.
fn write_options(
    f: &mut fmt::Formatter<'_>,
    options: &[(String, OptionValue)],
    separator: &str,
) -> fmt::Result {
    if options.is_empty() {
        return Ok(());
    }
    let options: Vec<String> = options
        .iter()
        .map(|(name, value)| format!("{name}{separator}{value}"))
        .collect();
    write!(f, " WITH ({})", options.join(", "))
}

/// A model name as the grammar reads it back: bare when it can be, else quoted as a string.
fn model_name(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if bare { name.to_string() } else { string(name) }
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::String(s) => f.write_str(&string(s)),
            OptionValue::Number(n) => write!(f, "{n}"),
            OptionValue::Word(w) => f.write_str(w),
        }
    }
}

impl fmt::Display for ReeldbStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReeldbStatement::Ingest(ingest) => {
                write!(
                    f,
                    "INGEST {} FROM {}",
                    ingest.kind.keyword(),
                    string(&ingest.path)
                )?;
                write_options(f, &ingest.options, " = ")
            }
            ReeldbStatement::Cluster(cluster) => {
                write!(
                    f,
                    "CLUSTER {} ON {} USING {}",
                    identifier(&cluster.table),
                    identifier(&cluster.column),
                    cluster.method
                )?;
                write_options(f, &cluster.options, " = ")?;
                if let Some(partition) = &cluster.partition {
                    write!(f, " PARTITION BY {}", identifier(partition))?;
                }
                write!(f, " INTO {}", identifier(&cluster.into))?;
                if cluster.keep_labels {
                    f.write_str(" KEEP LABELS")?;
                }
                Ok(())
            }
            ReeldbStatement::DetectFaces(detect) => {
                write!(
                    f,
                    "DETECT FACES IN {} USING {}",
                    identifier(&detect.frames),
                    model_name(&detect.detector)
                )?;
                if let Some(encoder) = &detect.encoder {
                    write!(f, ", {}", model_name(encoder))?;
                }
                write!(f, " INTO {}", identifier(&detect.into))?;
                write_options(f, &detect.options, " = ")
            }
            ReeldbStatement::CopyFrom(copy) => {
                write!(
                    f,
                    "COPY {} FROM {}",
                    identifier(&copy.table),
                    string(&copy.path)
                )?;
                write_options(f, &copy.options, " ")
            }
            ReeldbStatement::Vacuum { keep_versions } => match keep_versions {
                Some(n) => write!(f, "VACUUM KEEP {n} VERSIONS"),
                None => f.write_str("VACUUM"),
            },
            ReeldbStatement::Compact { table } => match table {
                Some(t) => write!(f, "COMPACT TABLE {}", identifier(t)),
                None => f.write_str("COMPACT"),
            },
            ReeldbStatement::CreateVectorIndex(index) => {
                write!(f, "CREATE VECTOR INDEX ")?;
                if index.if_not_exists {
                    write!(f, "IF NOT EXISTS ")?;
                }
                write!(
                    f,
                    "{} ON {} ({})",
                    identifier(&index.name),
                    identifier(&index.table),
                    identifier(&index.column)
                )?;
                if let Some(method) = &index.method {
                    write!(f, " USING {}", method.to_uppercase())?;
                }
                write_options(f, &index.options, " = ")
            }
            ReeldbStatement::DropVectorIndex { name, if_exists } => {
                let if_exists = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP VECTOR INDEX {if_exists}{}", identifier(name))
            }
            ReeldbStatement::ShowVectorIndexes => f.write_str("SHOW VECTOR INDEXES"),
            ReeldbStatement::CreateModel(model) => {
                write!(f, "CREATE MODEL ")?;
                if model.if_not_exists {
                    write!(f, "IF NOT EXISTS ")?;
                }
                write!(
                    f,
                    "{} FROM {}",
                    model_name(&model.name),
                    string(&model.path)
                )?;
                write_options(f, &model.options, " = ")
            }
            ReeldbStatement::DropModel { name, if_exists } => {
                let if_exists = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP MODEL {if_exists}{}", model_name(name))
            }
            ReeldbStatement::ShowModels => f.write_str("SHOW MODELS"),
            ReeldbStatement::SetColumnModel {
                table,
                column,
                model,
            } => {
                write!(
                    f,
                    "ALTER TABLE {} ALTER COLUMN {} ",
                    identifier(table),
                    identifier(column)
                )?;
                match model {
                    Some(model) => write!(f, "SET MODEL {}", model_name(model)),
                    None => f.write_str("DROP MODEL"),
                }
            }
        }
    }
}
