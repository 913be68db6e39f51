//! Patching the previous content with the few files that changed since, instead of
//! loading everything again.

use super::super::classify::{Classified, classify};
use super::super::kind::{DeclaredIds, Kind, Parsed};
use super::super::parse::{Job, parse_job};
use super::super::validate::Checks;
use super::super::{Content, Limits};
use super::cache::State;
use crate::diag::{Diagnostics, FileId};
use crate::source::{Blob, Tree};

/// A load before its cross-file checks.
pub(super) struct Patched {
    pub content: Content,
    pub declared: DeclaredIds,
    /// What classifying and parsing found.
    pub diagnostics: Diagnostics,
    pub checks: Checks,
}

/// More changed files than this are loaded the ordinary way (in parallel) rather than
/// patched in one by one.
const MAX_PATCHED_FILES: usize = 256;

/// One changed content file, parsed, before it goes into the content.
struct Patch {
    kind: Kind,
    id: String,
    path: String,
    /// The new document, or `None` if the file is gone.
    parsed: Option<(Parsed, std::sync::Arc<crate::diag::File>)>,
    /// The file id the document had, if the file existed.
    file: Option<FileId>,
}

/// The paths that may differ between the tree `state` saw and `tree`, with each one's
/// file in `tree` (`None` if it is gone); `None` if that cannot be told.
fn changed_paths<'t>(state: &'t State, tree: &'t Tree) -> Option<Vec<(&'t str, Option<&'t Blob>)>> {
    if let Some(paths) = tree.changed_since(state.tree_id) {
        let mut paths: Vec<&str> = paths.iter().map(|p| &**p).collect();
        paths.sort_unstable();
        paths.dedup();
        return Some(paths.into_iter().map(|p| (p, tree.blob(p))).collect());
    }
    let old = state.tree.as_ref()?;
    Some(
        old.changes(tree)
            .into_iter()
            .map(|change| (change.path, change.now))
            .collect(),
    )
}

/// The previous content with the files that changed since `state.tree` parsed and put
/// in place; `Err` gives everything back when that is not the way to load `tree`: a
/// changed file fails to parse or decode (the ordinary load reports it), is not where
/// content belongs, or is the configuration or the policy (which everything reads).
pub(super) fn patch(
    state: State,
    mut content: Content,
    tree: &Tree,
    limits: &Limits,
) -> Result<Patched, Box<(State, Content)>> {
    let Some(changes) = changed_paths(&state, tree) else {
        return Err(Box::new((state, content)));
    };
    if changes.len() > MAX_PATCHED_FILES {
        return Err(Box::new((state, content)));
    }
    let mut patches = Vec::new();
    let mut next_file = content.files.len();
    for &(path, now) in &changes {
        let (kind, id) = match classify(path) {
            Classified::Ignored => continue,
            Classified::Content(kind, _) if kind.governs() => {
                return Err(Box::new((state, content)));
            }
            Classified::Misplaced(_) => return Err(Box::new((state, content))),
            Classified::Content(kind, id) => (kind, id),
        };
        // The previous load was clean: every content file it saw has its document.
        let docs = content.shelf(kind);
        let file = docs
            .position(&id, path)
            .ok()
            .and_then(|i| docs.head(i))
            .map(|doc| doc.file());
        if now.is_none() && file.is_none() {
            continue;
        }
        let parsed = match now {
            None => None,
            Some(blob) => {
                let Ok(text) = std::str::from_utf8(blob.bytes()) else {
                    return Err(Box::new((state, content)));
                };
                // Over a limit: the ordinary load reports it.
                let size = blob.size_over_limit().unwrap_or(text.len() as u64);
                if super::super::limits::check(kind, text, size, limits).is_some() {
                    return Err(Box::new((state, content)));
                }
                let file_id = file.unwrap_or_else(|| {
                    next_file += 1;
                    FileId::from_index(u32::try_from(next_file - 1).unwrap_or(u32::MAX))
                });
                let shared = crate::diag::File::shared(path, text, blob.hash());
                let job = Job {
                    file: file_id,
                    kind,
                    id: id.clone(),
                    path,
                    text: Some(text),
                };
                match parse_job(&job, text) {
                    Ok(parsed) => Some((parsed, shared)),
                    Err(_) => return Err(Box::new((state, content))),
                }
            }
        };
        patches.push(Patch {
            kind,
            id,
            path: path.to_owned(),
            parsed,
            file,
        });
    }
    drop(changes);
    let State {
        mut declared,
        checks,
        tree: old_tree,
        ..
    } = state;
    let mut dirty = Vec::new();
    for patch in patches {
        if !dirty.contains(&patch.kind) {
            dirty.push(patch.kind);
        }
        match patch.parsed {
            Some((parsed, shared)) => {
                match patch.file {
                    Some(file) => content.files.replace(file, shared),
                    None => {
                        content.files.add_shared(shared);
                    }
                }
                declared.entry(patch.kind).or_default().insert(patch.id);
                content.put(parsed);
            }
            None => {
                let docs = content.shelf_mut(patch.kind);
                docs.remove(&patch.id, &patch.path);
                if docs.file_of_id(&patch.id).is_none()
                    && let Some(ids) = declared.get_mut(&patch.kind)
                {
                    ids.remove(&patch.id);
                }
            }
        }
    }
    // A map of every path, freed off the rebuild's way.
    crate::defer::drop_later(old_tree);
    let mut stamps = content.stamps;
    stamps.refresh(&content, &dirty);
    content.stamps = stamps;
    Ok(Patched {
        content,
        declared,
        diagnostics: Diagnostics::default(),
        checks,
    })
}
