//! The deployment recipes that can run here: `contrib/git/pre-receive` in a real bare
//! repository, fed by real `git push` over a local path. The nginx site, the systemd
//! units and the Dockerfile are checked by hand (docs/deploy.md says how).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{GitRepo, Run, root};
use crate::trust::{CHANGED_HOST, HOST, repository};

/// A bare repository with the hook installed, calling the binary under test, with the
/// trust root pinned as an admin would; the working repository has it as `origin`.
fn server_for(repo: &GitRepo) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("ops.git");
    git_in(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", "ops.git"],
    );
    let hook = bare.join("hooks/pre-receive");
    std::fs::copy(root().join("contrib/git/pre-receive"), &hook).expect("copy the hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root_commit = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    git_in(&bare, &["config", "glassroom.trustRoot", &root_commit]);
    git_in(
        &bare,
        &[
            "config",
            "glassroom.hook.command",
            env!("CARGO_BIN_EXE_glassroom"),
        ],
    );
    repo.git(&[
        "remote",
        "add",
        "origin",
        bare.to_str().expect("utf-8 path"),
    ]);
    (dir, bare)
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("NO_COLOR", "1");
    command
}

fn git_in(dir: &Path, args: &[&str]) -> String {
    let run: Run = git_command(dir, args).output().expect("git runs").into();
    assert_eq!(run.code, Some(0), "git {args:?}: {}", run.stderr);
    run.stdout.trim().to_owned()
}

/// `git push origin REFSPEC` from the working repository, as a user would.
fn push(repo: &GitRepo, refspec: &str) -> Run {
    git_command(repo.path(), &["push", "origin", refspec])
        .output()
        .expect("git push runs")
        .into()
}

fn server_main(bare: &Path) -> String {
    git_in(bare, &["rev-parse", "refs/heads/main"])
}

fn assert_accepted(push: &Run, what: &str) {
    assert_eq!(
        push.code,
        Some(0),
        "{what} should be accepted:\n{}",
        push.stderr
    );
}

/// The push is rejected, the server's branch stays where it was, and the pusher sees
/// each of `shown` on git's `remote:` lines; the working repository goes back to it.
fn assert_rejected(repo: &GitRepo, bare: &Path, push: &Run, shown: &[&str]) {
    assert_ne!(push.code, Some(0), "should be rejected:\n{}", push.stderr);
    assert!(
        push.stderr.contains("pre-receive hook declined"),
        "{}",
        push.stderr
    );
    for text in shown {
        assert!(
            push.stderr
                .lines()
                .any(|l| l.starts_with("remote: ") && l.contains(text)),
            "{text:?} is not on a remote: line:\n{}",
            push.stderr
        );
    }
    let before = server_main(bare);
    assert_ne!(before, repo.git(&["rev-parse", "HEAD"]));
    repo.git(&["reset", "-q", "--hard", &before]);
}

