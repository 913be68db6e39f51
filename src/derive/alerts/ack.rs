//! Acknowledging an alert from the logbook: someone says "I have seen this, I am on it",
//! and the dashboard stops counting the alert as needing someone while that holds.
//!
//! An entry with disposition `acknowledged` acknowledges the alert about a subject when
//! it is in a thread about that subject: the entry itself is `about:` it (or records
//! its procedure), or it answers, directly or not, an entry that is (the entry that
//! reported the problem). The latest such entry decides ([`acknowledgement`]); it holds
//! while all of these are true:
//! - it was written no later than now;
//! - its `until:` day, if it has one, has not passed;
//! - the alert was already there when it was written, and is not more severe now than
//!   it was then (an acknowledgement covers the severity it saw: a warning acknowledged
//!   comes back as soon as it turns critical).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Alert, Severity};
use crate::content::types::{Date, Moment};
use crate::content::{Content, Disposition};
use crate::derive::threads::Thread;

/// Who acknowledged an alert, when, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    /// The logbook entry that acknowledges it.
    pub entry: String,
    pub by: String,
    pub at: Moment,
    /// The last day it holds, if the entry says.
    pub until: Option<Date>,
    /// The severity it saw (and covers).
    pub severity: Severity,
}

/// An entry that may acknowledge an alert, with the severity of the alert when it was
/// written (`None`: there was no alert then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub entry: String,
    pub by: String,
    pub at: Moment,
    pub until: Option<Date>,
    pub saw: Option<Severity>,
}

/// Whether an alert of severity `current` is acknowledged at `now` by `candidates`
/// (acknowledging entries of threads about its subject, in any order): by the latest
/// one written no later than `now` (ties by entry id), if that one still holds (see the
/// module's rules). An older acknowledgement never stands in for a newer one that no
/// longer holds: the newer one said what is known now.
pub fn acknowledgement(
    current: Severity,
    candidates: &[Candidate],
    now: Moment,
) -> Option<Acknowledgement> {
    let latest = candidates
        .iter()
        .filter(|c| c.at <= now)
        .max_by(|a, b| (a.at, &a.entry).cmp(&(b.at, &b.entry)))?;
    if latest.until.is_some_and(|until| until < now.date()) {
        return None;
    }
    // Severities order most urgent first: `current < saw` means it got worse.
    let saw = latest.saw?;
    if current < saw {
        return None;
    }
    Some(Acknowledgement {
        entry: latest.entry.clone(),
        by: latest.by.clone(),
        at: latest.at,
        until: latest.until,
        severity: saw,
    })
}

