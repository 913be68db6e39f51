//! Watching what the server serves and rebuilding when it changes.
//!
//! Which file-system events matter is decided by [`relevant`], a pure function (tested
//! below); the watcher thread only collects events, waits for a quiet moment and calls
//! the rebuild.

use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};

/// Rebuild once no relevant event came for this long...
const QUIET: Duration = Duration::from_millis(100);
/// ...but at the latest this long after the first one (a stream of writes).
const MAX_WAIT: Duration = Duration::from_secs(1);
/// A rebuild that asked to be retried (a directory caught mid-swap) waits this long.
const RETRY_AFTER: Duration = Duration::from_millis(100);
const MAX_RETRIES: usize = 50;

/// Directories of a working tree that never hold content (as the tree reader skips them).
const OUTPUT_DIRS: &[&str] = &["public", "target", "node_modules"];

/// What is watched, with canonical paths (event paths start with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// A built site directory. Its parent is watched too, because `glassroom build`
    /// replaces the directory by renaming a new one into place.
    Root { root: PathBuf },
    /// A repository served from its approved tree: only a moved branch matters
    /// (`HEAD`, `packed-refs`, `refs/**`).
    Refs {
        git_dir: PathBuf,
        common_dir: PathBuf,
    },
    /// A working tree (preview): every content file, and the refs as above.
    Worktree {
        root: PathBuf,
        git_dir: PathBuf,
        common_dir: PathBuf,
    },
}

impl Layout {
    /// The directories to watch and how.
    pub fn targets(&self) -> Vec<(PathBuf, RecursiveMode)> {
        match self {
            Layout::Root { root } => {
                let mut targets = vec![(root.clone(), RecursiveMode::Recursive)];
                if let Some(parent) = root.parent() {
                    targets.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
                }
                targets
            }
            Layout::Refs {
                git_dir,
                common_dir,
            } => refs_targets(git_dir, common_dir),
            Layout::Worktree {
                root,
                git_dir,
                common_dir,
            } => {
                let mut targets = vec![(root.clone(), RecursiveMode::Recursive)];
                if !git_dir.starts_with(root) || !common_dir.starts_with(root) {
                    targets.extend(refs_targets(git_dir, common_dir));
                }
                targets
            }
        }
    }
}

fn refs_targets(git_dir: &Path, common_dir: &Path) -> Vec<(PathBuf, RecursiveMode)> {
    let mut targets = vec![
        (git_dir.to_path_buf(), RecursiveMode::NonRecursive),
        (common_dir.join("refs"), RecursiveMode::Recursive),
    ];
    if common_dir != git_dir {
        targets.push((common_dir.to_path_buf(), RecursiveMode::NonRecursive));
    }
    targets
}

/// Whether an event of `kind` on `path` should trigger a rebuild.
///
/// Reads never do (the rebuild itself reads every file; counting those would loop);
/// neither do hidden files, editor droppings, output directories, git's lock files and
/// git internals other than the refs.
pub fn relevant(layout: &Layout, kind: &EventKind, path: &Path) -> bool {
    let changes = match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    };
    if !changes {
        return false;
    }
    match layout {
        Layout::Root { root } => {
            if path == root {
                return true;
            }
            match path.strip_prefix(root) {
                Ok(relative) => !relative.components().any(is_hidden),
                Err(_) => false,
            }
        }
        Layout::Refs {
            git_dir,
            common_dir,
        } => is_ref(git_dir, common_dir, path),
        Layout::Worktree {
            root,
            git_dir,
            common_dir,
        } => {
            if path.starts_with(git_dir) || path.starts_with(common_dir) {
                return is_ref(git_dir, common_dir, path);
            }
            let Ok(relative) = path.strip_prefix(root) else {
                return false;
            };
            let Some(Component::Normal(first)) = relative.components().next() else {
                return false;
            };
            let first = first.to_string_lossy();
            if OUTPUT_DIRS.contains(&first.as_ref()) {
                return false;
            }
            if first == ".glassroom" {
                return !relative.starts_with(".glassroom/cache")
                    && !relative.components().skip(1).any(is_hidden)
                    && !is_editor_file(path);
            }
            !relative.components().any(is_hidden) && !is_editor_file(path)
        }
    }
}

fn is_ref(git_dir: &Path, common_dir: &Path, path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "lock") {
        return false;
    }
    path == git_dir.join("HEAD")
        || path == common_dir.join("packed-refs")
        || path.starts_with(common_dir.join("refs"))
}

fn is_hidden(component: Component<'_>) -> bool {
    matches!(component, Component::Normal(name) if name.to_string_lossy().starts_with('.'))
}

/// Backup and swap files editors write beside the file being edited.
fn is_editor_file(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
        || (name.starts_with('#') && name.ends_with('#'))
}

/// The files a burst of events changed, relative to the working tree's root, when the
/// events tell them all; `None` when they do not (another layout, a lost event, an
/// error, a rebuild asked for): then a rebuild reads everything.
pub type Changed = Option<std::collections::BTreeSet<PathBuf>>;

