//! Carrying out a site's plan over SSH (ControlTier's dispatcher): `glassroom run`.
//!
//! The plan is the one `glassroom plan` prints ([`crate::derive::plans::plan`]), never
//! another ordering: each step becomes one job per host of its service, and consecutive
//! steps of one action, startup rank and tier form a *wave* whose jobs do not depend on
//! each other, so they may run at once (up to `--parallel N`). A wave starts only when
//! the previous one succeeded everywhere (or, with `--keep-going`, ended).
//!
//! This module is pure: the schedule, the `ssh` command lines, the summary, the exit
//! status and the logbook entry's text. Running the jobs is [`exec`]'s.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::content::Content;
use crate::content::ssh::Destination;
use crate::derive::plans::{Action, Operation, Plan};

pub mod exec;
mod report;

pub use report::{entry_note, summary_table};

/// One command on one host: a step of the plan, on one of its service's hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The plan's step number.
    pub step: usize,
    pub tier: Option<String>,
    pub service: String,
    pub action: Action,
    /// The host's id.
    pub host: String,
    /// Where ssh connects to (`[user@]host[:port]`).
    pub destination: String,
    pub command: String,
    /// The whole `ssh` command line, program first.
    pub argv: Vec<String>,
}

/// Jobs that may run at once: one action on the services of one startup rank (and tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    pub tier: Option<String>,
    pub action: Action,
    pub startup_rank: i64,
    pub jobs: Vec<Job>,
}

/// What `glassroom run` does, in order: what `--dry-run --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub schema: u32,
    pub site: String,
    pub operation: Operation,
    pub waves: Vec<Wave>,
}

/// The version of [`Schedule`]'s JSON form (docs/run.schema.json).
pub const SCHEMA: u32 = 1;

/// Why a plan cannot be run; each is said to the operator, all of them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unrunnable {
    #[error(
        "site `{site}` is not runnable: add `runnable: true` to sites/{site}.yaml (then `glassroom check` makes sure every service has every command)"
    )]
    NotRunnable { site: String },
    #[error("step {step}: service `{service}` has no command to {action}")]
    MissingCommand {
        step: usize,
        service: String,
        action: Action,
    },
    #[error("step {step}: host `{host}` of service `{service}` does not exist")]
    UnknownHost {
        step: usize,
        service: String,
        host: String,
    },
    #[error("host `{host}`: {reason}")]
    Destination { host: String, reason: String },
    #[error("--only {service}: the site has no such service (services: {known})")]
    UnknownService { service: String, known: String },
}

/// How the `ssh` client is called.
#[derive(Debug, Clone, Default)]
pub struct Ssh<'a> {
    /// `-F FILE`.
    pub config: Option<&'a Path>,
}

/// The plan as jobs in waves. `only` (service ids) keeps those services' steps alone,
/// in the plan's order; empty keeps everything.
pub fn schedule(
    plan: &Plan,
    content: &Content,
    only: &[String],
    ssh: &Ssh<'_>,
) -> Result<Schedule, Vec<Unrunnable>> {
    let mut problems = Vec::new();
    let runnable = content
        .sites
        .iter()
        .any(|s| s.id == plan.site && *s.data.runnable.get());
    if !runnable {
        problems.push(Unrunnable::NotRunnable {
            site: plan.site.clone(),
        });
    }
    let mut known: Vec<&str> = plan.steps.iter().map(|s| s.service.as_str()).collect();
    known.sort_unstable();
    known.dedup();
    for service in only {
        if !known.contains(&service.as_str()) {
            problems.push(Unrunnable::UnknownService {
                service: service.clone(),
                known: known.join(", "),
            });
        }
    }
    let mut waves: Vec<Wave> = Vec::new();
    for step in &plan.steps {
        if !only.is_empty() && !only.contains(&step.service) {
            continue;
        }
        let command = match step.command.as_deref().map(str::trim) {
            Some(command) if !command.is_empty() => command.to_owned(),
            _ => {
                problems.push(Unrunnable::MissingCommand {
                    step: step.number,
                    service: step.service.clone(),
                    action: step.action,
                });
                continue;
            }
        };
        let key = (step.tier.as_deref(), step.action, step.startup_rank);
        let same = waves
            .last()
            .is_some_and(|w| (w.tier.as_deref(), w.action, w.startup_rank) == key);
        if !same {
            waves.push(Wave {
                tier: step.tier.clone(),
                action: step.action,
                startup_rank: step.startup_rank,
                jobs: Vec::new(),
            });
        }
        for host in &step.hosts {
            let Some(doc) = content.hosts.iter().find(|h| &h.id == host) else {
                problems.push(Unrunnable::UnknownHost {
                    step: step.number,
                    service: step.service.clone(),
                    host: host.clone(),
                });
                continue;
            };
            let destination = match doc.data.destination(&doc.id) {
                Ok(destination) => destination,
                Err(invalid) => {
                    let problem = Unrunnable::Destination {
                        host: host.clone(),
                        reason: invalid.to_string(),
                    };
                    if !problems.contains(&problem) {
                        problems.push(problem);
                    }
                    continue;
                }
            };
            let argv = ssh_argv(ssh, &destination, &command);
            if let Some(wave) = waves.last_mut() {
                wave.jobs.push(Job {
                    step: step.number,
                    tier: step.tier.clone(),
                    service: step.service.clone(),
                    action: step.action,
                    host: host.clone(),
                    destination: destination.to_string(),
                    command: command.clone(),
                    argv: argv
                        .iter()
                        .map(|a| a.to_string_lossy().into_owned())
                        .collect(),
                });
            }
        }
    }
    match problems.is_empty() {
        true => Ok(Schedule {
            schema: SCHEMA,
            site: plan.site.clone(),
            operation: plan.operation,
            waves,
        }),
        false => Err(problems),
    }
}

