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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};

use crate::intake;

pub use record::Recorder;
use schedule::{Clock, Event, Jitter, Millis, Retry, Timing};
use snapshot::{Snapshot, SnapshotError};
use state::{Attempt, Lock, Outcome, Paths, Seen, State, StateError, TargetResult};
use stop::Stop;
use targets::{Control, Target, TargetError};

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

/// The schedule's owner: state, timing and targets, kept on disk after each transition.
struct Driver {
    options: Options,
    repo: PathBuf,
    git_dir: PathBuf,
    paths: Paths,
    state: State,
    timing: Timing,
    targets: Vec<Target>,
    jitter: Jitter,
    /// Targets already alerted about (until they catch up).
    alerted: BTreeSet<String>,
    /// The last problem said, so a repeated one is not repeated every poll.
    last_said_error: Option<String>,
}

impl Driver {
    fn new(options: Options) -> Result<Driver, SyncError> {
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
    fn reload(&mut self) -> Result<(), SyncError> {
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

    fn now(&self) -> Millis {
        self.options.clock.now()
    }

    /// Logs one line; what it names (refs, paths, errors) is
    /// [escaped](crate::diag::printable), so it stays one line.
    fn say(&self, line: &str) {
        (self.options.say)(&crate::diag::printable(line));
    }

    fn save(&mut self) {
        if let Err(err) = self.state.save(&self.paths) {
            self.say(&format!("sync: error: {err}"));
        }
    }

    fn apply(&mut self, event: Event, now: Millis) {
        self.state.next_run = self.state.schedule.apply(event, now, &self.timing);
        self.save();
    }

    /// A push the previous process was running when it died did not happen.
    fn recover(&mut self, now: Millis) {
        if let Some(push) = self.state.schedule.pushing {
            self.say(&format!(
                "sync: the push started at {} was interrupted (the process stopped); it is pending again",
                time::human(push.since)
            ));
            self.apply(Event::Interrupted, now);
        }
    }

    fn banner(&self) -> String {
        let head = self
            .state
            .seen
            .as_ref()
            .map_or("unknown".to_owned(), |s| short(&s.commit));
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
    fn look(&mut self, now: Millis, startup: bool) {
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
                short(&snap.commit),
                self.next_text(now)
            ));
        } else if previous
            .as_ref()
            .is_some_and(|seen| seen.commit != snap.commit)
        {
            self.say(&format!(
                "sync: new commit {}: the approved output is unchanged (unsigned or pending changes, or sync records): nothing to publish",
                short(&snap.commit)
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
                short(&snap.commit),
                self.next_text(now)
            ));
        }
        self.save();
    }

    /// Takes the targets and durations from the approved configuration.
    fn configure(&mut self, snap: &Snapshot) {
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

    fn next_text(&self, now: Millis) -> String {
        match self.state.schedule.next(now, &self.timing) {
            Some(at) if at <= now => "now".to_owned(),
            Some(at) => format!("at {} (in {})", time::human(at), time::span(at - now)),
            None if self.state.schedule.pushing.is_some() => "after the running push".to_owned(),
            None => "not scheduled".to_owned(),
        }
    }

    /// Marks a push as started and describes its work.
    fn start(&mut self, now: Millis) -> Result<Job, SyncError> {
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
    fn finish(&mut self, report: PushOutcome) -> Done {
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
                        .map_or("the approved head".into(), short)
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
                report.commit.as_deref().map_or(String::new(), short),
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
    fn note_targets(&mut self, results: &[TargetResult], report: &PushOutcome, failures: bool) {
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
    fn interrupted(&mut self, report: PushOutcome, by: &'static str, now: Millis) -> Done {
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
                .map_or("the approved head".into(), short),
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
    fn record(&mut self, attempt: &Attempt, report: &PushOutcome, now: Millis) -> Option<String> {
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
                    short(&appended.commit)
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
    fn check_lag(&mut self, now: Millis) {
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

/// The work of one push, carried to the thread that does it.
struct Job {
    repo: PathBuf,
    git_dir: PathBuf,
    trust_root: Option<String>,
    forced: bool,
    published: BTreeMap<String, Option<Seen>>,
    open_problem: Option<String>,
    committer: String,
    clock: Arc<dyn Clock>,
    say: Say,
    stop: Stop,
}

/// What a push did.
struct PushOutcome {
    started: Millis,
    finished: Millis,
    commit: Option<String>,
    fingerprint: Option<String>,
    config: Option<crate::content::SyncConfig>,
    has_sync_procedure: bool,
    open_problem_approved: bool,
    emails: BTreeMap<String, String>,
    result: Pushed,
    /// A stop was requested (the signal's name) and the push ended early.
    interrupted: Option<&'static str>,
}

enum Pushed {
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
fn attempt(job: Job) -> PushOutcome {
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
                short(&snap.commit),
                if errors == 1 { "" } else { "s" }
            ));
            report.finished = job.clock.now();
            return report;
        }
    };
    (job.say)(&format!(
        "sync: built {} ({} files) in {}; pushing to {}",
        short(&snap.commit),
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
                    short(&snap.commit),
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

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Whether `path` looks like a repository sync can work on (for the command line).
pub fn is_repository(path: &Path) -> bool {
    snapshot::git_dir(path).is_ok()
}
