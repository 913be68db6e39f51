//! The sync state file, the lock that keeps one watcher per repository, and the request
//! file `--now` uses to reach a running watcher. All of it lives in
//! `<git dir>/glassroom/` (never versioned, like the trust cache).
//!
//! - `sync-state.json`: [`State`], rewritten atomically (temporary file, fsync, rename,
//!   fsync of the directory) after every transition, so a crash or restart resumes
//!   exactly where the last transition left it.
//! - `sync.lock`: held (an exclusive `flock`) by the running watcher or one-off sync; it
//!   holds that process's id. The kernel releases it when the process dies, even by
//!   SIGKILL, so a stale lock never blocks a restart.
//! - `sync-now`: created by `glassroom sync --now` when a watcher holds the lock; the
//!   watcher notices it (it watches this directory), forces a sync and removes it.
//! - `push-<target>.lock` and `.json`: one push per target at a time, held by the push
//!   and the processes it starts (see [`super::targets::lock`]).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::schedule::{Millis, Schedule, Timing};
use crate::local::{Durability, write_atomically};

/// The version of the state file's format.
pub const VERSION: u32 = 1;
/// How many recent attempts the state file keeps.
pub const HISTORY: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a sync state file glassroom can read ({reason}); move it away to start afresh", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "a sync is already running on this repository (process {pid}); use `glassroom sync --now` or `--status` to talk to it"
    )]
    Locked { pid: String },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The files of one repository's sync.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
    pub state: PathBuf,
    pub lock: PathBuf,
    pub request: PathBuf,
}

impl Paths {
    /// The files for the repository whose git directory is `git_dir`.
    pub fn new(git_dir: &Path) -> Self {
        let dir = git_dir.join("glassroom");
        Paths {
            state: dir.join("sync-state.json"),
            lock: dir.join("sync.lock"),
            request: dir.join(REQUEST),
            dir,
        }
    }

    pub fn create_dir(&self) -> Result<(), StateError> {
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))
    }
}

/// The name of the request file in the state directory.
pub const REQUEST: &str = "sync-now";

/// Everything a sync remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub version: u32,
    pub schedule: Schedule,
    /// The schedule's durations, as last read from the approved `glassroom.yaml`.
    pub timing: Option<Timing>,
    /// When the next sync is due, as the watcher computed it.
    #[serde(with = "super::time::option")]
    pub next_run: Option<Millis>,
    /// The approved head the watcher last looked at.
    pub seen: Option<Seen>,
    /// Per target (by name), what it publishes.
    pub targets: BTreeMap<String, TargetState>,
    /// Recent attempts, newest last.
    pub history: Vec<Attempt>,
    /// A problem of the sync itself (the repository cannot be read, ...), cleared when
    /// it goes away.
    pub error: Option<String>,
    /// The process that last ran the schedule.
    pub watcher: Option<Watcher>,
    /// How attempts are recorded in the logbook.
    pub logbook: Logbook,
}

/// An approved head: its commit and the fingerprint of its approved tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub commit: String,
    pub fingerprint: String,
    #[serde(with = "super::time")]
    pub at: Millis,
}

/// One target's publishing record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetState {
    /// `dir /srv/www/ops`, `command ./deploy/push.sh`, `git origin pages`.
    pub describe: String,
    /// What it serves now.
    pub published: Option<Seen>,
    /// Failed attempts in a row.
    pub failures: u32,
    pub last_error: Option<String>,
    #[serde(with = "super::time::option")]
    pub last_attempt: Option<Millis>,
}

/// One sync attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "super::time")]
    pub started: Millis,
    #[serde(with = "super::time")]
    pub finished: Millis,
    pub commit: Option<String>,
    pub outcome: Outcome,
    /// What went wrong, for failures.
    pub error: Option<String>,
    /// Per target pushed: name and `ok` or the error.
    pub targets: Vec<TargetResult>,
    /// The logbook entry recording it, if any.
    pub entry: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Published,
    Failed,
    BuildFailed,
    /// Stopped on request (SIGTERM, Ctrl-C) before it finished.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetResult {
    pub name: String,
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watcher {
    pub pid: u32,
    #[serde(with = "super::time")]
    pub since: Millis,
    pub repo: String,
}

/// How attempts are recorded in the logbook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Logbook {
    /// The robot principal entries are written as (`--robot`).
    pub robot: Option<String>,
    /// Why attempts are not recorded, when they are not.
    pub not_recorded: Option<String>,
    /// The entry starting the current thread of failures: later failures and the
    /// success that ends them are replies to it.
    pub open_problem: Option<String>,
}

