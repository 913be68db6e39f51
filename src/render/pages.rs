//! Which pages a site has: the table of [`Page`]s, each a group of pages that are listed,
//! keyed and kept together, with its template, navigation section and what it reads
//! declared once ([`Page::spec`]); and what each page's template is told beyond the
//! global data.
//!
//! To add a page: add its variant (or a [`List`] variant, listed in [`List::ALL`]) and
//! declare it in [`Page::spec`]; the compiler then points at every place that must know
//! it (no match over pages has a `_` arm): for a new kind of group, which files it has
//! (`group_pages` in `groups.rs`) and how its pages are keyed. Its cache key follows
//! from what it declares it reads ([`Reads::stamp`]). A kind's detail pages come from
//! the kind table (template, section); they read their own file unless `detail_reads`
//! says more.

use serde::Serialize;

use super::data::MonthView;
use super::paging::{Pager, page_count};
use super::reads::{Alerts, Reads};
use crate::content::{Content, Kind};
use crate::derive::Month;
use crate::derive::channels::has_channel;

/// A page that lists many things: the dashboard, each kind's index, reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    Dashboard,
    /// Every alert, by section: the dashboard shows the first few of each.
    Alerts,
    NotFound,
    Hosts,
    Certificates,
    Domains,
    Modules,
    Releases,
    Procedures,
    Logbook,
    Tickets,
    TicketReport,
    Sites,
    Services,
    News,
    Flags,
    /// The info page: what the service is, whom to call.
    Info,
    People,
}

impl List {
    pub const ALL: [List; 18] = [
        List::Dashboard,
        List::Alerts,
        List::NotFound,
        List::Hosts,
        List::Certificates,
        List::Domains,
        List::Modules,
        List::Releases,
        List::Procedures,
        List::Logbook,
        List::Tickets,
        List::TicketReport,
        List::Sites,
        List::Services,
        List::News,
        List::Flags,
        List::Info,
        List::People,
    ];
}

/// A group of pages, listed, keyed and kept together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    /// One page that lists many things.
    List(List),
    /// A page for each entity of a kind.
    Detail(Kind),
    /// The feed of each entity's channel, for the kinds with channels
    /// ([`crate::derive::channels`]): `feeds/<kind>/<id>.atom`.
    Channel(Kind),
    /// Each person's inbox: `people/<id>/inbox.atom`.
    Inbox,
    /// A page for each month of the logbook.
    Months,
    /// The audit trail: its index, what is pending, and a page for every file with a
    /// trail (when the site is built from a verified history).
    Audit,
}

/// What a group of pages is, declared once.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The output path, for a group of one page (a list).
    pub path: Option<&'static str>,
    /// The template of its pages (the audit trail's index and pending page have their
    /// own, see `audit_pages`).
    pub template: &'static str,
    /// Which section of the navigation is current.
    pub section: &'static str,
    /// What its pages read: their keys are made from it.
    pub reads: Reads,
}

/// The template of a file's audit trail.
const AUDIT_FILE: &str = "audit_file.html";

/// What the logbook's list and its months read.
const LOGBOOK_READS: Reads = Reads {
    now: true,
    threads: true,
    ..Reads::files(&[Kind::LogEntry, Kind::Procedure], &[])
};

impl Page {
    /// Every group of pages, in the order they are planned and rendered: the lists, each
    /// kind's detail pages (in the order of [`Kind::ALL`]), each kind's channel feeds,
    /// the inboxes, the months, the audit trail.
    pub fn all() -> Vec<Page> {
        let lists = List::ALL.into_iter().map(Page::List);
        let details = Kind::ALL
            .into_iter()
            .map(Page::Detail)
            .filter(|page| page.spec().is_some());
        let channels = Kind::ALL
            .into_iter()
            .map(Page::Channel)
            .filter(|page| page.spec().is_some());
        lists
            .chain(details)
            .chain(channels)
            .chain([Page::Inbox, Page::Months, Page::Audit])
            .collect()
    }

    /// A list page.
    pub fn is_list(self) -> bool {
        matches!(self, Page::List(_))
    }

