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
use super::data::SiteData;
use super::keys::Key;

/// The template of one row; a theme without it keeps its own loops in `tickets.html`.
pub const TEMPLATE: &str = "ticket_row.html";

/// Rows rendered by earlier builds, by ticket id, with the key of their inputs.
/// The default keeps nothing (a one-off build renders every row once).
#[derive(Default)]
pub struct RowCache {
    keeping: bool,
    rows: Mutex<HashMap<String, (Key, Arc<str>)>>,
}

impl RowCache {
    /// A cache that keeps each build's rows for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            rows: Mutex::default(),
        }
    }

    fn take(&self) -> HashMap<String, (Key, Arc<str>)> {
        if !self.keeping {
            return HashMap::new();
        }
        self.rows
            .lock()
            .map(|mut rows| std::mem::take(&mut *rows))
            .unwrap_or_default()
    }

    fn put(&self, rows: HashMap<String, (Key, Arc<str>)>) {
        if !self.keeping {
            return;
        }
        if let Ok(mut kept) = self.rows.lock() {
            crate::defer::drop_later(std::mem::replace(&mut *kept, rows));
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

/// Renders the rows of the ticket list at depth `root`. Rows whose inputs have the key
/// they had in `cache` are taken from it; `global` is the key of what every page shows,
/// and `None` (another theme, or overridden templates) means no row is taken.
pub fn ticket_rows(
    tera: &tera::Tera,
    input: &Input<'_>,
    data: &SiteData<'_>,
    global: Option<&blake3::Hash>,
    cache: &RowCache,
    root: &str,
) -> tera::TeraResult<TicketRows> {
    let groups = &data.ticket_groups;
    let wanted: Vec<(&str, bool)> = groups
        .open
        .iter()
        .map(|id| (id.as_str(), true))
        .chain(groups.closed.iter().map(|id| (id.as_str(), false)))
        .collect();
    let known = cache.take();
    let content = input.content;
    let tickets: HashMap<&str, _> = content.tickets.iter().map(|t| (t.id.as_str(), t)).collect();
    let releases: HashMap<&str, _> = content
        .releases
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let key = |id: &str, open: bool| {
        let ticket = tickets.get(id).copied();
        let release = ticket
            .and_then(|t| t.data.fixed_in.as_ref())
            .and_then(|r| releases.get(r.as_str()).copied());
        global.map(|global| {
            super::keys::ticket_row_key(global, &content.files, (root, open), ticket, release)
        })
    };
    let rendered: Vec<(Option<Key>, Arc<str>)> = wanted
        .par_iter()
        .map(|&(id, open)| {
            let key = key(id, open);
            if let Some((_, html)) = key
                .as_ref()
                .and_then(|key| known.get(id).filter(|(seen, _)| seen == key))
            {
                return Ok((key, Arc::clone(html)));
            }
            let context = tera::Context::from_serialize(&RowContext { id, open, root })?;
            let html = tera.render(TEMPLATE, &context)?;
            Ok((key, Arc::from(html)))
        })
        .collect::<tera::TeraResult<_>>()?;
    crate::defer::drop_later(known);
    let mut rows = TicketRows::default();
    let mut kept = HashMap::new();
    let (open_size, closed_size) =
        wanted
            .iter()
            .zip(&rendered)
            .fold((0, 0), |(o, c), ((_, open), (_, html))| {
                if *open {
                    (o + html.len(), c)
                } else {
                    (o, c + html.len())
                }
            });
    rows.open.reserve(open_size);
    rows.closed.reserve(closed_size);
    for (&(id, open), (key, html)) in wanted.iter().zip(rendered) {
        let table = if open {
            &mut rows.open
        } else {
            &mut rows.closed
        };
        table.push_str(&html);
        if let Some(key) = key.filter(|_| cache.keeping) {
            kept.insert(id.to_owned(), (key, html));
        }
    }
    cache.put(kept);
    Ok(rows)
}
