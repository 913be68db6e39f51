use super::*;
use crate::derive::derive;
use crate::derive::fixture::{at, content};

fn sample() -> Content {
    content(&[
        ("hosts/web1.yaml", "os: Debian\n"),
        ("hosts/db1.yaml", "os: Debian\n"),
        (
            "certificates/www.yaml",
            "common_name: www\nnot_after: 2026-11-25\nhosts: [web1]\n",
        ),
        (
            "procedures/backup.md",
            "---\ntitle: Backup\nevery: 1d\ngrace: 1h\n---\n",
        ),
        ("modules/shop.yaml", "kind: custom\n"),
        (
            "releases/shop-1.yaml",
            "module: shop\nversion: \"1\"\nstatus: released\nplanned: 2026-01-01\nactual: 2026-03-01\n",
        ),
        (
            "releases/shop-2.yaml",
            "module: shop\nversion: \"2\"\nstatus: planned\nplanned: 2026-12-01\n",
        ),
        (
            "releases/shop-0.yaml",
            "module: shop\nversion: \"0\"\nstatus: planned\n",
        ),
        (
            "tickets/t1.md",
            "---\ntitle: T1\nkind: bug\nmodule: shop\npriority: low\nstatus: closed\nreporter: bob\nopened: 2026-01-01T00:00:00Z\nfirst_response: 2026-01-02T00:00:00Z\nclosed: 2026-02-01T00:00:00Z\nfixed_in: shop-1\nhosts: [web1]\n---\n",
        ),
        (
            "tickets/t2.md",
            "---\ntitle: T2\nkind: bug\nmodule: shop\npriority: critical\nstatus: open\nreporter: bob\nopened: 2026-11-01T00:00:00Z\n---\n",
        ),
        (
            "logbook/2026/11/b1.md",
            "---\nat: 2026-11-20T10:00:00Z\nby: bob\nprocedure: backup\ndisposition: problem\n---\nTape failed\n",
        ),
        (
            "logbook/2026/11/b1-reply.md",
            "---\nat: 2026-11-20T12:00:00Z\nby: bob\nreply_to: b1\ndisposition: ok\n---\nRetried\n",
        ),
        (
            "logbook/2026/11/w1.md",
            "---\nat: 2026-11-19T00:00:00Z\nby: bob\nabout: host/web1\n---\nRebooted\n",
        ),
        (
            "logbook/2026/03/deploy.md",
            "---\nat: 2026-03-01T09:00:00Z\nby: bob\nabout: release/shop-1\n---\nDeployed\n",
        ),
    ])
}

fn of(items: &[Item]) -> Vec<(Source, &str)> {
    items.iter().map(|i| (i.source, i.id.as_str())).collect()
}

