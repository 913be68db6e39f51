//! Which pages a site has, in groups that are listed, keyed and kept together, and what
//! each page's template is told beyond the global data.

use serde::Serialize;

use super::data::{Entity, MonthView};
use crate::content::{Content, Document};
use crate::derive::Month;

/// One HTML page to render. Its template context is made only when the page is
/// rendered: a rebuild that reuses most pages never makes theirs.
pub struct Page {
    /// Output path relative to the site root, e.g. `hosts/web1.html`.
    pub path: String,
    pub template: &'static str,
    /// Which section of the navigation is current.
    section: &'static str,
    /// The entity shown, for detail pages.
    id: String,
    /// What the template is told besides `root` and `page`.
    extra: Vec<(&'static str, tera::Value)>,
}

#[derive(Serialize)]
struct PageInfo<'a> {
    /// Which section of the navigation is current.
    section: &'a str,
    /// The entity shown, for detail pages.
    id: &'a str,
    /// The link to this page from the site root.
    url: &'a str,
}

impl Page {
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
            },
        );
        for (name, value) in &self.extra {
            context.insert_value(*name, value.clone());
        }
        context
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

/// The template of a file's audit trail.
const AUDIT_FILE: &str = "audit_file.html";

fn page(path: String, template: &'static str, section: &'static str, id: &str) -> Page {
    Page {
        path,
        template,
        section,
        id: id.to_owned(),
        extra: Vec::new(),
    }
}

/// The pages that list many things (the dashboard, each kind's index, reports): path,
/// template and section. Each is a group of its own.
pub const LISTS: [(&str, &str, &str); 15] = [
    ("index.html", "dashboard.html", "dashboard"),
    ("404.html", "404.html", ""),
    ("hosts/index.html", "hosts.html", "hosts"),
    (
        "certificates/index.html",
        "certificates.html",
        "certificates",
    ),
    ("domains/index.html", "domains.html", "domains"),
    ("modules/index.html", "modules.html", "modules"),
    ("releases/index.html", "releases.html", "releases"),
    ("procedures/index.html", "procedures.html", "procedures"),
    ("logbook/index.html", "logbook.html", "logbook"),
    ("tickets/index.html", "tickets.html", "tickets"),
    ("reports/tickets.html", "ticket_report.html", "tickets"),
    ("sites/index.html", "sites.html", "sites"),
    ("services/index.html", "services.html", "sites"),
    ("news/index.html", "news.html", "news"),
    ("flags/index.html", "flags.html", "flags"),
];

/// The list page `LISTS[index]`.
pub fn list_page(index: usize) -> Option<Page> {
    LISTS
        .get(index)
        .map(|(path, template, section)| page((*path).to_owned(), template, section, ""))
}

/// A kind's detail template and navigation section.
pub fn detail_template(entity: &Entity) -> (&'static str, &'static str) {
    match entity.name {
        "hosts" => ("host.html", "hosts"),
        "certificates" => ("certificate.html", "certificates"),
        "domains" => ("domain.html", "domains"),
        "modules" => ("module.html", "modules"),
        "releases" => ("release.html", "releases"),
        "procedures" => ("procedure.html", "procedures"),
        "logbook" => ("entry.html", "logbook"),
        "tickets" => ("ticket.html", "tickets"),
        "services" => ("service.html", "sites"),
        "sites" => ("site.html", "sites"),
        "features" => ("feature.html", "flags"),
        "account_sets" => ("account_set.html", "flags"),
        _ => ("news_item.html", "news"),
    }
}

/// The detail pages of one kind, `<dir>/<id>.html` ([`super::names::detail_page`]), in
/// document order.
pub fn detail_pages(content: &Content, entity: &Entity) -> Vec<Page> {
    fn of<T>(docs: &[Document<T>], entity: &Entity) -> Vec<Page> {
        let (template, section) = detail_template(entity);
        docs.iter()
            .map(|d| {
                page(
                    super::names::detail_page(entity.dir, &d.id),
                    template,
                    section,
                    &d.id,
                )
            })
            .collect()
    }
    use crate::content::Kind;
    match entity.kind {
        Kind::Host => of(&content.hosts, entity),
        Kind::Certificate => of(&content.certificates, entity),
        Kind::Domain => of(&content.domains, entity),
        Kind::Module => of(&content.modules, entity),
        Kind::Release => of(&content.releases, entity),
        Kind::Procedure => of(&content.procedures, entity),
        Kind::LogEntry => of(&content.logbook, entity),
        Kind::Ticket => of(&content.tickets, entity),
        Kind::Service => of(&content.services, entity),
        Kind::Site => of(&content.sites, entity),
        Kind::Feature => of(&content.features, entity),
        Kind::AccountSet => of(&content.account_sets, entity),
        Kind::News => of(&content.news, entity),
        Kind::Config | Kind::Policy | Kind::Overrides => Vec::new(),
    }
}

/// A page for each month of the logbook, each told its month and its neighbours.
pub fn month_pages(months: &[Month]) -> tera::TeraResult<Vec<Page>> {
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
pub fn audit_pages(trust: Option<&crate::trust::history::Report>) -> tera::TeraResult<Vec<Page>> {
    let Some(report) = trust else {
        return Ok(Vec::new());
    };
    let mut out = vec![
        page("audit/index.html".into(), "audit.html", "audit", ""),
        page("pending.html".into(), "pending.html", "audit", ""),
    ];
    // A file's page is told `file` from the context's `trust.files` when it is
    // rendered ([`Page::audit_file`]): converting all 12,000 here, for every commit, took
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
