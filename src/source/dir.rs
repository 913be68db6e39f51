//! A content tree read from a directory on disk.

use std::path::{Component, Path};

use rayon::prelude::*;
use walkdir::WalkDir;

use super::{SourceError, Tree};

/// Directories that hold output, caches or version control, never content.
const SKIPPED_DIRS: &[&str] = &[".git", "public", "target", "node_modules"];

/// Reads every regular file under `root` into a [`Tree`].
///
/// Hidden entries are skipped except `.glassroom/` (the policy lives there), and so are
/// build output and VCS directories. Symbolic links are not followed: a link inside the
/// repository could otherwise pull in files from anywhere on the machine.
pub fn read_dir(root: &Path) -> Result<Tree, SourceError> {
    if !root.is_dir() {
        return Err(SourceError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_skipped(entry.path(), root));
    for entry in walker {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(root).to_path_buf();
            SourceError::Io {
                path,
                source: err.into(),
            }
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(relative) = relative_path(root, entry.path()) else {
            continue;
        };
        files.push((relative, entry.into_path()));
    }
    // Reading is the slow part of a large repository: do it in parallel.
    let read: Vec<(String, Vec<u8>)> = files
        .into_par_iter()
        .map(|(relative, path)| {
            std::fs::read(&path)
                .map(|bytes| (relative, bytes))
                .map_err(|source| SourceError::Io { path, source })
        })
        .collect::<Result<_, _>>()?;
    let mut tree = Tree::new();
    for (relative, bytes) in read {
        tree.insert(relative, bytes);
    }
    Ok(tree)
}

fn is_skipped(path: &Path, root: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return true;
    };
    let mut components = relative.components();
    let Some(Component::Normal(first)) = components.next() else {
        return true;
    };
    let first = first.to_string_lossy();
    let is_top = components.next().is_none();
    if first == ".glassroom" {
        // The policy lives here; the build cache does not belong to the content.
        return relative.starts_with(".glassroom/cache");
    }
    if is_top && SKIPPED_DIRS.contains(&first.as_ref()) {
        return true;
    }
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

/// `root/a/b.yaml` → `a/b.yaml`, or `None` for a name that is not valid UTF-8.
fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_and_skips_output_and_hidden_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        for (path, text) in [
            ("glassroom.yaml", "title: x\n"),
            ("hosts/a.yaml", "os: linux\n"),
            (".glassroom/policy.yaml", "users: {}\n"),
            (".glassroom/cache/blob", "x"),
            ("public/index.html", "<html>"),
            (".git/HEAD", "ref"),
            ("hosts/.swp", "x"),
        ] {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().ok_or("no parent")?)?;
            std::fs::write(full, text)?;
        }
        let tree = read_dir(root)?;
        let paths: Vec<&str> = tree.iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [".glassroom/policy.yaml", "glassroom.yaml", "hosts/a.yaml"]
        );
        Ok(())
    }
}
