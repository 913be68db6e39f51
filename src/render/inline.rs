//! Inline Markdown for short text fields (titles, notes, descriptions, reasons): code
//! spans, emphasis, strong, strikethrough and links, nothing that makes a block. A title
//! sits inside a link or a table cell, where a paragraph, a list or a heading would break
//! the page, so block syntax is shown as its text and raw HTML as the text it is.
//!
//! The result goes through ammonia with only those inline elements allowed, so nothing
//! in a field can run script or carry attributes a reader did not write.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

/// The elements inline Markdown may make.
const TAGS: [&str; 5] = ["code", "em", "strong", "del", "a"];

/// `text` as sanitised inline HTML; its links as links only when `links` (a title shown
/// inside a link shows a link's text alone: links do not nest). Text without any
/// Markdown punctuation is only escaped (most titles: a list of four thousand tickets
/// pays nothing for the parser).
pub fn to_html(text: &str, links: bool) -> String {
    let plain = !text.contains(['`', '*', '_', '~', '[', '<', '>', '&', '\\', '!', '#', '\n'])
        && !text.starts_with(|c: char| c == '-' || c == '+' || c == '=' || c.is_ascii_digit());
    if plain {
        return escape(text.trim());
    }
    let mut raw = String::with_capacity(text.len() + 16);
    let mut made_tags = false;
    // Inside an image: its alt text is shown, the image is not.
    let mut in_image = 0usize;
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(t) => raw.push_str(&escape(&t)),
            Event::Code(code) if in_image == 0 => {
                made_tags = true;
                raw.push_str("<code>");
                raw.push_str(&escape(&code));
                raw.push_str("</code>");
            }
            Event::Code(code) => raw.push_str(&escape(&code)),
            // Raw HTML is shown as written.
            Event::Html(t) | Event::InlineHtml(t) => raw.push_str(&escape(&t)),
            Event::SoftBreak | Event::HardBreak => raw.push(' '),
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Start(tag) if in_image == 0 => {
                let open = match tag {
                    Tag::Emphasis => "<em>".to_owned(),
                    Tag::Strong => "<strong>".to_owned(),
                    Tag::Strikethrough => "<del>".to_owned(),
                    Tag::Link { dest_url, .. } if links => {
                        let mut href = String::new();
                        // `html::push_html` escapes an attribute value as an attribute.
                        html::push_html(&mut href, std::iter::once(Event::Text(dest_url.clone())));
                        format!("<a href=\"{href}\">")
                    }
                    // A block (a paragraph, a heading, a list item) adds nothing.
                    _ => continue,
                };
                made_tags = true;
                raw.push_str(&open);
            }
            Event::End(tag) if in_image == 0 => raw.push_str(match tag {
                TagEnd::Emphasis => "</em>",
                TagEnd::Strong => "</strong>",
                TagEnd::Strikethrough => "</del>",
                TagEnd::Link if links => "</a>",
                // Two paragraphs or items read as one line.
                TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_) => " ",
                _ => "",
            }),
            Event::Start(_) | Event::End(_) => {}
            Event::TaskListMarker(_)
            | Event::Rule
            | Event::FootnoteReference(_)
            | Event::InlineMath(_)
            | Event::DisplayMath(_) => {}
        }
    }
    let raw = raw.trim_end();
    if !made_tags {
        return raw.to_owned();
    }
    sanitizer().clean(raw).to_string()
}

/// Escapes text for HTML (element content and attribute values alike).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::empty();
        builder.tags(TAGS.into_iter().collect::<HashSet<_>>());
        builder.add_tag_attributes("a", ["href"]);
        builder.link_rel(Some("noopener noreferrer"));
        builder.url_schemes(crate::content::LINK_SCHEMES.into_iter().collect());
        builder
    })
}

#[cfg(test)]
mod tests {
    fn to_html(text: &str) -> String {
        super::to_html(text, true)
    }

    #[test]
    fn plain_text_is_escaped_only() {
        assert_eq!(to_html("Disk full on web1"), "Disk full on web1");
        assert_eq!(to_html("a > b"), "a &gt; b");
        assert_eq!(to_html(""), "");
    }

    #[test]
    fn inline_markup_is_rendered() {
        assert_eq!(
            to_html("`pg_dump` fails on *large* tables"),
            "<code>pg_dump</code> fails on <em>large</em> tables"
        );
        assert_eq!(
            to_html("**now** ~~later~~"),
            "<strong>now</strong> <del>later</del>"
        );
        assert_eq!(to_html("a `<b>` tag"), "a <code>&lt;b&gt;</code> tag");
    }

    #[test]
    fn links_keep_safe_schemes_only() {
        assert_eq!(
            to_html("see [docs](https://example.org/a?b=1&c=2)"),
            "see <a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">docs</a>"
        );
        assert_eq!(
            super::to_html("see [the `docs`](https://example.org/)", false),
            "see the <code>docs</code>"
        );
        let bad = to_html("[x](javascript:alert(1))");
        assert!(!bad.contains("javascript"), "{bad}");
        assert!(bad.contains('x'), "{bad}");
    }

    #[test]
    fn raw_html_and_blocks_are_text() {
        assert_eq!(
            to_html("a <script>alert(1)</script> *x*"),
            "a &lt;script&gt;alert(1)&lt;/script&gt; <em>x</em>"
        );
        // A line that starts with a tag is an HTML block: all of it is text.
        assert_eq!(
            to_html("<script>alert(1)</script> *x*"),
            "&lt;script&gt;alert(1)&lt;/script&gt; *x*"
        );
        assert_eq!(
            to_html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(to_html("# Heading `x`"), "Heading <code>x</code>");
        assert_eq!(to_html("- one\n- two"), "one two");
        assert_eq!(to_html("![alt *text*](https://x/y.png)"), "alt text");
        assert!(!to_html("line one\n\nline `two`").contains("<p>"));
    }
}
