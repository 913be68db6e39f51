//! Whether a build may write its output where it is asked to: a directory inside the
//! repository's working tree is replaced by every build, so it must not be one where the
//! repository has files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Opened;
use crate::local::absolute;

/// What the repository has where a build would write its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputPlace {
    /// Nothing: the output directory is outside the working tree, or no file of the
    /// repository lies there.
    Clear,
    /// The approved tree (what is published) has files there, `file` among them: a
    /// build would replace them.
    Approved { file: String },
    /// Only unapproved content has files there: the commit read (or, for a build of the
    /// working directory, HEAD's) or the working directory, `file` among them (`from`
    /// says which). `kept` are the commit's files, relative to the output directory: git
    /// keeps them, so replacing the directory loses none of them.
    Unapproved {
        file: String,
        from: String,
        kept: BTreeSet<String>,
    },
}

/// The approved tree has files in the output directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the site to {}: it is inside the repository, and the approved tree has files there ({file}), which every build would replace; write the site outside the repository's files with --out DIR",
    out.display()
)]
pub struct OutputOverContent {
    pub out: PathBuf,
    pub file: String,
}

/// What the repository at `repo`, opened as `opened`, has where the output `out` goes.
pub fn output_place(repo: &Path, opened: &Opened, out: &Path) -> OutputPlace {
    let Ok(git) = crate::source::git::open(repo) else {
        // A directory read as it is: nothing in it is approved, and its own reader
        // skips the default output.
        return OutputPlace::Clear;
    };
    let Some(workdir) = git.workdir() else {
        return OutputPlace::Clear;
    };
    let (workdir, out) = (absolute(workdir), absolute(out));
    let Some(relative) = out
        .strip_prefix(&workdir)
        .ok()
        .and_then(|relative| relative.to_str())
    else {
        return OutputPlace::Clear;
    };
    let relative = relative.replace(std::path::MAIN_SEPARATOR, "/");
    let prefix = if relative.is_empty() {
        String::new()
    } else {
        format!("{relative}/")
    };
    let in_tree = |tree: &crate::source::Tree| {
        tree.get(&relative)
            .map(|_| relative.clone())
            .or_else(|| tree.under(&prefix).next().map(|(path, _)| path.to_owned()))
    };
    if opened.trust.is_some()
        && let Some(file) = in_tree(&opened.tree)
    {
        return OutputPlace::Approved { file };
    }
    let commit = match &opened.trust {
        Some(report) => git2::Oid::from_str(&report.target).ok(),
        None => crate::source::git::resolve(&git, "HEAD").ok(),
    };
    let commit_files = commit
        .map(|commit| files_under(&git, commit, &relative))
        .unwrap_or_default();
    let kept: BTreeSet<String> = commit_files
        .iter()
        .filter_map(|path| path.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    if let (Some(file), Some(commit)) = (commit_files.first(), commit) {
        return OutputPlace::Unapproved {
            file: file.clone(),
            from: format!("commit {commit}"),
            kept,
        };
    }
    if opened.preview
        && let Some(file) = in_tree(&opened.tree)
    {
        return OutputPlace::Unapproved {
            file,
            from: "the working directory".to_owned(),
            kept,
        };
    }
    OutputPlace::Clear
}

/// The paths of the files of `commit` at `relative` (the file itself, or everything
/// under the directory; everything for ""), in git's order.
fn files_under(git: &git2::Repository, commit: git2::Oid, relative: &str) -> Vec<String> {
    let Ok(root) = git.find_commit(commit).and_then(|c| c.tree()) else {
        return Vec::new();
    };
    let (tree, prefix) = if relative.is_empty() {
        (root, String::new())
    } else {
        let Ok(entry) = root.get_path(Path::new(relative)) else {
            return Vec::new();
        };
        if entry.kind() != Some(git2::ObjectType::Tree) {
            return vec![relative.to_owned()];
        }
        match git.find_tree(entry.id()) {
            Ok(tree) => (tree, format!("{relative}/")),
            Err(_) => return vec![relative.to_owned()],
        }
    };
    let mut files = Vec::new();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(git2::ObjectType::Tree) {
            files.push(format!(
                "{prefix}{dir}{}",
                String::from_utf8_lossy(entry.name_bytes())
            ));
        }
        git2::TreeWalkResult::Ok
    });
    files
}
