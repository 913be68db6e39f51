//! Tables for keyboards and screen readers: every table says what it is in a `<caption>`,
//! and a sortable table's headers become buttons (`table.js`), reached with Tab and
//! pressed with Enter or Space, with `aria-sort` on the header that orders the rows.

use std::path::{Path, PathBuf};

use crate::support::{root, run};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` whose name ends in `.html`.
fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.expect("readable").into_path())
        .filter(|path| path.extension().is_some_and(|e| e == "html"))
        .collect();
    files.sort();
    files
}

/// The tables of `html` without a caption as their first child, or with an empty one,
/// each as its opening tag; and how many tables there are.
fn tables_without_caption(html: &str) -> (usize, Vec<String>) {
    let mut missing = Vec::new();
    let mut tables = 0;
    for (at, _) in html.match_indices("<table") {
        let rest = &html[at..];
        // `<table>` or `<table …>`, not `<tablefoo`.
        if !rest[6..].starts_with(['>', ' ', '\n']) {
            continue;
        }
        tables += 1;
        let end = rest.find('>').expect("the tag ends");
        let tag = &rest[..=end];
        let after = rest[end + 1..].trim_start();
        let caption = after
            .starts_with("<caption")
            .then(|| after.split_once("</caption>"))
            .flatten()
            .map(|(caption, _)| text_of(caption));
        if caption.is_none_or(|text| text.trim().is_empty()) {
            missing.push(tag.to_owned());
        }
    }
    (tables, missing)
}

/// The text of an HTML fragment, its tags (and template tags' braces kept) removed.
fn text_of(fragment: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[test]
fn every_table_of_the_example_site_has_a_caption_and_sortable_ones_have_headers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    let built = run(&[
        "build",
        root().join("content-example").to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
    ]);
    assert_eq!(built.code, Some(0), "stderr:\n{}", built.stderr);
    let mut tables = 0;
    let mut missing = Vec::new();
    let mut sortable = 0;
    for file in html_files(&out) {
        let page = read(&file);
        let (n, without) = tables_without_caption(&page);
        tables += n;
        let name = file
            .strip_prefix(&out)
            .expect("inside")
            .display()
            .to_string();
        missing.extend(without.into_iter().map(|tag| format!("{name}: {tag}")));
        // table.js makes buttons of the cells of a sortable table's <thead>: a sortable
        // table without one would sort by nothing; and the page must load the script.
        for table in page.split(r#"class="sortable">"#).skip(1) {
            sortable += 1;
            let table = table.split("</table>").next().expect("a table");
            let head = table
                .split_once("<thead>")
                .and_then(|(_, head)| head.split_once("</thead>"))
                .map(|(head, _)| head);
            let head = head.unwrap_or_else(|| panic!("{name}: a sortable table without <thead>"));
            assert!(head.contains("<th"), "{name}: no header cells in {head}");
            assert!(
                page.contains(r#"table.js" defer></script>"#),
                "{name} loads table.js"
            );
        }
    }
    assert!(tables >= 40, "the example has its tables: {tables}");
    assert!(sortable >= 20, "and sortable ones: {sortable}");
    assert!(
        missing.is_empty(),
        "tables without a caption:\n{}",
        missing.join("\n")
    );
}

/// The templates too: the audit and pending pages are built only from a signed
/// repository, which the example is not.
#[test]
fn every_table_of_the_default_templates_has_a_caption() {
    let templates = root().join("themes/default/templates");
    let mut tables = 0;
    let mut missing = Vec::new();
    for file in html_files(&templates) {
        let (n, without) = tables_without_caption(&read(&file));
        tables += n;
        let name = file
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        missing.extend(without.into_iter().map(|tag| format!("{name}: {tag}")));
    }
    assert!(tables >= 25, "the templates have their tables: {tables}");
    assert!(
        missing.is_empty(),
        "tables without a caption:\n{}",
        missing.join("\n")
    );
}

#[test]
fn sortable_headers_are_buttons_with_aria_sort_on_their_header_cells() {
    let script = read(&root().join("themes/default/static/table.js"));
    for needed in [
        // A real button inside each header cell, made by the script so a page without
        // JavaScript shows plain headers…
        r#"document.createElement("button")"#,
        r#"button.type = "button""#,
        "th.appendChild(button)",
        // …sorting on click, which Enter and Space on a button are;
        r#"button.addEventListener("click""#,
        // the order said on the header cell, and taken off the others.
        r#"th.setAttribute("aria-sort", ascending ? "ascending" : "descending")"#,
        r#"h.removeAttribute("aria-sort")"#,
    ] {
        assert!(script.contains(needed), "table.js lacks {needed}");
    }
    // No header cell is a tab stop of its own, and keys are the button's: no key handler
    // that would sort twice or miss Space.
    for gone in ["tabIndex", "keydown"] {
        assert!(!script.contains(gone), "table.js still uses {gone}");
    }
    let style = read(&root().join("themes/default/static/style.css"));
    for needed in [
        "th > button.sort {",
        "th > button.sort:focus-visible {",
        r#"th[aria-sort="ascending"] > button.sort::after"#,
        r#"th[aria-sort="descending"] > button.sort::after"#,
        ".visually-hidden {",
    ] {
        assert!(style.contains(needed), "style.css lacks {needed}");
    }
}
