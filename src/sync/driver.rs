//! The sync's driver: it owns the schedule, its state on disk, the timing and the
//! targets, looks at the repository, starts pushes and records how they ended.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::push::{Job, PushOutcome, Pushed};
use super::schedule::{Event, Jitter, Millis, Retry, Timing};
use super::snapshot::{self, Snapshot};
use super::state::{Attempt, Outcome, Paths, Seen, State, TargetResult};
use super::targets::Target;
use super::{Done, Options, SyncError, first_line, intake, record, time};
use crate::values::short_id;

/// The schedule's owner: state, timing and targets, kept on disk after each transition.
pub(super) struct Driver {
    pub(super) options: Options,
    pub(super) repo: PathBuf,
    pub(super) git_dir: PathBuf,
    pub(super) paths: Paths,
    pub(super) state: State,
    pub(super) timing: Timing,
    pub(super) targets: Vec<Target>,
    pub(super) jitter: Jitter,
    /// Targets already alerted about (until they catch up).
    pub(super) alerted: BTreeSet<String>,
    /// The last problem said, so a repeated one is not repeated every poll.
    pub(super) last_said_error: Option<String>,
}

impl Driver {
    pub(super) fn new(options: Options) -> Result<Driver, SyncError> {
        let repo = std::path::absolute(&options.repo).unwrap_or_else(|_| options.repo.clone());
        let git_dir = snapshot::git_dir(&repo)?;
        let paths = Paths::new(&git_dir);
        let seed =
            u64::try_from(options.clock.now()).unwrap_or(0) ^ u64::from(std::process::id()) << 32;
        Ok(Driver {
            options,
            repo,
            git_dir,
            paths,
            state: State::default(),
            timing: Timing::default(),
            targets: Vec::new(),
            jitter: Jitter::new(seed),
            alerted: BTreeSet::new(),
            last_said_error: None,
        })
    }

    /// Reads the state file (under the lock).
    pub(super) fn reload(&mut self) -> Result<(), SyncError> {
        self.state = State::load(&self.paths)?;
        if let Some(timing) = self.state.timing {
            self.timing = timing;
        }
        self.state.logbook.robot = self.options.recorder.as_ref().map(|r| r.robot.clone());
        self.state.logbook.not_recorded = if self.options.recorder.is_none() {
            Some("no --robot was given: attempts are kept in the state file only".into())
        } else {
            None
        };
        Ok(())
    }

    pub(super) fn now(&self) -> Millis {
        self.options.clock.now()
    }

    /// Logs one line; what it names (refs, paths, errors) is
    /// [escaped](crate::diag::printable), so it stays one line.
    pub(super) fn say(&self, line: &str) {
        (self.options.say)(&crate::diag::printable(line));
    }

    pub(super) fn save(&mut self) {
        if let Err(err) = self.state.save(&self.paths) {
            self.say(&format!("sync: error: {err}"));
        }
    }

    pub(super) fn apply(&mut self, event: Event, now: Millis) {
        self.state.next_run = self.state.schedule.apply(event, now, &self.timing);
        self.save();
    }

    /// A push the previous process was running when it died did not happen.
    pub(super) fn recover(&mut self, now: Millis) {
        if let Some(push) = self.state.schedule.pushing {
            self.say(&format!(
                "sync: the push started at {} was interrupted (the process stopped); it is pending again",
                time::human(push.since)
            ));
            self.apply(Event::Interrupted, now);
        }
    }

    pub(super) fn banner(&self) -> String {
        let head = self
            .state
            .seen
            .as_ref()
            .map_or("unknown", |s| short_id(&s.commit));
        let targets: Vec<String> = self
            .targets
            .iter()
            .map(|t| format!("{} ({})", t.name, t.describe()))
            .collect();
        format!(
            "sync: approved head {head}; quiet {}, max delay {}; targets: {}",
            time::span(self.timing.quiet),
            time::span(self.timing.max_delay),
            if targets.is_empty() {
                "none".to_owned()
            } else {
                targets.join(", ")
            }
        )
    }

