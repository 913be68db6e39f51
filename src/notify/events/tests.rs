use super::*;
use crate::derive::fixture::{at, content};

fn ticket(status: TicketStatus) -> TicketState {
    TicketState {
        title: "Invoices are rounded wrong".into(),
        status,
        priority: Priority::High,
        reporter: "carol".into(),
        assignee: None,
        module: Some("billing-api".into()),
        fixed_in: None,
    }
}

fn alert(severity: Level) -> AlertState {
    AlertState {
        subject: Subject::new("certificate", "www"),
        severity,
        message: "Certificate www expires in 5 days".into(),
        due: Some(at("2026-12-10")),
        acknowledged_by: None,
    }
}

fn with_ticket(state: TicketState) -> Published {
    let mut p = Published::default();
    p.tickets.insert("t1".into(), state);
    p
}

fn with_alert(state: AlertState) -> Published {
    let mut p = Published::default();
    p.alerts.insert(state.subject.key(), state);
    p
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn no_change_no_event() {
    let p = with_ticket(ticket(TicketStatus::Open));
    assert!(events(&p, &p).is_empty());
    assert!(events(&Published::default(), &Published::default()).is_empty());
}

#[test]
fn a_new_ticket_is_opened_with_its_priority_and_assigned() {
    let mut t = ticket(TicketStatus::Open);
    t.assignee = Some("bob".into());
    let found = events(&Published::default(), &with_ticket(t));
    assert_eq!(
        kinds(&found),
        [EventKind::TicketOpened, EventKind::TicketAssigned]
    );
    let opened = &found[0];
    assert_eq!(opened.priority, Some(Priority::High));
    assert!(opened.title.contains("high priority"), "{}", opened.title);
    assert_eq!(opened.page, "tickets/t1.html");
    assert_eq!(opened.related, [Subject::new("module", "billing-api")]);
    assert!(opened.to.is_empty());
    assert_eq!(found[1].to, ["bob"]);
}

#[test]
fn assigning_an_open_ticket_tells_the_new_assignee() {
    let before = with_ticket(ticket(TicketStatus::Open));
    let mut t = ticket(TicketStatus::InProgress);
    t.assignee = Some("bob".into());
    let found = events(&before, &with_ticket(t.clone()));
    assert_eq!(kinds(&found), [EventKind::TicketAssigned]);
    assert_eq!(found[0].to, ["bob"]);
    // Reassigning tells the next one; the same assignee again is no event.
    let mut again = t.clone();
    again.assignee = Some("dave".into());
    let found = events(&with_ticket(t.clone()), &with_ticket(again));
    assert_eq!(found[0].to, ["dave"]);
    let mut retitled = t.clone();
    retitled.title = "Other title".into();
    assert!(events(&with_ticket(t), &with_ticket(retitled)).is_empty());
}

#[test]
fn fixing_a_ticket_tells_the_reporter_with_the_release() {
    let before = with_ticket(ticket(TicketStatus::Open));
    let mut fixed = ticket(TicketStatus::Closed);
    fixed.fixed_in = Some("billing-api-2.4.1".into());
    let found = events(&before, &with_ticket(fixed));
    assert_eq!(kinds(&found), [EventKind::TicketFixed]);
    assert_eq!(found[0].to, ["carol"]);
    assert!(found[0].title.contains("billing-api-2.4.1"));
    assert!(
        found[0]
            .related
            .contains(&Subject::new("release", "billing-api-2.4.1"))
    );
}

#[test]
fn closing_without_a_release_is_closed_and_reopening_is_opened() {
    let open = with_ticket(ticket(TicketStatus::Open));
    let wontfix = with_ticket(ticket(TicketStatus::Wontfix));
    let found = events(&open, &wontfix);
    assert_eq!(kinds(&found), [EventKind::TicketClosed]);
    assert_eq!(found[0].to, ["carol"]);
    assert!(found[0].title.contains("won't fix"));
    let found = events(&wontfix, &open);
    assert_eq!(kinds(&found), [EventKind::TicketOpened]);
    assert!(found[0].title.contains("reopened"));
    // A ticket written closed from the start tells no one.
    assert!(events(&Published::default(), &wontfix).is_empty());
}

#[test]
fn alerts_are_raised_escalated_acknowledged_and_cleared() {
    let none = Published::default();
    let warning = with_alert(alert(Level::Warning));
    let critical = with_alert(alert(Level::Critical));
    let found = events(&none, &warning);
    assert_eq!(kinds(&found), [EventKind::AlertRaised]);
    assert_eq!(found[0].severity, Some(Level::Warning));
    assert_eq!(found[0].page, "certificates/www.html");
    assert!(found[0].title.starts_with("[warning]"));

    let found = events(&warning, &critical);
    assert_eq!(kinds(&found), [EventKind::AlertEscalated]);
    assert_eq!(found[0].severity, Some(Level::Critical));
    // Less severe is no event.
    assert!(events(&critical, &warning).is_empty());

    let mut acked = alert(Level::Critical);
    acked.acknowledged_by = Some("bob".into());
    let found = events(&critical, &with_alert(acked.clone()));
    assert_eq!(kinds(&found), [EventKind::AlertAcknowledged]);
    assert!(found[0].title.contains("bob"));

    let found = events(&with_alert(acked), &none);
    assert_eq!(kinds(&found), [EventKind::AlertCleared]);
    assert_eq!(found[0].subject, Subject::new("certificate", "www"));
}

#[test]
fn a_problem_entry_is_logged_once_for_its_procedure() {
    let entry = ProblemEntry {
        at: at("2026-12-01T03:00:00Z"),
        by: "backup-bot".into(),
        procedure: Some("verify-backup-tape".into()),
        about: Some("host/db1".into()),
        summary: "Tape 14 unreadable".into(),
    };
    let mut next = Published::default();
    next.problems.insert("2026-12-01-tape".into(), entry);
    let found = events(&Published::default(), &next);
    assert_eq!(kinds(&found), [EventKind::ProblemLogged]);
    assert_eq!(
        found[0].related,
        [
            Subject::new("procedure", "verify-backup-tape"),
            Subject::new("host", "db1")
        ]
    );
    assert_eq!(found[0].page, "logbook/2026-12-01-tape.html");
    assert!(found[0].title.contains("Tape 14 unreadable"));
    assert!(events(&next, &next).is_empty());
}

#[test]
fn news_is_published_once() {
    let mut next = Published::default();
    next.news.insert(
        "maintenance".into(),
        NewsItem {
            title: "Maintenance on Sunday".into(),
            date: at("2026-12-06"),
            author: Some("alice".into()),
        },
    );
    let found = events(&Published::default(), &next);
    assert_eq!(kinds(&found), [EventKind::NewsPublished]);
    assert_eq!(found[0].title, "News: Maintenance on Sunday");
    assert!(events(&next, &next).is_empty());
}

#[test]
fn ids_are_stable_and_differ_by_change() {
    let before = with_ticket(ticket(TicketStatus::Open));
    let mut t = ticket(TicketStatus::Open);
    t.assignee = Some("bob".into());
    let a = events(&before, &with_ticket(t.clone()));
    let b = events(&before, &with_ticket(t.clone()));
    assert_eq!(a[0].id, b[0].id);
    assert_eq!(a[0].id.len(), 32);
    t.assignee = Some("dave".into());
    let c = events(&before, &with_ticket(t));
    assert_ne!(a[0].id, c[0].id);
    for kind in EventKind::ALL {
        assert_eq!(EventKind::from_name(kind.name()), Some(kind));
    }
}

#[test]
fn the_snapshot_reads_approved_content_and_time_moves_alerts() {
    let content = content(&[
        (
            "certificates/www.yaml",
            "common_name: www.example.org\nnot_after: 2026-12-20\n",
        ),
        (
            "tickets/t1.md",
            "---\ntitle: Broken\nkind: bug\npriority: high\nstatus: open\nreporter: carol\nassignee: bob\nopened: 2026-11-01\n---\nIt breaks.\n",
        ),
        (
            "logbook/2026/11/2026-11-02-x.md",
            "---\nat: 2026-11-02T10:00:00Z\nby: bob\ndisposition: problem\n---\n# Disk full\nmore\n",
        ),
        (
            "news/n1.md",
            "---\ntitle: Hello\ndate: 2026-11-03\n---\nHi.\n",
        ),
    ]);
    let early = Published::of(&content, &crate::derive::derive(&content, at("2026-11-05")));
    assert_eq!(early.tickets["t1"].assignee.as_deref(), Some("bob"));
    assert_eq!(early.problems["2026-11-02-x"].summary, "Disk full");
    assert_eq!(early.news["n1"].title, "Hello");
    assert!(!early.alerts.contains_key("certificate/www"));
    let warn = Published::of(&content, &crate::derive::derive(&content, at("2026-11-25")));
    let critical = Published::of(&content, &crate::derive::derive(&content, at("2026-12-15")));
    assert_eq!(
        kinds(&events(&early, &warn))
            .into_iter()
            .filter(|k| *k == EventKind::AlertRaised)
            .count(),
        1
    );
    let escalated = events(&warn, &critical);
    assert!(
        escalated
            .iter()
            .any(|e| e.kind == EventKind::AlertEscalated && e.subject.id == "www"),
        "{escalated:#?}"
    );
    // The snapshot survives its JSON form.
    let json = serde_json::to_string(&critical).unwrap();
    assert_eq!(serde_json::from_str::<Published>(&json).unwrap(), critical);
}
