//! Issue 19, classes 2, 3, 4 and 8 on real repositories: history is a graph (merges
//! neither stop publishing nor bring back a removed key, an older policy or an older
//! blob), only signed commits' dates count, trailers obey every rule a change obeys, and
//! the trust root and the last verified head hold with or without the trust cache.

use super::{
    CHANGED_HOST, HOST, approved_blob, audit, blob_at, last_event, pending_paths, policy,
    repository,
};
use crate::support::GitRepo;

const POLICY_PATH: &str = ".glassroom/policy.yaml";
const ENTRY: &str = "logbook/2026/11/2026-11-01-rotate.md";

/// Creates branch `name` at `at` and checks it out.
fn branch(repo: &GitRepo, name: &str, at: &str) {
    repo.git(&["checkout", "-q", "-b", name, at]);
}

fn checkout(repo: &GitRepo, name: &str) {
    repo.git(&["checkout", "-q", name]);
}

/// Merges `other` into the current branch (a real `git merge`, as `git pull` makes it),
/// signed with a fixture key or not; returns the merge commit.
fn merge(repo: &GitRepo, other: &str, key: Option<&str>) -> String {
    let signing;
    let mut args = vec!["-c", "gpg.format=ssh"];
    match key {
        Some(name) => {
            signing = format!("user.signingkey={}", repo.key(name).display());
            args.extend(["-c", &signing, "merge", "-S"]);
        }
        None => args.extend(["merge", "--no-gpg-sign"]),
    }
    args.extend(["--no-ff", "--no-edit", "-q", "-X", "theirs", other]);
    repo.git(&args);
    repo.git(&["rev-parse", "HEAD"])
}

/// `glassroom build` into `DIR/public`: (exit code, stdout, stderr). The output is kept
/// out of the commits the tests make with `git add -A`.
fn build(repo: &GitRepo) -> (Option<i32>, String, String) {
    std::fs::write(
        repo.path().join(".git/info/exclude"),
        "/public/\n/.glassroom/cache/\n",
    )
    .expect("exclude");
    let out = repo.dir.path().join("public");
    let run = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    (run.code, run.stdout, run.stderr)
}

fn page(repo: &GitRepo, path: &str) -> String {
    std::fs::read_to_string(repo.dir.path().join("public").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(repo: &GitRepo, path: &str) -> String {
    std::fs::read_to_string(repo.path().join(path)).expect("file")
}

/// The policy of the tests with bob's (new) key left out.
fn policy_without_bob() -> String {
    let bob = std::fs::read_to_string(crate::support::root().join("tests/fixtures/keys/bob.pub"))
        .expect("key")
        .trim()
        .to_owned();
    policy().replace(&format!("      - \"{bob}\"\n"), "")
}

/// The audit report without the count of commits this run verified.
fn audit_without_work(repo: &GitRepo) -> serde_json::Value {
    let mut report = audit(repo);
    report["verified"] = serde_json::Value::Null;
    report
}

#[test]
fn an_unsigned_pull_merge_publishes_both_signed_sides_and_keeps_publishing() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    // alice works on a branch, bob on main, both sign; nothing was verified between.
    branch(&repo, "alice-work", &base);
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.22]\nos: Debian 13\n",
    );
    repo.commit("db1 upgraded", Some("alice"));
    checkout(&repo, "main");
    repo.write(HOST, CHANGED_HOST);
    repo.commit("web1 upgraded", Some("bob"));
    // The server verified main before the pull.
    assert!(pending_paths(&audit(&repo)).is_empty());
    // An ordinary `git pull`: an unsigned merge commit, then main moves to it.
    let merged = merge(&repo, "alice-work", None);
    let report = audit(&repo);
    assert_eq!(report["target"], merged);
    assert!(pending_paths(&report).is_empty(), "{:#}", report["pending"]);
    assert_eq!(
        approved_blob(&report, HOST),
        Some(blob_at(&repo, "HEAD", HOST))
    );
    assert_eq!(
        approved_blob(&report, "hosts/db1.yaml"),
        Some(blob_at(&repo, "HEAD", "hosts/db1.yaml"))
    );
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(page(&repo, "hosts/db1.html").contains("Debian 13"));
    assert!(page(&repo, "hosts/web1.html").contains("Debian 13"));
    // Later signed work on top keeps publishing.
    repo.write(HOST, &CHANGED_HOST.replace("13", "14"));
    repo.commit("web1 again", Some("bob"));
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(page(&repo, "hosts/web1.html").contains("Debian 14"));
}

