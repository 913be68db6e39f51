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
        if args.notify_every > 0 {
            notify_every(
                args.repo.clone(),
                std::time::Duration::from_secs(args.notify_every),
            );
        }
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

/// Notifies beside the watcher, on a thread of its own so a slow mail server never holds
/// a sync back: every `interval`, what changed in the published state, by commits or by
/// time alone (a certificate entering its critical window). The thread ends with the
/// process; `notify.lock` keeps it and a `glassroom notify` apart.
fn notify_every(repo: std::path::PathBuf, interval: std::time::Duration) {
    use crate::content::types::Moment;
    use crate::notify::run::{RunError, once};
    let clock =
        || Moment(jiff::Timestamp::from_second(super::repository::clock()).unwrap_or_default());
    let env = |name: &str| std::env::var(name).ok();
    std::thread::spawn(move || {
        // Say a lasting problem once, not every minute.
        let mut last_problem = String::new();
        loop {
            let result = once(&repo, clock(), &clock, &env, &mut |delivery, result| {
                if let Err(err) = result {
                    println!(
                        "notify: failed {} {}: {}",
                        delivery.route.channel,
                        crate::diag::printable(&delivery.route.address),
                        crate::diag::printable(err)
                    );
                }
            });
            match result {
                Ok(ran) => {
                    last_problem.clear();
                    if ran.first_run {
                        println!("notify: first run: recorded the current state");
                    } else if ran.added > 0 || ran.sent > 0 {
                        println!(
                            "notify: {} events, {} new deliveries, {} sent, {} failed",
                            ran.events,
                            ran.added,
                            ran.sent,
                            ran.failed.len()
                        );
                    }
                }
                // A `glassroom notify` runs now; the next tick catches up.
                Err(RunError::Locked(_)) => {}
                Err(err) => {
                    let problem = err.to_string();
                    if problem != last_problem {
                        println!("notify: {}", crate::diag::printable(&problem));
                        last_problem = problem;
                    }
                }
            }
            std::thread::sleep(interval);
        }
    });
}
