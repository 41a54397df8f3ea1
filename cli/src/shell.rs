//! The interactive shell and the script runner, with their dot-commands.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use reeldb_query::{StatementTracker, create_table_sql, split_statements};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::args::Format;
use crate::runner::{Outcome, Runner};

const HELP: &str = "\
SQL statements end with a semicolon and may span lines. Dot-commands:
  .tables                 list the tables with their rows and size
  .schema [TABLE]         show CREATE TABLE statements
  .models                 list the models (SHOW MODELS)
  .mode [table|csv|json|jsonl|markdown]   show or set the output format
  .timer on|off           print each statement's run time
  .echo on|off            print each statement before running it
  .help                   this text
  .quit                   leave (also Ctrl-D)
Ctrl-C stops a running statement and keeps the shell; a write is rolled back unless it
was already committing, in which case it is reported as done.";

/// What a dot-command asks of the loop.
enum Next {
    Continue,
    Quit,
}

/// Runs the interactive shell until the user quits.
pub fn interactive(runner: &mut Runner) -> Result<()> {
    let mut editor = DefaultEditor::new()?;
    // After the editor: rustyline replaces the SIGINT handler when it opens the terminal.
    runner.catch_interrupts()?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut out = crate::output::Stdout::lock();
    writeln!(
        out,
        "reeldb {} — database {}\nEnter \".help\" for usage hints.",
        env!("CARGO_PKG_VERSION"),
        runner.session().database().path().display()
    )?;
    let mut buffer = String::new();
    let mut tracker = StatementTracker::default();
    loop {
        let prompt = if buffer.is_empty() {
            "reeldb> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.trim().is_empty() && line.trim_start().starts_with('.') {
                    let _ = editor.add_history_entry(line.as_str());
                    match dot_command(runner, line.trim(), &mut out) {
                        Ok(Next::Quit) => break,
                        Ok(Next::Continue) => {}
                        Err(e) => eprintln!("Error: {e:#}"),
                    }
                    buffer.clear();
                    tracker.clear();
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                tracker.push(&line);
                tracker.push("\n");
                if !tracker.ends_statement() {
                    continue;
                }
                let _ = editor.add_history_entry(buffer.trim());
                for statement in split_statements(&buffer) {
                    match runner.run(&statement.text, &mut out) {
                        Ok(Outcome::Done) => {}
                        Ok(Outcome::Cancelled) => {
                            eprintln!("Cancelled.");
                            break;
                        }
                        Err(e) => {
                            eprintln!("Error: {e:#}");
                            break;
                        }
                    }
                }
                buffer.clear();
                tracker.clear();
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                tracker.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Runs a script (SQL statements and dot-commands). Stops at the first failing statement and
/// returns false; the error, with the statement's line, goes to standard error.
pub fn script(runner: &mut Runner, text: &str, out: &mut dyn Write) -> Result<bool> {
    let mut buffer = String::new();
    let mut tracker = StatementTracker::default();
    let mut buffer_line = 1;
    for (index, line) in text.lines().enumerate() {
        if buffer.trim().is_empty() && line.trim_start().starts_with('.') {
            match dot_command(runner, line.trim(), out) {
                Ok(Next::Quit) => return Ok(true),
                Ok(Next::Continue) => {}
                Err(e) => {
                    eprintln!("Error: line {}: {e:#}", index + 1);
                    return Ok(false);
                }
            }
            buffer.clear();
            tracker.clear();
            continue;
        }
        if buffer.trim().is_empty() {
            buffer.clear();
            tracker.clear();
            buffer_line = index + 1;
        }
        buffer.push_str(line);
        buffer.push('\n');
        tracker.push(line);
        tracker.push("\n");
        if tracker.ends_statement() {
            if !run_buffer(runner, &buffer, buffer_line, out)? {
                return Ok(false);
            }
            buffer.clear();
            tracker.clear();
        }
    }
    run_buffer(runner, &buffer, buffer_line, out)
}

fn run_buffer(
    runner: &mut Runner,
    buffer: &str,
    first_line: usize,
    out: &mut dyn Write,
) -> Result<bool> {
    for statement in split_statements(buffer) {
        if let Err(e) = runner.run(&statement.text, out) {
            if is_broken_pipe(&e) || crate::output::stdout_closed() {
                return Err(e);
            }
            eprintln!("Error: line {}: {e:#}", first_line + statement.line - 1);
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether an error is a closed standard output (`reeldb ... | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<arrow::error::ArrowError>()
                .is_some_and(|e| matches!(e, arrow::error::ArrowError::IoError(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}

fn dot_command(runner: &mut Runner, line: &str, out: &mut dyn Write) -> Result<Next> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let argument = words.next();
    match command {
        ".quit" | ".exit" => return Ok(Next::Quit),
        ".help" => writeln!(out, "{HELP}")?,
        ".mode" => match argument {
            None => writeln!(out, "{:?}", runner.mode)?,
            Some(name) => match Format::from_name(name) {
                Some(Format::Parquet) | None => bail!(
                    "unknown mode '{name}'; the modes are table, csv, json, jsonl and markdown"
                ),
                Some(mode) => runner.mode = mode,
            },
        },
        ".timer" => runner.timer = on_off(".timer", argument)?,
        ".echo" => runner.echo = on_off(".echo", argument)?,
        ".tables" => {
            let snapshot = runner.session().database().snapshot()?;
            let rows: Vec<String> = snapshot
                .manifest()
                .tables
                .iter()
                .map(|t| {
                    format!(
                        "('{}', {}, {}, {})",
                        t.name.replace('\'', "''"),
                        t.row_count(),
                        t.files.len(),
                        t.byte_count()
                    )
                })
                .collect();
            if rows.is_empty() {
                writeln!(out, "No tables yet: CREATE TABLE, or COPY a file into one.")?;
            } else {
                let sql = format!(
                    "SELECT column1 AS name, column2 AS rows, column3 AS files, column4 AS bytes \
                     FROM (VALUES {}) ORDER BY name",
                    rows.join(", ")
                );
                runner.run(&sql, out)?;
            }
        }
        ".models" => {
            runner.run("SHOW MODELS", out)?;
        }
        ".schema" => {
            let snapshot = runner.session().database().snapshot()?;
            let names: Vec<&str> = match argument {
                Some(name) => vec![snapshot.table(name)?.name.as_str()],
                None => snapshot.table_names(),
            };
            for name in names {
                writeln!(
                    out,
                    "{}",
                    create_table_sql(name, snapshot.table_schema(name)?.as_ref())
                )?;
            }
        }
        other => bail!("unknown command '{other}'; .help lists the commands"),
    }
    Ok(Next::Continue)
}

fn on_off(command: &str, argument: Option<&str>) -> Result<bool> {
    match argument {
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        _ => bail!("usage: {command} on|off"),
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".reeldb_history"))
}
