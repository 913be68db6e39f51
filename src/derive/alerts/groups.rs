//! The alerts grouped once, for every page that shows some of them: by the kind of their
//! subject, then by subject, and counted by severity.

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
    for alert in alerts {
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
    }
    AlertGroups { by_subject, counts }
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
}
