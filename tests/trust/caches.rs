//! Class 1: nothing a commit can write is trusted as a cache or as previous output.
//!
//! Each attack is a real repository, real builds and a real `git pull` of an unsigned
//! commit pushed from another clone, which writes even `.gitignore`d paths when the commit
//! force-added them. After each, the site must be the one a clean build makes.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::repository;
use crate::support::{GitRepo, Run, snapshot};

const NOW: &str = "2026-11-22";
const PAGE: &str = "hosts/web1.html";
/// The length of the seal in front of a sealed file (`src/local.rs`).
const SEAL: usize = "glassroom sealed v1\n".len() + 32;

/// A signed repository that ignores its build output, as a real one does.
fn ignoring_output() -> GitRepo {
    let repo = repository();
    repo.write(".gitignore", "/public/\n/.glassroom/cache/\n");
    repo.commit("Ignore the build output", Some("alice"));
    repo
}

fn build(repo: &GitRepo, extra: &[&str]) -> Run {
    let mut args = vec!["build", repo.path_str(), "--now", NOW];
    args.extend(extra);
    repo.glassroom(&args)
}

fn build_ok(repo: &GitRepo, extra: &[&str]) -> Run {
    let built = build(repo, extra);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    built
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// What a clean build of the repository makes: into a new directory outside it, with a
/// cache of its own that does not exist yet.
fn clean_site(repo: &GitRepo) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, cache) = (dir.path().join("site"), dir.path().join("cache.json"));
    build_ok(repo, &["--out", text(&out), "--cache", text(&cache)]);
    snapshot(&out)
}

/// Asserts that the site in `out` is exactly the clean build's, and shows no forgery.
fn assert_clean(repo: &GitRepo, out: &Path, what: &str) {
    let site = snapshot(out);
    for (path, bytes) in &site {
        assert!(
            !String::from_utf8_lossy(bytes).contains("PWNED"),
            "{what}: {path} shows a forgery"
        );
    }
    let clean = clean_site(repo);
    assert_eq!(
        site.keys().collect::<Vec<_>>(),
        clean.keys().collect::<Vec<_>>(),
        "{what}: file lists differ"
    );
    for (path, bytes) in &clean {
        assert!(
            site.get(path) == Some(bytes),
            "{what}: {path} differs from a clean build"
        );
    }
}

/// Runs git in `dir` as someone with push access and no key.
fn attacker_git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Mallory")
        .env("GIT_AUTHOR_EMAIL", "mallory@example.org")
        .env("GIT_COMMITTER_NAME", "Mallory")
        .env("GIT_COMMITTER_EMAIL", "mallory@example.org")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An unsigned commit adding `files` (force-added: ignored paths too), made in another
/// clone and brought into `repo` by its user's `git pull`.
fn pull_unsigned(repo: &GitRepo, files: &[(&str, Vec<u8>)]) {
    let attacker = tempfile::tempdir().expect("temp dir");
    let clone = attacker.path().join("clone");
    attacker_git(
        attacker.path(),
        &["clone", "-q", repo.path_str(), text(&clone)],
    );
    for (path, bytes) in files {
        let full = clone.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, bytes).expect("write");
    }
    let mut add = vec!["add", "-f", "--"];
    add.extend(files.iter().map(|(path, _)| *path));
    attacker_git(&clone, &add);
    attacker_git(
        &clone,
        &["commit", "-q", "--no-gpg-sign", "-m", "Tidy up the site"],
    );
    repo.git(&["pull", "-q", "--ff-only", text(&clone), "main"]);
}

/// The Markdown cache and parsed-document store an honest build of these exact files
/// makes, without their seal, as an attacker has them (they can build the same files):
/// built from a copy of the working tree that is not a repository, with a cache
/// directory of its own.
fn honest_caches(repo: &GitRepo) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy");
    crate::support::copy_tree(repo.path(), &copy);
    std::fs::remove_dir_all(copy.join(".git")).expect("not a repository");
    let _ = std::fs::remove_dir_all(copy.join("public"));
    let home = dir.path().join("cache-home");
    let built: Run = crate::support::glassroom()
        .args(["build", text(&copy), "--now", NOW, "--out"])
        .arg(dir.path().join("site"))
        .env("XDG_CACHE_HOME", &home)
        .env("NO_COLOR", "1")
        .output()
        .expect("glassroom runs")
        .into();
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    let read = |extension: &str| {
        let file = only_file(&home.join("glassroom/build"), extension);
        std::fs::read(file).expect("read")[SEAL..].to_vec()
    };
    (read("markdown"), read("parsed"))
}

