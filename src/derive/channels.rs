//! Every entity's channel (cloudsat): what happened to it, newest first, for its feed
//! (`feeds/<kind>/<id>.atom`). An entity's channel holds the logbook threads about it
//! (every entry and reply, as its page shows them: a procedure's include the entries
//! recording it, a module's those about its releases), the tickets on it (a host's
//! tickets, a module's, a release's fixed tickets, a ticket itself), a module's releases
//! (a release itself) and its current alert.
//!
//! Every item is dated by the content, never by "now", so a feed reader shows an item
//! once and again only when it changed: an entry by its `at`, a ticket by its latest
//! event (opened, first response, closed), a release by the day it shipped (else the day
//! it is planned for), an alert by when it started ([`super::alerts::started`]; an alert
//! with nothing dated behind it, a procedure never done, at the Unix epoch). A static
//! build knows the alerts of its moment, not those that cleared: a cleared alert leaves
//! the channel.
//!
//! [`Channels::merged`] is the union of several subjects' channels, one item once: what
//! a person's inbox is made of, over the subjects [`Channels::inbox_subjects`] finds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::alerts::{AlertGroups, started};
use super::months::Logbook;
use super::procedures::ProcedureStatus;
use super::relations::{Index, Relations};
use super::subscriptions::{Subject, follows};
use crate::content::logbook::{ABOUT_KINDS, parse_about};
use crate::content::types::Moment;
use crate::content::{Content, Document, Kind, Person, Ticket};

/// The kinds whose entities have a channel: those a logbook entry may be about.
pub const CHANNEL_KINDS: [Kind; ABOUT_KINDS.len()] = ABOUT_KINDS;

/// How many items a channel keeps, the newest: feeds stay small at any scale.
pub const CHANNEL_LIMIT: usize = 50;

/// What an item of a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A logbook entry (`id` is the entry's).
    Entry,
    Ticket,
    Release,
    /// The current alert about a subject (`id` is the subject, `<kind>/<id>`).
    Alert,
}

/// One item of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub source: Source,
    pub id: String,
    /// When it happened (see the module comment): never "now".
    pub at: Moment,
}

/// Whether `kind` has channels.
pub fn has_channel(kind: Kind) -> bool {
    CHANNEL_KINDS.contains(&kind)
}

/// What channels are made from: the content and the parts derived from it.
#[derive(Clone, Copy)]
pub struct Channels<'a> {
    pub content: &'a Content,
    pub logbook: &'a Logbook,
    pub relations: &'a Relations,
    pub alerts: &'a AlertGroups,
    pub procedures: &'a BTreeMap<String, ProcedureStatus>,
}

fn find<'d, T>(docs: &'d [Document<T>], id: &str) -> Option<&'d Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .and_then(|i| docs.get(i))
}

fn listed<'i>(index: &'i Index, id: &str) -> &'i [String] {
    index.get(id).map_or(&[], Vec::as_slice)
}

