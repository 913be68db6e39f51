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

/// What one row is made from: the table it is in, the ticket's file and the file of the
/// release it was fixed in (the row shows its version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowInputs {
    open: bool,
    ticket: Option<blake3::Hash>,
    release: Option<blake3::Hash>,
}

/// Rows rendered by earlier builds in this process, by ticket id, with their inputs, for
/// the pages of one theme (`global`) at one depth (`root`). The default keeps nothing (a
/// one-off build renders every row once).
#[derive(Default)]
pub struct RowCache {
    keeping: bool,
    kept: Mutex<Option<Kept>>,
}

struct Kept {
    global: blake3::Hash,
    root: String,
    rows: HashMap<String, (RowInputs, Arc<str>)>,
}

impl RowCache {
    /// A cache that keeps each build's rows for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            kept: Mutex::default(),
        }
    }
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
    let mut kept = match (cache.keeping, global) {
        (true, Some(global)) => cache
            .kept
            .lock()
            .ok()
            .and_then(|mut kept| kept.take())
            .filter(|kept| kept.global == *global && kept.root == root),
        _ => None,
    };
    let rendered: Vec<(RowInputs, Option<Arc<str>>)> = wanted
        .par_iter()
        .map(|&(id, open, doc)| {
            let inputs = inputs(doc, open);
            let known = kept
                .as_ref()
                .and_then(|kept| kept.rows.get(id))
                .filter(|(seen, _)| *seen == inputs);
            if known.is_some() {
                return Ok((inputs, None));
            }
            let context = tera::Context::from_serialize(&RowContext { id, open, root })?;
            let html = tera.render(TEMPLATE, &context)?;
            Ok((inputs, Some(Arc::from(html))))
        })
        .collect::<tera::TeraResult<_>>()?;
    let row = |i: usize, id: &str| -> Option<Arc<str>> {
        match rendered.get(i) {
            Some((_, Some(html))) => Some(Arc::clone(html)),
            _ => kept
                .as_ref()
                .and_then(|kept| kept.rows.get(id))
                .map(|(_, html)| Arc::clone(html)),
        }
    };
    let rows: Vec<Arc<str>> = wanted
        .iter()
        .enumerate()
        .map(|(i, (id, _, _))| row(i, id).unwrap_or_else(|| Arc::from("")))
        .collect();
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
    if let (true, Some(global)) = (cache.keeping, global) {
        let mut kept = kept.take().unwrap_or_else(|| Kept {
            global: *global,
            root: root.to_owned(),
            rows: HashMap::with_capacity(wanted.len()),
        });
        for (((id, _, _), (inputs, html)), row) in wanted.iter().zip(rendered).zip(&rows) {
            if html.is_some() || !kept.rows.contains_key(*id) {
                kept.rows
                    .insert((*id).to_owned(), (inputs, Arc::clone(row)));
            }
        }
        if kept.rows.len() != wanted.len() {
            let ids: std::collections::HashSet<&str> =
                wanted.iter().map(|(id, _, _)| *id).collect();
            kept.rows.retain(|id, _| ids.contains(id.as_str()));
        }
        if let Ok(mut slot) = cache.kept.lock() {
            *slot = Some(kept);
        }
    }
    Ok(tables)
}
