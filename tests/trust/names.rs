//! Classes 6 and 10 of issue 19: whatever names a commit gives its files, every file
//! with a trail gets one page of its own, no page lands on another or blocks a
//! directory, every link resolves; no name or URL from a file forges a line of text
//! output, drives a terminal or becomes a `javascript:` link.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{audit, repository};
use crate::serve::server::{Served, client};
use crate::support::{GitRepo, Run, broken_links};

/// Builds the approved tree of `repo` into a directory of its own.
fn build(repo: &GitRepo) -> (tempfile::TempDir, PathBuf, Run) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    let run = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-12-01",
    ]);
    (dir, out, run)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Text as tera's HTML escaping wrote it, back as it was.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The rows of the audit index: each file's path (as shown) and the output file its
/// link leads to, resolved from `audit/` as a browser does.
fn audit_rows(site: &Path) -> Vec<(String, PathBuf)> {
    let index = read(&site.join("audit/index.html"));
    index
        .split("<tr><td><a href=\"")
        .skip(1)
        .map(|row| {
            let (href, rest) = row.split_once("\">").expect("a link");
            let text = rest.split("</a>").next().expect("link text");
            let decoded = percent_encoding::percent_decode_str(href)
                .decode_utf8()
                .expect("utf-8 link");
            let file = decoded.strip_prefix("../").expect("relative to the root");
            (unescape(text), site.join(file))
        })
        .collect()
}

/// Every file under `site` and the longest name among their parts, in bytes.
fn files_and_longest_part(site: &Path) -> (BTreeSet<PathBuf>, usize) {
    let mut files = BTreeSet::new();
    let mut longest = 0;
    for entry in walkdir::WalkDir::new(site) {
        let entry = entry.expect("walk");
        let relative = entry
            .path()
            .strip_prefix(site)
            .expect("inside")
            .to_path_buf();
        for part in relative.iter() {
            longest = longest.max(part.len());
        }
        if entry.file_type().is_file() {
            files.insert(entry.path().to_path_buf());
        }
    }
    (files, longest)
}

/// Every path with a trail has exactly one row in the audit index, whose link leads to
/// a page of its own that shows that path; no two rows share a page, and the audit
/// pages are exactly those.
fn assert_one_audit_page_per_path(repo: &GitRepo, site: &Path) -> BTreeMap<String, PathBuf> {
    let report = audit(repo);
    let paths: BTreeSet<String> = report["events"]
        .as_object()
        .expect("events")
        .keys()
        .cloned()
        .collect();
    let rows = audit_rows(site);
    let pages: BTreeMap<String, PathBuf> = rows.iter().cloned().collect();
    assert_eq!(rows.len(), pages.len(), "a path has two rows: {rows:?}");
    assert_eq!(pages.keys().cloned().collect::<BTreeSet<_>>(), paths);
    let distinct: BTreeSet<&PathBuf> = pages.values().collect();
    assert_eq!(
        distinct.len(),
        pages.len(),
        "two paths share a page: {pages:#?}"
    );
    for (path, page) in &pages {
        let html = read(page);
        let shown = html
            .split("<h1>Audit of <code>")
            .nth(1)
            .and_then(|rest| rest.split("</code>").next())
            .map(unescape);
        assert_eq!(shown.as_deref(), Some(path.as_str()), "{}", page.display());
    }
    let (files, _) = files_and_longest_part(&site.join("audit"));
    let audit_pages: BTreeSet<PathBuf> = files
        .into_iter()
        .filter(|f| f != &site.join("audit/index.html"))
        .collect();
    assert_eq!(audit_pages, distinct.into_iter().cloned().collect());
    pages
}

fn assert_links_resolve(site: &Path) {
    let (checked, broken) = broken_links(site);
    assert!(checked > 100, "only {checked} links");
    assert!(broken.is_empty(), "{broken:#?}");
}

/// Names that collide in the naive `audit/<path>.html` mapping, or that need escaping
/// in a link.
const ODD_NAMES: [&str; 11] = [
    "foo",
    "foo.html/x",
    "index",
    "docs/index",
    "docs/INDEX.HTML/index",
    "a b#1?%.md",
    "café/ü.md",
    "~69ndex",
    "100%25.txt",
    "notes/x.md.html",
    "notes/x.md",
];

