//! The rows of the ticket list's two tables, rendered one ticket at a time through the
//! theme's `ticket_row.html` and joined for `tickets.html` (as `ticket_rows.open` and
//! `ticket_rows.closed`).
//!
//! The ticket list is the largest page of a big repository (every ticket, one row each)
//! and is rendered again whenever any ticket changes. Rendered row by row, the rows are
//! rendered in parallel, and the preview server keeps them between rebuilds: a changed
//! ticket renders its own row again, not the whole table.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;

use super::Input;
use crate::derive::TicketGroups;

/// The template of one row; a theme without it keeps its own loops in `tickets.html`.
pub const TEMPLATE: &str = "ticket_row.html";

/// What one ticket's row is made from: the table it is in, the ticket's file and the file of the
/// release it was fixed in (the row shows its version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowInputs {
    open: bool,
    ticket: Option<blake3::Hash>,
    release: Option<blake3::Hash>,
}

/// Rows rendered by earlier builds in this process, by key (a ticket's id, a file's
/// path), with their inputs, for the pages of one theme (`global`) at one depth (`root`).
/// The default keeps nothing (a one-off build renders every row once).
pub struct RowCache<I = RowInputs> {
    keeping: bool,
    kept: Mutex<Option<Kept<I>>>,
}

impl<I> Default for RowCache<I> {
    fn default() -> Self {
        Self {
            keeping: false,
            kept: Mutex::new(None),
        }
    }
}

struct Kept<I> {
    global: blake3::Hash,
    root: String,
    /// In the order they were wanted: the next build usually wants the same rows in the
    /// same order, so each is found at its own position, without a lookup by key.
    rows: Vec<KeptRow<I>>,
}

struct KeptRow<I> {
    key: Box<str>,
    inputs: I,
    html: Arc<str>,
}

impl<I> RowCache<I> {
    /// A cache that keeps each build's rows for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            kept: Mutex::new(None),
        }
    }
}

/// The rows of `wanted` (each row's key and inputs), in order: rows whose inputs are the
/// ones they had in `cache` are taken from it, the others rendered (in parallel) by
/// `render`, given the row's index. `global` is the key of what every page shows; `None`
/// (another theme, or overridden templates) means no row is taken.
fn cached_rows<I: PartialEq + Clone + Send + Sync>(
    cache: &RowCache<I>,
    global: Option<&blake3::Hash>,
    root: &str,
    wanted: &[(&str, I)],
    render: impl Fn(usize) -> tera::TeraResult<String> + Sync,
) -> tera::TeraResult<Vec<Arc<str>>> {
    let kept = match (cache.keeping, global) {
        (true, Some(global)) => cache
            .kept
            .lock()
            .ok()
            .and_then(|mut kept| kept.take())
            .filter(|kept| kept.global == *global && kept.root == root),
        _ => None,
    };
    let kept_rows = kept.as_ref().map_or(&[][..], |kept| kept.rows.as_slice());
    // Rows that moved (a ticket opened or closed, a file added) are found by key.
    let in_place = kept_rows.len() == wanted.len()
        && kept_rows
            .iter()
            .zip(wanted)
            .all(|(row, (key, _))| *row.key == **key);
    let by_key: HashMap<&str, &KeptRow<I>> = if in_place {
        HashMap::new()
    } else {
        kept_rows.iter().map(|row| (&*row.key, row)).collect()
    };
    let known = |i: usize, key: &str, inputs: &I| {
        let row = if in_place {
            kept_rows.get(i)
        } else {
            by_key.get(key).copied()
        };
        row.filter(|row| row.inputs == *inputs)
            .map(|row| Arc::clone(&row.html))
    };
    let rows: Vec<Arc<str>> = wanted
        .par_iter()
        .enumerate()
        .map(|(i, (key, inputs))| match known(i, key, inputs) {
            Some(html) => Ok(html),
            None => Ok(Arc::from(render(i)?)),
        })
        .collect::<tera::TeraResult<_>>()?;
    drop(by_key);
    if let (true, Some(global)) = (cache.keeping, global) {
        let kept = match kept {
            // The same rows: only the changed ones are replaced.
            Some(mut kept) if in_place => {
                for ((row, (_, inputs)), html) in kept.rows.iter_mut().zip(wanted).zip(&rows) {
                    if !Arc::ptr_eq(&row.html, html) {
                        row.inputs = inputs.clone();
                        row.html = Arc::clone(html);
                    }
                }
                kept
            }
            _ => Kept {
                global: *global,
                root: root.to_owned(),
                rows: wanted
                    .iter()
                    .zip(&rows)
                    .map(|((key, inputs), html)| KeptRow {
                        key: (*key).into(),
                        inputs: inputs.clone(),
                        html: Arc::clone(html),
                    })
                    .collect(),
            },
        };
        if let Ok(mut slot) = cache.kept.lock() {
            *slot = Some(kept);
        }
    }
    Ok(rows)
}

