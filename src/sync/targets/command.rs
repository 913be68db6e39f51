//! A command target: a user script run through `sh -c` with the built site and the
//! commits in its environment (like DryDock's SyncKit), in a checkout of the approved
//! tree, with a timeout. Its exit status decides; its output is kept for the error.

use std::io::{Read, Seek};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::lock::{PushLock, group_alive, signal_group};
use super::{Control, Release, TargetError, io};
use crate::sync::time;

/// How much of a command's output is kept (its end).
const KEEP_OUTPUT: usize = 2_000;
/// How long a killed process group may take to disappear before it is given up on.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// How a command ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited (or something else killed it).
    Exited(ExitStatus),
    /// It ran past its timeout and was killed with everything it started.
    TimedOut,
    /// A stop was requested (the name of the signal): its process group was sent
    /// SIGTERM, and SIGKILL if it had not ended after the grace period.
    Stopped(&'static str),
}

/// A command that ran to its end, or was stopped.
#[derive(Debug)]
pub struct Finished {
    pub ended: Ended,
    /// The end of stdout and stderr, interleaved as written.
    pub output: String,
}

/// Runs `command` (its stdout and stderr captured together) in its own process group,
/// so that Ctrl-C in a terminal reaches the sync alone, which then stops the command
/// itself. With `lock`, the command's standard input is the push lock (see
/// [`super::lock`]): it holds it until it ends, even if this process dies first.
///
/// After `timeout`, the group is killed (SIGKILL). When `control.stop` is requested, the
/// group is sent SIGTERM, then SIGKILL after `control.grace` (at once on a second
/// request); either way this waits until the group is gone. `what` names the command in
/// the lines said about it.
pub fn run_supervised(
    command: &mut Command,
    what: &str,
    timeout: Duration,
    lock: Option<&PushLock>,
    control: &Control<'_>,
) -> std::io::Result<Finished> {
    use std::os::unix::process::CommandExt;
    let mut capture = tempfile::tempfile()?;
    let stdin = match lock {
        Some(lock) => lock.stdin()?,
        None => Stdio::null(),
    };
    command
        .stdin(stdin)
        .stdout(capture.try_clone()?)
        .stderr(capture.try_clone()?)
        .process_group(0);
    let mut child = command.spawn()?;
    // The group's id is the leader's: the child's, since it made the group.
    let group = child.id();
    if let Some(lock) = lock
        && let Err(err) = lock.spawned(group, timeout)
    {
        (control.say)(&format!(
            "sync: warning: {what}: {err}; if this process dies before the command ends, a restarted sync cannot stop it at its timeout"
        ));
    }
    let started = Instant::now();
    let ended = loop {
        if let Some(status) = child.try_wait()? {
            break Ended::Exited(status);
        }
        if let Some(by) = control.stop.requested() {
            stop_group(&mut child, group, what, by, control)?;
            break Ended::Stopped(by);
        }
        if started.elapsed() >= timeout {
            // The whole group: `sh -c` and whatever it started.
            signal_group(group, Signal::KILL);
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut bytes = Vec::new();
    capture.rewind()?;
    capture.read_to_end(&mut bytes)?;
    let start = bytes.len().saturating_sub(KEEP_OUTPUT);
    let mut output = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if start > 0 {
        output.insert(0, '…');
    }
    Ok(Finished { ended, output })
}

/// Stops a running command's process group: SIGTERM, then SIGKILL after the grace
/// period (or at once when the stop is urgent); returns when the group is gone.
fn stop_group(
    child: &mut std::process::Child,
    group: u32,
    what: &str,
    by: &str,
    control: &Control<'_>,
) -> std::io::Result<()> {
    (control.say)(&format!(
        "sync: {what}: {by}: stopping the command (process group {group}): SIGTERM now, SIGKILL in {}",
        time::span(time::millis(control.grace))
    ));
    signal_group(group, Signal::TERM);
    let asked = Instant::now();
    let mut killed: Option<Instant> = None;
    loop {
        // Reaping the leader first: a zombie leader still counts as a member.
        if let Some(status) = child.try_wait()?
            && !group_alive(group)
        {
            (control.say)(&format!(
                "sync: {what}: the command stopped {} after SIGTERM: {}{}",
                time::span(time::millis(asked.elapsed())),
                describe(status),
                if killed.is_some() { " (SIGKILL)" } else { "" }
            ));
            return Ok(());
        }
        match killed {
            None if asked.elapsed() >= control.grace || control.stop.urgent() => {
                (control.say)(&format!(
                    "sync: {what}: the command is still running {}after SIGTERM: SIGKILL",
                    if control.stop.urgent() {
                        String::from("(asked twice to stop) ")
                    } else {
                        format!("{} ", time::span(time::millis(control.grace)))
                    }
                ));
                signal_group(group, Signal::KILL);
                killed = Some(Instant::now());
            }
            Some(at) if at.elapsed() >= AFTER_KILL => {
                (control.say)(&format!(
                    "sync: warning: {what}: process group {group} is still there {} after SIGKILL",
                    time::span(time::millis(AFTER_KILL))
                ));
                let _ = child.kill();
                let _ = child.wait();
                return Ok(());
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `exit status 143`, `killed by signal 15`.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}

/// Runs a command target, holding `lock` (given to the command as its standard input).
#[allow(clippy::too_many_arguments)]
pub fn run(
    command: &str,
    timeout: Duration,
    site: &Path,
    cwd: &Path,
    target: &str,
    release: &Release<'_>,
    lock: &PushLock,
    control: &Control<'_>,
) -> Result<String, TargetError> {
    let mut process = Command::new("sh");
    process
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env("GLASSROOM_SITE_DIR", site)
        .env("GLASSROOM_COMMIT", release.commit)
        .env("GLASSROOM_PREVIOUS_COMMIT", release.previous.unwrap_or(""))
        .env("GLASSROOM_TARGET", target);
    let finished = run_supervised(&mut process, target, timeout, Some(lock), control)
        .map_err(io("run", Path::new("sh")))?;
    let output = succeeded(finished, command, timeout)?;
    let last = output.lines().last().unwrap_or("").trim().to_owned();
    Ok(if last.is_empty() {
        "exit 0".to_owned()
    } else {
        format!("exit 0: {last}")
    })
}

/// The output of a command that exited with status 0; the error saying how it ended
/// otherwise.
pub(crate) fn succeeded(
    finished: Finished,
    command: &str,
    timeout: Duration,
) -> Result<String, TargetError> {
    let failed = |reason: String, output: String| TargetError::Command {
        command: command.to_owned(),
        reason,
        output,
    };
    match finished.ended {
        Ended::Exited(status) if status.success() => Ok(finished.output),
        Ended::Exited(status) => Err(failed(
            match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_owned(),
            },
            finished.output,
        )),
        Ended::TimedOut => Err(failed(
            format!(
                "did not finish within {} s and was stopped",
                timeout.as_secs_f32()
            ),
            finished.output,
        )),
        Ended::Stopped(by) => Err(TargetError::Stopped {
            what: format!("`{command}`"),
            by,
            output: finished.output,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::stop::Stop;

    fn quietly<T>(grace: Duration, run: impl FnOnce(&Control<'_>) -> T) -> T {
        let stop = Stop::new();
        let say = |_: &str| {};
        run(&Control {
            stop: &stop,
            say: &say,
            grace,
        })
    }

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn output_and_status_are_captured() -> std::io::Result<()> {
        let finished = quietly(Duration::from_secs(1), |control| {
            run_supervised(
                &mut sh("echo out; echo err >&2; exit 3"),
                "test",
                Duration::from_secs(10),
                None,
                control,
            )
        })?;
        assert!(
            matches!(finished.ended, Ended::Exited(s) if s.code() == Some(3)),
            "{finished:?}"
        );
        assert!(finished.output.contains("out") && finished.output.contains("err"));
        Ok(())
    }

    #[test]
    fn a_command_that_hangs_is_stopped_with_its_children() -> std::io::Result<()> {
        let started = Instant::now();
        let finished = quietly(Duration::from_secs(1), |control| {
            run_supervised(
                &mut sh("echo started; sleep 30; echo never"),
                "test",
                Duration::from_millis(300),
                None,
                control,
            )
        })?;
        assert!(matches!(finished.ended, Ended::TimedOut), "{finished:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(finished.output.contains("started"));
        assert!(!finished.output.contains("never"));
        Ok(())
    }

    /// A stop: SIGTERM to the whole group (the trap runs), then SIGKILL after the grace
    /// period for a group that ignores it; each time the group is gone on return.
    #[test]
    fn a_stop_sends_sigterm_then_sigkill_to_the_group() -> std::io::Result<()> {
        for (script, grace, killed) in [
            (
                "trap 'echo term; exit 143' TERM; echo started; sleep 30 & echo $$ > \"$0\"; wait $!",
                Duration::from_secs(10),
                false,
            ),
            (
                "trap '' TERM; echo started; sleep 30 & echo $$ > \"$0\"; wait $!",
                Duration::from_millis(300),
                true,
            ),
        ] {
            let dir = tempfile::tempdir()?;
            let pid_file = dir.path().join("group");
            let stop = Stop::new();
            let said = std::sync::Mutex::new(Vec::new());
            let say = |line: &str| {
                said.lock()
                    .map(|mut s| s.push(line.to_owned()))
                    .unwrap_or(())
            };
            let control = Control {
                stop: &stop,
                say: &say,
                grace,
            };
            let started = Instant::now();
            let finished = std::thread::scope(|scope| {
                scope.spawn(|| {
                    while !pid_file.exists() && started.elapsed() < Duration::from_secs(20) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    stop.request("SIGTERM");
                });
                run_supervised(
                    sh(script).arg(&pid_file),
                    "test",
                    Duration::from_secs(60),
                    None,
                    &control,
                )
            })?;
            assert!(
                matches!(finished.ended, Ended::Stopped("SIGTERM")),
                "{finished:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(20), "{script}");
            assert_eq!(
                finished.output.contains("term"),
                !killed,
                "{}",
                finished.output
            );
            // `sh -c` leads the group; its `sleep` (which got the signals too) is in it.
            let group: u32 = std::fs::read_to_string(&pid_file)?
                .trim()
                .parse()
                .unwrap_or(0);
            assert!(
                group > 0 && !group_alive(group),
                "the command's group {group} outlived the stop"
            );
            let said = said.lock().map(|s| s.join("\n")).unwrap_or_default();
            assert!(said.contains("SIGTERM now"), "{said}");
            assert_eq!(said.contains("after SIGTERM: SIGKILL"), killed, "{said}");
        }
        Ok(())
    }

    /// A second stop request (Ctrl-C twice) kills a group that ignores SIGTERM at once.
    #[test]
    fn a_second_stop_kills_at_once() -> std::io::Result<()> {
        let stop = Stop::new();
        let say = |_: &str| {};
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_secs(60),
        };
        let started = Instant::now();
        let finished = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                stop.request("SIGINT (Ctrl-C)");
                std::thread::sleep(Duration::from_millis(300));
                stop.request("SIGINT (Ctrl-C)");
            });
            run_supervised(
                &mut sh("trap '' TERM; sleep 30"),
                "test",
                Duration::from_secs(60),
                None,
                &control,
            )
        })?;
        assert!(matches!(finished.ended, Ended::Stopped(_)), "{finished:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        Ok(())
    }

    /// What a command starts in the background (`cmd &`) gets /dev/null as its standard
    /// input from `sh`, so it does not hold the push lock once the command is over.
    #[test]
    fn a_background_process_does_not_hold_the_lock() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let stop = Stop::new();
        let say = |_: &str| {};
        let control = Control {
            stop: &stop,
            say: &say,
            grace: Duration::from_secs(1),
        };
        let lock = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control)?;
        let finished = run_supervised(
            &mut sh("sleep 30 & echo $!"),
            "test",
            Duration::from_secs(60),
            Some(&lock),
            &control,
        )?;
        drop(lock);
        let started = Instant::now();
        let again = PushLock::acquire(dir.path(), "mirror", Duration::from_secs(60), &control);
        let background: i32 = finished.output.trim().parse().unwrap_or(0);
        if let Some(pid) = rustix::process::Pid::from_raw(background) {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
        again?;
        assert!(started.elapsed() < Duration::from_secs(1));
        Ok(())
    }
}
