//! The alerts grouped once, for every page that shows some of them: by the kind of their
//! subject, then by subject, and counted by severity; and in sections by the kind of
//! their subject, for the dashboard (which shows the first few of each) and the page of
//! all alerts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Alert, Severity};

/// Subject kind (`"certificate"`) → subject id → its alerts, each list in the order of
/// all the alerts (most urgent first).
pub type BySubject = BTreeMap<&'static str, BTreeMap<String, Vec<Alert>>>;

/// The alerts, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertGroups {
    pub by_subject: BySubject,
    /// How many alerts need someone, of each severity, by name (every severity, even
    /// at 0), and how many are `acknowledged` (counted there only).
    pub counts: BTreeMap<&'static str, usize>,
    /// The alerts by the kind of their subject, the section of the most urgent alert
    /// first (see [`AlertSection`]).
    pub sections: Vec<AlertSection>,
    /// The acknowledged alerts, as indices into the list of all the alerts, most
    /// urgent first: shown apart from the sections.
    pub acknowledged: Vec<usize>,
}

/// The alerts about subjects of one kind (tickets, certificates, pending changes…), in
/// the order of all the alerts: a dashboard shows the first few of each section, so one
/// kind with hundreds of alerts does not bury the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertSection {
    /// The kind of their subjects (`"certificate"`; `"page"` for pending changes).
    pub kind: &'static str,
    /// The severity of its most urgent alert.
    pub severity: Severity,
    /// How many of its alerts are of each severity, by name (only those it has).
    pub counts: BTreeMap<&'static str, usize>,
    /// Its alerts that no one has acknowledged, as indices into the list of all the
    /// alerts, most urgent first.
    pub alerts: Vec<usize>,
}

impl Default for AlertGroups {
    fn default() -> Self {
        group(&[])
    }
}

impl AlertGroups {
    /// The alerts about the subject `id` of kind `kind` (none: `None`).
    pub fn of(&self, kind: &str, id: &str) -> Option<&Vec<Alert>> {
        self.by_subject.get(kind)?.get(id)
    }
}