#[test]
fn attack_an_unsigned_merge_does_not_bring_back_an_older_approved_blob() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write(HOST, CHANGED_HOST);
    repo.commit("web1 upgraded", Some("bob"));
    let upgraded = blob_at(&repo, "HEAD", HOST);
    // A branch from before the upgrade, merged so that the old version wins the tree.
    branch(&repo, "old", &base);
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.99]\n",
    );
    repo.commit("unsigned side work", None);
    checkout(&repo, "main");
    repo.git(&[
        "merge",
        "--no-ff",
        "--no-edit",
        "-q",
        "--no-gpg-sign",
        "-s",
        "ours",
        "old",
    ]);
    // ...and the merge's tree put back to the pre-upgrade host by hand.
    let original =
        std::fs::read_to_string(crate::support::root().join("tests/bad/base").join(HOST))
            .expect("base host");
    repo.write(HOST, &original);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--amend", "--no-edit", "--no-gpg-sign"]);
    let report = audit(&repo);
    assert_eq!(
        approved_blob(&report, HOST),
        Some(upgraded),
        "the newer approval stands"
    );
    assert!(pending_paths(&report).contains(&HOST.to_owned()));
    assert_ne!(
        approved_blob(&report, "hosts/db1.yaml"),
        Some(blob_at(&repo, "old", "hosts/db1.yaml")),
        "unsigned side work is not published"
    );
}

#[test]
fn attack_a_merge_whose_first_parent_predates_a_key_removal_does_not_revive_the_key() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    // alice removes bob's key on main (it was stolen).
    repo.write(POLICY_PATH, &policy_without_bob());
    repo.commit("Remove bob's key", Some("alice"));
    assert!(pending_paths(&audit(&repo)).is_empty());
    // The thief works from before the removal, signing with bob's key...
    branch(&repo, "stolen", &base);
    repo.write(
        HOST,
        "name: web1.example.org\naddresses: [203.0.113.66]\nos: Evil\n",
    );
    repo.commit("web1 moves", Some("bob"));
    // ...and merges main into it (first parent: the stolen branch), then pushes it as main.
    let merged = merge(&repo, "main", None);
    repo.git(&["branch", "-f", "main", &merged]);
    checkout(&repo, "main");
    let report = audit(&repo);
    assert_eq!(
        approved_blob(&report, POLICY_PATH),
        Some(blob_at(&repo, "HEAD", POLICY_PATH)),
        "the removal stands"
    );
    assert!(pending_paths(&report).contains(&HOST.to_owned()));
    let (kind, reason) = last_event(&report, HOST);
    assert!(kind == "pending" || kind == "refused", "{kind}");
    assert!(
        reason.contains("was removed from the policy by commit"),
        "{reason}"
    );
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!page(&repo, "hosts/web1.html").contains("Evil"));
    // The same from a verifier that never saw main before the merge.
    std::fs::remove_dir_all(repo.path().join(".git/glassroom")).expect("state");
    let fresh = audit(&repo);
    assert_eq!(approved_blob(&fresh, HOST), approved_blob(&report, HOST));
}

#[test]
fn attack_a_merge_does_not_bring_back_an_older_policy() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    // alice takes carol's right to sign tickets away.
    let narrowed = policy().replace("  /tickets: { carol: sign }\n", "");
    repo.write(POLICY_PATH, &narrowed);
    repo.commit("carol no longer signs tickets", Some("alice"));
    let new_policy = blob_at(&repo, "HEAD", POLICY_PATH);
    // A branch from before, merged unsigned with the old policy in its tree.
    branch(&repo, "old-policy", &base);
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.23]\n",
    );
    repo.commit("side", None);
    let merged = merge(&repo, "main", None);
    repo.write(POLICY_PATH, &policy());
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--amend", "--no-edit", "--no-gpg-sign"]);
    let merged_amended = repo.git(&["rev-parse", "HEAD"]);
    assert_ne!(merged, merged_amended);
    repo.git(&["branch", "-f", "main", &merged_amended]);
    checkout(&repo, "main");
    // carol now signs a ticket change: under the policy in force she may not.
    repo.write(
        "tickets/t-1.md",
        &read(&repo, "tickets/t-1.md").replace("Checkout is slow", "Checkout is fast"),
    );
    repo.commit("ticket", Some("carol"));
    let report = audit(&repo);
    assert_eq!(approved_blob(&report, POLICY_PATH), Some(new_policy));
    assert!(pending_paths(&report).contains(&"tickets/t-1.md".to_owned()));
    assert_eq!(last_event(&report, "tickets/t-1.md").0, "refused");
}

