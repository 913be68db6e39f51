//! Tests of the alerts: thresholds for certificates, domains and payments, overdue
//! procedures, tickets, stale releases, ordering and serialisation.

use super::*;
use crate::derive::fixture::{at, content};
use crate::derive::procedures::statuses;

fn alerts_at(content: &Content, now: &str) -> Vec<Alert> {
    let now = at(now);
    let threads = crate::derive::threads::threads(content);
    alerts(content, &statuses(content, now), &threads, now)
}

/// Every reason of every alert: (severity, kind, subject).
fn summary(alerts: &[Alert]) -> Vec<(Severity, AlertKind, &str)> {
    alerts
        .iter()
        .flat_map(|a| {
            a.reasons
                .iter()
                .map(|r| (r.severity, r.kind, a.subject.as_str()))
        })
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
        &format!("domain_name: example.net\nexpires: {expires}\n{paid}auto_renew: {auto_renew}\n"),
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
        .flat_map(|a| a.reasons)
        .find(|r| r.kind == AlertKind::DomainUnpaid)
        .map(|r| r.severity)
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
        .flat_map(|a| a.reasons)
        .find(|r| r.kind == AlertKind::DomainUnpaid)
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
        "procedure daily (Daily) is overdue: due every 1d, last done 2026-11-20, overdue since 2026-11-21 00:00 UTC"
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

#[test]
fn a_subject_with_several_problems_has_one_alert_listing_them_at_the_worst_severity() {
    // Expires within the warn window, unpaid and not renewed automatically: two
    // problems, one alert.
    let content = domain("2026-12-01", None, false);
    let alerts = alerts_at(&content, "2026-11-10T00:00:00Z");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.subject, "example-net");
    assert_eq!(
        summary(&alerts),
        vec![
            (Severity::Warning, AlertKind::DomainExpiring, "example-net"),
            (Severity::Warning, AlertKind::DomainUnpaid, "example-net"),
        ]
    );
    // Expired (critical) and unpaid: critical, the expiry first.
    let alerts = alerts_at(&content, "2026-12-05T00:00:00Z");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(alerts[0].kind, AlertKind::DomainExpired);
    assert_eq!(alerts[0].reasons.len(), 2);
    assert_eq!(alerts[0].message, alerts[0].reasons[0].message);
    let groups = group(&alerts);
    assert_eq!(groups.of("domain", "example-net").map(Vec::len), Some(1));
    assert_eq!(groups.counts["critical"], 1);
}

#[test]
fn merging_keeps_the_worst_first_and_the_earliest_due_date() {
    let problem = |severity, kind, subject: &str, due: Option<&str>| Alert {
        severity,
        kind,
        subject: subject.into(),
        subject_kind: "domain",
        path: format!("domains/{subject}.yaml"),
        message: format!("{kind:?}"),
        due: due.map(at),
        reasons: Vec::new(),
        acknowledged: None,
        thread: None,
    };
    let merged = merge(vec![
        problem(
            Severity::Warning,
            AlertKind::DomainUnpaid,
            "a",
            Some("2026-12-10T00:00:00Z"),
        ),
        problem(
            Severity::Critical,
            AlertKind::DomainExpiring,
            "a",
            Some("2026-12-12T00:00:00Z"),
        ),
        problem(Severity::Warning, AlertKind::DomainExpiring, "b", None),
    ]);
    assert_eq!(merged.len(), 2);
    assert_eq!(merged[0].subject, "a");
    assert_eq!(merged[0].severity, Severity::Critical);
    assert_eq!(merged[0].kind, AlertKind::DomainExpiring);
    assert_eq!(merged[0].due, Some(at("2026-12-10T00:00:00Z")));
    let kinds: Vec<AlertKind> = merged[0].reasons.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [AlertKind::DomainExpiring, AlertKind::DomainUnpaid]);
    assert_eq!(merged[1].reasons.len(), 1);
}

/// A certificate expiring 2026-11-26 (warning from 10-27, critical from 11-19) and the
/// logbook `entries` (path, text).
fn certificate_with(entries: &[(&str, &str)]) -> Content {
    let mut files = vec![
        (
            "certificates/www.yaml",
            "common_name: www.example.org\nnot_after: 2026-11-26\n",
        ),
        (
            "certificates/api.yaml",
            "common_name: api.example.org\nnot_after: 2026-11-27\n",
        ),
    ];
    files.extend_from_slice(entries);
    content(&files)
}

