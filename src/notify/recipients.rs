//! Who is told of an event: the people an event names by role (a ticket's assignee, its
//! reporter), the people who follow its subject or a related one (a module's owners
//! follow its tickets, a procedure's owner its problem entries and alerts), and for a
//! critical alert the first escalation level.
//!
//! The people come from one [`Directory`], made by [`Directory::from_content`]: people
//! files (`people/<id>.yaml`) give addresses and `subscribe:` channels, matched by the
//! rule in [`crate::derive::subscriptions`]; ticket roles, module and procedure owners
//! add what they follow by role; the info page's first escalation level is told of
//! every critical alert. Everything else (the outbox, the channels) works on the
//! directory alone.

use std::collections::{BTreeMap, BTreeSet};

use super::events::{Event, EventKind, Level, Subject};
use crate::content::logbook::ABOUT_KINDS;
use crate::content::{Content, Priority, Subscription};
use crate::derive::subscriptions::{self, first_escalation_people};

/// One person notifications can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Where mail goes; without one, the person is reached by the channels that need
    /// no address (webhooks, commands) only.
    pub email: Option<String>,
    /// What the person follows by role: subjects (an id of `*` follows every one of its
    /// kind).
    pub follows: BTreeSet<Subject>,
    /// What the person subscribed to in their people file.
    pub subscriptions: Vec<Subscription>,
}

impl Person {
    /// Whether the person follows `subject` (of `priority`, when it is a ticket), by
    /// role or by subscription.
    pub fn follows(&self, subject: &Subject, priority: Option<Priority>) -> bool {
        if self.follows.contains(subject)
            || self.follows.contains(&Subject::new(&subject.kind, "*"))
        {
            return true;
        }
        // Subscriptions name the kinds entries may be about, by noun; other subjects
        // (news, a logbook entry itself) are followed by role only.
        let Some(kind) = ABOUT_KINDS.into_iter().find(|k| k.noun() == subject.kind) else {
            return false;
        };
        let subject = subscriptions::Subject {
            kind,
            id: &subject.id,
            priority,
        };
        subscriptions::follows(&self.subscriptions, &subject)
    }
}

/// Everyone notifications can reach, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub people: BTreeMap<String, Person>,
    /// Who is told of every critical alert (the info page's first escalation level).
    pub first_escalation: Vec<String>,
}

impl Directory {
    /// The people of approved `content`: everyone with a people file (their address and
    /// subscriptions), every ticket's reporter and assignee, every module's owners
    /// (following the module), every procedure's owner (following the procedure), and
    /// the info page's first escalation level.
    pub fn from_content(content: &Content) -> Directory {
        let mut directory = Directory::default();
        for doc in &content.people {
            let person = directory.person(&doc.id);
            person.email = doc.data.email.as_ref().map(|e| e.get().clone());
            person.subscriptions = doc.data.subscribe.iter().map(|s| s.value.clone()).collect();
        }
        directory.first_escalation = first_escalation_people(content)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for ticket in &content.tickets {
            directory.person(&ticket.data.reporter);
            if let Some(assignee) = &ticket.data.assignee {
                directory.person(assignee);
            }
        }
        for module in &content.modules {
            for owner in &module.data.owners {
                directory
                    .person(owner)
                    .follows
                    .insert(Subject::new("module", &module.id));
            }
        }
        for procedure in &content.procedures {
            if let Some(owner) = &procedure.data.owner {
                directory
                    .person(owner)
                    .follows
                    .insert(Subject::new("procedure", &procedure.id));
            }
        }
        directory
    }

    /// The person with `id`, added if new.
    pub fn person(&mut self, id: &str) -> &mut Person {
        self.people.entry(id.to_owned()).or_default()
    }