const HOST_NAMED_INDEX: &str = "name: index.example.org\naddresses: [192.0.2.99]\nos: Debian 12\n";

#[test]
fn attack_names_that_collide_as_pages_each_get_one_page_and_every_link_resolves() {
    let repo = repository();
    for (n, name) in ODD_NAMES.iter().enumerate() {
        repo.write(name, &format!("file {n}\n"));
    }
    // A host whose page would be the hosts list.
    repo.write("hosts/index.yaml", HOST_NAMED_INDEX);
    repo.commit("Files with awkward names", Some("alice"));
    // The same names waiting for a signature get pages too.
    repo.write("foo.html/y", "pending\n");
    repo.write("INDEX", "pending\n");
    repo.commit("More of them, unsigned", None);

    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(read(&site.join("index.html")).contains("<h2 id=\"alerts\">"));
    assert!(read(&site.join("audit/index.html")).contains("Built from commit"));
    let hosts = read(&site.join("hosts/index.html"));
    assert!(hosts.contains("web1.example.org") && hosts.contains("index.example.org"));
    assert!(hosts.contains("href=\"../hosts/~69ndex.html\""), "{hosts}");
    assert!(read(&site.join("hosts/~69ndex.html")).contains("192.0.2.99"));

    let pages = assert_one_audit_page_per_path(&repo, &site);
    for name in ODD_NAMES
        .iter()
        .chain(&["foo.html/y", "INDEX", "hosts/index.yaml"])
    {
        assert!(pages.contains_key(*name), "no audit page for {name}");
    }
    assert_eq!(pages["index"], site.join("audit/~69ndex.html"));
    assert_eq!(pages["foo.html/x"], site.join("audit/foo~2Ehtml/x.html"));
    assert_eq!(pages["a b#1?%.md"], site.join("audit/a b#1?%.md.html"));
    // The policy's page is not hidden (servers refuse names starting with `.`).
    assert_eq!(
        pages[".glassroom/policy.yaml"],
        site.join("audit/~2Eglassroom/policy.yaml.html")
    );
    assert_links_resolve(&site);
}

/// Adds `path` to the index with `blob`: names too long for the work tree's file system
/// can only be made this way.
fn add_to_index(repo: &GitRepo, path: &str, blob: &str) {
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},{path}"),
    ]);
}

#[test]
fn attack_names_too_long_for_the_file_system_still_get_pages() {
    let repo = repository();
    let blob = {
        repo.write("seed.txt", "a long name\n");
        repo.git(&["hash-object", "-w", "seed.txt"])
    };
    std::fs::remove_file(repo.path().join("seed.txt")).expect("remove");
    let long = "L".repeat(300);
    let long_too = format!("{long}2");
    let deep = vec!["d".repeat(200); 6].join("/");
    let names = [
        long.clone(),
        long_too.clone(),
        format!("{deep}/f"),
        format!("{deep}/g"),
        format!("{}.html/x", "h".repeat(260)),
        "h".repeat(265),
    ];
    for name in &names {
        add_to_index(&repo, name, &blob);
    }
    let key = format!("user.signingkey={}", repo.key("alice").display());
    repo.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &key,
        "commit",
        "-q",
        "-S",
        "-m",
        "Names longer than a file system takes",
    ]);

    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let pages = assert_one_audit_page_per_path(&repo, &site);
    for name in &names {
        assert!(pages.contains_key(name), "no audit page for {name}");
    }
    let (_, longest) = files_and_longest_part(&site);
    assert!(longest <= 255, "a name of {longest} bytes");
    assert_links_resolve(&site);
}

/// A name that, printed as it is, ends the line, forges a `refused` line, clears the
/// screen and reverses what follows.
const EVIL: &str = "evil\nrefused hosts/web1.yaml: forged\r\x1b[2J\u{202e}txt.exe";
const EVIL_SHOWN: &str = "evil\\nrefused hosts/web1.yaml: forged\\r\\u{1b}[2J\\u{202e}txt.exe";

