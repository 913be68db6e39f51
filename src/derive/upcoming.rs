//! The calendar of due dates: expiries, procedure due dates and planned releases, for
//! the dashboard's "coming up" list and the iCalendar feed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::procedures::ProcedureStatus;
use crate::content::types::Moment;
use crate::content::{Content, ReleaseStatus};

/// What falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    CertificateExpiry,
    DomainExpiry,
    ProcedureDue,
    ReleasePlanned,
}

impl DueKind {
    /// The kind of entity that falls due, as alerts name it.
    pub fn subject_kind(self) -> &'static str {
        match self {
            DueKind::CertificateExpiry => "certificate",
            DueKind::DomainExpiry => "domain",
            DueKind::ProcedureDue => "procedure",
            DueKind::ReleasePlanned => "release",
        }
    }
}

/// One date in the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueItem {
    pub when: Moment,
    /// Whether only the day is known (expiry and release dates are dates; a procedure
    /// falls due at an instant). An iCalendar feed writes these as all-day events.
    pub all_day: bool,
    pub kind: DueKind,
    /// The id of the entity.
    pub subject: String,
    /// A short human title, e.g. "Certificate api.example.com expires".
    pub title: String,
    /// The file the date comes from.
    pub path: String,
}

/// Every due date, past or future (the caller picks the range it shows), earliest
/// first, then by path. Procedures never done have no date and are left out (they are
/// an alert instead); so are releases already released or cancelled.
pub fn upcoming(content: &Content, procedures: &BTreeMap<String, ProcedureStatus>) -> Vec<DueItem> {
    let mut items = Vec::new();
    items.extend(content.certificates.iter().map(|c| DueItem {
        when: c.data.not_after.value.start(),
        all_day: true,
        kind: DueKind::CertificateExpiry,
        subject: c.id.clone(),
        title: format!("Certificate {} expires", c.data.common_name),
        path: c.path.clone(),
    }));
    items.extend(content.domains.iter().map(|d| DueItem {
        when: d.data.expires.value.start(),
        all_day: true,
        kind: DueKind::DomainExpiry,
        subject: d.id.clone(),
        title: format!("Domain {} expires", d.data.domain_name),
        path: d.path.clone(),
    }));
    items.extend(content.procedures.iter().filter_map(|p| {
        let when = procedures.get(&p.id)?.next_due?;
        Some(DueItem {
            when,
            all_day: false,
            kind: DueKind::ProcedureDue,
            subject: p.id.clone(),
            title: format!("Procedure due: {}", p.data.title),
            path: p.path.clone(),
        })
    }));
    items.extend(content.releases.iter().filter_map(|r| {
        let pending = matches!(
            r.data.status.value,
            ReleaseStatus::Planned | ReleaseStatus::InProgress
        );
        let planned = r.data.planned.as_ref().filter(|_| pending)?;
        Some(DueItem {
            when: planned.value.start(),
            all_day: true,
            kind: DueKind::ReleasePlanned,
            subject: r.id.clone(),
            title: format!(
                "Release {} {} planned",
                r.data.module.as_str(),
                r.data.version.as_str()
            ),
            path: r.path.clone(),
        })
    }));
    items.sort_by(|a, b| (a.when, &a.path).cmp(&(b.when, &b.path)));
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::{at, content};
    use crate::derive::procedures::statuses;

    fn sample() -> Content {
        content(&[
            (
                "certificates/www.yaml",
                "common_name: www.example.org\nnot_after: 2026-12-10\n",
            ),
            (
                "certificates/old.yaml",
                "common_name: old.example.org\nnot_after: 2026-01-01\n",
            ),
            (
                "domains/example-org.yaml",
                "domain_name: example.org\nexpires: 2026-12-10\n",
            ),
            (
                "procedures/daily.md",
                "---\ntitle: Daily check\nevery: 1d\n---\n",
            ),
            ("procedures/never.md", "---\ntitle: Never\nevery: 1d\n---\n"),
            ("procedures/adhoc.md", "---\ntitle: Ad hoc\n---\n"),
            (
                "logbook/2026/11/d.md",
                "---\nat: 2026-11-20T08:00:00Z\nby: bob\nprocedure: daily\n---\n",
            ),
            (
                "logbook/2026/11/a.md",
                "---\nat: 2026-11-20T08:00:00Z\nby: bob\nprocedure: adhoc\n---\n",
            ),
            ("modules/web.yaml", "kind: custom\n"),
            (
                "releases/web-1.yaml",
                "module: web\nversion: \"1.0\"\nstatus: released\nplanned: 2026-11-01\nactual: 2026-11-02\n",
            ),
            (
                "releases/web-2.yaml",
                "module: web\nversion: \"2.0\"\nstatus: in_progress\nplanned: 2026-11-24\n",
            ),
            (
                "releases/web-3.yaml",
                "module: web\nversion: \"3.0\"\nstatus: cancelled\nplanned: 2027-01-01\n",
            ),
            (
                "releases/web-4.yaml",
                "module: web\nversion: \"4.0\"\nstatus: planned\n",
            ),
        ])
    }

    #[test]
    fn lists_every_dated_item_in_order() {
        let content = sample();
        let items = upcoming(&content, &statuses(&content, at("2026-11-22T00:00:00Z")));
        let summary: Vec<(String, DueKind, &str)> = items
            .iter()
            .map(|i| (i.when.to_string(), i.kind, i.subject.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "2026-01-01T00:00:00Z".into(),
                    DueKind::CertificateExpiry,
                    "old"
                ),
                (
                    "2026-11-21T08:00:00Z".into(),
                    DueKind::ProcedureDue,
                    "daily"
                ),
                (
                    "2026-11-24T00:00:00Z".into(),
                    DueKind::ReleasePlanned,
                    "web-2"
                ),
                (
                    "2026-12-10T00:00:00Z".into(),
                    DueKind::CertificateExpiry,
                    "www"
                ),
                (
                    "2026-12-10T00:00:00Z".into(),
                    DueKind::DomainExpiry,
                    "example-org"
                ),
            ]
        );
    }

    #[test]
    fn titles_are_human() {
        let content = sample();
        let items = upcoming(&content, &statuses(&content, at("2026-11-22T00:00:00Z")));
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Certificate old.example.org expires",
                "Procedure due: Daily check",
                "Release web 2.0 planned",
                "Certificate www.example.org expires",
                "Domain example.org expires",
            ]
        );
        assert!(items[0].all_day);
        assert!(!items[1].all_day);
    }
}
