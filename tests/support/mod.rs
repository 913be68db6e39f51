//! Running the real `glassroom` binary in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary under test. The caches of directories that are not git
/// repositories go to the user's cache directory: here, one under the target directory.
pub fn glassroom() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_glassroom"));
    command.env("XDG_CACHE_HOME", user_cache_home());
    command
}

/// Where the binary under test keeps caches that are not in a git directory.
pub fn user_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("user-cache")
}

/// The outcome of one run, with stdout and stderr as text.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `glassroom ARGS...` and captures everything.
pub fn run(args: &[&str]) -> Run {
    glassroom()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the glassroom binary runs")
        .into()
}

/// Builds `repo` into `out` at `now` with the real binary; the build must succeed.
pub fn build_at(repo: &Path, out: &Path, now: &str) {
    let result = run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        now,
    ]);
    assert_eq!(result.code, Some(0), "stderr:\n{}", result.stderr);
}

/// A text file's contents; a test fails naming the file it could not read.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("readable test fixture");
        let relative = entry.path().strip_prefix(from).expect("inside the fixture");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A git repository in a temporary directory, with the example signing keys copied in
/// (private keys must be 0600 for ssh-keygen to use them).
pub struct GitRepo {
    pub dir: tempfile::TempDir,
    keys: tempfile::TempDir,
    /// The committer date of the next commit (seconds); advanced by a minute per commit.
    date: std::cell::Cell<i64>,
}

