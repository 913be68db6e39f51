//! SIGKILL of a logbook intake during a burst of posts, at many moments, then a restart:
//! nothing it left blocks the robots or a person's `git`, and no entry is half there.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::{TOKEN, logbook_repo, post, serve_logbook};
use crate::serve::server::client;
use crate::support::GitRepo;

/// Rounds of start, burst, SIGKILL, restart. Each kill lands at another moment.
const ROUNDS: usize = 16;
/// Files the repository holds besides the content, so the index is as big as a real
/// team's and a kill can land while it is written. They are notes glassroom does not
/// render, so the test spends its time on commits, not on rendering pages.
const FILES: usize = 4000;

fn big_logbook_repo() -> GitRepo {
    let repo = logbook_repo();
    for n in 0..FILES {
        repo.write(
            &format!("notes/{:02}/note-{n}.txt", n % 40),
            &format!("note {n}\n"),
        );
    }
    repo.commit("Notes kept beside the content", Some("alice"));
    repo
}

/// The git lock files present now.
fn git_locks(repo: &Path) -> Vec<String> {
    walkdir::WalkDir::new(repo.join(".git"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// A small deterministic sequence of kill delays (ms), different every round.
fn delay(round: usize) -> u64 {
    let seed = (round as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    150 + (seed >> 33) % 600
}

#[test]
fn an_intake_killed_at_any_moment_leaves_nothing_that_blocks_robots_or_people() {
    let repo = big_logbook_repo();
    let http = client();
    let mut locks_left = 0;
    let mut repairs_logged = 0;
    let mut index_behind = 0;
    let mut served = serve_logbook(&repo);
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let created = Arc::new(AtomicUsize::new(0));
        let posters: Vec<_> = (0..4)
            .map(|n| {
                let stop = Arc::clone(&stop);
                let created = Arc::clone(&created);
                let url = served.url("/logbook");
                std::thread::spawn(move || {
                    let http = client();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let sent = http
                            .post(&url)
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .json(&json!({
                                "procedure": "rotate-logs",
                                "note": format!("round {round} poster {n} post {i}"),
                            }))
                            .send();
                        match sent {
                            Ok(r) if r.status() == StatusCode::CREATED => {
                                created.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => panic!("a post before the kill failed: {:?}", r.text()),
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        // Let some posts land, then kill it in the middle of the next ones.
        let started = Instant::now();
        while created.load(Ordering::Relaxed) < 2 && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay(round)));
        served.kill();
        stop.store(true, Ordering::Relaxed);
        for poster in posters {
            poster.join().expect("a poster thread");
        }
        let left = git_locks(repo.path());
        if !left.is_empty() {
            locks_left += 1;
        }
        if !repo.git(&["status", "--porcelain"]).is_empty() {
            index_behind += 1;
        }

        // The restarted intake clears what it left, and says so.
        served = serve_logbook(&repo);
        let after = git_locks(repo.path());
        assert!(
            after.is_empty(),
            "round {round}: left {left:?}, still {after:?}"
        );
        let log = served.stderr();
        if !left.is_empty() {
            assert!(
                log.contains("logbook intake: removed") && log.contains(".lock"),
                "round {round}: the log says what was removed: {log}"
            );
        }
        if log.contains("logbook intake:") {
            repairs_logged += 1;
        }
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            "",
            "round {round}: the index and working tree are in step with HEAD again"
        );
        // Robots post again at once.
        let (status, reply) = post(
            &http,
            &served,
            Some(TOKEN),
            &json!({"procedure": "rotate-logs", "note": format!("after round {round}")}),
        );
        assert_eq!(status, StatusCode::CREATED, "round {round}: {reply}");

        // A person's ordinary signed commit works and changes only what they changed
        // (the server, idle now, is the next round's).
        repo.write("tickets/t-2.md", &format!("---\ntitle: Round {round}\nkind: bug\nmodule: shop\npriority: low\nstatus: open\nreporter: carol\nopened: 2026-09-01T10:00:00Z\n---\nStill slow.\n"));
        repo.git(&["add", "tickets/t-2.md"]);
        let status = repo.git(&["status", "--porcelain"]);
        assert!(
            matches!(status.as_str(), "A  tickets/t-2.md" | "M  tickets/t-2.md"),
            "round {round}: only the person's change is staged: {status}"
        );
        repo.git(&[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={}", repo.key("alice").display()),
            "commit",
            "-q",
            "-S",
            "-m",
            &format!("Ticket t-2, round {round}"),
        ]);
        assert_eq!(
            repo.git(&["diff", "--name-status", "HEAD~1", "HEAD"]),
            if round == 0 {
                "A\ttickets/t-2.md"
            } else {
                "M\ttickets/t-2.md"
            },
            "round {round}: the person's commit deletes no entry"
        );
    }

    drop(served);

    // Every entry is whole: each commit by the intake adds exactly one complete file.
    let log = repo.git(&["log", "--format=%H", "--grep=^Log rotate-logs"]);
    let commits: Vec<&str> = log.lines().collect();
    assert!(commits.len() > ROUNDS, "posts landed: {}", commits.len());
    for commit in &commits {
        let changed = repo.git(&["diff-tree", "--no-commit-id", "-r", "--name-status", commit]);
        let mut lines = changed.lines();
        let line = lines.next().unwrap_or_default();
        assert!(
            lines.next().is_none(),
            "{commit}: one file per entry: {changed}"
        );
        let path = line
            .strip_prefix("A\t")
            .unwrap_or_else(|| panic!("{commit}: {changed}"));
        let text = repo.git(&["show", &format!("{commit}:{path}")]);
        assert!(
            text.starts_with("---\n") && text.contains("by: backup-bot") && text.contains("round"),
            "{commit}: a whole entry: {text}"
        );
    }
    repo.git(&["fsck", "--no-dangling", "--no-progress"]);
    let checked = repo.glassroom(&["check", repo.path_str()]);
    assert_eq!(checked.code, Some(0), "{}", checked.stderr);
    eprintln!(
        "{ROUNDS} kills: a lock left by {locks_left}, the index behind HEAD after {index_behind}, repairs logged by {repairs_logged}; {} entries",
        commits.len()
    );
    assert!(
        locks_left + index_behind > 0,
        "no kill landed inside a commit in {ROUNDS} rounds: the test is too weak"
    );
}

#[test]
fn a_lock_held_by_a_persons_git_is_named_and_never_removed() {
    let repo = logbook_repo();
    // As a person's `git add` that is running (or crashed) holds it.
    let lock = repo.path().join(".git/index.lock");
    std::fs::write(&lock, b"").expect("a lock");
    let served = serve_logbook(&repo);
    let http = client();
    let (status, reply) = post(
        &http,
        &served,
        Some(TOKEN),
        &json!({"procedure": "rotate-logs", "note": "blocked"}),
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    let error = reply["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("index.lock") && error.contains("another git command"),
        "the real cause: {error}"
    );
    assert!(lock.exists(), "a person's lock is left alone");
    drop(served);
    let served = serve_logbook(&repo);
    assert!(lock.exists(), "a restart leaves a person's lock alone too");
    assert!(!served.stderr().contains("removed"), "{}", served.stderr());

    std::fs::remove_file(&lock).expect("the person's git ends");
    let (status, reply) = post(
        &http,
        &served,
        Some(TOKEN),
        &json!({"procedure": "rotate-logs", "note": "free again"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}
