//! The `reeldb` command: the SQL shell, scripts, and one-shot queries.
//!
//! Exit codes: 0 success (also when standard output is closed early), 1 a statement failed
//! (or a report: a statement, or the report file itself), 2 a usage or I/O error (including a
//! database that cannot be opened).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod export;
mod faces;
mod ingest;
mod model_pull;
mod output;
mod pending_file;
mod report;
mod runner;
mod shell;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use reeldb_query::faces::{FaceOptions, SourcePreference};
use reeldb_query::{Session, split_statements};

use crate::args::{Args, Command, Format, ModelAction};
use crate::output::ResultWriter;
use crate::pending_file::PendingFile;
use crate::runner::Runner;

fn main() -> ExitCode {
    match run() {
        Ok(_) | Err(_) if output::stdout_closed() => ExitCode::SUCCESS,
        Ok(code) => code,
        Err(e) if shell::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    if let Some(Command::Query {
        database,
        sql,
        format,
        output,
    }) = args.command
    {
        let mut runner = Runner::new(open(&database, false)?, format)?;
        return query(&mut runner, &sql, format, output.as_deref());
    }
    if let Some(Command::Ingest { database, source }) = args.command {
        return ingest::ingest(&open(&database, false)?, source);
    }
    if let Some(Command::Faces {
        database,
        detector,
        encoder,
        frames,
        into,
        root,
        thumbnails,
        commit_every,
        ffmpeg,
    }) = args.command
    {
        let mut options = FaceOptions::new(&frames, &detector, encoder.as_deref(), &into);
        options.root = root;
        options.commit_every = commit_every;
        options.ffmpeg = ffmpeg;
        if thumbnails {
            options.source = SourcePreference::Thumbnail;
        }
        return faces::faces(&open(&database, false)?, &options);
    }
    if let Some(Command::Export { database, what }) = args.command {
        return export::export(&open(&database, false)?, what);
    }
    if let Some(Command::Demo { files, db }) = args.command {
        return ingest::demo(&open(&db, false)?, &files, &db);
    }
    if let Some(Command::Report {
        database,
        report,
        out,
        params,
        replace,
        csv,
        progress,
    }) = args.command
    {
        let request = report::ReportRequest {
            report,
            out,
            params,
            replace,
            csv,
            progress,
        };
        return report::report(&database, request);
    }
    if let Some(Command::Model { action }) = args.command {
        let Some((database, sql)) = model_statement(action)? else {
            return Ok(ExitCode::SUCCESS);
        };
        let mut runner = Runner::new(open(&database, false)?, Format::Table)?;
        return query(&mut runner, &sql, Format::Table, None);
    }
    let Some(database) = args.database else {
        eprintln!(
            "usage: reeldb DATABASE            open (or create) a database and start the shell\n       \
             reeldb query DATABASE SQL  run SQL and print the result\n       \
             reeldb --help              all options"
        );
        return Ok(ExitCode::from(2));
    };
    let mut runner = Runner::new(open(&database, args.read_only)?, args.mode)?;
    if args.shell || std::io::stdin().is_terminal() {
        shell::interactive(&mut runner)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the script from standard input")?;
    let mut out = output::Stdout::lock();
    let ok = shell::script(&mut runner, &text, &mut out)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn open(path: &std::path::Path, read_only: bool) -> Result<Session> {
    let db = reeldb_engine::Database::builder()
        .read_only(read_only)
        .create_if_missing(!read_only)
        .open(path)
        .with_context(|| format!("cannot open database '{}'", path.display()))?;
    let session = Session::new(db);
    // INGEST statements in the shell and in scripts draw bars when a person is watching.
    session.set_ingest_progress(ingest::TerminalProgress::for_stderr());
    Ok(session)
}

/// `reeldb query`: runs the statements and writes the last one's result.
fn query(
    runner: &mut Runner,
    sql: &str,
    format: Format,
    output: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let statements = split_statements(sql);
    if statements.is_empty() {
        eprintln!("Error: no SQL statement given");
        return Ok(ExitCode::from(2));
    }
    // Earlier statements print nothing; the last one's result goes to the output.
    let (last, earlier) = statements.split_last().expect("at least one statement");
    for statement in earlier {
        if let Err(e) = runner.run_into(&statement.text, &mut ResultWriter::discard()) {
            eprintln!("Error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    }
    // A result file is written under a temporary name beside it and renamed over it only
    // when the statement succeeded: a failed statement leaves an existing file as it was.
    let pending = match output {
        Some(path) => Some(PendingFile::create(runner.session().database(), path)?),
        None => None,
    };
    let mut file_out;
    let mut stdout_out;
    let out: &mut dyn Write = match (format, &pending) {
        (Format::Parquet, _) | (_, None) => {
            stdout_out = output::Stdout::lock();
            &mut stdout_out
        }
        (_, Some(pending)) => {
            file_out = std::io::BufWriter::new(pending.file()?);
            &mut file_out
        }
    };
    let parquet_file = match (format, &pending) {
        (Format::Parquet, Some(pending)) => Some(pending.temporary_path()),
        _ => None,
    };
    let mut writer = ResultWriter::new(format, out, parquet_file)?;
    if let Err(e) = runner.run_into(&last.text, &mut writer) {
        if output::stdout_closed() {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("Error: {e:#}");
        return Ok(ExitCode::from(1));
    }
    writer.finish()?;
    out.flush()?;
    if let Some(pending) = pending {
        pending.publish()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `CREATE MODEL name FROM 'path' WITH (key = 'value', ...)`.
fn create_model_sql(name: &str, path: &std::path::Path, options: Vec<(String, String)>) -> String {
    let mut sql = format!(
        "CREATE MODEL {} FROM {}",
        quote(name),
        quote(&path.display().to_string())
    );
    let pairs: Vec<String> = options
        .iter()
        .map(|(key, value)| format!("{} = {}", key.trim(), quote(value.trim())))
        .collect();
    if !pairs.is_empty() {
        sql.push_str(&format!(" WITH ({})", pairs.join(", ")));
    }
    sql
}

/// The SQL statement a `reeldb model ...` command stands for, and its database; `None` when
/// the command has nothing to run in a database (a pull without `--into`).
fn model_statement(action: ModelAction) -> Result<Option<(PathBuf, String)>> {
    Ok(Some(match action {
        ModelAction::Add {
            database,
            name,
            path,
            options,
        } => {
            let mut pairs = Vec::new();
            for option in &options {
                let Some((key, value)) = option.split_once('=') else {
                    anyhow::bail!(
                        "--option takes KEY=VALUE, as in --option size=112; got '{option}'"
                    );
                };
                pairs.push((key.to_string(), value.to_string()));
            }
            (database, create_model_sql(&name, &path, pairs))
        }
        ModelAction::Pull {
            name,
            into,
            add_as,
            base_url,
            models_dir,
            idle_timeout,
        } => {
            let idle_timeout = std::time::Duration::try_from_secs_f64(idle_timeout)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--idle-timeout {idle_timeout}: give a number of seconds above 0"
                    )
                })?;
            let Some(base_url) = base_url else {
                anyhow::bail!(
                    "no model source: pass --base-url URL or set {} (a server with one \
                     directory per model, each with {})",
                    model_pull::BASE_URL_VAR,
                    model_pull::DESCRIPTION_FILE
                );
            };
            let models_dir = match models_dir {
                Some(dir) => dir,
                None => model_pull::default_models_dir()?,
            };
            let pulled = model_pull::pull(
                &name,
                &base_url,
                &models_dir,
                idle_timeout,
                &mut std::io::stderr(),
            )?;
            println!("{}", pulled.path.display());
            let Some(database) = into else {
                return Ok(None);
            };
            let options = pulled.options.into_iter().collect();
            (
                database,
                create_model_sql(&add_as.unwrap_or(name), &pulled.path, options),
            )
        }
        ModelAction::List { database } => (database, "SHOW MODELS".into()),
        ModelAction::Remove { database, name } => {
            (database, format!("DROP MODEL {}", quote(&name)))
        }
    }))
}
