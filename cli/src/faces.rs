//! `reeldb faces DATABASE ...`: DETECT FACES with a progress bar on a terminal and Ctrl-C
//! that stops after the current step (what is done stays committed; a re-run resumes).

use std::process::ExitCode;

use anyhow::Result;
use reeldb_query::Session;
use reeldb_query::faces::{FaceOptions, detect_faces};

use crate::ingest::{interruptible, runtime};

/// Runs the scan and prints its report; exit code 130 when it was interrupted.
pub fn faces(session: &Session, options: &FaceOptions) -> Result<ExitCode> {
    let control = interruptible()?;
    let report = runtime()?.block_on(detect_faces(
        session.database(),
        session.models(),
        options,
        &control,
    ))?;
    #[allow(clippy::print_stdout)]
    {
        println!("{report}");
    }
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}
