//! People and the info page: `people/<id>.yaml` (who someone is, how to reach them, and
//! the channels they follow) and `info.md` (what the service is, and whom to call in
//! which order).
//!
//! A person's id is the name the rest of the repository writes (a ticket's `assignee`,
//! a logbook entry's `by`, a module's `owners`); a user of the policy with the same id
//! is the same person. Robots (`robot: true` in the policy) are principals, not people.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::model::{Priority, Ref};
use crate::yaml::Spanned;

/// `people/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub email: Option<Spanned<String>>,
    /// A telephone number, as dialled (`+49 555 0100 200`).
    #[serde(default)]
    pub phone: Option<Spanned<String>>,
    /// A pager number or address, when it is not the phone.
    #[serde(default)]
    pub pager: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    /// An IANA time zone name (`Europe/Berlin`).
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// The channels the person follows.
    #[serde(default)]
    pub subscribe: Vec<Spanned<Subscription>>,
}

/// The kinds a subscription may name (`module:billing-api`, `certificate:*`): the kinds
/// a logbook entry may be about. Its own enum, not `Kind`, so that the kind table can
/// hold people without this module naming the table (`Kind::from` converts; a test in
/// `kind.rs` holds nouns and directories to the table's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChannelKind {
    Host,
    Certificate,
    Domain,
    Module,
    Release,
    Ticket,
    Site,
    Service,
    Procedure,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::Host,
        ChannelKind::Certificate,
        ChannelKind::Domain,
        ChannelKind::Module,
        ChannelKind::Release,
        ChannelKind::Ticket,
        ChannelKind::Site,
        ChannelKind::Service,
        ChannelKind::Procedure,
    ];

    /// As channels write it (`module`): the kind's noun.
    pub const fn noun(self) -> &'static str {
        match self {
            ChannelKind::Host => "host",
            ChannelKind::Certificate => "certificate",
            ChannelKind::Domain => "domain",
            ChannelKind::Module => "module",
            ChannelKind::Release => "release",
            ChannelKind::Ticket => "ticket",
            ChannelKind::Site => "site",
            ChannelKind::Service => "service",
            ChannelKind::Procedure => "procedure",
        }
    }

    /// The directory of its files and pages.
    pub const fn dir(self) -> &'static str {
        match self {
            ChannelKind::Host => "hosts",
            ChannelKind::Certificate => "certificates",
            ChannelKind::Domain => "domains",
            ChannelKind::Module => "modules",
            ChannelKind::Release => "releases",
            ChannelKind::Ticket => "tickets",
            ChannelKind::Site => "sites",
            ChannelKind::Service => "services",
            ChannelKind::Procedure => "procedures",
        }
    }
}

/// What a channel of one kind covers: one entity, or every entity of the kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `<kind>:<id>`
    One(String),
    /// `<kind>:*`
    All,
}

/// One channel a person follows, as written under `subscribe:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subscription {
    /// `module:billing-api`, `host:db1`, `certificate:*`: an entity, or every entity of
    /// a kind.
    Entity { kind: ChannelKind, target: Target },
    /// `tickets: {priority: high}`: every ticket of that priority or a more urgent one.
    Tickets { priority: Priority },
}

impl Subscription {
    /// The channel as written in the file's string form (`module:billing-api`,
    /// `certificate:*`, `tickets:high`).
    pub fn text(&self) -> String {
        match self {
            Subscription::Entity { kind, target } => match target {
                Target::One(id) => format!("{}:{id}", kind.noun()),
                Target::All => format!("{}:*", kind.noun()),
            },
            Subscription::Tickets { priority } => format!("tickets:{}", priority.name()),
        }
    }

