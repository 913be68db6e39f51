//! What the content implies at a given moment: alerts, procedure due dates, logbook
//! threads, ticket reports, the calendar of due dates, the joins between entities and
//! site runbooks.
//!
//! Every function here is pure: it reads [`Content`] and, where time matters, takes "now"
//! as a [`Moment`] argument instead of reading the clock, so the same input always gives
//! the same output (reproducible builds) and every rule can be tested at its boundaries.
//! The render stage only formats what is computed here; it never joins or counts itself.

pub mod alerts;
mod fields;
pub mod plans;
pub mod procedures;
pub mod relations;
pub mod threads;
pub mod tickets;
mod time;
pub mod upcoming;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::content::types::Moment;
use crate::content::{Content, Kind};
use crate::memo::{Memo, Stamp, Stamper};

pub use alerts::{Alert, AlertKind, Severity};
pub use plans::{Action, Operation, Plan, Step, UnknownSite, plan};
pub use procedures::{DueState, ProcedureStatus};
pub use relations::Relations;
pub use threads::{Thread, ThreadState};
pub use tickets::{Breakdown, ReleaseDelivery, Stats, TicketReport};
pub use upcoming::{DueItem, DueKind};

/// Everything the site shows that is not written verbatim in a file. The parts are
/// shared with the memo that made them ([`Memos`]).
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// The moment everything was derived for.
    pub now: Moment,
    /// Most urgent first (see [`alerts::alerts`]).
    pub alerts: Arc<Vec<Alert>>,
    /// Procedure id → its due state.
    pub procedures: Arc<BTreeMap<String, ProcedureStatus>>,
    /// Most recently active first.
    pub threads: Arc<Vec<Thread>>,
    pub ticket_report: Arc<TicketReport>,
    /// Every due date, past or future, earliest first.
    pub upcoming: Arc<Vec<DueItem>>,
    pub relations: Relations,
    /// Fingerprints of each part's value, for the memos of later stages.
    #[serde(skip)]
    pub stamps: Stamps,
}

/// The fingerprint of the value of each part of [`Derived`] (of its JSON form), so a
/// computation that reads a part is done again only when the part's value changed, not
/// whenever it was derived again.
#[derive(Debug, Clone, Default)]
pub struct Stamps {
    pub alerts: Stamp,
    /// The alerts about each kind of subject (`"certificate"` → …), for pages that show
    /// only their own kind's.
    pub alerts_by_kind: BTreeMap<&'static str, Stamp>,
    pub procedures: Stamp,
    pub threads: Stamp,
    pub ticket_report: Stamp,
    pub upcoming: Stamp,
    /// The relations, each join by its field name.
    pub relations: BTreeMap<&'static str, Stamp>,
}

impl Stamps {
    /// The fingerprint of the alerts about subjects of `kind` (an empty list's when there
    /// are none).
    pub fn alerts_of(&self, kind: &str) -> Stamp {
        self.alerts_by_kind
            .get(kind)
            .copied()
            .unwrap_or_else(|| value_stamp(&Vec::<Alert>::new()))
    }

    /// The fingerprint of the join `name` of the relations.
    pub fn relation(&self, name: &str) -> Stamp {
        self.relations.get(name).copied().unwrap_or_default()
    }
}

/// The fingerprint of a value, through its JSON form.
pub fn value_stamp<T: Serialize + ?Sized>(value: &T) -> Stamp {
    *blake3::hash(&serde_json::to_vec(value).unwrap_or_default()).as_bytes()
}

impl Derived {
    /// Adds the alerts of a verified history ([`alerts::trust_alerts`]), keeping the most
    /// severe first.
    pub fn add_trust_alerts(
        &mut self,
        report: &crate::trust::history::Report,
        left_out: &[crate::content::LeftOut],
    ) {
        let pending = alerts::trust_alerts(report, left_out);
        if pending.is_empty() {
            return;
        }
        let alerts = Arc::make_mut(&mut self.alerts);
        alerts.extend(pending);
        alerts.sort_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then_with(|| (a.due.is_none(), a.due).cmp(&(b.due.is_none(), b.due)))
                .then_with(|| a.path.cmp(&b.path))
        });
        self.stamp_alerts();
    }

    fn stamp_alerts(&mut self) {
        let (all, by_kind) = alert_stamps(&self.alerts);
        self.stamps.alerts = all;
        self.stamps.alerts_by_kind = by_kind;
    }
}

fn alert_stamps(alerts: &[Alert]) -> (Stamp, BTreeMap<&'static str, Stamp>) {
    let mut by_kind: BTreeMap<&'static str, Vec<&Alert>> = BTreeMap::new();
    for alert in alerts {
        by_kind.entry(alert.subject_kind).or_default().push(alert);
    }
    let by_kind = by_kind
        .into_iter()
        .map(|(kind, alerts)| (kind, value_stamp(&alerts)))
        .collect();
    (value_stamp(alerts), by_kind)
}

/// A derived value (shared with the [`Derived`] of every build that uses it) with the
/// fingerprint of its JSON form.
type Stamped<T> = (Arc<T>, Stamp);

