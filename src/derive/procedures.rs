//! The due state of each procedure, from its `every`/`grace` and its logbook.

use std::collections::BTreeMap;

use serde::Serialize;

use super::time::minus;
use crate::content::types::{Duration, Moment};
use crate::content::{AlertConfig, Content, Disposition, Document, LogEntry, Procedure};

/// Where a procedure stands relative to its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// Done recently enough; not due within `alerts.procedures.due_soon`.
    Ok,
    /// Due within `due_soon`, or past due but still within `grace`.
    DueSoon,
    /// Past its due date and its grace.
    Overdue,
    /// Scheduled (`every`) but never done: as urgent as overdue, but it has no date.
    NeverDone,
    /// Done only when needed (no `every`).
    OnDemand,
}

/// The due state of one procedure and the dates it follows from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcedureStatus {
    pub id: String,
    pub state: DueState,
    /// When it was last done (the latest entry that [`counts_as_done`]).
    pub last_done: Option<Moment>,
    /// The id of that logbook entry.
    pub last_entry: Option<String>,
    /// `last_done + every`.
    pub next_due: Option<Moment>,
    /// `next_due + grace`: after this it is overdue.
    pub overdue_after: Option<Moment>,
}

/// Whether an entry records doing its procedure. `ok`, `info` and `problem` (done, but
/// something went wrong) are executions; `belay`, `ignored`, `acknowledged` and `end`
/// answer an earlier entry in a thread, so they say nothing about the schedule. An entry
/// without a disposition is a plain record of the work.
pub fn counts_as_done(entry: &LogEntry) -> bool {
    matches!(
        entry.disposition,
        None | Some(Disposition::Ok | Disposition::Info | Disposition::Problem)
    )
}

/// The due state of every procedure at `now`, keyed by procedure id.
pub fn statuses(content: &Content, now: Moment) -> BTreeMap<String, ProcedureStatus> {
    let due_soon = alert_config(content).procedures.due_soon;
    let latest = latest_done(&content.logbook);
    content
        .procedures
        .iter()
        .map(|procedure| {
            let last = latest.get(procedure.id.as_str()).copied();
            let status = status(procedure, last, due_soon, now);
            (procedure.id.clone(), status)
        })
        .collect()
}

/// The alert thresholds of the site, or the defaults when there is no `glassroom.yaml`.
pub(super) fn alert_config(content: &Content) -> AlertConfig {
    content
        .config
        .as_ref()
        .map(|config| config.data.alerts.clone())
        .unwrap_or_default()
}

/// Procedure id → its latest done entry, in one pass over the logbook. Of two entries at
/// the same instant the greater id wins, so the result does not depend on file order.
fn latest_done(logbook: &[Document<LogEntry>]) -> BTreeMap<&str, &Document<LogEntry>> {
    let mut latest: BTreeMap<&str, &Document<LogEntry>> = BTreeMap::new();
    for entry in logbook.iter().filter(|e| counts_as_done(&e.data)) {
        let Some(procedure) = &entry.data.procedure else {
            continue;
        };
        let newer = |current: &&Document<LogEntry>| {
            (entry.data.at.value, &entry.id) > (current.data.at.value, &current.id)
        };
        match latest.get(procedure.as_str()) {
            Some(current) if !newer(current) => {}
            _ => {
                latest.insert(procedure.as_str(), entry);
            }
        }
    }
    latest
}

