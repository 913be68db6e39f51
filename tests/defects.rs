//! Issue 21's rendering defects, on the built example: module homepages apart from page
//! URLs, certificate states on host pages, inline Markdown in short fields, one
//! date-time format, feeds and calendar dates, and the API's plans, threads and report.

use std::path::{Path, PathBuf};

use crate::support::{build_at, copy_tree, read, root, run};

/// The example, with a ticket whose title has a code span and a script tag.
fn built_example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let ticket = repo.join("tickets/autovacuum-tuning.md");
    let text = std::fs::read_to_string(&ticket).expect("the ticket");
    let text = text.replace(
        "title: \"Tune autovacuum for the `invoice_lines` table\"",
        "title: \"Tune autovacuum for the `invoice_lines` table <script>alert(1)</script>\"",
    );
    std::fs::write(&ticket, text).expect("write the ticket");
    let out = dir.path().join("site");
    build_at(&repo, &out, "2026-11-22");
    (dir, out)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `href`s of a page.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn module_pages_and_homepages_are_kept_apart() {
    let (_dir, out) = built_example();
    let list = read(&out.join("modules/index.html"));
    let module_links: Vec<String> = hrefs(&list)
        .into_iter()
        .filter(|h| h.starts_with("../modules/") && h != "../modules/index.html")
        .collect();
    assert_eq!(module_links.len(), 5, "{module_links:?}");
    for link in &module_links {
        assert!(out.join("modules").join(link).is_file(), "{link}");
    }
    assert!(
        !list.contains("../https:"),
        "a homepage is taken for a page"
    );
    let api = json(&out.join("api/modules.json"));
    let restic = api["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["id"] == "backup-agent"))
        .expect("the backup agent");
    assert_eq!(restic["url"], "modules/backup-agent.html");
    assert_eq!(restic["homepage"], "https://restic.net/");
    let page = read(&out.join("modules/backup-agent.html"));
    assert!(
        page.contains(r#"<a href="https://restic.net/" rel="noopener noreferrer">"#),
        "the module page links its homepage"
    );
}

#[test]
fn a_host_page_shows_its_certificates_states() {
    let (_dir, out) = built_example();
    let host = read(&out.join("hosts/web2.html"));
    let certificates = host
        .split("<h2>Certificates</h2>")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("the host's certificates");
    let item = |name: &str| {
        certificates
            .split("<li>")
            .find(|li| li.contains(name))
            .unwrap_or_else(|| panic!("{name} on web2: {certificates}"))
            .to_owned()
    };
    // The same badge as the certificate list.
    let expired = r#"<span class="state state-expired tone-critical">expired</span>"#;
    assert!(item("partners.example.com").contains(expired));
    assert!(read(&out.join("certificates/index.html")).contains(expired));
    assert!(item("shop.example.com").contains("tone-ok\">valid</span>"));
    assert!(!item("partners.example.com").contains("valid until"));
}

#[test]
fn short_fields_render_inline_markdown_safely() {
    let (_dir, out) = built_example();
    for page in [
        "tickets/index.html",
        "tickets/autovacuum-tuning.html",
        "modules/postgresql.html",
    ] {
        let html = read(&out.join(page));
        assert!(
            html.contains(
                "Tune autovacuum for the <code>invoice_lines</code> table &lt;script&gt;"
            ),
            "{page}"
        );
        assert!(!html.contains("<script>alert"), "{page}");
        assert!(!html.contains("`invoice_lines`</a>"), "{page}");
    }
    // Notes and descriptions too.
    let release = read(&out.join("releases/billing-api-4.2.html"));
    assert!(
        release.contains("<code>sepa-direct-debit</code>"),
        "{release}"
    );
    let flags = read(&out.join("flags/index.html"));
    assert!(flags.contains("<code>classic</code>"));
}

/// `2026-10-31T15:30:00Z` or `2026-10-31T15:30`: a moment as files write it.
fn raw_moments(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, window) in bytes.windows(16).enumerate() {
        let digit = |j: usize| window[j].is_ascii_digit();
        if (0..4).all(digit)
            && window[4] == b'-'
            && digit(5)
            && digit(6)
            && window[7] == b'-'
            && digit(8)
            && digit(9)
            && window[10] == b'T'
            && digit(11)
            && digit(12)
            && window[13] == b':'
        {
            found.push(String::from_utf8_lossy(&bytes[i..(i + 20).min(bytes.len())]).into_owned());
        }
    }
    found
}

/// The text of an HTML page: no tags (and so no attributes).
fn page_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn no_page_shows_a_raw_moment_and_dates_do_not_wrap() {
    let (_dir, out) = built_example();
    let mut pages = 0;
    for entry in walkdir::WalkDir::new(&out) {
        let entry = entry.expect("walk");
        if entry.path().extension().is_none_or(|e| e != "html") {
            continue;
        }
        pages += 1;
        let html = read(entry.path());
        let raw = raw_moments(&page_text(&html));
        assert!(raw.is_empty(), "{}: {raw:?}", entry.path().display());
    }
    assert!(pages > 100);
    let dashboard = read(&out.join("index.html"));
    assert!(dashboard.contains("overdue since 2026-10-31 15:30 UTC"));
    let flags = read(&out.join("flags/index.html"));
    assert!(flags.contains(r#"<time datetime="2026-12-01T06:00:00Z">2026-12-01 06:00 UTC</time>"#));
    let style = read(&out.join("style.css"));
    assert!(style.contains("time, .id { white-space: nowrap; }"));
    let certificates = read(&out.join("certificates/index.html"));
    assert!(certificates.contains(r#"<a href="../hosts/web1.html" class="id">web1</a>"#));
}

/// The `(id, updated)` of every entry of an Atom feed.
fn feed_entries(xml: &str) -> Vec<(String, String)> {
    let between = |text: &str, open: &str, close: &str| {
        text.split_once(open)
            .and_then(|(_, rest)| rest.split_once(close))
            .map(|(inside, _)| inside.to_owned())
            .unwrap_or_default()
    };
    xml.split("<entry>")
        .skip(1)
        .map(|entry| {
            (
                between(entry, "<id>", "</id>"),
                between(entry, "<updated>", "</updated>"),
            )
        })
        .collect()
}

#[test]
fn alert_entries_keep_their_dates_across_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = root().join("content-example");
    let (first, second) = (dir.path().join("a"), dir.path().join("b"));
    build_at(&repo, &first, "2026-11-22");
    build_at(&repo, &second, "2026-11-23T06:00:00Z");
    let entries = |out: &Path| feed_entries(&read(&out.join("feeds/alerts.atom")));
    let (a, b) = (entries(&first), entries(&second));
    assert!(a.len() > 10, "{a:?}");
    for (id, updated) in &a {
        // Ids name the kind as the API does.
        let kind = id
            .split("/alerts/")
            .nth(1)
            .and_then(|rest| rest.split('/').next());
        let kind = kind.unwrap_or_else(|| panic!("{id}"));
        assert!(
            kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{id}"
        );
        assert!(
            !updated.starts_with("2026-11-22T00:00:00"),
            "{id}: {updated}"
        );
        // The same alert a day later has the same date.
        if let Some((_, later)) = b.iter().find(|(other, _)| other == id) {
            assert_eq!(updated, later, "{id}");
        }
    }
    let expired = a
        .iter()
        .find(|(id, _)| id.ends_with("/alerts/certificate_expired/partners-example-com"))
        .expect("the expired certificate's entry");
    assert_eq!(expired.1, "2026-11-16T00:00:00Z");
    let tickets = a
        .iter()
        .find(|(id, _)| id.ends_with("/ticket_open_high_priority/billing-api-memory-leak"))
        .expect("the ticket's entry");
    assert_eq!(tickets.1, "2026-11-18T06:50:00Z");
}

#[test]
fn all_day_events_end_the_next_day_and_the_calendar_names_glassroom() {
    let (_dir, out) = built_example();
    let calendar = read(&out.join("calendar.ics"));
    let unfolded = calendar.replace("\r\n ", "");
    assert!(
        unfolded.contains(&format!(
            "PRODID:-//glassroom//glassroom {}//EN\r\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{unfolded}"
    );
    let mut all_day = 0;
    for event in unfolded.split("BEGIN:VEVENT").skip(1) {
        let field = |name: &str| {
            event
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::to_owned)
        };
        let Some(start) = field("DTSTART;VALUE=DATE:") else {
            continue;
        };
        all_day += 1;
        let end = field("DTEND;VALUE=DATE:").unwrap_or_else(|| panic!("no DTEND: {event}"));
        let date = |text: &str| {
            jiff::civil::Date::strptime("%Y%m%d", text.trim())
                .unwrap_or_else(|e| panic!("{text}: {e}"))
        };
        assert_eq!(
            date(&end),
            date(&start).tomorrow().expect("a next day"),
            "{event}"
        );
    }
    assert!(all_day >= 5, "{all_day} all-day events");
}

/// The keys of a JSON object, sorted.
fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[test]
fn plans_threads_and_the_ticket_report_are_in_the_api() {
    let (_dir, out) = built_example();
    let index = json(&out.join("api/index.json"));
    let listed: Vec<&str> = index["items"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for file in [
        "api/threads.json",
        "api/ticket_report.json",
        "api/plans/shop.json",
        "api/plans/intranet.json",
    ] {
        assert!(
            listed.contains(&file),
            "index.json lists {file}: {listed:?}"
        );
    }
    // Every file the index lists exists and is JSON.
    for file in &listed {
        json(&out.join(file));
    }
    let threads = json(&out.join("api/threads.json"));
    assert_eq!(threads["kind"], "threads");
    let thread = threads["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|t| t["root"] == "2026-11-20-mon1-disk-usage")
        })
        .expect("the disk usage thread");
    assert_eq!(thread["state"], "acknowledged");
    assert_eq!(thread["entries"].as_array().map(Vec::len), Some(2));
    let report = json(&out.join("api/ticket_report.json"));
    assert_eq!(report["kind"], "ticket_report");
    assert!(report["items"]["overall"].is_object(), "{report}");
    assert!(report["items"]["by_reporter"].is_array());

    // A plan file has the shape its documented JSON Schema gives.
    let schema: serde_json::Value =
        serde_json::from_str(&read(&root().join("docs/plans.schema.json")))
            .expect("the schema is JSON");
    let plans = json(&out.join("api/plans/shop.json"));
    assert_eq!(plans["schema"], schema["properties"]["schema"]["const"]);
    assert_eq!(plans["kind"], "plans");
    assert_eq!(plans["site"], "shop");
    assert_eq!(keys(&plans), keys(&schema["properties"]));
    let operations: Vec<&str> = plans["items"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|plan| {
            assert_eq!(keys(plan), keys(&schema["$defs"]["plan"]["properties"]));
            for step in plan["steps"].as_array().expect("steps") {
                assert_eq!(keys(step), keys(&schema["$defs"]["step"]["properties"]));
            }
            plan["operation"].as_str().expect("an operation")
        })
        .collect();
    assert_eq!(operations, ["stop", "start", "status", "update"]);
    // The same steps `glassroom plan` prints.
    let printed = run(&[
        "plan",
        "--repo",
        root().join("content-example").to_str().expect("utf-8"),
        "shop",
        "update",
        "--format",
        "json",
    ]);
    assert_eq!(printed.code, Some(0), "{}", printed.stderr);
    let printed: serde_json::Value = serde_json::from_str(&printed.stdout).expect("JSON");
    assert_eq!(printed, plans["items"][3]);
}