#[test]
fn the_pre_receive_hook_rejects_refused_changes_and_errors_but_not_pending_ones() {
    let repo = repository();
    let (_dir, bare) = server_for(&repo);

    // A new branch (old id all zeros) on an empty server: the signed first commit.
    let first = push(&repo, "main");
    assert_accepted(&first, "the signed first commit");
    assert!(
        first
            .stderr
            .contains("remote: glassroom: checking new branch refs/heads/main")
    );

    // A signed change by someone with `sign` there.
    repo.write(HOST, CHANGED_HOST);
    let signed = repo.commit("Upgrade web1", Some("bob"));
    assert_accepted(&push(&repo, "main"), "a signed change");
    assert_eq!(server_main(&bare), signed);

    // An unsigned change: it waits for a signature, which is normal.
    repo.write(
        "hosts/db1.yaml",
        "name: db1.example.org\naddresses: [192.0.2.21]\nos: Debian 12\n",
    );
    let unsigned = repo.commit("Move db1", None);
    let pending = push(&repo, "main");
    assert_accepted(&pending, "an unsigned (pending) change");
    assert_eq!(server_main(&bare), unsigned);

    // Signed by carol, who may sign tickets only: refused.
    repo.write(
        HOST,
        "name: web1.example.org\naddresses: [192.0.2.99]\nos: Debian 13\n",
    );
    repo.commit("Move web1", Some("carol"));
    let refused = push(&repo, "main");
    assert_rejected(
        &repo,
        &bare,
        &refused,
        &[
            "error: refused: hosts/web1.yaml: `carol` has role `none` here; `sign` is needed",
            "glassroom: rejecting the push to refs/heads/main",
        ],
    );

    // Changing an entry of the append-only logbook, even signed by a signer: refused.
    let entry = "logbook/2026/11/2026-11-01-rotate.md";
    repo.write(
        entry,
        "---\nat: 2026-11-01T09:00:00Z\nby: alice\nprocedure: rotate-logs\ndisposition: ok\n---\nRotated twice.\n",
    );
    repo.commit("Rewrite history", Some("bob"));
    let rewritten = push(&repo, "main");
    assert_rejected(
        &repo,
        &bare,
        &rewritten,
        &["error: refused: logbook/2026/11/2026-11-01-rotate.md"],
    );

    // Signed content with an error: the diagnostic reaches the pusher.
    repo.write(
        "hosts/web2.yaml",
        "name: web2.example.org\naddresses: [192.0.2.11]\nos: Debian 12\ncolour: blue\n",
    );
    repo.commit("Add web2", Some("alice"));
    let invalid = push(&repo, "main");
    assert_rejected(&repo, &bare, &invalid, &["hosts/web2.yaml:4:", "colour"]);

    // A pre-approved logbook entry with an error would be left out: rejected too.
    repo.write(
        "logbook/2026/11/2026-11-02-check.md",
        "---\nat: 2026-11-02T09:00:00Z\nby: alice\nprocedure: rotate-logz\ndisposition: ok\n---\nDone.\n",
    );
    repo.commit("Log a check", None);
    let left_out = push(&repo, "main");
    assert_rejected(&repo, &bare, &left_out, &["left out", "rotate-logz"]);

    // Other branches are not checked; deleting one is let through as well.
    repo.write(
        HOST,
        "name: web1.example.org\naddresses: [192.0.2.99]\nos: Debian 13\n",
    );
    repo.commit("Draft by carol", Some("carol"));
    assert_accepted(&push(&repo, "HEAD:refs/heads/draft"), "a draft branch");
    assert_accepted(&push(&repo, ":refs/heads/draft"), "deleting a branch");
    assert_eq!(server_main(&bare), unsigned);
    let check = crate::support::run(&["check", "--rev", "main", bare.to_str().expect("utf-8")]);
    assert_eq!(check.code, Some(0), "{}{}", check.stdout, check.stderr);
}

#[test]
fn the_hook_refuses_to_check_without_a_pinned_trust_root() {
    let repo = repository();
    let (_dir, bare) = server_for(&repo);
    git_in(&bare, &["config", "--unset", "glassroom.trustRoot"]);
    let run = push(&repo, "main");
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "remote: glassroom: rejecting the push to refs/heads/main: no trust root is pinned"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn check_deny_fails_only_on_the_states_it_names() {
    let repo = repository();
    repo.write(HOST, CHANGED_HOST);
    repo.commit("Upgrade web1, unsigned", None);
    let path = repo.path_str();
    let deny_refused = repo.glassroom(&["check", path, "--deny", "refused,left-out"]);
    assert_eq!(deny_refused.code, Some(0), "{}", deny_refused.stderr);
    let deny_pending = repo.glassroom(&["check", path, "--deny", "pending"]);
    assert_eq!(deny_pending.code, Some(1), "{}", deny_pending.stderr);
    assert!(
        deny_pending
            .stderr
            .contains("error: pending signature: hosts/web1.yaml: needs `sign`"),
        "{}",
        deny_pending.stderr
    );
    let strict = repo.glassroom(&["check", path, "--strict"]);
    assert_eq!(strict.code, Some(1), "{}", strict.stderr);
}
