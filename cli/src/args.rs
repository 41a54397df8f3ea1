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
    /// Bring frames, videos, transcripts or precomputed embeddings into a database. Safe to
    /// re-run: what is already in is skipped, so an interrupted ingest resumes.
    Ingest {
        /// The database directory (created if absent).
        database: PathBuf,
        /// What to ingest.
        #[command(subcommand)]
        source: IngestSource,
    },
    /// Build a small database to try reeldb on, from your files or (with none) from a short
    /// broadcast it renders itself, and print queries to try.
    Demo {
        /// Directories of frames, images, videos, and .srt/.vtt transcripts named after
        /// their video.
        files: Vec<PathBuf>,
        /// The database to build.
        #[arg(long, default_value = "demo.reeldb")]
        db: PathBuf,
    },
    /// Find every face in a frames table's frames (DETECT FACES): one row per face with its
    /// box, landmarks, score, a JPEG crop and, with an encoder, its vector. Safe to re-run:
    /// frames already read are skipped, so an interrupted scan resumes.
    Faces {
        /// The database directory.
        database: PathBuf,
        /// The face detector (a model of layout yunet or ultraface: `reeldb model list`).
        #[arg(long, default_value = "yunet")]
        detector: String,
        /// The face encoder (layout face-encoder); without it faces are found, not encoded.
        #[arg(long)]
        encoder: Option<String>,
        /// The frames table read.
        #[arg(long, default_value = "frames")]
        frames: String,
        /// The faces table written (and INTO_frames beside it).
        #[arg(long, default_value = "faces")]
        into: String,
        /// The directory the frames' files were ingested from (where their images or videos
        /// are); without it, files are looked for as stored, else thumbnails are read.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Read only the stored thumbnails (fast; small faces are missed).
        #[arg(long)]
        thumbnails: bool,
        /// Frames per commit.
        #[arg(long, default_value_t = 512)]
        commit_every: usize,
        /// The ffmpeg that decodes videos (default: REELDB_FFMPEG, else ffmpeg on the PATH).
        #[arg(long)]
        ffmpeg: Option<PathBuf>,
    },
    /// Write files for other programs: `gephi`, the graph of who appears with whom.
    Export {
        /// The database directory.
        database: PathBuf,
        /// What to write.
        #[command(subcommand)]
        what: ExportKind,
    },
    /// Run a report: a Markdown file whose ```sql blocks run, all on one version of the
    /// database (opened read-only), published as one self-contained HTML page with its
    /// tables and images, plus the CSV and Parquet files its blocks ask for
    /// (docs/reports.md). Exit codes: 0 published, 1 a statement failed or the report is
    /// malformed (nothing published), 2 usage (arguments, parameters, --out).
    Report {
        /// The database directory.
        database: PathBuf,
        /// The report file (Markdown: nightly.report.md).
        report: PathBuf,
        /// The directory to publish, whole or not at all (default: the report's name without
        /// .report.md, in the current directory). Not inside a database.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// A parameter: `$NAME` in the report's SQL becomes the string literal 'VALUE'
        /// (`$NAME::int` for a number), `{{NAME}}` in its text becomes VALUE; may be
        /// repeated.
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Replace the report already at --out (only a directory reeldb report wrote).
        #[arg(long)]
        replace: bool,
        /// Also write every result as NN-<heading>.csv beside the page.
        #[arg(long)]
        csv: bool,
        /// Print each statement to standard error as it starts, even when standard error is
        /// not a terminal (where it is, they are printed anyway).
        #[arg(long)]
        progress: bool,
    },
    /// Add, list and remove the models a database stores.
    Model {
        /// What to do.
        #[command(subcommand)]
        action: ModelAction,
    },
}

