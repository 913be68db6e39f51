//! The dashboard's alerts: what needs someone's attention, how urgently, and which file
//! causes it (fixing that file is what makes the alert go away).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

pub mod ack;
mod groups;
pub use ack::Acknowledgement;
mod started;
pub use groups::{AlertGroups, BySubject, group};
pub use started::started;

use super::procedures::{DueState, ProcedureStatus, alert_config};
use super::threads::Thread;
use super::time::{days_between, minus, relative_days, year_before};
use crate::content::types::{Date, Moment};
use crate::content::{
    Certificate, Content, Document, Domain, ExpiryWindow, Priority, Procedure, Release,
    ReleaseStatus, Ticket, TicketStatus,
};

/// How urgent an alert is. Ordered most urgent first, so sorting puts critical on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

/// What an alert is about; a stable name for templates, CSS classes and feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    CertificateExpired,
    CertificateExpiring,
    DomainExpired,
    DomainExpiring,
    DomainUnpaid,
    ProcedureOverdue,
    ProcedureNeverDone,
    TicketOpenHighPriority,
    StaleRelease,
    /// Changed files that wait for a signature.
    PendingSignature,
    /// Changed files whose change was refused.
    RefusedChange,
    /// Pre-approved files left out because they have errors.
    LeftOut,
}

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub severity: Severity,
    pub kind: AlertKind,
    /// The id of the entity the alert is about.
    pub subject: String,
    /// The kind of that entity: "certificate", "domain", "procedure", "ticket", "release".
    pub subject_kind: &'static str,
    /// The file that causes the alert.
    pub path: String,
    /// One human sentence.
    pub message: String,
    /// When the thing expires, expired or fell due, if it has such a date.
    pub due: Option<Moment>,
    /// Every problem of the subject, most severe first: one alert per subject lists
    /// them all, at the severity of the worst (whose kind and message are the alert's).
    pub reasons: Vec<Reason>,
    /// Who acknowledged the alert, when a logbook entry does and it still holds.
    pub acknowledged: Option<Acknowledgement>,
    /// The root entry of the most recently active thread about the subject, if any:
    /// where the alert is discussed.
    pub thread: Option<String>,
}

/// One problem of an alert's subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub severity: Severity,
    pub kind: AlertKind,
    pub message: String,
    pub due: Option<Moment>,
}

/// Every alert at `now`, one per subject (see [`merge`]), each acknowledged or not by
/// the logbook's `threads` ([`ack`]): most severe first, then earliest due (undated
/// last), then by path, kind and subject so the order never depends on how the content
/// was read.
pub fn alerts(
    content: &Content,
    procedures: &BTreeMap<String, ProcedureStatus>,
    threads: &[Thread],
    now: Moment,
) -> Vec<Alert> {
    let mut alerts = merge(problems(content, procedures, now));
    ack::attach(&mut alerts, content, threads, now);
    alerts.sort_by(compare);
    alerts
}

/// One alert per subject (kind and id) from `problems` (each about one problem): its
/// reasons are all the subject's problems, most severe first; it takes the severity,
/// kind, message and file of the worst, and the earliest due date of any.
pub fn merge(mut problems: Vec<Alert>) -> Vec<Alert> {
    problems.sort_by(compare);
    let mut merged: Vec<Alert> = Vec::new();
    let mut index: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for problem in problems {
        let reason = Reason {
            severity: problem.severity,
            kind: problem.kind,
            message: problem.message.clone(),
            due: problem.due,
        };
        let key = (problem.subject_kind, problem.subject.clone());
        match index.get(&key) {
            Some(&i) => {
                let alert = &mut merged[i];
                if let Some(due) = reason.due {
                    alert.due = Some(alert.due.map_or(due, |d| d.min(due)));
                }
                alert.reasons.push(reason);
            }
            None => {
                index.insert(key, merged.len());
                merged.push(Alert {
                    reasons: vec![reason],
                    ..problem
                });
            }
        }
    }
    merged.sort_by(compare);
    merged
}

/// Every problem at `now`, one alert each (several may be about one subject).
fn problems(
    content: &Content,
    procedures: &BTreeMap<String, ProcedureStatus>,
    now: Moment,
) -> Vec<Alert> {
    let config = alert_config(content);
    let mut alerts = Vec::new();
    for certificate in &content.certificates {
        alerts.extend(certificate_alert(
            certificate,
            config.certificates.value,
            now,
        ));
    }
    for domain in &content.domains {
        alerts.extend(domain_expiry_alert(domain, config.domains.value, now));
        alerts.extend(domain_unpaid_alert(domain, config.domains.value, now));
    }
    for procedure in &content.procedures {
        if let Some(status) = procedures.get(&procedure.id) {
            alerts.extend(procedure_alert(procedure, status));
        }
    }
    alerts.extend(content.tickets.iter().filter_map(ticket_alert));
    for release in &content.releases {
        alerts.extend(stale_release_alert(release, now));
    }
    alerts
}