/// `ssh [-F FILE] -o BatchMode=yes -T [-p PORT] [-l USER] -- HOST COMMAND`: batch mode
/// (never a password or passphrase prompt), no terminal, the port and user given as
/// options rather than inside the destination, `--` before the (validated) host, and the
/// command as one argument, which the remote user's shell runs.
pub fn ssh_argv(ssh: &Ssh<'_>, destination: &Destination, command: &str) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["ssh".into()];
    if let Some(config) = ssh.config {
        argv.push("-F".into());
        argv.push(config.as_os_str().to_owned());
    }
    argv.extend(["-o", "BatchMode=yes", "-T"].map(OsString::from));
    if let Some(port) = destination.port {
        argv.push("-p".into());
        argv.push(port.to_string().into());
    }
    if let Some(user) = &destination.user {
        argv.push("-l".into());
        argv.push(user.into());
    }
    argv.push("--".into());
    argv.push((&destination.host).into());
    argv.push(command.into());
    argv
}

/// `argv` as a line a POSIX shell reads back as the same words.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%^".contains(c));
    match plain {
        true => word.to_owned(),
        false => format!("'{}'", word.replace('\'', "'\\''")),
    }
}

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Ended {
    /// Exit status 0.
    Succeeded,
    /// Another exit status (255: ssh itself failed, e.g. could not connect).
    Failed { code: i32 },
    /// Killed by a signal it did not ask for.
    Killed { signal: i32 },
    /// Still running at the step timeout: killed.
    TimedOut,
    /// Stopped by Ctrl-C or SIGTERM (forwarded to it).
    Stopped,
    /// `ssh` could not be started at all.
    NotStarted { reason: String },
    /// Never started: an earlier failure or a stop ended the run first.
    Skipped,
}

impl Ended {
    pub fn succeeded(&self) -> bool {
        matches!(self, Ended::Succeeded)
    }

    /// It ran, or tried to, and did not succeed.
    pub fn failed(&self) -> bool {
        !matches!(self, Ended::Succeeded | Ended::Skipped)
    }

    /// For the summary: `0`, `exit 3`, `timed out`...
    pub fn label(&self) -> String {
        match self {
            Ended::Succeeded => "0".to_owned(),
            Ended::Failed { code } => format!("exit {code}"),
            Ended::Killed { signal } => format!("signal {signal}"),
            Ended::TimedOut => "timed out".to_owned(),
            Ended::Stopped => "stopped".to_owned(),
            Ended::NotStarted { .. } => "not started".to_owned(),
            Ended::Skipped => "not run".to_owned(),
        }
    }
}

/// A job and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ran {
    pub step: usize,
    pub service: String,
    pub action: Action,
    pub host: String,
    #[serde(flatten)]
    pub ended: Ended,
    /// Wall-clock time, in milliseconds (0 for a job not run).
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

impl Ran {
    pub fn of(job: &Job, ended: Ended, duration: Duration) -> Ran {
        Ran {
            step: job.step,
            service: job.service.clone(),
            action: job.action,
            host: job.host.clone(),
            ended,
            duration,
        }
    }
}

/// How a run went, as a whole: the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every job succeeded (exit 0).
    Succeeded,
    /// A job failed, timed out or was stopped, or jobs were left out (exit 1).
    Failed,
}

impl Verdict {
    pub fn of(outcomes: &[Ran]) -> Verdict {
        match outcomes.iter().all(|o| o.ended.succeeded()) {
            true => Verdict::Succeeded,
            false => Verdict::Failed,
        }
    }
}

#[cfg(test)]
mod tests;