#[test]
fn a_signed_merge_of_concurrent_approvals_keeps_the_version_in_its_tree() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    branch(&repo, "side", &base);
    repo.write(HOST, &CHANGED_HOST.replace("13", "13 (side)"));
    repo.commit("side upgrade", Some("alice"));
    checkout(&repo, "main");
    repo.write(HOST, CHANGED_HOST);
    repo.commit("main upgrade", Some("bob"));
    // An unsigned merge that takes the side's version: both were approved, neither is
    // newer than the other, the merge's tree decides, and says so.
    merge(&repo, "side", None);
    let report = audit(&repo);
    assert_eq!(
        approved_blob(&report, HOST),
        Some(blob_at(&repo, "HEAD", HOST))
    );
    let (kind, reason) = last_event(&report, HOST);
    assert_eq!(kind, "merged");
    assert!(reason.contains("version in the merge's tree"), "{reason}");
}

#[test]
fn the_verdict_is_the_same_with_and_without_the_trust_cache() {
    let repo = repository();
    let base = repo.git(&["rev-parse", "HEAD"]);
    branch(&repo, "side", &base);
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.5]\n",
    );
    repo.commit("side", Some("alice"));
    repo.write("hosts/web9.yaml", "name: web9.example.org\n");
    repo.commit("unsigned", None);
    checkout(&repo, "main");
    repo.write(HOST, CHANGED_HOST);
    repo.commit("main", Some("bob"));
    let _ = audit(&repo);
    repo.write(POLICY_PATH, &policy_without_bob());
    repo.commit("no bob", Some("alice"));
    let _ = audit(&repo);
    merge(&repo, "side", None);
    let cached = audit_without_work(&repo);
    std::fs::remove_file(repo.path().join(".git/glassroom/trust-cache")).expect("cache");
    let fresh = audit_without_work(&repo);
    assert_eq!(cached, fresh);
}

#[test]
fn attack_an_unsigned_commit_dated_in_the_future_does_not_make_later_ones_backdated() {
    let repo = repository();
    repo.set_date(4_070_908_800); // 2099
    repo.write("hosts/web9.yaml", "name: web9.example.org\n");
    repo.commit("from the future", None);
    repo.set_date(1_796_083_200); // 2026-12-01
    repo.write(HOST, CHANGED_HOST);
    repo.commit("an honest change", Some("bob"));
    let report = audit(&repo);
    assert_eq!(last_event(&report, HOST).0, "signed");
    assert_eq!(
        approved_blob(&report, HOST),
        Some(blob_at(&repo, "HEAD", HOST))
    );
}

#[test]
fn attack_a_robot_commit_dated_in_the_future_does_not_make_people_backdated() {
    let repo = repository();
    repo.set_date(4_070_908_800); // 2099
    repo.write(
        "logbook/2026/11/2026-11-30-rotate.md",
        &read(&repo, ENTRY).replace("2026-11-01", "2026-11-30"),
    );
    repo.commit("robot with a wrong clock", Some("backup-bot"));
    repo.set_date(1_796_083_200);
    repo.write(HOST, CHANGED_HOST);
    repo.commit("an honest change", Some("bob"));
    let report = audit(&repo);
    assert_eq!(last_event(&report, HOST).0, "signed");
    // Its own date is still believed when it is within a day of the clock only.
    let (code, stdout, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("in the future"), "{stderr}");
    assert!(!stdout.contains("now = 2099"), "{stdout}");
}