/// The one file with this extension in `dir`.
fn only_file(dir: &Path, extension: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// `bytes` with every `from` replaced by `to`, which has the same length (so postcard's
/// lengths still hold); panics if there is none.
fn replace_same_length(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "{:?} not found", String::from_utf8_lossy(from));
    out
}

/// Forged caches as the previous layout kept them: a rendered body with a script,
/// web1's operating system changed, and a build cache (the old JSON one) vouching for
/// every file of the site with the hash of its honest bytes (an attacker can build the
/// same site: it is reproducible), so that the old build linked forged files in their
/// place. Each of them put forged bytes into the site before this class was closed.
fn forged_caches(repo: &GitRepo, clean: &BTreeMap<String, Vec<u8>>) -> [Vec<u8>; 3] {
    let (markdown, parsed) = honest_caches(repo);
    let script = b"<script>PWNED</script>";
    let at = (0..markdown.len())
        .find(|&i| {
            markdown[i] == b'>'
                && markdown
                    .get(i + 1..i + 1 + script.len())
                    .is_some_and(|run| {
                        run.iter()
                            .all(|b| b.is_ascii_graphic() && *b != b'<' || *b == b' ')
                    })
        })
        .expect("a run of text in a rendered body");
    let mut forged_markdown = markdown;
    forged_markdown[at + 1..at + 1 + script.len()].copy_from_slice(script);
    let parsed = replace_same_length(&parsed, b"Debian 12", b"PWNED 666");
    let files: serde_json::Map<String, serde_json::Value> = clean
        .iter()
        .map(|(path, bytes)| {
            let hash = blake3::hash(bytes).to_hex().to_string();
            (path.clone(), serde_json::json!({ "hash": hash }))
        })
        .collect();
    let output =
        serde_json::to_vec(&serde_json::json!({ "version": 1, "files": files })).expect("json");
    [output, forged_markdown, parsed]
}

/// A forged page of the same size as the approved one.
fn forged_page(clean: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    replace_same_length(&clean[PAGE], b"Debian 12", b"PWNED 666")
}

#[test]
fn attack_a_pulled_commit_adds_a_forged_cache_marker_and_page_to_the_output() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    build_ok(&repo, &[]);
    let inode = || {
        std::fs::metadata(out.join("hosts/index.html"))
            .expect("built")
            .ino()
    };
    let built_inode = inode();
    let clean = clean_site(&repo);
    let [output, markdown, parsed] = forged_caches(&repo, &clean);
    pull_unsigned(
        &repo,
        &[
            (".glassroom/cache/public.json", output),
            (".glassroom/cache/public.markdown", markdown),
            (".glassroom/cache/public.parsed", parsed),
            (
                "public/.glassroom-site",
                b"written by glassroom build\n".to_vec(),
            ),
            ("public/hosts/web1.html", forged_page(&clean)),
        ],
    );
    assert!(
        std::fs::read_to_string(out.join(PAGE))
            .expect("pulled")
            .contains("PWNED"),
        "the pull wrote the forged page over the built one"
    );
    let built = build_ok(&repo, &[]);
    assert_clean(&repo, &out, "after the pull");
    assert!(
        built.stderr.contains("not approved") && built.stderr.contains("public/"),
        "the unapproved files in the output directory are reported: {}",
        built.stderr
    );
    assert_ne!(inode(), built_inode, "nothing in that directory is reused");
    // And the next build too (the forged files are still in the commit).
    build_ok(&repo, &[]);
    assert_clean(&repo, &out, "the build after");
}

#[test]
fn attack_forged_caches_and_output_only_in_the_working_tree_are_never_read() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    let clean = clean_site(&repo);
    let [output, markdown, parsed] = forged_caches(&repo, &clean);
    // Before any build (a fresh clone with ignored files in it), and after one.
    for round in ["before any build", "after a build"] {
        let cache = repo.path().join(".glassroom/cache");
        std::fs::create_dir_all(&cache).expect("mkdir");
        std::fs::write(cache.join("public.json"), &output).expect("write");
        std::fs::write(cache.join("public.markdown"), &markdown).expect("write");
        std::fs::write(cache.join("public.parsed"), &parsed).expect("write");
        std::fs::create_dir_all(out.join("hosts")).expect("mkdir");
        std::fs::write(out.join(".glassroom-site"), "x").expect("write");
        // Replaced as git would: a new file under the old name.
        let _ = std::fs::remove_file(out.join(PAGE));
        std::fs::write(out.join(PAGE), forged_page(&clean)).expect("write");
        let built = build_ok(&repo, &[]);
        assert!(!built.stderr.contains("warning"), "{}", built.stderr);
        assert_clean(&repo, &out, round);
        assert_eq!(
            std::fs::read(cache.join("public.markdown")).expect("there"),
            markdown,
            "{round}: neither read nor written"
        );
    }
}

