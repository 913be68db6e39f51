//! `glassroom plan` on the example repository, and the derive stage on it at a fixed
//! "now" (2026-11-22, the day the example describes).

use std::path::PathBuf;

use glassroom::content::{self, Content};
use glassroom::derive::{self, AlertKind, DueState, Severity, ThreadState};
use glassroom::source::read_dir;

use crate::support::{copy_tree, root, run};

fn example() -> PathBuf {
    root().join("content-example")
}

fn plan(site: &str, operation: &str, extra: &[&str]) -> crate::support::Run {
    let repo = example();
    let mut args = vec![
        "plan",
        site,
        operation,
        "--repo",
        repo.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The numbered step lines of a text plan: (number, action, service, hosts, command).
fn steps(stdout: &str) -> Vec<(usize, String, String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (number, rest) = line.trim_start().split_once(". ")?;
            let number = number.parse().ok()?;
            let mut words = rest.split_whitespace();
            let action = words.next()?.to_owned();
            let service = words.next()?.to_owned();
            let hosts = rest.split_once(" on ")?.1.split("  ").next()?.to_owned();
            Some((number, action, service, hosts))
        })
        .collect()
}

fn order(stdout: &str) -> Vec<(String, String)> {
    steps(stdout)
        .into_iter()
        .map(|(_, action, service, _)| (action, service))
        .collect()
}

fn pairs(action: &str, services: &[&str]) -> Vec<(String, String)> {
    services
        .iter()
        .map(|s| (action.to_owned(), (*s).to_owned()))
        .collect()
}

const SHOP_START: [&str; 5] = [
    "shop-postgresql",
    "shop-billing-api",
    "shop-billing-worker",
    "shop-web-frontend",
    "shop-nginx",
];
const INTRANET_START: [&str; 4] = ["prometheus", "grafana", "intranet-wiki", "intranet-nginx"];