#[test]
fn attack_an_unsigned_backdated_head_does_not_move_the_build_time() {
    let repo = repository();
    // A certificate that expires on 2026-11-20, signed on 2026-11-18: critical.
    repo.set_date(1_794_960_000); // 2026-11-18
    repo.write(
        "certificates/www.yaml",
        &read(&repo, "certificates/www.yaml").replace("2027-01-31", "2026-11-20"),
    );
    repo.commit("a short certificate", Some("bob"));
    let (code, stdout, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("now = 2026-11-18"), "{stdout}");
    assert!(page(&repo, "index.html").contains("www.example.org"));
    repo.set_date(1_700_000_000); // 2023
    repo.write("hosts/web9.yaml", "name: web9.example.org\n");
    repo.commit("unsigned and backdated", None);
    let (code, stdout, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("now = 2026-11-18"), "{stdout}");
    assert!(
        page(&repo, "index.html").contains("www.example.org"),
        "the expiry alert stays"
    );
}

#[test]
fn attack_an_approve_trailer_cannot_rewrite_an_append_only_entry() {
    let repo = repository();
    repo.write(
        ENTRY,
        &read(&repo, ENTRY).replace("Rotated.", "Never happened."),
    );
    repo.commit("rewrite, unsigned", None);
    let blob = blob_at(&repo, "HEAD", ENTRY);
    // Even the admin cannot approve a rewritten entry by trailer.
    repo.commit(
        &format!("approve it\n\nApprove: {ENTRY} {blob}"),
        Some("alice"),
    );
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, ENTRY);
    assert_eq!(kind, "refused");
    assert!(reason.contains("append-only"), "{reason}");
    assert_ne!(approved_blob(&report, ENTRY), Some(blob));
}

#[test]
fn attack_an_approve_trailer_cannot_publish_a_symlink_or_a_case_twin() {
    let repo = repository();
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("hosts/link.yaml")).expect("link");
    repo.write("hosts/WEB1.yaml", "name: twin.example.org\n");
    repo.commit("a link and a twin, unsigned", None);
    let link = blob_at(&repo, "HEAD", "hosts/link.yaml");
    let twin = blob_at(&repo, "HEAD", "hosts/WEB1.yaml");
    repo.commit(
        &format!("approve\n\nApprove: hosts/link.yaml {link}\nApprove: hosts/WEB1.yaml {twin}"),
        Some("alice"),
    );
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, "hosts/link.yaml");
    assert_eq!(kind, "refused");
    assert!(reason.contains("symbolic link"), "{reason}");
    let (kind, reason) = last_event(&report, "hosts/WEB1.yaml");
    assert_eq!(kind, "refused");
    assert!(reason.contains("differs only in case"), "{reason}");
    assert!(approved_blob(&report, "hosts/link.yaml").is_none());
    assert!(approved_blob(&report, "hosts/WEB1.yaml").is_none());
}

#[test]
fn attack_trailers_cannot_change_the_policy_without_admin_nor_revoke_it() {
    let repo = repository();
    repo.write(
        POLICY_PATH,
        &policy().replace("dave: review", "dave: admin"),
    );
    repo.commit("dave wants admin, unsigned", None);
    let blob = blob_at(&repo, "HEAD", POLICY_PATH);
    repo.commit(
        &format!("approve\n\nApprove: {POLICY_PATH} {blob}"),
        Some("bob"),
    );
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, POLICY_PATH);
    assert_eq!(kind, "refused");
    assert!(reason.contains("`admin` is needed"), "{reason}");
    // Not even the admin revokes the policy (nobody could sign after it).
    repo.write(POLICY_PATH, &policy());
    repo.commit(&format!("revoke\n\nRevoke: {POLICY_PATH}"), Some("alice"));
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, POLICY_PATH);
    assert_eq!(kind, "refused");
    assert!(reason.contains("cannot be revoked"), "{reason}");
    assert!(approved_blob(&report, POLICY_PATH).is_some());
}

