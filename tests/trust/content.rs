//! Unapproved content never breaks the build (issue 19, class 5), and hostile sizes are
//! bounded (class 9, content side): a file published only because the policy
//! pre-approves its path (`logbook/**` in these tests) that has errors is left out,
//! reported, and the rest of the site is published; a signed file with the same error
//! still fails the build.

use std::path::{Path, PathBuf};

use super::{audit, last_event, repository};
use crate::support::{GitRepo, Run};

/// An entry in the base repository, signed with the trust root.
const SIGNED_ENTRY: &str = "logbook/2026/11/2026-11-01-rotate.md";

fn entry(at: &str, extra: &str) -> String {
    format!("---\nat: {at}\nby: backup-bot\n{extra}---\nBacked up.\n")
}

/// A build and where it went (a directory of its own, removed with it).
struct Built {
    run: Run,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

/// `glassroom build` of HEAD into a new directory.
fn build(repo: &GitRepo) -> Built {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    let run = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
    ]);
    Built {
        run,
        out,
        _dir: dir,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The build succeeded, the rest of the site is there, and `path` is reported as left
/// out (a warning naming it, the pending page, one alert), not published (its page,
/// when it has an id of its own, is not there).
fn assert_left_out(site: &Built, path: &str, page: Option<&str>, because: &str) {
    let Built { run, out, .. } = site;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let warning = run
        .stderr
        .lines()
        .find(|line| line.starts_with(path) && line.contains("warning: left out: "))
        .unwrap_or_else(|| panic!("no left-out warning for {path}: {}", run.stderr));
    assert!(warning.contains(because), "{warning}");
    if let Some(id) = page {
        assert!(
            !out.join(format!("logbook/{id}.html")).exists(),
            "{id} published"
        );
    }
    // The rest publishes: a host, the signed entry and its procedure.
    assert!(out.join("hosts/web1.html").exists());
    assert!(out.join("logbook/2026-11-01-rotate.html").exists());
    let pending = read(&out.join("pending.html"));
    let (_, left_out) = pending
        .split_once(r#"<table id="left-out""#)
        .unwrap_or_else(|| panic!("no table of files left out: {pending}"));
    assert!(
        left_out
            .split("<tr>")
            .any(|row| row.contains(path) && row.contains(because)),
        "{path} not listed as left out: {left_out}"
    );
    let dashboard = read(&out.join("index.html"));
    assert!(
        dashboard.contains("pre-approved file left out")
            || dashboard.contains("pre-approved files left out"),
        "{dashboard}"
    );
}

/// `glassroom check` passes (left out is a warning) and `check --strict` fails.
fn assert_check_warns(repo: &GitRepo, path: &str) {
    let check = repo.glassroom(&["check", repo.path_str()]);
    assert_eq!(check.code, Some(0), "{}{}", check.stdout, check.stderr);
    assert!(
        check.stderr.contains(&format!("{path}:")) && check.stderr.contains("left out"),
        "{}",
        check.stderr
    );
    assert!(check.stdout.contains("left out"), "{}", check.stdout);
    let strict = repo.glassroom(&["check", "--strict", repo.path_str()]);
    assert_eq!(strict.code, Some(1), "{}{}", strict.stdout, strict.stderr);
}

#[test]
fn invalid_yaml_in_a_pre_approved_entry_is_left_out_and_the_rest_publishes() {
    let repo = repository();
    let path = "logbook/2026/11/junk.md";
    repo.write(path, "---\nat: [unclosed\nby: x\n---\nJunk.\n");
    repo.commit("Junk entry", None);
    assert_eq!(last_event(&audit(&repo), path).0, "pre_approved");
    let site = build(&repo);
    assert_left_out(&site, path, Some("junk"), "");
    let Built { run, out, .. } = &site;
    // The warning carries the original finding's line and column.
    assert!(run.stderr.contains(&format!("{path}:2:")), "{}", run.stderr);
    assert_check_warns(&repo, path);
    // One alert for the kind, with a count, linking to the pending page.
    let dashboard = read(&out.join("index.html"));
    assert_eq!(dashboard.matches("left out").count(), 1, "{dashboard}");
    assert!(dashboard.contains(r#"href="pending.html""#) || dashboard.contains("pending.html"));
}

#[test]
fn a_host_document_under_the_logbook_is_left_out() {
    let repo = repository();
    let path = "logbook/2026/11/web9.md";
    repo.write(
        path,
        "---\nname: web9.example.org\naddresses: [192.0.2.99]\nos: Debian 12\n---\n",
    );
    repo.write("logbook/hosts/web9.yaml", "name: web9.example.org\n");
    repo.write(
        "logbook/2026/11/fine.md",
        &entry("2026-11-20T10:00:00Z", ""),
    );
    repo.commit("Host documents where entries go", None);
    let site = build(&repo);
    assert_left_out(&site, path, Some("web9"), "unknown field");
    assert_left_out(&site, "logbook/hosts/web9.yaml", Some("web9"), "YYYY/MM");
    // A valid entry of the same unsigned commit is published.
    assert!(site.out.join("logbook/fine.html").exists());
}

#[test]
fn a_duplicate_id_leaves_out_the_pre_approved_copies_and_keeps_the_signed_one() {
    let repo = repository();
    let signed = read(&repo.path().join(SIGNED_ENTRY));
    // Sorts before the signed copy: the duplicate is found at the signed file.
    let copy = "logbook/2026/10/2026-11-01-rotate.md";
    repo.write(copy, &entry("2026-10-02T10:00:00Z", ""));
    // Two unsigned copies of a new id: neither may stand for the other.
    repo.write(
        "logbook/2026/11/twin.md",
        &entry("2026-11-02T10:00:00Z", ""),
    );
    repo.write(
        "logbook/2026/10/twin.md",
        &entry("2026-10-02T10:00:00Z", ""),
    );
    repo.commit("Copies", None);
    let site = build(&repo);
    assert_left_out(&site, copy, None, "duplicate");
    let page = read(&site.out.join("logbook/2026-11-01-rotate.html"));
    assert!(page.contains("Rotated."), "the signed text stays: {page}");
    assert!(signed.contains("Rotated."));
    assert_left_out(&site, "logbook/2026/11/twin.md", Some("twin"), "duplicate");
    assert_left_out(&site, "logbook/2026/10/twin.md", Some("twin"), "duplicate");
}

#[test]
fn a_reply_to_a_left_out_entry_is_left_out_with_it() {
    let repo = repository();
    repo.write(
        "logbook/2026/11/root.md",
        &entry("2026-11-03T10:00:00Z", "disposition: not-a-disposition\n"),
    );
    repo.write(
        "logbook/2026/11/reply.md",
        &entry("2026-11-03T11:00:00Z", "reply_to: root\n"),
    );
    repo.write(
        "logbook/2026/11/reply-to-reply.md",
        &entry("2026-11-03T12:00:00Z", "reply_to: reply\n"),
    );
    // A reply to the signed entry is fine.
    repo.write(
        "logbook/2026/11/other.md",
        &entry("2026-11-03T12:00:00Z", "reply_to: 2026-11-01-rotate\n"),
    );
    repo.commit("A thread on a bad root", None);
    let site = build(&repo);
    assert_left_out(
        &site,
        "logbook/2026/11/root.md",
        Some("root"),
        "disposition",
    );
    assert_left_out(
        &site,
        "logbook/2026/11/reply.md",
        Some("reply"),
        "logbook/2026/11/root.md",
    );
    assert_left_out(
        &site,
        "logbook/2026/11/reply-to-reply.md",
        Some("reply-to-reply"),
        "logbook/2026/11/reply.md",
    );
    assert!(site.out.join("logbook/other.html").exists());
}

#[test]
fn a_signed_file_with_an_error_still_fails_the_build() {
    let repo = repository();
    repo.write("tickets/junk.md", "---\ntitle: [unclosed\n---\n");
    repo.commit("Signed junk", Some("alice"));
    let built = build(&repo);
    let Built { run, out, .. } = &built;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("tickets/junk.md:2:"), "{}", run.stderr);
    assert!(!run.stderr.contains("left out"), "{}", run.stderr);
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_long_chain_of_replies_to_a_left_out_entry_is_left_out_in_one_pass() {
    const CHAIN: usize = 3_000;
    let repo = repository();
    repo.write(
        "logbook/2026/11/chain-0.md",
        "---\nat: not a time\nby: bot\n---\n",
    );
    for i in 1..CHAIN {
        repo.write(
            &format!("logbook/2026/11/chain-{i}.md"),
            &entry(
                "2026-11-04T10:00:00Z",
                &format!("reply_to: chain-{}\n", i - 1),
            ),
        );
    }
    // And a valid chain of the same length, which publishes.
    for i in 0..CHAIN {
        let reply = if i == 0 {
            String::new()
        } else {
            format!("reply_to: ok-{}\n", i - 1)
        };
        repo.write(
            &format!("logbook/2026/11/ok-{i}.md"),
            &entry("2026-11-05T10:00:00Z", &reply),
        );
    }
    repo.commit("Two long threads", None);
    let started = std::time::Instant::now();
    let check = repo.glassroom(&["check", "--format", "json", repo.path_str()]);
    let took = started.elapsed();
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    let report: serde_json::Value = serde_json::from_str(&check.stdout).expect("json");
    let left_out = report["trust"]["left_out"].as_array().expect("left_out");
    assert_eq!(
        left_out.len(),
        CHAIN,
        "{:#}",
        left_out.first().cloned().unwrap_or_default()
    );
    assert!(
        left_out
            .iter()
            .all(|l| l["path"].as_str().is_some_and(|p| p.contains("/chain-"))),
        "only the bad chain"
    );
    assert_eq!(report["counts"]["logbook entries"], CHAIN + 1);
    // Linear work: a quadratic leave-out (one validation per dropped entry) takes minutes.
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
}

/// Sets `limits` in glassroom.yaml, signed by the admin.
fn with_limits(repo: &GitRepo, limits: &str) {
    let config = read(&repo.path().join("glassroom.yaml"));
    repo.write("glassroom.yaml", &format!("{config}limits: {limits}\n"));
    repo.commit("Limits", Some("alice"));
}

#[test]
fn a_pre_approved_file_over_the_size_limit_is_left_out_and_a_signed_one_is_an_error() {
    let repo = repository();
    with_limits(&repo, "{ max_file_size: 4 KiB }");
    let big = entry(
        "2026-11-06T10:00:00Z",
        &format!("# {}\n", "x".repeat(8 * 1024)),
    );
    repo.write("logbook/2026/11/big.md", &big);
    repo.commit("A big entry", None);
    assert_left_out(
        &build(&repo),
        "logbook/2026/11/big.md",
        Some("big"),
        "4 KiB",
    );
    let check = repo.glassroom(&["check", repo.path_str()]);
    assert!(
        check.stderr.contains("logbook/2026/11/big.md:1:1"),
        "{}",
        check.stderr
    );

    repo.write(
        "tickets/big.md",
        &format!("---\ntitle: Big\n---\n{}\n", "x".repeat(8 * 1024)),
    );
    repo.commit("A big ticket", Some("alice"));
    let built = build(&repo);
    let Built { run, .. } = &built;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("tickets/big.md:1:1: error: the file has"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_too_deeply_nested_pre_approved_entry_is_left_out() {
    let repo = repository();
    let deep = entry("2026-11-07T10:00:00Z", "") + &">".repeat(80_000) + " x\n";
    repo.write("logbook/2026/11/deep.md", &deep);
    let lists: String = (0..40)
        .map(|i| format!("{}- x\n", "  ".repeat(i)))
        .collect();
    repo.write(
        "logbook/2026/11/lists.md",
        &(entry("2026-11-07T11:00:00Z", "") + &lists),
    );
    repo.commit("Deep entries", None);
    let started = std::time::Instant::now();
    let site = build(&repo);
    assert_left_out(
        &site,
        "logbook/2026/11/deep.md",
        Some("deep"),
        "nest 80000 deep",
    );
    assert_left_out(
        &site,
        "logbook/2026/11/lists.md",
        Some("lists"),
        "at most 32",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // The warning points at the line where the nesting is.
    let check = repo.glassroom(&["check", repo.path_str()]);
    assert!(
        check.stderr.contains("logbook/2026/11/deep.md:6:1"),
        "{}",
        check.stderr
    );
    // Within the limit, set by an admin, it publishes.
    with_limits(&repo, "{ max_markdown_nesting: 64 }");
    let built = build(&repo);
    let Built { run, out, .. } = &built;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(out.join("logbook/lists.html").exists());
}

#[test]
fn an_admin_removes_junk_from_an_append_only_path_with_a_signed_revoke() {
    let repo = repository();
    let path = "logbook/2026/11/junk.md";
    repo.write(path, "---\nat: [unclosed\n---\n");
    repo.commit("Junk", None);
    assert_left_out(&build(&repo), path, Some("junk"), "");
    // Deleting it without a signature is refused: the path is append-only.
    repo.git(&["rm", "-q", path]);
    repo.commit("Delete junk", None);
    assert_left_out(&build(&repo), path, Some("junk"), "");
    // An admin deletes it in a signed commit that revokes it: unpublished, audited, and
    // nothing is left out, pending or refused any more.
    repo.commit(&format!("Remove junk\n\nRevoke: {path}"), Some("alice"));
    let report = audit(&repo);
    assert_eq!(last_event(&report, path).0, "revoked");
    assert_eq!(report["approved"][path], serde_json::Value::Null);
    let built = build(&repo);
    let Built { run, out, .. } = &built;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("left out"), "{}", run.stderr);
    assert!(read(&out.join("pending.html")).contains("Nothing is left out."));
    let strict = repo.glassroom(&["check", "--strict", repo.path_str()]);
    assert_eq!(strict.code, Some(0), "{}{}", strict.stdout, strict.stderr);
}

#[test]
fn in_a_plain_directory_nothing_is_verified_and_errors_stay_errors() {
    let repo = repository();
    repo.write("logbook/2026/11/junk.md", "---\nat: [unclosed\n---\n");
    repo.commit("Junk", None);
    let preview = repo.glassroom(&["check", "--worktree", repo.path_str()]);
    assert_eq!(preview.code, Some(1), "{}", preview.stderr);
    assert!(!preview.stderr.contains("left out"), "{}", preview.stderr);
}
