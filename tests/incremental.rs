//! Incremental builds: after any sequence of edits, a rebuild with the build cache gives
//! exactly the bytes of a clean build, and files whose bytes did not change are not
//! written again.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::support::{Served, apply_rebuild, assert_same_site, copy_tree, root, run, snapshot};

/// "Now" moves on every third step, across alert thresholds (days before expiries, due
/// dates), so keys must follow everything a page shows that depends on it; after the
/// month's end it starts again at its beginning (time going back must work too).
fn now_for(step: u64) -> String {
    format!(
        "2026-11-{:02}T{:02}:00:00Z",
        6 + (step / 3 * 4) % 24,
        step % 3 * 7
    )
}

fn build(repo: &Path, out: &Path, cache: &Path, now: &str) {
    let result = run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--cache",
        cache.to_str().expect("utf-8"),
        "--now",
        now,
    ]);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
}

/// A deterministic sequence of edits that keep the repository valid.
fn edit(repo: &Path, step: u64) -> String {
    let pick = |dir: &str, n: u64| {
        let mut names: Vec<_> = std::fs::read_dir(repo.join(dir))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        format!("{dir}/{}", names[(n as usize) % names.len()])
    };
    let replace_line = |path: &str, prefix: &str, line: &str| {
        let full = repo.join(path);
        let text = std::fs::read_to_string(&full).expect("read");
        let changed: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(prefix) {
                    line.to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(&full, changed.join("\n") + "\n").expect("write");
    };
    let mut seed = step.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491;
    seed ^= seed >> 29;
    let added = |step: u64| format!("logbook/2026/11/2026-11-21-added-{step}.md");
    match step % 15 {
        10 => {
            // The entry added eight steps ago goes again: its page and its month change.
            let path = added(step - 8);
            std::fs::remove_file(repo.join(&path)).expect("remove");
            format!("remove {path}")
        }
        11 => {
            // A reply joins a thread: every entry of the thread shows it.
            let path = format!("logbook/2026/11/2026-11-21-reply-{step}.md");
            let parent_id = "2026-11-01-verify-backup-tape";
            std::fs::write(
                repo.join(&path),
                format!("---\nat: 2026-11-21T11:{:02}:00Z\nby: bob\ndisposition: problem\nreply_to: {parent_id}\n---\nA reply in step {step}.\n", step % 60),
            )
            .expect("write");
            format!("reply {path}")
        }
        12 => {
            // A template of the repository's own: no page has known inputs any more.
            std::fs::create_dir_all(repo.join("templates")).expect("dir");
            std::fs::write(
                repo.join("templates/news_item.html"),
                format!("{{% extends \"base.html\" %}}{{% block content %}}<p>Override {step}: {{{{ news[page.id].title }}}}</p>{{% endblock %}}"),
            )
            .expect("write");
            "template override".into()
        }
        13 => {
            let _ = std::fs::remove_dir_all(repo.join("templates"));
            "template override removed".into()
        }
        14 => {
            // An account set starts deciding another feature: that feature's page lists it.
            let set = "flags/account_sets/enterprise.yaml";
            let full = repo.join(set);
            let text = std::fs::read_to_string(&full).expect("read");
            let toggled = if text.contains("  express-shipping: true\n") {
                text.replace("  express-shipping: true\n", "")
            } else {
                format!("{text}  express-shipping: true\n")
            };
            std::fs::write(&full, toggled).expect("write");
            format!("features of {set}")
        }
        0 => {
            let t = pick("tickets", seed);
            replace_line(&t, "title:", &format!("title: \"Edited ticket {step}\""));
            format!("retitle {t}")
        }
        1 => {
            let h = pick("hosts", seed);
            replace_line(&h, "os:", &format!("os: Debian {}", 12 + step));
            format!("os of {h}")
        }
        2 => {
            let path = added(step);
            std::fs::write(repo.join(&path), format!("---\nat: 2026-11-21T10:{:02}:00Z\nby: alice\nprocedure: rotate-logs\ndisposition: ok\n---\nAdded in step {step}.\n", step % 60)).expect("write");
            format!("add {path}")
        }
        3 => {
            replace_line(
                "glassroom.yaml",
                "title:",
                &format!("title: Example Corp operations {step}"),
            );
            "site title".into()
        }
        4 => {
            let p = pick("procedures", seed);
            let full = repo.join(&p);
            let text = std::fs::read_to_string(&full).expect("read");
            std::fs::write(&full, format!("{text}\nExtra note {step}.\n")).expect("write");
            format!("body of {p}")
        }
        5 => {
            let c = pick("certificates", seed);
            replace_line(&c, "issuer:", &format!("issuer: Issuer {step}"));
            format!("issuer of {c}")
        }
        6 if step > 10 => {
            // The ticket list shows the version a closed ticket was fixed in.
            let r = "releases/billing-api-4.1.yaml";
            replace_line(r, "version:", &format!("version: \"4.1.{step}\""));
            format!("version of {r}")
        }
        6 => {
            let r = pick("releases", seed);
            replace_line(&r, "notes:", &format!("notes: Release note {step}"));
            format!("notes of {r}")
        }
        7 => {
            let f = pick("flags/features", seed);
            replace_line(&f, "description:", &format!("description: Flag {step}"));
            format!("flag {f}")
        }
        9 => {
            // Open ticket counts on the host, module and release lists change.
            let t = "tickets/api-cert-dns-challenge.md";
            let full = repo.join(t);
            let text = std::fs::read_to_string(&full).expect("read");
            let toggled = if text.contains("\nstatus: open\n") {
                text.replace(
                    "\nstatus: open\n",
                    "\nstatus: closed\nclosed: 2026-11-20T09:00:00Z\n",
                )
            } else {
                text.replace(
                    "\nstatus: closed\nclosed: 2026-11-20T09:00:00Z\n",
                    "\nstatus: open\n",
                )
            };
            std::fs::write(&full, toggled).expect("write");
            format!("status of {t}")
        }
        _ => {
            let n = pick("news", seed);
            replace_line(&n, "title:", &format!("title: \"News {step}\""));
            format!("news {n}")
        }
    }
}

#[test]
fn incremental_builds_equal_clean_builds_over_random_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let _ = std::fs::remove_dir_all(repo.join("public"));
    let out = dir.path().join("site");
    let cache = dir.path().join("cache.json");
    build(&repo, &out, &cache, &now_for(0));
    // Unchanged files' documents are read from here, not parsed, by every rebuild below.
    assert!(cache.with_extension("parsed").is_file());
    for step in 0..30 {
        let what = edit(&repo, step);
        let before = snapshot(&out);
        let inode = |path: &str| std::fs::metadata(out.join(path)).map(|m| m.ino()).ok();
        // A page no edit touches and nothing about "now" changes.
        let untouched = "flags/account_sets/enterprise.html";
        let inode_before = inode(untouched);
        let now = now_for(step);
        build(&repo, &out, &cache, &now);
        let clean = dir.path().join(format!("clean-{step}"));
        build(
            &repo,
            &clean,
            &dir.path().join(format!("clean-{step}.json")),
            &now,
        );
        let incremental = snapshot(&out);
        let fresh = snapshot(&clean);
        assert_eq!(
            incremental.keys().collect::<Vec<_>>(),
            fresh.keys().collect::<Vec<_>>(),
            "step {step} ({what}): file lists differ"
        );
        for (path, bytes) in &fresh {
            assert!(
                incremental.get(path) == Some(bytes),
                "step {step} ({what}): {path} differs from a clean build"
            );
        }
        assert_ne!(before, incremental, "step {step} ({what}) changed nothing");
        let touches_every_page = what == "site title" || what.starts_with("template override");
        if !touches_every_page && !what.contains("enterprise") && inode_before.is_some() {
            assert_eq!(
                inode(untouched),
                inode_before,
                "step {step} ({what}): an unchanged page was written again"
            );
        }
        std::fs::remove_dir_all(&clean).expect("clean up");
    }
}

