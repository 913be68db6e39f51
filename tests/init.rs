//! `glassroom init`, `new`, `completions` and `man`, run as a user would: with a HOME of
//! their own (a generated SSH key, a git configuration), never the real user's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Run, glassroom, read};

/// A user: a HOME of their own, with its own git configuration and (maybe) SSH key.
struct User {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    /// The socket of this user's ssh-agent, when one runs.
    agent: Option<PathBuf>,
}

impl User {
    fn new() -> Self {
        let user = User {
            home: tempfile::tempdir().expect("home"),
            work: tempfile::tempdir().expect("work dir"),
            agent: None,
        };
        std::fs::write(user.home.path().join(".gitconfig"), "").expect("gitconfig");
        user
    }

    /// A user with `~/.ssh/id_ed25519` (made by ssh-keygen) and git set up to sign with
    /// it (`gpg.format ssh`, `user.signingkey` = `signing_key` of the key's path).
    fn with_key(signing_key: impl Fn(&Path) -> String) -> Self {
        let user = User::new();
        let key = user.make_key();
        user.git(&["config", "--global", "gpg.format", "ssh"]);
        user.git(&["config", "--global", "user.signingkey", &signing_key(&key)]);
        user.git(&["config", "--global", "user.name", "Alice Martin"]);
        user.git(&["config", "--global", "user.email", "alice@example.org"]);
        user
    }

    /// Makes `~/.ssh/id_ed25519(.pub)` and returns the private key's path.
    fn make_key(&self) -> PathBuf {
        let ssh = self.home.path().join(".ssh");
        std::fs::create_dir_all(&ssh).expect("~/.ssh");
        let key = ssh.join("id_ed25519");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f"])
            .arg(&key)
            .output()
            .expect("ssh-keygen runs");
        assert!(made.status.success(), "{made:?}");
        key
    }

    fn isolate(&self, command: &mut Command) {
        let home = self.home.path();
        command
            .current_dir(self.work.path())
            .env("HOME", home)
            .env("USER", "alice")
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL");
        match &self.agent {
            Some(socket) => command.env("SSH_AUTH_SOCK", socket),
            None => command.env_remove("SSH_AUTH_SOCK"),
        };
    }

    /// Runs glassroom as this user, in their work directory.
    fn glassroom(&self, args: &[&str]) -> Run {
        let mut command = glassroom();
        command.args(args);
        self.isolate(&mut command);
        command.output().expect("glassroom runs").into()
    }