    /// Looks at the approved head; feeds the schedule when the approved output changed.
    /// At `startup`, also schedules a sync for any target behind the approved head.
    pub(super) fn look(&mut self, now: Millis, startup: bool) {
        let head = snapshot::head(&self.repo);
        if !startup
            && head.is_some()
            && head.as_deref() == self.state.seen.as_ref().map(|s| s.commit.as_str())
            && self.state.error.is_none()
        {
            return;
        }
        let snap = match snapshot::take(&self.repo, self.options.trust_root.as_deref(), now / 1000)
        {
            Ok(snap) => snap,
            Err(err) => {
                let message = err.to_string();
                if self.last_said_error.as_deref() != Some(message.as_str()) {
                    self.say(&format!("sync: error: {message}"));
                    self.last_said_error = Some(message.clone());
                }
                self.state.error = Some(message);
                self.save();
                return;
            }
        };
        if startup {
            for warning in &snap.opened.warnings {
                self.say(&format!("sync: warning: {warning}"));
            }
        }
        self.state.error = None;
        self.last_said_error = None;
        self.configure(&snap);
        let previous = self.state.seen.clone();
        self.state.seen = Some(Seen {
            commit: snap.commit.clone(),
            fingerprint: snap.fingerprint.clone(),
            at: now,
        });
        let changed = previous
            .as_ref()
            .is_some_and(|seen| seen.fingerprint != snap.fingerprint);
        if changed {
            self.apply(Event::Change, now);
            self.say(&format!(
                "sync: approved change {}; next sync {}",
                short_id(&snap.commit),
                self.next_text(now)
            ));
        } else if previous
            .as_ref()
            .is_some_and(|seen| seen.commit != snap.commit)
        {
            self.say(&format!(
                "sync: new commit {}: the approved output is unchanged (unsigned or pending changes, or sync records): nothing to publish",
                short_id(&snap.commit)
            ));
        }
        let behind: Vec<String> = self
            .targets
            .iter()
            .filter(|t| {
                self.state
                    .targets
                    .get(&t.name)
                    .and_then(|s| s.published.as_ref())
                    .is_none_or(|p| p.fingerprint != snap.fingerprint)
            })
            .map(|t| t.name.clone())
            .collect();
        if (startup || previous.is_none())
            && !changed
            && !behind.is_empty()
            && !self.state.schedule.pending()
        {
            self.apply(Event::Change, now);
            self.say(&format!(
                "sync: {} behind the approved head {}; next sync {}",
                behind.join(", "),
                short_id(&snap.commit),
                self.next_text(now)
            ));
        }
        self.save();
    }

    /// Takes the targets and durations from the approved configuration.
    pub(super) fn configure(&mut self, snap: &Snapshot) {
        let config = match &snap.config {
            Ok(config) => config,
            Err(message) => {
                self.state.error = Some(message.clone());
                return;
            }
        };
        self.timing = Timing::from_config(config);
        self.state.timing = Some(self.timing);
        self.targets = config
            .targets
            .iter()
            .filter_map(|t| Target::from_config(&t.value, &self.repo))
            .collect();
        let names: BTreeSet<&str> = self.targets.iter().map(|t| t.name.as_str()).collect();
        self.state
            .targets
            .retain(|name, _| names.contains(name.as_str()));
        for target in &self.targets {
            let entry = self.state.targets.entry(target.name.clone()).or_default();
            let describe = target.describe();
            if entry.describe != describe {
                // Another place: what was published elsewhere says nothing about it.
                if !entry.describe.is_empty() {
                    entry.published = None;
                }
                entry.describe = describe;
            }
        }
    }

    pub(super) fn next_text(&self, now: Millis) -> String {
        match self.state.schedule.next(now, &self.timing) {
            Some(at) if at <= now => "now".to_owned(),
            Some(at) => format!("at {} (in {})", time::human(at), time::span(at - now)),
            None if self.state.schedule.pushing.is_some() => "after the running push".to_owned(),
            None => "not scheduled".to_owned(),
        }
    }

