//! A directory target: `<dir>` is a symbolic link to `<dir>.releases/<release>/`.
//!
//! A new release is written completely (every file and directory fsynced) under a
//! temporary name, renamed into place, and only then is a new link created under a
//! temporary name and renamed over `<dir>` (an atomic swap). Readers of `<dir>` see the
//! old release or the new one, never a mix, whenever the process dies. Releases beyond
//! `keep` (the live one included) are deleted afterwards, oldest first; the previous ones
//! stay for rollback.
//!
//! A release that cannot be finished (a write fails, or the sync is asked to stop) has
//! its staging directory removed at once; one left by a process that died mid-write is
//! removed before the next publication writes anything, so the space it took is free
//! again first.

use std::path::{Path, PathBuf};

use super::{Release, TargetError, io, write_files};
use crate::local::sync_dir;
use crate::sync::stop::Stop;
use crate::values::short_id;

/// Written last into every release: the commit, file count and time, so a release can
/// be checked for completeness.
pub const RELEASE_MANIFEST: &str = ".glassroom-release.json";

/// Publishes `release` as the new live release of `dir`; returns the release directory.
/// Gives up between two files when `stop` is requested.
pub fn publish(
    dir: &Path,
    keep: usize,
    release: &Release<'_>,
    stop: &Stop,
) -> Result<PathBuf, TargetError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| TargetError::NotALink {
            path: dir.to_path_buf(),
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let releases_name = format!("{name}.releases");
    let releases = parent.join(&releases_name);
    // Before anything is written: what a dead process left takes space.
    remove_unfinished(&releases, &parent, &name);
    check_replaceable(dir)?;
    std::fs::create_dir_all(&releases).map_err(io("create", &releases))?;

    // 1. The release, complete and durable, under a temporary name.
    let id = unique_release_name(&releases, release.at, release.commit);
    let staging = Staging::create(releases.join(format!(".tmp-{id}")))?;
    write_files(
        &staging.path,
        release
            .files
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice())),
        true,
        Some(stop),
    )?;
    let manifest = serde_json::json!({
        "commit": release.commit,
        "files": release.files.len(),
        "at": crate::sync::time::format(release.at),
    });
    write_files(
        &staging.path,
        std::iter::once((RELEASE_MANIFEST, manifest.to_string().as_bytes())),
        true,
        None,
    )?;
    let final_dir = releases.join(&id);
    staging.rename(&final_dir)?;
    sync_dir(&releases).map_err(io("sync", &releases))?;

    // 2. The atomic swap: a new link renamed over the old one.
    let link_target = PathBuf::from(&releases_name).join(&id);
    let temporary_link = parent.join(format!(".{name}.link-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary_link);
    std::os::unix::fs::symlink(&link_target, &temporary_link)
        .map_err(io("create the link", &temporary_link))?;
    if dir.is_dir() && !is_link(dir) {
        // An empty directory (checked above) from before the first release.
        std::fs::remove_dir(dir).map_err(io("replace", dir))?;
    }
    std::fs::rename(&temporary_link, dir).map_err(io("swap in", dir))?;
    sync_dir(&parent).map_err(io("sync", &parent))?;

    // 3. Old releases beyond `keep`.
    prune(&releases, &id, keep);
    Ok(final_dir)
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// `<dir>` may be absent, a symbolic link (an earlier release) or an empty directory.
fn check_replaceable(dir: &Path) -> Result<(), TargetError> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let empty = meta.is_dir()
        && std::fs::read_dir(dir)
            .map_err(io("read", dir))?
            .next()
            .is_none();
    if empty {
        Ok(())
    } else {
        Err(TargetError::NotALink {
            path: dir.to_path_buf(),
        })
    }
}

/// `20261123T100412Z-1a2b3c4d5e`, with `-2`, `-3`... if that exists already.
fn unique_release_name(releases: &Path, at: i64, commit: &str) -> String {
    let stamp = jiff::Timestamp::from_second(at.div_euclid(1000))
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| at.to_string());
    let base = format!("{stamp}-{}", short_id(commit));
    let mut candidate = base.clone();
    let mut n = 2;
    while releases.join(&candidate).exists() {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

/// A release being written; removed when dropped before it is renamed into place.
struct Staging {
    path: PathBuf,
    renamed: bool,
}

impl Staging {
    fn create(path: PathBuf) -> Result<Staging, TargetError> {
        std::fs::create_dir(&path).map_err(io("create", &path))?;
        Ok(Staging {
            path,
            renamed: false,
        })
    }

    fn rename(mut self, to: &Path) -> Result<(), TargetError> {
        std::fs::rename(&self.path, to).map_err(io("rename", &self.path))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Staging directories and temporary links left by a process that died mid-write (only
/// one push of a target runs at a time, under its lock, so none of them is in use).
fn remove_unfinished(releases: &Path, parent: &Path, name: &str) {
    if let Ok(entries) = std::fs::read_dir(releases) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let link = format!(".{name}.link-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&link) && is_link(&entry.path()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Deletes the oldest releases so that `keep` remain; never the live one.
fn prune(releases: &Path, live: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(releases) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for name in names.into_iter().take(excess) {
        if name != live {
            let _ = std::fs::remove_dir_all(releases.join(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn files(text: &str) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            ("index.html".to_owned(), text.as_bytes().to_vec()),
            ("hosts/web1.html".to_owned(), b"web1".to_vec()),
        ])
    }

    fn publish_at(dir: &Path, at: i64, commit: &str, text: &str, keep: usize) -> PathBuf {
        let files = files(text);
        let tree = crate::source::Tree::new();
        let release = Release {
            files: &files,
            commit,
            previous: None,
            at,
            git_dir: Path::new("/nonexistent"),
            approved: &tree,
            committer: "test",
        };
        match publish(dir, keep, &release, &Stop::new()) {
            Ok(path) => path,
            Err(err) => panic!("publish failed: {err}"),
        }
    }

    #[test]
    fn releases_are_swapped_in_and_pruned() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        for i in 0..4 {
            publish_at(
                &site,
                1_795_000_000_000 + i * 1000,
                &format!("c{i}"),
                &format!("v{i}"),
                2,
            );
            assert_eq!(
                std::fs::read_to_string(site.join("index.html"))?,
                format!("v{i}")
            );
        }
        let link = std::fs::read_link(&site)?;
        assert!(link.is_relative(), "{}", link.display());
        assert!(link.starts_with("site.releases"));
        let releases: Vec<_> = std::fs::read_dir(root.path().join("site.releases"))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(releases.len(), 2, "{releases:?}");
        let manifest = std::fs::read_to_string(site.join(RELEASE_MANIFEST))?;
        assert!(manifest.contains("\"commit\":\"c3\""), "{manifest}");
        // No temporary link or staging directory is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(root.path())?.flatten().collect();
        assert_eq!(leftovers.len(), 2);
        Ok(())
    }

    #[test]
    fn the_same_second_twice_makes_two_releases() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        let a = publish_at(&site, 1_795_000_000_000, "c", "one", 5);
        let b = publish_at(&site, 1_795_000_000_000, "c", "two", 5);
        assert_ne!(a, b);
        assert_eq!(std::fs::read_to_string(site.join("index.html"))?, "two");
        Ok(())
    }

    #[test]
    fn an_unfinished_release_is_cleaned_up_and_never_live() -> Result<(), Box<dyn std::error::Error>>
    {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        publish_at(&site, 1_795_000_000_000, "a", "one", 5);
        let stale = root.path().join("site.releases/.tmp-crashed");
        std::fs::create_dir_all(&stale)?;
        std::fs::write(stale.join("index.html"), "half")?;
        publish_at(&site, 1_795_000_001_000, "b", "two", 5);
        assert!(!stale.exists());
        assert_eq!(std::fs::read_to_string(site.join("index.html"))?, "two");
        Ok(())
    }

    /// Publishes a release that cannot be written (`a` is a file, then `a/b` needs it to
    /// be a directory), after its first file is, with `stop`.
    fn publish_broken(site: &Path, stop: &Stop) -> Result<PathBuf, TargetError> {
        let files = BTreeMap::from([
            ("a".to_owned(), b"file".to_vec()),
            ("a/b".to_owned(), b"under a file".to_vec()),
        ]);
        let tree = crate::source::Tree::new();
        let release = Release {
            files: &files,
            commit: "broken",
            previous: None,
            at: 1_795_000_009_000,
            git_dir: Path::new("/nonexistent"),
            approved: &tree,
            committer: "test",
        };
        publish(site, 5, &release, stop)
    }

    fn leftovers(root: &Path) -> Vec<String> {
        let mut names = Vec::new();
        for dir in [root.to_path_buf(), root.join("site.releases")] {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    names.push(name);
                }
            }
        }
        names
    }

    #[test]
    fn a_failed_or_stopped_release_is_removed_at_once() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        publish_at(&site, 1_795_000_000_000, "a", "one", 5);
        let failed = publish_broken(&site, &Stop::new());
        assert!(matches!(failed, Err(TargetError::Io { .. })), "{failed:?}");
        assert_eq!(leftovers(root.path()), Vec::<String>::new());
        let stop = Stop::new();
        stop.request("SIGTERM");
        let stopped = publish_at_with(&site, &stop);
        assert!(
            matches!(stopped, Err(TargetError::Stopped { by: "SIGTERM", .. })),
            "{stopped:?}"
        );
        assert_eq!(leftovers(root.path()), Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(site.join("index.html"))?, "one");
        Ok(())
    }

    fn publish_at_with(site: &Path, stop: &Stop) -> Result<PathBuf, TargetError> {
        let files = files("three");
        let tree = crate::source::Tree::new();
        let release = Release {
            files: &files,
            commit: "c",
            previous: None,
            at: 1_795_000_002_000,
            git_dir: Path::new("/nonexistent"),
            approved: &tree,
            committer: "test",
        };
        publish(site, 5, &release, stop)
    }

    /// What a killed process left (a half-written release, a temporary link) is gone
    /// before the next publication writes anything: even one that fails frees the space.
    #[test]
    fn leftovers_of_a_dead_process_are_removed_before_the_next_write()
    -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        publish_at(&site, 1_795_000_000_000, "a", "one", 5);
        let stale = root
            .path()
            .join("site.releases/.tmp-20261123T100412Z-crashed");
        std::fs::create_dir_all(&stale)?;
        std::fs::write(stale.join("index.html"), vec![b'x'; 1 << 20])?;
        let link = root.path().join(".site.link-4242");
        std::os::unix::fs::symlink("site.releases/whatever", &link)?;
        assert!(publish_broken(&site, &Stop::new()).is_err());
        assert_eq!(leftovers(root.path()), Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(site.join("index.html"))?, "one");
        Ok(())
    }

    #[test]
    fn a_real_directory_is_never_replaced() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let site = root.path().join("site");
        std::fs::create_dir(&site)?;
        std::fs::write(site.join("precious.html"), "keep")?;
        let files = files("x");
        let tree = crate::source::Tree::new();
        let release = Release {
            files: &files,
            commit: "c",
            previous: None,
            at: 0,
            git_dir: Path::new("/nonexistent"),
            approved: &tree,
            committer: "test",
        };
        assert!(matches!(
            publish(&site, 5, &release, &Stop::new()),
            Err(TargetError::NotALink { .. })
        ));
        assert!(site.join("precious.html").is_file());
        // An empty one is fine.
        std::fs::remove_file(site.join("precious.html"))?;
        publish(&site, 5, &release, &Stop::new())?;
        assert!(is_link(&site));
        Ok(())
    }
}
