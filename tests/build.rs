//! `glassroom build`: the example site, its alerts, reproducibility, links, safety.

use std::path::{Path, PathBuf};

use crate::support::{copy_tree, root, run, snapshot};

fn build(repo: &Path, out: &Path) -> crate::support::Run {
    run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
    ])
}

fn built_example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    let result = build(&root().join("content-example"), &out);
    assert_eq!(result.code, Some(0), "stderr:\n{}", result.stderr);
    (dir, out)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `<li class="SEVERITY">` alert items of the dashboard's sections, as (severity, text).
fn dashboard_alerts(index: &str) -> Vec<(String, String)> {
    // One list per section (certificates, tickets…).
    let sections: Vec<&str> = index
        .split(r#"<ul class="alerts">"#)
        .skip(1)
        // A section's list ends with the section (an alert's reasons are a list of
        // their own; the acknowledged ones are a list of another class).
        .filter_map(|rest| rest.split("</section>").next())
        .collect();
    assert!(!sections.is_empty(), "the dashboard lists alerts");
    sections
        .into_iter()
        .flat_map(|section| section.split("<li class=\"").skip(1))
        .map(|item| {
            let (severity, rest) = item.split_once('"').expect("class attribute");
            (severity.to_owned(), rest.to_owned())
        })
        .collect()
}

#[test]
fn the_dashboard_shows_the_example_alerts() {
    let (_dir, out) = built_example();
    let alerts = dashboard_alerts(&read(&out.join("index.html")));
    let has = |severity: &str, link: &str, words: &str| {
        alerts
            .iter()
            .any(|(s, text)| s == severity && text.contains(link) && text.contains(words))
    };
    // Expired, but acknowledged by a reply to the entry that reported it: shown apart.
    let index = read(&out.join("index.html"));
    let acknowledged = index
        .split(r#"<ul class="alerts acknowledged">"#)
        .nth(1)
        .expect("acknowledged alerts");
    assert!(
        acknowledged.contains("certificates/partners-example-com.html")
            && acknowledged.contains("expired"),
        "{acknowledged}"
    );
    assert!(!has(
        "critical",
        "certificates/partners-example-com.html",
        ""
    ));
    assert!(
        has(
            "critical",
            "certificates/api-example-com.html",
            "expires in 4 days"
        ),
        "{alerts:#?}"
    );
    assert!(
        has(
            "warning",
            "certificates/intranet-example-org.html",
            "expires in 18 days"
        ),
        "{alerts:#?}"
    );
    // Acknowledged until 2026-11-27 (its renewal is not paid).
    assert!(
        acknowledged.contains("domains/example-net.html") && acknowledged.contains("not paid"),
        "{acknowledged}"
    );
    assert!(
        has("critical", "procedures/test-restore.html", "overdue"),
        "{alerts:#?}"
    );
    assert!(
        has(
            "warning",
            "procedures/check-domain-invoices.html",
            "never been done"
        ),
        "{alerts:#?}"
    );
    assert!(
        has("warning", "releases/nginx-1.28.html", "still planned"),
        "{alerts:#?}"
    );
    assert!(
        has(
            "critical",
            "tickets/billing-api-memory-leak.html",
            "critical"
        ),
        "{alerts:#?}"
    );
    // Each alert names the file that causes it.
    assert!(
        alerts
            .iter()
            .all(|(_, text)| text.contains("caused by <code>")),
        "{alerts:#?}"
    );
    // Alerts are in sections by what they are about, each critical first; the sections
    // with a critical alert come before those without.
    let index = read(&out.join("index.html"));
    let worst: Vec<Vec<bool>> = index
        .split(r#"<ul class="alerts">"#)
        .skip(1)
        .filter_map(|rest| rest.split("</ul>").next())
        .map(|section| {
            section
                .split("<li class=\"")
                .skip(1)
                .map(|item| item.starts_with("critical"))
                .collect()
        })
        .collect();
    assert!(worst.len() > 2, "{worst:?}");
    for section in &worst {
        let first_warning = section.iter().position(|c| !c).unwrap_or(section.len());
        assert!(section[first_warning..].iter().all(|c| !c), "{worst:?}");
    }
    let with_critical: Vec<bool> = worst.iter().map(|s| s.first() == Some(&true)).collect();
    let first_without = with_critical
        .iter()
        .position(|c| !c)
        .unwrap_or(with_critical.len());
    assert!(
        with_critical[first_without..].iter().all(|c| !c),
        "{worst:?}"
    );
}

#[test]
fn procedure_pages_show_due_state_and_history() {
    let (_dir, out) = built_example();
    let restore = read(&out.join("procedures/test-restore.html"));
    assert!(restore.contains("state-overdue"), "test-restore is overdue");
    assert!(
        restore.contains("2026-09-28"),
        "its last execution is listed"
    );
    let never = read(&out.join("procedures/check-domain-invoices.html"));
    assert!(never.contains("state-never_done"));
    assert!(never.contains("never been logged"));
    let tape = read(&out.join("procedures/verify-backup-tape.html"));
    assert!(
        tape.contains("<ol>"),
        "the steps are rendered from Markdown"
    );
}

#[test]
fn relations_are_linked_both_ways() {
    let (_dir, out) = built_example();
    let release = read(&out.join("releases/billing-api-4.1.html"));
    let module = read(&out.join("modules/billing-api.html"));
    assert!(
        module.contains("releases/billing-api-4.1.html"),
        "module → release"
    );
    assert!(
        release.contains("modules/billing-api.html"),
        "release → module"
    );
    let fixed: Vec<&str> = release
        .split("tickets/")
        .skip(1)
        .filter_map(|s| s.split(".html").next())
        .collect();
    assert!(
        !fixed.is_empty(),
        "billing-api 4.1 lists the tickets fixed in it"
    );
    for ticket in fixed {
        let page = read(&out.join(format!("tickets/{ticket}.html")));
        assert!(
            page.contains("releases/billing-api-4.1.html"),
            "{ticket} → release"
        );
    }
    let host = read(&out.join("hosts/app2.html"));
    assert!(
        host.contains("tickets/billing-api-memory-leak.html"),
        "host → open ticket"
    );
}

#[test]
fn two_builds_are_byte_identical() {
    let (_a, first) = built_example();
    let (_b, second) = built_example();
    let one = snapshot(&first);
    let two = snapshot(&second);
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &one {
        assert!(
            two.get(path) == Some(bytes),
            "{path} differs between builds"
        );
    }
}

/// A second `glassroom build` reads the documents of unchanged files from the store
/// kept with the build cache instead of parsing them, and nothing a user sees tells the
/// two builds apart: the same files, and the same warning at the same line and column.
/// A damaged store is only a slower build.
#[test]
fn a_rebuild_reads_unchanged_documents_from_the_store_and_shows_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let _ = std::fs::remove_dir_all(repo.join("public"));
    std::fs::write(
        repo.join("flags/account_sets/zz-late.yaml"),
        "accounts: [acct-1001]\nfeatures:\n  new-checkout: false\n",
    )
    .expect("write");
    let out = dir.path().join("site");
    // Not a git repository: its caches are in the user's cache directory.
    let cache_home = dir.path().join("cache-home");

    // How many documents a build read from the store, from its phase timings.
    let build_timed = |repo: &Path, out: &Path| {
        let timed: crate::support::Run = crate::support::glassroom()
            .args(["build", repo.to_str().expect("utf-8"), "--out"])
            .arg(out)
            .args(["--now", "2026-11-22"])
            .env("NO_COLOR", "1")
            .env("GLASSROOM_TIMINGS", "1")
            .env("XDG_CACHE_HOME", &cache_home)
            .output()
            .expect("the glassroom binary runs")
            .into();
        assert_eq!(timed.code, Some(0), "{}", timed.stderr);
        let from_store = timed
            .stderr
            .lines()
            .find_map(|l| {
                l.split("parse files (")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no count in {}", timed.stderr));
        let stderr: String = timed
            .stderr
            .lines()
            .filter(|l| !l.starts_with("timing:"))
            .map(|l| format!("{l}\n"))
            .collect();
        (from_store, stderr)
    };
    let (from_store, first_stderr) = build_timed(&repo, &out);
    assert_eq!(from_store, 0usize);
    assert!(
        first_stderr.contains("zz-late.yaml:3:17"),
        "the warning points at the value: {first_stderr}"
    );
    let first_site = snapshot(&out);
    let store = std::fs::read_dir(cache_home.join("glassroom/build"))
        .expect("the caches are written")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.extension().is_some_and(|e| e == "parsed"))
        .expect("the store is written");
    let written = std::fs::metadata(&store).expect("the store is written");
    assert!(written.len() > 10_000, "{} bytes", written.len());

    // Unchanged files: the same findings and files, and the store is not rewritten.
    let stored = std::fs::read(&store).expect("read the store");
    let (from_store, second_stderr) = build_timed(&repo, &out);
    let files = snapshot(&repo.join("tickets")).len();
    assert!(from_store > files, "{from_store} documents from the store");
    assert_eq!(second_stderr, first_stderr);
    assert!(snapshot(&out) == first_site, "the site changed");
    assert_eq!(std::fs::read(&store).expect("read the store"), stored);

    // A damaged store: the same again, and a good store written in its place.
    std::fs::write(&store, &stored[..stored.len() / 3]).expect("damage the store");
    let (from_store, third_stderr) = build_timed(&repo, &out);
    assert_eq!(from_store, 0usize);
    assert_eq!(third_stderr, first_stderr);
    assert!(snapshot(&out) == first_site, "the site changed");
    assert_eq!(std::fs::read(&store).expect("read the store"), stored);
}

/// Every `href`/`src` in every page points at a file that exists.
#[test]
fn no_internal_link_is_broken() {
    let (_dir, out) = built_example();
    let (checked, broken) = crate::support::broken_links(&out);
    assert!(checked > 1000, "only {checked} links checked");
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// The link checker itself finds what it is there to find.
#[test]
fn the_link_checker_catches_missing_files_anchors_and_bad_schemes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("modules/index.html");
    std::fs::create_dir_all(page.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &page,
        concat!(
            r#"<h2 id="here">x</h2><a href="../https://restic.net/">bad</a>"#,
            r#"<a href="javascript:alert(1)">bad</a><a href="missing.html">bad</a>"#,
            r##"<a href="#nowhere">bad</a><a href="index.html#gone">bad</a>"##,
            r##"<a href="#here">ok</a><a href="index.html#here">ok</a>"##,
            r#"<a href="https://restic.net/">ok</a><a href="mailto:a@b.c">ok</a>"#,
        ),
    )
    .expect("write");
    let (checked, broken) = crate::support::broken_links(dir.path());
    assert_eq!(checked, 9);
    assert_eq!(broken.len(), 5, "{broken:#?}");
}

#[test]
fn feeds_calendar_and_api_are_written() {
    let (_dir, out) = built_example();
    let news = read(&out.join("feeds/news.atom"));
    assert!(news.starts_with("<?xml"));
    assert_eq!(news.matches("<entry>").count(), 3);
    assert!(
        news.contains("https://ops.example.org/news/"),
        "absolute links under base_url"
    );
    let logbook = read(&out.join("feeds/logbook.atom"));
    assert_eq!(
        logbook.matches("<entry>").count(),
        50,
        "the logbook feed holds the latest 50"
    );
    let alerts = read(&out.join("feeds/alerts.atom"));
    assert!(alerts.contains("partners.example.com"));
    let calendar = read(&out.join("calendar.ics"));
    assert!(calendar.starts_with("BEGIN:VCALENDAR"));
    assert!(
        calendar.contains("DTSTAMP:20261122T000000Z"),
        "stamped with --now, not the clock"
    );
    assert!(calendar.contains("UID:certificate-api-example-com-2026-11-26@ops.example.org"));
    assert!(calendar.contains("DTSTART;VALUE=DATE:20261126"));
    let hosts: serde_json::Value =
        serde_json::from_str(&read(&out.join("api/hosts.json"))).expect("JSON");
    assert_eq!(hosts["schema"], 1);
    assert_eq!(hosts["items"].as_array().map(Vec::len), Some(9));
    assert_eq!(hosts["items"][0]["url"], "hosts/app1.html");
    let tickets: serde_json::Value =
        serde_json::from_str(&read(&out.join("api/tickets.json"))).expect("JSON");
    assert!(tickets["items"][0]["body_html"].is_string());
}

/// A small repository: the bad-case base plus what a test adds.
fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("tests/bad/base"), dir.path());
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
    dir
}

#[test]
fn a_failed_build_leaves_the_previous_output_untouched() {
    let repo = repo_with(&[]);
    let out = repo.path().join("public");
    assert_eq!(build(repo.path(), &out).code, Some(0));
    let before = snapshot(&out);
    std::fs::write(repo.path().join("hosts/web1.yaml"), "name: [broken\n").expect("write");
    let failed = build(repo.path(), &out);
    assert_eq!(failed.code, Some(1));
    assert!(
        failed.stderr.contains("hosts/web1.yaml:"),
        "{}",
        failed.stderr
    );
    assert_eq!(snapshot(&out), before, "the previous site is intact");
    let siblings: Vec<_> = std::fs::read_dir(repo.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".public."))
        .collect();
    assert!(
        siblings.is_empty(),
        "no staging directory left: {siblings:?}"
    );
}