fn stamped<T: Serialize>(value: T) -> Stamped<T> {
    let stamp = value_stamp(&value);
    (Arc::new(value), stamp)
}

/// The alerts with the fingerprints of all of them and of each subject kind's.
type StampedAlerts = (Arc<Vec<Alert>>, Stamp, BTreeMap<&'static str, Stamp>);

/// What earlier derivations in this process computed, each part with the fingerprints
/// of the kinds of content (and "now") it read. The default keeps nothing.
#[derive(Debug, Default)]
pub struct Memos {
    procedures: Memo<Stamped<BTreeMap<String, ProcedureStatus>>>,
    threads: Memo<Stamped<Vec<Thread>>>,
    ticket_report: Memo<Stamped<TicketReport>>,
    alerts: Memo<StampedAlerts>,
    upcoming: Memo<Stamped<Vec<DueItem>>>,
    relations: [Memo<Stamped<relations::Index>>; relations::JOINS.len()],
}

impl Memos {
    pub fn keeping() -> Self {
        Self {
            procedures: Memo::keeping(),
            threads: Memo::keeping(),
            ticket_report: Memo::keeping(),
            alerts: Memo::keeping(),
            upcoming: Memo::keeping(),
            relations: std::array::from_fn(|_| Memo::keeping()),
        }
    }
}

/// The stamp of a part named `name` that reads the files of `kinds` (and "now", if given).
fn inputs(content: &Content, name: &str, kinds: &[Kind], now: Option<Moment>) -> Stamp {
    let mut stamper = Stamper::new(name);
    content.stamps.add(&mut stamper, kinds);
    if let Some(now) = now {
        stamper.text(&now.to_string());
    }
    stamper.finish()
}

/// Derives everything for the moment `now`.
pub fn derive(content: &Content, now: Moment) -> Derived {
    derive_with(content, now, &Memos::default())
}

/// Like [`derive`], taking from `memos` every part whose inputs did not change.
pub fn derive_with(content: &Content, now: Moment, memos: &Memos) -> Derived {
    use Kind::*;
    let statuses = || {
        let stamp = inputs(
            content,
            "statuses",
            &[Procedure, LogEntry, Config],
            Some(now),
        );
        memos
            .procedures
            .get(stamp, |_| stamped(procedures::statuses(content, now)))
            .value
    };
    let threads = || {
        let stamp = inputs(content, "threads", &[LogEntry], None);
        memos
            .threads
            .get(stamp, |_| stamped(threads::threads(content)))
            .value
    };
    let report = || {
        // What the report counts and measures: not titles, bodies or assignees.
        let mut f = crate::memo::Fields::new("ticket report");
        fields::each(&mut f, &content.tickets, |f, t| {
            fields::name(f, t.kind);
            fields::name(f, t.priority);
            fields::reference(f, t.module.as_ref());
            f.text(&t.reporter);
            fields::moment(f, &t.opened.value);
            fields::maybe_moment(f, t.first_response.as_ref().map(|m| &m.value));
            fields::maybe_moment(f, t.closed.as_ref().map(|m| &m.value));
            fields::reference(f, t.fixed_in.as_ref());
        });
        fields::each(&mut f, &content.releases, |f, r| {
            f.text(&r.module.value).text(&r.version.value);
        });
        let stamp = f.finish();
        memos
            .ticket_report
            .get(stamp, |_| stamped(tickets::report(content)))
            .value
    };
    let relations = || relations::relations_with(content, &memos.relations);
    // Independent joins, two at a time (each pure).
    let ((procedures, threads), (ticket_report, relations)) = rayon::join(
        || rayon::join(statuses, threads),
        || rayon::join(report, relations),
    );
    let (alerts, upcoming) = rayon::join(
        || {
            let mut stamp = Stamper::new("alerts");
            content.stamps.add(
                &mut stamp,
                &[Certificate, Domain, Procedure, Ticket, Release, Config],
            );
            stamp.stamp(&procedures.1).text(&now.to_string());
            memos
                .alerts
                .get(stamp.finish(), |_| {
                    let alerts = alerts::alerts(content, &procedures.0, now);
                    let (all, by_kind) = alert_stamps(&alerts);
                    (Arc::new(alerts), all, by_kind)
                })
                .value
        },
        || {
            let mut stamp = Stamper::new("upcoming");
            content
                .stamps
                .add(&mut stamp, &[Certificate, Domain, Procedure, Release]);
            stamp.stamp(&procedures.1);
            memos
                .upcoming
                .get(stamp.finish(), |_| {
                    stamped(upcoming::upcoming(content, &procedures.0))
                })
                .value
        },
    );
    let (relations, relation_stamps) = relations;
    Derived {
        now,
        alerts: Arc::clone(&alerts.0),
        threads: Arc::clone(&threads.0),
        ticket_report: Arc::clone(&ticket_report.0),
        upcoming: Arc::clone(&upcoming.0),
        relations,
        procedures: Arc::clone(&procedures.0),
        stamps: Stamps {
            procedures: procedures.1,
            threads: threads.1,
            ticket_report: ticket_report.1,
            upcoming: upcoming.1,
            relations: relation_stamps,
            alerts: alerts.1,
            alerts_by_kind: alerts.2.clone(),
        },
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
