//! Markdown bodies to safe HTML: pulldown-cmark (tables, footnotes, task lists, heading
//! anchors), then ammonia, so nothing in content can run script in a reader's browser.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders Markdown to sanitised HTML. Headings get `id`s (slugs of their text, made
/// unique within the document) so sections can be linked.
pub fn to_html(markdown: &str) -> String {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    let events = add_heading_ids(events);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    sanitizer().clean(&raw).to_string()
}

/// Gives every heading without an explicit id one derived from its text.
fn add_heading_ids(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut used = BTreeSet::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            for event in &events[i + 1..] {
                match event {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            let slug = unique_slug(&slugify(&text), &mut used);
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(slug));
            }
        } else if let Event::Start(Tag::Heading { id: Some(id), .. }) = &events[i] {
            used.insert(id.to_string());
        }
        i += 1;
    }
    events
}

/// `Check the Backup (daily)!` → `check-the-backup-daily`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "section".into()
    } else {
        slug.into()
    }
}

fn unique_slug(base: &str, used: &mut BTreeSet<String>) -> String {
    let mut candidate = base.to_owned();
    let mut n = 1;
    while !used.insert(candidate.clone()) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// The sanitiser: ammonia's safe defaults, plus what our Markdown produces (heading
/// ids, code language classes, task-list checkboxes, footnote links), with links only
/// to http, https, mailto and relative URLs.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder.add_tags(["input"]);
        let mut attributes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
            attributes.entry(heading).or_default().insert("id");
        }
        attributes
            .entry("input")
            .or_default()
            .extend(["type", "checked", "disabled"]);
        attributes.entry("code").or_default().insert("class");
        attributes.entry("sup").or_default().extend(["class", "id"]);
        attributes.entry("div").or_default().extend(["class", "id"]);
        attributes.entry("li").or_default().insert("id");
        for (tag, attrs) in attributes {
            builder.add_tag_attributes(tag, attrs);
        }
        builder.add_allowed_classes("input", ["task-list-item-checkbox"]);
        builder.link_rel(Some("noopener noreferrer"));
        // Links and images go to the web, to mail, or within the site: ammonia's default
        // list also lets `data:`, `ftp:`, `tel:`, `sms:` and a score of others through.
        builder.url_schemes(crate::content::LINK_SCHEMES.into_iter().collect());
        builder.id_prefix(None);
        builder
    })
}

/// The first paragraph's text, for summaries and feed entries.
pub fn summary(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if !text.trim().is_empty() => break,
            _ => {}
        }
    }
    let text = text.trim();
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_javascript_links_never_survive() {
        let html = to_html(
            "Hi <script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n<iframe src=\"https://evil\"></iframe>\n\n<a href=\"JaVaScRiPt:alert(1)\">y</a>",
        );
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("javascript:"), "{html}");
        assert!(!lower.contains("onerror"), "{html}");
        assert!(!lower.contains("<iframe"), "{html}");
    }

    #[test]
    fn links_keep_only_web_mail_and_relative_targets() {
        let html = to_html(
            "[a](https://example.org/a) [b](mailto:ops@example.org) [c](../hosts/web1.html) \
             [d](#steps) [e](data:text/html,x) [f](ftp://example.org/f) [g](tel:+1) \
             [h](vbscript:x) <img src=\"data:image/png;base64,AAAA\"> <style>p{}</style>",
        );
        for kept in [
            "https://example.org/a",
            "mailto:ops@example.org",
            "../hosts/web1.html",
            "#steps",
        ] {
            assert!(html.contains(&format!("href=\"{kept}\"")), "{kept}: {html}");
        }
        for gone in ["data:", "ftp:", "tel:", "vbscript:", "<style"] {
            assert!(!html.contains(gone), "{gone}: {html}");
        }
    }

    #[test]
    fn tables_footnotes_tasks_and_anchors_render() {
        let html = to_html(
            "# Check the Backup!\n\n## Steps\n\n## Steps\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\nSee note[^1].\n\n[^1]: The note.\n",
        );
        assert!(html.contains(r#"<h1 id="check-the-backup">"#), "{html}");
        assert!(html.contains(r#"<h2 id="steps">"#), "{html}");
        assert!(html.contains(r#"<h2 id="steps-1">"#), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(
            html.contains(r#"type="checkbox""#) && html.contains("checked"),
            "{html}"
        );
        assert!(html.contains("footnote"), "{html}");
    }

    #[test]
    fn summary_takes_the_first_paragraph() {
        assert_eq!(
            summary("First *line*\nmore.\n\nSecond.", 100),
            "First line more."
        );
        assert_eq!(summary("abcdefgh", 5), "abcd…");
    }
}
