//! One push per target at a time, even when the sync process dies in the middle of one.
//!
//! Every push holds an exclusive `flock` on `<git dir>/glassroom/push-<target>.lock` for
//! as long as it runs. A command target (and a git target's `git push`) gets that lock as
//! its **standard input**: the lock file, empty, opened read-only. The kernel keeps a
//! `flock` while any process holds the open file, so if the sync process is SIGKILLed
//! the orphaned command keeps the lock until it ends, and a restarted sync waits for it
//! instead of starting a second deploy beside it.
//!
//! Why standard input: every other descriptor Rust opens is close-on-exec, and clearing
//! that flag for one child needs `unsafe` code (`pre_exec`, forbidden here) or a window in
//! which children other threads spawn inherit the lock too. Standard input is installed
//! in the child by `dup2`, for that child only. Reading it gives end of file at once, as
//! `/dev/null` did before. A command `sh` runs in the background (`cmd &`) gets
//! `/dev/null` as its standard input, so a service a deploy leaves running does not hold
//! the lock.
//!
//! `push-<target>.json`, written right after the command starts, names its process group
//! and when it started, so a sync waiting for an orphan can stop it at its timeout, as the
//! sync that started it would have. It is removed when the next push takes the lock, so
//! it never names another push's processes.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Control, TargetError, io};
use crate::local::Durability;
use crate::sync::schedule::Millis;
use crate::sync::state::Paths;
use crate::sync::time;

/// How long a process group stopped at its timeout has to let go of the lock after
/// SIGKILL before the push gives up (and fails, to be retried).
const AFTER_KILL: Duration = Duration::from_secs(5);
/// How often a waiting push looks at the lock again.
const POLL: Duration = Duration::from_millis(100);

/// The lock of one target's push, released when dropped (and every process it was given
/// to has ended).
#[derive(Debug)]
pub struct PushLock {
    file: File,
    info: PathBuf,
    target: String,
}

/// What `push-<target>.json` holds: who runs the push that holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    target: String,
    /// The command's process group (its id is the command's process id).
    process_group: u32,
    #[serde(with = "crate::sync::time")]
    started: Millis,
    timeout_ms: u64,
    /// The sync process that started it.
    sync_pid: u32,
}

impl Holder {
    /// When its timeout runs out.
    fn deadline(&self) -> Millis {
        self.started
            .saturating_add(i64::try_from(self.timeout_ms).unwrap_or(i64::MAX))
    }
}

/// The file names for `target`: its name when that is a plain file name, else a hash.
fn file_stem(target: &str) -> String {
    named("push", target)
}

/// `<kind>-<target>` when the target's name is a plain file name, else
/// `<kind>-<hash of the name>`: a file name of the state directory for `target`.
pub(crate) fn named(kind: &str, target: &str) -> String {
    let plain = !target.is_empty()
        && target.len() <= 64
        && !target.starts_with('.')
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        format!("{kind}-{target}")
    } else {
        let hash = blake3::hash(target.as_bytes()).to_hex();
        format!("{kind}-{}", &hash[..16])
    }
}

/// The lock file and the holder file of `target`'s pushes.
pub fn files(git_dir: &Path, target: &str) -> (PathBuf, PathBuf) {
    let dir = Paths::new(git_dir).dir;
    let stem = file_stem(target);
    (
        dir.join(format!("{stem}.lock")),
        dir.join(format!("{stem}.json")),
    )
}

