//! One push, on a thread of its own: read the approved head, build it, publish it to each
//! target behind it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::schedule::{Clock, Millis};
use super::state::{Seen, TargetResult};
use super::stop::{self, Stop};
use super::targets::{self, Control, Target, TargetError};
use super::{Say, first_line, snapshot, time};
use crate::values::short_id;

/// The work of one push, carried to the thread that does it.
pub(super) struct Job {
    pub(super) repo: PathBuf,
    pub(super) git_dir: PathBuf,
    pub(super) trust_root: Option<String>,
    pub(super) forced: bool,
    pub(super) published: BTreeMap<String, Option<Seen>>,
    pub(super) open_problem: Option<String>,
    pub(super) committer: String,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) say: Say,
    pub(super) stop: Stop,
}

/// What a push did.
pub(super) struct PushOutcome {
    pub(super) started: Millis,
    pub(super) finished: Millis,
    pub(super) commit: Option<String>,
    pub(super) fingerprint: Option<String>,
    pub(super) config: Option<crate::content::SyncConfig>,
    pub(super) has_sync_procedure: bool,
    pub(super) open_problem_approved: bool,
    pub(super) emails: BTreeMap<String, String>,
    pub(super) result: Pushed,
    /// A stop was requested (the signal's name) and the push ended early.
    pub(super) interrupted: Option<&'static str>,
}

pub(super) enum Pushed {
    /// Every target already has this approved head (and the sync was not forced).
    UpToDate,
    /// The approved head could not be read.
    Unreadable(String),
    /// The approved tree does not build.
    BuildFailed(String),
    /// Per target.
    Targets(Vec<TargetResult>),
}

/// One push: read the approved head, build it, publish it to each target behind it (to
/// every target when forced).
pub(super) fn attempt(job: Job) -> PushOutcome {
    let started = job.clock.now();
    let mut report = PushOutcome {
        started,
        finished: started,
        commit: None,
        fingerprint: None,
        config: None,
        has_sync_procedure: false,
        open_problem_approved: false,
        emails: BTreeMap::new(),
        result: Pushed::UpToDate,
        interrupted: None,
    };
    let snap = match snapshot::take(&job.repo, job.trust_root.as_deref(), started / 1000) {
        Ok(snap) => snap,
        Err(err) => {
            report.result = Pushed::Unreadable(err.to_string());
            report.finished = job.clock.now();
            return report;
        }
    };
    report.commit = Some(snap.commit.clone());
    report.fingerprint = Some(snap.fingerprint.clone());
    report.has_sync_procedure = snap.has_sync_procedure;
    report.emails = snap.emails.clone();
    report.open_problem_approved = job.open_problem.as_ref().is_some_and(|id| {
        snap.opened
            .tree
            .iter()
            .any(|(path, _)| path.starts_with("logbook/") && path.ends_with(&format!("/{id}.md")))
    });
    let config = match &snap.config {
        Ok(config) => config.clone(),
        Err(message) => {
            report.result = Pushed::BuildFailed(message.clone());
            report.finished = job.clock.now();
            return report;
        }
    };
    report.config = Some(config.clone());
    let targets: Vec<Target> = config
        .targets
        .iter()
        .filter_map(|t| Target::from_config(&t.value, &job.repo))
        .filter(|t| {
            job.forced
                || job
                    .published
                    .get(&t.name)
                    .and_then(Option::as_ref)
                    .is_none_or(|p| p.fingerprint != snap.fingerprint)
        })
        .collect();
    if targets.is_empty() && !(job.forced && config.targets.is_empty()) {
        report.finished = job.clock.now();
        return report;
    }
    if let Some(by) = job.stop.requested() {
        report.interrupted = Some(by);
        report.result = Pushed::Targets(Vec::new());
        report.finished = job.clock.now();
        return report;
    }
    let built_at = job.clock.now();
    // The snapshot's session holds the content it loaded: the build does not load it again.
    let built = match snap
        .session
        .build(&snap.opened, None, started / 1000, &crate::render::Quiet)
    {
        Ok(built) => built,
        Err(failed) => {
            let errors = failed.diagnostics.error_count();
            report.result = Pushed::BuildFailed(format!(
                "the approved tree at {} has {errors} error{} (run `glassroom check`); only a build that passes check is pushed",
                short_id(&snap.commit),
                if errors == 1 { "" } else { "s" }
            ));
            report.finished = job.clock.now();
            return report;
        }
    };
    (job.say)(&format!(
        "sync: built {} ({} files) in {}; pushing to {}",
        short_id(&snap.commit),
        built.files.len(),
        time::span(job.clock.now() - built_at),
        targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut workspace = targets::Workspace::default();
    let mut results = Vec::new();
    let say = |line: &str| (job.say)(&crate::diag::printable(line));
    let control = Control {
        stop: &job.stop,
        say: &say,
        grace: stop::GRACE,
    };
    for target in &targets {
        // Targets not started yet are left for the next run.
        if let Some(by) = job.stop.requested() {
            report.interrupted = Some(by);
            break;
        }
        let previous = job
            .published
            .get(&target.name)
            .and_then(Option::as_ref)
            .map(|p| p.commit.clone());
        let release = targets::Release {
            files: &built.files,
            commit: &snap.commit,
            previous: previous.as_deref(),
            at: job.clock.now(),
            git_dir: &job.git_dir,
            approved: &snap.opened.tree,
            committer: &job.committer,
        };
        let begun = job.clock.now();
        let result = targets::push(target, &release, &mut workspace, &control);
        let took = time::span(job.clock.now() - begun);
        let (ok, message) = match result {
            Ok(message) => {
                (job.say)(&format!(
                    "sync: {} ({}): published {} in {took}: {}",
                    target.name,
                    target.describe(),
                    short_id(&snap.commit),
                    message
                ));
                (true, message)
            }
            Err(TargetError::Stopped { by, .. }) if job.stop.requested().is_some() => {
                report.interrupted = Some(by);
                let message = format!("stopped ({by}) after {took}");
                (job.say)(&format!(
                    "sync: {} ({}): {message}",
                    target.name,
                    target.describe(),
                ));
                (false, message)
            }
            Err(err) => {
                let message = err.to_string();
                (job.say)(&format!(
                    "sync: {} ({}): FAILED after {took}: {}",
                    target.name,
                    target.describe(),
                    first_line(&message)
                ));
                (false, message)
            }
        };
        results.push(TargetResult {
            name: target.name.clone(),
            ok,
            message,
        });
        if report.interrupted.is_some() {
            break;
        }
    }
    report.result = Pushed::Targets(results);
    report.finished = job.clock.now();
    report
}
