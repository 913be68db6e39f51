//! Tests of the checks.

use super::{DUPLICATES, is_web_link};
use crate::content::{Kind, Place};

#[test]
fn every_kind_of_one_file_per_entity_is_checked_for_duplicate_ids_once() {
    for kind in Kind::ALL {
        let groups = DUPLICATES
            .iter()
            .filter(|(_, kinds)| kinds.contains(&kind))
            .count();
        let expected = usize::from(!matches!(kind.place(), Place::File { .. }));
        assert_eq!(groups, expected, "{kind:?}");
    }
}

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
