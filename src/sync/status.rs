//! `glassroom sync --status`: what each target publishes, what waits and since when, when
//! the next sync runs and what went wrong last — from the state file the watcher keeps,
//! checked against the approved head as it is now.

use std::path::Path;

use serde::Serialize;

use super::schedule::{Millis, Timing};
use super::snapshot;
use super::state::{Attempt, Lock, Paths, State, StateError};
use super::targets::lock::{self, Running};
use super::targets::{Target, s3};
use super::time;
use crate::values::short_id;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub repository: String,
    #[serde(with = "super::time")]
    pub now: Millis,
    pub watcher: WatcherStatus,
    /// The approved head now (read afresh), or why it cannot be read.
    pub approved: Option<String>,
    pub approved_error: Option<String>,
    pub quiet: String,
    pub max_delay: String,
    pub pending: Option<PendingStatus>,
    /// The approved head changed since the watcher last looked (it is about to take the
    /// change up, or no watcher runs).
    pub unseen_change: bool,
    #[serde(with = "super::time::option")]
    pub pushing_since: Option<Millis>,
    pub forced: bool,
    #[serde(with = "super::time::option")]
    pub next_run: Option<Millis>,
    /// Failed attempts in a row, and when the next retry may run.
    pub failures: u32,
    #[serde(with = "super::time::option")]
    pub retry_at: Option<Millis>,
    /// The last build failed: only a new change (or --now) runs the next sync.
    pub blocked: bool,
    pub targets: Vec<TargetStatus>,
    pub last_attempt: Option<Attempt>,
    /// How attempts are recorded.
    pub logbook: String,
    /// A problem of the watcher itself.
    pub error: Option<String>,
    pub alerts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatcherStatus {
    pub running: bool,
    pub pid: Option<String>,
    #[serde(with = "super::time::option")]
    pub since: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingStatus {
    pub changes: u64,
    #[serde(with = "super::time")]
    pub since: Millis,
    #[serde(with = "super::time::option")]
    pub last: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub describe: String,
    pub published_commit: Option<String>,
    #[serde(with = "super::time::option")]
    pub published_at: Option<Millis>,
    /// Whether it serves the approved head now (`None` when that cannot be read).
    pub up_to_date: Option<bool>,
    /// How long it has been behind, when known.
    pub lag_ms: Option<Millis>,
    pub failures: u32,
    pub last_error: Option<String>,
    /// A push holding the target's lock now: the watcher's, or one a sync process that
    /// died left running.
    pub push_running: Option<Running>,
    /// An `s3` target's last publication and what waits.
    pub bucket: Option<BucketStatus>,
}

/// What `<git dir>/glassroom/s3-<target>.json` says.
#[derive(Debug, Clone, Serialize)]
pub struct BucketStatus {
    /// The last complete publication: commit, time, objects in the bucket, and what
    /// it uploaded, deleted and left as it was.
    pub published: Option<BucketPublication>,
    /// A publication that did not finish: its commit, objects uploaded and to upload.
    pub unfinished: Option<BucketUnfinished>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketPublication {
    pub commit: String,
    #[serde(with = "super::time")]
    pub at: Millis,
    pub objects: usize,
    pub uploaded: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketUnfinished {
    pub commit: String,
    #[serde(with = "super::time")]
    pub started: Millis,
    pub uploaded: usize,
    pub to_upload: usize,
}

fn bucket_status(git_dir: &Path, target: &str) -> Option<BucketStatus> {
    let progress = s3::Progress::load(&s3::progress_file(git_dir, target))?;
    Some(BucketStatus {
        published: progress.published.map(|p| BucketPublication {
            commit: p.commit,
            at: p.at,
            objects: p.files.len(),
            uploaded: p.uploaded,
            deleted: p.deleted,
            unchanged: p.unchanged,
        }),
        unfinished: progress.unfinished.map(|u| BucketUnfinished {
            commit: u.commit,
            started: u.started,
            uploaded: u.uploaded.len(),
            to_upload: u.to_upload,
        }),
    })
}

/// Reads the state and the approved head of `repo`. `now` in milliseconds.
pub fn gather(
    repo: &Path,
    trust_root: Option<&str>,
    now: Millis,
) -> Result<StatusReport, StatusError> {
    let git_dir = snapshot::git_dir(repo)?;
    let paths = Paths::new(&git_dir);
    let holder = Lock::holder(&paths)?;
    let state = State::load(&paths)?;
    let snap = snapshot::take(repo, trust_root, now / 1000);
    let (approved, fingerprint, approved_error, configured, timing) = match &snap {
        Ok(snap) => {
            let timing = snap
                .config
                .as_ref()
                .map(Timing::from_config)
                .unwrap_or_else(|_| state.timing.unwrap_or_default());
            let configured: Vec<Target> = snap
                .config
                .as_ref()
                .map(|c| {
                    c.targets
                        .iter()
                        .filter_map(|t| Target::from_config(&t.value, repo))
                        .collect()
                })
                .unwrap_or_default();
            (
                Some(snap.commit.clone()),
                Some(snap.fingerprint.clone()),
                snap.config.as_ref().err().cloned(),
                configured,
                timing,
            )
        }
        Err(err) => (
            None,
            None,
            Some(err.to_string()),
            Vec::new(),
            state.timing.unwrap_or_default(),
        ),
    };
    let mut report = report(
        repo,
        now,
        holder,
        &state,
        approved,
        fingerprint,
        approved_error,
        &configured,
        &timing,
    );
    for target in &mut report.targets {
        target.push_running = lock::running(&git_dir, &target.name);
        target.bucket = bucket_status(&git_dir, &target.name);
    }
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The report from its parts (pure).
#[allow(clippy::too_many_arguments)]
pub fn report(
    repo: &Path,
    now: Millis,
    holder: Option<String>,
    state: &State,
    approved: Option<String>,
    fingerprint: Option<String>,
    approved_error: Option<String>,
    configured: &[Target],
    timing: &Timing,
) -> StatusReport {
    let schedule = &state.schedule;
    let running = holder.is_some();
    let pending = schedule.first_change.map(|since| PendingStatus {
        changes: schedule.changes,
        since,
        last: schedule.last_change,
    });
    let mut alerts = Vec::new();
    let targets: Vec<TargetStatus> = configured
        .iter()
        .map(|target| {
            let recorded = state.targets.get(&target.name);
            let published = recorded.and_then(|t| t.published.as_ref());
            // What it was published to must still be where it is configured.
            let published =
                published.filter(|_| recorded.is_some_and(|t| t.describe == target.describe()));
            let up_to_date = fingerprint
                .as_ref()
                .map(|f| published.is_some_and(|p| &p.fingerprint == f));
            let lag_ms = match (up_to_date, schedule.first_change) {
                (Some(false), Some(since)) => Some(now - since),
                _ => None,
            };
            if let Some(lag) = lag_ms
                && lag > timing.lag_alert()
            {
                alerts.push(format!(
                    "{} has lagged the approved head for {} (more than max_delay {} + {} slack)",
                    target.name,
                    time::span(lag),
                    time::span(timing.max_delay),
                    time::span(timing.retry_max)
                ));
            }
            TargetStatus {
                name: target.name.clone(),
                describe: target.describe(),
                published_commit: published.map(|p| p.commit.clone()),
                published_at: published.map(|p| p.at),
                up_to_date,
                lag_ms,
                failures: recorded.map_or(0, |t| t.failures),
                last_error: recorded.and_then(|t| t.last_error.clone()),
                push_running: None,
                bucket: None,
            }
        })
        .collect();
    let logbook = match (&state.logbook.robot, &state.logbook.not_recorded) {
        (_, Some(why)) => format!("not recorded: {why}"),
        (Some(robot), None) => format!("recorded as `{robot}` (procedure `sync`)"),
        (None, None) => "not recorded (no sync has run yet)".to_owned(),
    };
    let unseen_change = match (&fingerprint, &state.seen) {
        (Some(now), Some(seen)) => *now != seen.fingerprint,
        (Some(_), None) => true,
        _ => false,
    };
    StatusReport {
        unseen_change,
        repository: repo.display().to_string(),
        now,
        watcher: WatcherStatus {
            running,
            pid: holder,
            since: state.watcher.as_ref().filter(|_| running).map(|w| w.since),
        },
        approved,
        approved_error,
        quiet: time::span(timing.quiet),
        max_delay: time::span(timing.max_delay),
        pending,
        pushing_since: schedule.pushing.filter(|_| running).map(|p| p.since),
        forced: schedule.forced,
        next_run: schedule.next(now, timing),
        failures: schedule.attempts,
        retry_at: schedule.retry_at,
        blocked: schedule.blocked,
        targets,
        last_attempt: state.history.last().cloned(),
        logbook,
        error: state.error.clone(),
        alerts,
    }
}

/// The report for people.
pub fn render(report: &StatusReport) -> String {
    let now = report.now;
    let mut out = String::new();
    let mut line = |label: &str, text: String| {
        out.push_str(&format!("{label:<13}{}\n", crate::diag::printable(&text)));
    };
    line("repository", report.repository.clone());
    line(
        "watcher",
        match (&report.watcher.pid, report.watcher.since) {
            (Some(pid), Some(since)) => {
                format!("running (process {pid}) since {}", time::human(since))
            }
            (Some(pid), None) => format!("a sync is running (process {pid})"),
            _ => {
                "not running: nothing is published until `glassroom sync --watch` or `--now`".into()
            }
        },
    );
    line(
        "approved",
        match (&report.approved, &report.approved_error) {
            (Some(commit), None) => commit.clone(),
            (Some(commit), Some(err)) => format!("{commit} ({err})"),
            (None, Some(err)) => format!("cannot be read: {err}"),
            (None, None) => "unknown".into(),
        },
    );
    line(
        "schedule",
        format!("quiet {}, max delay {}", report.quiet, report.max_delay),
    );
    line(
        "pending",
        match &report.pending {
            Some(p) => format!(
                "{} approved change{} since {} ({} ago){}",
                p.changes,
                if p.changes == 1 { "" } else { "s" },
                time::human(p.since),
                time::span(now - p.since),
                p.last
                    .filter(|last| *last != p.since)
                    .map(|last| format!(", the latest at {}", time::human(last)))
                    .unwrap_or_default()
            ),
            None if report.unseen_change => {
                "an approved change the watcher has not taken up yet".into()
            }
            None => "nothing".into(),
        },
    );
    let next = if let Some(since) = report.pushing_since {
        format!(
            "pushing now (since {}, {})",
            time::human(since),
            time::span(now - since)
        )
    } else {
        match report.next_run {
            Some(at) if at <= now => "now".into(),
            Some(at) => format!("{} (in {})", time::human(at), time::span(at - now)),
            None if report.unseen_change && report.watcher.running => format!(
                "{} after the watcher takes up the new approved change",
                report.quiet
            ),
            None if report.unseen_change => "once a watcher runs".into(),
            None if report.blocked => {
                "waiting for the next approved change (the last build failed) or --now".into()
            }
            None => "none: nothing waits".into(),
        }
    };
    let next = if report.watcher.running || report.next_run.is_none() {
        next
    } else {
        format!("{next}, once a watcher runs")
    };
    line("next run", next);
    if report.failures > 0 {
        line(
            "retries",
            format!(
                "{} failed attempt{} in a row{}",
                report.failures,
                if report.failures == 1 { "" } else { "s" },
                report
                    .retry_at
                    .map(|at| format!("; next retry not before {}", time::human(at)))
                    .unwrap_or_default()
            ),
        );
    }
    line("logbook", report.logbook.clone());
    if let Some(error) = &report.error {
        line("error", error.clone());
    }
    out.push_str("targets:\n");
    if report.targets.is_empty() {
        out.push_str("  none configured (add `sync.targets` to glassroom.yaml)\n");
    }
    for target in &report.targets {
        let published = match (&target.published_commit, target.published_at) {
            (Some(commit), Some(at)) => {
                format!("published {} at {}", short_id(commit), time::human(at))
            }
            _ => "never published".into(),
        };
        let standing = match (target.up_to_date, target.lag_ms) {
            (Some(true), _) => "up to date".to_owned(),
            (Some(false), Some(lag)) => format!("behind for {}", time::span(lag)),
            (Some(false), None) => "behind".to_owned(),
            (None, _) => "unknown".to_owned(),
        };
        out.push_str(&format!(
            "  {:<12} {:<32} {published}; {standing}\n",
            target.name, target.describe
        ));
        if let Some(error) = &target.last_error {
            out.push_str(&format!(
                "  {:<12} last error ({} in a row): {}\n",
                "",
                target.failures,
                error.lines().next().unwrap_or("")
            ));
        }
        if let Some(bucket) = &target.bucket {
            if let Some(p) = &bucket.published {
                out.push_str(&format!(
                    "  {:<12} bucket: {} objects from {} at {} (uploaded {}, deleted {}, {} unchanged)\n",
                    "",
                    p.objects,
                    short_id(&p.commit),
                    time::human(p.at),
                    p.uploaded,
                    p.deleted,
                    p.unchanged
                ));
            }
            if let Some(u) = &bucket.unfinished {
                out.push_str(&format!(
                    "  {:<12} waits: the publication of {} started at {} uploaded {} of {} objects; the next sync goes on from there\n",
                    "",
                    short_id(&u.commit),
                    time::human(u.started),
                    u.uploaded,
                    u.to_upload
                ));
            }
        }
        if let Some(running) = &target.push_running {
            let group = match (running.process_group, running.since) {
                (Some(group), Some(since)) => Some(format!(
                    "process group {group}, since {} ({} ago)",
                    time::human(since),
                    time::span(now - since)
                )),
                _ => None,
            };
            let text = match (report.watcher.running, group) {
                (true, Some(group)) => format!("pushing: {group}"),
                (true, None) => "pushing".to_owned(),
                (false, Some(group)) => format!(
                    "a push left by a sync that stopped is still running ({group}); the next sync waits for it (it holds {})",
                    running.lock
                ),
                (false, None) => format!(
                    "a push left by a sync that stopped still holds {} (`fuser -v` on it shows its processes); the next sync waits for it",
                    running.lock
                ),
            };
            out.push_str(&format!("  {:<12} {}\n", "", crate::diag::printable(&text)));
        }
    }
    if let Some(attempt) = &report.last_attempt {
        out.push_str(&format!(
            "last attempt {} ({}): {}{}\n",
            time::human(attempt.started),
            time::span(attempt.finished - attempt.started),
            match attempt.outcome {
                super::state::Outcome::Published => "published",
                super::state::Outcome::Failed => "failed",
                super::state::Outcome::BuildFailed => "not published: the build failed",
                super::state::Outcome::Interrupted => "interrupted (the sync was stopped)",
            },
            attempt
                .commit
                .as_deref()
                .map(|c| format!(" {}", short_id(c)))
                .unwrap_or_default()
        ));
        if let Some(error) = &attempt.error {
            out.push_str(&format!("  {}\n", error.lines().next().unwrap_or("")));
        }
    }
    for alert in &report.alerts {
        out.push_str(&format!("ALERT: {alert}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::schedule::Event;
    use crate::sync::state::{Seen, TargetState};
    use crate::sync::targets::Kind;

    const MINUTE: Millis = 60_000;

    fn target(name: &str) -> Target {
        Target {
            name: name.into(),
            kind: Kind::Dir {
                path: format!("/srv/{name}").into(),
                keep: 5,
            },
        }
    }

    #[test]
    fn a_target_behind_for_too_long_is_an_alert() {
        let timing = Timing::default();
        let mut state = State::default();
        state.schedule.apply(Event::Change, 0, &timing);
        for (name, fingerprint) in [("production", "new"), ("mirror", "old")] {
            state.targets.insert(
                name.into(),
                TargetState {
                    describe: target(name).describe(),
                    published: Some(Seen {
                        commit: format!("{fingerprint}-commit"),
                        fingerprint: fingerprint.into(),
                        at: 0,
                    }),
                    ..TargetState::default()
                },
            );
        }
        let configured = [target("production"), target("mirror")];
        let at = |now| {
            report(
                Path::new("/repo"),
                now,
                Some("42".into()),
                &state,
                Some("new-commit".into()),
                Some("new".into()),
                None,
                &configured,
                &timing,
            )
        };
        let early = at(30 * MINUTE);
        assert!(early.alerts.is_empty());
        assert_eq!(early.targets[0].up_to_date, Some(true));
        assert_eq!(early.targets[1].up_to_date, Some(false));
        let late = at(76 * MINUTE);
        assert_eq!(late.alerts.len(), 1, "{:?}", late.alerts);
        assert!(late.alerts[0].starts_with("mirror has lagged"));
        let text = render(&late);
        assert!(text.contains("ALERT: mirror"), "{text}");
        assert!(text.contains("running (process 42)"), "{text}");
    }

    #[test]
    fn a_change_the_watcher_has_not_taken_up_yet_is_pending() {
        let timing = Timing::default();
        let state = State {
            seen: Some(Seen {
                commit: "old".into(),
                fingerprint: "old".into(),
                at: 0,
            }),
            ..State::default()
        };
        let report = report(
            Path::new("/repo"),
            MINUTE,
            Some("42".into()),
            &state,
            Some("new".into()),
            Some("new".into()),
            None,
            &[target("production")],
            &timing,
        );
        assert!(report.unseen_change);
        let text = render(&report);
        assert!(text.contains("has not taken up yet"), "{text}");
        assert!(text.contains("5m after the watcher takes up"), "{text}");
    }

    #[test]
    fn without_a_watcher_the_status_says_nothing_will_happen() {
        let timing = Timing::default();
        let mut state = State::default();
        state.schedule.apply(Event::Change, 0, &timing);
        let report = report(
            Path::new("/repo"),
            MINUTE,
            None,
            &state,
            Some("c".into()),
            Some("f".into()),
            None,
            &[target("production")],
            &timing,
        );
        let text = render(&report);
        assert!(text.contains("not running"), "{text}");
        assert!(text.contains("once a watcher runs"), "{text}");
        assert!(text.contains("never published"), "{text}");
    }
}
