//! What the content implies at a given moment: alerts, procedure due dates, logbook
//! threads, ticket reports, the calendar of due dates, the joins between entities and
//! site runbooks.
//!
//! Every function here is pure: it reads [`Content`] and, where time matters, takes "now"
//! as a [`Moment`] argument instead of reading the clock, so the same input always gives
//! the same output (reproducible builds) and every rule can be tested at its boundaries.
//! The render stage only formats what is computed here; it never joins or counts itself:
//! the groupings the pages show (alerts by subject and their counts, the ticket list's
//! groups, the logbook's months, the flag overview, every site's runbooks) are parts of
//! [`Derived`] too, each with its stamp.

pub mod alerts;
pub mod channels;
mod fields;
pub mod flags;
pub mod months;
pub mod plans;
pub mod procedures;
pub mod relations;
pub mod subscriptions;
pub mod threads;
pub mod ticket_groups;
pub mod tickets;
mod time;
pub mod upcoming;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::content::types::Moment;
use crate::content::{Content, Kind};
use crate::memo::{Memo, Stamp, Stamper};

pub use alerts::{Acknowledgement, Alert, AlertGroups, AlertKind, Reason, Severity};
pub use channels::{CHANNEL_KINDS, Channels};
pub use flags::{FeatureSummary, Flags, OverrideRow};
pub use months::{Logbook, Month, ThreadView};
pub use plans::{Action, Operation, Plan, Runbooks, Step, UnknownSite, plan};
pub use procedures::{DueState, ProcedureStatus};
pub use relations::Relations;
pub use threads::{Thread, ThreadState};
pub use ticket_groups::TicketGroups;
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
    /// The alerts by subject, and their counts.
    pub alert_groups: Arc<AlertGroups>,
    /// Procedure id → its due state.
    pub procedures: Arc<BTreeMap<String, ProcedureStatus>>,
    /// Most recently active first.
    pub threads: Arc<Vec<Thread>>,
    /// The threads with their entries' reply depths, and the months.
    pub logbook: Arc<Logbook>,
    pub ticket_report: Arc<TicketReport>,
    /// The ticket list's groups.
    pub ticket_groups: Arc<TicketGroups>,
    /// The flag overview: feature summaries and overrides.
    pub flags: Arc<Flags>,
    /// Every site's runbooks.
    pub runbooks: Arc<Runbooks>,
    /// Every due date, past or future, earliest first.
    pub upcoming: Arc<Vec<DueItem>>,
    pub relations: Relations,
    /// Fingerprints of each part's value, for the memos of later stages.
    #[serde(skip)]
    pub stamps: Stamps,
}

/// The fingerprint of the value of each part of [`Derived`] (of its JSON form), so a
/// computation that reads a part is done again only when the part's value changed, not
/// whenever it was derived again. The parts computed from few inputs (`logbook`, `flags`,
/// `runbooks`) have the fingerprint of their inputs instead, which is cheaper to make
/// and changes at least as often.
#[derive(Debug, Clone, Default)]
pub struct Stamps {
    /// All the alerts, and so their groups too.
    pub alerts: Stamp,
    /// The alerts about each kind of subject (`"certificate"` → …), for pages that show
    /// only their own kind's.
    pub alerts_by_kind: BTreeMap<&'static str, Stamp>,
    pub procedures: Stamp,
    pub threads: Stamp,
    pub logbook: Stamp,
    pub ticket_report: Stamp,
    pub ticket_groups: Stamp,
    pub flags: Stamp,
    pub runbooks: Stamp,
    pub upcoming: Stamp,
    /// The relations, each join by its field name.
    pub relations: BTreeMap<&'static str, Stamp>,
}

impl Stamps {
    /// The fingerprint of the alerts about subjects of `kind` (an empty list's when there
    /// are none).
    pub fn alerts_of(&self, kind: &str) -> Stamp {
        self.alerts_by_kind.get(kind).copied().unwrap_or_default()
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
        let parts = AlertParts::of(Arc::clone(&self.alerts));
        self.alert_groups = parts.groups;
        self.stamps.alerts = parts.all;
        self.stamps.alerts_by_kind = parts.by_kind;
    }
}

/// The alerts with their groups, the fingerprint of all of them and of each subject
/// kind's (of its group).
#[derive(Debug)]
struct AlertParts {
    alerts: Arc<Vec<Alert>>,
    groups: Arc<AlertGroups>,
    all: Stamp,
    by_kind: BTreeMap<&'static str, Stamp>,
}

impl AlertParts {
    fn of(alerts: Arc<Vec<Alert>>) -> Self {
        let groups = alerts::group(&alerts);
        let by_kind = groups
            .by_subject
            .iter()
            .map(|(kind, by_subject)| (*kind, value_stamp(by_subject)))
            .collect();
        Self {
            all: value_stamp(&*alerts),
            alerts,
            groups: Arc::new(groups),
            by_kind,
        }
    }
}

