//! What happened, as people are told: the difference between the state last notified and
//! the state published now.
//!
//! [`Published`] is a snapshot of what notifications are about, taken from **approved**
//! content and what it implies at a moment ([`Published::of`]): tickets, alerts, logbook
//! entries with disposition `problem`, news. [`events`] compares two snapshots. Both are
//! pure: time enters only through the [`Derived`] the snapshot is taken from (its alerts
//! depend on `now`), so a certificate entering its critical window changes the snapshot
//! with no commit at all, and that is an event like any other.
//!
//! There is no event without a previous snapshot: the first run on a repository records
//! the state and tells no one ([`events`] is only called with one).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::content::types::Moment;
use crate::content::{Content, Disposition, Priority, TicketStatus};
use crate::derive::{Derived, Severity};

/// The version of the snapshot's format.
pub const VERSION: u32 = 1;

/// What notifications are about, at one moment. Serialized to the state directory as
/// the last state notified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Ticket id → its state.
    pub tickets: BTreeMap<String, TicketState>,
    /// `<subject kind>/<subject id>` → the alert about it.
    pub alerts: BTreeMap<String, AlertState>,
    /// Logbook entry id → an entry with disposition `problem`.
    pub problems: BTreeMap<String, ProblemEntry>,
    /// News id → the item.
    pub news: BTreeMap<String, NewsItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    pub title: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub reporter: String,
    pub assignee: Option<String>,
    pub module: Option<String>,
    pub fixed_in: Option<String>,
}

/// How urgent an alert is (the derive stage's [`Severity`], in a form that is read back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Critical,
    Warning,
    Info,
}

impl From<Severity> for Level {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Critical => Level::Critical,
            Severity::Warning => Level::Warning,
            Severity::Info => Level::Info,
        }
    }
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    pub subject: Subject,
    pub severity: Level,
    pub message: String,
    /// When the thing expires or fell due: part of the alert's identity, so the same
    /// kind of alert about the same subject a period later is a new alert.
    pub due: Option<Moment>,
    /// Who acknowledged it, while an acknowledgement holds.
    pub acknowledged_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemEntry {
    pub at: Moment,
    pub by: String,
    pub procedure: Option<String>,
    /// `<kind>/<id>` the entry is about.
    pub about: Option<String>,
    /// The first line of its notes.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsItem {
    pub title: String,
    pub date: Moment,
    pub author: Option<String>,
}

/// What an event is about: an entity's kind (singular, as alerts name it: `ticket`,
/// `certificate`, `procedure`, `logbook`, `news`…) and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    pub kind: String,
    pub id: String,
}

