//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// reeldb: an embedded database for collections of images and video frames.
///
/// `reeldb news.reeldb` opens the database (creating it if absent) and starts the SQL shell;
/// with a script on standard input (`reeldb news.reeldb < script.sql`) it runs the script.
#[derive(Debug, Parser)]
#[command(name = "reeldb", version, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// The database directory to open.
    pub database: Option<PathBuf>,

    /// How results are printed.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub mode: Format,

    /// Open the database read-only.
    #[arg(long)]
    pub read_only: bool,

    /// Start the interactive shell even when standard input is not a terminal.
    #[arg(long)]
    pub shell: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SQL and print the result of the last statement.
    Query {
        /// The database directory.
        database: PathBuf,
        /// The SQL to run; several statements may be separated by semicolons.
        sql: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the result to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Add, list and remove the models a database stores.
    Model {
        /// What to do.
        #[command(subcommand)]
        action: ModelAction,
    },
}

/// `reeldb model ...`
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Check a model (a directory as downloaded, or an .onnx file) and copy it into the
    /// database under a name SQL uses: embed('NAME', ...), embed_image(path, 'NAME').
    Add {
        /// The database directory.
        database: PathBuf,
        /// The model's name.
        name: String,
        /// The model directory (CLIP or sentence-transformer, Hugging Face ONNX layout) or an
        /// .onnx file: a face detector (YuNet, UltraFace) or an image encoder.
        path: PathBuf,
        /// A model option, KEY=VALUE (layout=face-encoder, size=112, min_score=0.8,
        /// logit_scale=100, ...); may be repeated.
        #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
        options: Vec<String>,
    },
    /// Download a model from a model source (REELDB_MODEL_BASE_URL or --base-url), check
    /// every file's SHA-256, and keep it in the models directory; with --into, add it to a
    /// database too. A failed download leaves nothing behind.
    Pull {
        /// The model's name in the source.
        name: String,
        /// Also add the model to this database.
        #[arg(long, value_name = "DATABASE")]
        into: Option<PathBuf>,
        /// The name to add it under (default: its name in the source).
        #[arg(long = "as", value_name = "NAME")]
        add_as: Option<String>,
        /// The model source: a URL with one directory per model, each with reeldb-model.json.
        #[arg(long, value_name = "URL", env = "REELDB_MODEL_BASE_URL")]
        base_url: Option<String>,
        /// Where pulled models are kept (default: REELDB_MODELS_DIR, else
        /// ~/.cache/reeldb/models).
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
    },
    /// List the database's models.
    List {
        /// The database directory.
        database: PathBuf,
    },
    /// Remove a model (its files go at the next VACUUM once no version uses them).
    Remove {
        /// The database directory.
        database: PathBuf,
        /// The model's name.
        name: String,
    },
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// A Markdown table.
    Markdown,
    /// Apache Parquet (needs --output).
    Parquet,
}

impl Format {
    /// Parses a `.mode` argument.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::from_str(name, true).ok()
    }
}
