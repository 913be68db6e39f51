//! The keys of the channels' feeds: each reads what its feed shows and what decides it
//! (every item about the entity, before the newest are kept), as declared for the group
//! (`channel_reads` in `pages.rs`).

use super::{Deps, Key, KeyBuilder, find};
use crate::content::Kind;
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
        let mut items = channels.candidates(&subject);
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
        // The alert as its entry shows it, and every item's date and order.
        k.json(&channels.alerts.of(kind.noun(), head.id));
        newest_first(&mut items);
        items.truncate(CHANNEL_LIMIT);
        k.json(&items);
        k.done()
    };
    (Box::new(key), count)
}