impl State {
    /// Reads the state file; a missing file is a fresh state.
    pub fn load(paths: &Paths) -> Result<State, StateError> {
        let bytes = match std::fs::read(&paths.state) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: VERSION,
                    ..State::default()
                });
            }
            Err(err) => return Err(io("read", &paths.state)(err)),
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|err| StateError::Corrupt {
            path: paths.state.clone(),
            reason: err.to_string(),
        })?;
        if state.version != VERSION {
            return Err(StateError::Corrupt {
                path: paths.state.clone(),
                reason: format!(
                    "version {} (this glassroom writes {VERSION})",
                    state.version
                ),
            });
        }
        Ok(state)
    }

    /// Writes the state file atomically: a crash leaves either the old or the new file.
    pub fn save(&self, paths: &Paths) -> Result<(), StateError> {
        paths.create_dir()?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|err| StateError::Corrupt {
            path: paths.state.clone(),
            reason: err.to_string(),
        })?;
        write_atomically(&paths.state, &bytes, Durability::Durable)
            .map_err(io("write", &paths.state))
    }

    /// Remembers an attempt, keeping the latest [`HISTORY`].
    pub fn push_attempt(&mut self, attempt: Attempt) {
        self.history.push(attempt);
        let excess = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..excess);
    }
}

/// The exclusive lock of one repository's sync, released on drop (or process death).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock and writes this process's id into it; fails with
    /// [`StateError::Locked`] if another process holds it. Briefly retries, so a
    /// `--status` probing the lock at the same moment does not make a start fail.
    pub fn acquire(paths: &Paths) -> Result<Lock, StateError> {
        paths.create_dir()?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.lock)
            .map_err(io("open", &paths.lock))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StateError::Locked {
                        pid: read_pid(&mut file).unwrap_or_else(|| "unknown".into()),
                    });
                }
                Err(TryLockError::Error(err)) => return Err(io("lock", &paths.lock)(err)),
            }
        }
        file.set_len(0).map_err(io("write", &paths.lock))?;
        file.rewind().map_err(io("write", &paths.lock))?;
        writeln!(file, "{}", std::process::id()).map_err(io("write", &paths.lock))?;
        Ok(Lock { _file: file })
    }

    /// The id of the process holding the lock, or `None` when nobody does.
    pub fn holder(paths: &Paths) -> Result<Option<String>, StateError> {
        let mut file = match OpenOptions::new().read(true).open(&paths.lock) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io("open", &paths.lock)(err)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(Some(
                read_pid(&mut file).unwrap_or_else(|| "unknown".into()),
            )),
            Err(TryLockError::Error(err)) => Err(io("lock", &paths.lock)(err)),
        }
    }
}

fn read_pid(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    let pid = text.trim();
    (!pid.is_empty()).then(|| pid.to_owned())
}

/// Asks the running watcher for a sync now (creates the request file).
pub fn request_sync(paths: &Paths, now: Millis) -> Result<(), StateError> {
    paths.create_dir()?;
    write_atomically(
        &paths.request,
        format!("{}\n", super::time::format(now)).as_bytes(),
        Durability::Durable,
    )
    .map_err(io("write", &paths.request))
}

/// Takes a pending request (removes the file); whether there was one.
pub fn take_request(paths: &Paths) -> bool {
    std::fs::remove_file(&paths.request).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::schedule::{Event, Timing};

    #[test]
    fn state_round_trips_through_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let paths = Paths::new(dir.path());
        assert_eq!(State::load(&paths)?.version, VERSION);
        let mut state = State::load(&paths)?;
        state
            .schedule
            .apply(Event::Change, 1_795_000_000_000, &Timing::default());
        state.targets.insert(
            "production".into(),
            TargetState {
                describe: "dir /srv/www/ops".into(),
                ..TargetState::default()
            },
        );
        state.save(&paths)?;
        assert_eq!(State::load(&paths)?, state);
        let text = std::fs::read_to_string(&paths.state)?;
        assert!(text.contains("\"first_change\": \"20"), "{text}");
        let leftovers = std::fs::read_dir(&paths.dir)?.count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
        Ok(())
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_not_a_fresh_start() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let paths = Paths::new(dir.path());
        paths.create_dir()?;
        std::fs::write(&paths.state, "{ half")?;
        assert!(matches!(
            State::load(&paths),
            Err(StateError::Corrupt { .. })
        ));
        Ok(())
    }

    #[test]
    fn one_lock_holder_at_a_time() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let paths = Paths::new(dir.path());
        assert_eq!(Lock::holder(&paths)?, None);
        let lock = Lock::acquire(&paths)?;
        let pid = std::process::id().to_string();
        assert_eq!(Lock::holder(&paths)?, Some(pid.clone()));
        match Lock::acquire(&paths) {
            Err(StateError::Locked { pid: holder }) => assert_eq!(holder, pid),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(lock);
        assert_eq!(Lock::holder(&paths)?, None);
        let _again = Lock::acquire(&paths)?;
        Ok(())
    }

    #[test]
    fn requests_are_taken_once() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let paths = Paths::new(dir.path());
        assert!(!take_request(&paths));
        request_sync(&paths, 0)?;
        assert!(take_request(&paths));
        assert!(!take_request(&paths));
        Ok(())
    }
}