/// How severe the alert about the subject `kind`/`id` was at `at`, by the same rules
/// and the current content (the files' history is not at hand): what an acknowledgement
/// written at `at` saw. `None`: there was no alert then.
pub(super) fn severity_at(content: &Content, kind: &str, id: &str, at: Moment) -> Option<Severity> {
    fn find<'c, T>(docs: &'c [Document<T>], id: &str) -> Option<&'c Document<T>> {
        docs.binary_search_by(|d| d.id.as_str().cmp(id))
            .ok()
            .and_then(|i| docs.get(i))
    }
    let config = alert_config(content);
    let found: Vec<Alert> = match kind {
        "certificate" => find(&content.certificates, id)
            .and_then(|c| certificate_alert(c, config.certificates.value, at))
            .into_iter()
            .collect(),
        "domain" => find(&content.domains, id)
            .into_iter()
            .flat_map(|d| {
                let window = config.domains.value;
                domain_expiry_alert(d, window, at)
                    .into_iter()
                    .chain(domain_unpaid_alert(d, window, at))
            })
            .collect(),
        "procedure" => find(&content.procedures, id)
            .and_then(|procedure| {
                let last = content
                    .logbook
                    .iter()
                    .filter(|e| e.data.at.value <= at && super::procedures::counts_as_done(&e.data))
                    .filter(|e| e.data.procedure.as_ref().is_some_and(|p| p.as_str() == id))
                    .max_by(|a, b| (a.data.at.value, &a.id).cmp(&(b.data.at.value, &b.id)));
                let status =
                    super::procedures::status(procedure, last, config.procedures.due_soon, at);
                procedure_alert(procedure, &status)
            })
            .into_iter()
            .collect(),
        "ticket" => find(&content.tickets, id)
            .and_then(ticket_alert)
            .into_iter()
            .collect(),
        "release" => find(&content.releases, id)
            .and_then(|r| stale_release_alert(r, at))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    found.iter().map(|a| a.severity).min()
}

fn compare(a: &Alert, b: &Alert) -> Ordering {
    let due = |alert: &Alert| (alert.due.is_none(), alert.due);
    a.severity
        .cmp(&b.severity)
        .then_with(|| due(a).cmp(&due(b)))
        .then_with(|| a.path.cmp(&b.path))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.subject.cmp(&b.subject))
}

/// How close an expiry date is, against a warn/critical window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// The date is before today: it has expired.
    Expired,
    /// It expires within the critical window (today included).
    Critical,
    /// It expires within the warn window.
    Warning,
    /// Not yet worth mentioning.
    Later,
}

/// Classifies `expires` at `now`. A thing is valid through its expiry date, so it has
/// expired only once that date is in the past; the windows are measured to the start of
/// the expiry date and include their boundary (exactly 7 days before is within 7 days).
fn expiry(expires: Date, window: ExpiryWindow, now: Moment) -> Expiry {
    let deadline = expires.start();
    if expires < now.date() {
        Expiry::Expired
    } else if now >= minus(deadline, window.critical) {
        Expiry::Critical
    } else if now >= minus(deadline, window.warn) {
        Expiry::Warning
    } else {
        Expiry::Later
    }
}

/// "expires in 4 days, on 2026-11-26" / "expired 7 days ago, on 2026-11-15".
fn expiry_phrase(expires: Date, now: Moment) -> String {
    let days = days_between(now.date(), expires);
    let verb = if days < 0 { "expired" } else { "expires" };
    format!("{verb} {}, on {expires}", relative_days(days))
}

