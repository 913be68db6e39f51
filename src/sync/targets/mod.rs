//! Where a sync publishes: a local directory (releases and an atomic symlink swap), a
//! user command (given the built directory), a git branch (commit and push), or an
//! S3-compatible bucket (only what changed, in an order readers can follow).
//!
//! Every push holds its target's [`lock`] from start to end, and hands it to the
//! processes it starts, so one push per target runs at a time even across a crash.

mod command;
mod dir;
mod git;
pub mod lock;
pub mod s3;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::content::SyncTarget;
use crate::source::Tree;

use super::schedule::Millis;
use super::stop::Stop;

pub use command::{Ended, Finished, run_supervised};
pub use dir::{RELEASE_MANIFEST, publish as publish_dir};
use lock::PushLock;

/// How long a command or a git push may run by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How many releases a directory target keeps by default (the live one included).
pub const DEFAULT_KEEP: usize = 5;

/// A configured target, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir {
        path: PathBuf,
        keep: usize,
    },
    Command {
        command: String,
        timeout: Duration,
    },
    Git {
        remote: String,
        branch: String,
        timeout: Duration,
    },
    S3 {
        bucket: s3::Bucket,
        timeout: Duration,
    },
}

impl Target {
    /// The target `config` describes; a relative `dir` is relative to `base` (the
    /// repository). `None` when it names no kind (validation reports that).
    pub fn from_config(config: &SyncTarget, base: &Path) -> Option<Target> {
        let timeout = config
            .timeout
            .map(|d| Duration::from_millis(u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX)))
            .unwrap_or(DEFAULT_TIMEOUT);
        let kind = if let Some(dir) = &config.dir {
            Kind::Dir {
                path: base.join(dir),
                keep: config
                    .keep
                    .map_or(DEFAULT_KEEP, |k| usize::try_from(k).unwrap_or(usize::MAX))
                    .max(1),
            }
        } else if let Some(command) = &config.command {
            Kind::Command {
                command: command.clone(),
                timeout,
            }
        } else if let Some(git) = &config.git {
            Kind::Git {
                remote: git.remote.clone(),
                branch: git.branch.clone(),
                timeout,
            }
        } else if let Some(bucket) = &config.s3 {
            Kind::S3 {
                bucket: s3::Bucket::from_config(bucket),
                timeout,
            }
        } else {
            return None;
        };
        Some(Target {
            name: config.name.as_str().to_owned(),
            kind,
        })
    }

    /// How long a push to it may run (a directory is written in-process: the default).
    pub fn timeout(&self) -> Duration {
        match &self.kind {
            Kind::Dir { .. } => DEFAULT_TIMEOUT,
            Kind::Command { timeout, .. }
            | Kind::Git { timeout, .. }
            | Kind::S3 { timeout, .. } => *timeout,
        }
    }

    /// `dir /srv/www/ops`, `command ./deploy/push.sh`, `git origin pages`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Dir { path, .. } => format!("dir {}", path.display()),
            Kind::Command { command, .. } => format!("command {command}"),
            Kind::Git { remote, branch, .. } => format!("git {remote} {branch}"),
            Kind::S3 { bucket, .. } => bucket.describe(),
        }
    }
}

/// What is being published.
pub struct Release<'a> {
    /// The built site: path → bytes.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// The approved head it was built from.
    pub commit: &'a str,
    /// What the target served before (for commands).
    pub previous: Option<&'a str>,
    /// When (names directory releases).
    pub at: Millis,
    /// The repository's git directory (git targets commit there).
    pub git_dir: &'a Path,
    /// The approved tree: a command runs in a checkout of it, so `./deploy/push.sh` is
    /// the approved script, never an unsigned edit of it.
    pub approved: &'a Tree,
    /// Who commits to a git target.
    pub committer: &'a str,
}

/// What a push is told while it runs.
#[derive(Clone, Copy)]
pub struct Control<'a> {
    /// Set on SIGTERM or Ctrl-C: stop at the next safe point.
    pub stop: &'a Stop,
    /// Where to say what it is doing (progress lines).
    pub say: &'a dyn Fn(&str),
    /// How long a stopped command has between SIGTERM and SIGKILL.
    pub grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exists and is not a symbolic link to a release: move it away (a `dir` target replaces it with a link to {}.releases/...)", path.display(), path.display())]
    NotALink { path: PathBuf },
    #[error("`{command}` {reason}{}", tail(output))]
    Command {
        command: String,
        reason: String,
        output: String,
    },
    #[error("{what} was stopped ({by}){}", tail(output))]
    Stopped {
        what: String,
        by: &'static str,
        output: String,
    },
    #[error(
        "the previous push of `{target}` still holds {} {reason}; find what holds it with `fuser -v {}` and stop it, and the push is retried",
        path.display(),
        path.display()
    )]
    Held {
        target: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{bucket}: cannot {action}{}", source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    S3 {
        bucket: String,
        action: String,
        #[source]
        source: Option<object_store::Error>,
    },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(
        "the git target's branch `{branch}` is the branch the content is read from: publish to another branch (e.g. `pages`)"
    )]
    SameBranch { branch: String },
}

fn tail(output: &str) -> String {
    let output = output.trim();
    if output.is_empty() {
        String::new()
    } else {
        format!(": {output}")
    }
}

pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> TargetError + 'a {
    move |source| TargetError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Directories made once per attempt and shared by its targets.
#[derive(Default)]
pub struct Workspace {
    site: Option<tempfile::TempDir>,
    checkout: Option<tempfile::TempDir>,
}