impl Subject {
    pub fn new(kind: &str, id: &str) -> Self {
        Subject {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }

    /// `certificate/www`, as logbook entries' `about` names it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }

    /// The page of the subject on the site, relative to its root.
    pub fn page(&self) -> String {
        let dir = match self.kind.as_str() {
            "host" => "hosts",
            "certificate" => "certificates",
            "domain" => "domains",
            "module" => "modules",
            "release" => "releases",
            "procedure" => "procedures",
            "ticket" => "tickets",
            "logbook" => "logbook",
            "news" => "news",
            "site" => "sites",
            "service" => "services",
            _ => return "alerts.html".to_owned(),
        };
        crate::render::names::link(crate::render::names::detail_page(dir, &self.id))
    }
}

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    TicketOpened,
    TicketAssigned,
    TicketFixed,
    TicketClosed,
    AlertRaised,
    AlertEscalated,
    AlertCleared,
    AlertAcknowledged,
    ProblemLogged,
    NewsPublished,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::TicketOpened,
        EventKind::TicketAssigned,
        EventKind::TicketFixed,
        EventKind::TicketClosed,
        EventKind::AlertRaised,
        EventKind::AlertEscalated,
        EventKind::AlertCleared,
        EventKind::AlertAcknowledged,
        EventKind::ProblemLogged,
        EventKind::NewsPublished,
    ];

    /// Its name in JSON and in configuration (`ticket_opened`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::TicketOpened => "ticket_opened",
            EventKind::TicketAssigned => "ticket_assigned",
            EventKind::TicketFixed => "ticket_fixed",
            EventKind::TicketClosed => "ticket_closed",
            EventKind::AlertRaised => "alert_raised",
            EventKind::AlertEscalated => "alert_escalated",
            EventKind::AlertCleared => "alert_cleared",
            EventKind::AlertAcknowledged => "alert_acknowledged",
            EventKind::ProblemLogged => "problem_logged",
            EventKind::NewsPublished => "news_published",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One thing to tell people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Stable: the same change gives the same id on every run (blake3 of the kind, the
    /// subject and the states before and after), so the outbox recognises it again.
    pub id: String,
    pub kind: EventKind,
    pub subject: Subject,
    /// One line (a mail's subject).
    pub title: String,
    /// A few lines (a mail's body, before the link).
    pub text: String,
    /// The subject's page, relative to the site's root.
    pub page: String,
    /// The people the event is addressed to by role (a ticket's new assignee, its
    /// reporter when it is fixed, the author of a problem entry is not among them).
    pub to: Vec<String>,
    /// The ticket's priority, for ticket events.
    pub priority: Option<Priority>,
    /// The alert's severity, for alert events.
    pub severity: Option<Level>,
    /// The procedure a problem entry records, the module a ticket is about: what
    /// subscriptions to those match.
    pub related: Vec<Subject>,
}

impl Published {
    /// The snapshot of approved `content` and what it implies (`derived`, at its `now`).
    pub fn of(content: &Content, derived: &Derived) -> Published {
        let tickets = content
            .tickets
            .iter()
            .map(|doc| {
                let t = &doc.data;
                let state = TicketState {
                    title: t.title.clone(),
                    status: *t.status.get(),
                    priority: t.priority,
                    reporter: t.reporter.clone(),
                    assignee: t.assignee.clone(),
                    module: t.module.as_ref().map(|m| m.as_str().to_owned()),
                    fixed_in: t.fixed_in.as_ref().map(|r| r.as_str().to_owned()),
                };
                (doc.id.clone(), state)
            })
            .collect();
        let alerts = derived
            .alerts
            .iter()
            .map(|alert| {
                let subject = Subject::new(alert.subject_kind, &alert.subject);
                let state = AlertState {
                    severity: alert.severity.into(),
                    message: alert.message.clone(),
                    due: alert.due,
                    acknowledged_by: alert.acknowledged.as_ref().map(|a| a.by.clone()),
                    subject: subject.clone(),
                };
                (subject.key(), state)
            })
            .collect();
        let problems = content
            .logbook
            .iter()
            .filter(|doc| doc.data.disposition == Some(Disposition::Problem))
            .map(|doc| {
                let e = &doc.data;
                let entry = ProblemEntry {
                    at: *e.at.get(),
                    by: e.by.clone(),
                    procedure: e.procedure.as_ref().map(|p| p.as_str().to_owned()),
                    about: e.about.as_ref().map(|a| a.as_str().to_owned()),
                    summary: first_line(&doc.body),
                };
                (doc.id.clone(), entry)
            })
            .collect();
        let news = content
            .news
            .iter()
            .map(|doc| {
                let item = NewsItem {
                    title: doc.data.title.clone(),
                    date: *doc.data.date.get(),
                    author: doc.data.author.clone(),
                };
                (doc.id.clone(), item)
            })
            .collect();
        Published {
            tickets,
            alerts,
            problems,
            news,
        }
    }
}

