use super::*;
use crate::derive::fixture::at;
use crate::notify::events::{EventKind, Subject};

fn event(id: &str) -> Event {
    Event {
        id: id.into(),
        kind: EventKind::NewsPublished,
        subject: Subject::new("news", "n1"),
        title: "News: hello".into(),
        text: "Hello.".into(),
        page: "news/n1.html".into(),
        to: Vec::new(),
        priority: None,
        severity: None,
        related: Vec::new(),
    }
}

fn route(channel: &str, address: &str) -> Route {
    Route {
        channel: channel.into(),
        address: address.into(),
        people: Vec::new(),
    }
}

fn retry() -> Retry {
    Retry {
        first: Duration::seconds(30),
        max: Duration::minutes(10),
        give_up: Duration::minutes(60),
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let waits: Vec<i64> = (1..=7).map(|n| backoff(&retry(), n).as_seconds()).collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
    assert_eq!(backoff(&retry(), u32::MAX).as_seconds(), 600);
    assert_eq!(backoff(&retry(), 0).as_seconds(), 30);
}

#[test]
fn a_delivery_is_added_once_per_event_channel_and_address() {
    let now = at("2026-12-01T00:00:00Z");
    let mut outbox = Outbox::default();
    let batch = || {
        vec![
            Delivery::new(event("e1"), route("email", "a@example.org"), now),
            Delivery::new(event("e1"), route("email", "b@example.org"), now),
            Delivery::new(event("e1"), route("webhook:chat", ""), now),
            Delivery::new(event("e1"), route("webhook:chat", ""), now),
        ]
    };
    assert_eq!(outbox.add(batch()), 3);
    assert_eq!(outbox.add(batch()), 0, "the same events again add nothing");
    outbox.mark_sent(0, now);
    assert_eq!(outbox.add(batch()), 0, "nor once sent");
    assert_eq!(outbox.due(now), [1, 2]);
}

#[test]
fn a_failure_is_retried_with_backoff_and_given_up_later() {
    let start = at("2026-12-01T00:00:00Z");
    let mut outbox = Outbox::default();
    outbox.add(vec![Delivery::new(
        event("e1"),
        route("command", ""),
        start,
    )]);
    outbox.mark_failed(0, start, "exit status 1", &retry());
    let d = &outbox.deliveries[0];
    assert_eq!(d.state, DeliveryState::Failed);
    assert_eq!(d.next_try, Some(at("2026-12-01T00:00:30Z")));
    assert!(outbox.due(at("2026-12-01T00:00:29Z")).is_empty());
    assert_eq!(outbox.due(at("2026-12-01T00:00:30Z")), [0]);
    outbox.mark_failed(0, at("2026-12-01T00:00:30Z"), "again", &retry());
    assert_eq!(
        outbox.deliveries[0].next_try,
        Some(at("2026-12-01T00:01:30Z"))
    );
    let late = at("2026-12-01T01:00:00Z");
    outbox.mark_failed(0, late, "still", &retry());
    let d = &outbox.deliveries[0];
    assert_eq!(d.state, DeliveryState::GivenUp);
    assert_eq!(d.attempts, 3);
    assert_eq!(d.last_error.as_deref(), Some("still"));
    assert!(outbox.due(late).is_empty());
    assert_eq!(
        outbox.counts(),
        Counts {
            given_up: 1,
            ..Counts::default()
        }
    );
}

#[test]
fn outbox_and_snapshot_are_stored_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    assert!(Snapshot::load(&paths.snapshot).unwrap().is_none());
    assert!(Outbox::load(&paths.outbox).unwrap().deliveries.is_empty());
    let now = at("2026-12-01T00:00:00Z");
    let mut outbox = Outbox::load(&paths.outbox).unwrap();
    outbox.add(vec![Delivery::new(event("e1"), route("command", ""), now)]);
    outbox.save(&paths.outbox).unwrap();
    assert_eq!(Outbox::load(&paths.outbox).unwrap(), outbox);
    let snapshot = Snapshot {
        version: VERSION,
        now,
        commit: Some("abc".into()),
        published: Published::default(),
    };
    snapshot.save(&paths.snapshot).unwrap();
    assert_eq!(Snapshot::load(&paths.snapshot).unwrap(), Some(snapshot));
    std::fs::write(&paths.outbox, b"{\"version\": 99}").unwrap();
    let err = Outbox::load(&paths.outbox).unwrap_err().to_string();
    assert!(err.contains("move it away"), "{err}");
}

#[test]
fn prune_drops_only_what_finished_long_enough_ago() {
    let mut outbox = Outbox::default();
    outbox.add(vec![
        Delivery::new(
            event("a"),
            route("email", "x@example.org"),
            at("2026-01-01T00:00:00Z"),
        ),
        Delivery::new(
            event("b"),
            route("email", "x@example.org"),
            at("2026-01-01T00:00:00Z"),
        ),
        Delivery::new(
            event("c"),
            route("email", "x@example.org"),
            at("2026-01-01T00:00:00Z"),
        ),
    ]);
    outbox.mark_sent(0, at("2026-01-01T00:01:00Z"));
    outbox.mark_sent(1, at("2026-02-20T00:00:00Z"));
    // c stays pending, however old.
    let removed = outbox.prune(at("2026-03-01T00:00:00Z"), KEEP_FINISHED);
    assert_eq!(removed, 1);
    let left: Vec<&str> = outbox
        .deliveries
        .iter()
        .map(|d| d.event.id.as_str())
        .collect();
    assert_eq!(left, ["b", "c"]);
}
