//! Publishing: DryDock's debounced, delayed syncs to production that never lose a change.
//!
//! - [`schedule`]: the pure state machine (quiet, max delay, force, backoff).
//! - [`state`]: the state file, lock and request file in `<git dir>/glassroom/`.
//! - [`watcher`]: notify on the repository's refs, with a pure event classifier.
//! - [`snapshot`]: the approved head, its fingerprint and its sync configuration.
//! - [`targets`]: directory (releases + symlink swap), command, git branch; one push per
//!   target at a time, across restarts too ([`targets::lock`]).
//! - [`stop`]: SIGTERM and Ctrl-C stop a push cleanly (its command first).
//! - this module: the loop that ties them together ([`watch`]) and a one-off sync
//!   ([`sync_now`]); [`status`] reads what they leave behind.
//!
//! Only the approved tree is read: targets, commands and the schedule's durations come
//! from the approved `glassroom.yaml`, a command runs in a checkout of the approved tree,
//! and only a build without errors is pushed.

pub mod record;
pub mod schedule;
pub mod snapshot;
pub mod state;
pub mod status;
pub mod stop;
pub mod targets;
pub(crate) mod time;
pub mod watcher;

mod driver;
mod push;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};

use driver::Driver;
use push::{PushOutcome, attempt};

use crate::intake;

pub use record::Recorder;
use schedule::{Clock, Event, Millis};
use snapshot::SnapshotError;
use state::{Lock, StateError};
use stop::Stop;

/// How often the watcher looks at the repository even without an event (a safety net
/// for missed events; cheap: one ref lookup when nothing moved).
const POLL: Millis = 30_000;

/// Where progress lines go.
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

/// What a sync needs to run.
pub struct Options {
    /// The repository (a working tree or a bare repository).
    pub repo: PathBuf,
    pub trust_root: Option<String>,
    /// Record attempts in the logbook as this robot; `None`: only in the state file.
    pub recorder: Option<Recorder>,
    pub clock: Arc<dyn Clock>,
    pub say: Say,
    /// Requested on SIGTERM or Ctrl-C (see [`stop::listen`]): the running push is
    /// stopped, recorded as interrupted, and the sync returns.
    pub stop: Stop,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
}

/// How a one-off sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Every target has the approved head.
    Published,
    /// Every target already had it (nothing was pushed).
    UpToDate,
    /// The approved tree does not build; nothing was pushed.
    BuildFailed(String),
    /// A target failed (the change stays pending; a watcher retries it).
    Failed(String),
    /// A stop was requested (the signal's name) during the push: it was stopped, and
    /// the change stays pending.
    Interrupted(&'static str),
}

/// How a watcher ended: asked to stop (the signal's name); `interrupted` when that
/// stopped a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub by: &'static str,
    pub interrupted: bool,
}

/// Runs one sync now, pushing to every target (a forced sync). Fails with
/// [`StateError::Locked`] when a watcher runs: ask it with [`state::request_sync`].
pub fn sync_now(options: Options) -> Result<Done, SyncError> {
    let mut driver = Driver::new(options)?;
    let _lock = Lock::acquire(&driver.paths)?;
    driver.reload()?;
    let now = driver.now();
    driver.recover(now);
    driver.look(now, true);
    driver.apply(Event::Force, now);
    let job = driver.start(now)?;
    let report = attempt(job);
    Ok(driver.finish(report))
}