/// A derived value (shared with the [`Derived`] of every build that uses it) with the
/// fingerprint of its JSON form.
type Stamped<T> = (Arc<T>, Stamp);

fn stamped<T: Serialize>(value: T) -> Stamped<T> {
    let stamp = value_stamp(&value);
    (Arc::new(value), stamp)
}

/// A derived value with the fingerprint of its inputs (see [`Stamps`]).
fn stamped_by<T>(value: T, inputs: Stamp) -> Stamped<T> {
    (Arc::new(value), inputs)
}

/// What earlier derivations in this process computed, each part with the fingerprints
/// of the kinds of content (and "now") it read. The default keeps nothing.
#[derive(Debug, Default)]
pub struct Memos {
    procedures: Memo<Stamped<BTreeMap<String, ProcedureStatus>>>,
    threads: Memo<Stamped<Vec<Thread>>>,
    logbook: Memo<Stamped<Logbook>>,
    ticket_report: Memo<Stamped<TicketReport>>,
    ticket_groups: Memo<Stamped<TicketGroups>>,
    flags: Memo<Stamped<Flags>>,
    runbooks: Memo<Stamped<Runbooks>>,
    alerts: Memo<AlertParts>,
    upcoming: Memo<Stamped<Vec<DueItem>>>,
    relations: [Memo<Stamped<relations::Index>>; relations::JOINS.len()],
}

impl Memos {
    pub fn keeping() -> Self {
        Self {
            procedures: Memo::keeping(),
            threads: Memo::keeping(),
            logbook: Memo::keeping(),
            ticket_report: Memo::keeping(),
            ticket_groups: Memo::keeping(),
            flags: Memo::keeping(),
            runbooks: Memo::keeping(),
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
    let ticket_groups = || {
        memos
            .ticket_groups
            .get(ticket_groups::reads(content), |_| {
                stamped(ticket_groups::ticket_groups(content))
            })
            .value
    };
    let flags = || {
        let stamp = inputs(content, "flags", &[Feature, AccountSet, Overrides], None);
        memos
            .flags
            .get(stamp, |_| stamped_by(flags::flags(content), stamp))
            .value
    };
    let runbooks = || {
        let stamp = inputs(content, "runbooks", &[Site, Service], None);
        memos
            .runbooks
            .get(stamp, |_| stamped_by(plans::runbooks(content), stamp))
            .value
    };
    // Independent joins, two at a time (each pure).
    let (((procedures, threads), (ticket_report, relations)), ((ticket_groups, flags), runbooks)) =
        rayon::join(
            || {
                rayon::join(
                    || rayon::join(statuses, threads),
                    || rayon::join(report, relations),
                )
            },
            || rayon::join(|| rayon::join(ticket_groups, flags), runbooks),
        );
    let logbook = || {
        let mut stamp = Stamper::new("logbook");
        // Releases: a module's threads include those about its releases.
        content.stamps.add(&mut stamp, &[LogEntry, Release]);
        let stamp = stamp.stamp(&threads.1).finish();
        memos
            .logbook
            .get(stamp, |_| {
                stamped_by(months::logbook(content, &threads.0), stamp)
            })
            .value
    };
    let alerts = || {
        let mut stamp = Stamper::new("alerts");
        // The logbook's entries acknowledge alerts.
        content.stamps.add(
            &mut stamp,
            &[
                Certificate,
                Domain,
                Procedure,
                Ticket,
                Release,
                Config,
                LogEntry,
            ],
        );
        stamp.stamp(&procedures.1).text(&now.to_string());
        memos
            .alerts
            .get(stamp.finish(), |_| {
                AlertParts::of(Arc::new(alerts::alerts(
                    content,
                    &procedures.0,
                    &threads.0,
                    now,
                )))
            })
            .value
    };
    let upcoming = || {
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
    };
    // What reads the procedures' states and the threads.
    let ((alerts, upcoming), logbook) = rayon::join(|| rayon::join(alerts, upcoming), logbook);
    let (relations, relation_stamps) = relations;
    Derived {
        now,
        alerts: Arc::clone(&alerts.alerts),
        alert_groups: Arc::clone(&alerts.groups),
        threads: Arc::clone(&threads.0),
        logbook: Arc::clone(&logbook.0),
        ticket_report: Arc::clone(&ticket_report.0),
        ticket_groups: Arc::clone(&ticket_groups.0),
        flags: Arc::clone(&flags.0),
        runbooks: Arc::clone(&runbooks.0),
        upcoming: Arc::clone(&upcoming.0),
        relations,
        procedures: Arc::clone(&procedures.0),
        stamps: Stamps {
            procedures: procedures.1,
            threads: threads.1,
            logbook: logbook.1,
            ticket_report: ticket_report.1,
            ticket_groups: ticket_groups.1,
            flags: flags.1,
            runbooks: runbooks.1,
            upcoming: upcoming.1,
            relations: relation_stamps,
            alerts: alerts.all,
            alerts_by_kind: alerts.by_kind.clone(),
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