    /// Runs git as this user (in their work directory); panics if it fails.
    fn git(&self, args: &[&str]) -> String {
        let mut command = Command::new("git");
        command.args(args);
        self.isolate(&mut command);
        let output = command.output().expect("git runs");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A path in the work directory.
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// `glassroom init NAME` must succeed; returns its run and the repository's path.
    fn init(&self, name: &str, options: &[&str]) -> (Run, String) {
        let dir = self.path(name).to_str().expect("utf-8").to_owned();
        let mut args = vec!["init", dir.as_str()];
        args.extend(options);
        let run = self.glassroom(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        (run, dir)
    }
}

fn ok(run: &Run) {
    assert_eq!(run.code, Some(0), "{run:?}");
}

/// `glassroom check --format json` of `repo` (more arguments after it), parsed.
fn check_json(user: &User, repo: &str, more: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", repo, "--format", "json"];
    args.extend(more);
    let run = user.glassroom(&args);
    ok(&run);
    serde_json::from_str(&run.stdout).expect("json")
}

#[test]
fn init_with_a_signing_key_builds_and_its_first_commit_is_signed_and_pinned() {
    let user = User::with_key(|key| format!("{}.pub", key.display()));
    let (run, repo) = user.init("ops", &[]);
    assert!(run.stdout.contains("signed with your key"), "{run:?}");
    let public = read(&user.home.path().join(".ssh/id_ed25519.pub"));
    let policy = read(&Path::new(&repo).join(".glassroom/policy.yaml"));
    assert!(policy.contains("  alice:\n"), "{policy}");
    assert!(policy.contains(public.trim()), "{policy}");

    let git = |args: &[&str]| {
        let mut all = vec!["-C", repo.as_str()];
        all.extend(args);
        user.git(&all)
    };
    let head = git(&["rev-parse", "HEAD"]);
    assert!(git(&["cat-file", "commit", "HEAD"]).contains("gpgsig -----BEGIN SSH SIGNATURE-----"));
    assert_eq!(git(&["config", "glassroom.trustRoot"]), head);

    let checked = check_json(&user, &repo, &[]);
    assert_eq!(checked["errors"], 0, "{checked}");
    assert_eq!(checked["trust"]["trust_root"], head.as_str());
    assert_eq!(
        checked["trust"]["pending"],
        serde_json::json!([]),
        "{checked}"
    );
    assert_eq!(
        checked["trust"]["refused"],
        serde_json::json!([]),
        "{checked}"
    );
    let run = user.glassroom(&["check", &repo]);
    assert!(
        run.stdout.contains("0 pending signature, 0 refused"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("warning"),
        "pinned: no warning\n{run:?}"
    );
    ok(&user.glassroom(&["build", &repo]));
    assert!(Path::new(&repo).join("public/index.html").is_file());

    // The key in the policy is the one git signs with: the user's next signed change is
    // approved, not pending.
    let host = Path::new(&repo).join("hosts/web1.yaml");
    std::fs::write(&host, read(&host).replace("Rack A1", "Rack B2")).expect("edit");
    git(&["commit", "-q", "-a", "-S", "-m", "Move web1"]);
    let checked = check_json(&user, &repo, &[]);
    assert_eq!(
        checked["trust"]["pending"],
        serde_json::json!([]),
        "{checked}"
    );
    let audit = user.glassroom(&["audit", "hosts/web1.yaml", "--repo", &repo]);
    assert!(audit.stdout.contains("signed"), "{audit:?}");
    assert!(audit.stdout.contains("alice"), "{audit:?}");
}

#[test]
fn init_reads_the_key_from_a_private_key_file_or_id_ed25519_pub() {
    // `user.signingkey` naming the private key.
    let user = User::with_key(|key| key.display().to_string());
    let (_, repo) = user.init("ops", &[]);
    let public = read(&user.home.path().join(".ssh/id_ed25519.pub"));
    let key = public.split_whitespace().nth(1).expect("key");
    assert!(read(&Path::new(&repo).join(".glassroom/policy.yaml")).contains(key));
    let commit = user.git(&["-C", &repo, "cat-file", "commit", "HEAD"]);
    assert!(commit.contains("gpgsig -----BEGIN SSH SIGNATURE-----"));

    // No git signing configuration, only ~/.ssh/id_ed25519.pub: the first commit is signed
    // with it, and the user is told how to configure git.
    let user = User::new();
    user.make_key();
    let (run, repo) = user.init("ops", &[]);
    assert!(
        run.stderr.contains("git config --global gpg.format ssh"),
        "{run:?}"
    );
    let commit = user.git(&["-C", &repo, "cat-file", "commit", "HEAD"]);
    assert!(commit.contains("gpgsig -----BEGIN SSH SIGNATURE-----"));
    let checked = check_json(&user, &repo, &[]);
    assert_eq!(
        checked["trust"]["pending"],
        serde_json::json!([]),
        "{checked}"
    );
}

/// An ssh-agent holding `key`, stopped when dropped.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn init_takes_a_key_written_in_user_signingkey_itself_signing_through_the_agent() {
    let mut user = User::with_key(|key| read(&key.with_extension("pub")).trim().to_owned());
    let socket = user.home.path().join("agent.sock");
    let agent = Agent(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent runs"),
    );
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    user.agent = Some(socket);
    let key = user.home.path().join(".ssh/id_ed25519");
    let mut add = Command::new("ssh-add");
    add.arg("-q").arg(&key);
    user.isolate(&mut add);
    assert!(add.output().expect("ssh-add runs").status.success());

    let (run, repo) = user.init("ops", &[]);
    assert!(run.stdout.contains("signed with your key"), "{run:?}");
    let public = read(&key.with_extension("pub"));
    let policy = read(&Path::new(&repo).join(".glassroom/policy.yaml"));
    assert!(policy.contains(public.trim()), "{policy}");
    let commit = user.git(&["-C", &repo, "cat-file", "commit", "HEAD"]);
    assert!(commit.contains("gpgsig -----BEGIN SSH SIGNATURE-----"));
    drop(agent);
}

#[test]
fn init_without_a_key_says_how_to_make_one_and_still_builds() {
    let user = User::new();
    let (run, repo) = user.init("ops", &[]);
    for needed in [
        "no SSH signing key",
        "ssh-keygen -t ed25519",
        "git config --global gpg.format ssh",
        "git config --global user.signingkey",
    ] {
        assert!(run.stderr.contains(needed), "{needed}: {run:?}");
    }
    assert!(run.stdout.contains("unsigned"), "{run:?}");
    let commit = user.git(&["-C", &repo, "cat-file", "commit", "HEAD"]);
    assert!(!commit.contains("gpgsig"), "{commit}");
    let checked = check_json(&user, &repo, &[]);
    assert_eq!(checked["errors"], 0, "{checked}");
    assert_eq!(
        checked["trust"]["pending"],
        serde_json::json!([]),
        "{checked}"
    );
    let built = user.glassroom(&["build", &repo]);
    ok(&built);
    assert!(Path::new(&repo).join("public/index.html").is_file());
}

#[test]
fn init_refuses_a_directory_that_is_not_empty_unless_forced() {
    let user = User::new();
    let dir = user.path("busy");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    let dir = dir.to_str().expect("utf-8");
    let refused = user.glassroom(&["init", dir]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("is not empty"), "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{refused:?}");
    assert!(!Path::new(dir).join("glassroom.yaml").exists());

    let forced = user.glassroom(&["init", dir, "--force"]);
    ok(&forced);
    assert_eq!(read(&Path::new(dir).join("notes.txt")), "mine");
    ok(&user.glassroom(&["build", dir]));
}

#[test]
fn init_takes_a_directory_where_git_init_was_run_first() {
    let user = User::with_key(|key| format!("{}.pub", key.display()));
    let dir = user.path("fresh");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let dir = dir.to_str().expect("utf-8");
    user.git(&["-C", dir, "init", "-q"]);
    let (run, repo) = user.init("fresh", &[]);
    assert!(run.stdout.contains("signed with your key"), "{run:?}");
    let head = user.git(&["-C", &repo, "rev-parse", "HEAD"]);
    assert_eq!(
        user.git(&["-C", &repo, "config", "glassroom.trustRoot"]),
        head
    );
}

#[test]
fn init_defaults_to_the_current_directory() {
    let user = User::new();
    let run = user.glassroom(&["init"]);
    ok(&run);
    assert!(user.path("glassroom.yaml").is_file());
    assert!(user.path(".gitignore").is_file());
    ok(&user.glassroom(&["check"]));
}

#[test]
fn init_bare_writes_configuration_and_policy_only() {
    let user = User::new();
    let (_, repo) = user.init("ops", &["--bare"]);
    let mut files: Vec<String> = walkdir::WalkDir::new(&repo)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(&repo).expect("inside");
            relative.to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [".gitignore", ".glassroom/policy.yaml", "glassroom.yaml"]
    );
    let run = user.glassroom(&["check", &repo]);
    ok(&run);
    assert!(run.stdout.contains("no problems"), "{run:?}");
    ok(&user.glassroom(&["build", &repo]));
}

/// Every kind `glassroom new` knows (the names of `glassroom new --help`).
const KINDS: &[&str] = &[
    "host",
    "certificate",
    "domain",
    "module",
    "release",
    "procedure",
    "logbook",
    "ticket",
    "site",
    "service",
    "feature",
    "account-set",
    "news",
    "person",
];

#[test]
fn new_writes_a_skeleton_of_every_kind_that_passes_check() {
    let user = User::new();
    let (_, repo) = user.init("ops", &[]);
    let now = "2026-12-06T05:30:00Z";
    for kind in KINDS {
        let id = format!("new-{kind}");
        let run = user.glassroom(&["new", kind, &id, "--repo", &repo, "--now", now]);
        ok(&run);
        let written = PathBuf::from(run.stdout.trim());
        assert!(written.is_file(), "{kind}: {run:?}");
        assert!(written.to_string_lossy().contains(&id), "{kind}: {run:?}");
        let checked = user.glassroom(&["check", "--worktree", &repo]);
        assert_eq!(checked.code, Some(0), "{kind}: {checked:?}");
        assert!(
            checked.stdout.contains("no problems"),
            "{kind}: {checked:?}"
        );
        assert!(!checked.stderr.contains("warning"), "{kind}: {checked:?}");
    }
    // Ids chosen where that makes sense: the next ticket number, the time of an entry.
    let ticket = user.glassroom(&["new", "ticket", "--repo", &repo, "--now", now]);
    ok(&ticket);
    assert!(
        ticket.stdout.trim().ends_with("tickets/t-2.md"),
        "{ticket:?}"
    );
    let entry = user.glassroom(&["new", "logbook", "--repo", &repo, "--now", now]);
    assert!(
        entry
            .stdout
            .trim()
            .ends_with("logbook/2026/12/2026-12-06-053000-note.md"),
        "{entry:?}"
    );
    let text = read(Path::new(entry.stdout.trim()));
    assert!(
        text.contains("at: 2026-12-06T05:30:00Z\nby: alice\n"),
        "{text}"
    );
    ok(&user.glassroom(&["check", "--worktree", &repo]));

    // Never over an existing file; ids needed where none makes sense; unknown kinds named.
    let again = user.glassroom(&["new", "host", "new-host", "--repo", &repo]);
    assert_eq!(again.code, Some(2), "{again:?}");
    assert!(again.stderr.contains("already exists"), "{again:?}");
    let no_id = user.glassroom(&["new", "host", "--repo", &repo]);
    assert_eq!(no_id.code, Some(2), "{no_id:?}");
    assert!(no_id.stderr.contains("glassroom new host ID"), "{no_id:?}");
    let unknown = user.glassroom(&["new", "hots", "x", "--repo", &repo]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    assert!(unknown.stderr.contains("host, certificate"), "{unknown:?}");
    let elsewhere = user.glassroom(&["new", "host", "x", "--repo", "/nonexistent"]);
    assert!(elsewhere.stderr.contains("glassroom init"), "{elsewhere:?}");
}

#[test]
fn new_in_the_current_directory_prints_the_path_in_the_repository() {
    let user = User::new();
    ok(&user.glassroom(&["init"]));
    let run = user.glassroom(&["new", "procedure", "restart-web"]);
    ok(&run);
    assert_eq!(run.stdout, "procedures/restart-web.md\n");
    ok(&user.glassroom(&["check", "--worktree"]));
}

#[test]
fn completions_for_every_shell_mention_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = glassroom()
            .args(["completions", shell])
            .output()
            .expect("runs");
        let run = Run::from(run);
        ok(&run);
        for command in ["build", "check", "init", "new", "completions", "man"] {
            assert!(run.stdout.contains(command), "{shell}: {command}");
        }
    }
}

#[test]
fn man_writes_a_roff_page_per_subcommand() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("man1");
    let run = Run::from(
        glassroom()
            .args(["man", out.to_str().expect("utf-8")])
            .output()
            .expect("runs"),
    );
    ok(&run);
    for page in [
        "glassroom",
        "glassroom-build",
        "glassroom-check",
        "glassroom-init",
        "glassroom-new",
        "glassroom-completions",
        "glassroom-man",
        "glassroom-flags",
        "glassroom-flags-eval",
        "glassroom-sync",
    ] {
        let text = read(&out.join(format!("{page}.1")));
        // clap_mangen defines a quote string first, then the title header.
        let first_macro = text
            .lines()
            .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"))
            .unwrap_or_default();
        assert!(
            first_macro.starts_with(&format!(".TH {page} 1 ")),
            "{page}: {first_macro}"
        );
    }
    let pages = std::fs::read_dir(&out).expect("dir").count();
    assert!(
        run.stdout.contains(&format!("wrote {pages} manual pages")),
        "{run:?}"
    );
}