    /// The ids of everyone told of `event`, sorted, each once.
    pub fn recipients(&self, event: &Event) -> Vec<String> {
        let mut ids: BTreeSet<String> = event.to.iter().cloned().collect();
        // The event's own subject carries its priority (a ticket's); related subjects
        // (a ticket's module, an entry's procedure) have none.
        let subjects: Vec<(&Subject, Option<Priority>)> =
            std::iter::once((&event.subject, event.priority))
                .chain(event.related.iter().map(|s| (s, None)))
                .collect();
        for (id, person) in &self.people {
            if subjects
                .iter()
                .any(|(subject, priority)| person.follows(subject, *priority))
            {
                ids.insert(id.clone());
            }
        }
        let alert = matches!(
            event.kind,
            EventKind::AlertRaised | EventKind::AlertEscalated
        );
        if alert && event.severity == Some(Level::Critical) {
            ids.extend(self.first_escalation.iter().cloned());
        }
        ids.into_iter().collect()
    }

    /// The address of the person with `id`, if known.
    pub fn email(&self, id: &str) -> Option<&str> {
        self.people.get(id).and_then(|p| p.email.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::events::{Published, TicketState, events};

    fn ticket(assignee: Option<&str>) -> TicketState {
        TicketState {
            title: "Login fails".into(),
            status: crate::content::TicketStatus::Open,
            priority: crate::content::Priority::High,
            reporter: "carol".into(),
            assignee: assignee.map(str::to_owned),
            module: Some("billing-api".into()),
            fixed_in: None,
        }
    }

    #[test]
    fn roles_followers_and_the_first_escalation_level_are_recipients() {
        let mut directory = Directory::default();
        directory
            .person("alice")
            .follows
            .insert(Subject::new("module", "billing-api"));
        directory
            .person("dave")
            .follows
            .insert(Subject::new("certificate", "*"));
        directory.person("erin");
        directory.first_escalation = vec!["erin".into()];
        let before = Published::default();
        let mut after = Published::default();
        after.tickets.insert("t1".into(), ticket(Some("bob")));
        let found = events(&before, &after);
        let assigned = found
            .iter()
            .find(|e| e.kind == EventKind::TicketAssigned)
            .unwrap();
        assert_eq!(directory.recipients(assigned), ["alice", "bob"]);
        let opened = found
            .iter()
            .find(|e| e.kind == EventKind::TicketOpened)
            .unwrap();
        assert_eq!(directory.recipients(opened), ["alice"]);

        let mut alert = opened.clone();
        alert.kind = EventKind::AlertRaised;
        alert.subject = Subject::new("certificate", "www");
        alert.related.clear();
        alert.severity = Some(Level::Warning);
        assert_eq!(directory.recipients(&alert), ["dave"]);
        alert.severity = Some(Level::Critical);
        assert_eq!(directory.recipients(&alert), ["dave", "erin"]);
    }

    #[test]
    fn subscriptions_match_by_kind_id_and_ticket_priority() {
        use crate::content::{ChannelKind, Target};
        let mut directory = Directory::default();
        directory.person("pat").subscriptions = vec![Subscription::Tickets {
            priority: Priority::High,
        }];
        directory.person("quinn").subscriptions = vec![Subscription::Entity {
            kind: ChannelKind::Module,
            target: Target::One("billing-api".into()),
        }];
        directory.person("ros").subscriptions = vec![Subscription::Entity {
            kind: ChannelKind::Certificate,
            target: Target::All,
        }];
        let before = Published::default();
        let mut after = Published::default();
        after.tickets.insert("t1".into(), ticket(None));
        let mut low = ticket(None);
        low.priority = Priority::Low;
        low.module = None;
        after.tickets.insert("t2".into(), low);
        let found = events(&before, &after);
        let opened = |id: &str| {
            found
                .iter()
                .find(|e| e.kind == EventKind::TicketOpened && e.subject.id == id)
                .unwrap()
        };
        // A high ticket on billing-api: the priority subscriber and the module's.
        assert_eq!(directory.recipients(opened("t1")), ["pat", "quinn"]);
        // A low ticket on no module: nobody.
        assert!(directory.recipients(opened("t2")).is_empty());
        let mut alert = opened("t1").clone();
        alert.kind = EventKind::AlertRaised;
        alert.subject = Subject::new("certificate", "www");
        alert.related.clear();
        alert.priority = None;
        alert.severity = Some(Level::Warning);
        assert_eq!(directory.recipients(&alert), ["ros"]);
    }
}