/// `reeldb export DATABASE ...`
#[derive(Debug, Subcommand)]
pub enum ExportKind {
    /// The face co-occurrence graph for Gephi (seed 002): nodes.csv (Id, Label, Size =
    /// PageRank, Image = the identity's largest crop), edges.csv (Source, Target, Type,
    /// Weight, Frames), graph.gexf (GEXF 1.3) and crops/, written atomically into --out.
    Gephi {
        /// The faces table (DETECT FACES ... INTO faces).
        #[arg(long, default_value = "faces")]
        faces: String,
        /// Its identity column (CLUSTER faces ... INTO person).
        #[arg(long, default_value = "person")]
        label: String,
        /// The directory to write (created if absent; not inside a database).
        #[arg(long)]
        out: PathBuf,
        /// Link faces to those of this many frames back (the seed: 1).
        #[arg(long, default_value_t = 1)]
        window: u64,
        /// Drop pairs seen in fewer frames than this (the seed: 2).
        #[arg(long, default_value_t = 2)]
        min_weight: u64,
        /// The column identities were clustered apart by (PARTITION BY video): nodes are then
        /// VIDEO/LABEL.
        #[arg(long)]
        group: Option<String>,
        /// Keep the seed's edge direction (this frame's face to the previous frame's).
        #[arg(long)]
        directed: bool,
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
        /// Give up a download when the server sends nothing for this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
        idle_timeout: f64,
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

/// Where the frames go and what embeds them (`reeldb ingest ... frames|video`).
#[derive(Debug, Clone, clap::Args)]
pub struct FrameTargetArgs {
    /// The models to embed frames with, comma-separated; one column each, named after the
    /// model.
    #[arg(long, default_value = "builtin")]
    pub model: String,
    /// The frames table.
    #[arg(long, default_value = "frames")]
    pub table: String,
    /// Frames per commit (an interruption loses at most this many frames' work).
    #[arg(long, default_value_t = 512)]
    pub commit_every: usize,
}

/// `reeldb ingest DATABASE ...`
#[derive(Debug, Subcommand)]
pub enum IngestSource {
    /// A directory of frame images (JPEG, PNG), named as the TV News Archive names them
    /// (STATION_YYYYMMDD_HHMMSS_Show-000123.jpg) or as --pattern says.
    Frames {
        /// The directory (searched recursively) or one image.
        path: PathBuf,
        /// Time between frames: frame n is at n × interval ("4s", "500ms").
        #[arg(long)]
        interval: Option<String>,
        /// A regular expression over file names without extension, with named groups
        /// video, frame, ts, station, show, start.
        #[arg(long)]
        pattern: Option<String>,
        /// The video id of every frame (default: from the names, else the folder's name).
        #[arg(long)]
        video: Option<String>,
        #[command(flatten)]
        target: FrameTargetArgs,
    },
    /// A video file: one frame every --every seconds, decoded by ffmpeg.
    Video {
        /// The video file.
        path: PathBuf,
        /// Time between sampled frames ("2s").
        #[arg(long, default_value = "2s")]
        every: String,
        /// The video id (default: the file name without extension).
        #[arg(long)]
        video: Option<String>,
        /// The ffmpeg to run (default: REELDB_FFMPEG, else ffmpeg on the PATH).
        #[arg(long)]
        ffmpeg: Option<PathBuf>,
        #[command(flatten)]
        target: FrameTargetArgs,
    },
    /// A transcript (SRT, WebVTT or JSON [{start, end, text}]) of a video already ingested.
    Transcript {
        /// The transcript file.
        path: PathBuf,
        /// The video it belongs to (default: the file name without extension).
        #[arg(long)]
        video: Option<String>,
        /// nearest: each segment to the frame nearest its start; uniform: its words spread
        /// over the frames it spans.
        #[arg(long, default_value = "nearest")]
        align: String,
        /// srt, vtt or json (default: from the extension).
        #[arg(long)]
        format: Option<String>,
        /// The frames table.
        #[arg(long, default_value = "frames")]
        frames_table: String,
    },
    /// Precomputed embeddings (JSON lines, .npy with --ids, Parquet), matched to frames by
    /// file name.
    Embeddings {
        /// The embeddings file.
        path: PathBuf,
        /// The column they go to (added if absent).
        #[arg(long, default_value = "embedding")]
        column: String,
        /// The model that made them, if the database has it (recorded on the column).
        #[arg(long)]
        model: Option<String>,
        /// For .npy: the file listing the images, one name per line.
        #[arg(long)]
        ids: Option<PathBuf>,
        /// The frames table.
        #[arg(long, default_value = "frames")]
        table: String,
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