/// The due state of one procedure whose latest done entry is `last`.
pub fn status(
    procedure: &Document<Procedure>,
    last: Option<&Document<LogEntry>>,
    due_soon: Duration,
    now: Moment,
) -> ProcedureStatus {
    let last_done = last.map(|entry| entry.data.at.value);
    let mut status = ProcedureStatus {
        id: procedure.id.clone(),
        state: DueState::OnDemand,
        last_done,
        last_entry: last.map(|entry| entry.id.clone()),
        next_due: None,
        overdue_after: None,
    };
    let Some(every) = procedure.data.every.as_ref().map(|every| every.value) else {
        return status;
    };
    let Some(last_done) = last_done else {
        status.state = DueState::NeverDone;
        return status;
    };
    let grace = procedure
        .data
        .grace
        .as_ref()
        .map_or_else(Duration::default, |g| g.value);
    let next_due = last_done.plus(every);
    let overdue_after = next_due.plus(grace);
    // A window as long as the interval would make a daily procedure "due soon" the moment
    // it is done: the warning starts at most half an interval before the due date.
    let window = due_soon.min(Duration(every.0 / 2));
    status.next_due = Some(next_due);
    status.overdue_after = Some(overdue_after);
    status.state = if now > overdue_after {
        DueState::Overdue
    } else if now >= minus(next_due, window) {
        DueState::DueSoon
    } else {
        DueState::Ok
    };
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::{at, content};

    const DAILY: (&str, &str) = (
        "procedures/backup.md",
        "---\ntitle: Verify backup\nevery: 1d\ngrace: 12h\n---\nSteps\n",
    );

    fn entry(id: &str, at: &str, extra: &str) -> (String, String) {
        (
            format!("logbook/{}/{}/{id}.md", &at[..4], &at[5..7]),
            format!("---\nat: {at}\nby: bob\n{extra}---\nNotes\n"),
        )
    }

    fn load(extra: &[(String, String)]) -> Content {
        let mut files = vec![DAILY];
        files.extend(extra.iter().map(|(p, t)| (p.as_str(), t.as_str())));
        content(&files)
    }

    fn state_at(content: &Content, now: &str) -> ProcedureStatus {
        statuses(content, at(now))["backup"].clone()
    }

    fn done_once() -> Content {
        load(&[entry(
            "2026-11-20-backup",
            "2026-11-20T02:00:00Z",
            "procedure: backup\ndisposition: ok\n",
        )])
    }

    #[test]
    fn dates_follow_from_the_last_done_entry() {
        let status = state_at(&done_once(), "2026-11-20T03:00:00Z");
        assert_eq!(status.state, DueState::Ok);
        assert_eq!(status.last_done, Some(at("2026-11-20T02:00:00Z")));
        assert_eq!(status.last_entry.as_deref(), Some("2026-11-20-backup"));
        assert_eq!(status.next_due, Some(at("2026-11-21T02:00:00Z")));
        assert_eq!(status.overdue_after, Some(at("2026-11-21T14:00:00Z")));
    }

    #[test]
    fn due_soon_starts_exactly_due_soon_before_the_due_date() {
        // The default due_soon is 1d, capped at half the 1d interval: next_due
        // 2026-11-21T02:00 → due soon from 2026-11-20T14:00, not from the moment it was done.
        let content = done_once();
        assert_eq!(
            state_at(&content, "2026-11-20T13:59:59Z").state,
            DueState::Ok
        );
        assert_eq!(
            state_at(&content, "2026-11-20T14:00:00Z").state,
            DueState::DueSoon
        );
    }

    #[test]
    fn within_grace_is_due_soon_and_after_it_overdue() {
        let content = done_once();
        assert_eq!(
            state_at(&content, "2026-11-21T02:00:01Z").state,
            DueState::DueSoon
        );
        assert_eq!(
            state_at(&content, "2026-11-21T14:00:00Z").state,
            DueState::DueSoon
        );
        assert_eq!(
            state_at(&content, "2026-11-21T14:00:01Z").state,
            DueState::Overdue
        );
    }

    #[test]
    fn without_grace_overdue_starts_right_after_the_due_date() {
        let content = content(&[
            ("procedures/backup.md", "---\ntitle: B\nevery: 1d\n---\n"),
            (
                "logbook/2026/11/e.md",
                "---\nat: 2026-11-20T00:00:00Z\nby: bob\nprocedure: backup\n---\n",
            ),
        ]);
        let status = state_at(&content, "2026-11-21T00:00:00Z");
        assert_eq!(status.state, DueState::DueSoon);
        assert_eq!(status.overdue_after, status.next_due);
        assert_eq!(
            state_at(&content, "2026-11-21T00:00:01Z").state,
            DueState::Overdue
        );
    }

    #[test]
    fn due_soon_comes_from_the_config() {
        let mut files = vec![
            (
                "glassroom.yaml",
                "title: T\nalerts:\n  procedures: { due_soon: 2h }\n",
            ),
            DAILY,
        ];
        let (path, text) = entry(
            "e",
            "2026-11-20T02:00:00Z",
            "procedure: backup\ndisposition: ok\n",
        );
        files.push((&path, &text));
        let content = content(&files);
        assert_eq!(
            state_at(&content, "2026-11-20T23:59:59Z").state,
            DueState::Ok
        );
        assert_eq!(
            state_at(&content, "2026-11-21T00:00:00Z").state,
            DueState::DueSoon
        );
    }

    #[test]
    fn never_done_when_scheduled_without_entries() {
        let status = state_at(&load(&[]), "2026-11-20T00:00:00Z");
        assert_eq!(status.state, DueState::NeverDone);
        assert_eq!(status.last_done, None);
        assert_eq!(status.next_due, None);
        assert_eq!(status.overdue_after, None);
    }

    #[test]
    fn on_demand_without_every_but_remembers_the_last_execution() {
        let content = content(&[
            ("procedures/failover.md", "---\ntitle: Failover\n---\n"),
            (
                "logbook/2026/10/f.md",
                "---\nat: 2026-10-03T06:45:00Z\nby: bob\nprocedure: failover\ndisposition: ok\n---\n",
            ),
        ]);
        let status = &statuses(&content, at("2030-01-01T00:00:00Z"))["failover"];
        assert_eq!(status.state, DueState::OnDemand);
        assert_eq!(status.last_done, Some(at("2026-10-03T06:45:00Z")));
        assert_eq!(status.next_due, None);
    }

    #[test]
    fn ok_info_problem_and_absent_dispositions_count_as_done() {
        for disposition in [
            "disposition: ok\n",
            "disposition: info\n",
            "disposition: problem\n",
            "",
        ] {
            let content = load(&[entry(
                "e",
                "2026-11-20T02:00:00Z",
                &format!("procedure: backup\n{disposition}"),
            )]);
            let status = state_at(&content, "2026-11-20T01:00:00Z");
            assert_eq!(status.state, DueState::Ok, "{disposition:?}");
            assert_eq!(status.last_entry.as_deref(), Some("e"), "{disposition:?}");
        }
    }

    #[test]
    fn thread_replies_do_not_count_as_done() {
        for disposition in ["acknowledged", "ignored", "belay", "end"] {
            let content = load(&[
                entry(
                    "first",
                    "2026-11-10T02:00:00Z",
                    "procedure: backup\ndisposition: ok\n",
                ),
                entry(
                    "reply",
                    "2026-11-20T02:00:00Z",
                    &format!("procedure: backup\ndisposition: {disposition}\nreply_to: first\n"),
                ),
            ]);
            let status = state_at(&content, "2026-11-20T03:00:00Z");
            assert_eq!(status.last_entry.as_deref(), Some("first"), "{disposition}");
            assert_eq!(status.state, DueState::Overdue, "{disposition}");
        }
    }

    #[test]
    fn the_latest_entry_wins_and_ties_go_to_the_greater_id() {
        let content = load(&[
            entry("b-late", "2026-11-20T02:00:00Z", "procedure: backup\n"),
            entry("a-early", "2026-11-19T02:00:00Z", "procedure: backup\n"),
            entry("c-tie", "2026-11-20T02:00:00Z", "procedure: backup\n"),
            entry("d-other", "2026-11-21T02:00:00Z", ""),
        ]);
        let status = state_at(&content, "2026-11-20T03:00:00Z");
        assert_eq!(status.last_entry.as_deref(), Some("c-tie"));
    }
}
