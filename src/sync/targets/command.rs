//! A command target: a user script run through `sh -c` with the built site and the
//! commits in its environment (like DryDock's SyncKit), in a checkout of the approved
//! tree, with a timeout. Its exit status decides; its output is kept for the error.

use std::io::{Read, Seek};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Release, TargetError, io};

/// How much of a command's output is kept (its end).
const KEEP_OUTPUT: usize = 2_000;

/// A command that ran to its end (or was stopped at the timeout).
#[derive(Debug)]
pub struct Finished {
    /// `None` when it was stopped at the timeout.
    pub status: Option<ExitStatus>,
    /// The end of stdout and stderr, interleaved as written.
    pub output: String,
}

/// Runs `command` (its stdout and stderr captured together), stopping it and everything
/// it started (its process group) after `timeout`.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> std::io::Result<Finished> {
    use std::os::unix::process::CommandExt;
    let mut capture = tempfile::tempfile()?;
    command
        .stdin(Stdio::null())
        .stdout(capture.try_clone()?)
        .stderr(capture.try_clone()?)
        .process_group(0);
    let mut child = command.spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            // The whole group: `sh -c` and whatever it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
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
    Ok(Finished { status, output })
}

/// Runs a command target.
pub fn run(
    command: &str,
    timeout: Duration,
    site: &Path,
    cwd: &Path,
    target: &str,
    release: &Release<'_>,
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
    let finished = run_with_timeout(&mut process, timeout).map_err(io("run", Path::new("sh")))?;
    match finished.status {
        Some(status) if status.success() => {
            let last = finished
                .output
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_owned();
            Ok(if last.is_empty() {
                "exit 0".to_owned()
            } else {
                format!("exit 0: {last}")
            })
        }
        Some(status) => Err(TargetError::Command {
            command: command.to_owned(),
            reason: match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_owned(),
            },
            output: finished.output,
        }),
        None => Err(TargetError::Command {
            command: command.to_owned(),
            reason: format!(
                "did not finish within {} s and was stopped",
                timeout.as_secs_f32()
            ),
            output: finished.output,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_are_captured() -> std::io::Result<()> {
        let finished = run_with_timeout(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )?;
        assert_eq!(finished.status.and_then(|s| s.code()), Some(3));
        assert!(finished.output.contains("out") && finished.output.contains("err"));
        Ok(())
    }

    #[test]
    fn a_command_that_hangs_is_stopped_with_its_children() -> std::io::Result<()> {
        let started = Instant::now();
        let finished = run_with_timeout(
            Command::new("sh").args(["-c", "echo started; sleep 30; echo never"]),
            Duration::from_millis(300),
        )?;
        assert!(finished.status.is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(finished.output.contains("started"));
        assert!(!finished.output.contains("never"));
        Ok(())
    }
}