/// Watches the repository and runs the schedule until a stop is requested (then the
/// running push, if any, is stopped first) or the process dies (any time is safe: every
/// transition is on disk, a directory release is swapped atomically, and a command left
/// running holds its target's lock).
pub fn watch(options: Options) -> Result<Stopped, SyncError> {
    let mut driver = Driver::new(options)?;
    let _lock = Lock::acquire(&driver.paths)?;
    driver.reload()?;
    let (sender, receiver) = mpsc::channel::<Message>();
    {
        let sender = std::sync::Mutex::new(sender.clone());
        driver.options.stop.on_request(move || {
            if let Ok(sender) = sender.lock() {
                let _ = sender.send(Message::Stop);
            }
        });
    }
    // Watch first, then look: a commit in between is not missed.
    let _watcher = watcher::start(
        &driver.git_dir,
        &driver.paths,
        sender.clone(),
        Message::Signal,
    )
    .map_err(|source| SyncError::Watch {
        path: driver.git_dir.clone(),
        source,
    })?;
    let now = driver.now();
    driver.state.watcher = Some(state::Watcher {
        pid: std::process::id(),
        since: now,
        repo: driver.repo.display().to_string(),
    });
    driver.say(&format!(
        "sync: watching {} (state in {})",
        driver.repo.display(),
        driver.paths.state.display()
    ));
    driver.recover(now);
    driver.look(now, true);
    driver.say(&driver.banner());
    if state::take_request(&driver.paths) {
        driver.say("sync: a sync was requested (--now)");
        driver.apply(Event::Force, now);
    }
    let mut pushing = false;
    let mut interrupted = false;
    // Stop requests seen while pushing: the first lets the push stop, a second kills it.
    let mut stops = 0;
    loop {
        let now = driver.now();
        if let Some(by) = driver.options.stop.requested()
            && !pushing
        {
            driver.save();
            driver.say(&format!("sync: stopped ({by})"));
            return Ok(Stopped { by, interrupted });
        }
        if !pushing && driver.state.schedule.due(now, &driver.timing) {
            match driver.start(now) {
                Ok(job) => {
                    let sender = sender.clone();
                    pushing = true;
                    std::thread::spawn(move || {
                        let _ = sender.send(Message::Done(Box::new(attempt(job))));
                    });
                }
                Err(err) => driver.say(&format!("sync: error: {err}")),
            }
        }
        driver.check_lag(now);
        driver.state.next_run = driver.state.schedule.next(now, &driver.timing);
        driver.save();
        let wait = driver
            .state
            .next_run
            .map_or(POLL, |at| at.saturating_sub(now))
            .clamp(0, POLL);
        let message = match receiver.recv_timeout(std::time::Duration::from_millis(wait as u64)) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => Message::Signal(watcher::Signal::Refs),
            // Cannot happen (this function holds a sender); ending is the safe answer.
            Err(RecvTimeoutError::Disconnected) => {
                return Ok(Stopped {
                    by: "its channel closed",
                    interrupted,
                });
            }
        };
        // Take everything queued (a commit is many file events), then act once; a stop
        // is said at once.
        if !matches!(message, Message::Stop) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut messages = vec![message];
        messages.extend(receiver.try_iter());
        let mut refs = false;
        for message in messages {
            match message {
                Message::Signal(watcher::Signal::Refs) => refs = true,
                Message::Signal(watcher::Signal::Request) => {
                    if state::take_request(&driver.paths) {
                        let now = driver.now();
                        driver.say("sync: a sync was requested (--now)");
                        driver.apply(Event::Force, now);
                    }
                }
                Message::Done(report) => {
                    pushing = false;
                    interrupted |= matches!(driver.finish(*report), Done::Interrupted(_));
                    refs = true;
                }
                // Idle, the loop returns at its top; a push is stopped by its thread.
                Message::Stop => match driver.options.stop.requested() {
                    Some(by) if pushing && stops > 0 => {
                        stops += 1;
                        driver.say(&format!("sync: {by} again: killing the push now"));
                    }
                    Some(by) if pushing => {
                        stops += 1;
                        let grace = time::millis(stop::GRACE);
                        driver.say(&format!(
                            "sync: {by}: stopping the running push first (a command gets SIGTERM, and SIGKILL {} later)",
                            time::span(grace)
                        ));
                    }
                    _ => {}
                },
            }
        }
        if driver.options.stop.requested().is_some() {
            continue;
        }
        if refs {
            let now = driver.now();
            driver.look(now, false);
        }
    }
}

enum Message {
    Signal(watcher::Signal),
    Done(Box<PushOutcome>),
    /// A stop was requested: look at [`Options::stop`].
    Stop,
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Whether `path` looks like a repository sync can work on (for the command line).
pub fn is_repository(path: &Path) -> bool {
    snapshot::git_dir(path).is_ok()
}