fn assert_clean(text: &str) {
    for c in ['\x1b', '\r', '\u{202e}'] {
        assert!(!text.contains(c), "{c:?} in {text:?}");
    }
}

#[test]
fn attack_a_file_name_with_a_newline_and_a_terminal_escape_is_escaped_in_text_output() {
    let repo = repository();
    repo.write(EVIL, "junk\n");
    repo.commit("A name that writes on the terminal", None);

    let out = repo.glassroom(&["audit", "--repo", repo.path_str()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_clean(&out.stdout);
    assert!(
        out.stdout.contains(&format!("pending {EVIL_SHOWN}: ")),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.starts_with("refused hosts/web1.yaml")),
        "a forged line: {}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    let one = repo.glassroom(&["audit", "--repo", repo.path_str(), EVIL]);
    assert_clean(&one.stdout);
    assert!(
        one.stdout
            .starts_with(&format!("{EVIL_SHOWN}: not published\n")),
        "{}",
        one.stdout
    );
    let unknown = repo.glassroom(&["audit", "--repo", repo.path_str(), &format!("{EVIL}2")]);
    assert_clean(&unknown.stderr);
    assert!(
        unknown.stderr.contains(&format!("`{EVIL_SHOWN}2`")),
        "{}",
        unknown.stderr
    );

    // Its audit page exists and the build is not disturbed.
    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_clean(&run.stdout);
    let pages = assert_one_audit_page_per_path(&repo, &site);
    assert_eq!(
        pages[EVIL],
        site.join("audit/evil~0Arefused hosts/web1.yaml: forged~0D~1B[2J~E2~80~AEtxt.exe.html")
    );
    assert_links_resolve(&site);
    // The alerts feed names it and stays XML (which has no escape for `\x1b`).
    let feed = read(&site.join("feeds/alerts.atom"));
    assert!(feed.contains("evil"), "{feed}");
    assert!(
        !feed
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "{feed:?}"
    );
    // One alert for the kind of problem (the name has control characters, so the change
    // is refused), linking to the pending page.
    assert!(feed.contains("/alerts/refused_change/pending"), "{feed}");

    // Diagnostics about such a name, in the working tree, are escaped too.
    let host = format!("hosts/{EVIL}.yaml");
    repo.write(&host, "name: x\n");
    let check = repo.glassroom(&["check", repo.path_str(), "--worktree", "--format", "short"]);
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert_clean(&check.stderr);
    assert!(
        check.stderr.contains(&format!(
            "error: `hosts/{EVIL_SHOWN}.yaml` is in a subdirectory of `hosts/`"
        )),
        "{}",
        check.stderr
    );
    // One diagnostic and its help: no line was forged.
    assert_eq!(check.stderr.lines().count(), 2, "{}", check.stderr);
}

#[test]
fn attack_a_javascript_url_is_shown_as_text_and_check_warns() {
    let repo = repository();
    repo.write(
        "modules/evil.yaml",
        "name: Evil\nkind: custom\nowners: [carol]\nurl: javascript:alert(document.cookie)\n",
    );
    repo.write(
        "modules/sneaky.yaml",
        "name: Sneaky\nkind: custom\nowners: [carol]\nurl: \"java\\tscript:alert(1)\"\n",
    );
    repo.write(
        "modules/good.yaml",
        "name: Good\nkind: custom\nowners: [carol]\nurl: https://git.example.org/good\n",
    );
    repo.write(
        "news/links.md",
        "---\ntitle: Links\ndate: 2026-11-01\nauthor: alice\n---\n\
         [js](javascript:alert(1)) [data](data:text/html,x) [ftp](ftp://example.org/x) \
         [tel](tel:+123) [vb](vbscript:x) [web](https://example.org/ok) \
         [mail](mailto:ops@example.org) [page](../hosts/web1.html) [anchor](#top)\n\n\
         <a href=\"JaVaScRiPt:alert(1)\">raw</a> <img src=\"data:image/png;base64,AAAA\">\n",
    );
    repo.commit("Modules with links", Some("alice"));

    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let evil = read(&site.join("modules/evil.html"));
    assert!(
        evil.contains("<dd>javascript:alert(document.cookie)</dd>"),
        "{evil}"
    );
    let good = read(&site.join("modules/good.html"));
    assert!(
        good.contains("<a href=\"https://git.example.org/good\""),
        "{good}"
    );
    // The list links each module's page, never its URL.
    let list = read(&site.join("modules/index.html"));
    assert!(list.contains("href=\"../modules/evil.html\""), "{list}");
    let news = read(&site.join("news/links.html"));
    for kept in [
        "https://example.org/ok",
        "mailto:ops@example.org",
        "../hosts/web1.html",
        "#top",
    ] {
        assert!(news.contains(&format!("href=\"{kept}\"")), "{kept}: {news}");
    }
    // No link or image anywhere goes to another scheme.
    for entry in walkdir::WalkDir::new(&site) {
        let entry = entry.expect("walk");
        if entry.path().extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = read(entry.path());
        for attr in ["href=\"", "src=\""] {
            for target in html.split(attr).skip(1) {
                let target = target.split('"').next().unwrap_or_default().to_lowercase();
                let scheme = target.split_once(':').map(|(s, _)| s).unwrap_or_default();
                assert!(
                    scheme.is_empty()
                        || target.starts_with("http://")
                        || target.starts_with("https://")
                        || target.starts_with("mailto:")
                        || scheme.contains(['/', '.', '#', '?']),
                    "{}: {target}",
                    entry.path().display()
                );
            }
        }
    }
    assert_links_resolve(&site);

    let check = repo.glassroom(&["check", repo.path_str(), "--format", "short"]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    assert!(
        check.stderr.contains(
            "modules/evil.yaml:4:6: warning: `url` `javascript:alert(document.cookie)` is not an http, https or mailto URL"
        ),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("modules/sneaky.yaml:4:6: warning"),
        "{}",
        check.stderr
    );
    assert!(
        !check.stderr.contains("modules/good.yaml"),
        "{}",
        check.stderr
    );
}

#[test]
fn attack_a_static_file_named_like_a_page_is_left_out_and_reported() {
    let repo = repository();
    repo.write("static/index.html", "forged dashboard");
    repo.write("static/audit/index.html", "forged audit");
    repo.write("static/flags.json", "{\"forged\": true}");
    repo.write("static/hosts", "a file where the hosts' pages go");
    repo.write("static/img/logo.svg", "<svg/>");
    repo.commit("Static files", Some("alice"));

    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!read(&site.join("index.html")).contains("forged"));
    assert!(!read(&site.join("audit/index.html")).contains("forged"));
    assert!(!read(&site.join("flags.json")).contains("forged"));
    assert!(site.join("hosts/web1.html").is_file());
    assert_eq!(read(&site.join("img/logo.svg")), "<svg/>");
    for refused in ["index.html", "audit/index.html", "flags.json", "hosts"] {
        assert!(
            run.stderr
                .contains(&format!("the static file `{refused}` is not published")),
            "{refused}: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("img/logo.svg"), "{}", run.stderr);
}

#[test]
fn the_pages_of_hidden_and_odd_names_are_served() {
    let repo = repository();
    repo.write("a b#1?%.md", "odd\n");
    repo.write("café/ü.md", "odd\n");
    repo.commit("Odd names", Some("alice"));
    let (_dir, site, run) = build(&repo);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let served = Served::start(&["--root", site.to_str().expect("utf-8")], None);
    let audit = client()
        .get(served.url("/audit/index.html"))
        .send()
        .and_then(|r| r.text())
        .expect("the audit index");
    for path in [".glassroom/policy.yaml", "a b#1?%.md", "café/ü.md"] {
        let href = audit
            .split("<tr><td><a href=\"../")
            .skip(1)
            .find(|row| row.contains(&format!("\">{path}</a>")))
            .and_then(|row| row.split('"').next())
            .unwrap_or_else(|| panic!("no row for {path}"));
        let response = client()
            .get(served.url(&format!("/{href}")))
            .send()
            .expect("GET");
        assert_eq!(response.status(), 200, "{href}");
        let page = response.text().expect("body");
        assert!(
            page.contains(&format!("<h1>Audit of <code>{path}</code></h1>")),
            "{href}"
        );
    }
}
