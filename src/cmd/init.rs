//! `glassroom init [DIR]`: a new repository that builds at once. What it holds is
//! [`scaffold`](super::scaffold)'s; this file finds who the user is and their SSH signing
//! key, writes the files (each atomically), and makes the first commit with git itself
//! (signed with the user's own key and configuration), pinned as the trust root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::scaffold::{Identity, Plan};
use super::{Outcome, ignore_broken_pipe, repository};
use crate::cli::InitArgs;
use crate::content::types::Moment;
use crate::local::{Durability, write_atomically};

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{} is not empty: `glassroom init` makes a new repository in an empty (or new) directory, or one where only `git init` was run; choose another, or pass --force to write into it anyway (files of the same names are replaced)",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error("cannot create or read the directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}; check the directory's permissions and free space, then run `glassroom init --force` again", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run git in {} ({source}): install git and make sure it is on PATH", dir.display())]
    NoGit {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {command}` failed in {}: {stderr}\n  help: {help}", dir.display())]
    Git {
        dir: PathBuf,
        command: String,
        stderr: String,
        help: String,
    },
}

/// The user's SSH signing key, and how git signs with it.
enum Key {
    /// `git config user.signingkey` with `gpg.format ssh`: git signs as configured.
    Configured { public: String, from: String },
    /// `~/.ssh/id_ed25519.pub`, which git is not configured to sign with: the first
    /// commit is signed with it by `-c` options.
    Default { public: String, path: PathBuf },
    /// None: why, for the message.
    Missing { why: String },
}

pub fn run(args: &InitArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let dir = &args.dir;
    prepare(dir, args.force)?;
    let git = Git { dir };
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok();
    let name = git.config("user.name");
    let email = git.config("user.email");
    let identity = Identity::derive(name.as_deref(), email.as_deref(), login.as_deref());
    let key = find_key(&git);
    let now = args.now.unwrap_or_else(|| {
        Moment(jiff::Timestamp::from_second(repository::clock()).unwrap_or_default())
    });
    let public = match &key {
        Key::Configured { public, .. } | Key::Default { public, .. } => Some(public.as_str()),
        Key::Missing { .. } => None,
    };
    let plan = Plan {
        identity: &identity,
        key: public,
        title: "Operations",
        now,
        bare: args.bare,
    };
    let files = plan.files();
    for file in &files {
        let path = dir.join(&file.path);
        write_atomically(&path, file.text.as_bytes(), Durability::Durable)
            .map_err(|source| InitError::Write { path, source })?;
    }

    git.run(
        &["init", "-q"],
        "git init failed; is the directory on a writable disk?",
    )?;
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        out,
        "created {} files in {} for `{}` (admin in .glassroom/policy.yaml){}",
        files.len(),
        dir.display(),
        identity.id,
        if args.bare { ", no examples" } else { "" }
    ))?;
    if git
        .output(&["rev-parse", "--verify", "-q", "HEAD"])
        .is_some()
    {
        ignore_broken_pipe(writeln!(
            out,
            "{} already has commits: review the new files and commit them yourself (signed)",
            dir.display()
        ))?;
        return Ok(Outcome::Ok);
    }
    git.run(&["add", "-A"], "check that the files are readable")?;
    let mut commit: Vec<String> = Vec::new();
    if name.is_none() {
        commit.extend(["-c".into(), format!("user.name={}", identity.name)]);
    }
    if email.is_none() {
        let email = identity
            .email
            .clone()
            .unwrap_or_else(|| format!("{}@glassroom.invalid", identity.id));
        commit.extend(["-c".into(), format!("user.email={email}")]);
    }
    if let Key::Default { path, .. } = &key {
        commit.extend(["-c".into(), "gpg.format=ssh".into()]);
        commit.extend(["-c".into(), format!("user.signingkey={}", path.display())]);
    }
    let signed = !matches!(key, Key::Missing { .. });
    commit.extend(["commit", "-q"].map(str::to_owned));
    commit.push(if signed { "-S" } else { "--no-gpg-sign" }.to_owned());
    commit.extend(["-m", "Create the repository (glassroom init)"].map(str::to_owned));
    let commit: Vec<&str> = commit.iter().map(String::as_str).collect();
    let agent = match &key {
        Key::Configured { from, .. } if is_literal(from) => {
            "a key written in `user.signingkey` itself signs through ssh-agent: start one and `ssh-add` the private key (or set `user.signingkey` to the key's file); "
        }
        _ => "",
    };
    git.run(
        &commit,
        &format!("{agent}the files are written: fix the cause, then commit them (`git add -A && git commit -S`) and pin the trust root (`git config glassroom.trustRoot $(git rev-parse HEAD)`)"),
    )?;
    let head = git.output(&["rev-parse", "HEAD"]).unwrap_or_default();
    git.run(
        &["config", "glassroom.trustRoot", &head],
        "pin it yourself: `git config glassroom.trustRoot $(git rev-parse HEAD)`",
    )?;
    let short = crate::values::short_id(&head);
    match &key {
        Key::Configured { from, .. } => ignore_broken_pipe(writeln!(
            out,
            "first commit {short}, signed with your key ({from}), pinned as the trust root"
        ))?,
        Key::Default { path, .. } => {
            ignore_broken_pipe(writeln!(
                out,
                "first commit {short}, signed with {}, pinned as the trust root",
                path.display()
            ))?;
            eprintln!(
                "note: git is not set up to sign your commits; to sign them with this key:\n  git config --global gpg.format ssh\n  git config --global user.signingkey {}\n  git config --global commit.gpgsign true",
                path.display()
            );
        }
        Key::Missing { why } => {
            ignore_broken_pipe(writeln!(
                out,
                "first commit {short}, unsigned, pinned as the trust root"
            ))?;
            eprintln!("{}", no_key_help(why, &identity.id));
        }
    }
    ignore_broken_pipe(writeln!(
        out,
        "next: glassroom build {0} && open {0}/public/index.html",
        dir.display()
    ))?;
    Ok(Outcome::Ok)
}

/// What to do without a signing key.
fn no_key_help(why: &str, id: &str) -> String {
    format!(
        "warning: no SSH signing key: {why}.
  The repository was made with an unsigned first commit, trusted as the root on this
  machine: it builds, but nobody can sign changes yet. To sign:
    ssh-keygen -t ed25519                       # makes ~/.ssh/id_ed25519(.pub)
    git config --global gpg.format ssh
    git config --global user.signingkey ~/.ssh/id_ed25519.pub
    git config --global commit.gpgsign true
  then add the line of ~/.ssh/id_ed25519.pub under `users: {id}: keys:` in
  .glassroom/policy.yaml, commit it (signed), and trust that commit as the root:
    git config glassroom.trustRoot $(git rev-parse HEAD)
  (or, before you edit anything, delete the directory and run `glassroom init` again)."
    )
}

/// Creates `dir` if missing; refuses one that is not empty (but for `.git`) unless
/// `force`.
fn prepare(dir: &Path, force: bool) -> Result<(), InitError> {
    let directory = |source| InitError::Directory {
        path: dir.to_owned(),
        source,
    };
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            // An empty git repository (`git init` first) counts as empty.
            let mut entries = entries.flatten().filter(|e| e.file_name() != ".git");
            if entries.next().is_some() && !force {
                return Err(InitError::NotEmpty(dir.to_owned()));
            }
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(directory)
        }
        Err(err) => Err(directory(err)),
    }
}

/// Finds the user's SSH public key: `user.signingkey` (a key file, public or private, or
/// the key itself, as git allows) when `gpg.format` is `ssh`, else `~/.ssh/id_ed25519.pub`.
fn find_key(git: &Git<'_>) -> Key {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Some(value) = git.config("user.signingkey") {
        if git.config("gpg.format").as_deref() != Some("ssh") {
            return Key::Missing {
                why: format!(
                    "`git config user.signingkey` is `{value}`, but `gpg.format` is not `ssh` (glassroom verifies SSH signatures only)"
                ),
            };
        }
        return match public_key(&value, home.as_deref()) {
            Ok(public) => Key::Configured {
                public,
                from: value,
            },
            Err(why) => Key::Missing { why },
        };
    }
    let Some(path) = home.map(|h| h.join(".ssh/id_ed25519.pub")) else {
        return Key::Missing {
            why: "`git config user.signingkey` is not set and $HOME is not set".to_owned(),
        };
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => match parse_public(&text) {
            Some(public) => Key::Default { public, path },
            None => Key::Missing {
                why: format!("{} is not an SSH public key", path.display()),
            },
        },
        Err(_) => Key::Missing {
            why: "`git config user.signingkey` is not set and ~/.ssh/id_ed25519.pub does not exist"
                .to_owned(),
        },
    }
}

/// The public key of a `user.signingkey` value: `key::ssh-ed25519 AAAA...`, the key
/// itself, or the path of a public or private key file (`~/` expanded).
fn public_key(value: &str, home: Option<&Path>) -> Result<String, String> {
    let value = value.strip_prefix("key::").unwrap_or(value).trim();
    if is_literal(value) {
        return parse_public(value).ok_or_else(|| {
            format!("`git config user.signingkey` (`{value}`) is not a valid SSH public key")
        });
    }
    let path = match (value.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(value),
    };
    let text = std::fs::read_to_string(&path).map_err(|err| {
        format!(
            "`git config user.signingkey` names {}, which cannot be read ({err})",
            path.display()
        )
    })?;
    if let Some(public) = parse_public(&text) {
        return Ok(public);
    }
    if let Ok(private) = ssh_key::PrivateKey::from_openssh(&text)
        && let Ok(public) = private.public_key().to_openssh()
    {
        return Ok(public);
    }
    let beside = PathBuf::from(format!("{}.pub", path.display()));
    std::fs::read_to_string(&beside)
        .ok()
        .and_then(|text| parse_public(&text))
        .ok_or_else(|| {
            format!(
                "`git config user.signingkey` names {}, which is neither an SSH public key nor an OpenSSH private key",
                path.display()
            )
        })
}

/// Whether a `user.signingkey` value is the key itself rather than a file's path.
fn is_literal(value: &str) -> bool {
    let value = value.strip_prefix("key::").unwrap_or(value).trim();
    ["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|prefix| value.starts_with(prefix))
}

/// The first line of `text` as a normalised OpenSSH public key line.
fn parse_public(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    ssh_key::PublicKey::from_openssh(line)
        .ok()?
        .to_openssh()
        .ok()
}

/// git, run in the new repository's directory.
struct Git<'a> {
    dir: &'a Path,
}

impl Git<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command.current_dir(self.dir).args(args);
        command
    }

    /// A configuration value, if set (and git runs).
    fn config(&self, key: &str) -> Option<String> {
        self.output(&["config", "--get", key])
            .filter(|v| !v.is_empty())
    }

    /// The trimmed stdout of a git command that succeeded.
    fn output(&self, args: &[&str]) -> Option<String> {
        let output = self.command(args).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Runs git; an error names the command and says `help`.
    fn run(&self, args: &[&str], help: &str) -> Result<(), InitError> {
        let output = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| InitError::NoGit {
                dir: self.dir.to_owned(),
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(InitError::Git {
            dir: self.dir.to_owned(),
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
            help: help.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOFU1uTYPPpIYCTKXafYhgYtgOa//eJK/3HXeuYw6Qos alice@example.org";

    #[test]
    fn a_signing_key_may_be_the_key_itself_as_git_allows() {
        assert_eq!(public_key(KEY, None).as_deref(), Ok(KEY));
        assert_eq!(public_key(&format!("key::{KEY}"), None).as_deref(), Ok(KEY));
        assert!(is_literal(KEY) && !is_literal("~/.ssh/id_ed25519.pub"));
        let bad = public_key("ssh-ed25519 AAAA", None).expect_err("invalid");
        assert!(bad.contains("not a valid SSH public key"), "{bad}");
        let missing = public_key("/nonexistent/key.pub", None).expect_err("missing");
        assert!(missing.contains("/nonexistent/key.pub"), "{missing}");
    }
}