/// Adds what `signal` tells of changed files to `changed`.
pub fn note(layout: &Layout, signal: &Signal, changed: &mut Changed) {
    let Layout::Worktree {
        root,
        git_dir,
        common_dir,
    } = layout
    else {
        *changed = None;
        return;
    };
    let Signal::Fs(Ok(event)) = signal else {
        *changed = None;
        return;
    };
    if event.need_rescan() || event.paths.is_empty() {
        *changed = None;
        return;
    }
    for path in &event.paths {
        if !relevant(layout, &event.kind, path)
            || path.starts_with(git_dir)
            || path.starts_with(common_dir)
        {
            continue;
        }
        match (path.strip_prefix(root), changed.as_mut()) {
            (Ok(relative), Some(paths)) => {
                paths.insert(relative.to_path_buf());
            }
            (Ok(_), None) => {}
            (Err(_), _) => *changed = None,
        }
    }
}

/// What the watcher thread receives.
#[derive(Debug)]
pub enum Signal {
    Fs(notify::Result<notify::Event>),
    /// Rebuild now (the server committed something itself).
    Poke,
    Stop,
}

/// What a rebuild asks of the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Done,
    /// The input was caught in an inconsistent state: try again shortly.
    Retry,
}

/// Starts watching `layout` on a thread that calls `rebuild` after each burst of
/// relevant changes (and for every [`Signal::Poke`]). `warn` reports watch problems.
pub fn spawn(
    layout: Layout,
    sender: Sender<Signal>,
    receiver: Receiver<Signal>,
    mut rebuild: impl FnMut(Changed) -> After + Send + 'static,
    warn: impl Fn(String) + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, notify::Error> {
    let events = sender.clone();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Signal::Fs(event));
    })?;
    for (path, mode) in layout.targets() {
        watcher.watch(&path, mode)?;
    }
    let thread = std::thread::Builder::new()
        .name("glassroom-watch".into())
        .spawn(move || {
            let matters = |signal: &Signal| match signal {
                Signal::Fs(Ok(event)) => event
                    .paths
                    .iter()
                    .any(|p| relevant(&layout, &event.kind, p)),
                Signal::Fs(Err(_)) | Signal::Poke => true,
                Signal::Stop => false,
            };
            loop {
                let Ok(first) = receiver.recv() else { return };
                if let Signal::Stop = first {
                    return;
                }
                if let Signal::Fs(Err(err)) = &first {
                    warn(format!("watching for changes: {err}"));
                }
                if !matters(&first) {
                    continue;
                }
                let mut changed = Some(Default::default());
                note(&layout, &first, &mut changed);
                if !settle(&receiver, &matters, &mut |signal| {
                    note(&layout, signal, &mut changed)
                }) {
                    return;
                }
                let mut attempts = 0;
                let mut after = rebuild(changed);
                while after == After::Retry && attempts < MAX_RETRIES {
                    attempts += 1;
                    std::thread::sleep(RETRY_AFTER);
                    after = rebuild(None);
                }
                if let Layout::Root { root } = &layout {
                    // A swapped-in directory is a new directory: watch it afresh.
                    let _ = watcher.unwatch(root);
                    if let Err(err) = watcher.watch(root, RecursiveMode::Recursive) {
                        warn(format!("cannot watch {}: {err}", root.display()));
                    }
                }
            }
        })
        .map_err(notify::Error::io)?;
    Ok(thread)
}