    /// What the group is: `None` for the kinds without pages of their own.
    pub fn spec(self) -> Option<Spec> {
        use Kind::*;
        let list = |path, template, section, reads: Reads| Spec {
            path: Some(path),
            template,
            section,
            reads: Reads { now: true, ..reads },
        };
        let files = Reads::files;
        Some(match self {
            Page::List(page) => match page {
                // Counts, the latest entries and news, what is due, alerts, threads to
                // answer.
                List::Dashboard => list(
                    "index.html",
                    "dashboard.html",
                    "dashboard",
                    Reads {
                        ids: &[Host],
                        alerts: Some(Alerts::All),
                        threads: true,
                        upcoming: true,
                        ticket_groups: true,
                        ..files(&[LogEntry, Procedure, News], &[])
                    },
                ),
                List::Alerts => list(
                    "alerts.html",
                    "alerts.html",
                    "dashboard",
                    // Each alert links to its thread.
                    Reads {
                        alerts: Some(Alerts::All),
                        ..files(&[LogEntry], &[])
                    },
                ),
                List::NotFound => list("404.html", "404.html", "", files(&[], &[])),
                List::Hosts => list(
                    "hosts/index.html",
                    "hosts.html",
                    "hosts",
                    files(&[Host], &["services_by_host", "open_tickets_by_host"]),
                ),
                List::Certificates => list(
                    "certificates/index.html",
                    "certificates.html",
                    "certificates",
                    Reads {
                        alerts: Some(Alerts::Of("certificate")),
                        ..files(&[Certificate], &[])
                    },
                ),
                List::Domains => list(
                    "domains/index.html",
                    "domains.html",
                    "domains",
                    Reads {
                        alerts: Some(Alerts::Of("domain")),
                        ..files(&[Domain], &[])
                    },
                ),
                List::Modules => list(
                    "modules/index.html",
                    "modules.html",
                    "modules",
                    files(&[Module], &["releases_by_module", "open_tickets_by_module"]),
                ),
                List::Releases => list(
                    "releases/index.html",
                    "releases.html",
                    "releases",
                    Reads {
                        alerts: Some(Alerts::Of("release")),
                        ..files(&[Release, Module], &["tickets_by_release"])
                    },
                ),
                // A procedure's status comes from its logbook entries.
                List::Procedures => list(
                    "procedures/index.html",
                    "procedures.html",
                    "procedures",
                    Reads {
                        statuses: true,
                        ..files(&[Procedure], &[])
                    },
                ),
                List::Logbook => list(
                    "logbook/index.html",
                    "logbook.html",
                    "logbook",
                    LOGBOOK_READS,
                ),
                // Rows show the version a ticket was fixed in.
                List::Tickets => list(
                    "tickets/index.html",
                    "tickets.html",
                    "tickets",
                    Reads {
                        ticket_groups: true,
                        ..files(&[Ticket, Release], &[])
                    },
                ),
                List::TicketReport => list(
                    "reports/tickets.html",
                    "ticket_report.html",
                    "tickets",
                    Reads {
                        report: true,
                        ..files(&[Module], &[])
                    },
                ),
                List::Sites => list(
                    "sites/index.html",
                    "sites.html",
                    "sites",
                    files(&[Site], &["services_by_site"]),
                ),
                List::Services => list(
                    "services/index.html",
                    "services.html",
                    "sites",
                    files(&[Service, Site], &[]),
                ),
                List::News => list("news/index.html", "news.html", "news", files(&[News], &[])),
                List::Flags => list(
                    "flags/index.html",
                    "flags.html",
                    "flags",
                    files(&[Feature, AccountSet, Overrides], &[]),
                ),
                // The escalation names people, with their contact.
                List::Info => list(
                    "info.html",
                    "info.html",
                    "info",
                    files(&[Info, Person], &[]),
                ),
                List::People => list(
                    "people/index.html",
                    "people.html",
                    "people",
                    files(
                        &[Person],
                        &["open_tickets_by_assignee", "open_tickets_by_reporter"],
                    ),
                ),
            },
            // A detail page's template and section are its kind's (the kind table);
            // what it reads, see `detail_reads`.
            Page::Detail(kind) => {
                let page = kind.page()?;
                Spec {
                    path: None,
                    template: page.template,
                    section: page.section,
                    reads: detail_reads(kind),
                }
            }
            Page::Channel(kind) => {
                kind.page()?;
                if !has_channel(kind) {
                    return None;
                }
                Spec {
                    path: None,
                    template: CHANNEL_TEMPLATE,
                    section: "",
                    reads: channel_reads(kind),
                }
            }
            Page::Inbox => Spec {
                path: None,
                template: CHANNEL_TEMPLATE,
                section: "",
                reads: inbox_reads(),
            },
            Page::Months => Spec {
                path: None,
                template: "logbook_month.html",
                section: "logbook",
                reads: LOGBOOK_READS,
            },
            Page::Audit => Spec {
                path: None,
                template: AUDIT_FILE,
                section: "audit",
                reads: Reads {
                    now: true,
                    trust: true,
                    ..files(&[], &[])
                },
            },
        })
    }
}

/// The template of the channels' feeds (and of the site-wide feeds).
pub const CHANNEL_TEMPLATE: &str = "atom.xml";

