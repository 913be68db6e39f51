//! Who follows what: the pure rule that decides whether a person's subscriptions cover
//! a subject, for notifications and inboxes.
//!
//! A subject is one entity (`module/billing-api`), with its priority when it is a ticket.
//! The rule, channel by channel (see [`covers`]):
//!
//! - `<kind>:<id>` covers that entity only (`host:db1` covers host `db1`, not a service
//!   on it);
//! - `<kind>:*` covers every entity of the kind;
//! - `tickets: {priority: P}` covers every ticket of priority `P` or a more urgent one
//!   (`low < normal < high < critical`), and nothing that is not a ticket.
//!
//! A person follows a subject when any of their channels covers it ([`follows`]). What a
//! subject is *about* (a ticket's module, an entry's procedure) is for the caller to
//! ask as further subjects: a ticket on `billing-api` concerns the followers of the
//! ticket and those of the module, `followers(people, ticket) ∪ followers(people,
//! module)`. Nothing here reads the clock or the repository beyond its arguments.

use crate::content::{Content, Document, Kind, Person, Priority, Subscription, Target};

/// What may be followed: one entity, and for a ticket its priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub kind: Kind,
    pub id: &'a str,
    /// A ticket's priority (`None` for other kinds; a ticket without it is covered by
    /// `ticket:<id>` and `ticket:*` only).
    pub priority: Option<Priority>,
}

impl<'a> Subject<'a> {
    /// An entity that is not a ticket (a ticket's priority matters: see [`Subject::ticket`]).
    pub fn entity(kind: Kind, id: &'a str) -> Self {
        Self {
            kind,
            id,
            priority: None,
        }
    }

    /// A ticket of `priority`.
    pub fn ticket(id: &'a str, priority: Priority) -> Self {
        Self {
            kind: Kind::Ticket,
            id,
            priority: Some(priority),
        }
    }
}

/// Whether one channel covers `subject`.
pub fn covers(channel: &Subscription, subject: &Subject<'_>) -> bool {
    match channel {
        Subscription::Entity { kind, target } => {
            Kind::from(*kind) == subject.kind
                && match target {
                    Target::All => true,
                    Target::One(id) => id == subject.id,
                }
        }
        Subscription::Tickets { priority } => {
            subject.kind == Kind::Ticket && subject.priority.is_some_and(|p| p >= *priority)
        }
    }
}

/// Whether someone with these channels follows `subject`: any channel covers it.
pub fn follows<'s>(
    channels: impl IntoIterator<Item = &'s Subscription>,
    subject: &Subject<'_>,
) -> bool {
    channels.into_iter().any(|channel| covers(channel, subject))
}

/// The ids of the people who follow `subject`, in the order of `people` (sorted by id
/// as content keeps them).
pub fn followers<'p>(people: &'p [Document<Person>], subject: &Subject<'_>) -> Vec<&'p str> {
    followers_among(people.iter().map(|p| (p.id.as_str(), &p.data)), subject)
}

/// The ids among `people` (id, person) who follow `subject`, in their order.
pub fn followers_among<'p>(
    people: impl IntoIterator<Item = (&'p str, &'p Person)>,
    subject: &Subject<'_>,
) -> Vec<&'p str> {
    people
        .into_iter()
        .filter(|(_, person)| follows(person.subscribe.iter().map(|s| &s.value), subject))
        .map(|(id, _)| id)
        .collect()
}

