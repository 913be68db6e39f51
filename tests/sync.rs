//! `glassroom sync` on real repositories: the watcher end to end with short windows, a
//! process killed in the middle of a push, a failing target retried, and the rule that
//! only approved configuration ever runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{GitRepo, glassroom, root};

/// The example repository with `sync:` replaced by `sync_yaml` and no `notify:`, committed by alice (an
/// admin) as the pinned trust root. Commit dates start at the clock, so the sync robot's
/// commits (dated by the clock) never make a later test commit look backdated.
pub(crate) fn example(sync_yaml: &str) -> GitRepo {
    let repo = GitRepo::new(&root().join("content-example"));
    let _ = std::fs::remove_dir_all(repo.path().join("public"));
    let config = std::fs::read_to_string(repo.path().join("glassroom.yaml")).expect("config");
    // The example's `notify:` (last, pointing at 127.0.0.1) is left out: a test that
    // notifies writes its own.
    let config = match config.find("\n# Who is told what") {
        Some(notify) => config[..notify].to_owned(),
        None => config,
    };
    let start = config.find("\nsync:").expect("a sync section");
    let end = config.find("\nserve:").expect("a serve section");
    repo.write(
        "glassroom.yaml",
        &format!("{}\n{sync_yaml}\n{}", &config[..start], &config[end..]),
    );
    repo.set_date(clock());
    let first = repo.commit("Example", Some("alice"));
    repo.git(&["config", "glassroom.trustRoot", &first]);
    repo
}

pub(crate) fn clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

pub(crate) fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A command target that appends `COMMIT PREVIOUS` to `log` (and lists the site).
fn recording_command(log: &Path) -> String {
    format!(
        "test -f \"$GLASSROOM_SITE_DIR/index.html\" && echo \"$GLASSROOM_COMMIT $GLASSROOM_PREVIOUS_COMMIT $GLASSROOM_TARGET\" >> {}",
        log.display()
    )
}

/// A running `glassroom sync --watch`, killed when dropped.
pub(crate) struct Watcher {
    pub(crate) child: Child,
    pub(crate) output: PathBuf,
}

