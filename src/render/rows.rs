//! The rows of the ticket list's two tables, rendered one ticket at a time through the
//! theme's `ticket_row.html` and joined for `tickets.html` (as `ticket_rows.open` and
//! `ticket_rows.closed`).
//!
//! The ticket list is the largest page of a big repository (every ticket, one row each)
//! and is rendered again whenever any ticket changes. Rendered row by row, the rows are
//! rendered in parallel, and the preview server keeps them between rebuilds: a changed
//! ticket renders its own row again, not the whole table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde::Serialize;

use super::Input;
use super::data::TicketGroups;

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
    rows: HashMap<String, (I, Arc<str>)>,
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
    let mut kept = match (cache.keeping, global) {
        (true, Some(global)) => cache
            .kept
            .lock()
            .ok()
            .and_then(|mut kept| kept.take())
            .filter(|kept| kept.global == *global && kept.root == root),
        _ => None,
    };
    let known = |key: &str, inputs: &I| {
        kept.as_ref()
            .and_then(|kept| kept.rows.get(key))
            .filter(|(seen, _)| seen == inputs)
            .map(|(_, html)| Arc::clone(html))
    };
    let rows: Vec<(bool, Arc<str>)> = wanted
        .par_iter()
        .enumerate()
        .map(|(i, (key, inputs))| match known(key, inputs) {
            Some(html) => Ok((false, html)),
            None => Ok((true, Arc::from(render(i)?))),
        })
        .collect::<tera::TeraResult<_>>()?;
    if let (true, Some(global)) = (cache.keeping, global) {
        let mut kept = kept.take().unwrap_or_else(|| Kept {
            global: *global,
            root: root.to_owned(),
            rows: HashMap::with_capacity(wanted.len()),
        });
        for ((key, inputs), (fresh, html)) in wanted.iter().zip(&rows) {
            if *fresh || !kept.rows.contains_key(*key) {
                kept.rows
                    .insert((*key).to_owned(), (inputs.clone(), Arc::clone(html)));
            }
        }
        if kept.rows.len() != wanted.len() {
            let keys: std::collections::HashSet<&str> =
                wanted.iter().map(|(key, _)| *key).collect();
            kept.rows.retain(|key, _| keys.contains(key.as_str()));
        }
        if let Ok(mut slot) = cache.kept.lock() {
            *slot = Some(kept);
        }
    }
    Ok(rows.into_iter().map(|(_, html)| html).collect())
}

/// The joined rows of the open and the closed tickets, in the ticket list's order.
#[derive(Serialize, Debug, Default, PartialEq, Eq)]
pub struct TicketRows {
    pub open: String,
    pub closed: String,
}

/// What one row is rendered from.
#[derive(Serialize)]
struct RowContext<'a> {
    id: &'a str,
    open: bool,
    root: &'a str,
}

/// Renders the rows of the ticket list at depth `root`. Rows whose inputs are the ones
/// they had in `cache` are taken from it; `global` is the key of what every page shows,
/// and `None` (another theme, or overridden templates) means no row is taken.
pub fn ticket_rows(
    tera: &tera::Tera,
    input: &Input<'_>,
    groups: &TicketGroups,
    global: Option<&blake3::Hash>,
    cache: &RowCache,
    root: &str,
) -> tera::TeraResult<TicketRows> {
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
    let mut tables = TicketRows::default();
    let (open_size, closed_size) =
        wanted
            .iter()
            .zip(&rows)
            .fold((0, 0), |(o, c), ((_, open, _), html)| {
                if *open {
                    (o + html.len(), c)
                } else {
                    (o, c + html.len())
                }
            });
    tables.open.reserve(open_size);
    tables.closed.reserve(closed_size);
    for ((_, open, _), html) in wanted.iter().zip(&rows) {
        let table = if *open {
            &mut tables.open
        } else {
            &mut tables.closed
        };
        table.push_str(html);
    }
    Ok(tables)
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
    // fingerprint covers both.
    let keyed: Vec<(&str, blake3::Hash)> = super::data::audit_paths(report)
        .map(|path| {
            let trail = report.trails.get(path).copied().unwrap_or_default();
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
