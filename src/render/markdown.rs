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
///
/// The sanitiser's HTML parser takes time that grows with the square of how deep
/// elements nest (80,000 nested quotes, or 100,000 `<div>`s written as raw HTML, take
/// minutes), and with the number of elements (a megabyte of `# a` lines is 262,000
/// headings: over a second). Content checks bound a body's size and Markdown nesting
/// before it gets here (`limits`), but raw HTML is not Markdown, and a small text can
/// make many elements: a body whose HTML nests deeper than [`MAX_HTML_DEPTH`], has more
/// than [`MAX_HTML_ELEMENTS`] elements or grows past [`MAX_HTML_BYTES`] is shown as the
/// text it is written as, so that no body takes more than a fraction of a second.
pub fn to_html(markdown: &str) -> String {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    let events = add_heading_ids(events);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    let shape = html_shape(&raw);
    if raw.len() > MAX_HTML_BYTES
        || shape.depth > MAX_HTML_DEPTH
        || shape.elements > MAX_HTML_ELEMENTS
    {
        return as_written(markdown);
    }
    sanitizer().clean(&raw).to_string()
}

/// How deep the HTML of a body may nest before it is shown as written instead.
pub const MAX_HTML_DEPTH: usize = 256;

/// How many elements the HTML of a body may have before it is shown as written instead
/// (an honest body of a megabyte has a few tens of thousands).
pub const MAX_HTML_ELEMENTS: usize = 100_000;

/// How large the HTML of a body may grow before it is shown as written instead.
pub const MAX_HTML_BYTES: usize = 8 << 20;

/// A body shown as the text it is written as, with why.
fn as_written(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + 200);
    out.push_str("<p class=\"as-written\">This text is shown as it is written: as HTML it would nest too deep or have too many elements to show.</p>\n<pre>");
    // Escaped as the HTML writer escapes text.
    html::push_html(
        &mut out,
        std::iter::once(Event::Text(CowStr::Borrowed(markdown))),
    );
    out.push_str("</pre>\n");
    out
}

/// How deep the elements of some HTML nest, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlShape {
    pub depth: usize,
    pub elements: usize,
}

/// The shape of `html`, at most: every start tag is an element, and every one that is
/// not a void element or self-closing opens one level, which an end tag closes. An upper
/// bound of what a browser builds (it closes some elements itself), in one pass.
pub fn html_shape(html: &str) -> HtmlShape {
    const VOID: [&str; 14] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut elements, mut i) = (0usize, 0usize, 0usize, 0usize);
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + offset + 1;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = start + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let Some(end) = bytes[name_start..].iter().position(|&b| b == b'>') else {
            break;
        };
        let end = name_start + end;
        i = end + 1;
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        elements += 1;
        let name = &html[name_start..name_start + name_len];
        let void = VOID.iter().any(|v| v.eq_ignore_ascii_case(name));
        if !void && bytes[end - 1] != b'/' {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    HtmlShape {
        depth: deepest,
        elements,
    }
}

/// Gives every heading without an explicit id one derived from its text.
fn add_heading_ids(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut used = BTreeSet::new();
    let mut next = std::collections::HashMap::new();
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
            let slug = unique_slug(&slugify(&text), &mut used, &mut next);
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

/// `base`, or else `base-1`, `base-2`... the first one not `used`. `next` remembers for
/// each base the number to try next, so 100,000 headings of one title take linear time.
fn unique_slug(
    base: &str,
    used: &mut BTreeSet<String>,
    next: &mut std::collections::HashMap<String, usize>,
) -> String {
    if used.insert(base.to_owned()) {
        return base.to_owned();
    }
    let n = next.entry(base.to_owned()).or_insert(1);
    loop {
        let candidate = format!("{base}-{n}");
        *n += 1;
        if used.insert(candidate.clone()) {
            return candidate;
        }
    }
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
    // A first paragraph that ends with a colon introduces what follows (a list, a code
    // block, a paragraph): the summary goes on through that, so it never stops at
    // "3 files failed:".
    let mut introduced = false;
    let mut lists = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::Start(Tag::List(_)) => lists += 1,
            Event::End(TagEnd::Item) if introduced => text.push_str("; "),
            Event::End(TagEnd::List(_)) => {
                lists = lists.saturating_sub(1);
                if introduced && lists == 0 {
                    break;
                }
            }
            Event::End(TagEnd::CodeBlock) if introduced => break,
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_))
                if lists == 0 && !text.trim().is_empty() =>
            {
                if introduced || !text.trim_end().ends_with(':') {
                    break;
                }
                introduced = true;
                text.push(' ');
            }
            _ => {}
        }
    }
    let text = text.trim().trim_end_matches(';').trim_end();
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
    fn a_summary_goes_on_through_what_a_colon_introduces() {
        let markdown = "Tape EC0401L8: 3 files failed checksum verification:\n\n- `db1:/a`\n- `db1:/b`\n\nAll other files OK.\n";
        assert_eq!(
            summary(markdown, 200),
            "Tape EC0401L8: 3 files failed checksum verification: db1:/a; db1:/b"
        );
        let code = "Verify aborted:\n\n```\nread error at block 7\n```\n\nMore.\n";
        assert_eq!(summary(code, 200), "Verify aborted: read error at block 7");
        // A colon inside the first paragraph changes nothing.
        assert_eq!(summary("One: two.\n\nThree.\n", 200), "One: two.");
        assert_eq!(summary("Long:\n\n- aaaa\n- bbbb\n", 10), "Long: aaa…");
    }

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
    fn html_shape_counts_elements_and_open_levels() {
        let shape = |html: &str| {
            let shape = html_shape(html);
            (shape.depth, shape.elements)
        };
        assert_eq!(shape("<p>a</p><p>b</p>"), (1, 2));
        assert_eq!(
            shape("<blockquote><ul><li>x</li></ul></blockquote>"),
            (3, 3)
        );
        assert_eq!(shape("<p>a<br />b<br>c<img src=\"x\"/></p>"), (1, 4));
        assert_eq!(shape("<div><div><div>"), (3, 3), "unclosed elements count");
        assert_eq!(shape("a &lt;div&gt; <!-- <b> --> 1 < 2"), (0, 0));
    }

    #[test]
    fn hostile_bodies_render_in_linear_time() {
        let started = std::time::Instant::now();
        for body in [
            ">".repeat(80_000) + " x\n",
            "<div>".repeat(100_000),
            "# a\n".repeat(50_000),
            "*a* ".repeat(200_000),
        ] {
            let html = to_html(&body);
            assert!(html.len() >= body.len().min(1000), "{}", html.len());
        }
        // Shown as written, escaped: nothing of it is markup.
        let html = to_html(&"<div>".repeat(1_000));
        assert!(html.contains("shown as it is written") && html.contains("&lt;div&gt;"));
        assert!(!html.contains("<div>"), "{}", &html[..200]);
        // 50,000 headings of one title: unique ids, made in linear time.
        let html = to_html(&"# a\n".repeat(50_000));
        assert!(html.contains(r#"id="a-49999""#));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
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