impl Severity {
    /// The name templates and feeds use.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The name acknowledged alerts are counted under.
pub const ACKNOWLEDGED: &str = "acknowledged";

/// Groups `alerts` (in their order).
pub fn group(alerts: &[Alert]) -> AlertGroups {
    let mut by_subject = BySubject::new();
    let mut counts: BTreeMap<&'static str, usize> =
        [Severity::Critical, Severity::Warning, Severity::Info]
            .into_iter()
            .map(|s| (s.name(), 0))
            .chain([(ACKNOWLEDGED, 0)])
            .collect();
    let mut sections: Vec<AlertSection> = Vec::new();
    let mut acknowledged = Vec::new();
    for (index, alert) in alerts.iter().enumerate() {
        by_subject
            .entry(alert.subject_kind)
            .or_default()
            .entry(alert.subject.clone())
            .or_default()
            .push(alert.clone());
        let counted = match alert.acknowledged {
            Some(_) => ACKNOWLEDGED,
            None => alert.severity.name(),
        };
        *counts.entry(counted).or_default() += 1;
        // Sections hold the alerts that need someone; acknowledged ones are shown apart.
        if alert.acknowledged.is_some() {
            acknowledged.push(index);
            continue;
        }
        // Sections come in the order of their first alert: the most urgent first.
        let section = match sections.iter().position(|s| s.kind == alert.subject_kind) {
            Some(found) => found,
            None => {
                sections.push(AlertSection {
                    kind: alert.subject_kind,
                    severity: alert.severity,
                    counts: BTreeMap::new(),
                    alerts: Vec::new(),
                });
                sections.len() - 1
            }
        };
        if let Some(section) = sections.get_mut(section) {
            section.severity = section.severity.min(alert.severity);
            *section.counts.entry(alert.severity.name()).or_default() += 1;
            section.alerts.push(index);
        }
    }
    AlertGroups {
        by_subject,
        counts,
        sections,
        acknowledged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::AlertKind;

    fn alert(severity: Severity, kind: &'static str, subject: &str, path: &str) -> Alert {
        Alert {
            severity,
            kind: AlertKind::DomainExpiring,
            subject: subject.into(),
            subject_kind: kind,
            path: path.into(),
            message: String::new(),
            due: None,
            reasons: Vec::new(),
            acknowledged: None,
            thread: None,
        }
    }

    #[test]
    fn alerts_are_grouped_by_subject_in_order_and_counted() {
        let alerts = [
            alert(Severity::Critical, "domain", "a", "1"),
            alert(Severity::Warning, "certificate", "a", "2"),
            alert(Severity::Warning, "domain", "a", "3"),
            alert(Severity::Warning, "domain", "b", "4"),
            Alert {
                acknowledged: Some(crate::derive::Acknowledgement {
                    entry: "e".into(),
                    by: "bob".into(),
                    at: crate::derive::fixture::at("2026-11-20T00:00:00Z"),
                    until: None,
                    severity: Severity::Critical,
                }),
                ..alert(Severity::Critical, "host", "h", "5")
            },
        ];
        let groups = group(&alerts);
        let paths = |list: Option<&Vec<Alert>>| -> Vec<String> {
            list.into_iter().flatten().map(|a| a.path.clone()).collect()
        };
        assert_eq!(paths(groups.of("domain", "a")), ["1", "3"]);
        assert_eq!(paths(groups.of("certificate", "a")), ["2"]);
        assert_eq!(paths(groups.of("domain", "c")), Vec::<String>::new());
        assert_eq!(groups.by_subject["domain"].len(), 2);
        assert_eq!(
            groups.counts,
            BTreeMap::from([
                ("acknowledged", 1),
                ("critical", 1),
                ("info", 0),
                ("warning", 3)
            ])
        );
        assert_eq!(AlertGroups::default().counts.values().sum::<usize>(), 0);
    }

    #[test]
    fn sections_are_by_subject_kind_most_urgent_first_with_indices_and_counts() {
        let alerts = [
            alert(Severity::Critical, "ticket", "t1", "1"),
            alert(Severity::Critical, "certificate", "c", "2"),
            alert(Severity::Warning, "ticket", "t2", "3"),
            alert(Severity::Warning, "page", "pending", "4"),
            alert(Severity::Info, "ticket", "t3", "5"),
        ];
        let sections = group(&alerts).sections;
        let kinds: Vec<&str> = sections.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, ["ticket", "certificate", "page"]);
        assert_eq!(sections[0].alerts, [0, 2, 4]);
        assert_eq!(sections[0].severity, Severity::Critical);
        assert_eq!(
            sections[0].counts,
            BTreeMap::from([("critical", 1), ("info", 1), ("warning", 1)])
        );
        assert_eq!(sections[1].alerts, [1]);
        assert_eq!(sections[2].severity, Severity::Warning);
        assert_eq!(sections[2].counts, BTreeMap::from([("warning", 1)]));
        // Every alert is in exactly one section.
        let mut all: Vec<usize> = sections.iter().flat_map(|s| s.alerts.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        assert!(group(&[]).sections.is_empty());
    }

    #[test]
    fn acknowledged_alerts_are_in_no_section() {
        let acknowledged = Alert {
            acknowledged: Some(crate::derive::Acknowledgement {
                entry: "e".into(),
                by: "bob".into(),
                at: crate::derive::fixture::at("2026-11-20T00:00:00Z"),
                until: None,
                severity: Severity::Critical,
            }),
            ..alert(Severity::Critical, "host", "h", "1")
        };
        let alerts = [
            acknowledged.clone(),
            alert(Severity::Warning, "ticket", "t", "2"),
            Alert {
                subject: "h2".into(),
                ..acknowledged
            },
        ];
        let groups = group(&alerts);
        let kinds: Vec<&str> = groups.sections.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, ["ticket"]);
        assert_eq!(groups.sections[0].alerts, [1]);
        assert_eq!(groups.acknowledged, [0, 2]);
        // Still on their subjects' pages.
        assert_eq!(groups.by_subject["host"].len(), 2);
    }
}