fn www(content: &Content, now: &str) -> Alert {
    alerts_at(content, now)
        .into_iter()
        .find(|a| a.subject == "www")
        .expect("an alert about www")
}

#[test]
fn an_acknowledged_entry_about_the_subject_acknowledges_its_alert() {
    let content = certificate_with(&[(
        "logbook/2026/11/ack.md",
        "---\nat: 2026-11-20T09:00:00Z\nby: bob\nabout: certificate/www\ndisposition: acknowledged\n---\nRenewing by hand.\n",
    )]);
    let alert = www(&content, "2026-11-22T00:00:00Z");
    let ack = alert.acknowledged.expect("acknowledged");
    assert_eq!((ack.by.as_str(), ack.entry.as_str()), ("bob", "ack"));
    assert_eq!(ack.severity, Severity::Critical);
    assert_eq!(alert.thread.as_deref(), Some("ack"));
    let groups = group(&alerts_at(&content, "2026-11-22T00:00:00Z"));
    assert_eq!(groups.counts["critical"], 1, "api only");
    assert_eq!(groups.counts["acknowledged"], 1);
    // Before the entry was written, nothing acknowledged it.
    assert_eq!(www(&content, "2026-11-19T12:00:00Z").acknowledged, None);
    // The other certificate is not acknowledged by an entry about this one.
    let api = alerts_at(&content, "2026-11-22T00:00:00Z")
        .into_iter()
        .find(|a| a.subject == "api");
    assert_eq!(api.and_then(|a| a.acknowledged), None);
}

#[test]
fn a_reply_acknowledging_the_entry_that_reported_it_acknowledges_the_alert() {
    let content = certificate_with(&[
        (
            "logbook/2026/11/report.md",
            "---\nat: 2026-11-19T09:00:00Z\nby: alice\nabout: certificate/www\ndisposition: problem\n---\nRenewal failed.\n",
        ),
        (
            "logbook/2026/11/reply.md",
            "---\nat: 2026-11-19T10:00:00Z\nby: bob\nreply_to: report\ndisposition: acknowledged\n---\nOn it.\n",
        ),
    ]);
    let alert = www(&content, "2026-11-22T00:00:00Z");
    assert_eq!(alert.thread.as_deref(), Some("report"));
    assert_eq!(alert.acknowledged.map(|a| a.entry), Some("reply".into()));
}

#[test]
fn an_acknowledgement_of_a_warning_ends_when_it_turns_critical_or_until_passes() {
    let content = certificate_with(&[(
        "logbook/2026/11/ack.md",
        "---\nat: 2026-11-10T09:00:00Z\nby: bob\nabout: certificate/www\ndisposition: acknowledged\nuntil: 2026-11-15\n---\nKnown.\n",
    )]);
    // A warning when acknowledged, still a warning, within `until`.
    let alert = www(&content, "2026-11-12T00:00:00Z");
    assert_eq!(alert.severity, Severity::Warning);
    assert!(alert.acknowledged.is_some());
    // `until` passed.
    assert_eq!(www(&content, "2026-11-16T00:00:00Z").acknowledged, None);
    let content = certificate_with(&[(
        "logbook/2026/11/ack.md",
        "---\nat: 2026-11-10T09:00:00Z\nby: bob\nabout: certificate/www\ndisposition: acknowledged\n---\nKnown.\n",
    )]);
    assert!(www(&content, "2026-11-18T23:59:59Z").acknowledged.is_some());
    // Critical from 2026-11-19: the acknowledgement saw a warning.
    let alert = www(&content, "2026-11-19T00:00:00Z");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.acknowledged, None);
    assert_eq!(alert.thread.as_deref(), Some("ack"));
}

#[test]
fn an_acknowledgement_written_before_the_alert_existed_does_not_cover_it() {
    let content = certificate_with(&[(
        "logbook/2026/10/ack.md",
        "---\nat: 2026-10-01T09:00:00Z\nby: bob\nabout: certificate/www\ndisposition: acknowledged\n---\nWill renew.\n",
    )]);
    assert_eq!(www(&content, "2026-11-12T00:00:00Z").acknowledged, None);
}
