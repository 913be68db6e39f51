//! Running a [`Schedule`]: the `ssh` processes, their output streamed line by line with
//! the host and service in front, the step timeout, and stopping on Ctrl-C or SIGTERM.
//!
//! Each `ssh` runs in its own process group, so a terminal's Ctrl-C reaches glassroom
//! alone; glassroom then starts nothing new and forwards the signal (SIGINT or SIGTERM)
//! to every running `ssh`, waits up to [`GRACE`] for them (a second signal: not at all)
//! and kills what is left. A job past its timeout is killed (SIGKILL) and counts as
//! failed. Killing the local `ssh` closes the session; whether the remote command stops
//! too is up to it (without a terminal, sshd does not signal it): see docs/run.md.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::{Ended, Job, Ran, Schedule};
use crate::sync::stop::Stop;

/// How long a job has, after a forwarded stop signal, before it is killed.
pub const GRACE: Duration = Duration::from_secs(10);
/// How often a running job is looked at (exit, timeout, stop).
const POLL: Duration = Duration::from_millis(20);

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jobs of one wave run at once, at most (1: one after the other).
    pub parallel: usize,
    /// Go on with the next waves after a failure.
    pub keep_going: bool,
    /// How long one job may take.
    pub timeout: Duration,
}

/// Where the run's lines go, and what time it is.
pub struct Io<'a> {
    /// A line of a job's output, or a line about a job; called from several threads.
    pub say: &'a (dyn Fn(&str) + Sync),
    pub clock: &'a (dyn Fn() -> Instant + Sync),
}

/// Every job of a run, in the schedule's order, and what stopped it, if anything did.
#[derive(Debug, Clone)]
pub struct Finished {
    pub ran: Vec<Ran>,
    pub stopped_by: Option<&'static str>,
}

/// Runs `schedule` wave by wave.
pub fn execute(schedule: &Schedule, options: &Options, stop: &Stop, io: &Io<'_>) -> Finished {
    let mut ran = Vec::new();
    let mut failed = false;
    for wave in &schedule.waves {
        if stop.requested().is_some() || (failed && !options.keep_going) {
            ran.extend(
                wave.jobs
                    .iter()
                    .map(|job| Ran::of(job, Ended::Skipped, Duration::ZERO)),
            );
            continue;
        }
        let results: Vec<Mutex<Option<Ran>>> = wave.jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let wave_failed = AtomicBool::new(false);
        let workers = options.parallel.clamp(1, wave.jobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let halt = wave_failed.load(Ordering::SeqCst) && !options.keep_going;
                        if halt || stop.requested().is_some() {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(job) = wave.jobs.get(i) else {
                            break;
                        };
                        let done = run_job(job, options.timeout, stop, io);
                        if done.ended.failed() {
                            wave_failed.store(true, Ordering::SeqCst);
                        }
                        if let Some(slot) = results.get(i) {
                            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(done);
                        }
                    }
                });
            }
        });
        failed |= wave_failed.load(Ordering::SeqCst);
        for (job, slot) in wave.jobs.iter().zip(results) {
            let done = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            ran.push(done.unwrap_or_else(|| Ran::of(job, Ended::Skipped, Duration::ZERO)));
        }
    }
    Finished {
        ran,
        stopped_by: stop.requested(),
    }
}

/// Runs one job to its end, its output said line by line.
fn run_job(job: &Job, timeout: Duration, stop: &Stop, io: &Io<'_>) -> Ran {
    use std::os::unix::process::CommandExt;
    let prefix = format!("{} {}", job.host, job.service);
    (io.say)(&format!(
        "{prefix} | step {}: {} on {}: {}",
        job.step, job.action, job.destination, job.command
    ));
    let started = (io.clock)();
    let Some((program, args)) = job.argv.split_first() else {
        return Ran::of(job, not_started("an empty command line"), Duration::ZERO);
    };
    let spawned = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            let reason = format!("cannot start `{program}`: {err}");
            (io.say)(&format!("{prefix} | {reason}"));
            return Ran::of(job, not_started(&reason), (io.clock)() - started);
        }
    };
    let group = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let ended = std::thread::scope(|scope| {
        if let Some(out) = stdout {
            scope.spawn(|| stream(out, &prefix, io));
        }
        if let Some(err) = stderr {
            scope.spawn(|| stream(err, &prefix, io));
        }
        supervise(&mut child, group, started, timeout, stop, io)
    });
    let duration = (io.clock)() - started;
    (io.say)(&format!(
        "{prefix} | step {} ended: {} after {:.2} s",
        job.step,
        match &ended {
            Ended::Succeeded => "exit status 0".to_owned(),
            other => other.label(),
        },
        duration.as_secs_f64()
    ));
    Ran::of(job, ended, duration)
}

fn not_started(reason: &str) -> Ended {
    Ended::NotStarted {
        reason: reason.to_owned(),
    }
}

/// Waits for the child: its exit, its timeout, or a stop to forward.
fn supervise(
    child: &mut std::process::Child,
    group: u32,
    started: Instant,
    timeout: Duration,
    stop: &Stop,
    io: &Io<'_>,
) -> Ended {
    let mut forwarded: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return ended(status, forwarded.is_some()),
            Ok(None) => {}
            Err(err) => {
                kill(child, group);
                return not_started(&format!("cannot wait for ssh: {err}"));
            }
        }
        let now = (io.clock)();
        if now.duration_since(started) >= timeout {
            kill(child, group);
            return Ended::TimedOut;
        }
        match (stop.requested(), forwarded) {
            (Some(by), None) => {
                let signal = match by {
                    "SIGTERM" => Signal::TERM,
                    _ => Signal::INT,
                };
                signal_group(group, signal);
                forwarded = Some(now);
            }
            (Some(_), Some(at)) if stop.urgent() || now.duration_since(at) >= GRACE => {
                kill(child, group);
                return Ended::Stopped;
            }
            _ => {}
        }
        std::thread::sleep(POLL);
    }
}

fn ended(status: ExitStatus, stopped: bool) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ended::Succeeded,
        _ if stopped => Ended::Stopped,
        (Some(code), _) => Ended::Failed { code },
        (None, Some(signal)) => Ended::Killed { signal },
        (None, None) => Ended::Failed { code: -1 },
    }
}

fn kill(child: &mut std::process::Child, group: u32) {
    signal_group(group, Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

fn signal_group(group: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(group)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Says every line read from `from`, prefixed (invalid UTF-8 replaced).
fn stream(from: impl Read, prefix: &str, io: &Io<'_>) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                (io.say)(&format!("{prefix} | {}", crate::diag::printable(text)));
            }
        }
    }
}