    /// Parses the string form `<kind>:<id>` or `<kind>:*`. The error says what is wrong
    /// and how to fix it (with "did you mean" for a misspelt kind).
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((noun, id)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` is not a channel: write `<kind>:<id>` (`module:billing-api`), `<kind>:*` or `tickets: {{priority: high}}`"
            ));
        };
        let (noun, id) = (noun.trim(), id.trim());
        if noun == "tickets" {
            // The binary form of `tickets: {priority: high}` (see `text`).
            let priority = [
                Priority::Low,
                Priority::Normal,
                Priority::High,
                Priority::Critical,
            ]
            .into_iter()
            .find(|p| p.name() == id)
            .ok_or_else(|| {
                format!("unknown priority `{id}`: write low, normal, high or critical")
            })?;
            return Ok(Subscription::Tickets { priority });
        }
        let Some(kind) = ChannelKind::ALL.into_iter().find(|k| k.noun() == noun) else {
            let nouns = ChannelKind::ALL.map(ChannelKind::noun);
            let hint = match crate::suggest::suggest(noun, nouns) {
                Some(near) => format!("did you mean `{near}:{id}`?"),
                None => format!("the kinds are {}", nouns.join(", ")),
            };
            return Err(format!("unknown channel kind `{noun}`: {hint}"));
        };
        let target = match id {
            "*" => Target::All,
            "" => {
                return Err(format!(
                    "`{text}` names no {noun}: write `{noun}:<id>`, or `{noun}:*` for every {noun}"
                ));
            }
            id => Target::One(id.to_owned()),
        };
        Ok(Subscription::Entity { kind, target })
    }

    /// The entity it names, if it names one (`module:billing-api` → module
    /// `billing-api`): what validation checks exists.
    pub fn entity(&self) -> Option<(ChannelKind, &str)> {
        match self {
            Subscription::Entity {
                kind,
                target: Target::One(id),
            } => Some((*kind, id)),
            _ => None,
        }
    }
}

/// `tickets: {priority: high}`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketChannel {
    priority: Priority,
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Channel;
        impl<'de> Visitor<'de> for Channel {
            type Value = Subscription;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a channel: `<kind>:<id>`, `<kind>:*` or `tickets: {priority: high}`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Subscription, E> {
                Subscription::parse(text).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Subscription, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an empty map is not a channel: write `tickets: {priority: high}`",
                    ));
                };
                if key != "tickets" {
                    let hint = match crate::suggest::suggest(&key, ["tickets"]) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => "the only channel written as a map is `tickets: {priority: high}`"
                            .to_owned(),
                    };
                    return Err(de::Error::custom(format!(
                        "unknown channel `{key}`: {hint}"
                    )));
                }
                let channel: TicketChannel = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "one channel per list item: write each on its own `- ` line",
                    ));
                }
                Ok(Subscription::Tickets {
                    priority: channel.priority,
                })
            }
        }
        // The parsed-document store keeps a channel as its text (`Subscription::text`).
        if !deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            return Subscription::parse(&text).map_err(de::Error::custom);
        }
        deserializer.deserialize_any(Channel)
    }
}

/// Templates and the API see a channel as `{text, kind, id, dir, priority}`: `kind` is
/// the noun (`module`, or `tickets`), `id` the entity (none for `<kind>:*` and tickets),
/// `dir` the directory of the kind's pages.
impl Serialize for Subscription {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return serializer.serialize_str(&self.text());
        }
        #[derive(Serialize)]
        struct View<'a> {
            text: String,
            kind: &'a str,
            id: Option<&'a str>,
            dir: &'a str,
            priority: Option<Priority>,
        }
        let view = match self {
            Subscription::Entity { kind, target } => View {
                text: self.text(),
                kind: kind.noun(),
                id: match target {
                    Target::One(id) => Some(id),
                    Target::All => None,
                },
                dir: kind.dir(),
                priority: None,
            },
            Subscription::Tickets { priority } => View {
                text: self.text(),
                kind: "tickets",
                id: None,
                dir: ChannelKind::Ticket.dir(),
                priority: Some(*priority),
            },
        };
        view.serialize(serializer)
    }
}

// ---------------------------------------------------------------------------------------
// info.md

/// `info.md` front matter; the body says what the service is and how it is built.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    pub title: String,
    /// Whom to call, in order: the first level first.
    #[serde(default)]
    pub escalation: Vec<EscalationLevel>,
}

/// One level of the escalation: who, when they can be reached, and a note.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// A label for the level (`On call`, `Team leads`); "Level N" if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Person ids, in the order to try them.
    pub people: Vec<Ref>,
    /// When they are reachable: `24/7`, `Mon-Fri 08:00-18:00 Europe/Berlin`.
    #[serde(default)]
    pub hours: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Info {
    /// The first level of the escalation: whom critical alerts go to first (none when
    /// the page lists no escalation).
    pub fn first_escalation_level(&self) -> Option<&EscalationLevel> {
        self.escalation.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Person, crate::yaml::YamlError> {
        crate::yaml::from_str(yaml)
    }

    #[test]
    fn every_form_of_channel_parses() {
        let person = parse(
            "name: Alice\nsubscribe:\n  - module:billing-api\n  - procedure:verify-backup-tape\n  - host:db1\n  - site:shop\n  - certificate:*\n  - tickets: {priority: high}\n",
        )
        .expect("parses");
        let subs: Vec<Subscription> = person.subscribe.into_iter().map(|s| s.value).collect();
        let one = |kind, id: &str| Subscription::Entity {
            kind,
            target: Target::One(id.into()),
        };
        assert_eq!(
            subs,
            vec![
                one(ChannelKind::Module, "billing-api"),
                one(ChannelKind::Procedure, "verify-backup-tape"),
                one(ChannelKind::Host, "db1"),
                one(ChannelKind::Site, "shop"),
                Subscription::Entity {
                    kind: ChannelKind::Certificate,
                    target: Target::All
                },
                Subscription::Tickets {
                    priority: Priority::High
                },
            ]
        );
        assert_eq!(subs[0].text(), "module:billing-api");
        assert_eq!(subs[4].text(), "certificate:*");
        assert_eq!(subs[5].text(), "tickets:high");
    }

    #[test]
    fn a_misspelt_kind_is_refused_with_a_suggestion_and_its_place() {
        let err = parse("name: A\nsubscribe:\n  - modul:billing-api\n").expect_err("refused");
        assert!(
            err.message.contains("unknown channel kind `modul`"),
            "{err:?}"
        );
        assert!(
            err.message.contains("did you mean `module:billing-api`?"),
            "{err:?}"
        );
        assert!(err.span.start > 0, "{err:?}");
        let err = parse("name: A\nsubscribe: [billing-api]\n").expect_err("refused");
        assert!(err.message.contains("is not a channel"), "{err:?}");
        let err = parse("name: A\nsubscribe: ['host:']\n").expect_err("refused");
        assert!(err.message.contains("names no host"), "{err:?}");
    }

    #[test]
    fn the_map_form_is_only_tickets_by_priority() {
        let err = parse("name: A\nsubscribe:\n  - ticket: {priority: high}\n").expect_err("x");
        assert!(err.message.contains("did you mean `tickets`?"), "{err:?}");
        let err = parse("name: A\nsubscribe:\n  - tickets: {priority: urgent}\n").expect_err("x");
        assert!(err.message.contains("urgent"), "{err:?}");
        let err = parse("name: A\nsubscribe:\n  - tickets: {kind: bug}\n").expect_err("x");
        assert!(err.message.contains("kind"), "{err:?}");
    }

    #[test]
    fn a_channel_survives_the_binary_store() {
        let person = parse(
            "name: A\nsubscribe:\n  - host:db1\n  - certificate:*\n  - tickets: {priority: normal}\n",
        )
        .expect("parses");
        let bytes = postcard::to_stdvec(&person).expect("encodes");
        let back: Person = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back.subscribe, person.subscribe);
        assert_eq!(back.subscribe[2].span, person.subscribe[2].span);
    }

    #[test]
    fn unknown_fields_of_a_person_are_refused() {
        assert!(parse("name: A\nmail: a@example.org\n").is_err());
        assert!(parse("email: a@example.org\n").is_err());
    }

    #[test]
    fn the_first_escalation_level_is_the_first_listed() {
        let info: Info = crate::yaml::from_str(
            "title: Info\nescalation:\n  - people: [alice, bob]\n    hours: 24/7\n  - people: [carol]\n",
        )
        .expect("parses");
        let first = info.first_escalation_level().expect("a level");
        assert_eq!(
            first.people.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        let none: Info = crate::yaml::from_str("title: Info\n").expect("parses");
        assert!(none.first_escalation_level().is_none());
    }
}