/// The ids of the first level of the info page's escalation (whom critical alerts go to
/// first), in order; empty without `info.md` or an escalation.
pub fn first_escalation_people(content: &Content) -> Vec<&str> {
    content
        .info
        .as_ref()
        .and_then(|info| info.data.first_escalation_level())
        .map(|level| level.people.iter().map(|p| p.as_str()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ChannelKind;

    const PRIORITIES: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    fn one(kind: ChannelKind, id: &str) -> Subscription {
        Subscription::Entity {
            kind,
            target: Target::One(id.into()),
        }
    }

    fn all(kind: ChannelKind) -> Subscription {
        Subscription::Entity {
            kind,
            target: Target::All,
        }
    }

    /// Every subject of every channel kind, tickets at every priority and without one.
    fn subjects() -> Vec<Subject<'static>> {
        let mut out = Vec::new();
        for kind in ChannelKind::ALL.map(Kind::from) {
            for id in ["a", "b"] {
                if kind == Kind::Ticket {
                    out.push(Subject::entity(kind, id));
                    out.extend(PRIORITIES.map(|p| Subject::ticket(id, p)));
                } else {
                    out.push(Subject::entity(kind, id));
                }
            }
        }
        out
    }

    #[test]
    fn one_entity_covers_exactly_that_entity() {
        for kind in ChannelKind::ALL {
            let channel = one(kind, "a");
            for subject in subjects() {
                let expected = subject.kind == Kind::from(kind) && subject.id == "a";
                assert_eq!(
                    covers(&channel, &subject),
                    expected,
                    "{channel:?} {subject:?}"
                );
            }
        }
    }

    #[test]
    fn a_star_covers_every_entity_of_its_kind_and_nothing_else() {
        for kind in ChannelKind::ALL {
            let channel = all(kind);
            for subject in subjects() {
                assert_eq!(
                    covers(&channel, &subject),
                    subject.kind == Kind::from(kind),
                    "{channel:?} {subject:?}"
                );
            }
        }
    }

    #[test]
    fn tickets_by_priority_cover_that_priority_and_the_more_urgent_ones_only() {
        for floor in PRIORITIES {
            let channel = Subscription::Tickets { priority: floor };
            for subject in subjects() {
                let expected =
                    subject.kind == Kind::Ticket && subject.priority.is_some_and(|p| p >= floor);
                assert_eq!(
                    covers(&channel, &subject),
                    expected,
                    "{channel:?} {subject:?}"
                );
            }
        }
        let high = Subscription::Tickets {
            priority: Priority::High,
        };
        assert!(covers(&high, &Subject::ticket("t", Priority::Critical)));
        assert!(covers(&high, &Subject::ticket("t", Priority::High)));
        assert!(!covers(&high, &Subject::ticket("t", Priority::Normal)));
        assert!(!covers(&high, &Subject::entity(Kind::Module, "t")));
    }

    #[test]
    fn a_person_follows_what_any_channel_covers_and_nobody_follows_with_none() {
        let channels = [one(ChannelKind::Host, "db1"), all(ChannelKind::Certificate)];
        assert!(follows(&channels, &Subject::entity(Kind::Host, "db1")));
        assert!(follows(
            &channels,
            &Subject::entity(Kind::Certificate, "www")
        ));
        assert!(!follows(&channels, &Subject::entity(Kind::Host, "db2")));
        assert!(!follows(
            &channels,
            &Subject::ticket("t", Priority::Critical)
        ));
        assert!(!follows(&[], &Subject::entity(Kind::Host, "db1")));
        // The same id under another kind is another subject.
        assert!(!follows(&channels, &Subject::entity(Kind::Service, "db1")));
    }

    #[test]
    fn followers_are_listed_in_the_order_of_people() {
        let person = |id: &'static str, subscribe: Vec<Subscription>| {
            (
                id,
                Person {
                    name: id.into(),
                    email: None,
                    phone: None,
                    pager: None,
                    team: None,
                    time_zone: None,
                    subscribe: subscribe
                        .into_iter()
                        .map(|s| crate::yaml::Spanned::new(s, 0..0))
                        .collect(),
                },
            )
        };
        let people = [
            person("alice", vec![one(ChannelKind::Module, "billing-api")]),
            person(
                "bob",
                vec![Subscription::Tickets {
                    priority: Priority::High,
                }],
            ),
            person("carol", vec![all(ChannelKind::Ticket)]),
            person("dave", vec![]),
        ];
        let followers =
            |subject: &Subject<'_>| followers_among(people.iter().map(|(id, p)| (*id, p)), subject);
        assert_eq!(
            followers(&Subject::ticket("t-1", Priority::Critical)),
            ["bob", "carol"]
        );
        assert_eq!(followers(&Subject::ticket("t-1", Priority::Low)), ["carol"]);
        assert_eq!(
            followers(&Subject::entity(Kind::Module, "billing-api")),
            ["alice"]
        );
    }
}
