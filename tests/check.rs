//! `glassroom check` on the example repository and on every class of bad input.

use std::path::Path;

use crate::support::{copy_tree, root, run};

#[test]
fn example_repository_is_valid() {
    let repo = root().join("content-example");
    let out = run(&["check", repo.to_str().expect("utf-8 path")]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(
        !out.stderr.contains("error"),
        "unexpected diagnostics:\n{}",
        out.stderr
    );
    let summary = out.stdout.trim();
    assert!(summary.ends_with("no problems"), "{summary}");
    for kind in [
        "hosts",
        "certificates",
        "domains",
        "modules",
        "releases",
        "procedures",
        "logbook entries",
        "tickets",
        "sites",
        "services",
        "flag features",
        "account sets",
        "news items",
    ] {
        let count = summary
            .split([':', ',', ';'])
            .map(str::trim)
            .find_map(|part| {
                part.strip_suffix(kind)
                    .and_then(|n| n.trim().parse::<usize>().ok())
            })
            .unwrap_or_else(|| panic!("no count of {kind} in {summary}"));
        assert!(count > 0, "{kind}: {summary}");
    }
}

/// One expected error: `path:line:column: fragment`, and optionally a help fragment.
#[derive(Debug)]
struct Expected {
    location: String,
    message: String,
    help: Option<String>,
}

fn read_expected(path: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(path).expect("expected.txt exists");
    let mut out: Vec<Expected> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(help) = line.trim_start().strip_prefix("help:") {
            out.last_mut().expect("help after an error").help = Some(help.trim().to_owned());
            continue;
        }
        // path:line:column: message — the path has no ':' of its own in these fixtures.
        let mut parts = line.splitn(4, ':');
        let (path, l, c, message) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        out.push(Expected {
            location: format!("{path}:{l}:{c}"),
            message: message.trim().to_owned(),
            help: None,
        });
    }
    out
}

/// Errors as printed: (`path:line:column`, message, help).
fn actual_errors(stderr: &str) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    for line in stderr.lines() {
        if let Some(help) = line.trim_start().strip_prefix("help:") {
            if let Some(last) = out.last_mut() {
                last.2 = Some(help.trim().to_owned());
            }
            continue;
        }
        if let Some((location, message)) = line.split_once(": error: ") {
            out.push((location.to_owned(), message.to_owned(), None));
        }
    }
    out
}

#[test]
fn every_bad_case_reports_exactly_its_diagnostics() {
    let bad = root().join("tests/bad");
    let mut cases: Vec<_> = std::fs::read_dir(&bad)
        .expect("tests/bad exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "base"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} bad cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&bad.join("base"), dir.path());
        copy_tree(case, dir.path());
        std::fs::remove_file(dir.path().join("expected.txt")).expect("expected.txt copied");
        let out = run(&[
            "check",
            "--format",
            "short",
            dir.path().to_str().expect("utf-8"),
        ]);
        let expected = read_expected(&case.join("expected.txt"));
        let actual = actual_errors(&out.stderr);
        let mut problems = Vec::new();
        if out.code != Some(1) {
            problems.push(format!("exit status {:?}, expected 1", out.code));
        }
        if expected.len() != actual.len() {
            problems.push(format!(
                "{} errors, expected {}",
                actual.len(),
                expected.len()
            ));
        }
        for want in &expected {
            let found = actual.iter().find(|(location, message, _)| {
                *location == want.location && message.contains(&want.message)
            });
            match found {
                None => problems.push(format!("missing `{}: {}`", want.location, want.message)),
                Some((_, _, help)) => {
                    if let Some(want_help) = &want.help
                        && !help.as_deref().unwrap_or("").contains(want_help.as_str())
                    {
                        problems.push(format!("help {help:?} lacks `{want_help}`"));
                    }
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n--- stderr:\n{}",
                problems.join("; "),
                out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn base_of_the_bad_cases_is_valid() {
    let base = root().join("tests/bad/base");
    let out = run(&["check", base.to_str().expect("utf-8")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn json_format_gives_positions_and_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("tests/bad/base"), dir.path());
    copy_tree(&root().join("tests/bad/unknown-field"), dir.path());
    let out = run(&[
        "check",
        "--format",
        "json",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["ok"], false);
    assert_eq!(report["errors"], 1);
    assert_eq!(
        report["counts"]["hosts"], 1,
        "the broken host is not counted"
    );
    let first = &report["diagnostics"][0];
    assert_eq!(first["path"], "hosts/web1.yaml");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 1);
    assert_eq!(first["code"], "unknown-field");
    assert_eq!(first["message"], "unknown field `adresses`");
    assert_eq!(first["help"], "did you mean `addresses`?");
}

#[test]
fn rich_format_shows_the_source_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("tests/bad/base"), dir.path());
    copy_tree(&root().join("tests/bad/dangling-ticket-module"), dir.path());
    // `--color always` forces the rich form even though stderr is a pipe.
    let out = run(&[
        "check",
        "--color",
        "always",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.code, Some(1));
    let plain = strip_ansi(&out.stderr);
    assert!(plain.contains("tickets/t-2.md:4:9"), "{plain}");
    assert!(
        plain.contains("module: shopp"),
        "source line shown: {plain}"
    );
    assert!(plain.contains("help: did you mean `shop`?"), "{plain}");
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn unreadable_repository_is_a_usage_error() {
    let out = run(&["check", "/nonexistent/glassroom-repo"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("/nonexistent/glassroom-repo"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_arguments_are_a_usage_error() {
    let out = run(&["check", "--format", "xml"]);
    assert_eq!(out.code, Some(2));
}

#[test]
fn empty_directory_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(&[
        "check",
        "--format",
        "short",
        dir.path().to_str().expect("utf-8"),
    ]);
    // Not a glassroom repository at all: a usage error (2), naming the path.
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let path = dir.path().display().to_string();
    assert!(out.stderr.contains(&path), "{}", out.stderr);
    assert!(
        out.stderr.contains("has no glassroom.yaml"),
        "{}",
        out.stderr
    );
}