#[test]
fn attack_forged_caches_at_the_path_given_to_cache_are_not_unsealed() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    let cache = repo.path().join(".glassroom/cache/public.json");
    build_ok(&repo, &["--cache", text(&cache)]);
    assert!(
        std::fs::read(&cache)
            .expect("written")
            .starts_with(b"glassroom sealed v1\n"),
        "sealed"
    );
    let clean = clean_site(&repo);
    let [output, markdown, parsed] = forged_caches(&repo, &clean);
    pull_unsigned(
        &repo,
        &[
            (".glassroom/cache/public.json", output),
            (".glassroom/cache/public.markdown", markdown.clone()),
            (".glassroom/cache/public.parsed", parsed.clone()),
        ],
    );
    build_ok(&repo, &["--cache", text(&cache)]);
    assert_clean(&repo, &out, "forged files where --cache points");

    // Sealed, but with another secret (copied from another repository or machine).
    let other = ignoring_output();
    let other_cache = other.path().join("cache.json");
    build_ok(&other, &["--cache", text(&other_cache)]);
    let copied = |extension: &str, payload: &[u8]| {
        let sealed = std::fs::read(other_cache.with_extension(extension)).expect("sealed");
        let mut forged = sealed[..SEAL].to_vec();
        forged.extend_from_slice(payload);
        std::fs::write(cache.with_extension(extension), forged).expect("write");
    };
    copied("markdown", &markdown);
    copied("parsed", &parsed);
    build_ok(&repo, &["--cache", text(&cache)]);
    assert_clean(&repo, &out, "caches sealed elsewhere");
}

#[test]
fn attack_a_file_of_the_previous_output_replaced_on_disk_is_not_reused() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    build_ok(&repo, &[]);
    let clean = clean_site(&repo);
    let inode = |path: &str| std::fs::metadata(out.join(path)).expect("built").ino();
    let untouched = "hosts/index.html";
    let kept = inode(untouched);
    let forged = forged_page(&clean);

    // A new file of the same size in its place.
    std::fs::remove_file(out.join(PAGE)).expect("remove");
    std::fs::write(out.join(PAGE), &forged).expect("write");
    build_ok(&repo, &[]);
    assert_clean(&repo, &out, "a new file of the same size");
    assert_eq!(inode(untouched), kept, "unchanged files are still reused");

    // The same file written in place, its size and modification time put back.
    let before = std::fs::metadata(out.join(PAGE)).expect("built");
    std::fs::write(out.join(PAGE), &forged).expect("write");
    let touched = Command::new("touch")
        .arg("-d")
        .arg(format!("@{}.{:09}", before.mtime(), before.mtime_nsec()))
        .arg(out.join(PAGE))
        .status()
        .expect("touch runs");
    assert!(touched.success());
    let after = std::fs::metadata(out.join(PAGE)).expect("built");
    assert_eq!(
        (after.ino(), after.len(), after.mtime(), after.mtime_nsec()),
        (
            before.ino(),
            before.len(),
            before.mtime(),
            before.mtime_nsec()
        )
    );
    build_ok(&repo, &[]);
    assert_clean(&repo, &out, "the same file rewritten in place");
    assert_eq!(inode(untouched), kept, "unchanged files are still reused");

    // A symbolic link to a forged file.
    let elsewhere = repo.path().join("elsewhere.html");
    std::fs::write(&elsewhere, &forged).expect("write");
    std::fs::remove_file(out.join(PAGE)).expect("remove");
    std::os::unix::fs::symlink(&elsewhere, out.join(PAGE)).expect("symlink");
    build_ok(&repo, &[]);
    assert_clean(&repo, &out, "a symbolic link in the output");

    // Another directory in its place, with copies of every file.
    let moved = repo.path().join("moved");
    std::fs::rename(&out, &moved).expect("move");
    crate::support::copy_tree(&moved, &out);
    std::fs::write(out.join(PAGE), &forged).expect("write");
    build_ok(&repo, &[]);
    assert_clean(&repo, &out, "another directory in its place");
    assert_ne!(inode(untouched), kept, "nothing of a copy is reused");
}