/// Waits until no relevant signal came for [`QUIET`] (at most [`MAX_WAIT`]). `false`
/// when the thread should stop.
fn settle(
    receiver: &Receiver<Signal>,
    matters: &impl Fn(&Signal) -> bool,
    seen: &mut impl FnMut(&Signal),
) -> bool {
    let deadline = Instant::now() + MAX_WAIT;
    let mut quiet_until = Instant::now() + QUIET;
    loop {
        let now = Instant::now();
        if now >= deadline || now >= quiet_until {
            return true;
        }
        match receiver.recv_timeout(quiet_until.min(deadline) - now) {
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Ok(signal) => {
                if matters(&signal) {
                    seen(&signal);
                    quiet_until = Instant::now() + QUIET;
                }
            }
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};

    const WRITE: EventKind = EventKind::Modify(ModifyKind::Any);

    fn worktree() -> Layout {
        Layout::Worktree {
            root: "/repo".into(),
            git_dir: "/repo/.git".into(),
            common_dir: "/repo/.git".into(),
        }
    }

    fn yes(layout: &Layout, kind: EventKind, path: &str) -> bool {
        relevant(layout, &kind, Path::new(path))
    }

    #[test]
    fn reads_never_trigger_a_rebuild() {
        let layout = worktree();
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let read_close = EventKind::Access(AccessKind::Close(AccessMode::Read));
        let write_close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(!yes(&layout, open, "/repo/hosts/web1.yaml"));
        assert!(!yes(&layout, read_close, "/repo/hosts/web1.yaml"));
        assert!(yes(&layout, write_close, "/repo/hosts/web1.yaml"));
        assert!(!yes(&layout, EventKind::Other, "/repo/hosts/web1.yaml"));
    }

    #[test]
    fn working_tree_content_counts_but_not_output_git_internals_or_editor_files() {
        let layout = worktree();
        for path in [
            "/repo/hosts/web1.yaml",
            "/repo/glassroom.yaml",
            "/repo/.glassroom/policy.yaml",
            "/repo/templates/host.html",
            "/repo/logbook/2026/11",
        ] {
            assert!(yes(&layout, WRITE, path), "{path}");
        }
        for path in [
            "/repo/public",
            "/repo/public/index.html",
            "/repo/target/debug/x",
            "/repo/.glassroom/cache/x",
            "/repo/.git/objects/ab/cdef",
            "/repo/.git/index",
            "/repo/.git/glassroom/trust-cache",
            "/repo/.git/refs/heads/main.lock",
            "/repo/hosts/.web1.yaml.swp",
            "/repo/hosts/web1.yaml~",
            "/repo/hosts/4913",
            "/repo/.hidden/x.yaml",
            "/elsewhere/x.yaml",
        ] {
            assert!(!yes(&layout, WRITE, path), "{path}");
        }
        // A commit moves a branch: rebuild (intake writes files and commits).
        assert!(yes(
            &layout,
            EventKind::Create(CreateKind::File),
            "/repo/.git/refs/heads/main"
        ));
        assert!(yes(&layout, WRITE, "/repo/.git/HEAD"));
    }

    #[test]
    fn a_burst_tells_the_files_it_changed_unless_it_cannot() {
        use notify::event::{Flag, ModifyKind};
        let layout = worktree();
        let event = |kind: EventKind, paths: &[&str]| {
            let mut event = notify::Event::new(kind);
            for path in paths {
                event = event.add_path(PathBuf::from(path));
            }
            Signal::Fs(Ok(event))
        };
        let mut changed: Changed = Some(Default::default());
        note(
            &layout,
            &event(WRITE, &["/repo/hosts/a.yaml"]),
            &mut changed,
        );
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        note(
            &layout,
            &event(renamed, &["/repo/hosts/sedX1", "/repo/hosts/b.yaml"]),
            &mut changed,
        );
        // A ref moving and editor droppings add no file.
        note(
            &layout,
            &event(WRITE, &["/repo/.git/refs/heads/main"]),
            &mut changed,
        );
        note(
            &layout,
            &event(WRITE, &["/repo/hosts/.a.yaml.swp"]),
            &mut changed,
        );
        let files: Vec<PathBuf> = changed.clone().unwrap_or_default().into_iter().collect();
        assert_eq!(
            files,
            ["hosts/a.yaml", "hosts/b.yaml", "hosts/sedX1"].map(PathBuf::from)
        );
        // A lost event, an error or a rebuild asked for: everything may have changed.
        let lost = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        for signal in [Signal::Fs(Ok(lost)), Signal::Poke] {
            let mut changed: Changed = Some(Default::default());
            note(&layout, &signal, &mut changed);
            assert_eq!(changed, None);
        }
        // Once unknown, it stays unknown; other layouts never know.
        let mut changed: Changed = None;
        note(
            &layout,
            &event(WRITE, &["/repo/hosts/a.yaml"]),
            &mut changed,
        );
        assert_eq!(changed, None);
        let site = Layout::Root {
            root: "/srv/public".into(),
        };
        let mut changed: Changed = Some(Default::default());
        note(
            &site,
            &event(WRITE, &["/srv/public/index.html"]),
            &mut changed,
        );
        assert_eq!(changed, None);
    }

    #[test]
    fn an_approved_tree_server_watches_only_the_refs() {
        let layout = Layout::Refs {
            git_dir: "/repo/.git".into(),
            common_dir: "/repo/.git".into(),
        };
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(yes(&layout, renamed, "/repo/.git/refs/heads/main"));
        assert!(yes(&layout, renamed, "/repo/.git/HEAD"));
        assert!(yes(&layout, renamed, "/repo/.git/packed-refs"));
        assert!(!yes(&layout, WRITE, "/repo/.git/refs/heads/main.lock"));
        assert!(!yes(&layout, WRITE, "/repo/.git/index"));
        assert!(!yes(&layout, WRITE, "/repo/.git/ORIG_HEAD"));
        assert!(!yes(&layout, WRITE, "/repo/hosts/web1.yaml"));
        let targets = layout.targets();
        assert!(targets.contains(&("/repo/.git/refs".into(), RecursiveMode::Recursive)));
    }

    #[test]
    fn a_site_directory_counts_itself_and_its_files_but_not_its_siblings() {
        let layout = Layout::Root {
            root: "/srv/public".into(),
        };
        assert!(yes(&layout, WRITE, "/srv/public/index.html"));
        assert!(yes(
            &layout,
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            "/srv/public"
        ));
        assert!(yes(
            &layout,
            EventKind::Remove(RemoveKind::Folder),
            "/srv/public"
        ));
        assert!(!yes(&layout, WRITE, "/srv/.public.new-x1y2"));
        assert!(!yes(&layout, WRITE, "/srv/other.txt"));
        assert!(!yes(&layout, WRITE, "/srv/public/.glassroom-site"));
        let targets = layout.targets();
        assert!(targets.contains(&("/srv".into(), RecursiveMode::NonRecursive)));
    }
}