/// The joined rows of the open and the closed tickets that one page of the ticket list
/// shows, in the ticket list's order.
#[derive(Serialize, Debug, Default, PartialEq, Eq)]
pub struct TicketRows {
    pub open: String,
    pub closed: String,
}

/// Every row of the open and of the closed tickets, in the ticket list's order: made
/// once for all the pages of the list, each of which joins its own rows.
#[derive(Debug, Default)]
pub struct TicketRowList {
    open: Vec<Arc<str>>,
    closed: Vec<Arc<str>>,
}

impl TicketRowList {
    /// The rows `open` of the open tickets and `closed` of the closed ones, joined (a
    /// table not on the page: `None`).
    pub fn page(&self, open: Option<Range<usize>>, closed: Option<Range<usize>>) -> TicketRows {
        let join = |rows: &[Arc<str>], range: Option<Range<usize>>| {
            let rows = range.and_then(|r| rows.get(r)).unwrap_or_default();
            let mut joined = String::with_capacity(rows.iter().map(|row| row.len()).sum());
            for row in rows {
                joined.push_str(row);
            }
            joined
        };
        TicketRows {
            open: join(&self.open, open),
            closed: join(&self.closed, closed),
        }
    }
}

/// What one row is rendered from.
#[derive(Serialize)]
struct RowContext<'a> {
    id: &'a str,
    open: bool,
    root: &'a str,
}

/// Renders every row of the ticket list at depth `root`. Rows whose inputs are the ones
/// they had in `cache` are taken from it; `global` is the key of what every page shows,
/// and `None` (another theme, or overridden templates) means no row is taken.
pub fn ticket_rows(
    tera: &tera::Tera,
    input: &Input<'_>,
    groups: &TicketGroups,
    global: Option<&blake3::Hash>,
    cache: &RowCache,
    root: &str,
) -> tera::TeraResult<TicketRowList> {
    let content = input.content;
    // (id, open, the ticket's index among the tickets)
    let wanted: Vec<(&str, bool, usize)> = groups
        .open
        .iter()
        .zip(&groups.open_docs)
        .map(|(id, doc)| (id.as_str(), true, *doc))
        .chain(
            groups
                .closed
                .iter()
                .zip(&groups.closed_docs)
                .map(|(id, doc)| (id.as_str(), false, *doc)),
        )
        .collect();
    let hash_of = |file| content.files.hash(file);
    let release_of = |id: &str| {
        content
            .releases
            .binary_search_by(|d| d.id.as_str().cmp(id))
            .ok()
            .and_then(|i| content.releases.get(i))
    };
    let inputs = |doc: usize, open: bool| {
        let ticket = content.tickets.get(doc);
        let release = ticket
            .and_then(|t| t.data.fixed_in.as_ref())
            .and_then(|r| release_of(r.as_str()));
        RowInputs {
            open,
            ticket: ticket.and_then(|t| hash_of(t.file())),
            release: release.and_then(|r| hash_of(r.file())),
        }
    };
    let keyed: Vec<(&str, RowInputs)> = wanted
        .iter()
        .map(|&(id, open, doc)| (id, inputs(doc, open)))
        .collect();
    let rows = cached_rows(cache, global, root, &keyed, |i| {
        let (id, open, _) = wanted[i];
        let context = tera::Context::from_serialize(&RowContext { id, open, root })?;
        tera.render(TEMPLATE, &context)
    })?;
    let mut list = TicketRowList::default();
    for ((_, open, _), html) in wanted.iter().zip(rows) {
        if *open {
            list.open.push(html);
        } else {
            list.closed.push(html);
        }
    }
    Ok(list)
}

/// The template of one row of the audit index; a theme without it keeps its own loop in
/// `audit.html`.
pub const AUDIT_TEMPLATE: &str = "audit_row.html";