#[test]
fn a_build_never_replaces_a_directory_it_did_not_write() {
    let repo = repo_with(&[]);
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(out.path().join("precious.txt"), "keep").expect("write");
    let result = build(repo.path(), out.path());
    assert_eq!(result.code, Some(2), "{}", result.stderr);
    assert!(out.path().join("precious.txt").exists());
}

#[test]
fn markdown_is_sanitised() {
    let body = "Hello <script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<img src=x onerror=\"alert(2)\">\n\n<a href=\"JAVASCRIPT:alert(3)\">y</a>\n";
    let ticket = format!(
        "---\ntitle: Evil\nkind: bug\nmodule: shop\npriority: low\nstatus: open\nreporter: eve\nopened: 2026-11-01T10:00:00Z\n---\n{body}"
    );
    let repo = repo_with(&[("tickets/evil.md", &ticket)]);
    let out = repo.path().join("public");
    assert_eq!(build(repo.path(), &out).code, Some(0));
    let page = read(&out.join("tickets/evil.html")).to_lowercase();
    assert!(page.contains("hello"));
    assert!(!page.contains("<script>alert"), "no script from content");
    assert!(!page.contains("javascript:"), "no javascript: URL");
    assert!(!page.contains("<iframe"), "no iframe");
    assert!(!page.contains("onerror"), "no event handler");
}

