//! From a tree of files to typed documents: classify each path, parse in parallel, then
//! check the repository as a whole. What one load leaves the next is in [`cache`]; how a
//! load after a clean one patches its content is in [`patch`].

mod cache;
mod patch;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::classify::{Classified, classify};
use super::kind::{CONFIG_PATH, DeclaredIds, Parsed};
use super::limits::Over;
use super::parse::{Job, parse_job};
use super::stored::Store;
use super::validate::Checks;
use super::{Content, Loaded};
use crate::diag::{Diagnostic, Diagnostics, FileId, Files, Location};
use crate::source::Tree;
use crate::trust::policy::POLICY_PATH;
use cache::{Entries, State, entries_of};
use patch::{Patched, patch};

pub use cache::ParseCache;

/// Loads and validates every content file of `tree`, reporting every problem found.
pub fn load(tree: &Tree) -> Loaded {
    load_with_pending(tree, &BTreeMap::new())
}

/// Like [`load`], for an approved tree: `pending` maps files that exist but wait for
/// approval to who could sign them, so a reference to one says that instead of "unknown".
pub fn load_with_pending(tree: &Tree, pending: &BTreeMap<String, String>) -> Loaded {
    load_cached(tree, pending, &ParseCache::default())
}

/// Like [`load_with_pending`], reusing what `cache` kept of the previous load in this
/// process. When that load was clean and a few content files changed since, only those
/// are parsed, the previous content is patched and only the checks that read their kinds
/// run again ([`ParseCache`]); otherwise every file is classified and the unchanged ones
/// are taken from the previous load instead of being parsed again. The caller hands the
/// content back to the cache when done with it ([`ParseCache::keep`]).
pub fn load_cached(tree: &Tree, pending: &BTreeMap<String, String>, cache: &ParseCache) -> Loaded {
    load_leaving_out(tree, pending, &BTreeSet::new(), cache)
}

/// Like [`load_cached`], for an approved tree where the files at `provisional` paths are
/// published only because the policy pre-approves them: such a file that has errors,
/// and every such file that refers to one, is left out ([`Loaded::left_out`]) instead
/// of failing the load, and the rest is validated without them.
pub fn load_leaving_out(
    tree: &Tree,
    pending: &BTreeMap<String, String>,
    provisional: &BTreeSet<String>,
    cache: &ParseCache,
) -> Loaded {
    let limits = super::Limits::of_tree(tree);
    let (previous_content, mut state) = match cache.take() {
        (Some(state), Some(content)) if state.clean && state.pending == *pending => {
            match patch(state, content, tree, &limits) {
                Ok(loaded) => {
                    cache
                        .patched
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    crate::timings::mark("patch the content");
                    return finish(loaded, tree, pending, provisional, cache);
                }
                Err(back) => {
                    let (state, content) = *back;
                    (Some(content), Some(state))
                }
            }
        }
        (state, content) => (content, state),
    };
    // Files are numbered afresh: findings that point into them are stale.
    if let Some(state) = &mut state {
        state.checks.clear();
    }
    let known = previous_content.map(entries_of).unwrap_or_default();
    let store = cache.store.lock().ok().and_then(|mut store| store.take());
    let (content, declared, diagnostics) = load_all(tree, known, store.as_ref(), &limits);
    if let (Some(store), Ok(mut slot)) = (store, cache.store.lock()) {
        *slot = Some(store);
    }
    let checks = state.map_or_else(
        || {
            if cache.keeping {
                Checks::keeping()
            } else {
                Checks::default()
            }
        },
        |state| state.checks,
    );
    let loaded = Patched {
        content,
        declared,
        diagnostics,
        checks,
    };
    finish(loaded, tree, pending, provisional, cache)
}