/// The first non-empty line of a Markdown body, at most 200 characters.
fn first_line(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let line = line.trim_start_matches('#').trim();
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// Every event between the state last notified and `next`, in a stable order (by kind,
/// then subject).
pub fn events(previous: &Published, next: &Published) -> Vec<Event> {
    let mut out = Vec::new();
    for (id, ticket) in &next.tickets {
        ticket_events(id, previous.tickets.get(id), ticket, &mut out);
    }
    for (key, alert) in &next.alerts {
        alert_events(previous.alerts.get(key), alert, &mut out);
    }
    for (key, alert) in &previous.alerts {
        if !next.alerts.contains_key(key) {
            let subject = &alert.subject;
            out.push(make(
                EventKind::AlertCleared,
                subject,
                (Some(alert), None::<&AlertState>),
                format!("Cleared: {}", alert.message),
                format!(
                    "The {} alert about {} {} is over.",
                    alert.severity.name(),
                    subject.kind,
                    subject.id
                ),
                |e| e.severity = Some(alert.severity),
            ));
        }
    }
    for (id, entry) in &next.problems {
        if previous.problems.contains_key(id) {
            continue;
        }
        let subject = Subject::new("logbook", id);
        let what = match (&entry.procedure, &entry.about) {
            (Some(p), _) => format!("procedure {p}"),
            (None, Some(about)) => about.clone(),
            (None, None) => "an ad hoc entry".to_owned(),
        };
        out.push(make(
            EventKind::ProblemLogged,
            &subject,
            (None::<&ProblemEntry>, Some(entry)),
            format!("Problem logged by {} ({what}): {}", entry.by, entry.summary),
            format!(
                "{} logged a problem at {} ({what}):\n{}",
                entry.by, entry.at, entry.summary
            ),
            |e| {
                e.related
                    .extend(entry.procedure.iter().map(|p| Subject::new("procedure", p)));
                e.related
                    .extend(entry.about.as_deref().and_then(subject_of_key));
            },
        ));
    }
    for (id, item) in &next.news {
        if previous.news.contains_key(id) {
            continue;
        }
        let by = item
            .author
            .as_deref()
            .map_or(String::new(), |a| format!(" by {a}"));
        out.push(make(
            EventKind::NewsPublished,
            &Subject::new("news", id),
            (None::<&NewsItem>, Some(item)),
            format!("News: {}", item.title),
            format!("{}{by}, {}.", item.title, item.date.date()),
            |_| {},
        ));
    }
    // An alert about a ticket concerns whom the ticket does: the followers of its
    // priority and of its module. (Not part of the id, which stays what it was.)
    for event in &mut out {
        if event.subject.kind != "ticket" || event.priority.is_some() {
            continue;
        }
        let id = &event.subject.id;
        if let Some(ticket) = next.tickets.get(id).or_else(|| previous.tickets.get(id)) {
            event.priority = Some(ticket.priority);
            event
                .related
                .extend(ticket.module.iter().map(|m| Subject::new("module", m)));
        }
    }
    out.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    out
}

/// `certificate/www` → its subject.
fn subject_of_key(key: &str) -> Option<Subject> {
    let (kind, id) = key.split_once('/')?;
    Some(Subject::new(kind, id))
}

fn ticket_events(id: &str, before: Option<&TicketState>, now: &TicketState, out: &mut Vec<Event>) {
    let subject = Subject::new("ticket", id);
    let states = (before, Some(now));
    let was_open = before.is_some_and(|b| b.status.is_open());
    let fill = |e: &mut Event| {
        e.priority = Some(now.priority);
        e.related
            .extend(now.module.iter().map(|m| Subject::new("module", m)));
    };
    if now.status.is_open() && !was_open {
        let verb = if before.is_some() {
            "reopened"
        } else {
            "opened"
        };
        out.push(make(
            EventKind::TicketOpened,
            &subject,
            states,
            format!(
                "Ticket {id} {verb} ({} priority): {}",
                now.priority.name(),
                now.title
            ),
            format!(
                "{} {verb} ticket {id}, {} priority{}: {}",
                now.reporter,
                now.priority.name(),
                now.module
                    .as_deref()
                    .map_or(String::new(), |m| format!(", module {m}")),
                now.title
            ),
            fill,
        ));
    }
    let assigned_before = before.and_then(|b| b.assignee.as_deref());
    if let Some(assignee) = now.assignee.as_deref()
        && now.status.is_open()
        && Some(assignee) != assigned_before
    {
        out.push(make(
            EventKind::TicketAssigned,
            &subject,
            states,
            format!("Ticket {id} assigned to {assignee}: {}", now.title),
            format!(
                "Ticket {id} ({} priority) is assigned to {assignee}: {}",
                now.priority.name(),
                now.title
            ),
            |e| {
                fill(e);
                e.to.push(assignee.to_owned());
            },
        ));
    }
    if was_open && !now.status.is_open() {
        let (kind, title, text) = match (&now.fixed_in, now.status) {
            (Some(release), _) => (
                EventKind::TicketFixed,
                format!("Ticket {id} fixed in {release}: {}", now.title),
                format!(
                    "Ticket {id}, reported by {}, is fixed in release {release}: {}",
                    now.reporter, now.title
                ),
            ),
            (None, status) => (
                EventKind::TicketClosed,
                format!(
                    "Ticket {id} closed ({}): {}",
                    status_name(status),
                    now.title
                ),
                format!(
                    "Ticket {id}, reported by {}, is closed ({}): {}",
                    now.reporter,
                    status_name(status),
                    now.title
                ),
            ),
        };
        out.push(make(kind, &subject, states, title, text, |e| {
            fill(e);
            e.to.push(now.reporter.clone());
            if let Some(release) = &now.fixed_in {
                e.related.push(Subject::new("release", release));
            }
        }));
    }
}

fn alert_events(before: Option<&AlertState>, now: &AlertState, out: &mut Vec<Event>) {
    let subject = &now.subject;
    let states = (before, Some(now));
    let severity = |e: &mut Event| e.severity = Some(now.severity);
    let about = format!("{} {}", subject.kind, subject.id);
    match before {
        None => out.push(make(
            EventKind::AlertRaised,
            subject,
            states,
            format!("[{}] {}", now.severity.name(), now.message),
            format!(
                "A {} alert about {about}: {}",
                now.severity.name(),
                now.message
            ),
            severity,
        )),
        // A smaller level is more severe.
        Some(before) if now.severity < before.severity => out.push(make(
            EventKind::AlertEscalated,
            subject,
            states,
            format!("[{}] {}", now.severity.name(), now.message),
            format!(
                "The alert about {about} went from {} to {}: {}",
                before.severity.name(),
                now.severity.name(),
                now.message
            ),
            severity,
        )),
        Some(_) => {}
    }
    let acknowledged_before = before.and_then(|b| b.acknowledged_by.as_deref());
    if let Some(by) = now.acknowledged_by.as_deref()
        && acknowledged_before.is_none()
    {
        out.push(make(
            EventKind::AlertAcknowledged,
            subject,
            states,
            format!("Acknowledged by {by}: {}", now.message),
            format!(
                "{by} acknowledged the {} alert about {about}: {}",
                now.severity.name(),
                now.message
            ),
            severity,
        ));
    }
}

/// An event of `kind` about `subject`, whose id is made of the kind, the subject and
/// the states before and after.
fn make<S: Serialize>(
    kind: EventKind,
    subject: &Subject,
    states: (Option<&S>, Option<&S>),
    title: String,
    text: String,
    fill: impl FnOnce(&mut Event),
) -> Event {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"glassroom notify event\0");
    hasher.update(kind.name().as_bytes());
    hasher.update(b"\0");
    hasher.update(subject.key().as_bytes());
    hasher.update(b"\0");
    hasher.update(&serde_json::to_vec(&states).unwrap_or_default());
    let mut event = Event {
        id: hasher.finalize().to_hex()[..32].to_owned(),
        kind,
        page: subject.page(),
        subject: subject.clone(),
        title: crate::diag::printable(&title).into_owned(),
        text,
        to: Vec::new(),
        priority: None,
        severity: None,
        related: Vec::new(),
    };
    fill(&mut event);
    event
}

fn status_name(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Open => "open",
        TicketStatus::InProgress => "in progress",
        TicketStatus::Closed => "closed",
        TicketStatus::Wontfix => "won't fix",
    }
}

#[cfg(test)]
mod tests;
