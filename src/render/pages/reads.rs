//! What a page group reads beyond the global data, per kind: the detail pages of each
//! kind and the feeds of its channels. Kept apart from the page table because it grows
//! with every kind whose page shows what a join finds.

use crate::content::Kind;
use crate::render::reads::{Alerts, Reads};

/// What the feeds of the channels of `kind` read ([`crate::derive::channels`]): the
/// threads about each entity and their entries, its alerts (dated by a procedure's state
/// for an overdue procedure), and the tickets and releases on it, found through the
/// joins listed. Each feed's key (`keys/channels.rs`) reads the same, and a test holds
/// the two together.
pub(super) fn channel_reads(kind: Kind) -> Reads {
    use Kind::*;
    let (files, relations): (&'static [Kind], &'static [&'static str]) = match kind {
        Host => (&[LogEntry, Ticket], &["tickets_by_host"]),
        Module => (
            &[LogEntry, Ticket, Release],
            &["releases_by_module", "tickets_by_module"],
        ),
        Release => (&[LogEntry, Ticket, Release], &["tickets_by_release"]),
        Ticket => (&[LogEntry, Ticket], &[]),
        _ => (&[LogEntry], &[]),
    };
    Reads {
        threads: true,
        alerts: Some(Alerts::Of(kind.noun())),
        statuses: kind == Procedure,
        ..Reads::files(files, relations)
    }
}

/// What the inboxes read ([`crate::derive::channels::Channels::inbox`]): what every
/// channel reads, of every kind, and each person's file (what they follow). Which
/// entities they follow comes from the ids of every kind with channels (`<kind>:*`) and
/// from the tickets' files (their priority, reporter and assignee), so a changed ticket
/// keys every inbox again. Each inbox's key (`keys/channels.rs`) reads the same.
pub(super) fn inbox_reads() -> Reads {
    use Kind::*;
    Reads {
        threads: true,
        alerts: Some(Alerts::All),
        statuses: true,
        ids: &crate::derive::CHANNEL_KINDS,
        structure: &[Ticket],
        ..Reads::files(
            &[Person, LogEntry, Ticket, Release],
            &[
                "tickets_by_host",
                "releases_by_module",
                "tickets_by_module",
                "tickets_by_release",
            ],
        )
    }
}

/// Every kind, to borrow a one-kind list from.
static KINDS: [Kind; Kind::COUNT] = Kind::ALL;

/// What the detail pages of `kind` read: their own file, and for the kinds that show
/// other documents, the files of the kinds listed, found through the joins listed (each
/// such kind's key in `keys.rs` reads them, and a test holds the two together). A kind
/// not listed here has pages that show their own file alone, which is where a new kind
/// starts: it is listed once its page shows what a join finds.
pub(super) fn detail_reads(kind: Kind) -> Reads {
    use Kind::*;
    let files = Reads::files;
    // The threads about the entity (`threads.html`): the thread structure, and the
    // entries in them.
    let threads = |reads: Reads| Reads {
        threads: true,
        ..reads
    };
    match kind {
        // Its certificates with their expiry state (from their alerts).
        Host => threads(Reads {
            alerts: Some(Alerts::Of("certificate")),
            ..files(
                &[Host, Service, Site, Certificate, Ticket, LogEntry],
                &[
                    "services_by_host",
                    "certificates_by_host",
                    "tickets_by_host",
                ],
            )
        }),
        Certificate => threads(Reads {
            alerts: Some(Alerts::Of("certificate")),
            ..files(&[Certificate, Host, Procedure, LogEntry], &[])
        }),
        Domain => threads(Reads {
            alerts: Some(Alerts::Of("domain")),
            ..files(&[Domain, LogEntry], &[])
        }),
        Module => threads(files(
            &[Module, Release, Ticket, LogEntry],
            &[
                "releases_by_module",
                "tickets_by_release",
                "tickets_by_module",
            ],
        )),
        Release => threads(Reads {
            alerts: Some(Alerts::Of("release")),
            ..files(
                &[Release, Module, Ticket, LogEntry],
                &["tickets_by_release"],
            )
        }),
        Procedure => threads(Reads {
            alerts: Some(Alerts::Of("procedure")),
            statuses: true,
            ..files(
                &[Procedure, LogEntry, Certificate],
                &["entries_by_procedure", "certificates_by_procedure"],
            )
        }),
        LogEntry => Reads {
            threads: true,
            ..files(&[LogEntry, Procedure], &[])
        },
        Ticket => threads(files(&[Ticket, Module, Release, LogEntry], &[])),
        // The runbooks read services; hosts are only linked to, by id. A runbook says
        // as of when it is (it is printed and taken along).
        Site => threads(Reads {
            now: true,
            ids: &[Host],
            ..files(&[Site, Service, LogEntry], &["services_by_site"])
        }),
        Service => threads(files(&[Service, Site, Host, LogEntry], &[])),
        Person => files(
            &[Person, Ticket, LogEntry],
            &[
                "open_tickets_by_assignee",
                "open_tickets_by_reporter",
                "entries_by_person",
            ],
        ),
        // Which sets a feature's page lists comes from the sets' files.
        Feature => Reads {
            structure: &[AccountSet],
            ..files(&[Feature, AccountSet, Overrides], &[])
        },
        // Its own file alone (news items, account sets, and a new kind's first page).
        own => files(std::slice::from_ref(&KINDS[own.index()]), &[]),
    }
}