/// Runs the checks, sorts the findings and leaves the cache what the next load needs.
fn finish(
    loaded: Patched,
    tree: &Tree,
    pending: &BTreeMap<String, String>,
    provisional: &BTreeSet<String>,
    cache: &ParseCache,
) -> Loaded {
    let Patched {
        mut content,
        mut declared,
        mut diagnostics,
        checks,
    } = loaded;
    let validation = super::validate::validate_with(&content, &declared, pending, &checks);
    crate::timings::mark("validate");
    let mut left_out = Vec::new();
    if !provisional.is_empty()
        && validation
            .iter()
            .chain(diagnostics.iter())
            .any(Diagnostic::is_error)
    {
        let outcome = super::left_out::leave_out(
            &mut content,
            &mut declared,
            diagnostics,
            validation,
            pending,
            &checks,
            provisional,
        );
        diagnostics = outcome.diagnostics;
        left_out = outcome.left_out;
        crate::timings::mark("leave out pre-approved files with errors");
    } else {
        diagnostics.extend(validation);
    }
    diagnostics.sort(&content.files);
    cache.remember(State {
        tree_id: tree.id(),
        // A tree read through a directory cache tells what changed; keeping a copy
        // would make the cache copy its map on every change.
        tree: (!tree.tracks_changes()).then(|| tree.clone()),
        pending: pending.clone(),
        declared,
        // A load that left files out has content without them: the next one is made
        // whole again rather than patched.
        clean: !diagnostics.has_errors() && left_out.is_empty(),
        checks,
    });
    Loaded {
        content,
        diagnostics,
        left_out,
    }
}