impl PushLock {
    /// Takes `target`'s lock, waiting while an earlier push (an orphan of a sync process
    /// that died) still holds it. An orphan running past its `timeout` (from
    /// `push-<target>.json`; `timeout` from now when that is missing) has its process
    /// group stopped: SIGTERM, then SIGKILL after the grace period. Fails if a stop is
    /// requested meanwhile, or if the lock is still held after all that.
    pub fn acquire(
        git_dir: &Path,
        target: &str,
        timeout: Duration,
        control: &Control<'_>,
    ) -> Result<PushLock, TargetError> {
        let dir = Paths::new(git_dir).dir;
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let (path, info) = files(git_dir, target);
        // Created by a write handle, then held through a read-only one: that one is
        // the commands' standard input, and they have no business writing to it.
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io("create", &path))?;
        let file = File::open(&path).map_err(io("open", &path))?;
        let mut waiting: Option<Wait> = None;
        // A `--status` probing the lock at this moment holds it for an instant.
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(err)) => return Err(io("lock", &path)(err)),
            }
            let wait = match &mut waiting {
                Some(wait) => wait,
                None => waiting.insert(Wait::begin(target, &path, &info, timeout, control)),
            };
            if let Some(by) = control.stop.requested() {
                return Err(TargetError::Stopped {
                    what: format!("waiting for the previous push of {target}"),
                    by,
                    output: String::new(),
                });
            }
            wait.step(target, &path, control)?;
            std::thread::sleep(POLL);
        }
        if let Some(wait) = waiting {
            (control.say)(&format!(
                "sync: {target}: the previous push of {target} is over (waited {}); pushing",
                time::span(time::millis(wait.since.elapsed()))
            ));
        }
        match std::fs::remove_file(&info) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(io("remove", &info)(err)),
        }
        Ok(PushLock {
            file,
            info,
            target: target.to_owned(),
        })
    }

    /// The lock as a child's standard input: the child holds the lock as long as it (or
    /// anything it starts with that input) runs.
    pub fn stdin(&self) -> std::io::Result<Stdio> {
        Ok(Stdio::from(self.file.try_clone()?))
    }

    /// Notes that `process_group` now runs this push, for a sync that may have to wait
    /// for it after this process dies.
    pub fn spawned(&self, process_group: u32, timeout: Duration) -> Result<(), TargetError> {
        let holder = Holder {
            target: self.target.clone(),
            process_group,
            started: jiff::Timestamp::now().as_millisecond(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            sync_pid: std::process::id(),
        };
        let bytes = serde_json::to_vec_pretty(&holder).map_err(|err| TargetError::Io {
            action: "write",
            path: self.info.clone(),
            source: std::io::Error::other(err),
        })?;
        // Renamed into place whole, but not fsynced: it describes processes, which do
        // not outlive the machine, and every moment spent here is one in which a
        // SIGKILLed sync leaves a command no record names.
        crate::local::write_atomically(&self.info, &bytes, Durability::RenameOnly)
            .map_err(io("write", &self.info))
    }
}

/// A push holding a target's lock, seen from outside (`--status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Running {
    /// The command's process group, when one was started and recorded.
    pub process_group: Option<u32>,
    #[serde(with = "crate::sync::time::option")]
    pub since: Option<Millis>,
    /// The sync process that started it (it may have died since).
    pub sync_pid: Option<u32>,
    /// The lock file.
    pub lock: String,
}

/// The push holding `target`'s lock now, if one does.
pub fn running(git_dir: &Path, target: &str) -> Option<Running> {
    let (path, info) = files(git_dir, target);
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => {}
        Ok(()) | Err(TryLockError::Error(_)) => return None,
    }
    let holder: Option<Holder> = std::fs::read(&info)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Some(Running {
        process_group: holder.as_ref().map(|h| h.process_group),
        since: holder.as_ref().map(|h| h.started),
        sync_pid: holder.as_ref().map(|h| h.sync_pid),
        lock: path.display().to_string(),
    })
}

/// A push waiting for an orphan to let go of the lock.
struct Wait {
    since: Instant,
    holder: Option<Holder>,
    /// When the orphan's timeout runs out.
    deadline: Instant,
    /// When it was sent SIGTERM, and whether SIGKILL followed.
    terminated: Option<Instant>,
    killed: bool,
}