/// One HTML page to render. Its template context is made only when the page is
/// rendered: a rebuild that reuses most pages never makes theirs.
pub struct PageFile {
    /// Output path relative to the site root, e.g. `hosts/web1.html`.
    pub path: String,
    pub template: &'static str,
    /// Which section of the navigation is current.
    section: &'static str,
    /// The entity shown, for detail pages.
    id: String,
    /// The kind of the entity shown, for detail pages and channel feeds (a person for
    /// an inbox).
    kind: Option<Kind>,
    /// A channel's feed or an inbox (made by `feeds::channel_feed` or
    /// `feeds::inbox_feed`, not from the page context).
    feed: bool,
    /// What the template is told besides `root` and `page`.
    extra: Vec<(&'static str, tera::Value)>,
    /// The rows of each long table this page shows ([`super::paging`]).
    ranges: Vec<(&'static str, std::ops::Range<usize>)>,
}

#[derive(Serialize)]
struct PageInfo<'a> {
    /// Which section of the navigation is current.
    section: &'a str,
    /// The entity shown, for detail pages.
    id: &'a str,
    /// The link to this page from the site root.
    url: &'a str,
    /// The link to the feed of the channel of the entity shown (a person's inbox), from
    /// the site root.
    feed: Option<String>,
}

impl PageFile {
    /// What the template is told beyond the global data.
    pub fn context(&self) -> tera::Context {
        let mut context = tera::Context::new();
        context.insert("root", &self.root());
        context.insert(
            "page",
            &PageInfo {
                section: self.section,
                id: &self.id,
                url: &super::names::href(&self.path),
                feed: self.kind.filter(|_| !self.feed).and_then(|kind| {
                    let feed = match kind {
                        Kind::Person => super::names::inbox_feed(&self.id),
                        kind if has_channel(kind) => {
                            super::names::channel_feed(kind.noun(), &self.id)
                        }
                        _ => return None,
                    };
                    Some(super::names::link(feed))
                }),
            },
        );
        for (name, value) in &self.extra {
            context.insert_value(*name, value.clone());
        }
        context
    }

    /// The rows of the long table `table` that this page shows (`None`: not that table).
    pub fn rows(&self, table: &str) -> Option<std::ops::Range<usize>> {
        self.ranges
            .iter()
            .find(|(name, _)| *name == table)
            .map(|(_, rows)| rows.clone())
    }

    /// The kind and id of the entity whose channel this feed is, if it is one (a person
    /// for an inbox).
    pub fn channel(&self) -> Option<(Kind, &str)> {
        self.kind
            .filter(|_| self.feed)
            .map(|kind| (kind, self.id.as_str()))
    }

    /// The path of the file whose audit trail this page shows, if it is such a page.
    pub fn audit_file(&self) -> Option<&str> {
        (self.template == AUDIT_FILE).then_some(self.id.as_str())
    }

    /// The way from this page up to the site root: links are relative so the site
    /// works from file://, under any base path.
    pub fn root(&self) -> String {
        "../".repeat(self.path.matches('/').count())
    }