#[test]
fn an_admin_revokes_junk_from_an_append_only_path_and_others_cannot() {
    let repo = repository();
    let junk = "logbook/2026/11/junk.md";
    repo.write(junk, "---\nnot: a logbook entry\n---\n");
    repo.commit("junk, pre-approved", None);
    assert_eq!(last_event(&audit(&repo), junk).0, "pre_approved");
    // A signer may not remove it.
    repo.commit(&format!("remove\n\nRevoke: {junk}"), Some("bob"));
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, junk);
    assert_eq!(kind, "refused");
    assert!(reason.contains("only an admin"), "{reason}");
    assert!(approved_blob(&report, junk).is_some());
    // The admin revokes it and deletes the file in the same signed commit.
    std::fs::remove_file(repo.path().join(junk)).expect("remove");
    repo.commit(&format!("remove junk\n\nRevoke: {junk}"), Some("alice"));
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, junk);
    assert_eq!(kind, "revoked");
    assert!(
        reason.contains("by an admin from an append-only path"),
        "{reason}"
    );
    assert!(approved_blob(&report, junk).is_none());
    assert!(!pending_paths(&report).contains(&junk.to_owned()));
    let text = repo.glassroom(&["audit", junk, "--repo", repo.path_str()]);
    assert!(text.stdout.contains("revoked"), "{}", text.stdout);
}

#[test]
fn attack_a_force_pushed_orphan_history_is_refused_without_a_configured_root() {
    let repo = repository();
    repo.git(&["config", "--unset", "glassroom.trustRoot"]);
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("first root seen on this machine"),
        "{stderr}"
    );
    // A new history with no common commit, signed by nobody the policy knows.
    repo.git(&["checkout", "-q", "--orphan", "evil"]);
    repo.write(
        HOST,
        "name: web1.example.org\naddresses: [203.0.113.66]\nos: Evil\n",
    );
    let evil = repo.commit("a new world", None);
    repo.git(&["branch", "-f", "main", &evil]);
    checkout(&repo, "main");
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not in the history"), "{stderr}");
    assert!(!page(&repo, "hosts/web1.html").contains("Evil"));
    // Deleting the trust cache does not help: the root is state, not cache.
    let _ = std::fs::remove_file(repo.path().join(".git/glassroom/trust-cache"));
    let (code, _, _) = build(&repo);
    assert_eq!(code, Some(2));
}

#[test]
fn a_trust_root_given_as_a_ref_is_pinned_and_a_moved_ref_is_refused() {
    let repo = repository();
    repo.git(&["config", "--unset", "glassroom.trustRoot"]);
    let root = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["tag", "trusted", &root]);
    repo.write(HOST, CHANGED_HOST);
    let second = repo.commit("upgrade", Some("bob"));
    let first = repo.glassroom(&["check", repo.path_str(), "--trust-root", "trusted"]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    repo.git(&["tag", "-f", "trusted", &second]);
    let moved = repo.glassroom(&["check", repo.path_str(), "--trust-root", "trusted"]);
    assert_eq!(moved.code, Some(2), "{}", moved.stderr);
    assert!(moved.stderr.contains("now names"), "{}", moved.stderr);
    assert!(moved.stderr.contains(&root), "{}", moved.stderr);
    // The full id is never ambiguous.
    let full = repo.glassroom(&["check", repo.path_str(), "--trust-root", &root]);
    assert_eq!(full.code, Some(0), "{}", full.stderr);
}

#[test]
fn attack_a_tag_named_like_a_short_id_does_not_win() {
    let repo = repository();
    repo.git(&["config", "--unset", "glassroom.trustRoot"]);
    let root = repo.git(&["rev-parse", "HEAD"]);
    repo.write(
        HOST,
        "name: web1.example.org\naddresses: [203.0.113.66]\nos: Evil\n",
    );
    let evil = repo.commit("unsigned", None);
    // A tag named like the root's abbreviation, pointing at the attacker's commit.
    let short = &root[..8];
    repo.git(&["tag", short, &evil]);
    let report = repo.glassroom(&[
        "audit",
        "--repo",
        repo.path_str(),
        "--trust-root",
        short,
        "--format",
        "json",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&report.stdout).unwrap_or_else(|e| panic!("{e}: {}", report.stderr));
    assert_eq!(report["trust_root"], root);
    assert!(pending_paths(&report).contains(&HOST.to_owned()));
}

#[test]
fn attack_a_shallow_clone_is_never_trusted_from_its_cut_off_commit() {
    let repo = repository();
    repo.write(HOST, CHANGED_HOST);
    repo.commit("one", Some("bob"));
    repo.write("hosts/web9.yaml", "name: web9.example.org\n");
    repo.commit("two, unsigned", None);
    let clone = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", repo.path_str());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(clone.path().join("c"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git clone");
    assert!(status.success());
    let run = crate::support::run(&["check", clone.path().join("c").to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
}

#[test]
fn a_rewind_is_caught_with_or_without_the_trust_cache() {
    let repo = repository();
    repo.write(HOST, CHANGED_HOST);
    let good = repo.commit("upgrade", Some("bob"));
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.22]\n",
    );
    repo.commit("another", Some("bob"));
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    repo.git(&["reset", "-q", "--hard", &good]);
    std::fs::remove_file(repo.path().join(".git/glassroom/trust-cache")).expect("cache");
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("does not descend from the last approved head"),
        "{stderr}"
    );
}

