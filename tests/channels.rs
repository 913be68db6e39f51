//! Every entity's channel (issue 22): `feeds/<kind>/<id>.atom` holds everything about the
//! entity, parses as Atom, is linked from the entity's page, and keeps its dates and ids
//! from one build to the next whatever "now" is.

use std::path::Path;

use crate::support::{broken_links, build_at, copy_tree, read, root};

/// The example built at `now` into `dir/site`.
fn example_at(dir: &Path, now: &str) -> std::path::PathBuf {
    let out = dir.join("site");
    build_at(&root().join("content-example"), &out, now);
    out
}

fn parse(path: &Path) -> feed_rs::model::Feed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    feed_rs::parser::parse(bytes.as_slice())
        .unwrap_or_else(|e| panic!("{} is not a feed: {e}", path.display()))
}

/// Each entry's id, date and title.
fn entries(feed: &feed_rs::model::Feed) -> Vec<(String, String, String)> {
    feed.entries
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                e.updated.map(|d| d.to_rfc3339()).unwrap_or_default(),
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn has_id(feed: &feed_rs::model::Feed, path: &str) -> bool {
    let id = format!("https://ops.example.org/{path}");
    feed.entries.iter().any(|e| e.id == id)
}

#[test]
fn every_entity_has_a_channel_that_parses_and_is_linked_from_its_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = example_at(dir.path(), "2026-11-22");
    let mut feeds = 0;
    for (dir_, noun) in [
        ("hosts", "host"),
        ("certificates", "certificate"),
        ("domains", "domain"),
        ("modules", "module"),
        ("releases", "release"),
        ("procedures", "procedure"),
        ("tickets", "ticket"),
        ("sites", "site"),
        ("services", "service"),
    ] {
        for file in std::fs::read_dir(root().join("content-example").join(dir_)).expect("dir") {
            let name = file
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let id = name.rsplit_once('.').map_or(name.as_str(), |(id, _)| id);
            let feed = parse(&site.join(format!("feeds/{noun}/{id}.atom")));
            assert!(feed.entries.len() <= 50, "{noun}/{id}");
            let dates: Vec<_> = feed.entries.iter().map(|e| e.updated).collect();
            assert!(
                dates.windows(2).all(|w| w[0] >= w[1]),
                "{noun}/{id}: newest first"
            );
            assert_eq!(
                feed.updated,
                dates.first().copied().flatten().or(feed.updated)
            );
            let page = read(&site.join(format!("{dir_}/{id}.html")));
            let link = format!("href=\"../feeds/{noun}/{id}.atom\"");
            assert_eq!(
                page.matches(&link).count(),
                2,
                "{dir_}/{id}.html: head and body"
            );
            assert!(page.contains(r#"<link rel="alternate" type="application/atom+xml""#));
            assert!(page.contains(">feed</a>"), "{dir_}/{id}.html: Follow: feed");
            feeds += 1;
        }
    }
    assert!(feeds > 60, "{feeds} channels");
    let (checked, broken) = broken_links(&site);
    assert!(checked > 0);
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn channels_hold_entries_and_replies_releases_tickets_and_alerts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let site = example_at(dir.path(), "2026-11-22");
    let tape = parse(&site.join("feeds/procedure/verify-backup-tape.atom"));
    assert_eq!(tape.entries.len(), 50, "capped to the newest 50");
    assert!(has_id(&tape, "logbook/2026-11-21-verify-backup-tape.html"));
    // A reply, which names no procedure itself.
    assert!(has_id(
        &tape,
        "logbook/2026-11-08-checksum-mismatch-info.html"
    ));
    assert!(
        !has_id(&tape, "logbook/2026-11-10-billing-api-4.1-deployed.html"),
        "only what is about it"
    );

    let billing = parse(&site.join("feeds/module/billing-api.atom"));
    for path in [
        "releases/billing-api-4.1.html",
        "releases/billing-api-4.0.html",
        "tickets/billing-api-memory-leak.html",
        "tickets/vat-rounding-off-by-one-cent.html",
        // About one of its releases.
        "logbook/2026-11-10-billing-api-4.1-deployed.html",
    ] {
        assert!(has_id(&billing, path), "billing-api's channel has {path}");
    }
    let release = parse(&site.join("feeds/release/billing-api-4.1.atom"));
    assert!(has_id(&release, "tickets/invoice-export-csv.html"));
    assert!(has_id(&release, "releases/billing-api-4.1.html"));

    let partners = parse(&site.join("feeds/certificate/partners-example-com.atom"));
    let alert = partners
        .entries
        .iter()
        .find(|e| e.id.contains("/alerts/certificate_expired/"))
        .expect("the expired certificate's alert");
    // The same entry as in the site-wide alerts feed.
    let alerts = parse(&site.join("feeds/alerts.atom"));
    let same = alerts
        .entries
        .iter()
        .find(|e| e.id == alert.id)
        .expect("in the alerts feed too");
    assert_eq!(same.updated, alert.updated);
    assert!(has_id(
        &partners,
        "logbook/2026-11-15-partners-cert-expired.html"
    ));
    assert!(
        partners
            .links
            .iter()
            .any(|l| l.href == "https://ops.example.org/certificates/partners-example-com.html")
    );
}

#[test]
fn channel_dates_and_ids_do_not_change_with_now() {
    let (a, b) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let first = example_at(a.path(), "2026-11-22");
    // A day and a half on: a procedure fell overdue meanwhile (a new alert, a new
    // item); everything else is as it was, with the dates it had.
    let second = example_at(b.path(), "2026-11-23T12:00:00Z");
    let mut compared = 0;
    let mut new_alerts = 0;
    for noun in [
        "procedure",
        "module",
        "certificate",
        "domain",
        "ticket",
        "host",
        "release",
    ] {
        for file in std::fs::read_dir(first.join("feeds").join(noun)).expect("feeds") {
            let path = file.expect("entry").path();
            let name = path.file_name().expect("name");
            let (one, two) = (
                entries(&parse(&path)),
                entries(&parse(&second.join("feeds").join(noun).join(name))),
            );
            let not_alerts = |items: &[(String, String, String)]| -> Vec<(String, String, String)> {
                items
                    .iter()
                    .filter(|(id, _, _)| !id.contains("/alerts/"))
                    .cloned()
                    .collect()
            };
            // A new alert may push the oldest item past the 50 kept.
            let (one_, two_) = (not_alerts(&one), not_alerts(&two));
            let kept = one_.len().min(two_.len());
            assert!(one_.len().abs_diff(two_.len()) <= 1, "{}", path.display());
            assert_eq!(one_[..kept], two_[..kept], "{}", path.display());
            for (id, date, _) in one.iter().filter(|(id, _, _)| id.contains("/alerts/")) {
                let later = two.iter().find(|(other, _, _)| other == id);
                if let Some((_, later, _)) = later {
                    assert_eq!(date, later, "{id}: the alert keeps its date");
                }
            }
            new_alerts += usize::from(two.len() - two_.len() > one.len() - one_.len());
            compared += 1;
        }
    }
    assert!(compared > 30);
    assert!(new_alerts >= 1, "verify-backup-tape fell overdue");
}

#[test]
fn an_entity_with_an_odd_id_has_a_feed_with_a_safe_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    // Ids are letters, digits, `-`, `_` and `.`: the odd one is a directory's index.
    std::fs::write(repo.join("hosts/index.yaml"), "os: Debian\n").expect("write");
    let out = dir.path().join("site");
    build_at(&repo, &out, "2026-11-22");
    let feed = parse(&out.join("feeds/host/~69ndex.atom"));
    assert!(feed.entries.is_empty());
    assert_eq!(
        feed.updated.map(|d| d.timestamp()),
        Some(0),
        "an empty channel is dated at the epoch, not now"
    );
    let page = read(&out.join("hosts/~69ndex.html"));
    assert!(page.contains("href=\"../feeds/host/~69ndex.atom\""));
    let (_, broken) = broken_links(&out);
    assert!(broken.is_empty(), "{broken:#?}");
}
