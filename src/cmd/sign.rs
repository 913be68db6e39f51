//! `glassroom sign|review|revoke PATH...`: a signed commit carrying trailers.
//!
//! The commit is made by git itself (`git commit-tree -S`), so it is signed with the
//! user's own git configuration and key; glassroom never signs, and it verifies in-process.
//! The commit has HEAD's tree: the index and working directory are left alone.

use std::io::Write;
use std::process::Command;

use super::{Outcome, ignore_broken_pipe};
use crate::cli::TrailerArgs;
use crate::source::git;
use crate::trust::judge::is_clean_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Review,
    Revoke,
}

pub fn run(args: &TrailerArgs, action: Action) -> Result<Outcome, Box<dyn std::error::Error>> {
    let repo = git::open(&args.repo)?;
    let head = git::resolve(&repo, "HEAD")?;
    let tree = repo.find_commit(head)?.tree()?;
    let mut trailers = Vec::new();
    for path in &args.paths {
        let path = path.trim_start_matches("./");
        if !is_clean_path(path) {
            return Err(format!("`{path}` is not a path inside the repository").into());
        }
        let blob = tree
            .get_path(std::path::Path::new(path))
            .ok()
            .map(|e| e.id().to_string());
        trailers.push(match (action, blob) {
            (Action::Approve, Some(blob)) => format!("Approve: {path} {blob}"),
            (Action::Review, Some(blob)) => format!("Review: {path} {blob}"),
            (Action::Revoke, _) => format!("Revoke: {path}"),
            (_, None) => {
                return Err(format!("`{path}` is not in HEAD's tree; commit it first").into());
            }
        });
    }
    let verb = match action {
        Action::Approve => "Approve",
        Action::Review => "Review",
        Action::Revoke => "Revoke",
    };
    let subject = format!("{verb} {}", args.paths.join(", "));
    let body = args
        .message
        .as_deref()
        .map(|m| format!("{m}\n\n"))
        .unwrap_or_default();
    let message = format!("{subject}\n\n{body}{}\n", trailers.join("\n"));
    let head_hex = head.to_string();
    let created = Command::new("git")
        .current_dir(&args.repo)
        .args([
            "commit-tree",
            "-S",
            "-p",
            &head_hex,
            "-m",
            &message,
            &format!("{head_hex}^{{tree}}"),
        ])
        .output()?;
    if !created.status.success() {
        return Err(format!(
            "git commit-tree failed: {}",
            String::from_utf8_lossy(&created.stderr).trim()
        )
        .into());
    }
    let commit = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let updated = Command::new("git")
        .current_dir(&args.repo)
        .args(["update-ref", "-m", &subject, "HEAD", &commit, &head_hex])
        .output()?;
    if !updated.status.success() {
        return Err(format!(
            "git update-ref failed: {}",
            String::from_utf8_lossy(&updated.stderr).trim()
        )
        .into());
    }
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        out,
        "{} {}",
        crate::values::short_id(&commit),
        crate::diag::printable(&subject)
    ))?;
    Ok(Outcome::Ok)
}