impl Watcher {
    pub(crate) fn start(repo: &GitRepo, extra: &[&str], output: PathBuf) -> Watcher {
        let file = std::fs::File::create(&output).expect("output file");
        let child = glassroom()
            .args(["sync", "--watch", repo.path_str()])
            .args(extra)
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::from(file.try_clone().expect("clone")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("glassroom sync --watch starts");
        Watcher { child, output }
    }

    pub(crate) fn output(&self) -> String {
        text(&self.output)
    }

    /// SIGKILL.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `done()` (polling), failing with `context()` after `timeout`.
pub(crate) fn wait_until(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > timeout {
            panic!("timed out waiting until {what}\n{}", context());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn status(repo: &GitRepo) -> serde_json::Value {
    let out = repo.glassroom(&["sync", "--status", repo.path_str(), "--format", "json"]);
    assert!(
        out.code == Some(0) || out.code == Some(1),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

pub(crate) fn lines(path: &Path) -> Vec<String> {
    text(path).lines().map(str::to_owned).collect()
}

fn change_host(repo: &GitRepo, owner: &str) {
    let path = repo.path().join("hosts/web1.yaml");
    let yaml = text(&path);
    let changed: Vec<String> = yaml
        .lines()
        .map(|line| {
            if line.starts_with("owner:") {
                format!("owner: {owner}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, changed.join("\n") + "\n").expect("write host");
}

#[test]
fn the_watcher_publishes_each_signed_change_once_and_ignores_unsigned_ones() {
    let out = tempfile::tempdir().expect("temp dir");
    let site = out.path().join("site");
    let log = out.path().join("pushes.log");
    let repo = example(&format!(
        "sync:\n  quiet: 1s\n  max_delay: 5s\n  targets:\n    - name: production\n      dir: {}\n      keep: 2\n    - name: counter\n      command: '{}'\n",
        site.display(),
        recording_command(&log)
    ));
    let key = repo.key("sync-bot");
    let watcher = Watcher::start(
        &repo,
        &[
            "--robot",
            "sync-bot",
            "--signing-key",
            key.to_str().expect("utf-8"),
        ],
        out.path().join("watch.out"),
    );
    let context = || format!("watcher:\n{}\npushes:\n{}", watcher.output(), text(&log));

    // Never published: one sync at start.
    wait_until(
        "the first push",
        Duration::from_secs(30),
        || lines(&log).len() == 1,
        context,
    );
    wait_until(
        "the first attempt is recorded",
        Duration::from_secs(10),
        || watcher.output().contains("recorded in the logbook"),
        context,
    );
    assert!(site.join("index.html").is_file());
    let first = lines(&log)[0].clone();

    // A signed change: exactly one more push, of that commit, naming the previous one.
    change_host(&repo, "bob");
    let signed = repo.commit("web1 belongs to bob", Some("alice"));
    wait_until(
        "the signed change is pushed",
        Duration::from_secs(30),
        || lines(&log).len() >= 2,
        context,
    );
    let second = lines(&log)[1].clone();
    assert!(second.starts_with(&signed), "{second}\n{}", context());
    let first_commit = first.split(' ').next().unwrap_or_default();
    assert!(
        second.contains(&format!(" {first_commit} counter")),
        "{second}"
    );
    assert!(text(&site.join("hosts/web1.html")).contains("bob"));
    // The robot commits its record of the push right after it: committing before that
    // would race it for HEAD.
    let robot_commits = || {
        repo.git(&["log", "--format=%s", "--author=sync-bot"])
            .lines()
            .count()
    };
    wait_until(
        "the second attempt is recorded",
        Duration::from_secs(10),
        || robot_commits() == 2,
        context,
    );

    // An unsigned change: no push (wait well past the quiet window and the record).
    change_host(&repo, "mallory");
    repo.commit("unsigned: web1 belongs to mallory", None);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(lines(&log).len(), 2, "{}", context());
    assert!(!text(&site.join("hosts/web1.html")).contains("mallory"));

    // The robot recorded both attempts, and recording them triggered nothing.
    let records = repo.git(&["log", "--format=%s", "--author=sync-bot"]);
    assert_eq!(records.lines().count(), 2, "{records}");
    let report = status(&repo);
    assert_eq!(report["watcher"]["running"], true, "{report:#}");
    assert!(report["pending"].is_null(), "{report:#}");
    for target in report["targets"].as_array().expect("targets") {
        assert_eq!(target["up_to_date"], true, "{report:#}");
    }

    // --now reaches the running watcher: one forced push to every target.
    let now = repo.glassroom(&["sync", "--now", repo.path_str()]);
    assert_eq!(now.code, Some(0), "{}{}", now.stdout, now.stderr);
    assert!(now.stdout.contains("running watcher"), "{}", now.stdout);
    wait_until(
        "the forced push",
        Duration::from_secs(30),
        || lines(&log).len() == 3,
        context,
    );

    // Only one watcher per repository.
    let second_watcher = repo.glassroom(&["sync", "--watch", repo.path_str()]);
    assert_eq!(second_watcher.code, Some(2));
    assert!(
        second_watcher.stderr.contains("already running"),
        "{}",
        second_watcher.stderr
    );
    // The site shows its own publishing history.
    let history = text(&site.join("procedures/sync.html"));
    assert!(history.contains("Published"), "{}", context());
}

#[test]
fn a_bare_repository_is_watched_and_a_push_into_it_is_published() {
    let out = tempfile::tempdir().expect("temp dir");
    let log = out.path().join("pushes.log");
    let repo = example(&format!(
        "sync:\n  quiet: 1s\n  max_delay: 5s\n  targets:\n    - name: counter\n      command: '{}'\n",
        recording_command(&log)
    ));
    let bare = out.path().join("ops.git");
    let bare_str = bare.to_str().expect("utf-8");
    repo.git(&["clone", "-q", "--bare", repo.path_str(), bare_str]);
    let root_commit = repo.git(&["rev-parse", "HEAD"]);
    let config = std::process::Command::new("git")
        .args([
            "--git-dir",
            bare_str,
            "config",
            "glassroom.trustRoot",
            &root_commit,
        ])
        .status()
        .expect("git config");
    assert!(config.success());
    let file = std::fs::File::create(out.path().join("watch.out")).expect("file");
    let mut child = glassroom()
        .args(["sync", "--watch", bare_str])
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("watcher");
    let context = || format!("{}\n{}", text(&out.path().join("watch.out")), text(&log));
    wait_until(
        "the first push",
        Duration::from_secs(30),
        || lines(&log).len() == 1,
        context,
    );
    change_host(&repo, "bob");
    let signed = repo.commit("web1 belongs to bob", Some("alice"));
    repo.git(&["push", "-q", bare_str, "main"]);
    wait_until(
        "the pushed commit is published",
        Duration::from_secs(30),
        || lines(&log).len() == 2,
        context,
    );
    assert!(lines(&log)[1].starts_with(&signed), "{}", context());
    let _ = child.kill();
    let _ = child.wait();
}

/// Every file of `site` (a directory), relative path → bytes.
fn files(site: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(site)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(site)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            (relative, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

/// The live directory is one complete release: exactly the files `glassroom build` makes
/// for the commit its manifest names, which must be one of `allowed`.
fn assert_complete_release(
    site: &Path,
    references: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<u8>>>,
) -> String {
    let manifest: serde_json::Value =
        serde_json::from_str(&text(&site.join(".glassroom-release.json")))
            .unwrap_or_else(|e| panic!("no complete manifest in the live release: {e}"));
    let commit = manifest["commit"].as_str().expect("commit").to_owned();
    let reference = references
        .get(&commit)
        .unwrap_or_else(|| panic!("the live release is of an unexpected commit {commit}"));
    let mut live = files(site);
    live.remove(".glassroom-release.json");
    assert_eq!(manifest["files"].as_u64(), Some(live.len() as u64));
    let live_paths: Vec<&String> = live.keys().collect();
    let reference_paths: Vec<&String> = reference.keys().collect();
    assert_eq!(live_paths, reference_paths, "the same files as a build");
    assert!(live == *reference, "the same bytes as a build of {commit}");
    commit
}

#[test]
fn a_push_killed_midway_leaves_a_complete_release_and_resumes_after_restart() {
    let out = tempfile::tempdir().expect("temp dir");
    let site = out.path().join("site");
    let releases = out.path().join("site.releases");
    let repo = example(&format!(
        "sync:\n  quiet: 1s\n  max_delay: 5s\n  targets:\n    - name: production\n      dir: {}\n      keep: 3\n",
        site.display()
    ));
    let reference = |commit: &str| {
        let dir = out.path().join(format!("reference-{commit}"));
        let run = repo.glassroom(&[
            "build",
            repo.path_str(),
            "--rev",
            commit,
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let mut files = files(&dir);
        files.remove(".glassroom-site");
        (commit.to_owned(), files)
    };
    let old = repo.git(&["rev-parse", "HEAD"]);
    let first = repo.glassroom(&["sync", "--now", repo.path_str()]);
    assert_eq!(first.code, Some(0), "{}{}", first.stdout, first.stderr);
    change_host(&repo, "bob");
    let new = repo.commit("web1 belongs to bob", Some("alice"));
    let references = std::collections::BTreeMap::from([reference(&old), reference(&new)]);
    assert_eq!(assert_complete_release(&site, &references), old);

    // Kill one-off syncs at moments spread over the write of the new release.
    let staging = || {
        std::fs::read_dir(&releases)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            })
            .unwrap_or(false)
    };
    let mut interrupted = 0;
    for delay_ms in [0, 3, 10, 30, 80] {
        // What an earlier kill left behind (the next sync would remove it too), so that
        // each kill is timed against its own write.
        for entry in std::fs::read_dir(&releases).expect("releases").flatten() {
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                std::fs::remove_dir_all(entry.path()).expect("remove staging");
            }
        }
        let mut child = glassroom()
            .args(["sync", "--now", repo.path_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync --now");
        let started = Instant::now();
        while !staging() && started.elapsed() < Duration::from_secs(30) {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if staging() {
            interrupted += 1;
        }
        assert_complete_release(&site, &references);
    }
    assert!(
        interrupted > 0,
        "no kill landed in the middle of writing a release"
    );

    // The same with the watcher itself, then a restart: the change is published.
    let state = repo.path().join(".git/glassroom/sync-state.json");
    change_host(&repo, "carol");
    let newest = repo.commit("web1 belongs to carol", Some("alice"));
    let references =
        std::collections::BTreeMap::from([reference(&old), reference(&new), reference(&newest)]);
    let mut watcher = Watcher::start(&repo, &[], out.path().join("watch-1.out"));
    let writing_newest = || {
        std::fs::read_dir(&releases).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(".tmp-") && name.ends_with(glassroom::values::short_id(&newest))
            })
        })
    };
    wait_until(
        "the watcher starts writing a release",
        Duration::from_secs(30),
        writing_newest,
        || watcher.output(),
    );
    watcher.kill();
    assert_complete_release(&site, &references);
    assert!(
        text(&state).contains("\"pushing\": {"),
        "the state file remembers the interrupted push:\n{}",
        text(&state)
    );
    let report = status(&repo);
    assert!(!report["pending"].is_null(), "{report:#}");
    assert_eq!(report["watcher"]["running"], false);

    let watcher = Watcher::start(&repo, &[], out.path().join("watch-2.out"));
    wait_until(
        "the pending change is published after the restart",
        Duration::from_secs(30),
        || {
            std::fs::read_to_string(site.join(".glassroom-release.json"))
                .is_ok_and(|m| m.contains(&newest))
        },
        || watcher.output(),
    );
    assert_eq!(assert_complete_release(&site, &references), newest);
    assert!(
        watcher.output().contains("interrupted"),
        "{}",
        watcher.output()
    );
    // Old releases beyond `keep` are gone, and no staging directory is left.
    wait_until(
        "the status shows it published",
        Duration::from_secs(10),
        || status(&repo)["targets"][0]["up_to_date"] == true,
        || watcher.output(),
    );
    let left: Vec<String> = std::fs::read_dir(&releases)
        .expect("releases")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.len() <= 3, "{left:?}");
    assert!(!left.iter().any(|n| n.starts_with('.')), "{left:?}");
}

#[test]
fn a_failing_command_target_is_retried_until_the_change_lands() {
    let out = tempfile::tempdir().expect("temp dir");
    let log = out.path().join("pushes.log");
    let ready = out.path().join("mirror-is-up");
    let repo = example(&format!(
        "sync:\n  quiet: 1s\n  max_delay: 5s\n  retry: {{ first: 1s, max: 2s }}\n  targets:\n    - name: mirror\n      command: 'test -f {} || {{ echo mirror unreachable; exit 3; }}; {}'\n",
        ready.display(),
        recording_command(&log)
    ));
    let watcher = Watcher::start(&repo, &[], out.path().join("watch.out"));
    let context = || watcher.output();
    wait_until(
        "two failed attempts",
        Duration::from_secs(30),
        || status(&repo)["targets"][0]["failures"].as_u64() >= Some(2),
        context,
    );
    let report = status(&repo);
    assert!(!report["pending"].is_null(), "still pending: {report:#}");
    assert_eq!(report["targets"][0]["up_to_date"], false);
    let error = report["targets"][0]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("exited with status 3") && error.contains("mirror unreachable"),
        "{error}"
    );
    assert!(report["retry_at"].is_string(), "{report:#}");
    assert!(lines(&log).is_empty());

    std::fs::write(&ready, "").expect("the mirror comes back");
    wait_until(
        "the change lands",
        Duration::from_secs(30),
        || lines(&log).len() == 1,
        context,
    );
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert!(lines(&log)[0].starts_with(&head));
    wait_until(
        "the status catches up",
        Duration::from_secs(10),
        || status(&repo)["targets"][0]["up_to_date"] == true,
        context,
    );
    let report = status(&repo);
    assert!(report["pending"].is_null(), "{report:#}");
    assert_eq!(report["targets"][0]["failures"], 0);
    assert_eq!(report["last_attempt"]["outcome"], "published");
}

#[test]
fn an_unsigned_change_to_a_command_or_its_script_never_runs() {
    let out = tempfile::tempdir().expect("temp dir");
    let log = out.path().join("ran.log");
    let pwned = out.path().join("pwned");
    let repo = example(
        "sync:\n  quiet: 1s\n  targets:\n    - name: mirror\n      command: ./deploy/push.sh\n",
    );
    repo.write(
        "deploy/push.sh",
        &format!(
            "#!/bin/sh\necho approved \"$GLASSROOM_TARGET\" >> {}\n",
            log.display()
        ),
    );
    repo.commit("The approved script", Some("alice"));
    // Unsigned: another command, and another script.
    let config = text(&repo.path().join("glassroom.yaml"));
    repo.write(
        "glassroom.yaml",
        &config.replace("./deploy/push.sh", &format!("touch {}", pwned.display())),
    );
    repo.write(
        "deploy/push.sh",
        &format!("#!/bin/sh\ntouch {}\n", pwned.display()),
    );
    repo.commit("unsigned: run something else", None);

    let run = repo.glassroom(&["sync", "--now", repo.path_str()]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(lines(&log), vec!["approved mirror".to_owned()]);
    assert!(!pwned.exists(), "an unsigned command ran");
}

#[test]
fn a_git_target_commits_the_site_to_a_branch_and_pushes_it() {
    let out = tempfile::tempdir().expect("temp dir");
    let remote = out.path().join("pages.git");
    let remote_str = remote.to_str().expect("utf-8");
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--bare", remote_str])
        .status()
        .expect("git init");
    assert!(init.success());
    let repo = example(
        "sync:\n  targets:\n    - name: pages\n      git: { remote: origin, branch: pages }\n",
    );
    repo.git(&["remote", "add", "origin", &format!("file://{remote_str}")]);
    let run = repo.glassroom(&["sync", "--now", repo.path_str()]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    change_host(&repo, "bob");
    let signed = repo.commit("web1 belongs to bob", Some("alice"));
    let run = repo.glassroom(&["sync", "--now", repo.path_str()]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);

    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&remote)
            .args(args)
            .output()
            .expect("git");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let history = git(&["log", "--format=%s%n%b", "pages"]);
    assert_eq!(
        git(&["rev-list", "--count", "pages"]),
        "2",
        "one commit per sync, each on top of the previous: {history}"
    );
    assert!(
        history.contains(&format!("Glassroom-Source: {signed}")),
        "{history}"
    );
    let page = git(&["show", "pages:hosts/web1.html"]);
    assert!(page.contains("bob"));
    assert!(!git(&["show", "pages:index.html"]).is_empty());
    // The content branch is untouched.
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), signed);
}

#[test]
fn sync_needs_a_git_repository_and_the_status_of_a_fresh_one_is_truthful() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = crate::support::run(&["sync", "--now", dir.path().to_str().expect("utf-8")]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("not a git repository"),
        "{}",
        run.stderr
    );

    let out = tempfile::tempdir().expect("temp dir");
    let repo = example(&format!(
        "sync:\n  targets:\n    - name: production\n      dir: {}\n",
        out.path().join("site").display()
    ));
    let run = repo.glassroom(&["sync", "--status", repo.path_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for fragment in [
        "not running",
        "quiet 5m, max delay 1h",
        "never published; behind",
        "logbook",
    ] {
        assert!(run.stdout.contains(fragment), "{fragment}: {}", run.stdout);
    }
    let report = status(&repo);
    assert_eq!(
        report["approved"],
        repo.git(&["rev-parse", "HEAD"]).as_str()
    );
}
