//! A git target: the built site committed to a branch of the repository itself (its
//! parent is the branch's previous commit, so the branch is the publishing history),
//! then `git push <remote> <branch>`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use git2::{Repository, Signature, Time};

use super::command::{run_supervised, succeeded};
use super::lock::PushLock;
use super::{Control, Release, TargetError, io};
use crate::source::git::index_entry;
use crate::values::short_id;

/// Commits the site to `branch` (unless the branch already holds exactly this site, as
/// after a failed push) and pushes it to `remote`, holding `lock` (`git push` gets it
/// as its standard input, like a command target).
pub fn publish(
    target: &str,
    remote: &str,
    branch: &str,
    timeout: Duration,
    release: &Release<'_>,
    lock: &PushLock,
    control: &Control<'_>,
) -> Result<String, TargetError> {
    let repo = Repository::open(release.git_dir)?;
    if repo
        .head()
        .ok()
        .and_then(|h| h.shorthand().ok().map(str::to_owned))
        .as_deref()
        == Some(branch)
    {
        return Err(TargetError::SameBranch {
            branch: branch.to_owned(),
        });
    }
    let commit = commit_site(&repo, branch, release)?;
    let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
    let mut push = Command::new("git");
    push.arg("--git-dir")
        .arg(release.git_dir)
        .args(["push", "--quiet", remote, &refspec])
        .env("GIT_TERMINAL_PROMPT", "0");
    let command = format!("git push {remote} {branch}");
    let finished = run_supervised(
        &mut push,
        &format!("{target} (git push)"),
        timeout,
        Some(lock),
        control,
    )
    .map_err(io("run", Path::new("git")))?;
    succeeded(finished, &command, timeout)?;
    Ok(format!(
        "{} on {branch} pushed to {remote}",
        short_id(&commit.to_string())
    ))
}

/// The commit on `branch` holding the site: a new one on top, or the tip if it already
/// has this tree.
fn commit_site(
    repo: &Repository,
    branch: &str,
    release: &Release<'_>,
) -> Result<git2::Oid, TargetError> {
    let mut index = git2::Index::new()?;
    for (path, bytes) in release.files {
        let blob = repo.blob(bytes)?;
        // No working files behind this index: no stat data.
        index.add(&index_entry(
            path,
            blob,
            git2::FileMode::Blob,
            bytes.len(),
            None,
        ))?;
    }
    let tree_id = index.write_tree_to(repo)?;
    let tree = repo.find_tree(tree_id)?;
    let name = format!("refs/heads/{branch}");
    let parent = repo
        .find_reference(&name)
        .ok()
        .and_then(|r| r.peel_to_commit().ok());
    if let Some(parent) = &parent
        && parent.tree_id() == tree_id
    {
        return Ok(parent.id());
    }
    let seconds = release.at.div_euclid(1000);
    let time = parent
        .as_ref()
        .map_or(seconds, |p| seconds.max(p.time().seconds()));
    let who = Signature::new(
        release.committer,
        &format!("{}@glassroom.invalid", release.committer),
        &Time::new(time, 0),
    )?;
    let message = format!(
        "Publish {}\n\nGlassroom-Source: {}\n",
        short_id(release.commit),
        release.commit
    );
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let commit = repo.commit(None, &who, &who, &message, &tree, &parents)?;
    match &parent {
        Some(parent) => {
            repo.reference_matching(&name, commit, true, parent.id(), &message)?;
        }
        None => {
            repo.reference(&name, commit, false, &message)?;
        }
    }
    Ok(commit)
}