/// What one file's row of the audit index is rendered from.
#[derive(Serialize)]
struct AuditRowContext<'a> {
    path: &'a str,
    root: &'a str,
}

/// The rows of the audit index at depth `root`, joined: one per file with a trail, from
/// `audit_row.html`. The index changes with every commit (it names it), but a row only
/// when its file's trail or publication does: rows of unchanged files are taken from
/// `cache`.
pub fn audit_rows(
    tera: &tera::Tera,
    report: &crate::trust::history::Report,
    global: Option<&blake3::Hash>,
    cache: &RowCache<blake3::Hash>,
    root: &str,
) -> tera::TeraResult<String> {
    // A row shows its file's last event and whether it is published: the trail's
    // fingerprint covers both. Paths and trails are both in path order: one walk.
    let mut trails = report.trails.iter().peekable();
    let keyed: Vec<(&str, blake3::Hash)> = super::data::audit_paths(report)
        .map(|path| {
            while trails.next_if(|(p, _)| p.as_str() < path).is_some() {}
            let trail = trails
                .peek()
                .filter(|(p, _)| p.as_str() == path)
                .map(|(_, trail)| **trail)
                .unwrap_or_default();
            (path, blake3::Hash::from_bytes(trail))
        })
        .collect();
    let rows = cached_rows(cache, global, root, &keyed, |i| {
        let context = tera::Context::from_serialize(&AuditRowContext {
            path: keyed[i].0,
            root,
        })?;
        tera.render(AUDIT_TEMPLATE, &context)
    })?;
    let mut joined = String::with_capacity(rows.iter().map(|row| row.len()).sum());
    for row in &rows {
        joined.push_str(row);
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Renders `wanted` through the cache, returning the rows and which were rendered.
    fn rows_of(cache: &RowCache<u32>, wanted: &[(&str, u32)]) -> (Vec<String>, Vec<String>) {
        let global = blake3::hash(b"theme");
        let rendered = Mutex::new(Vec::new());
        let calls = AtomicUsize::new(0);
        let rows = cached_rows(cache, Some(&global), "", wanted, |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            let (key, inputs) = wanted[i];
            if let Ok(mut rendered) = rendered.lock() {
                rendered.push(key.to_owned());
            }
            Ok(format!("<{key}:{inputs}>"))
        })
        .unwrap_or_default();
        let mut rendered = rendered.into_inner().unwrap_or_default();
        rendered.sort();
        assert_eq!(calls.load(Ordering::Relaxed), rendered.len());
        (rows.iter().map(|row| row.to_string()).collect(), rendered)
    }

    #[test]
    fn only_rows_whose_inputs_changed_are_rendered_again_in_place_or_moved() {
        let cache = RowCache::keeping();
        let (rows, rendered) = rows_of(&cache, &[("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(rows, ["<a:1>", "<b:1>", "<c:1>"]);
        assert_eq!(rendered, ["a", "b", "c"]);
        // Same rows, same order: only the changed one.
        let (rows, rendered) = rows_of(&cache, &[("a", 1), ("b", 2), ("c", 1)]);
        assert_eq!(rows, ["<a:1>", "<b:2>", "<c:1>"]);
        assert_eq!(rendered, ["b"]);
        // Moved, added and removed rows: found by key; the new one and the changed one.
        let (rows, rendered) = rows_of(&cache, &[("c", 1), ("d", 1), ("b", 2), ("a", 3)]);
        assert_eq!(rows, ["<c:1>", "<d:1>", "<b:2>", "<a:3>"]);
        assert_eq!(rendered, ["a", "d"]);
        // What was kept is the last call's rows, whatever happened before.
        let (rows, rendered) = rows_of(&cache, &[("c", 1), ("d", 1), ("b", 2), ("a", 3)]);
        assert_eq!(rows, ["<c:1>", "<d:1>", "<b:2>", "<a:3>"]);
        assert!(rendered.is_empty());
        let (_, rendered) = rows_of(&cache, &[("a", 3), ("b", 2)]);
        assert!(rendered.is_empty(), "{rendered:?}");
    }

    #[test]
    fn a_cache_that_keeps_nothing_renders_every_row() {
        let cache = RowCache::default();
        rows_of(&cache, &[("a", 1), ("b", 1)]);
        let (_, rendered) = rows_of(&cache, &[("a", 1), ("b", 1)]);
        assert_eq!(rendered, ["a", "b"]);
    }
}
