//! Triage on the built example: one alert per subject, acknowledgements (muted, shown
//! apart, not counted, back when they stop holding), threads on entity pages, robots'
//! entries marked.

use std::path::{Path, PathBuf};

use crate::support::{build_at, copy_tree, read, root, run};

/// A copy of the example with `extra` logbook files (path, text), built at `now`.
fn example_at(now: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    for (path, text) in extra {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let out = dir.path().join("site");
    build_at(&repo, &out, now);
    (dir, out)
}

/// The dashboard's count of `what` ("critical", "warnings").
fn count(index: &str, what: &str) -> usize {
    let end = format!("</strong> {what}</li>");
    let before = index.split(&end).next().expect("the count");
    let number = before.rsplit("<strong>").next().expect("the number");
    number
        .parse()
        .unwrap_or_else(|_| panic!("{what}: {number}"))
}

/// The alerts that need someone, and the acknowledged ones, as the dashboard lists them.
fn sections(index: &str) -> (String, String) {
    let (_, rest) = index.split_once(r#"<h2 id="alerts">"#).expect("alerts");
    // Both end where the cards start.
    let rest = rest.split(r#"<div class="grid"#).next().unwrap_or(rest);
    let (active, acknowledged) = rest
        .split_once(r#"<h3 id="acknowledged">"#)
        .unwrap_or((rest, ""));
    (active.to_owned(), acknowledged.to_owned())
}

fn alerts_json(out: &Path) -> Vec<serde_json::Value> {
    let api: serde_json::Value =
        serde_json::from_str(&read(&out.join("api/alerts.json"))).expect("JSON");
    let items = api
        .as_object()
        .and_then(|o| o.values().find(|v| v.is_array()))
        .and_then(|v| v.as_array())
        .expect("a list of alerts");
    items.clone()
}

#[test]
fn one_alert_per_subject_lists_its_reasons() {
    let (_dir, out) = example_at("2026-11-22", &[]);
    let alerts = alerts_json(&out);
    let example_net: Vec<_> = alerts
        .iter()
        .filter(|a| a["subject"] == "example-net")
        .collect();
    assert_eq!(example_net.len(), 1, "{example_net:#?}");
    let reasons = example_net[0]["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 2, "expiring and unpaid");
    assert_eq!(example_net[0]["severity"], "critical");
    let page = read(&out.join("domains/example-net.html"));
    assert_eq!(page.matches("severity-critical").count(), 1, "one badge");
    let list = read(&out.join("domains/index.html"));
    assert!(!list.contains("critical</span> <span class=\"severity severity-critical"));
}

const INTRANET_ACK: (&str, &str) = (
    "logbook/2026/11/2026-11-21-intranet-cert-ack.md",
    "---\nat: 2026-11-21T08:00:00Z\nby: bob\nabout: certificate/intranet-example-org\ndisposition: acknowledged\n---\nRenewing with the next batch.\n",
);

#[test]
fn an_acknowledged_alert_is_shown_apart_and_not_counted() {
    let (_dir, plain) = example_at("2026-11-22", &[]);
    let (_dir2, out) = example_at("2026-11-22", &[INTRANET_ACK]);
    let before = read(&plain.join("index.html"));
    let index = read(&out.join("index.html"));
    assert_eq!(count(&index, "warnings"), count(&before, "warnings") - 1);
    assert_eq!(count(&index, "critical"), count(&before, "critical"));
    let (active, acknowledged) = sections(&index);
    assert!(!active.contains("certificates/intranet-example-org.html"));
    assert!(
        acknowledged.contains("certificates/intranet-example-org.html")
            // Bob has a people file: his name links to his page.
            && acknowledged.contains(
                r#"acknowledged by <a href="people/bob.html" class="person">Bob Okafor</a>"#
            ),
        "{acknowledged}"
    );
    // The example's own acknowledgements: the expired partners certificate (a reply to
    // the entry that reported it) and example.net (until 2026-11-27).
    for subject in ["partners-example-com", "example-net"] {
        assert!(acknowledged.contains(subject), "{subject}: {acknowledged}");
        assert!(!active.contains(subject), "{subject}");
    }
    let api = alerts_json(&out);
    let intranet = api
        .iter()
        .find(|a| a["subject"] == "intranet-example-org")
        .expect("the intranet alert");
    assert_eq!(intranet["acknowledged"]["by"], "bob");
    assert_eq!(
        intranet["acknowledged"]["entry"],
        "2026-11-21-intranet-cert-ack"
    );
    // The certificate's page says so, and shows the thread.
    let page = read(&out.join("certificates/intranet-example-org.html"));
    assert!(
        page.contains(
            r#"acknowledged by <a href="../people/bob.html" class="person">Bob Okafor</a>"#
        ),
        "{page}"
    );
    assert!(page.contains("2026-11-21-intranet-cert-ack.html"));
}

#[test]
fn an_acknowledgement_ends_when_the_alert_gets_worse_or_until_passes() {
    // The intranet certificate turns critical on 2026-12-03: the warning acknowledged
    // on 2026-11-21 no longer covers it.
    let (_dir, out) = example_at("2026-12-04", &[INTRANET_ACK]);
    let (active, acknowledged) = sections(&read(&out.join("index.html")));
    assert!(
        active.contains("certificates/intranet-example-org.html"),
        "{active}"
    );
    assert!(!acknowledged.contains("intranet-example-org"));
    // example.net is acknowledged until 2026-11-27, and back on the 28th.
    let (_dir, held) = example_at("2026-11-27", &[]);
    let (active, _) = sections(&read(&held.join("index.html")));
    assert!(!active.contains("domains/example-net.html"), "{active}");
    let (_dir, after) = example_at("2026-11-28", &[]);
    let (active, _) = sections(&read(&after.join("index.html")));
    assert!(active.contains("domains/example-net.html"), "{active}");
}

#[test]
fn entries_about_an_entity_show_in_its_threads() {
    let (_dir, out) = example_at("2026-11-22", &[]);
    let host = read(&out.join("hosts/mon1.html"));
    assert!(host.contains(r#"id="threads""#));
    assert!(
        host.contains("2026-11-20-mon1-disk-usage.html")
            && host.contains("2026-11-21-mon1-disk-usage-ack.html"),
        "{host}"
    );
    assert!(host.contains("state-acknowledged"), "the thread's state");
    // A host nothing is about says how to start a thread.
    let quiet = read(&out.join("hosts/web1.html"));
    assert!(quiet.contains("glassroom log --about host/web1"), "{quiet}");
    // The ticket the reply is about shows the thread too.
    let ticket = read(&out.join("tickets/mon1-prometheus-disk-full.html"));
    assert!(ticket.contains("2026-11-20-mon1-disk-usage.html"));
    // A module's page shows the threads about its releases.
    let module = read(&out.join("modules/billing-api.html"));
    assert!(
        module.contains("2026-11-10-billing-api-4.1-deployed.html"),
        "{module}"
    );
    // An entry names what it is about.
    let entry = read(&out.join("logbook/2026-11-20-mon1-disk-usage.html"));
    assert!(entry.contains("hosts/mon1.html"), "{entry}");
}

#[test]
fn the_procedure_page_shows_threads_with_their_state_and_whole_summaries() {
    let (_dir, out) = example_at("2026-11-22", &[]);
    let page = read(&out.join("procedures/verify-backup-tape.html"));
    let thread = page
        .split("<li class=\"thread-item")
        .find(|t| t.contains("2026-11-08-verify-backup-tape.html"))
        .expect("the 11-08 thread");
    assert!(
        thread.contains("2026-11-09-checksum-mismatch-end.html"),
        "{thread}"
    );
    assert!(
        thread.contains("Thread <span class=\"state state-ended tone-ok\">ended"),
        "{thread}"
    );
    // The summary goes on past "failed checksum verification:".
    assert!(thread.contains("verification: db1:/var/lib"), "{thread}");
    // Robots' entries are marked.
    assert!(
        page.contains("backup-bot <span class=\"badge robot\""),
        "robot badge"
    );
    let logbook = read(&out.join("logbook/index.html"));
    assert!(logbook.contains("class=\"badge robot\""));
    assert!(!logbook.contains("alice <span class=\"badge robot\""));
}

#[test]
fn check_points_at_an_unknown_about_and_an_unknown_by_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let entry = repo.join("logbook/2026/11/2026-11-21-typos.md");
    std::fs::write(
        &entry,
        "---\nat: 2026-11-21T12:00:00Z\nby: bobb\nabout: host/mon2\n---\nTypos.\n",
    )
    .expect("write");
    let checked = run(&["check", repo.to_str().expect("utf-8")]);
    assert_ne!(checked.code, Some(0), "an unknown host is an error");
    let said = format!("{}{}", checked.stdout, checked.stderr);
    assert!(
        said.contains("2026-11-21-typos.md:4:8") && said.contains("did you mean `host/mon1`?"),
        "{said}"
    );
    assert!(
        said.contains("2026-11-21-typos.md:3:5")
            && said.contains("`bobb` is not a user of the policy")
            && said.contains("did you mean `bob`?"),
        "{said}"
    );
}
