//! The keys of the channels' feeds and of the inboxes: each reads what its feed shows
//! and what decides it (every item about the entity, or about what the person follows,
//! before the newest are kept), as declared for the group (`channel_reads` and
//! `inbox_reads` in `pages/reads.rs`).

use super::{Deps, Key, KeyBuilder, find};
use crate::content::Kind;
use crate::content::logbook::parse_about;
use crate::derive::channels::{CHANNEL_LIMIT, Channels, Source, has_channel, newest_first};
use crate::render::Input;

/// One channel feed's key maker for the entities of `kind`, by document index, and how
/// many there are (none for a kind without channels).
#[allow(clippy::type_complexity)]
pub fn channel_key_fn<'a>(
    input: &'a Input<'a>,
    global: &'a blake3::Hash,
    kind: Kind,
) -> (Box<dyn Fn(usize) -> (Key, Deps) + Sync + 'a>, usize) {
    let content = input.content;
    let channels = Channels::of(content, input.derived);
    let shelf = content.shelf(kind);
    let count = if has_channel(kind) { shelf.len() } else { 0 };
    let key = move |i: usize| {
        let mut k = KeyBuilder::new(content, global, "channel");
        let Some(head) = shelf.head(i) else {
            return k.done();
        };
        let subject = format!("{}/{}", kind.noun(), head.id);
        k.text(&subject);
        items(&mut k, &channels, &[subject]);
        k.done()
    };
    (Box::new(key), count)
}

/// The inboxes' key maker, by person index, and how many there are.
#[allow(clippy::type_complexity)]
pub fn inbox_key_fn<'a>(
    input: &'a Input<'a>,
    global: &'a blake3::Hash,
) -> (Box<dyn Fn(usize) -> (Key, Deps) + Sync + 'a>, usize) {
    let content = input.content;
    let channels = Channels::of(content, input.derived);
    let key = move |i: usize| {
        let mut k = KeyBuilder::new(content, global, "inbox");
        let Some(person) = content.people.get(i) else {
            return k.done();
        };
        // Whom it is for and what they follow; which tickets are theirs or of the
        // priority they follow is in the group's structure (every ticket file).
        k.text(&person.id).doc(Some(person));
        let subjects = channels.inbox_subjects(&person.id, &person.data);
        for subject in &subjects {
            k.text(subject);
        }
        items(&mut k, &channels, &subjects);
        k.done()
    };
    (Box::new(key), content.people.len())
}

/// Reads the items of the channels of `subjects` into `k`: every candidate's file, the
/// alerts as their entries show them, and the items kept, with their dates and order.
fn items(k: &mut KeyBuilder<'_>, channels: &Channels<'_>, subjects: &[String]) {
    let content = channels.content;
    let mut items = Vec::new();
    for subject in subjects {
        let found = channels.candidates(subject);
        if found.iter().any(|item| item.source == Source::Alert)
            && let Ok((kind, id)) = parse_about(subject)
        {
            k.json(&channels.alerts.of(kind.noun(), id));
        }
        items.extend(found);
    }
    for item in &items {
        match item.source {
            Source::Entry => {
                k.doc(find(&content.logbook, &item.id));
            }
            Source::Ticket => {
                k.doc(find(&content.tickets, &item.id));
            }
            Source::Release => {
                k.doc(find(&content.releases, &item.id));
            }
            Source::Alert => {}
        }
    }
    newest_first(&mut items);
    items.dedup_by(|a, b| a.source == b.source && a.id == b.id);
    items.truncate(CHANNEL_LIMIT);
    k.json(&items);
}