fn with_channels(now: &str, test: impl FnOnce(Channels<'_>)) {
    let content = sample();
    let derived = derive(&content, at(now));
    test(Channels::of(&content, &derived));
}

#[test]
fn a_procedure_s_channel_holds_its_entries_and_their_replies_and_its_alert() {
    with_channels("2026-11-22T00:00:00Z", |channels| {
        let items = channels.channel("procedure/backup");
        assert_eq!(
            of(&items),
            vec![
                // Overdue since a day after the last entry, plus the grace.
                (Source::Alert, "procedure/backup"),
                (Source::Entry, "b1-reply"),
                (Source::Entry, "b1"),
            ]
        );
        assert_eq!(items[0].at, at("2026-11-21T11:00:00Z"));
        assert_eq!(items[1].at, at("2026-11-20T12:00:00Z"));
    });
}

#[test]
fn a_module_s_channel_holds_its_releases_tickets_and_threads_about_its_releases() {
    with_channels("2026-11-22T00:00:00Z", |channels| {
        let items = channels.channel("module/shop");
        assert_eq!(
            of(&items),
            vec![
                (Source::Release, "shop-2"),
                (Source::Ticket, "t2"),
                (Source::Entry, "deploy"),
                (Source::Release, "shop-1"),
                (Source::Ticket, "t1"),
                // Undated: as long as we know.
                (Source::Release, "shop-0"),
            ]
        );
        // A ticket by its latest event, a release by the day it shipped.
        let t1 = items.iter().find(|i| i.id == "t1").map(|i| i.at);
        assert_eq!(t1, Some(at("2026-02-01T00:00:00Z")));
        assert_eq!(items[3].at, at("2026-03-01T00:00:00Z"));
        assert_eq!(items[5].at, Moment(jiff::Timestamp::UNIX_EPOCH));
    });
}

#[test]
fn releases_tickets_hosts_and_certificates_have_their_own_items() {
    with_channels("2026-11-22T00:00:00Z", |channels| {
        assert_eq!(
            of(&channels.channel("release/shop-1")),
            vec![
                (Source::Entry, "deploy"),
                (Source::Release, "shop-1"),
                (Source::Ticket, "t1"),
            ]
        );
        assert_eq!(
            of(&channels.channel("ticket/t2")),
            vec![(Source::Ticket, "t2"), (Source::Alert, "ticket/t2")]
        );
        assert_eq!(
            of(&channels.channel("host/web1")),
            vec![(Source::Entry, "w1"), (Source::Ticket, "t1")]
        );
        assert_eq!(of(&channels.channel("host/db1")), vec![]);
        let www = channels.channel("certificate/www");
        assert_eq!(of(&www), vec![(Source::Alert, "certificate/www")]);
        assert!(channels.channel("nonsense").is_empty());
        assert!(channels.channel("news/x").is_empty());
    });
}

#[test]
fn dates_do_not_depend_on_now() {
    let later = |now: &str| {
        let content = sample();
        let derived = derive(&content, at(now));
        let channels = Channels::of(&content, &derived);
        [
            "procedure/backup",
            "module/shop",
            "ticket/t2",
            "certificate/www",
        ]
        .map(|subject| channels.channel(subject))
    };
    // The certificate is critical on both days (within 14 days of its expiry).
    assert_eq!(later("2026-11-22T00:00:00Z"), later("2026-11-23T05:00:00Z"));
}

#[test]
fn merged_channels_hold_each_item_once_newest_first_and_capped() {
    with_channels("2026-11-22T00:00:00Z", |channels| {
        let merged = channels.merged(["module/shop", "release/shop-1", "host/web1"]);
        let ids = of(&merged);
        assert_eq!(
            ids,
            vec![
                (Source::Release, "shop-2"),
                (Source::Entry, "w1"),
                (Source::Ticket, "t2"),
                (Source::Entry, "deploy"),
                (Source::Release, "shop-1"),
                (Source::Ticket, "t1"),
                (Source::Release, "shop-0"),
            ]
        );
        assert!(merged.windows(2).all(|w| w[0].at >= w[1].at));
    });
    let many: Vec<(String, String)> = (0..CHANNEL_LIMIT + 7)
        .map(|i| {
            (
                format!("logbook/2026/11/e{i:03}.md"),
                format!(
                    "---\nat: 2026-11-01T00:{:02}:{:02}Z\nby: bob\nabout: host/web1\n---\n",
                    i / 60,
                    i % 60
                ),
            )
        })
        .chain([("hosts/web1.yaml".to_owned(), "os: Debian\n".to_owned())])
        .collect();
    let files: Vec<(&str, &str)> = many.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let content = content(&files);
    let derived = derive(&content, at("2026-11-22T00:00:00Z"));
    let items = Channels::of(&content, &derived).channel("host/web1");
    assert_eq!(items.len(), CHANNEL_LIMIT);
    assert_eq!(items[0].id, format!("e{:03}", CHANNEL_LIMIT + 6));
}

#[test]
fn every_channel_kind_has_pages_and_may_be_written_about() {
    for kind in CHANNEL_KINDS {
        assert!(kind.page().is_some(), "{kind:?}");
        assert!(has_channel(kind));
    }
    assert!(!has_channel(Kind::News));
}

#[test]
fn an_inbox_holds_what_the_person_follows_and_their_tickets_open_or_not() {
    let person = |text: &str| -> Person { crate::yaml::from_str(text).expect("a person") };
    let carol =
        person("name: Carol\nsubscribe:\n  - certificate:*\n  - tickets: {priority: critical}\n");
    let bob = person("name: Bob\n");
    with_channels("2026-11-22T00:00:00Z", |channels| {
        assert_eq!(
            channels.inbox_subjects("carol", &carol),
            ["certificate/www", "ticket/t2"]
        );
        // Bob follows nothing but reported both tickets, the closed one too.
        assert_eq!(
            channels.inbox_subjects("bob", &bob),
            ["ticket/t1", "ticket/t2"]
        );
        assert_eq!(
            of(&channels.inbox("carol", &carol)),
            vec![
                // Critical since a week before its expiry.
                (Source::Alert, "certificate/www"),
                // A tie (the ticket's alert dates from its opening): by source.
                (Source::Ticket, "t2"),
                (Source::Alert, "ticket/t2"),
            ]
        );
    });
}
