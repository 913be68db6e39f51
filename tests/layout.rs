//! What the pages say when there is nothing to show, and what a printed page carries.

use crate::support::{build_at, read, root};

#[test]
fn empty_sections_say_so_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("content");
    // The policy and the kinds that say nothing of time, without anything that is due,
    // logged, reported or news.
    crate::support::copy_tree(&root().join("tests/bad/base"), &repo);
    for empty in [
        "news",
        "logbook",
        "tickets",
        "certificates",
        "domains",
        "releases",
        "procedures",
    ] {
        std::fs::remove_dir_all(repo.join(empty)).expect("remove");
    }
    let out = dir.path().join("site");
    build_at(&repo, &out, "2026-11-22");
    let dashboard = read(&out.join("index.html"));
    for line in [
        "No alerts need anyone. Everything is in order.",
        "No logbook entries yet.",
        "Nothing is due.",
        "No thread needs attention.",
        "No news.",
    ] {
        assert!(dashboard.contains(line), "{line}:\n{dashboard}");
    }
    assert!(
        !dashboard.contains("<table>"),
        "no empty table of due dates"
    );
    assert!(
        !dashboard.contains(r#"<ol class="thread">"#),
        "no empty list"
    );
    let report = read(&out.join("reports/tickets.html"));
    assert!(report.contains("No tickets yet"), "{report}");
    assert!(!report.contains("<h2>By kind</h2>"), "no empty tables");
    let logbook = read(&out.join("logbook/index.html"));
    assert!(logbook.contains("No entries yet."), "{logbook}");
}

#[test]
fn a_printed_runbook_and_dashboard_say_as_of_when_and_by_which_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let example = root().join("content-example");
    build_at(&example, &first, "2026-11-22");
    build_at(&example, &second, "2026-11-23T08:00:00Z");
    let version = format!("glassroom {}", env!("CARGO_PKG_VERSION"));
    let runbook = read(&first.join("sites/shop.html"));
    assert!(
        runbook.contains(&format!(
            r#"<p class="as-of">Runbooks as of <time datetime="2026-11-22T00:00:00Z">2026-11-22 00:00 UTC</time> · {version}</p>"#
        )),
        "{runbook}"
    );
    // A later build says its own time (the page's key reads "now").
    assert!(
        read(&second.join("sites/shop.html"))
            .contains(r#"Runbooks as of <time datetime="2026-11-23T08:00:00Z">"#)
    );
    let dashboard = read(&first.join("index.html"));
    assert!(
        dashboard.contains(&format!(
            r#"<p class="as-of">Built for <time datetime="2026-11-22T00:00:00Z">2026-11-22 00:00 UTC</time> by {version}.</p>"#
        )),
        "{dashboard}"
    );
    // Print hides the navigation and the feed links, not the footer's build time, and
    // lets cards break rather than leave half-empty pages.
    let css = read(&first.join("style.css"));
    let print = css.split("@media print {").nth(1).expect("print styles");
    let hidden = print
        .lines()
        .find(|line| line.contains("display: none"))
        .expect("what print hides");
    assert!(
        hidden.contains("footer .links") && !hidden.contains("footer,"),
        "{hidden}"
    );
    assert!(print.contains(".card { border: 1px solid #999; break-inside: auto; }"));
}
