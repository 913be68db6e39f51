//! The ticket list's groups: open and closed tickets, and the open ones by module,
//! priority and assignee, each most urgent first.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fields;
use super::tickets::NO_MODULE;
use crate::content::{Content, Document, Priority, Ticket};
use crate::memo::{Fields, Stamp};

/// Key of open tickets that nobody is assigned to.
pub const UNASSIGNED: &str = "(unassigned)";

/// Tickets grouped for the ticket lists: key → ticket ids (open ones most urgent first,
/// then oldest, then by id; closed ones most recently closed first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TicketGroups {
    pub open: Vec<String>,
    /// Most recently closed first (a closed ticket without a date last), then by id.
    pub closed: Vec<String>,
    pub open_by_module: BTreeMap<String, Vec<String>>,
    /// Most urgent priority first.
    pub open_by_priority: Vec<(String, Vec<String>)>,
    pub open_by_assignee: BTreeMap<String, Vec<String>>,
    /// The index among the tickets (as loaded) of each of `open` and of `closed`.
    #[serde(skip)]
    pub open_docs: Vec<usize>,
    #[serde(skip)]
    pub closed_docs: Vec<usize>,
}

/// The fingerprint of what [`ticket_groups`] reads of the tickets.
pub fn reads(content: &Content) -> Stamp {
    let mut f = Fields::new("ticket groups");
    fields::each(&mut f, &content.tickets, |f, t| {
        fields::name(f, t.priority);
        fields::name(f, t.status.value);
        fields::moment(f, &t.opened.value);
        fields::maybe_moment(f, t.closed.as_ref().map(|c| &c.value));
        fields::reference(f, t.module.as_ref());
        f.maybe(t.assignee.as_deref());
    });
    f.finish()
}

