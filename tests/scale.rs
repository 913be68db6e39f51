//! A generated repository of some size (`genrepo --scale 2000`): the dashboard shows the
//! first alerts of each section and links to the page of all of them, long lists are
//! split into pages whose links resolve, and no page grows past a bound.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::support::{broken_links, build_at, read, snapshot};

#[allow(dead_code, clippy::all, clippy::pedantic)]
#[path = "../examples/genrepo.rs"]
mod genrepo;

/// Generates and builds a repository of `scale` (see `examples/genrepo.rs`).
fn built(scale: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("content");
    genrepo::generate(&repo, scale, false).expect("genrepo");
    let out = dir.path().join("site");
    build_at(&repo, &out, "2026-11-22");
    (dir, out)
}

/// The parts of `text` between each `start` and the next `end` after it.
fn between<'t>(text: &'t str, start: &str, end: &str) -> Vec<&'t str> {
    text.split(start)
        .skip(1)
        .map(|rest| rest.split(end).next().unwrap_or(rest))
        .collect()
}

#[test]
fn the_dashboard_shows_ten_alerts_a_section_and_links_to_the_page_of_all_of_them() {
    let (_dir, out) = built(2000);
    let api: serde_json::Value =
        serde_json::from_str(&read(&out.join("api/alerts.json"))).expect("alerts JSON");
    let total = api["items"]
        .as_array()
        .or_else(|| api.as_array())
        .map(Vec::len)
        .expect("a list of alerts");
    assert!(total > 50, "the repository has many alerts: {total}");
    // The page of all alerts: every alert once, by section.
    let page = read(&out.join("alerts.html"));
    let mut on_page: BTreeMap<String, usize> = BTreeMap::new();
    for section in between(
        &page,
        r#"<section class="alert-section" aria-labelledby=""#,
        "</section>",
    ) {
        let kind = section.split('"').next().unwrap_or_default().to_owned();
        on_page.insert(kind, section.matches("<li class=").count());
    }
    assert_eq!(on_page.values().sum::<usize>(), total, "{on_page:?}");
    // The dashboard: at most ten of each section, and the rest counted and linked.
    let dashboard = read(&out.join("index.html"));
    let mut capped = 0;
    for section in between(
        &dashboard,
        r#"<section class="alert-section" aria-labelledby="alerts-"#,
        "</section>",
    ) {
        let kind = section.split('"').next().unwrap_or_default();
        let shown = section.matches("<li class=").count();
        let all = on_page[kind];
        assert_eq!(shown, all.min(10), "section {kind}");
        if all > 10 {
            capped += 1;
            let more = format!(r#"<a href="alerts.html#{kind}">{} more in "#, all - 10);
            assert!(section.contains(&more), "{more} in {section}");
            assert!(
                page.contains(&format!(r#"<h2 id="{kind}">"#)),
                "the link's anchor"
            );
        }
    }
    assert!(capped > 0, "some section has more than ten alerts");
    assert!(dashboard.contains(r#"<a href="alerts.html">All "#));
}

/// The ticket ids linked from the rows of the table `id` of a ticket list page.
fn ticket_rows(page: &str, table: &str) -> Vec<String> {
    between(page, &format!(r#"<table id="{table}""#), "</table>")
        .into_iter()
        .flat_map(|rows| between(rows, r#"<tr><td><a href="../tickets/"#, ".html\""))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_ticket_is_on_exactly_one_page_of_the_list_and_every_page_link_resolves() {
    let (_dir, out) = built(2000);
    let tickets = std::fs::read_dir(out.join("tickets")).expect("tickets");
    let mut pages = Vec::new();
    let mut ids = Vec::new();
    for entry in tickets {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        if name == "index.html" || name.contains('~') {
            pages.push(name);
        } else if let Some(id) = name.strip_suffix(".html") {
            ids.push(id.to_owned());
        }
    }
    assert!(ids.len() >= 700, "{} tickets", ids.len());
    assert!(
        pages.iter().any(|p| p.starts_with("open~"))
            && pages.iter().any(|p| p.starts_with("closed~")),
        "both tables are split: {pages:?}"
    );
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in &pages {
        let page = read(&out.join("tickets").join(name));
        for table in ["open", "closed"] {
            let rows = ticket_rows(&page, table);
            assert!(rows.len() <= 100, "{name}: {} rows", rows.len());
            for id in rows {
                seen.entry(id).or_default().push(name.clone());
            }
        }
        // Each page links to every page of its tables.
        assert!(page.contains(r#"<nav class="pages""#), "{name}");
    }
    ids.sort();
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        ids,
        "every ticket is listed"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, on)| on.len() != 1).collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    // The pages of the logbook's threads and of the features, and every link of the site.
    assert!(out.join("logbook/threads~2.html").exists());
    assert!(out.join("flags/features~2.html").exists());
    let (checked, broken) = broken_links(&out);
    assert!(checked > 10_000, "only {checked} links checked");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The budget is 300 KB a page at `genrepo --scale 10000`. A page is a fixed part (at
/// most a page of 100 rows of each of its long tables, ~40 KB each) and a part that grows
/// with the repository (its summaries, the alerts): at a fifth of that scale, the growing
/// part has a fifth of its room. Before the long lists were split, the ticket list alone
/// was 366 KB here (1.8 MB at 10,000).
const BOUND_AT_2000: usize = 140 * 1024;

#[test]
fn no_page_of_a_large_repository_is_over_its_bound() {
    let (_dir, out) = built(2000);
    let over: Vec<(String, usize)> = snapshot(&out)
        .into_iter()
        .filter(|(path, bytes)| path.ends_with(".html") && bytes.len() > BOUND_AT_2000)
        .map(|(path, bytes)| (path, bytes.len()))
        .collect();
    assert!(
        over.is_empty(),
        "pages over {BOUND_AT_2000} bytes: {over:?}"
    );
}
