//! The feed of an entity's channel (`feeds/<kind>/<id>.atom`): what
//! [`crate::derive::channels`] finds about it, as Atom entries. Every date comes from the
//! content, so a build at another "now" gives the same entries; an entry that is also
//! in a site-wide feed (a logbook entry, an alert) has the same id there.
//!
//! A person's inbox (`people/<id>/inbox.atom`, [`inbox_feed`]) is made of the same
//! entries, two directories below the root too, over the union of channels
//! [`Channels::inbox`] finds.

use super::{Feed, FeedContext, FeedEntry, alert_entry, id, snake_case};
use crate::content::logbook::parse_about;
use crate::content::types::Moment;
use crate::content::{Document, Kind};
use crate::derive::channels::{Channels, Item, Source};
use crate::render::Input;
use crate::render::data::{entity, site_info, view};
use crate::render::names;

/// A link from a channel's feed, two directories below the site root: absolute under
/// `base_url` when there is one, else relative.
fn link(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) => format!("{}/{path}", base.trim_end_matches('/')),
        None => format!("../../{path}"),
    }
}

fn find<'d, T>(docs: &'d [Document<T>], id_: &str) -> Option<&'d Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id_))
        .ok()
        .and_then(|i| docs.get(i))
}

/// The directory of the pages of `kind`.
fn dir(kind: Kind) -> &'static str {
    entity(kind).map_or("", |e| e.dir)
}

/// The feed of the channel of the entity `id_` of `kind`: its items, newest first; its
/// `<updated>` the newest item's date, or the Unix epoch when it has none (never "now").
pub fn channel_feed(input: &Input<'_>, kind: Kind, id_: &str) -> Feed {
    let info = site_info(input);
    let base = info.base_url;
    let channels = Channels::of(input.content, input.derived);
    let subject = format!("{}/{id_}", kind.noun());
    let entries: Vec<FeedEntry> = channels
        .channel(&subject)
        .iter()
        .filter_map(|item| entry(input, &channels, base, item))
        .collect();
    let path = names::channel_feed(kind.noun(), id_);
    let page = names::link(names::detail_page(dir(kind), id_));
    let title = format!("{}: {} {id_}", info.title, kind.noun());
    feed(base, title, path, &page, entries)
}

/// The inbox of the person `id_` ([`Channels::inbox`]), as [`channel_feed`] makes a
/// channel's feed; empty for an id that is no person's.
pub fn inbox_feed(input: &Input<'_>, id_: &str) -> Feed {
    let info = site_info(input);
    let base = info.base_url;
    let channels = Channels::of(input.content, input.derived);
    let person = find(&input.content.people, id_);
    let entries: Vec<FeedEntry> = person
        .map(|p| channels.inbox(id_, &p.data))
        .unwrap_or_default()
        .iter()
        .filter_map(|item| entry(input, &channels, base, item))
        .collect();
    let name = person.map_or(id_, |p| p.data.name.as_str());
    let path = names::inbox_feed(id_);
    let page = names::link(names::detail_page(dir(Kind::Person), id_));
    let title = format!("{}: inbox of {name}", info.title);
    feed(base, title, path, &page, entries)
}

/// The feed at `path` (two directories below the root) of the page `page`: its
/// `<updated>` the newest entry's date, or the Unix epoch when it has none (never "now").
fn feed(
    base: Option<&str>,
    title: String,
    path: String,
    page: &str,
    entries: Vec<FeedEntry>,
) -> Feed {
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH));
    Feed {
        context: FeedContext {
            title,
            id: id(base, &names::href(&path)),
            self_url: link(base, &names::href(&path)),
            alternate_url: link(base, page),
            updated,
            entries,
        },
        path,
    }
}

/// The entry of one item of a channel or an inbox.
fn entry(
    input: &Input<'_>,
    channels: &Channels<'_>,
    base: Option<&str>,
    item: &Item,
) -> Option<FeedEntry> {
    let content = input.content;
    Some(match item.source {
        Source::Entry => {
            let doc = find(&content.logbook, &item.id)?;
            let e = view(doc, dir(Kind::LogEntry), input);
            let what = if !e.summary.is_empty() {
                e.summary.to_string()
            } else if let Some(procedure) = &e.data.procedure {
                procedure.as_str().to_owned()
            } else {
                e.id.to_owned()
            };
            let disposition = e
                .data
                .disposition
                .map(|d| format!(" ({})", snake_case(&d)))
                .unwrap_or_default();
            FeedEntry {
                id: id(base, &e.url),
                title: format!("{}: {what}{disposition}", e.data.by),
                url: link(base, &e.url),
                updated: item.at,
                author: e.data.by.clone(),
                summary: e.summary.to_string(),
                content_html: e.body_html.to_string(),
            }
        }
        Source::Ticket => {
            let doc = find(&content.tickets, &item.id)?;
            let t = view(doc, dir(Kind::Ticket), input);
            let data = t.data;
            let mut summary = format!(
                "{} {}, {} priority, reported by {}",
                snake_case(&data.status.value),
                snake_case(&data.kind),
                snake_case(&data.priority),
                data.reporter
            );
            if let Some(assignee) = &data.assignee {
                summary.push_str(&format!(", assigned to {assignee}"));
            }
            if let Some(release) = &data.fixed_in {
                summary.push_str(&format!(", fixed in {}", release.as_str()));
            }
            FeedEntry {
                id: id(base, &t.url),
                title: format!("Ticket {}: {}", snake_case(&data.status.value), data.title),
                url: link(base, &t.url),
                updated: item.at,
                author: data.reporter.clone(),
                summary,
                content_html: t.body_html.to_string(),
            }
        }
        Source::Release => {
            let doc = find(&content.releases, &item.id)?;
            let r = view(doc, dir(Kind::Release), input);
            let data = r.data;
            FeedEntry {
                id: id(base, &r.url),
                title: format!(
                    "Release {} {}: {}",
                    data.module.as_str(),
                    data.version.value,
                    snake_case(&data.status.value)
                ),
                url: link(base, &r.url),
                updated: item.at,
                author: "glassroom".into(),
                summary: data.notes.clone().unwrap_or_default(),
                content_html: String::new(),
            }
        }
        // An alert's item is its subject (`<kind>/<id>`).
        Source::Alert => {
            let (kind, id_) = parse_about(&item.id).ok()?;
            let alert = channels.alerts.of(kind.noun(), id_)?.first()?;
            FeedEntry {
                updated: item.at,
                ..alert_entry(input, base, link, alert)
            }
        }
    })
}
