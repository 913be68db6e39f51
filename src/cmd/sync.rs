//! `glassroom sync --watch | --now | --status`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Outcome, ignore_broken_pipe};
use crate::cli::{PlanFormat, SyncArgs};
use crate::intake::Signer;
use crate::sync::schedule::{Clock, SystemClock};
use crate::sync::state::{self, Paths, StateError};
use crate::sync::stop::{self, Stop};
use crate::sync::{self, Done, Options, Recorder, Stopped, SyncError, snapshot, status};

/// How long `--now` waits for a running watcher to take its request.
const ANSWER: Duration = Duration::from_secs(10);

pub fn run(args: &SyncArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    if args.status {
        return show_status(args);
    }
    let recorder = match &args.robot {
        Some(robot) => Some(Recorder {
            robot: robot.clone(),
            signer: args
                .signing_key
                .as_deref()
                .map(Signer::from_file)
                .transpose()?,
        }),
        None => None,
    };
    // Before anything runs: from here on SIGTERM and Ctrl-C stop a push cleanly instead
    // of killing this process and leaving its command running.
    let stop = Stop::new();
    stop::listen(&stop)?;
    let options = Options {
        repo: args.repo.clone(),
        trust_root: args.trust_root.clone(),
        recorder,
        clock: Arc::new(SystemClock),
        say: Arc::new(|line: &str| {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }),
        stop,
    };
    if args.watch {
        // Stopped while idle is a clean end; a push it cut short is not.
        return Ok(match sync::watch(options)? {
            Stopped {
                interrupted: false, ..
            } => Outcome::Ok,
            Stopped {
                interrupted: true,
                by,
            } => {
                eprintln!(
                    "error: stopped ({by}) in the middle of a push; the change stays pending for the next `glassroom sync`"
                );
                Outcome::Failed
            }
        });
    }
    match sync::sync_now(options) {
        Ok(Done::Published | Done::UpToDate) => Ok(Outcome::Ok),
        Ok(Done::BuildFailed(message)) => {
            eprintln!("error: {}", crate::diag::printable(&message));
            Ok(Outcome::Findings)
        }
        Ok(Done::Failed(message)) => {
            eprintln!(
                "error: {}\n  the change stays pending; a running `glassroom sync --watch` retries it",
                crate::diag::printable(&message)
            );
            Ok(Outcome::Failed)
        }
        Ok(Done::Interrupted(by)) => {
            eprintln!(
                "error: stopped ({by}) in the middle of the push; the change stays pending for the next `glassroom sync`"
            );
            Ok(Outcome::Failed)
        }
        Err(SyncError::State(StateError::Locked { pid })) => ask_watcher(args, &pid),
        Err(err) => Err(err.into()),
    }
}

/// A watcher runs: leave it a request and wait until it takes it.
fn ask_watcher(args: &SyncArgs, pid: &str) -> Result<Outcome, Box<dyn std::error::Error>> {
    let paths = Paths::new(&snapshot::git_dir(&args.repo)?);
    state::request_sync(&paths, SystemClock.now())?;
    let started = Instant::now();
    while started.elapsed() < ANSWER {
        if !paths.request.exists() {
            let mut stdout = std::io::stdout().lock();
            ignore_broken_pipe(writeln!(
                stdout,
                "the running watcher (process {pid}) is syncing now; follow it with `glassroom sync --status`"
            ))?;
            return Ok(Outcome::Ok);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "error: the watcher (process {pid}) has not taken the request within {} s; it stays in {} for it",
        ANSWER.as_secs(),
        paths.request.display()
    );
    Ok(Outcome::Failed)
}

fn show_status(args: &SyncArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let report = status::gather(&args.repo, args.trust_root.as_deref(), SystemClock.now())?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        PlanFormat::Json => {
            let text = serde_json::to_string_pretty(&report)?;
            ignore_broken_pipe(writeln!(stdout, "{text}"))?;
        }
        PlanFormat::Text => ignore_broken_pipe(write!(stdout, "{}", status::render(&report)))?,
    }
    Ok(if report.alerts.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Findings
    })
}