impl Wait {
    fn begin(
        target: &str,
        path: &Path,
        info: &Path,
        timeout: Duration,
        control: &Control<'_>,
    ) -> Wait {
        let now = Instant::now();
        let holder: Option<Holder> = std::fs::read(info)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let deadline = match &holder {
            Some(h) => {
                let left = h
                    .deadline()
                    .saturating_sub(jiff::Timestamp::now().as_millisecond());
                now + Duration::from_millis(u64::try_from(left).unwrap_or(0))
            }
            None => now + timeout,
        };
        let about = match &holder {
            Some(h) => format!(
                "process group {}, started at {} by sync process {}; stopped at its timeout, at {}",
                h.process_group,
                time::human(h.started),
                h.sync_pid,
                time::human(h.deadline())
            ),
            None => format!(
                "no record of its processes in {}; giving up after {}",
                info.display(),
                time::span(time::millis(timeout))
            ),
        };
        (control.say)(&format!(
            "sync: {target}: waiting for the previous push of target {target} to finish ({about}); {} is held",
            path.display()
        ));
        Wait {
            since: now,
            holder,
            deadline,
            terminated: None,
            killed: false,
        }
    }

    /// Stops the orphan once its timeout has run out; fails once there is nothing more
    /// to do but give up.
    fn step(
        &mut self,
        target: &str,
        path: &Path,
        control: &Control<'_>,
    ) -> Result<(), TargetError> {
        let now = Instant::now();
        if now < self.deadline {
            return Ok(());
        }
        let Some(holder) = &self.holder else {
            return Err(TargetError::Held {
                target: target.to_owned(),
                path: path.to_path_buf(),
                reason: format!(
                    "for {} and nothing records which processes",
                    time::span(time::millis(now - self.since))
                ),
            });
        };
        // The group's id cannot be another's while the group has a member; were it
        // empty, with the lock kept by a process outside it, the id could only have been
        // reused if process ids wrapped around within the timeout.
        let group = holder.process_group;
        match self.terminated {
            None => {
                (control.say)(&format!(
                    "sync: {target}: the previous push (process group {group}) ran past its timeout of {}: sending it SIGTERM",
                    time::span(i64::try_from(holder.timeout_ms).unwrap_or(i64::MAX))
                ));
                signal_group(group, rustix::process::Signal::TERM);
                self.terminated = Some(now);
            }
            Some(at) if !self.killed && now >= at + control.grace => {
                (control.say)(&format!(
                    "sync: {target}: the previous push (process group {group}) is still running {} after SIGTERM: sending it SIGKILL",
                    time::span(time::millis(control.grace))
                ));
                signal_group(group, rustix::process::Signal::KILL);
                self.killed = true;
            }
            Some(at) if self.killed && now >= at + control.grace + AFTER_KILL => {
                return Err(TargetError::Held {
                    target: target.to_owned(),
                    path: path.to_path_buf(),
                    reason: format!(
                        "after its process group {group} was killed at its timeout: a process it started in another group keeps the file open as its standard input (start such a process with `</dev/null`)"
                    ),
                });
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// Sends `signal` to process group `group`; a group that is gone is not an error.
pub fn signal_group(group: u32, signal: rustix::process::Signal) {
    let Some(pid) = i32::try_from(group)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    let _ = rustix::process::kill_process_group(pid, signal);
}

/// Whether process group `group` still has a running process in it. A process that has
/// exited but not been reaped yet (a zombie) still counts for `kill(2)`, and in a
/// container whose first process does not reap orphans it stays one for good, so where
/// `/proc` can be read the group's members are looked at there.
pub fn group_alive(group: u32) -> bool {
    let exists = i32::try_from(group)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|pid| rustix::process::test_kill_process_group(pid).is_ok());
    if !exists {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    let group = group.to_string();
    entries.flatten().any(|entry| {
        let is_process = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
        if !is_process {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (name) state ppid pgrp ...`; the name may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1);
        pgrp == Some(group.as_str()) && !matches!(state, Some("Z" | "X"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::stop::Stop;
    use std::sync::Mutex;

    #[test]
    fn file_names_are_plain_or_hashed() {
        assert_eq!(file_stem("production"), "push-production");
        assert_eq!(file_stem("a.b_c-1"), "push-a.b_c-1");
        for odd in ["../x", "a/b", ".hidden", "", "é", &"x".repeat(65)] {
            let stem = file_stem(odd);
            assert_eq!(stem.len(), "push-".len() + 16, "{odd}");
            assert!(!stem.contains('/'));
        }
    }

    #[test]
    fn a_second_push_waits_and_a_stop_ends_the_wait() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let stop = Stop::new();
        let said = Mutex::new(Vec::new());
        let say = |line: &str| {
            said.lock()
                .map(|mut s| s.push(line.to_owned()))
                .unwrap_or(())
        };
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_millis(200),
        };
        let first = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        let started = Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(400));
                stop.request("SIGTERM");
            });
            let second = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control);
            assert!(
                matches!(second, Err(TargetError::Stopped { .. })),
                "{second:?}"
            );
        });
        assert!(started.elapsed() >= Duration::from_millis(400));
        let lines = said.lock().map(|s| s.join("\n")).unwrap_or_default();
        assert!(
            lines.contains("waiting for the previous push of target mirror to finish"),
            "{lines}"
        );
        // Once the first push is over, the lock is free at once.
        drop(first);
        let fresh = Stop::new();
        let control = Control {
            stop: &fresh,
            ..control
        };
        PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        Ok(())
    }

    #[test]
    fn a_lock_held_by_unknown_processes_is_given_up_at_the_timeout()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let stop = Stop::new();
        let say = |_: &str| {};
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_millis(200),
        };
        let _first = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        let second = PushLock::acquire(dir.path(), "mirror", Duration::from_millis(300), &control);
        match second {
            Err(err @ TargetError::Held { .. }) => {
                let message = err.to_string();
                assert!(message.contains("push-mirror.lock"), "{message}");
                assert!(message.contains("fuser"), "{message}");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        Ok(())
    }

    /// An orphan that ignores SIGTERM past its timeout is killed, and the lock is free.
    #[test]
    fn an_orphan_past_its_timeout_is_stopped_then_killed() -> Result<(), Box<dyn std::error::Error>>
    {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir()?;
        let stop = Stop::new();
        let said = Mutex::new(Vec::new());
        let say = |line: &str| {
            said.lock()
                .map(|mut s| s.push(line.to_owned()))
                .unwrap_or(())
        };
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_millis(200),
        };
        let first = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        // What a sync SIGKILLed during a push leaves: its command, holding the lock.
        let mut orphan = std::process::Command::new("sh")
            .args(["-c", "trap '' TERM; sleep 30"])
            .stdin(first.stdin()?)
            .process_group(0)
            .spawn()?;
        first.spawned(orphan.id(), Duration::ZERO)?;
        drop(first);
        let started = Instant::now();
        let second = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control);
        let _ = orphan.kill();
        let _ = orphan.wait();
        second?;
        assert!(started.elapsed() < Duration::from_secs(5));
        let lines = said.lock().map(|s| s.join("\n")).unwrap_or_default();
        for expected in [
            format!("process group {}", orphan.id()),
            "ran past its timeout of 0 ms: sending it SIGTERM".to_owned(),
            "sending it SIGKILL".to_owned(),
            "the previous push of mirror is over".to_owned(),
        ] {
            assert!(lines.contains(&expected), "{expected}\n{lines}");
        }
        Ok(())
    }

    /// A process the orphan started in another session keeps the lock after its group
    /// is killed: the push fails (to be retried) and says how to find it.
    #[test]
    fn a_lock_kept_outside_the_orphans_group_fails_the_push()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir()?;
        let escaped = dir.path().join("escaped.pid");
        let stop = Stop::new();
        let say = |_: &str| {};
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_millis(200),
        };
        let first = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        let mut orphan = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "setsid -f sh -c 'echo $$ > {}; exec sleep 30'; trap '' TERM; sleep 30",
                escaped.display()
            ))
            .stdin(first.stdin()?)
            .process_group(0)
            .spawn()?;
        first.spawned(orphan.id(), Duration::ZERO)?;
        drop(first);
        let started = Instant::now();
        while std::fs::read_to_string(&escaped).map_or(true, |s| !s.ends_with('\n'))
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let second = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control);
        let _ = orphan.wait();
        let pid: i32 = std::fs::read_to_string(&escaped)?.trim().parse()?;
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        match second {
            Err(err @ TargetError::Held { .. }) => {
                let message = err.to_string();
                assert!(message.contains("in another group"), "{message}");
                assert!(message.contains("fuser -v"), "{message}");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        Ok(())
    }
}