#[test]
fn a_repository_template_overrides_the_theme() {
    let repo = repo_with(&[(
        "templates/host.html",
        "{% extends \"base.html\" %}{% block content %}<p id=\"custom\">Custom host {{ page.id }}</p>{% endblock %}",
    )]);
    let out = repo.path().join("public");
    let result = build(repo.path(), &out);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(read(&out.join("hosts/web1.html")).contains("<p id=\"custom\">Custom host web1</p>"));
    assert!(
        read(&out.join("hosts/index.html")).contains("web1"),
        "other templates stay"
    );
}

#[test]
fn a_broken_template_names_its_file_line_and_variable() {
    let repo = repo_with(&[(
        "templates/host.html",
        "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ hots.name }}</p>\n{% endblock %}\n",
    )]);
    let out = repo.path().join("public");
    let result = run(&[
        "build",
        repo.path().to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
        "--format",
        "short",
    ]);
    assert_eq!(result.code, Some(1));
    assert!(
        result.stderr.contains("templates/host.html:3:7: error:"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("`hots`"), "{}", result.stderr);
    assert!(!out.exists(), "nothing written");

    let syntax = repo_with(&[(
        "templates/host.html",
        "{% extends \"base.html\" %}\n{% block content %}{{ page.id }\n{% endblock %}\n",
    )]);
    let result = run(&[
        "build",
        syntax.path().to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
        "--format",
        "short",
    ]);
    assert_eq!(result.code, Some(1));
    assert!(
        result.stderr.contains("templates/host.html:2:"),
        "{}",
        result.stderr
    );
}

#[test]
fn invalid_content_never_produces_output() {
    let repo = repo_with(&[("tickets/t-2.md", "---\ntitle: x\n---\n")]);
    let out = repo.path().join("public");
    let result = build(repo.path(), &out);
    assert_eq!(result.code, Some(1));
    assert!(
        result.stderr.contains("tickets/t-2.md"),
        "{}",
        result.stderr
    );
    assert!(!out.exists());
}

#[test]
fn ticket_reports_match_numbers_computed_by_hand() {
    // With the base's t-1 (bug: response 2h, closed after 19d):
    // t-2 bug, response 4h, closed after 1d; t-3 feature, response 1h, still open.
    let repo = repo_with(&[
        (
            "tickets/t-2.md",
            "---\ntitle: Two\nkind: bug\nmodule: shop\npriority: high\nstatus: closed\nreporter: carol\nopened: 2026-10-01T00:00:00Z\nfirst_response: 2026-10-01T04:00:00Z\nclosed: 2026-10-02T00:00:00Z\n---\nx\n",
        ),
        (
            "tickets/t-3.md",
            "---\ntitle: Three\nkind: feature\nmodule: shop\npriority: normal\nstatus: open\nreporter: alice\nopened: 2026-11-01T00:00:00Z\nfirst_response: 2026-11-01T01:00:00Z\n---\nx\n",
        ),
    ]);
    let out = repo.path().join("public");
    assert_eq!(build(repo.path(), &out).code, Some(0));
    let report = read(&out.join("reports/tickets.html"));
    let text = strip_tags(&report);
    // Overall: 3 tickets; responses 2h, 4h, 1h → mean 2h 20m, median 2h; closes 19d, 1d → 10d and 10d.
    assert!(text.contains("3 3 2h 20m 2h 2 10d 10d"), "{text}");
    // By kind: bug → responses 2h, 4h (mean and median 3h), closes 10d; feature → 1h, none closed.
    assert!(text.contains("bug 2 3h 3h 10d 10d"), "{text}");
    assert!(text.contains("feature 1 1h 1h – –"), "{text}");
    // By reporter: carol reported t-1 and t-2.
    assert!(text.contains("carol 2 3h 3h 10d 10d"), "{text}");
    // Bugs by reporter: only carol's two bugs; alice reported a feature only.
    let bugs = text
        .split("Bugs by reporter")
        .nth(1)
        .and_then(|rest| rest.split("Delivered per release").next())
        .expect("the bugs-by-reporter view");
    assert!(bugs.contains("carol 2 3h 3h 10d 10d"), "{bugs}");
    assert!(!bugs.contains("alice"), "{bugs}");
    // Closed tickets: most recently closed first (t-2 on 10-02, t-1 on 09-20), not by
    // priority and opening date (which put t-1 first).
    let tickets = read(&out.join("tickets/index.html"));
    let closed = tickets
        .split(r#"<table id="closed""#)
        .nth(1)
        .expect("closed");
    let (one, two) = (closed.find("t-1.html"), closed.find("t-2.html"));
    assert!(one.is_some() && two.is_some() && two < one, "{closed}");
    assert!(
        report.contains("<svg class=\"chart\""),
        "charts are drawn at build time"
    );
}

fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn now_defaults_to_the_head_commit_time() {
    let repo = repo_with(&[]);
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("GIT_AUTHOR_DATE", "2026-11-10T08:30:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-10T08:30:00Z")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.org")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.org")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["-c", "commit.gpgsign=false", "commit", "-q", "-m", "base"]);
    let out = repo.path().join("public");
    let result = run(&[
        "build",
        repo.path().to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(
        result.stdout.contains("now = 2026-11-10T08:30:00Z"),
        "{}",
        result.stdout
    );
    assert!(read(&out.join("index.html")).contains(
        r#"Built for <time datetime="2026-11-10T08:30:00Z">2026-11-10 08:30 UTC</time>"#
    ));
}

#[test]
fn a_repository_can_choose_another_theme() {
    let repo = repo_with(&[
        ("glassroom.yaml", "title: Themed\ntheme: plain\n"),
        (
            "themes/plain/templates/dashboard.html",
            "{% extends \"base.html\" %}{% block content %}<p id=\"plain\">{{ alerts | length }} alerts</p>{% endblock %}",
        ),
        (
            "themes/plain/static/style.css",
            "body { font-family: serif; }",
        ),
    ]);
    let out = repo.path().join("public");
    let result = build(repo.path(), &out);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert!(read(&out.join("index.html")).contains("<p id=\"plain\">"));
    assert_eq!(read(&out.join("style.css")), "body { font-family: serif; }");
    assert!(
        read(&out.join("hosts/web1.html")).contains("web1"),
        "missing templates come from the default theme"
    );

    let missing = repo_with(&[("glassroom.yaml", "title: Themed\ntheme: nope\n")]);
    let result = run(&[
        "build",
        missing.path().to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
        "--format",
        "short",
    ]);
    assert_eq!(result.code, Some(1));
    assert!(
        result
            .stderr
            .contains("glassroom.yaml:2:8: error: theme `nope` not found"),
        "{}",
        result.stderr
    );
}