impl GitRepo {
    /// A new repository holding a copy of `template` (not yet committed).
    pub fn new(template: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(template, dir.path());
        let keys = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(root().join("tests/fixtures/keys")).expect("keys") {
            let path = entry.expect("entry").path();
            let target = keys.path().join(path.file_name().expect("name"));
            std::fs::copy(&path, &target).expect("copy key");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let repo = GitRepo {
            dir,
            keys,
            date: std::cell::Cell::new(1_761_955_200), // 2025-11-01
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_str(&self) -> &str {
        self.dir.path().to_str().expect("utf-8 path")
    }

    /// The private key file of a fixture key (`alice`, `bob-old`, `carol`, ...).
    pub fn key(&self, name: &str) -> PathBuf {
        self.keys.path().join(name)
    }

    /// Sets the date of the next commit (seconds since the epoch).
    pub fn set_date(&self, seconds: i64) {
        self.date.set(seconds);
    }

    fn command(&self, args: &[&str]) -> Command {
        let date = format!("@{} +0000", self.date.get());
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "Tester")
            .env("GIT_AUTHOR_EMAIL", "tester@example.org")
            .env("GIT_COMMITTER_NAME", "Tester")
            .env("GIT_COMMITTER_EMAIL", "tester@example.org")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.keys.path());
        command
    }

    /// Runs git and returns its stdout; panics if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        let output = self.command(args).output().expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Runs git with `input` on its stdin and returns its stdout; panics if it fails.
    pub fn git_with_input(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let output = child.wait_with_output().expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    pub fn write(&self, path: &str, text: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    /// Commits everything, signed with a fixture key or unsigned (`None`); returns the id.
    pub fn commit(&self, message: &str, key: Option<&str>) -> String {
        self.git(&["add", "-A"]);
        let signing_key;
        let mut args = vec!["-c", "gpg.format=ssh"];
        match key {
            Some(name) => {
                signing_key = format!("user.signingkey={}", self.key(name).display());
                args.extend([
                    "-c",
                    &signing_key,
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-S",
                    "-m",
                    message,
                ]);
            }
            None => args.extend([
                "commit",
                "-q",
                "--allow-empty",
                "--no-gpg-sign",
                "-m",
                message,
            ]),
        }
        self.git(&args);
        self.date.set(self.date.get() + 60);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs the glassroom binary with HOME pointing at the key directory.
    pub fn glassroom(&self, args: &[&str]) -> Run {
        glassroom()
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", self.keys.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("glassroom runs")
            .into()
    }
}

/// Checks every `href`/`src` of every HTML page under `site` as a browser follows it
/// (percent-decoded): an internal link must reach a file, and its `#anchor` an element
/// with that `id` on the page; any other link must be http, https or mailto (a
/// relative link holding `://` is a URL gone wrong). Returns (links checked, broken ones).
pub fn broken_links(site: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut broken = Vec::new();
    let mut ids: std::collections::HashMap<PathBuf, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    for entry in walkdir::WalkDir::new(site) {
        let entry = entry.expect("walk");
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = std::fs::read_to_string(path).expect("utf-8 page");
        let page_dir = path.parent().expect("inside the site");
        for attr in [" href=\"", " src=\""] {
            for piece in html.split(attr).skip(1) {
                let target = piece.split('"').next().unwrap_or_default();
                if target.is_empty() {
                    continue;
                }
                checked += 1;
                let mut fail =
                    |why: &str| broken.push(format!("{}: {target} ({why})", path.display()));
                if let Some(scheme) = scheme(target) {
                    if !["http", "https", "mailto", "tel"].contains(&scheme.as_str()) {
                        fail("scheme");
                    }
                    continue;
                }
                if target.contains("://") {
                    fail("a URL made relative");
                    continue;
                }
                // As a browser does: the path ends at `#` or `?`, then is percent-decoded.
                let (before_anchor, anchor) = target.split_once('#').unwrap_or((target, ""));
                let encoded = before_anchor.split('?').next().unwrap_or_default();
                let file = if encoded.is_empty() {
                    path.to_owned()
                } else {
                    let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
                    normalize(&page_dir.join(&*decoded))
                };
                if !file.is_file() {
                    fail("no such file");
                    continue;
                }
                let is_html = file.extension().is_some_and(|e| e == "html");
                // `#top` needs no element: browsers scroll to the top (HTML's rule).
                if !anchor.is_empty() && anchor != "top" && is_html {
                    let anchor = percent_encoding::percent_decode_str(anchor).decode_utf8_lossy();
                    let known = ids.entry(file.clone()).or_insert_with(|| ids_in(&file));
                    if !known.contains(&*anchor) {
                        fail("no such anchor");
                    }
                }
            }
        }
    }
    (checked, broken)
}

/// The `id`s of the elements of an HTML file.
fn ids_in(file: &Path) -> std::collections::HashSet<String> {
    let html = std::fs::read_to_string(file).unwrap_or_default();
    html.split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// A link's scheme (`https` of `https://…`, `mailto` of `mailto:…`), lowercased; none
/// for a relative link.
fn scheme(target: &str) -> Option<String> {
    let (scheme, _) = target.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then(|| scheme.to_ascii_lowercase())
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every file under `dir`, relative path → bytes.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

/// A site held in memory as a server holds it: path → bytes.
pub type Served = std::collections::BTreeMap<String, Vec<u8>>;

/// Applies what an in-memory rebuild made to `site`: the changed files (those made of
/// parts joined) in, the gone ones out (each must have been there).
pub fn apply_rebuild(site: &mut Served, built: glassroom::pipeline::Built, what: &str) {
    for path in &built.removed {
        assert!(
            site.remove(path).is_some(),
            "{what}: removed {path}, which the site did not have"
        );
    }
    site.extend(built.files);
    site.extend(
        built
            .parts
            .into_iter()
            .map(|(path, parts)| (path, parts.concat())),
    );
}

/// Asserts that `site` has exactly the files of a clean build, byte for byte.
pub fn assert_same_site(site: &Served, fresh: &Served, what: &str) {
    assert_eq!(
        site.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "{what}: file lists differ"
    );
    for (path, bytes) in fresh {
        assert!(
            site.get(path) == Some(bytes),
            "{what}: {path} differs from a clean build"
        );
    }
}
