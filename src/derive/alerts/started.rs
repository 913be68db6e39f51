//! When an alert started: the moment its subject entered the state it is alerted for, at
//! its severity. It depends on the content alone, never on "now", so a feed entry of an
//! alert keeps its date from build to build and changes only when the alert does (a
//! certificate that goes from warning to critical is an updated entry).

use std::collections::BTreeMap;

use super::{Alert, AlertKind, Severity};
use crate::content::Content;
use crate::content::types::{Duration, Moment};
use crate::derive::procedures::{ProcedureStatus, alert_config};
use crate::derive::time::minus;

/// When `alert` started, if anything dated in the content says so: an expiry alert when
/// its window opened (or the day after the expiry date, once expired), an overdue
/// procedure when its grace ran out, a ticket when it was opened, a stale release on its
/// planned date. A procedure never done, and the alerts about the history (pending,
/// refused, left out), have no date here.
pub fn started(
    alert: &Alert,
    content: &Content,
    procedures: &BTreeMap<String, ProcedureStatus>,
) -> Option<Moment> {
    let config = alert_config(content);
    let window = |severity: Severity, certificate: bool| {
        let window = if certificate {
            config.certificates.value
        } else {
            config.domains.value
        };
        match severity {
            Severity::Critical => window.critical,
            Severity::Warning | Severity::Info => window.warn,
        }
    };
    match alert.kind {
        AlertKind::CertificateExpired | AlertKind::DomainExpired => {
            alert.due.map(|expires| expires.plus(Duration::days(1)))
        }
        AlertKind::CertificateExpiring => alert
            .due
            .map(|expires| minus(expires, window(alert.severity, true))),
        AlertKind::DomainExpiring | AlertKind::DomainUnpaid => alert
            .due
            .map(|expires| minus(expires, window(alert.severity, false))),
        AlertKind::ProcedureOverdue => procedures
            .get(&alert.subject)
            .and_then(|status| status.overdue_after),
        AlertKind::TicketOpenHighPriority => content
            .tickets
            .binary_search_by(|t| t.id.as_str().cmp(&alert.subject))
            .ok()
            .and_then(|i| content.tickets.get(i))
            .map(|ticket| ticket.data.opened.value),
        AlertKind::StaleRelease => alert.due,
        AlertKind::ProcedureNeverDone
        | AlertKind::PendingSignature
        | AlertKind::RefusedChange
        | AlertKind::LeftOut => None,
    }
}
