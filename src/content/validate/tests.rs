//! Tests of the checks.

use super::is_web_link;

#[test]
fn only_web_and_mail_urls_are_links() {
    for url in [
        "https://git.example.org/shop",
        "HTTP://example.org",
        "mailto:ops@example.org",
    ] {
        assert!(is_web_link(url), "{url}");
    }
    for url in [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "https://example.org/\nx",
        " https://example.org",
        "data:text/html,x",
        "//evil.example",
        "https:evil",
        "mailto:",
        "file:///etc/passwd",
        "relative/page.html",
        "",
    ] {
        assert!(!is_web_link(url), "{url:?}");
    }
}