#[test]
fn attack_a_tree_nested_deeper_than_the_limit_is_refused_without_breaking_the_build() {
    let repo = repository();
    // 1,100 nested directories, made with git's plumbing (a checkout could not hold it).
    let mut tree = {
        let blob = repo.git_with_input(&["hash-object", "-w", "--stdin"], "deep\n");
        repo.git_with_input(&["mktree"], &format!("100644 blob {blob}\tx.md\n"))
    };
    for _ in 0..1100 {
        tree = repo.git_with_input(&["mktree"], &format!("040000 tree {tree}\td\n"));
    }
    let head_tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let listing = repo.git(&["ls-tree", &head_tree]);
    let top = repo.git_with_input(
        &["mktree"],
        &format!("{listing}\n040000 tree {tree}\tdeep\n"),
    );
    let head = repo.git(&["rev-parse", "HEAD"]);
    let commit = repo.git(&["commit-tree", &top, "-p", &head, "-m", "deep"]);
    repo.git(&["update-ref", "refs/heads/main", &commit]);
    let (code, _, stderr) = build(&repo);
    assert_eq!(code, Some(0), "{stderr}");
    let report = audit(&repo);
    let refused = report["refused"].as_array().cloned().unwrap_or_default();
    assert!(
        refused
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.starts_with("deep/d/d/"))),
        "{refused:?}"
    );
}

#[test]
fn attack_a_removed_key_listed_again_stays_removed() {
    let repo = repository();
    repo.write(POLICY_PATH, &policy_without_bob());
    repo.commit("Remove bob's key (stolen)", Some("alice"));
    // Later the old policy comes back, signed by the admin (an old copy pasted back).
    repo.write(POLICY_PATH, &policy());
    repo.commit("Restore the policy", Some("alice"));
    repo.write(HOST, CHANGED_HOST);
    repo.commit("web1 by the thief", Some("bob"));
    let report = audit(&repo);
    assert_eq!(
        approved_blob(&report, POLICY_PATH),
        Some(blob_at(&repo, "HEAD", POLICY_PATH))
    );
    let (kind, reason) = last_event(&report, HOST);
    assert_eq!(kind, "pending");
    assert!(
        reason.contains("was removed from the policy by commit"),
        "{reason}"
    );
}

#[test]
fn attack_look_alike_names_are_never_published_even_signed() {
    let repo = repository();
    // The same name composed and decomposed, and a name with a zero-width space.
    repo.write("hosts/caf\u{e9}.yaml", "name: cafe1.example.org\n");
    repo.write("hosts/cafe\u{301}.yaml", "name: cafe2.example.org\n");
    repo.write("hosts/web1\u{200b}.yaml", "name: evil.example.org\n");
    repo.commit("look-alikes", Some("bob"));
    let report = audit(&repo);
    for path in ["hosts/caf\u{e9}.yaml", "hosts/cafe\u{301}.yaml"] {
        let (kind, reason) = last_event(&report, path);
        assert_eq!(kind, "refused", "{path}");
        assert!(reason.contains("look-alike"), "{reason}");
        assert!(approved_blob(&report, path).is_none());
    }
    let (kind, reason) = last_event(&report, "hosts/web1\u{200b}.yaml");
    assert_eq!(kind, "refused");
    assert!(reason.contains("invisible"), "{reason}");
}