/// The preview server's way: rebuilds in memory that make only what changed since the
/// previous build (kept in its memory), applied to the previous site, equal clean builds
/// file for file over the same random edits.
#[test]
fn in_memory_rebuilds_reusing_the_previous_build_equal_clean_builds() {
    in_memory_rebuilds(false);
}

/// The same, with the repository read the way the preview server reads it: through a
/// directory cache told which files changed (so each tree says what changed since the
/// last one).
#[test]
fn in_memory_rebuilds_through_the_directory_cache_equal_clean_builds() {
    in_memory_rebuilds(true);
}

fn in_memory_rebuilds(through_cache: bool) {
    use glassroom::pipeline::{self, Session, Source};
    use glassroom::render::Quiet;

    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let _ = std::fs::remove_dir_all(repo.join("public"));
    let worktree = Source {
        worktree: true,
        ..Source::default()
    };
    let now = |step: u64| Some(now_for(step).parse().expect("a moment"));
    // Opens through the session's memory of the directory, or afresh.
    let open = |session: &Session, changed: Option<Vec<std::path::PathBuf>>| {
        if !through_cache {
            return pipeline::open(&repo, &worktree, 0).expect("open");
        }
        session.note_changes(changed);
        session.open(&repo, &worktree, 0).expect("open")
    };
    let clean = |step: u64| {
        let opened = pipeline::open(&repo, &worktree, 0).expect("open");
        pipeline::build(&opened, now(step), 0, &Quiet).unwrap_or_else(|_| panic!("a clean build"))
    };
    let mut session = Session::keeping();
    let opened = open(&session, None);
    let first = session
        .rebuild(&opened, now(0), 0, true)
        .unwrap_or_else(|_| panic!("the first build"));
    assert!(first.complete);
    let mut site = Served::new();
    apply_rebuild(&mut site, first, "the first build");
    let mut fewest = usize::MAX;
    for step in 0..30 {
        let before = snapshot(&repo);
        let what = edit(&repo, step);
        // What a watcher would have seen change.
        let after = snapshot(&repo);
        let changed: Vec<std::path::PathBuf> = before
            .keys()
            .chain(after.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .map(std::path::PathBuf::from)
            .collect();
        let opened = open(&session, Some(changed));
        let built = session
            .rebuild(&opened, now(step), 0, false)
            .unwrap_or_else(|_| panic!("step {step} ({what}): a build"));
        assert!(!built.complete);
        fewest = fewest.min(built.files.len() + built.parts.len());
        let step_what = format!("step {step} ({what})");
        apply_rebuild(&mut site, built, &step_what);
        assert_same_site(&site, &clean(step).files, &step_what);
    }
    assert!(
        fewest < site.len() / 10,
        "rebuilds made only what changed: at least {fewest} of {} files",
        site.len()
    );
    // Only the edits of the configuration and the templates load everything again.
    let patched = session.patched_loads();
    assert!(
        patched >= 24,
        "{patched} of 30 loads patched the previous content"
    );
}