fn reversed(services: &[&'static str]) -> Vec<&'static str> {
    services.iter().rev().copied().collect()
}

#[test]
fn shop_rolling_update_goes_db_app_web() {
    let out = plan("shop", "update", &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "Update site shop (Shop (shop.example.com)), rolling by tier: db, app, web"
    );
    let tiers: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  tier "))
        .collect();
    assert_eq!(tiers, vec!["db", "app", "web"]);
    let mut expected = Vec::new();
    for tier in [
        &["shop-postgresql"][..],
        &["shop-billing-api", "shop-billing-worker"],
        &["shop-web-frontend", "shop-nginx"],
    ] {
        expected.extend(pairs("stop", &reversed(tier)));
        expected.extend(pairs("install", tier));
        expected.extend(pairs("configure", tier));
        expected.extend(pairs("start", tier));
    }
    assert_eq!(order(&out.stdout), expected);
    let numbers: Vec<usize> = steps(&out.stdout).iter().map(|s| s.0).collect();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    assert!(
        lines.contains(
            &"     1. stop       shop-postgresql      on db1, db2    sudo -n systemctl stop postgresql@16-main"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn intranet_update_is_all_at_once() {
    let out = plan("intranet", "update", &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Update site intranet (Intranet and monitoring), all at once\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("  tier "));
    let mut expected = pairs("stop", &reversed(&INTRANET_START));
    expected.extend(pairs("install", &INTRANET_START));
    expected.extend(pairs("configure", &INTRANET_START));
    expected.extend(pairs("start", &INTRANET_START));
    assert_eq!(order(&out.stdout), expected);
}

#[test]
fn stop_start_and_status_follow_startup_rank() {
    for (site, start) in [("shop", &SHOP_START[..]), ("intranet", &INTRANET_START[..])] {
        let stop = plan(site, "stop", &[]);
        assert_eq!(stop.code, Some(0), "{}", stop.stderr);
        assert_eq!(
            order(&stop.stdout),
            pairs("stop", &reversed(start)),
            "{site}"
        );
        let started = plan(site, "start", &[]);
        assert_eq!(order(&started.stdout), pairs("start", start), "{site}");
        let status = plan(site, "status", &[]);
        assert_eq!(order(&status.stdout), pairs("status", start), "{site}");
    }
}

#[test]
fn json_output_is_the_plan() {
    let out = plan("shop", "update", &["--format", "json"]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(plan["site"], "shop");
    assert_eq!(plan["title"], "Shop (shop.example.com)");
    assert_eq!(plan["operation"], "update");
    assert_eq!(plan["strategy"], "rolling");
    assert_eq!(plan["tiers"], serde_json::json!(["db", "app", "web"]));
    let steps = plan["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 20);
    assert_eq!(
        steps[0],
        serde_json::json!({
            "number": 1,
            "tier": "db",
            "service": "shop-postgresql",
            "startup_rank": 10,
            "action": "stop",
            "hosts": ["db1", "db2"],
            "command": "sudo -n systemctl stop postgresql@16-main",
        })
    );
    let last = &steps[19];
    assert_eq!(last["tier"], "web");
    assert_eq!(last["service"], "shop-nginx");
    assert_eq!(last["action"], "start");

    let out = plan_json("intranet", "stop");
    let services: Vec<&str> = out["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["service"].as_str().expect("service"))
        .collect();
    assert_eq!(services, reversed(&INTRANET_START));
    assert!(out["steps"][0]["tier"].is_null());
}

fn plan_json(site: &str, operation: &str) -> serde_json::Value {
    let out = plan(site, operation, &["--format", "json"]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("valid JSON")
}

#[test]
fn unknown_site_suggests_and_lists_sites() {
    let out = plan("shpo", "stop", &[]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("unknown site `shpo`; did you mean `shop`?"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("sites: intranet, shop"),
        "{}",
        out.stderr
    );

    let out = plan("warehouse", "start", &["--format", "json"]);
    assert_eq!(out.code, Some(1));
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
}

#[test]
fn invalid_repository_prints_diagnostics_and_no_plan() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&example(), dir.path());
    let service = dir.path().join("services/shop-nginx.yaml");
    let text = std::fs::read_to_string(&service).expect("read service");
    std::fs::write(&service, text.replace("tier: web", "tier: edge")).expect("write service");
    let out = run(&[
        "plan",
        "shop",
        "update",
        "--repo",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("services/shop-nginx.yaml:")
            && out.stderr.contains("unknown tier `edge`"),
        "{}",
        out.stderr
    );
}

#[test]
fn unreadable_repository_is_a_failure() {
    let out = run(&[
        "plan",
        "shop",
        "stop",
        "--repo",
        "/nonexistent/glassroom-repo",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// The derive stage on the example repository

fn example_content() -> Content {
    let tree = read_dir(&example()).expect("example repository readable");
    let loaded = content::load(&tree);
    assert!(!loaded.diagnostics.has_errors(), "example has errors");
    loaded.content
}

fn derived() -> derive::Derived {
    let now = "2026-11-22T00:00:00Z".parse().expect("a moment");
    derive::derive(&example_content(), now)
}

/// The alert about `subject` that has a reason of `kind` (one alert per subject lists
/// every reason).
fn alert<'a>(derived: &'a derive::Derived, kind: AlertKind, subject: &str) -> &'a derive::Alert {
    derived
        .alerts
        .iter()
        .find(|a| a.subject == subject && a.reasons.iter().any(|r| r.kind == kind))
        .unwrap_or_else(|| panic!("no {kind:?} alert for {subject}: {:#?}", derived.alerts))
}

/// The severity of the reason of `kind` of the alert about `subject`.
fn severity(derived: &derive::Derived, kind: AlertKind, subject: &str) -> Severity {
    let alert = alert(derived, kind, subject);
    alert
        .reasons
        .iter()
        .find(|r| r.kind == kind)
        .map_or(alert.severity, |r| r.severity)
}

#[test]
fn example_alerts_at_2026_11_22() {
    let derived = derived();
    let expected = [
        (
            AlertKind::CertificateExpired,
            "partners-example-com",
            Severity::Critical,
        ),
        (
            AlertKind::CertificateExpiring,
            "api-example-com",
            Severity::Critical,
        ),
        (
            AlertKind::CertificateExpiring,
            "intranet-example-org",
            Severity::Warning,
        ),
        (AlertKind::DomainExpiring, "example-net", Severity::Critical),
        (AlertKind::DomainUnpaid, "example-net", Severity::Critical),
        (AlertKind::DomainExpiring, "example-org", Severity::Warning),
        (
            AlertKind::ProcedureOverdue,
            "test-restore",
            Severity::Critical,
        ),
        (
            AlertKind::ProcedureNeverDone,
            "check-domain-invoices",
            Severity::Warning,
        ),
        (AlertKind::StaleRelease, "nginx-1.28", Severity::Warning),
        (
            AlertKind::TicketOpenHighPriority,
            "billing-api-memory-leak",
            Severity::Critical,
        ),
        (
            AlertKind::TicketOpenHighPriority,
            "cart-lost-after-login",
            Severity::Warning,
        ),
    ];
    for (kind, subject, severity) in expected {
        assert_eq!(
            self::severity(&derived, kind, subject),
            severity,
            "{kind:?} {subject}"
        );
    }
    let api = alert(&derived, AlertKind::CertificateExpiring, "api-example-com");
    assert_eq!(
        api.message,
        "certificate api-example-com (api.example.com) expires in 4 days, on 2026-11-26"
    );
    assert_eq!(api.path, "certificates/api-example-com.yaml");
    // example-org auto-renews and is 51 days out: expiring, but not an unpaid alarm.
    assert!(
        !derived
            .alerts
            .iter()
            .flat_map(|a| a.reasons.iter().map(move |r| (r, a)))
            .any(|(r, a)| r.kind == AlertKind::DomainUnpaid && a.subject != "example-net")
    );
    // One alert per subject.
    let example_net = derived.alerts.iter().filter(|a| a.subject == "example-net");
    assert_eq!(example_net.count(), 1);
    // Critical first, then by due date.
    let severities: Vec<Severity> = derived.alerts.iter().map(|a| a.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    assert_eq!(derived.alerts[0].subject, "test-restore");
}

#[test]
fn example_procedures_threads_and_reports() {
    let derived = derived();
    let state = |id: &str| derived.procedures[id].state;
    assert_eq!(state("test-restore"), DueState::Overdue);
    assert_eq!(state("check-domain-invoices"), DueState::NeverDone);
    assert_eq!(state("failover-postgresql"), DueState::OnDemand);
    assert_eq!(state("verify-backup-tape"), DueState::DueSoon);
    assert_eq!(state("rotate-logs"), DueState::Ok);

    let thread = |root: &str| {
        derived
            .threads
            .iter()
            .find(|t| t.root == root)
            .unwrap_or_else(|| panic!("no thread {root}"))
    };
    assert_eq!(
        thread("2026-11-20-mon1-disk-usage").state,
        ThreadState::Acknowledged
    );
    assert_eq!(
        thread("2026-11-17-db2-maintenance-window").state,
        ThreadState::Belayed
    );
    assert_eq!(
        thread("2026-11-08-verify-backup-tape").state,
        ThreadState::Ended
    );
    assert_eq!(
        thread("2026-10-14-verify-backup-tape").entries,
        vec![
            "2026-10-14-verify-backup-tape",
            "2026-10-14-tape-drive-error-ack",
            "2026-10-14-tape-drive-cleaned",
        ]
    );
    assert_eq!(derived.threads[0].root, "2026-11-21-shop-update-rehearsal");

    let report = &derived.ticket_report;
    assert_eq!(report.overall.tickets, example_content().tickets.len());
    let keys: Vec<&str> = report.by_priority.iter().map(|b| b.key.as_str()).collect();
    assert_eq!(keys, vec!["critical", "high", "normal", "low"]);
    let billing = report
        .per_release
        .iter()
        .find(|r| r.release == "billing-api-4.1")
        .expect("billing-api-4.1 delivered tickets");
    assert!(billing.features >= 1 && billing.bugs >= 1, "{billing:?}");

    assert_eq!(
        derived.relations.services_by_site["shop"],
        SHOP_START
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
    );
    assert!(
        derived
            .upcoming
            .windows(2)
            .all(|w| (w[0].when, &w[0].path) <= (w[1].when, &w[1].path))
    );
}
