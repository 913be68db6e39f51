//! Who is told of an event: the people an event names by role (a ticket's assignee, its
//! reporter), the people who follow its subject or a related one (a module's owners
//! follow its tickets, a procedure's owner its problem entries and alerts), and for a
//! critical alert the first escalation level.
//!
//! The people come from one [`Directory`], made by [`Directory::from_content`]. From the
//! kinds in the repository today it knows ids only (no addresses): ticket reporters and
//! assignees, module owners, procedure owners. People files (`people/<id>.yaml`: an
//! email and `subscribe:` channels) and the info page's escalation levels fill in the
//! rest of it when they are read: their emails, their subscriptions as followed
//! subjects, and `first_escalation`. Everything else (the matching below, the outbox,
//! the channels) works on the directory alone.

use std::collections::{BTreeMap, BTreeSet};

use super::events::{Event, EventKind, Level, Subject};
use crate::content::Content;

/// One person notifications can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Where mail goes; without one, the person is reached by the channels that need
    /// no address (webhooks, commands) only.
    pub email: Option<String>,
    /// What the person follows: subjects (an id of `*` follows every one of its kind).
    pub follows: BTreeSet<Subject>,
}

impl Person {
    /// Whether the person follows `subject`.
    pub fn follows(&self, subject: &Subject) -> bool {
        self.follows.contains(subject) || self.follows.contains(&Subject::new(&subject.kind, "*"))
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
    /// The people named in approved `content`: every ticket's reporter and assignee,
    /// every module's owners (following the module), every procedure's owner
    /// (following the procedure). Nobody has an address yet: people files give them.
    pub fn from_content(content: &Content) -> Directory {
        let mut directory = Directory::default();
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
        let subjects: Vec<&Subject> = std::iter::once(&event.subject)
            .chain(&event.related)
            .collect();
        for (id, person) in &self.people {
            if subjects.iter().any(|subject| person.follows(subject)) {
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
}