#[test]
fn the_output_cannot_be_a_directory_where_the_approved_tree_has_files() {
    let repo = ignoring_output();
    let hosts = repo.path().join("hosts");
    let before = snapshot(&hosts);
    for out in [hosts.clone(), repo.path().to_path_buf()] {
        let built = build(&repo, &["--out", text(&out)]);
        assert_eq!(built.code, Some(2), "{}", built.stderr);
        assert!(
            built.stderr.contains("the approved tree has files there")
                && built.stderr.contains("--out"),
            "{}",
            built.stderr
        );
    }
    let built = build(&repo, &["--out", text(&hosts)]);
    assert!(
        built.stderr.contains("(hosts/db1.yaml)"),
        "{}",
        built.stderr
    );
    // A marker pulled in by an unsigned commit does not make it a site.
    pull_unsigned(
        &repo,
        &[(
            "hosts/.glassroom-site",
            b"written by glassroom build\n".to_vec(),
        )],
    );
    let built = build(&repo, &["--out", text(&hosts)]);
    assert_eq!(built.code, Some(2), "{}", built.stderr);
    let mut after = snapshot(&hosts);
    after.remove(".glassroom-site");
    assert_eq!(after, before, "the content is untouched");
}

#[test]
fn unapproved_files_where_the_output_goes_warn_and_the_site_is_built_correctly() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    let clean = clean_site(&repo);
    // A fresh clone: the output directory holds only the pulled files, no marker.
    pull_unsigned(&repo, &[("public/hosts/web1.html", forged_page(&clean))]);
    for round in ["first build", "second build"] {
        let built = build_ok(&repo, &[]);
        assert!(
            built.stderr.contains("warning")
                && built.stderr.contains("(public/hosts/web1.html)")
                && built.stderr.contains("not approved"),
            "{round}: {}",
            built.stderr
        );
        assert_clean(&repo, &out, round);
    }
    // A build of the working directory (a preview) likewise.
    let built = build_ok(&repo, &["--worktree"]);
    assert!(
        built.stderr.contains("not approved") && built.stderr.contains("public/hosts/web1.html"),
        "{}",
        built.stderr
    );
}

#[test]
fn deleting_any_cache_gives_the_same_site() {
    let repo = ignoring_output();
    let out = repo.path().join("public");
    let state = repo.path().join(".git/glassroom");
    build_ok(&repo, &[]);
    repo.write(
        super::HOST,
        "name: web1.example.org\naddresses: [192.0.2.10]\nos: Debian 13\n",
    );
    repo.commit("Upgrade web1", Some("bob"));
    build_ok(&repo, &[]);
    let site = snapshot(&out);
    let caches = only_file(&state.join("build"), "json");
    for deleted in ["json", "markdown", "parsed", "every cache", "the output"] {
        match deleted {
            "every cache" => std::fs::remove_dir_all(state.join("build")).expect("remove"),
            "the output" => std::fs::remove_dir_all(&out).expect("remove"),
            extension => std::fs::remove_file(caches.with_extension(extension)).expect("remove"),
        }
        build_ok(&repo, &[]);
        assert_eq!(snapshot(&out), site, "without {deleted}");
        build_ok(&repo, &[]);
        assert_eq!(snapshot(&out), site, "rebuilt after {deleted}");
    }
}

#[test]
fn a_directory_that_is_not_a_repository_keeps_its_caches_outside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let content = dir.path().join("content");
    crate::support::copy_tree(&crate::support::root().join("tests/bad/base"), &content);
    let home = dir.path().join("cache-home");
    let build = || {
        let built: Run = crate::support::glassroom()
            .args(["build", text(&content), "--now", NOW])
            .env("XDG_CACHE_HOME", &home)
            .env("NO_COLOR", "1")
            .output()
            .expect("glassroom runs")
            .into();
        assert_eq!(built.code, Some(0), "{}", built.stderr);
    };
    build();
    let site = snapshot(&content.join("public"));
    build();
    assert_eq!(snapshot(&content.join("public")), site);
    assert!(!content.join(".glassroom/cache").exists());
    let caches = home.join("glassroom/build");
    for extension in ["json", "markdown", "parsed"] {
        only_file(&caches, extension);
    }
    // With no user cache directory, no caches at all, and the same site.
    for _ in 0..2 {
        let built: Run = crate::support::glassroom()
            .args(["build", text(&content), "--now", NOW])
            .env_remove("XDG_CACHE_HOME")
            .env_remove("HOME")
            .env("NO_COLOR", "1")
            .output()
            .expect("glassroom runs")
            .into();
        assert_eq!(built.code, Some(0), "{}", built.stderr);
        assert_eq!(snapshot(&content.join("public")), site);
    }
    assert!(!content.join(".glassroom/cache").exists());
}
