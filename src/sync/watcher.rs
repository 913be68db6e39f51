//! Watching a repository for new commits (notify) and for `--now` requests.
//!
//! Three places are watched: the git directory itself (for `HEAD` and `packed-refs`),
//! `refs/` recursively (a `git commit`, a `git push` into a bare repository and
//! `glassroom log` all end by renaming a file there), and glassroom's own directory (for
//! the request file). What a file system event means is decided by [`classify`], a pure
//! function; the driver then compares the approved head, so a spurious event costs one
//! ref lookup and never a push.

use std::path::{Component, Path};
use std::sync::mpsc::Sender;

use notify::{EventKind, RecursiveMode, Watcher as _};

use super::state::{Paths, REQUEST};

/// What a file system event means for the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A ref may have moved: look at the approved head again.
    Refs,
    /// `glassroom sync --now` asked for a sync.
    Request,
}

/// The meaning of a change to `path` (anywhere), given the git directory. `None` for
/// everything else: objects, the index, lock files, logs, glassroom's own state and cache
/// (which the sync itself writes: reacting to them would loop).
pub fn classify(git_dir: &Path, path: &Path, kind: &EventKind) -> Option<Signal> {
    if matches!(kind, EventKind::Access(_)) {
        return None;
    }
    let relative = path.strip_prefix(git_dir).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        ["glassroom", name] if *name == REQUEST => {
            // The request file appearing (not its removal by the watcher itself).
            (!matches!(kind, EventKind::Remove(_))).then_some(Signal::Request)
        }
        ["HEAD"] | ["packed-refs"] => Some(Signal::Refs),
        ["refs", .., last] if !last.ends_with(".lock") => Some(Signal::Refs),
        _ => None,
    }
}

/// A running watcher; dropping it stops it.
pub struct RepoWatcher {
    _inner: notify::RecommendedWatcher,
}

/// Starts watching `git_dir`; every meaningful event is sent as `wrap(signal)`.
pub fn start<M: Send + 'static>(
    git_dir: &Path,
    paths: &Paths,
    sender: Sender<M>,
    wrap: fn(Signal) -> M,
) -> notify::Result<RepoWatcher> {
    let root = git_dir.to_path_buf();
    let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            // An overflow or a watch error: look again to be safe.
            let _ = sender.send(wrap(Signal::Refs));
            return;
        };
        let mut refs = false;
        let mut request = false;
        for path in &event.paths {
            match classify(&root, path, &event.kind) {
                Some(Signal::Refs) => refs = true,
                Some(Signal::Request) => request = true,
                None => {}
            }
        }
        if event.need_rescan() {
            refs = true;
        }
        if request {
            let _ = sender.send(wrap(Signal::Request));
        }
        if refs {
            let _ = sender.send(wrap(Signal::Refs));
        }
    })?;
    inner.watch(git_dir, RecursiveMode::NonRecursive)?;
    let refs = git_dir.join("refs");
    if refs.is_dir() {
        inner.watch(&refs, RecursiveMode::Recursive)?;
    }
    inner.watch(&paths.dir, RecursiveMode::NonRecursive)?;
    Ok(RepoWatcher { _inner: inner })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};

    fn check(path: &str, kind: EventKind) -> Option<Signal> {
        classify(
            Path::new("/repo/.git"),
            &Path::new("/repo/.git").join(path),
            &kind,
        )
    }

    #[test]
    fn ref_updates_are_signals() {
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        let created = EventKind::Create(CreateKind::File);
        // git commit / git push into a bare repository / glassroom log.
        assert_eq!(check("refs/heads/main", renamed), Some(Signal::Refs));
        assert_eq!(check("refs/heads/feature/x", created), Some(Signal::Refs));
        assert_eq!(check("HEAD", renamed), Some(Signal::Refs));
        assert_eq!(check("packed-refs", renamed), Some(Signal::Refs));
        // A deleted branch matters too.
        assert_eq!(
            check("refs/heads/main", EventKind::Remove(RemoveKind::File)),
            Some(Signal::Refs)
        );
    }

    #[test]
    fn everything_else_is_noise() {
        let created = EventKind::Create(CreateKind::File);
        for path in [
            "refs/heads/main.lock",
            "HEAD.lock",
            "objects/ab/cdef0123",
            "index",
            "index.lock",
            "logs/HEAD",
            "COMMIT_EDITMSG",
            "glassroom/sync-state.json",
            "glassroom/.tmp-XYZ",
            "glassroom/trust-cache",
            "glassroom/sync.lock",
            "glassroom/push-mirror.lock",
            "glassroom/push-mirror.json",
        ] {
            assert_eq!(check(path, created), None, "{path}");
        }
        assert_eq!(
            classify(
                Path::new("/repo/.git"),
                Path::new("/elsewhere/refs/heads/main"),
                &created
            ),
            None
        );
        assert_eq!(
            check(
                "refs/heads/main",
                EventKind::Access(notify::event::AccessKind::Any)
            ),
            None
        );
    }

    #[test]
    fn the_request_file_is_a_request_until_it_is_removed() {
        assert_eq!(
            check("glassroom/sync-now", EventKind::Create(CreateKind::File)),
            Some(Signal::Request)
        );
        assert_eq!(
            check(
                "glassroom/sync-now",
                EventKind::Modify(ModifyKind::Name(RenameMode::To))
            ),
            Some(Signal::Request)
        );
        assert_eq!(
            check("glassroom/sync-now", EventKind::Remove(RemoveKind::File)),
            None
        );
    }
}
