//! People and the info page (issue 22): the example's info page and person pages, names
//! linked to their person, the header link on every page, and a misspelt name refused.

use std::path::{Path, PathBuf};

use crate::support::{build_at, copy_tree, read, root, run};

const NOW: &str = "2026-11-22T12:00:00Z";

fn built_example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    build_at(&root().join("content-example"), &out, NOW);
    (dir, out)
}

/// Every HTML page of the site.
fn pages(site: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![site.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn the_info_page_lists_the_escalation_with_contacts_and_the_architecture() {
    let (_dir, site) = built_example();
    let info = read(&site.join("info.html"));
    assert!(
        info.contains("<h1>Example Corp operations — who to call</h1>"),
        "{info}"
    );
    // Three levels, in order, with hours and people linked to their pages.
    let on_call = info.find("On call").expect("first level");
    let owners = info.find("Service owners").expect("second level");
    let head = info.find("Head of operations").expect("third level");
    assert!(on_call < owners && owners < head, "levels in order");
    assert!(info.contains("24/7"), "{info}");
    assert!(info.contains("Mon-Fri 08:00-18:00 Europe/Berlin"), "{info}");
    assert!(
        info.contains(r#"<a href="people/alice.html" class="person">Alice Martin</a>"#),
        "{info}"
    );
    assert!(info.contains(r#"href="tel:+495550100201""#), "{info}");
    assert!(info.contains(r#"href="mailto:bob@example.org""#), "{info}");
    // The body's architecture links into the site.
    assert!(
        info.contains(r#"<a href="hosts/db1.html" rel="noopener noreferrer">db1</a>"#),
        "{info}"
    );
}

#[test]
fn a_person_page_shows_contact_tickets_subscriptions_and_entries() {
    let (_dir, site) = built_example();
    let bob = read(&site.join("people/bob.html"));
    assert!(bob.contains("<h1>Bob Okafor</h1>"), "{bob}");
    assert!(bob.contains(r#"href="mailto:bob@example.org""#), "{bob}");
    assert!(bob.contains(r#"href="tel:+495550100202""#), "{bob}");
    assert!(bob.contains("Europe/Berlin"), "{bob}");
    assert!(bob.contains("Open tickets assigned"), "{bob}");
    assert!(bob.contains("Open tickets reported"), "{bob}");
    // Subscriptions link to their subjects.
    assert!(
        bob.contains(r#"<a href="../procedures/verify-backup-tape.html"><code>procedure:verify-backup-tape</code></a>"#),
        "{bob}"
    );
    assert!(bob.contains("or more urgent"), "{bob}");
    // Recent entries by bob link to the entries.
    assert!(bob.contains("Recent logbook entries"), "{bob}");
    assert!(bob.contains(r#"href="../logbook/"#), "{bob}");
    let list = read(&site.join("people/index.html"));
    for name in [
        "Alice Martin",
        "Bob Okafor",
        "Carol Nguyen",
        "Dave Lindqvist",
    ] {
        assert!(list.contains(name), "{name} in {list}");
    }
    let api: serde_json::Value =
        serde_json::from_str(&read(&site.join("api/people.json"))).expect("JSON");
    assert!(api.to_string().contains("alice@example.org"), "{api}");
}

#[test]
fn a_ticket_page_links_its_reporter_and_assignee_to_their_pages() {
    let (_dir, site) = built_example();
    let tickets = std::fs::read_dir(site.join("tickets")).expect("tickets");
    let mut linked = 0;
    for entry in tickets.flatten() {
        let page = read(&entry.path());
        if let Some(at) = page.find("<dt>Assignee</dt><dd>") {
            let rest = &page[at..];
            if rest.starts_with("<dt>Assignee</dt><dd><a href=\"../people/") {
                linked += 1;
            }
        }
    }
    assert!(linked >= 10, "only {linked} assignees linked");
}

#[test]
fn every_page_links_to_the_info_page_in_its_header() {
    let (_dir, site) = built_example();
    let all = pages(&site);
    assert!(all.len() > 100, "only {} pages", all.len());
    for page in all {
        let html = read(&page);
        let header = html
            .split("</header>")
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            header.contains("info.html\"") && header.contains(">Info</a>"),
            "{}: no Info link in the header",
            page.display()
        );
    }
}

#[test]
fn a_misspelt_assignee_is_an_error_with_a_suggestion_and_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("content-example"), dir.path());
    let path = dir.path().join("tickets/cart-empties-on-login.md");
    let path = if path.exists() {
        path
    } else {
        // Any ticket with an assignee.
        std::fs::read_dir(dir.path().join("tickets"))
            .expect("tickets")
            .flatten()
            .map(|e| e.path())
            .find(|p| read(p).contains("\nassignee: dave\n"))
            .expect("a ticket assigned to dave")
    };
    let text = read(&path);
    let text = text.replacen("\nassignee: dave\n", "\nassignee: dvae\n", 1);
    assert!(
        text.contains("assignee: dvae"),
        "the ticket is assigned to dave"
    );
    std::fs::write(&path, &text).expect("write");
    let line = text
        .lines()
        .position(|l| l == "assignee: dvae")
        .expect("line")
        + 1;
    let out = run(&["check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        out.stderr.contains(&format!("tickets/{name}:{line}:11")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`assignee` names `dvae`, who is not a person"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `dave`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_repository_without_people_checks_no_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("content-example"), dir.path());
    std::fs::remove_dir_all(dir.path().join("people")).expect("rm people");
    std::fs::remove_file(dir.path().join("info.md")).expect("rm info.md");
    let ticket = std::fs::read_dir(dir.path().join("tickets"))
        .expect("tickets")
        .flatten()
        .map(|e| e.path())
        .find(|p| read(p).contains("\nassignee: dave\n"))
        .expect("a ticket assigned to dave");
    let text = read(&ticket).replacen("\nassignee: dave\n", "\nassignee: nobody-known\n", 1);
    std::fs::write(&ticket, text).expect("write");
    let out = run(&["check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The info page still exists, saying there is none yet.
    let site = dir.path().join("site");
    build_at(dir.path(), &site, NOW);
    assert!(read(&site.join("info.html")).contains("no info page yet"));
}

#[test]
fn an_unknown_subscription_or_escalation_person_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("content-example"), dir.path());
    let carol = dir.path().join("people/carol.yaml");
    let text = read(&carol).replace("module:billing-api", "module:biling-api");
    std::fs::write(&carol, text).expect("write");
    let info = dir.path().join("info.md");
    let text = read(&info).replace("people: [dave, carol]", "people: [dave, karol]");
    std::fs::write(&info, text).expect("write");
    let out = run(&["check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("people/carol.yaml:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown module `biling-api`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `billing-api`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("info.md:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown person `karol`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `carol`?"),
        "{}",
        out.stderr
    );
}
