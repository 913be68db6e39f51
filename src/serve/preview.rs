//! What only a preview has: the live-reload script in every page, and a page with the
//! build's diagnostics in place of a stale site.

use codespan_reporting::term::termcolor::NoColor;

use super::files::Asset;
use crate::diag::render::write_rich;
use crate::diag::{Diagnostics, Files};

/// The endpoint the script polls: `GET /_glassroom/live?page=<its path>` answers
/// `{"generation": N, "tag": "<source hash of what that path shows now>"}`.
pub const LIVE_PATH: &str = "/_glassroom/live";

/// How often open pages ask whether they changed.
const POLL_MILLISECONDS: u32 = 1000;

/// The tag of a page: the blake3 of its source (as built, without this script), so a
/// page whose bytes did not change keeps its tag across rebuilds and is not reloaded.
pub fn tag(source: &blake3::Hash) -> String {
    source.to_hex().to_string()
}

/// The script for a page whose source has `tag`: it reloads the page once the server
/// shows something else at its path (and keeps asking while the server is away).
pub fn script(tag: &str) -> String {
    format!(
        "<script>/* glassroom preview: live reload */(function(){{var t=\"{tag}\";\
function poll(){{fetch(\"{LIVE_PATH}?page=\"+encodeURIComponent(location.pathname),{{cache:\"no-store\"}})\
.then(function(r){{return r.json()}})\
.then(function(d){{if(d.tag!==t){{location.reload()}}else{{setTimeout(poll,{POLL_MILLISECONDS})}}}})\
.catch(function(){{setTimeout(poll,{POLL_MILLISECONDS})}})}}setTimeout(poll,{POLL_MILLISECONDS})}})();</script>"
    )
}

/// `html` with the live-reload script before its last `</body>` (or at the end).
pub fn inject(mut html: Vec<u8>, source: &blake3::Hash) -> Vec<u8> {
    let script = script(&tag(source));
    match rfind_ignore_case(&html, b"</body>") {
        Some(at) => {
            html.splice(at..at, script.into_bytes());
        }
        None => html.extend_from_slice(script.as_bytes()),
    }
    html
}

fn rfind_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// The diagnostics as text with source context (no colour), for the error page.
pub fn diagnostics_text(files: &Files, diagnostics: &Diagnostics) -> String {
    let mut out = NoColor::new(Vec::new());
    if write_rich(&mut out, files, diagnostics).is_err() {
        return "the diagnostics could not be rendered".into();
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}

/// The page shown instead of the site while the build fails. `live` adds the live-reload
/// script (preview), so the page goes away by itself once fixed.
pub fn error_page(title: &str, details: &str, live: bool) -> Asset {
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — glassroom</title><style>\
body{{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d1f;background:#fff}}\
h1{{color:#b3261e;font-size:1.4rem}}\
pre{{background:#f6f6f6;border-left:4px solid #b3261e;padding:1rem;overflow:auto;\
font-size:.9rem;line-height:1.35}}\
</style></head><body><h1>{title}</h1>\
<p>The site is not shown until this is fixed.{reload}</p><pre>{details}</pre></body></html>\n",
        title = escape(title),
        details = escape(details),
        reload = if live {
            " This page reloads by itself when the files change."
        } else {
            ""
        },
    )
    .into_bytes();
    let source = blake3::hash(&html);
    if live {
        html = inject(html, &source);
    }
    let mut asset = Asset::with_source("error.html", html, source, true);
    asset.cache_control = http::HeaderValue::from_static("no-store");
    asset
}

/// Escapes text for HTML content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A rewrite of HTML pages for [`super::files::Site::rebuilt`]: the script goes in
/// between two parts of the page as built, which are not copied.
pub fn injector() -> impl Fn(bytes::Bytes, &blake3::Hash) -> super::payload::Payload + Sync {
    |html: bytes::Bytes, source: &blake3::Hash| {
        let script = bytes::Bytes::from(script(&tag(source)));
        let at = rfind_ignore_case(&html, b"</body>").unwrap_or(html.len());
        super::payload::Payload::from_parts(vec![html.slice(..at), script, html.slice(at..)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_closing_body_tag() {
        let html = b"<html><body><p>x</p></BODY></html>".to_vec();
        let source = blake3::hash(&html);
        let out = String::from_utf8(inject(html, &source)).unwrap_or_default();
        assert!(
            out.contains(&format!("var t=\"{}\";", tag(&source))),
            "{out}"
        );
        let script_at = out.find("<script>").unwrap_or(usize::MAX);
        let body_at = out.find("</BODY>").unwrap_or(0);
        assert!(script_at < body_at, "{out}");
        let bare =
            String::from_utf8(inject(b"<p>fragment</p>".to_vec(), &source)).unwrap_or_default();
        assert!(bare.starts_with("<p>fragment</p><script>"));
    }

    #[test]
    fn the_error_page_escapes_the_diagnostics() {
        let page = error_page("Build failed", "hosts/<web1>.yaml:1:1: error & more", true);
        let text = String::from_utf8_lossy(&page.identity.to_bytes()).into_owned();
        assert!(text.contains("hosts/&lt;web1&gt;.yaml:1:1: error &amp; more"));
        assert!(text.contains(&format!("var t=\"{}\";", tag(&page.source()))));
        assert_eq!(page.cache_control, "no-store");
        let quiet = error_page("Build failed", "x", false);
        assert!(!String::from_utf8_lossy(&quiet.identity.to_bytes()).contains("<script>"));
    }
}