    /// Marks a push as started and describes its work.
    pub(super) fn start(&mut self, now: Millis) -> Result<Job, SyncError> {
        let forced = self.state.schedule.forced;
        self.apply(Event::Started, now);
        Ok(Job {
            repo: self.repo.clone(),
            git_dir: self.git_dir.clone(),
            trust_root: self.options.trust_root.clone(),
            forced,
            published: self
                .state
                .targets
                .iter()
                .map(|(name, t)| (name.clone(), t.published.clone()))
                .collect(),
            open_problem: self.state.logbook.open_problem.clone(),
            committer: self
                .options
                .recorder
                .as_ref()
                .map_or("glassroom sync".to_owned(), |r| r.robot.clone()),
            clock: Arc::clone(&self.options.clock),
            say: Arc::clone(&self.options.say),
            stop: self.options.stop.clone(),
        })
    }

    /// Applies the result of a push to the schedule and the state, and records it.
    pub(super) fn finish(&mut self, report: PushOutcome) -> Done {
        let now = self.now();
        if let Some(config) = &report.config {
            self.timing = Timing::from_config(config);
            self.state.timing = Some(self.timing);
        }
        if let Some(by) = report.interrupted {
            return self.interrupted(report, by, now);
        }
        let (outcome, error, results, done) = match &report.result {
            Pushed::UpToDate => {
                self.apply(Event::Succeeded, now);
                self.say(&format!(
                    "sync: every target already has {}",
                    report
                        .commit
                        .as_deref()
                        .map_or("the approved head", short_id)
                ));
                return Done::UpToDate;
            }
            Pushed::Unreadable(message) => (
                Outcome::Failed,
                Some(message.clone()),
                Vec::new(),
                Done::Failed(message.clone()),
            ),
            Pushed::BuildFailed(message) => (
                Outcome::BuildFailed,
                Some(message.clone()),
                Vec::new(),
                Done::BuildFailed(message.clone()),
            ),
            Pushed::Targets(results) => {
                let failed: Vec<String> = results
                    .iter()
                    .filter(|r| !r.ok)
                    .map(|r| format!("{}: {}", r.name, first_line(&r.message)))
                    .collect();
                if failed.is_empty() {
                    (Outcome::Published, None, results.clone(), Done::Published)
                } else {
                    (
                        Outcome::Failed,
                        None,
                        results.clone(),
                        Done::Failed(failed.join("; ")),
                    )
                }
            }
        };
        self.note_targets(&results, &report, true);
        let event = match outcome {
            Outcome::Published => Event::Succeeded,
            Outcome::Failed => Event::Failed(Retry::Backoff {
                jitter: self.jitter.sample(),
            }),
            Outcome::BuildFailed => Event::Failed(Retry::WaitForChange),
            Outcome::Interrupted => Event::Interrupted,
        };
        self.apply(event, now);
        match &done {
            Done::Published => self.say(&format!(
                "sync: published {} to every target in {}",
                report.commit.as_deref().map_or("", short_id),
                time::span(report.finished - report.started)
            )),
            Done::BuildFailed(message) => self.say(&format!(
                "sync: not published: {message}; waiting for the next approved change"
            )),
            Done::Failed(message) => self.say(&format!(
                "sync: failed: {message}; retry {}",
                self.next_text(now)
            )),
            Done::UpToDate | Done::Interrupted(_) => {}
        }
        let mut attempt = Attempt {
            started: report.started,
            finished: report.finished,
            commit: report.commit.clone(),
            outcome,
            error,
            targets: results,
            entry: None,
        };
        attempt.entry = self.record(&attempt, &report, now);
        self.state.push_attempt(attempt);
        self.save();
        done
    }

    /// Each target's part of a push; `failures` counts a target that failed as a failure
    /// (a stopped one is not: nothing is wrong with it).
    pub(super) fn note_targets(
        &mut self,
        results: &[TargetResult],
        report: &PushOutcome,
        failures: bool,
    ) {
        for result in results {
            let Some(target) = self.state.targets.get_mut(&result.name) else {
                continue;
            };
            target.last_attempt = Some(report.started);
            if result.ok {
                target.failures = 0;
                target.last_error = None;
                if let (Some(commit), Some(fingerprint)) = (&report.commit, &report.fingerprint) {
                    target.published = Some(Seen {
                        commit: commit.clone(),
                        fingerprint: fingerprint.clone(),
                        at: report.finished,
                    });
                }
            } else if failures {
                target.failures = target.failures.saturating_add(1);
                target.last_error = Some(result.message.clone());
            }
        }
    }