/// Classifies, decodes and parses every file of `tree` (taking the documents of unchanged
/// files from `known` or else from `store`, by path and hash), in parallel.
fn load_all(
    tree: &Tree,
    mut known: Entries,
    store: Option<&Store>,
    limits: &super::Limits,
) -> (Content, DeclaredIds, Diagnostics) {
    let mut files = Files::new();
    let mut diagnostics = Diagnostics::default();
    let mut jobs = Vec::new();
    // Classifying and decoding every file is independent work: in parallel, in path
    // order; only numbering the files is sequential. A file whose text is the one the
    // cache holds is shared with the previous load, not decoded again. For a file the
    // store has a document of (same path, same hash), the document is read, not parsed.
    // A file over a limit is neither decoded whole nor parsed: it is reported.
    let classified: Vec<Classifying<'_>> = tree
        .blobs()
        .collect::<Vec<_>>()
        .into_par_iter()
        .filter_map(|(path, blob)| {
            let bytes = blob.bytes();
            let classified = classify(path);
            if matches!(classified, Classified::Ignored) {
                return None;
            }
            // Content files carry their hash, for fingerprints of what pages show.
            let hash = match &classified {
                Classified::Content(..) => Some(blob.hash()),
                _ => None,
            };
            let size = blob
                .size_over_limit()
                .unwrap_or(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
            if size > limits.max_file_size.0 {
                let text = Text::Decoded(String::new(), None, hash);
                return Some((path, classified, text, None, Some(Over::Size(size))));
            }
            let unchanged = hash
                .and_then(|hash| known.get(path).filter(|kept| kept.hash == hash))
                .map(|kept| Text::Shared(kept.file.clone()));
            let text = unchanged.unwrap_or_else(|| decode(bytes, hash));
            let over = match (&classified, &text) {
                (Classified::Content(kind, _), Text::Shared(file)) => {
                    super::limits::check(*kind, file.text(), size, limits)
                }
                (Classified::Content(kind, _), Text::Decoded(text, _, _)) => {
                    super::limits::check(*kind, text, size, limits)
                }
                _ => None,
            };
            let stored = match (&classified, &text, store, over) {
                (
                    Classified::Content(kind, id),
                    Text::Decoded(text, None, Some(hash)),
                    Some(store),
                    None,
                ) => store.document(*kind, id, path, text, *hash),
                _ => None,
            };
            Some((path, classified, text, stored, over))
        })
        .collect();
    let mut parsed: Vec<Option<Parsed>> = Vec::new();
    for (path, classified, text, stored, over) in classified {
        let (file, invalid_at, shared) = match text {
            Text::Shared(shared) => (files.add_shared(shared), None, true),
            Text::Decoded(text, invalid_at, Some(hash)) => {
                (files.add_hashed(path, text, hash), invalid_at, false)
            }
            Text::Decoded(text, invalid_at, None) => (files.add(path, text), invalid_at, false),
        };
        let kind_and_id = match classified {
            Classified::Ignored => continue,
            Classified::Misplaced(diagnostic) => {
                diagnostics.push(diagnostic.at(Location::file_start(file)));
                continue;
            }
            Classified::Content(kind, id) => (kind, id),
        };
        if let Some(at) = invalid_at {
            diagnostics.push(invalid_utf8(file, at));
        }
        if let Some(over) = over {
            diagnostics.push(over.diagnostic(file, limits));
            parsed.push(None);
            jobs.push((file, kind_and_id, path, false));
            continue;
        }
        // An unchanged file's document moves over from the previous load.
        let kept = shared.then(|| known.remove(path)).flatten();
        parsed.push(
            kept.map(|kept| kept.parsed)
                .or(stored)
                .map(|parsed| parsed.in_file(file)),
        );
        jobs.push((file, kind_and_id, path, invalid_at.is_none()));
    }
    crate::defer::drop_later(known);
    // Every id that has a file, parsed or not: a reference to a file that failed to
    // parse is not also reported as dangling.
    let mut declared = DeclaredIds::new();
    for (_, (kind, id), _, _) in &jobs {
        declared.entry(*kind).or_default().insert(id.clone());
    }
    let jobs: Vec<Job<'_>> = jobs
        .into_iter()
        .map(|(file, (kind, id), path, ok)| Job {
            file,
            kind,
            id,
            path,
            text: ok.then(|| files.text(file)),
        })
        .collect();

    crate::timings::mark("classify files (load)");
    let results: Vec<Option<Result<Parsed, Box<Diagnostic>>>> = jobs
        .par_iter()
        .zip(parsed.par_iter_mut())
        .map(|(job, kept)| match kept.take() {
            Some(parsed) => Some(Ok(parsed)),
            None => job.text.map(|text| parse_job(job, text)),
        })
        .collect();

    let mut content = Content::default();
    for result in results.into_iter().flatten() {
        match result {
            Ok(parsed) => content.push(parsed),
            Err(diagnostic) => diagnostics.push(*diagnostic),
        }
    }
    for kind in super::Kind::ALL {
        content.shelf_mut(kind).sort();
    }
    content.files = files;
    content.stamps = super::Stamps::of(&content);
    content.generation = super::next_generation();

    if content.config.is_none() && tree.get(CONFIG_PATH).is_none() {
        diagnostics.push(
            Diagnostic::error("missing-config", "this repository has no `glassroom.yaml`")
                .with_help("create `glassroom.yaml` with at least `title: <your site's title>`"),
        );
    }
    if content.policy.is_none() && tree.get(POLICY_PATH).is_none() {
        diagnostics.push(
            Diagnostic::error(
                "missing-policy",
                format!("this repository has no `{POLICY_PATH}`"),
            )
            .with_help("declare who may sign what: users with their SSH keys, groups and grants"),
        );
    }
    match store {
        Some(store) => crate::timings::mark(&format!(
            "parse files ({} documents read from the store)",
            store.used()
        )),
        None => crate::timings::mark("parse files"),
    }
    (content, declared, diagnostics)
}

/// A file's bytes as text, with the offset of the first byte that is not UTF-8.
fn decode(bytes: &[u8], hash: Option<blake3::Hash>) -> Text {
    match std::str::from_utf8(bytes) {
        Ok(text) => Text::Decoded(text.to_owned(), None, hash),
        Err(err) => Text::Decoded(
            String::from_utf8_lossy(bytes).into_owned(),
            Some(err.valid_up_to()),
            hash,
        ),
    }
}

fn invalid_utf8(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::error("invalid-utf8", "file is not valid UTF-8 text")
        .at(Location::new(file, at..at))
        .with_help("save the file as UTF-8")
}

/// One file of a load after classifying and decoding: its path, what it is, its text,
/// its document if the store had it, and the limit it is over, if any.
type Classifying<'t> = (&'t str, Classified, Text, Option<Parsed>, Option<Over>);

/// A file's text for a load: shared with the previous load, or decoded now (with the
/// offset of its first invalid UTF-8 byte, if any, and the hash of its bytes).
enum Text {
    Shared(std::sync::Arc<crate::diag::File>),
    Decoded(String, Option<usize>, Option<blake3::Hash>),
}
