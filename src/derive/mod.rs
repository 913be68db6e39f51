//! What the content implies at a given moment: alerts, procedure due dates, logbook
//! threads, ticket reports, the calendar of due dates, the joins between entities and
//! site runbooks.
//!
//! Every function here is pure: it reads [`Content`] and, where time matters, takes "now"
//! as a [`Moment`] argument instead of reading the clock, so the same input always gives
//! the same output (reproducible builds) and every rule can be tested at its boundaries.
//! The render stage only formats what is computed here; it never joins or counts itself.

pub mod alerts;
pub mod plans;
pub mod procedures;
pub mod relations;
pub mod threads;
pub mod tickets;
mod time;
pub mod upcoming;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::content::Content;
use crate::content::types::Moment;

pub use alerts::{Alert, AlertKind, Severity};
pub use plans::{Action, Operation, Plan, Step, UnknownSite, plan};
pub use procedures::{DueState, ProcedureStatus};
pub use relations::Relations;
pub use threads::{Thread, ThreadState};
pub use tickets::{Breakdown, ReleaseDelivery, Stats, TicketReport};
pub use upcoming::{DueItem, DueKind};

/// Everything the site shows that is not written verbatim in a file.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// The moment everything was derived for.
    pub now: Moment,
    /// Most urgent first (see [`alerts::alerts`]).
    pub alerts: Vec<Alert>,
    /// Procedure id → its due state.
    pub procedures: BTreeMap<String, ProcedureStatus>,
    /// Most recently active first.
    pub threads: Vec<Thread>,
    pub ticket_report: TicketReport,
    /// Every due date, past or future, earliest first.
    pub upcoming: Vec<DueItem>,
    pub relations: Relations,
}

impl Derived {
    /// Adds an alert for every pending or refused file of a verified history, keeping
    /// the most severe first.
    pub fn add_pending_alerts(&mut self, report: &crate::trust::history::Report) {
        self.alerts.extend(alerts::pending_alerts(report));
        self.alerts.sort_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then_with(|| (a.due.is_none(), a.due).cmp(&(b.due.is_none(), b.due)))
                .then_with(|| a.path.cmp(&b.path))
        });
    }
}

/// Derives everything for the moment `now`.
pub fn derive(content: &Content, now: Moment) -> Derived {
    // Independent joins, two at a time (each pure).
    let ((procedures, threads), (ticket_report, relations)) = rayon::join(
        || {
            rayon::join(
                || procedures::statuses(content, now),
                || threads::threads(content),
            )
        },
        || {
            rayon::join(
                || tickets::report(content),
                || relations::relations(content),
            )
        },
    );
    let (alerts, upcoming) = rayon::join(
        || alerts::alerts(content, &procedures, now),
        || upcoming::upcoming(content, &procedures),
    );
    Derived {
        now,
        alerts,
        threads,
        ticket_report,
        upcoming,
        relations,
        procedures,
    }
}

/// Small in-memory repositories for the unit tests of every derive rule.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::content::types::Moment;
    use crate::content::{self, Content};
    use crate::source::Tree;

    /// Loads `files` (path, text) plus a minimal `glassroom.yaml` unless one is given,
    /// and fails the test on any error other than the missing policy (which derive
    /// never reads), so a typo in a fixture cannot silently weaken a test.
    pub fn content(files: &[(&str, &str)]) -> Content {
        let mut tree = Tree::new();
        tree.insert("glassroom.yaml", "title: Test\n");
        for (path, text) in files {
            tree.insert(*path, *text);
        }
        let loaded = content::load(&tree);
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != "missing-policy")
            .collect();
        assert!(errors.is_empty(), "fixture has errors: {errors:#?}");
        loaded.content
    }

    /// Parses a moment written as in the content files.
    pub fn at(text: &str) -> Moment {
        text.parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{at, content};
    use super::*;

    #[test]
    fn derive_runs_every_stage() {
        let content = content(&[
            (
                "procedures/backup.md",
                "---\ntitle: Backup\nevery: 1d\n---\nSteps\n",
            ),
            (
                "certificates/www.yaml",
                "common_name: www.example.org\nnot_after: 2026-11-25\n",
            ),
        ]);
        let derived = derive(&content, at("2026-11-22T00:00:00Z"));
        assert_eq!(derived.procedures["backup"].state, DueState::NeverDone);
        let kinds: Vec<AlertKind> = derived.alerts.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![
                AlertKind::CertificateExpiring,
                AlertKind::ProcedureNeverDone
            ]
        );
        assert_eq!(derived.upcoming.len(), 1);
        assert!(derived.threads.is_empty());
        assert_eq!(derived.ticket_report.overall.tickets, 0);
        let json = serde_json::to_value(&derived).unwrap();
        assert_eq!(json["now"], "2026-11-22T00:00:00Z");
        assert_eq!(json["alerts"][0]["severity"], "critical");
    }
}