    /// Tells the template `name` as well.
    fn with<T: Serialize + ?Sized>(
        mut self,
        name: &'static str,
        value: &T,
    ) -> tera::TeraResult<Self> {
        self.extra
            .push((name, tera::Value::try_from_serializable(value)?));
        Ok(self)
    }
}

fn page(path: String, template: &'static str, section: &'static str, id: &str) -> PageFile {
    PageFile {
        path,
        template,
        section,
        id: id.to_owned(),
        kind: None,
        feed: false,
        extra: Vec::new(),
        ranges: Vec::new(),
    }
}

/// The long tables of the list page `list` and how many rows each has, in the order the
/// page shows them: each is split into pages of [`super::paging::PER_PAGE`] rows.
pub fn table_sizes(input: &super::Input<'_>, list: List) -> Vec<(&'static str, usize)> {
    let derived = input.derived;
    match list {
        List::Tickets => vec![
            ("open", derived.ticket_groups.open.len()),
            ("closed", derived.ticket_groups.closed.len()),
        ],
        List::Logbook => vec![(
            "threads",
            super::data::listed_threads(&derived.logbook).count(),
        )],
        List::Flags => vec![("features", input.content.shelf(Kind::Feature).len())],
        List::Dashboard
        | List::Alerts
        | List::NotFound
        | List::Hosts
        | List::Certificates
        | List::Domains
        | List::Modules
        | List::Releases
        | List::Procedures
        | List::TicketReport
        | List::Sites
        | List::Services
        | List::News
        | List::Info
        | List::People => Vec::new(),
    }
}

/// The pages of the list `list` whose long tables have `sizes` rows: the list itself,
/// with the first page of each table, and the further pages of each table beside it
/// (`tickets/open~2.html`). Each is told `paging` (table → [`Pager`], for the tables it
/// shows) and `part` (the table a further page is of, or `""` for the list itself).
pub fn list_pages(list: List, sizes: &[(&'static str, usize)]) -> tera::TeraResult<Vec<PageFile>> {
    let Some(spec) = Page::List(list).spec() else {
        return Ok(Vec::new());
    };
    let Some(path) = spec.path else {
        return Ok(Vec::new());
    };
    let paged = |file: PageFile, part: &str, pagers: Vec<Pager>| -> tera::TeraResult<PageFile> {
        let mut file = file.with("part", part)?;
        file.ranges = pagers.iter().map(|p| (p.table, p.rows())).collect();
        let by_table: std::collections::BTreeMap<&str, &Pager> =
            pagers.iter().map(|p| (p.table, p)).collect();
        file.with("paging", &by_table)
    };
    let first = sizes
        .iter()
        .map(|&(table, total)| Pager::new(path, table, total, 1))
        .collect();
    let mut out = vec![paged(
        page(path.to_owned(), spec.template, spec.section, ""),
        "",
        first,
    )?];
    for &(table, total) in sizes {
        for number in 2..=page_count(total) {
            let file = page(
                super::paging::page_path(path, table, number),
                spec.template,
                spec.section,
                "",
            );
            out.push(paged(
                file,
                table,
                vec![Pager::new(path, table, total, number)],
            )?);
        }
    }
    Ok(out)
}

/// The detail pages of `kind`, `<dir>/<id>.html` ([`super::names::detail_page`]), in
/// document order.
pub fn detail_pages(content: &Content, kind: Kind) -> Vec<PageFile> {
    let (Some(spec), Some(entity)) = (Page::Detail(kind).spec(), super::data::entity(kind)) else {
        return Vec::new();
    };
    let shelf = content.shelf(kind);
    (0..shelf.len())
        .filter_map(|index| shelf.head(index))
        .map(|head| PageFile {
            kind: Some(kind),
            ..page(
                super::names::detail_page(entity.dir, head.id),
                spec.template,
                spec.section,
                head.id,
            )
        })
        .collect()
}

/// The feeds of the channels of `kind`, `feeds/<kind>/<id>.atom`
/// ([`super::names::channel_feed`]), in document order.
pub fn channel_pages(content: &Content, kind: Kind) -> Vec<PageFile> {
    let Some(spec) = Page::Channel(kind).spec() else {
        return Vec::new();
    };
    let shelf = content.shelf(kind);
    (0..shelf.len())
        .filter_map(|index| shelf.head(index))
        .map(|head| PageFile {
            kind: Some(kind),
            feed: true,
            ..page(
                super::names::channel_feed(kind.noun(), head.id),
                spec.template,
                spec.section,
                head.id,
            )
        })
        .collect()
}

/// Each person's inbox, `people/<id>/inbox.atom` ([`super::names::inbox_feed`]), in
/// document order.
pub fn inbox_pages(content: &Content) -> Vec<PageFile> {
    let shelf = content.shelf(Kind::Person);
    (0..shelf.len())
        .filter_map(|index| shelf.head(index))
        .map(|head| PageFile {
            kind: Some(Kind::Person),
            feed: true,
            ..page(
                super::names::inbox_feed(head.id),
                CHANNEL_TEMPLATE,
                "",
                head.id,
            )
        })
        .collect()
}

/// A page for each month of the logbook, each told its month and its neighbours.
pub fn month_pages(months: &[Month]) -> tera::TeraResult<Vec<PageFile>> {
    let mut out = Vec::with_capacity(months.len());
    for (index, month) in months.iter().enumerate() {
        // Months are listed newest first: the previous page is the next index.
        let older = months.get(index + 1).map(|m| &m.month);
        let newer = index
            .checked_sub(1)
            .and_then(|i| months.get(i))
            .map(|m| &m.month);
        let view = MonthView::of(month);
        out.push(
            page(
                view.url.clone(),
                "logbook_month.html",
                "logbook",
                &month.month,
            )
            .with("month", &view)?
            .with("older", &older)?
            .with("newer", &newer)?,
        );
    }
    Ok(out)
}

/// The audit trail's pages, when the site is built from a verified history: its index,
/// what is pending, and a page for every file with a trail.
pub fn audit_pages(
    trust: Option<&crate::trust::history::Report>,
) -> tera::TeraResult<Vec<PageFile>> {
    let Some(report) = trust else {
        return Ok(Vec::new());
    };
    let mut out = vec![
        page("audit/index.html".into(), "audit.html", "audit", ""),
        page("pending.html".into(), "pending.html", "audit", ""),
    ];
    // A file's page is told `file` from the context's `trust.files` when it is
    // rendered ([`PageFile::audit_file`]): converting all 12,000 here, for every commit, took
    // longer than the rest of a served repository's rebuild.
    for path in super::data::audit_paths(report) {
        out.push(page(
            super::names::audit_page(path),
            AUDIT_FILE,
            "audit",
            path,
        ));
    }
    Ok(out)
}

mod reads;
use reads::{channel_reads, detail_reads, inbox_reads};

#[cfg(test)]
mod tests;