    /// A push stopped on request: what reached a target stays published, the rest is
    /// pending again. Kept in the state file only: stopping the sync is not a publishing
    /// problem to open in the logbook.
    pub(super) fn interrupted(
        &mut self,
        report: PushOutcome,
        by: &'static str,
        now: Millis,
    ) -> Done {
        let results = match &report.result {
            Pushed::Targets(results) => results.clone(),
            _ => Vec::new(),
        };
        self.note_targets(&results, &report, false);
        self.apply(Event::Interrupted, now);
        let reached: Vec<&str> = results
            .iter()
            .filter(|r| r.ok)
            .map(|r| r.name.as_str())
            .collect();
        self.say(&format!(
            "sync: the push of {} was interrupted ({by}){}; the change stays pending for the next run",
            report
                .commit
                .as_deref()
                .map_or("the approved head", short_id),
            if reached.is_empty() {
                String::new()
            } else {
                format!(" after publishing to {}", reached.join(", "))
            }
        ));
        self.state.push_attempt(Attempt {
            started: report.started,
            finished: report.finished,
            commit: report.commit.clone(),
            outcome: Outcome::Interrupted,
            error: Some(format!("stopped ({by})")),
            targets: results,
            entry: None,
        });
        self.save();
        Done::Interrupted(by)
    }

    /// Records an attempt in the logbook; the entry's id, if one was written.
    pub(super) fn record(
        &mut self,
        attempt: &Attempt,
        report: &PushOutcome,
        now: Millis,
    ) -> Option<String> {
        let recorder = self.options.recorder.as_ref()?;
        if !report.has_sync_procedure {
            self.state.logbook.not_recorded = Some(format!(
                "the approved tree has no procedures/{}.md, which `procedure: {}` entries need",
                snapshot::PROCEDURE,
                snapshot::PROCEDURE
            ));
            return None;
        }
        let reply = self
            .state
            .logbook
            .open_problem
            .as_deref()
            .filter(|_| report.open_problem_approved);
        let entry = record::entry(attempt, &recorder.robot, reply, now);
        let committer = recorder.committer(report.emails.get(&recorder.robot));
        match intake::append(
            &self.repo,
            &entry,
            &committer,
            recorder.signer.as_ref(),
            now / 1000,
        ) {
            Ok(appended) => {
                self.state.logbook.not_recorded = None;
                self.state.logbook.open_problem = match attempt.outcome {
                    Outcome::Published => None,
                    _ => Some(reply.map_or(appended.id.clone(), str::to_owned)),
                };
                self.say(&format!(
                    "sync: recorded in the logbook as {} (commit {})",
                    appended.path,
                    short_id(&appended.commit)
                ));
                Some(appended.id)
            }
            Err(err) => {
                let message = format!("cannot record the attempt in the logbook: {err}");
                self.say(&format!("sync: warning: {message}"));
                self.state.logbook.not_recorded = Some(message);
                None
            }
        }
    }

    /// Says once when a target falls more than `max_delay` plus slack behind.
    pub(super) fn check_lag(&mut self, now: Millis) {
        let Some(seen) = &self.state.seen else {
            return;
        };
        let since = self.state.schedule.first_change;
        let mut lines = Vec::new();
        for (name, target) in &self.state.targets {
            let behind = target
                .published
                .as_ref()
                .is_none_or(|p| p.fingerprint != seen.fingerprint);
            let lag = since.map(|since| now - since);
            match lag {
                Some(lag)
                    if behind
                        && lag > self.timing.lag_alert()
                        && self.alerted.insert(name.clone()) =>
                {
                    lines.push(format!(
                            "sync: ALERT: {name} has lagged the approved head for {} (more than max_delay {} + {} slack){}",
                            time::span(lag),
                            time::span(self.timing.max_delay),
                            time::span(self.timing.retry_max),
                            target
                                .last_error
                                .as_deref()
                                .map(|e| format!("; last error: {}", first_line(e)))
                                .unwrap_or_default()
                        ));
                }
                _ if !behind => {
                    self.alerted.remove(name);
                }
                _ => {}
            }
        }
        for line in lines {
            self.say(&line);
        }
    }
}
