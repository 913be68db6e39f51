//! Every person's inbox (issue 22): `people/<id>/inbox.atom` is the union of the channels
//! of what they follow and of the tickets they reported or are assigned, parses as Atom,
//! and is linked from their page.

use std::path::Path;

use crate::support::{broken_links, build_at, read, root};

const NOW: &str = "2026-11-22T12:00:00Z";

fn parse(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    feed_rs::parser::parse(bytes.as_slice())
        .unwrap_or_else(|e| panic!("{} is not a feed: {e}", path.display()))
}

fn ids(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| {
            e.id.strip_prefix("https://ops.example.org/")
                .unwrap_or(&e.id)
                .to_owned()
        })
        .collect()
}

fn ticket(module: &str, priority: &str, status: &str, roles: &str, opened: &str) -> String {
    let closed = if status == "closed" {
        format!("closed: {opened}\n")
    } else {
        String::new()
    };
    format!(
        "---\ntitle: A {priority} ticket on {module}\nkind: bug\nmodule: {module}\npriority: {priority}\nstatus: {status}\n{roles}\nopened: {opened}\n{closed}---\nWhat happened.\n"
    )
}

/// Erin follows the billing module and tickets of high priority or more urgent, and is
/// assigned a low ticket on another module; Frank reports everything else.
fn repository(dir: &Path) {
    let files = [
        (
            "glassroom.yaml",
            "title: Inbox test\nbase_url: https://ops.example.org/\n".to_owned(),
        ),
        ("modules/billing.yaml", "kind: custom\n".to_owned()),
        ("modules/shop.yaml", "kind: custom\n".to_owned()),
        (
            "releases/billing-2.yaml",
            "module: billing\nversion: \"2\"\nstatus: released\nplanned: 2026-11-10\nactual: 2026-11-12\n"
                .to_owned(),
        ),
        (
            "people/erin.yaml",
            "name: Erin Example\nsubscribe:\n  - module:billing\n  - tickets: {priority: high}\n"
                .to_owned(),
        ),
        ("people/frank.yaml", "name: Frank Example\n".to_owned()),
        (
            "tickets/billing-low.md",
            ticket("billing", "low", "open", "reporter: frank", "2026-11-01T10:00:00Z"),
        ),
        (
            "tickets/shop-high.md",
            ticket("shop", "high", "closed", "reporter: frank", "2026-11-02T10:00:00Z"),
        ),
        (
            "tickets/shop-critical.md",
            ticket("shop", "critical", "closed", "reporter: frank", "2026-11-03T10:00:00Z"),
        ),
        (
            "tickets/shop-assigned.md",
            ticket(
                "shop",
                "low",
                "closed",
                "reporter: frank\nassignee: erin",
                "2026-11-04T10:00:00Z",
            ),
        ),
        (
            "tickets/shop-unrelated.md",
            ticket("shop", "low", "open", "reporter: frank", "2026-11-05T10:00:00Z"),
        ),
        (
            "tickets/shop-normal.md",
            ticket("shop", "normal", "open", "reporter: frank", "2026-11-06T10:00:00Z"),
        ),
        (
            "logbook/2026/11/billing-deployed.md",
            "---\nat: 2026-11-12T09:00:00Z\nby: frank\nabout: module/billing\n---\nDeployed.\n"
                .to_owned(),
        ),
        (
            "logbook/2026/11/shop-restarted.md",
            "---\nat: 2026-11-13T09:00:00Z\nby: frank\nabout: module/shop\n---\nRestarted.\n"
                .to_owned(),
        ),
    ];
    let policy = read(&root().join("content-example/.glassroom/policy.yaml"));
    for (path, text) in files
        .into_iter()
        .chain([(".glassroom/policy.yaml", policy)])
    {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

#[test]
fn an_inbox_holds_exactly_what_its_person_follows_and_their_tickets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    repository(&repo);
    let site = dir.path().join("site");
    build_at(&repo, &site, NOW);

    let erin = parse(&site.join("people/erin/inbox.atom"));
    assert_eq!(
        ids(&erin),
        [
            // Newest first: the billing module's entry, release and ticket, the tickets
            // of high and critical priority on the shop, and the ticket she is assigned.
            "logbook/billing-deployed.html",
            "releases/billing-2.html",
            "tickets/shop-assigned.html",
            "tickets/shop-critical.html",
            "tickets/shop-high.html",
            "tickets/billing-low.html",
        ],
        "not the low and normal tickets on the shop, nor the shop's entry"
    );
    assert!(
        erin.title
            .as_ref()
            .is_some_and(|t| t.content == "Inbox test: inbox of Erin Example")
    );
    let dates: Vec<_> = erin.entries.iter().map(|e| e.updated).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(erin.updated, dates[0], "dated by its newest entry, not now");

    // Frank follows nothing and reported every ticket, open or closed.
    let frank = parse(&site.join("people/frank/inbox.atom"));
    let mut tickets = ids(&frank);
    tickets.sort();
    assert_eq!(
        tickets,
        [
            "tickets/billing-low.html",
            "tickets/shop-assigned.html",
            "tickets/shop-critical.html",
            "tickets/shop-high.html",
            "tickets/shop-normal.html",
            "tickets/shop-unrelated.html",
        ]
    );

    // The person's page links the inbox, in its head and its body.
    let page = read(&site.join("people/erin.html"));
    assert_eq!(
        page.matches(r#"href="../people/erin/inbox.atom""#).count(),
        2
    );
    assert!(page.contains(">Inbox feed</a>"));

    // The same repository and "now" give the same bytes.
    let again = dir.path().join("again");
    build_at(&repo, &again, NOW);
    assert_eq!(
        read(&site.join("people/erin/inbox.atom")),
        read(&again.join("people/erin/inbox.atom"))
    );
}

#[test]
fn every_inbox_of_the_example_parses_and_is_linked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = dir.path().join("site");
    build_at(&root().join("content-example"), &site, NOW);
    let mut inboxes = 0;
    for file in std::fs::read_dir(root().join("content-example/people")).expect("people") {
        let name = file
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(id) = name.strip_suffix(".yaml") else {
            continue;
        };
        let feed = parse(&site.join(format!("people/{id}/inbox.atom")));
        assert!(!feed.entries.is_empty(), "{id}'s inbox is empty");
        assert!(feed.entries.len() <= 50, "{id}");
        let page = read(&site.join(format!("people/{id}.html")));
        assert!(page.contains(&format!(r#"href="../people/{id}/inbox.atom""#)));
        inboxes += 1;
    }
    assert!(inboxes >= 4, "{inboxes} inboxes");
    // Bob follows the backup tape's procedure: its entries reach him.
    let bob = parse(&site.join("people/bob/inbox.atom"));
    assert!(
        ids(&bob).iter().any(|id| id.contains("verify-backup-tape")),
        "{:?}",
        ids(&bob)
    );
    let (checked, broken) = broken_links(&site);
    assert!(checked > 0);
    assert!(broken.is_empty(), "{broken:#?}");
}