/// When a ticket last changed, as far as its dates say.
pub fn ticket_at(ticket: &Ticket) -> Moment {
    [
        Some(ticket.opened.value),
        ticket.first_response.as_ref().map(|m| m.value),
        ticket.closed.as_ref().map(|m| m.value),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(ticket.opened.value)
}

/// The epoch: the date of what has none.
fn epoch() -> Moment {
    Moment(jiff::Timestamp::UNIX_EPOCH)
}

impl<'a> Channels<'a> {
    pub fn of(content: &'a Content, derived: &'a super::Derived) -> Self {
        Self {
            content,
            logbook: &derived.logbook,
            relations: &derived.relations,
            alerts: &derived.alert_groups,
            procedures: &derived.procedures,
        }
    }

    /// Every item about `subject` (`module/billing-api`), uncapped and unsorted: what
    /// decides which items its channel shows. None for a subject of no channel kind.
    pub fn candidates(&self, subject: &str) -> Vec<Item> {
        let Ok((kind, id)) = parse_about(subject) else {
            return Vec::new();
        };
        let content = self.content;
        let rel = self.relations;
        let mut items = Vec::new();
        for thread in self.logbook.by_subject.get(subject).into_iter().flatten() {
            for (entry, _) in &thread.entries {
                if let Some(doc) = find(&content.logbook, entry) {
                    items.push(Item {
                        source: Source::Entry,
                        id: doc.id.clone(),
                        at: doc.data.at.value,
                    });
                }
            }
        }
        let tickets: &[String] = match kind {
            Kind::Host => listed(&rel.tickets_by_host, id),
            Kind::Module => listed(&rel.tickets_by_module, id),
            Kind::Release => listed(&rel.tickets_by_release, id),
            _ => &[],
        };
        let own = (kind == Kind::Ticket).then_some(id);
        for ticket in tickets.iter().map(String::as_str).chain(own) {
            if let Some(doc) = find(&content.tickets, ticket) {
                items.push(Item {
                    source: Source::Ticket,
                    id: doc.id.clone(),
                    at: ticket_at(&doc.data),
                });
            }
        }
        let releases: &[String] = match kind {
            Kind::Module => listed(&rel.releases_by_module, id),
            _ => &[],
        };
        let own = (kind == Kind::Release).then_some(id);
        for release in releases.iter().map(String::as_str).chain(own) {
            if let Some(doc) = find(&content.releases, release) {
                let day = doc.data.actual.as_ref().or(doc.data.planned.as_ref());
                items.push(Item {
                    source: Source::Release,
                    id: doc.id.clone(),
                    at: day.map_or_else(epoch, |d| d.value.start()),
                });
            }
        }
        for alert in self.alerts.of(kind.noun(), id).into_iter().flatten() {
            items.push(Item {
                source: Source::Alert,
                id: subject.to_owned(),
                at: started(alert, content, self.procedures).unwrap_or_else(epoch),
            });
        }
        items
    }

    /// The subjects of the inbox of the person `id`: every entity their `subscribe:` list
    /// covers ([`super::subscriptions`]: a ticket by its priority too) and the tickets they
    /// reported or are assigned, open or not; by kind in [`CHANNEL_KINDS`] order, then id.
    pub fn inbox_subjects(&self, id: &str, person: &Person) -> Vec<String> {
        let channels = || person.subscribe.iter().map(|s| &s.value);
        let mut subjects = Vec::new();
        for kind in CHANNEL_KINDS {
            if kind == Kind::Ticket {
                for doc in &self.content.tickets {
                    let ticket = &doc.data;
                    let mine = ticket.reporter == id || ticket.assignee.as_deref() == Some(id);
                    if mine || follows(channels(), &Subject::ticket(&doc.id, ticket.priority)) {
                        subjects.push(format!("{}/{}", kind.noun(), doc.id));
                    }
                }
                continue;
            }
            let shelf = self.content.shelf(kind);
            for head in (0..shelf.len()).filter_map(|i| shelf.head(i)) {
                if follows(channels(), &Subject::entity(kind, head.id)) {
                    subjects.push(format!("{}/{}", kind.noun(), head.id));
                }
            }
        }
        // Two files of one id (an error `check` reports) are one subject.
        subjects.dedup();
        subjects
    }

    /// The inbox of the person `id`: the union of the channels of its subjects
    /// ([`Channels::inbox_subjects`]), capped and ordered as a channel is.
    pub fn inbox(&self, id: &str, person: &Person) -> Vec<Item> {
        let subjects = self.inbox_subjects(id, person);
        self.merged(subjects.iter().map(String::as_str))
    }

    /// The channel of `subject`: its newest [`CHANNEL_LIMIT`] items, newest first.
    pub fn channel(&self, subject: &str) -> Vec<Item> {
        self.merged([subject])
    }

    /// The union of the channels of `subjects`, each item once: its newest
    /// [`CHANNEL_LIMIT`] items, newest first (ties by source, then id).
    pub fn merged<'s>(&self, subjects: impl IntoIterator<Item = &'s str>) -> Vec<Item> {
        let mut seen = BTreeSet::new();
        let mut items: Vec<Item> = subjects
            .into_iter()
            .flat_map(|subject| self.candidates(subject))
            .filter(|item| seen.insert((item.source, item.id.clone())))
            .collect();
        newest_first(&mut items);
        items.truncate(CHANNEL_LIMIT);
        items
    }
}

/// Sorts `items` newest first, ties by source, then id.
pub fn newest_first(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests;