/// Fills in each alert's thread (the most recently active one about its subject) and
/// acknowledgement, from `threads` (most recently active first).
pub(super) fn attach(alerts: &mut [Alert], content: &Content, threads: &[Thread], now: Moment) {
    if alerts.is_empty() {
        return;
    }
    let by_id: BTreeMap<&str, &crate::content::Document<crate::content::LogEntry>> =
        content.logbook.iter().map(|e| (e.id.as_str(), e)).collect();
    // Subject → its threads, most recently active first.
    let mut about: BTreeMap<&str, Vec<&Thread>> = BTreeMap::new();
    for thread in threads {
        for subject in &thread.subjects {
            about.entry(subject.as_str()).or_default().push(thread);
        }
    }
    for alert in alerts.iter_mut() {
        let subject = format!("{}/{}", alert.subject_kind, alert.subject);
        let Some(threads) = about.get(subject.as_str()) else {
            continue;
        };
        alert.thread = threads.first().map(|t| t.root.clone());
        let candidates: Vec<Candidate> = threads
            .iter()
            .flat_map(|t| &t.entries)
            .filter_map(|id| by_id.get(id.as_str()))
            .filter(|e| e.data.disposition == Some(Disposition::Acknowledged))
            .map(|e| Candidate {
                entry: e.id.clone(),
                by: e.data.by.clone(),
                at: e.data.at.value,
                until: e.data.until.as_ref().map(|u| u.value),
                saw: super::severity_at(
                    content,
                    alert.subject_kind,
                    &alert.subject,
                    e.data.at.value,
                ),
            })
            .collect();
        alert.acknowledged = acknowledgement(alert.severity, &candidates, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::*;

    fn at(text: &str) -> Moment {
        crate::derive::fixture::at(text)
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn ack(entry: &str, when: &str, saw: Option<Severity>, until: Option<&str>) -> Candidate {
        Candidate {
            entry: entry.into(),
            by: "bob".into(),
            at: at(when),
            until: until.map(date),
            saw,
        }
    }

    const NOW: &str = "2026-11-22T12:00:00Z";

    #[test]
    fn nothing_acknowledges_without_an_acknowledging_entry() {
        assert_eq!(acknowledgement(Warning, &[], at(NOW)), None);
    }

    #[test]
    fn an_acknowledgement_after_the_alert_started_holds_with_who_and_when() {
        let found = acknowledgement(
            Critical,
            &[ack("a", "2026-11-21T09:00:00Z", Some(Critical), None)],
            at(NOW),
        );
        assert_eq!(
            found,
            Some(Acknowledgement {
                entry: "a".into(),
                by: "bob".into(),
                at: at("2026-11-21T09:00:00Z"),
                until: None,
                severity: Critical,
            })
        );
    }

    #[test]
    fn an_acknowledgement_before_the_alert_started_does_not_cover_it() {
        let early = ack("a", "2026-11-01T09:00:00Z", None, None);
        assert_eq!(acknowledgement(Warning, &[early], at(NOW)), None);
    }

    #[test]
    fn an_entry_written_after_now_does_not_count_yet() {
        let later = ack("a", "2026-11-23T09:00:00Z", Some(Warning), None);
        assert_eq!(
            acknowledgement(Warning, std::slice::from_ref(&later), at(NOW)),
            None
        );
        // ...and it does once its time has come.
        assert!(acknowledgement(Warning, &[later], at("2026-11-23T09:00:00Z")).is_some());
    }

    #[test]
    fn until_holds_through_its_day_and_not_after() {
        let bounded = [ack(
            "a",
            "2026-11-20T09:00:00Z",
            Some(Warning),
            Some("2026-11-22"),
        )];
        assert!(acknowledgement(Warning, &bounded, at("2026-11-22T23:59:59Z")).is_some());
        assert_eq!(
            acknowledgement(Warning, &bounded, at("2026-11-23T00:00:00Z")),
            None
        );
    }

    #[test]
    fn a_worse_severity_than_the_one_seen_brings_the_alert_back() {
        let saw_warning = [ack("a", "2026-11-20T09:00:00Z", Some(Warning), None)];
        assert!(acknowledgement(Warning, &saw_warning, at(NOW)).is_some());
        assert_eq!(acknowledgement(Critical, &saw_warning, at(NOW)), None);
        // Better than it was is still covered.
        let saw_critical = [ack("a", "2026-11-20T09:00:00Z", Some(Critical), None)];
        assert!(acknowledgement(Warning, &saw_critical, at(NOW)).is_some());
    }

    #[test]
    fn the_latest_acknowledgement_decides() {
        let candidates = [
            ack("old", "2026-11-10T09:00:00Z", Some(Critical), None),
            ack(
                "new",
                "2026-11-20T09:00:00Z",
                Some(Critical),
                Some("2026-11-21"),
            ),
        ];
        // The newer one has expired: the older does not stand in for it.
        assert_eq!(acknowledgement(Critical, &candidates, at(NOW)), None);
        // Before the newer one was written, the older one held.
        let found = acknowledgement(Critical, &candidates, at("2026-11-15T00:00:00Z"));
        assert_eq!(found.map(|a| a.entry), Some("old".into()));
        // A renewal re-acknowledges after a change of severity.
        let renewed = [
            ack("first", "2026-11-10T09:00:00Z", Some(Warning), None),
            ack("again", "2026-11-21T09:00:00Z", Some(Critical), None),
        ];
        let found = acknowledgement(Critical, &renewed, at(NOW));
        assert_eq!(found.map(|a| a.entry), Some("again".into()));
    }
}
