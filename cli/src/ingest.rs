//! `reeldb ingest` and `reeldb demo`: the ingest module with progress bars on a terminal and
//! Ctrl-C that stops after the current step (what is done stays committed).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reeldb_query::Session;
use reeldb_query::ingest::{
    Alignment, DEMO_FRAMES, DEMO_INTERVAL, EmbeddingsOptions, FrameTarget, FramesOptions,
    IngestControl, IngestReport, NamingScheme, NoProgress, Progress, TranscriptFormat,
    TranscriptOptions, VideoOptions, build_demo, ingest_embeddings, ingest_frames,
    ingest_transcript, ingest_video, parse_seconds, write_broadcast_report,
};

use crate::args::{FrameTargetArgs, IngestSource};

/// Progress bars on standard error: a bar with rate and ETA when the total is known, a
/// spinner with the rate otherwise.
#[derive(Debug, Default)]
pub struct TerminalProgress {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl TerminalProgress {
    /// Bars if standard error is a terminal; nothing otherwise (scripts, logs).
    pub fn for_stderr() -> Arc<dyn Progress> {
        if std::io::stderr().is_terminal() {
            Arc::new(TerminalProgress::default())
        } else {
            Arc::new(NoProgress)
        }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        if let Ok(mut bar) = self.bar.lock() {
            f(&mut bar);
        }
    }
}

impl Progress for TerminalProgress {
    fn begin(&self, what: &str, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} {per_sec} ETA {eta} ")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{msg} {spinner} {pos} {per_sec} ")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(what.to_string());
        self.with_bar(|slot| *slot = Some(bar));
    }

    fn advance(&self, count: u64) {
        self.with_bar(|slot| {
            if let Some(bar) = slot {
                bar.inc(count);
            }
        });
    }

    fn end(&self) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// A control whose cancel flag the first Ctrl-C sets; a second Ctrl-C ends the process.
pub(crate) fn interruptible() -> Result<IngestControl> {
    let control = IngestControl {
        progress: TerminalProgress::for_stderr(),
        ..IngestControl::default()
    };
    let cancel = Arc::clone(&control.cancel);
    let warned = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if warned.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        cancel.store(true, Ordering::SeqCst);
        // The handler runs on its own thread; the progress bar may be drawing, which is fine.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("\nstopping after the current step (Ctrl-C again to quit at once)");
        }
    })
    .context("cannot catch Ctrl-C")?;
    Ok(control)
}

fn target(args: &FrameTargetArgs) -> FrameTarget {
    FrameTarget {
        table: args.table.clone(),
        models: args
            .model
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect(),
        commit_every: args.commit_every,
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `reeldb ingest DATABASE SOURCE ...`.
pub fn ingest(session: &Session, source: IngestSource) -> Result<ExitCode> {
    let control = interruptible()?;
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        match source {
            IngestSource::Frames {
                path,
                interval,
                pattern,
                video,
                target: target_args,
            } => {
                let options = FramesOptions {
                    target: target(&target_args),
                    interval: interval.as_deref().map(parse_seconds).transpose()?,
                    naming: match pattern {
                        Some(pattern) => NamingScheme::pattern(&pattern)?,
                        None => NamingScheme::Automatic,
                    },
                    video,
                };
                ingest_frames(
                    session.database(),
                    session.models(),
                    &path,
                    &options,
                    &control,
                )
                .await
            }
            IngestSource::Video {
                path,
                every,
                video,
                ffmpeg,
                target: target_args,
            } => {
                let options = VideoOptions {
                    target: target(&target_args),
                    every: parse_seconds(&every)?,
                    video,
                    ffmpeg,
                };
                ingest_video(
                    session.database(),
                    session.models(),
                    &path,
                    &options,
                    &control,
                )
                .await
            }
            IngestSource::Transcript {
                path,
                video,
                align,
                format,
                frames_table,
            } => {
                let options = TranscriptOptions {
                    video,
                    format: format.as_deref().map(TranscriptFormat::parse).transpose()?,
                    align: Alignment::parse(&align)?,
                    frames_table,
                    ..TranscriptOptions::default()
                };
                ingest_transcript(session.database(), &path, &options).await
            }
            IngestSource::Embeddings {
                path,
                column,
                model,
                ids,
                table,
            } => {
                let options = EmbeddingsOptions {
                    table,
                    column,
                    model,
                    ids,
                };
                ingest_embeddings(session.database(), session.models(), &path, &options).await
            }
        }
    })?;
    print_report(&report);
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

#[allow(clippy::print_stdout)]
fn print_report(report: &IngestReport) {
    println!("{report}");
}

/// `word` quoted for a POSIX shell when it holds anything but plain characters.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `reeldb demo [FILES...] [--db PATH]`.
pub fn demo(session: &Session, files: &[PathBuf], db: &Path) -> Result<ExitCode> {
    let control = interruptible()?;
    let render_dir = db.with_extension("broadcast");
    let report = runtime()?.block_on(build_demo(
        session.database(),
        session.models(),
        files,
        &render_dir,
        &control,
    ))?;
    let report_file = db.with_extension("report.md");
    let wrote_report = write_broadcast_report(session.database(), &report_file)?;
    #[allow(clippy::print_stdout)]
    {
        if let Some(rendered) = &report.rendered {
            println!(
                "rendered an evening news broadcast ({DEMO_FRAMES} frames, {DEMO_INTERVAL} s \
                 apart, and its transcript) into {}",
                rendered.display()
            );
        }
        for ingested in &report.ingested {
            println!("{ingested}");
        }
        println!("\nthe database is {}; try:\n", db.display());
        println!("  reeldb {}\n", db.display());
        for query in &report.queries {
            println!("  {query}");
        }
        // The report's search looks for the frames most like frame 12 (the rendered
        // broadcast's weather map).
        let kept = if wrote_report {
            "written to"
        } else {
            "kept as it was in"
        };
        let stem = db.file_stem().unwrap_or_default().to_string_lossy();
        println!(
            "\nand seed 000's page (clusters, t-SNE point and image clouds, grids, a contact \
             sheet, a search) as a report ({kept} {}):\n\n  reeldb report {} {} --param \
             video={} --param frame=12 --out {}\n",
            report_file.display(),
            db.display(),
            report_file.display(),
            shell_word(&report.video),
            db.with_file_name(format!("{stem}-report")).display(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
