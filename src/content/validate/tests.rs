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

/// The codes and messages of the errors in `files` (plus a minimal glassroom.yaml).
fn errors(files: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut tree = crate::source::Tree::new();
    tree.insert("glassroom.yaml", "title: Test\n");
    for (path, text) in files {
        tree.insert(*path, *text);
    }
    crate::content::load(&tree)
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.code != "missing-policy")
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect()
}

const RUNNABLE: &str = "title: S\nupdate: all-at-once\nrunnable: true\n";
const ALL_COMMANDS: &str = "commands: {start: a, stop: b, status: c, install: d, configure: e}\n";

#[test]
fn ssh_destinations_that_could_inject_options_are_errors() {
    for ssh in [
        "\"-oProxyCommand=sh\"",
        "\"db1 -p 2\"",
        "\"deploy@-x\"",
        "\"db1:99999\"",
    ] {
        let host = format!("ssh: {ssh}\n");
        let found = errors(&[("hosts/h.yaml", &host)]);
        assert_eq!(found.len(), 1, "{ssh}: {found:?}");
        assert_eq!(found[0].0, "invalid-ssh-destination", "{ssh}");
    }
    assert!(errors(&[("hosts/h.yaml", "ssh: deploy@[2001:db8::1]:22\n")]).is_empty());
}

#[test]
fn a_runnable_site_needs_every_command_of_every_service() {
    let partial = "site: s\nhosts: [h]\nstartup_rank: 1\ncommands: {start: a, stop: b}\n";
    let found = errors(&[
        ("sites/s.yaml", RUNNABLE),
        ("hosts/h.yaml", "{}\n"),
        ("services/x.yaml", partial),
    ]);
    assert_eq!(
        found,
        vec![(
            "missing-command".to_owned(),
            "site `s` is runnable (`glassroom run`), but this service has no command to status, install, configure".to_owned()
        )]
    );
    let complete = format!("site: s\nhosts: [h]\nstartup_rank: 1\n{ALL_COMMANDS}");
    assert!(
        errors(&[
            ("sites/s.yaml", RUNNABLE),
            ("hosts/h.yaml", "{}\n"),
            ("services/x.yaml", &complete),
        ])
        .is_empty()
    );
    // Not runnable: commands stay optional (plans say "no command defined").
    assert!(
        errors(&[
            ("sites/s.yaml", "title: S\nupdate: all-at-once\n"),
            ("hosts/h.yaml", "{}\n"),
            ("services/x.yaml", partial),
        ])
        .is_empty()
    );
}
