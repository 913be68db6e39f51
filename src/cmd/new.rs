//! `glassroom new KIND [ID]`: writes the [skeleton](super::skeleton) of one entity into
//! the working tree, never over an existing file, and prints its path.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::scaffold::Identity;
use super::skeleton::{self, Known};
use super::{Outcome, ignore_broken_pipe, repository};
use crate::cli::NewArgs;
use crate::content::types::Moment;
use crate::content::{Kind, Place};

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(
        "{} is not a glassroom repository (it has no glassroom.yaml): point --repo at one, or make one with `glassroom init`",
        .0.display()
    )]
    NotARepository(PathBuf),
    #[error("{} already exists: `glassroom new` never overwrites a file; give another id", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}; check the directory's permissions and free space", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn run(args: &NewArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let repo = &args.repo;
    if !repo.join(crate::content::CONFIG_PATH).is_file() {
        return Err(NewError::NotARepository(repo.clone()).into());
    }
    let kind = skeleton::parse_kind(&args.kind)?;
    let now = args.now.unwrap_or_else(|| {
        Moment(jiff::Timestamp::from_second(repository::clock()).unwrap_or_default())
    });
    let by = match &args.by {
        Some(by) => by.clone(),
        None => current_user(repo),
    };
    let known = Known {
        modules: ids(repo, Kind::Module),
        sites: ids(repo, Kind::Site),
        hosts: ids(repo, Kind::Host),
        tickets: ids(repo, Kind::Ticket),
    };
    let made = skeleton::skeleton(kind, args.id.as_deref(), &by, now, &known)?;
    let path = repo.join(&made.path);
    write_new(&path, made.text.as_bytes())?;
    let mut out = std::io::stdout().lock();
    let shown = if repo == Path::new(".") {
        made.path
    } else {
        path.display().to_string()
    };
    ignore_broken_pipe(writeln!(out, "{}", crate::diag::printable(&shown)))?;
    Ok(Outcome::Ok)
}

/// The current user's id, as `glassroom init` derives it (git's `user.email`, `user.name`,
/// else `$USER`).
fn current_user(repo: &Path) -> String {
    let config = |key: &str| {
        std::process::Command::new("git")
            .current_dir(repo)
            .args(["config", "--get", key])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok();
    Identity::derive(
        config("user.name").as_deref(),
        config("user.email").as_deref(),
        login.as_deref(),
    )
    .id
}

/// The ids of `kind`'s files in the working tree (a kind with one file per entity).
fn ids(repo: &Path, kind: Kind) -> BTreeSet<String> {
    let Place::Dir { dir, extension } = kind.place() else {
        return BTreeSet::new();
    };
    let Ok(entries) = std::fs::read_dir(repo.join(dir)) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(extension).map(str::to_owned)
        })
        .collect()
}

/// Writes `bytes` to a new file at `path`, whole or not at all, never over another.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), NewError> {
    if path.exists() {
        return Err(NewError::Exists(path.to_owned()));
    }
    let failed = |source| NewError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(failed)?;
    temporary.write_all(bytes).map_err(failed)?;
    temporary.as_file().sync_all().map_err(failed)?;
    temporary.persist_noclobber(path).map_err(|err| {
        if err.error.kind() == std::io::ErrorKind::AlreadyExists {
            NewError::Exists(path.to_owned())
        } else {
            failed(err.error)
        }
    })?;
    Ok(())
}
