//! The golden output: the sha256 of every file the example site and a generated
//! repository (`genrepo --scale 500`) build into — pages, API, feeds, calendar, flag
//! bundle — recorded in `tests/golden/*.digests`. A change that alters output must
//! update these files in the same commit (and say why), so every output change shows
//! in review. To record new digests after a deliberate change:
//! `GLASSROOM_BLESS=1 cargo test --test integration golden`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use glassroom::flags::sha256_hex;

use crate::support::{copy_tree, root, run, snapshot};

#[allow(dead_code, clippy::all, clippy::pedantic)]
#[path = "../examples/genrepo.rs"]
mod genrepo;

const NOW: &str = "2026-11-22";

/// `<sha256>  <path>` per output file, sorted by path (the `sha256sum` format).
fn digests(site: &Path) -> String {
    let files: BTreeMap<String, Vec<u8>> = snapshot(site);
    let mut text = String::new();
    for (path, bytes) in files {
        let _ = writeln!(text, "{}  {path}", sha256_hex(&bytes));
    }
    text
}

fn build(repo: &Path, out: &Path) {
    let built = run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
}

/// Compares with the recorded digests, naming every file that changed.
fn check(name: &str, actual: &str) {
    let file = root().join("tests/golden").join(format!("{name}.digests"));
    if std::env::var_os("GLASSROOM_BLESS").is_some() {
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&file, actual).expect("write digests");
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_default();
    if expected == actual {
        return;
    }
    let parse = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(digest, path)| (path.to_owned(), digest.to_owned()))
            .collect()
    };
    let (old, new) = (parse(&expected), parse(actual));
    let mut report = String::new();
    for (path, digest) in &new {
        match old.get(path) {
            None => writeln!(report, "  new      {path}"),
            Some(was) if was != digest => writeln!(report, "  changed  {path}"),
            Some(_) => Ok(()),
        }
        .ok();
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        writeln!(report, "  gone     {path}").ok();
    }
    panic!(
        "the output of {name} differs from {}:\n{report}if the change is deliberate, run `GLASSROOM_BLESS=1 cargo test --test integration golden` and commit the digests with a message saying why",
        file.display()
    );
}

#[test]
fn the_example_sites_output_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("content");
    copy_tree(&root().join("content-example"), &repo);
    let _ = std::fs::remove_dir_all(repo.join("public"));
    let out = dir.path().join("site");
    build(&repo, &out);
    check("example", &digests(&out));
}

#[test]
fn a_generated_repositorys_output_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("content");
    genrepo::generate(&repo, 500, false).expect("genrepo");
    let out = dir.path().join("site");
    build(&repo, &out);
    check("genrepo-500", &digests(&out));
}