/// Groups the tickets: most urgent first, then oldest, then by id.
pub fn ticket_groups(content: &Content) -> TicketGroups {
    let mut tickets: Vec<(usize, &Document<Ticket>)> = content.tickets.iter().enumerate().collect();
    tickets.sort_by(|(_, a), (_, b)| {
        b.data
            .priority
            .cmp(&a.data.priority)
            .then(a.data.opened.value.cmp(&b.data.opened.value))
            .then(a.id.cmp(&b.id))
    });
    let mut groups = TicketGroups::default();
    let mut closed: Vec<(usize, &Document<Ticket>)> = Vec::new();
    let mut by_priority: BTreeMap<Priority, Vec<String>> = BTreeMap::new();
    for (index, ticket) in tickets {
        let id = ticket.id.clone();
        if !ticket.data.status.value.is_open() {
            closed.push((index, ticket));
            continue;
        }
        groups.open.push(id.clone());
        groups.open_docs.push(index);
        let module = ticket
            .data
            .module
            .as_ref()
            .map_or(NO_MODULE, |m| m.as_str());
        groups
            .open_by_module
            .entry(module.to_owned())
            .or_default()
            .push(id.clone());
        let assignee = ticket.data.assignee.as_deref().unwrap_or(UNASSIGNED);
        groups
            .open_by_assignee
            .entry(assignee.to_owned())
            .or_default()
            .push(id.clone());
        by_priority
            .entry(ticket.data.priority)
            .or_default()
            .push(id);
    }
    groups.open_by_priority = by_priority
        .into_iter()
        .rev()
        .map(|(priority, ids)| (priority.name().to_owned(), ids))
        .collect();
    // What was closed lately is what people look for; undated closures last.
    closed.sort_by(|(_, a), (_, b)| {
        let when = |t: &Document<Ticket>| t.data.closed.as_ref().map(|c| c.value);
        when(b)
            .is_some()
            .cmp(&when(a).is_some())
            .then(when(b).cmp(&when(a)))
            .then(a.id.cmp(&b.id))
    });
    for (index, ticket) in closed {
        groups.closed.push(ticket.id.clone());
        groups.closed_docs.push(index);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;

    fn ticket(priority: &str, status: &str, opened: &str, extra: &str) -> String {
        format!(
            "---\ntitle: T\nkind: bug\npriority: {priority}\nstatus: {status}\n\
             reporter: r\nopened: {opened}\n{extra}---\nBody\n"
        )
    }

    #[test]
    fn open_tickets_are_grouped_most_urgent_then_oldest_first() {
        let content = content(&[
            ("modules/web.yaml", "name: web\nkind: custom\nowners: [a]\n"),
            (
                "tickets/a.md",
                &ticket("normal", "open", "2026-01-02T00:00:00Z", "module: web\n"),
            ),
            (
                "tickets/b.md",
                &ticket("high", "open", "2026-01-03T00:00:00Z", "assignee: bob\n"),
            ),
            (
                "tickets/c.md",
                &ticket("normal", "open", "2026-01-01T00:00:00Z", ""),
            ),
            (
                "tickets/d.md",
                &ticket(
                    "critical",
                    "closed",
                    "2026-01-01T00:00:00Z",
                    "closed: 2026-01-05T00:00:00Z\n",
                ),
            ),
        ]);
        let groups = ticket_groups(&content);
        assert_eq!(groups.open, ["b", "c", "a"]);
        assert_eq!(groups.closed, ["d"]);
        assert_eq!(groups.open_docs.len(), 3);
        assert_eq!(content.tickets[groups.closed_docs[0]].id, "d");
        assert_eq!(
            groups.open_by_priority,
            vec![
                ("high".to_owned(), vec!["b".to_owned()]),
                ("normal".to_owned(), vec!["c".to_owned(), "a".to_owned()]),
            ]
        );
        assert_eq!(groups.open_by_module["web"], ["a"]);
        assert_eq!(groups.open_by_module[NO_MODULE], ["b", "c"]);
        assert_eq!(groups.open_by_assignee["bob"], ["b"]);
        assert_eq!(groups.open_by_assignee[UNASSIGNED], ["c", "a"]);
    }

    #[test]
    fn closed_tickets_are_most_recently_closed_first() {
        let closed = |priority: &str, closed: &str| {
            ticket(
                priority,
                "closed",
                "2026-01-01T00:00:00Z",
                &format!("closed: {closed}\n"),
            )
        };
        let content = content(&[
            ("tickets/a.md", &closed("critical", "2026-01-05T00:00:00Z")),
            ("tickets/b.md", &closed("low", "2026-03-01T00:00:00Z")),
            ("tickets/d.md", &closed("normal", "2026-02-01T00:00:00Z")),
            ("tickets/e.md", &closed("low", "2026-02-01T00:00:00Z")),
        ]);
        let groups = ticket_groups(&content);
        assert_eq!(groups.closed, ["b", "d", "e", "a"]);
        let docs: Vec<&str> = groups
            .closed_docs
            .iter()
            .map(|&i| content.tickets[i].id.as_str())
            .collect();
        assert_eq!(docs, groups.closed);
        // The order depends on when they closed, so the fingerprint reads it.
        let later = content_with_close("2026-03-02T00:00:00Z");
        assert_ne!(
            reads(&content_with_close("2026-03-01T00:00:00Z")),
            reads(&later)
        );
    }

    fn content_with_close(closed: &str) -> Content {
        content(&[(
            "tickets/a.md",
            &ticket(
                "low",
                "closed",
                "2026-01-01T00:00:00Z",
                &format!("closed: {closed}\n"),
            ),
        )])
    }

    #[test]
    fn the_fingerprint_ignores_titles() {
        let one = content(&[(
            "tickets/a.md",
            &ticket("low", "open", "2026-01-01T00:00:00Z", ""),
        )]);
        let other = content(&[(
            "tickets/a.md",
            &ticket("low", "open", "2026-01-01T00:00:00Z", "").replace("title: T", "title: U"),
        )]);
        let raised = content(&[(
            "tickets/a.md",
            &ticket("high", "open", "2026-01-01T00:00:00Z", ""),
        )]);
        assert_eq!(reads(&one), reads(&other));
        assert_ne!(reads(&one), reads(&raised));
    }
}