fn certificate_alert(
    certificate: &Document<Certificate>,
    window: ExpiryWindow,
    now: Moment,
) -> Option<Alert> {
    let expires = certificate.data.not_after.value;
    let (severity, kind) = match expiry(expires, window, now) {
        Expiry::Expired => (Severity::Critical, AlertKind::CertificateExpired),
        Expiry::Critical => (Severity::Critical, AlertKind::CertificateExpiring),
        Expiry::Warning => (Severity::Warning, AlertKind::CertificateExpiring),
        Expiry::Later => return None,
    };
    Some(Alert {
        severity,
        kind,
        subject: certificate.id.clone(),
        subject_kind: "certificate",
        path: certificate.path.clone(),
        message: format!(
            "certificate {} ({}) {}",
            certificate.id,
            certificate.data.common_name,
            expiry_phrase(expires, now)
        ),
        due: Some(expires.start()),
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

fn domain_expiry_alert(
    domain: &Document<Domain>,
    window: ExpiryWindow,
    now: Moment,
) -> Option<Alert> {
    let expires = domain.data.expires.value;
    let (severity, kind) = match expiry(expires, window, now) {
        Expiry::Expired => (Severity::Critical, AlertKind::DomainExpired),
        Expiry::Critical => (Severity::Critical, AlertKind::DomainExpiring),
        Expiry::Warning => (Severity::Warning, AlertKind::DomainExpiring),
        Expiry::Later => return None,
    };
    Some(Alert {
        severity,
        kind,
        subject: domain.id.clone(),
        subject_kind: "domain",
        path: domain.path.clone(),
        message: format!(
            "domain {} ({}) {}",
            domain.id,
            domain.data.domain_name,
            expiry_phrase(expires, now)
        ),
        due: Some(expires.start()),
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

/// Whether the registration term ending at `expires` has been paid. Paying a renewal
/// moves `expires` a term further, so a payment recorded less than one calendar year
/// before `expires` is taken to be that renewal (also when the registrar has not moved
/// the date yet); a payment exactly one year before counts. No `last_paid`, or an older
/// one, means nobody has paid for the term that is running out.
fn term_is_paid(domain: &Domain) -> bool {
    domain
        .last_paid
        .as_ref()
        .is_some_and(|paid| paid.value >= year_before(domain.expires.value))
}

/// `DomainUnpaid`: a domain whose current term is not paid (see [`term_is_paid`]) and
/// whose expiry is near enough that this matters:
/// - within the warn window when `auto_renew` is off: somebody has to pay by hand, so
///   it is a warning, and critical once within the critical window;
/// - within the critical window even with `auto_renew` on: registrars renew well before
///   that, so a renewal still unpaid this late has failed (an expired card, say): critical.
///
/// An expired domain gets this alert too (with `DomainExpired`): paying is the fix.
fn domain_unpaid_alert(
    domain: &Document<Domain>,
    window: ExpiryWindow,
    now: Moment,
) -> Option<Alert> {
    let data = &domain.data;
    if term_is_paid(data) {
        return None;
    }
    let severity = match (expiry(data.expires.value, window, now), data.auto_renew) {
        (Expiry::Expired | Expiry::Critical, _) => Severity::Critical,
        (Expiry::Warning, false) => Severity::Warning,
        (Expiry::Warning, true) | (Expiry::Later, _) => return None,
    };
    let paid = match &data.last_paid {
        Some(date) => format!("last paid {date}"),
        None => "no payment recorded".to_owned(),
    };
    let renew = if data.auto_renew { "on" } else { "off" };
    Some(Alert {
        severity,
        kind: AlertKind::DomainUnpaid,
        subject: domain.id.clone(),
        subject_kind: "domain",
        path: domain.path.clone(),
        message: format!(
            "domain {} ({}) {}, and its renewal is not paid ({paid}, auto-renew {renew})",
            domain.id,
            data.domain_name,
            expiry_phrase(data.expires.value, now)
        ),
        due: Some(data.expires.value.start()),
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

/// Overdue procedures are critical: a skipped backup check or restore test is how data
/// gets lost. A scheduled procedure never done is a warning: it may be new.
fn procedure_alert(procedure: &Document<Procedure>, status: &ProcedureStatus) -> Option<Alert> {
    let title = &procedure.data.title;
    let every = procedure
        .data
        .every
        .as_ref()
        .map_or_else(String::new, |every| every.value.to_string());
    let (severity, kind, message) = match status.state {
        DueState::Overdue => {
            let last = status
                .last_done
                .map(|m| m.date().to_string())
                .unwrap_or_default();
            let since = status.overdue_after.map(|m| m.human()).unwrap_or_default();
            (
                Severity::Critical,
                AlertKind::ProcedureOverdue,
                format!(
                    "procedure {} ({title}) is overdue: due every {every}, last done {last}, overdue since {since}",
                    procedure.id
                ),
            )
        }
        DueState::NeverDone => (
            Severity::Warning,
            AlertKind::ProcedureNeverDone,
            format!(
                "procedure {} ({title}) is due every {every} but has never been done",
                procedure.id
            ),
        ),
        DueState::Ok | DueState::DueSoon | DueState::OnDemand => return None,
    };
    Some(Alert {
        severity,
        kind,
        subject: procedure.id.clone(),
        subject_kind: "procedure",
        path: procedure.path.clone(),
        message,
        due: status.next_due,
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

/// Open (or in progress) tickets of priority critical are critical alerts, of priority
/// high warnings; lower priorities are ordinary work, not alerts.
fn ticket_alert(ticket: &Document<Ticket>) -> Option<Alert> {
    let data = &ticket.data;
    let severity = match data.priority {
        Priority::Critical => Severity::Critical,
        Priority::High => Severity::Warning,
        Priority::Normal | Priority::Low => return None,
    };
    let state = match data.status.value {
        TicketStatus::Open => "open",
        TicketStatus::InProgress => "in progress",
        TicketStatus::Closed | TicketStatus::Wontfix => return None,
    };
    let priority = match data.priority {
        Priority::Critical => "critical",
        _ => "high",
    };
    Some(Alert {
        severity,
        kind: AlertKind::TicketOpenHighPriority,
        subject: ticket.id.clone(),
        subject_kind: "ticket",
        path: ticket.path.clone(),
        message: format!(
            "ticket {} ({}) is {state} with priority {priority}",
            ticket.id, data.title
        ),
        due: None,
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

/// A release still planned or in progress after its planned date: the plan no longer
/// says what will happen. The planned day itself is not yet late.
fn stale_release_alert(release: &Document<Release>, now: Moment) -> Option<Alert> {
    let data = &release.data;
    let state = match data.status.value {
        ReleaseStatus::Planned => "still planned",
        ReleaseStatus::InProgress => "still in progress",
        ReleaseStatus::Released | ReleaseStatus::Cancelled => return None,
    };
    let planned = data.planned.as_ref()?.value;
    if planned >= now.date() {
        return None;
    }
    Some(Alert {
        severity: Severity::Warning,
        kind: AlertKind::StaleRelease,
        subject: release.id.clone(),
        subject_kind: "release",
        path: release.path.clone(),
        message: format!(
            "release {} ({} {}) was planned for {planned} ({}) and is {state}",
            release.id,
            data.module.as_str(),
            data.version.as_str(),
            relative_days(days_between(now.date(), planned))
        ),
        due: Some(planned.start()),
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    })
}

/// The alerts of a verified history: one per kind of problem, with a count, never one
/// per file (a commit of 20,000 unsigned files is one alert, not 20,000): changes that
/// wait for a signature (warning), changes refused (critical), and pre-approved files
/// left out because they have errors (warning). Each links to the page of pending
/// changes (`subject_kind` "page", `subject` "pending"); `path` names the first files.
pub fn trust_alerts(
    report: &crate::trust::history::Report,
    left_out: &[crate::content::LeftOut],
) -> Vec<Alert> {
    use crate::trust::judge::EventKind;
    let (refused, waiting): (Vec<&str>, Vec<&str>) = report
        .pending
        .iter()
        .map(|pending| {
            let refused = pending
                .last_event
                .as_ref()
                .is_some_and(|e| e.kind == EventKind::Refused);
            (refused, pending.path.as_str())
        })
        .fold(
            (Vec::new(), Vec::new()),
            |(mut refused, mut waiting), (is_refused, path)| {
                if is_refused {
                    refused.push(path);
                } else {
                    waiting.push(path);
                }
                (refused, waiting)
            },
        );
    let left_out: Vec<&str> = left_out.iter().map(|l| l.path.as_str()).collect();
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    [
        (
            Severity::Warning,
            AlertKind::PendingSignature,
            &waiting,
            plural(
                waiting.len(),
                "change waits for a signature",
                "changes wait for a signature",
            ),
        ),
        (
            Severity::Critical,
            AlertKind::RefusedChange,
            &refused,
            plural(refused.len(), "change refused", "changes refused"),
        ),
        (
            Severity::Warning,
            AlertKind::LeftOut,
            &left_out,
            plural(
                left_out.len(),
                "pre-approved file left out (it has errors)",
                "pre-approved files left out (they have errors)",
            ),
        ),
    ]
    .into_iter()
    .filter(|(_, _, paths, _)| !paths.is_empty())
    .map(|(severity, kind, paths, message)| Alert {
        severity,
        kind,
        subject: "pending".into(),
        subject_kind: "page",
        path: first_paths(paths),
        reasons: vec![Reason {
            severity,
            kind,
            message: message.clone(),
            due: None,
        }],
        message,
        due: None,
        acknowledged: None,
        thread: None,
    })
    .collect()
}

/// `a, b, c and 17 more`: the first few paths of a list, for an alert's cause.
fn first_paths(paths: &[&str]) -> String {
    const SHOWN: usize = 3;
    let shown = paths[..paths.len().min(SHOWN)].join(", ");
    match paths.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests;
