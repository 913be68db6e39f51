//! The dashboard's alerts: what needs someone's attention, how urgently, and which file
//! causes it (fixing that file is what makes the alert go away).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use super::procedures::{DueState, ProcedureStatus, alert_config};
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
}

/// Every alert at `now`: most severe first, then earliest due (undated last), then by
/// path, kind and subject so the order never depends on how the content was read.
pub fn alerts(
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
    alerts.sort_by(compare);
    alerts
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
            let since = status
                .overdue_after
                .map(|m| m.to_string())
                .unwrap_or_default();
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
        message,
        due: None,
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
mod tests {
    use super::*;
    use crate::derive::fixture::{at, content};
    use crate::derive::procedures::statuses;

    fn alerts_at(content: &Content, now: &str) -> Vec<Alert> {
        let now = at(now);
        alerts(content, &statuses(content, now), now)
    }

    fn summary(alerts: &[Alert]) -> Vec<(Severity, AlertKind, &str)> {
        alerts
            .iter()
            .map(|a| (a.severity, a.kind, a.subject.as_str()))
            .collect()
    }

    fn certificate(not_after: &str) -> Content {
        content(&[(
            "certificates/www.yaml",
            &format!("common_name: www.example.org\nnot_after: {not_after}\n"),
        )])
    }

    fn one(content: &Content, now: &str) -> Option<(Severity, AlertKind)> {
        let alerts = alerts_at(content, now);
        assert!(alerts.len() <= 1, "{alerts:#?}");
        alerts.first().map(|a| (a.severity, a.kind))
    }

    #[test]
    fn a_verified_history_has_one_alert_per_kind_of_problem_with_a_count() {
        use crate::trust::history::{Pending, Report, RootSource};
        use crate::trust::judge::{Event, EventKind};
        let pending = |path: String, kind: EventKind| Pending {
            path,
            blob: Some("b".into()),
            approved_blob: None,
            last_event: Some(Event {
                kind,
                commit: "c".into(),
                time: 0,
                principal: None,
                blob: None,
                fingerprint: None,
                reason: None,
            }),
            needs: crate::trust::Role::Sign,
            signers: vec!["alice".into()],
        };
        let mut report = Report {
            target: String::new(),
            trust_root: String::new(),
            root_source: RootSource::Argument,
            approved: BTreeMap::new(),
            events: Default::default(),
            pending: (0..20_000)
                .map(|i| pending(format!("tickets/t{i:05}.md"), EventKind::Pending))
                .collect(),
            refused: Vec::new(),
            warnings: Vec::new(),
            verified: 0,
            time: 0,
            trails: Default::default(),
            provisional: Default::default(),
        };
        report
            .pending
            .push(pending("hosts/x.yaml".into(), EventKind::Refused));
        let left_out = [crate::content::LeftOut {
            path: "logbook/2026/11/x.md".into(),
            reason: "bad".into(),
        }];
        let alerts = trust_alerts(&report, &left_out);
        let summary: Vec<(Severity, &str, &str)> = alerts
            .iter()
            .map(|a| (a.severity, a.message.as_str(), a.path.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Severity::Warning,
                    "20000 changes wait for a signature",
                    "tickets/t00000.md, tickets/t00001.md, tickets/t00002.md and 19997 more"
                ),
                (Severity::Critical, "1 change refused", "hosts/x.yaml"),
                (
                    Severity::Warning,
                    "1 pre-approved file left out (it has errors)",
                    "logbook/2026/11/x.md"
                ),
            ]
        );
        assert!(
            alerts
                .iter()
                .all(|a| a.subject == "pending" && a.subject_kind == "page")
        );
        report.pending.clear();
        assert!(trust_alerts(&report, &[]).is_empty());
    }

    #[test]
    fn certificate_thresholds_use_the_defaults_inclusively() {
        use AlertKind::*;
        use Severity::*;
        let content = certificate("2026-12-31");
        // warn 30d: from 2026-12-01T00:00; critical 7d: from 2026-12-24T00:00.
        assert_eq!(one(&content, "2026-11-30T23:59:59Z"), None);
        assert_eq!(
            one(&content, "2026-12-01T00:00:00Z"),
            Some((Warning, CertificateExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-23T23:59:59Z"),
            Some((Warning, CertificateExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-24T00:00:00Z"),
            Some((Critical, CertificateExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-31T23:59:59Z"),
            Some((Critical, CertificateExpiring))
        );
        assert_eq!(
            one(&content, "2027-01-01T00:00:00Z"),
            Some((Critical, CertificateExpired))
        );
    }

    #[test]
    fn certificate_messages_name_the_certificate_and_date() {
        let content = certificate("2026-11-26");
        let alert = &alerts_at(&content, "2026-11-22T10:00:00Z")[0];
        assert_eq!(
            alert.message,
            "certificate www (www.example.org) expires in 4 days, on 2026-11-26"
        );
        assert_eq!(alert.path, "certificates/www.yaml");
        assert_eq!(alert.subject_kind, "certificate");
        assert_eq!(alert.due, Some(at("2026-11-26T00:00:00Z")));
        let alert = &alerts_at(&content, "2026-11-26T10:00:00Z")[0];
        assert!(alert.message.ends_with("expires today, on 2026-11-26"));
        let alert = &alerts_at(&content, "2026-12-03T10:00:00Z")[0];
        assert_eq!(
            alert.message,
            "certificate www (www.example.org) expired 7 days ago, on 2026-11-26"
        );
    }

    #[test]
    fn certificate_windows_come_from_the_config() {
        let content = content(&[
            (
                "glassroom.yaml",
                "title: T\nalerts:\n  certificates: { warn: 10d, critical: 2d }\n",
            ),
            (
                "certificates/www.yaml",
                "common_name: www.example.org\nnot_after: 2026-12-31\n",
            ),
        ]);
        assert_eq!(one(&content, "2026-12-20T23:59:59Z"), None);
        assert_eq!(
            one(&content, "2026-12-21T00:00:00Z"),
            Some((Severity::Warning, AlertKind::CertificateExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-29T00:00:00Z"),
            Some((Severity::Critical, AlertKind::CertificateExpiring))
        );
    }

    fn domain(expires: &str, last_paid: Option<&str>, auto_renew: bool) -> Content {
        let paid = last_paid.map_or_else(String::new, |d| format!("last_paid: {d}\n"));
        content(&[(
            "domains/example-net.yaml",
            &format!(
                "domain_name: example.net\nexpires: {expires}\n{paid}auto_renew: {auto_renew}\n"
            ),
        )])
    }

    #[test]
    fn domain_thresholds_use_the_defaults_inclusively() {
        use AlertKind::*;
        use Severity::*;
        let content = domain("2026-12-31", Some("2026-01-15"), true);
        // warn 60d: from 2026-11-01; critical 14d: from 2026-12-17.
        assert_eq!(one(&content, "2026-10-31T23:59:59Z"), None);
        assert_eq!(
            one(&content, "2026-11-01T00:00:00Z"),
            Some((Warning, DomainExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-16T23:59:59Z"),
            Some((Warning, DomainExpiring))
        );
        assert_eq!(
            one(&content, "2026-12-17T00:00:00Z"),
            Some((Critical, DomainExpiring))
        );
        assert_eq!(
            one(&content, "2027-01-01T00:00:00Z"),
            Some((Critical, DomainExpired))
        );
    }

    #[test]
    fn a_payment_up_to_one_year_before_expiry_pays_the_term() {
        // expires 2026-12-01: paid on or after 2025-12-01 is paid.
        let now = "2026-11-22T00:00:00Z";
        let kinds = |paid| {
            summary(&alerts_at(&domain("2026-12-01", paid, false), now))
                .into_iter()
                .map(|(_, kind, _)| kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(Some("2025-12-01")), vec![AlertKind::DomainExpiring]);
        assert_eq!(
            kinds(Some("2025-11-30")),
            vec![AlertKind::DomainExpiring, AlertKind::DomainUnpaid]
        );
        assert_eq!(
            kinds(None),
            vec![AlertKind::DomainExpiring, AlertKind::DomainUnpaid]
        );
    }

    fn unpaid(content: &Content, now: &str) -> Option<Severity> {
        alerts_at(content, now)
            .into_iter()
            .find(|a| a.kind == AlertKind::DomainUnpaid)
            .map(|a| a.severity)
    }

    #[test]
    fn unpaid_without_auto_renew_warns_within_the_warn_window() {
        let content = domain("2026-12-31", Some("2025-06-01"), false);
        assert_eq!(unpaid(&content, "2026-10-31T23:59:59Z"), None);
        assert_eq!(
            unpaid(&content, "2026-11-01T00:00:00Z"),
            Some(Severity::Warning)
        );
        assert_eq!(
            unpaid(&content, "2026-12-17T00:00:00Z"),
            Some(Severity::Critical)
        );
        assert_eq!(
            unpaid(&content, "2027-01-05T00:00:00Z"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn unpaid_with_auto_renew_is_critical_only_within_the_critical_window() {
        let content = domain("2026-12-31", None, true);
        assert_eq!(unpaid(&content, "2026-11-01T00:00:00Z"), None);
        assert_eq!(unpaid(&content, "2026-12-16T23:59:59Z"), None);
        assert_eq!(
            unpaid(&content, "2026-12-17T00:00:00Z"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn unpaid_message_says_what_is_known() {
        let content = domain("2026-12-01", Some("2025-11-24"), false);
        let alert = alerts_at(&content, "2026-11-22T00:00:00Z")
            .into_iter()
            .find(|a| a.kind == AlertKind::DomainUnpaid)
            .unwrap();
        assert_eq!(
            alert.message,
            "domain example-net (example.net) expires in 9 days, on 2026-12-01, and its renewal is not paid (last paid 2025-11-24, auto-renew off)"
        );
    }

    fn procedures() -> Content {
        content(&[
            ("procedures/daily.md", "---\ntitle: Daily\nevery: 1d\n---\n"),
            ("procedures/never.md", "---\ntitle: Never\nevery: 7d\n---\n"),
            ("procedures/adhoc.md", "---\ntitle: Ad hoc\n---\n"),
            (
                "logbook/2026/11/d.md",
                "---\nat: 2026-11-20T00:00:00Z\nby: bob\nprocedure: daily\n---\n",
            ),
        ])
    }

    #[test]
    fn overdue_procedures_are_critical_and_never_done_warnings() {
        let content = procedures();
        assert_eq!(
            summary(&alerts_at(&content, "2026-11-21T00:00:00Z")),
            vec![(Severity::Warning, AlertKind::ProcedureNeverDone, "never")]
        );
        let alerts = alerts_at(&content, "2026-11-21T00:00:01Z");
        assert_eq!(
            summary(&alerts),
            vec![
                (Severity::Critical, AlertKind::ProcedureOverdue, "daily"),
                (Severity::Warning, AlertKind::ProcedureNeverDone, "never"),
            ]
        );
        assert_eq!(alerts[0].due, Some(at("2026-11-21T00:00:00Z")));
        assert_eq!(
            alerts[0].message,
            "procedure daily (Daily) is overdue: due every 1d, last done 2026-11-20, overdue since 2026-11-21T00:00:00Z"
        );
        assert_eq!(
            alerts[1].message,
            "procedure never (Never) is due every 1w but has never been done"
        );
        assert_eq!(alerts[1].due, None);
    }

    fn ticket(priority: &str, status: &str) -> Content {
        content(&[(
            "tickets/t.md",
            &format!(
                "---\ntitle: Leak\nkind: bug\npriority: {priority}\nstatus: {status}\nreporter: bob\nopened: 2026-11-01T00:00:00Z\n{}---\n",
                if matches!(status, "closed" | "wontfix") {
                    "closed: 2026-11-02T00:00:00Z\n"
                } else {
                    ""
                }
            ),
        )])
    }

    #[test]
    fn open_high_and_critical_tickets_alert() {
        let now = "2026-11-22T00:00:00Z";
        let severity = |priority, status| one(&ticket(priority, status), now).map(|(s, _)| s);
        assert_eq!(severity("critical", "open"), Some(Severity::Critical));
        assert_eq!(
            severity("critical", "in_progress"),
            Some(Severity::Critical)
        );
        assert_eq!(severity("high", "open"), Some(Severity::Warning));
        assert_eq!(severity("high", "in_progress"), Some(Severity::Warning));
        assert_eq!(severity("normal", "open"), None);
        assert_eq!(severity("low", "open"), None);
        assert_eq!(severity("critical", "closed"), None);
        assert_eq!(severity("high", "wontfix"), None);
        let alert = &alerts_at(&ticket("high", "in_progress"), now)[0];
        assert_eq!(
            alert.message,
            "ticket t (Leak) is in progress with priority high"
        );
        assert_eq!(alert.kind, AlertKind::TicketOpenHighPriority);
    }

    fn release(status: &str) -> Content {
        content(&[
            ("modules/nginx.yaml", "kind: packaged\n"),
            (
                "releases/nginx-1.28.yaml",
                &format!(
                    "module: nginx\nversion: \"1.28.0\"\nstatus: {status}\nplanned: 2026-10-15\n{}",
                    if status == "released" {
                        "actual: 2026-10-20\n"
                    } else {
                        ""
                    }
                ),
            ),
        ])
    }

    #[test]
    fn releases_are_stale_the_day_after_their_planned_date() {
        for status in ["planned", "in_progress"] {
            let content = release(status);
            assert_eq!(one(&content, "2026-10-15T23:59:59Z"), None, "{status}");
            assert_eq!(
                one(&content, "2026-10-16T00:00:00Z"),
                Some((Severity::Warning, AlertKind::StaleRelease)),
                "{status}"
            );
        }
        for status in ["released", "cancelled"] {
            assert_eq!(one(&release(status), "2026-12-01T00:00:00Z"), None);
        }
        let alert = &alerts_at(&release("planned"), "2026-11-22T00:00:00Z")[0];
        assert_eq!(
            alert.message,
            "release nginx-1.28 (nginx 1.28.0) was planned for 2026-10-15 (38 days ago) and is still planned"
        );
        assert_eq!(alert.due, Some(at("2026-10-15T00:00:00Z")));
    }

    #[test]
    fn alerts_sort_by_severity_then_due_then_path() {
        let content = content(&[
            (
                "certificates/b.yaml",
                "common_name: b\nnot_after: 2026-11-25\n",
            ),
            (
                "certificates/a.yaml",
                "common_name: a\nnot_after: 2026-11-26\n",
            ),
            (
                "certificates/c.yaml",
                "common_name: c\nnot_after: 2026-11-25\n",
            ),
            (
                "certificates/w.yaml",
                "common_name: w\nnot_after: 2026-12-10\n",
            ),
            (
                "tickets/t.md",
                "---\ntitle: T\nkind: bug\npriority: critical\nstatus: open\nreporter: bob\nopened: 2026-11-01T00:00:00Z\n---\n",
            ),
        ]);
        let subjects: Vec<String> = alerts_at(&content, "2026-11-22T00:00:00Z")
            .into_iter()
            .map(|a| a.subject)
            .collect();
        assert_eq!(subjects, vec!["b", "c", "a", "t", "w"]);
    }

    #[test]
    fn serialises_severity_and_kind_as_names() {
        let alert = &alerts_at(&certificate("2026-11-20"), "2026-11-22T00:00:00Z")[0];
        let json = serde_json::to_value(alert).unwrap();
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["kind"], "certificate_expired");
        assert_eq!(json["due"], "2026-11-20T00:00:00Z");
        assert!(Severity::Critical < Severity::Warning && Severity::Warning < Severity::Info);
    }
}