impl Workspace {
    /// The built site written out as a directory.
    fn site(&mut self, release: &Release<'_>, stop: &Stop) -> Result<PathBuf, TargetError> {
        if let Some(dir) = &self.site {
            return Ok(dir.path().to_path_buf());
        }
        let dir = tempfile::Builder::new()
            .prefix("glassroom-site-")
            .tempdir()
            .map_err(io("create", &std::env::temp_dir()))?;
        write_files(
            dir.path(),
            release
                .files
                .iter()
                .map(|(p, b)| (p.as_str(), b.as_slice())),
            false,
            Some(stop),
        )?;
        let path = dir.path().to_path_buf();
        self.site = Some(dir);
        Ok(path)
    }

    /// The approved tree written out as a directory (files starting with `#!` are made
    /// executable, since a tree read from git keeps no modes).
    fn checkout(&mut self, release: &Release<'_>, stop: &Stop) -> Result<PathBuf, TargetError> {
        if let Some(dir) = &self.checkout {
            return Ok(dir.path().to_path_buf());
        }
        let dir = tempfile::Builder::new()
            .prefix("glassroom-approved-")
            .tempdir()
            .map_err(io("create", &std::env::temp_dir()))?;
        write_files(dir.path(), release.approved.iter(), false, Some(stop))?;
        for (path, bytes) in release.approved.iter() {
            if bytes.starts_with(b"#!") {
                use std::os::unix::fs::PermissionsExt;
                let full = dir.path().join(path);
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755))
                    .map_err(io("chmod", &full))?;
            }
        }
        let path = dir.path().to_path_buf();
        self.checkout = Some(dir);
        Ok(path)
    }
}

/// Writes files (relative, `/`-separated, already checked paths) under `root`; with
/// `durable`, every file and directory is fsynced. Gives up between two files once
/// `stop` is requested.
pub(crate) fn write_files<'a>(
    root: &Path,
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
    durable: bool,
    stop: Option<&Stop>,
) -> Result<(), TargetError> {
    let mut dirs = std::collections::BTreeSet::new();
    for (relative, bytes) in files {
        if let Some(by) = stop.and_then(Stop::requested) {
            return Err(TargetError::Stopped {
                what: format!("writing {}", root.display()),
                by,
                output: String::new(),
            });
        }
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(TargetError::Io {
                action: "write",
                path: PathBuf::from(relative),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path leaves the site directory",
                ),
            });
        }
        let path = root.join(relative);
        if let Some(parent) = path.parent()
            && dirs.insert(parent.to_path_buf())
        {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        let mut file = std::fs::File::create(&path).map_err(io("create", &path))?;
        std::io::Write::write_all(&mut file, bytes).map_err(io("write", &path))?;
        if durable {
            file.sync_all().map_err(io("sync", &path))?;
        }
    }
    if durable {
        dirs.insert(root.to_path_buf());
        for dir in &dirs {
            crate::local::sync_dir(dir).map_err(io("sync", dir))?;
        }
    }
    Ok(())
}

/// Publishes `release` to `target`, holding the target's push lock throughout (waiting
/// first for a push an earlier process left running); on success, a short description
/// of what was done.
pub fn push(
    target: &Target,
    release: &Release<'_>,
    workspace: &mut Workspace,
    control: &Control<'_>,
) -> Result<String, TargetError> {
    let lock = PushLock::acquire(release.git_dir, &target.name, target.timeout(), control)?;
    match &target.kind {
        Kind::Dir { path, keep } => {
            let live = dir::publish(path, *keep, release, control.stop)?;
            Ok(format!("{} → {}", path.display(), live.display()))
        }
        Kind::Command { command, timeout } => {
            let site = workspace.site(release, control.stop)?;
            let cwd = workspace.checkout(release, control.stop)?;
            command::run(
                command,
                *timeout,
                &site,
                &cwd,
                &target.name,
                release,
                &lock,
                control,
            )
        }
        Kind::Git {
            remote,
            branch,
            timeout,
        } => git::publish(
            &target.name,
            remote,
            branch,
            *timeout,
            release,
            &lock,
            control,
        ),
        Kind::S3 { bucket, timeout } => {
            s3::publish(&target.name, bucket, *timeout, release, control)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Spanned;

    fn config(yaml: &str) -> Result<SyncTarget, String> {
        crate::yaml::from_str::<SyncTarget>(yaml).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn targets_from_configuration() -> Result<(), String> {
        let base = Path::new("/repo");
        let dir = Target::from_config(&config("{ name: p, dir: public, keep: 3 }")?, base);
        assert_eq!(
            dir.map(|t| t.kind),
            Some(Kind::Dir {
                path: PathBuf::from("/repo/public"),
                keep: 3
            })
        );
        let absolute = Target::from_config(&config("{ name: p, dir: /srv/www }")?, base);
        assert_eq!(absolute.map(|t| t.describe()), Some("dir /srv/www".into()));
        let command = Target::from_config(
            &config("{ name: m, command: ./push.sh, timeout: 5s }")?,
            base,
        );
        assert_eq!(
            command.map(|t| t.kind),
            Some(Kind::Command {
                command: "./push.sh".into(),
                timeout: Duration::from_secs(5)
            })
        );
        let none = SyncTarget {
            name: Spanned::new("x".to_owned(), 0..0),
            dir: None,
            keep: None,
            command: None,
            git: None,
            s3: None,
            timeout: None,
        };
        assert_eq!(Target::from_config(&none, base), None);
        Ok(())
    }
}
