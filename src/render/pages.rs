//! Which pages a site has, and what each page's template is told beyond the global data.

use serde::Serialize;

use super::data::SiteData;
use crate::content::{Content, Document};

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
    /// The path of this page from the site root.
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
                url: &self.path,
            },
        );
        for (name, value) in &self.extra {
            context.insert_value(*name, value.clone());
        }
        context
    }

    /// The way from this page up to the site root: links are relative so the site
    /// works from file://, under any base path.
    pub fn root(&self) -> String {
        "../".repeat(self.path.matches('/').count())
    }

    /// A page that lists many things (the dashboard, an index, a report) rather than
    /// showing one.
    pub fn is_list(&self) -> bool {
        self.id.is_empty()
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

fn page(path: String, template: &'static str, section: &'static str, id: &str) -> Page {
    Page {
        path,
        template,
        section,
        id: id.to_owned(),
        extra: Vec::new(),
    }
}

fn detail_pages<T>(
    docs: &[Document<T>],
    dir: &str,
    template: &'static str,
    section: &'static str,
) -> impl Iterator<Item = Page> {
    docs.iter()
        .map(move |d| page(format!("{dir}/{}.html", d.id), template, section, &d.id))
        .collect::<Vec<_>>()
        .into_iter()
}

/// Every page of the site.
pub fn pages(content: &Content, data: &SiteData<'_>) -> tera::TeraResult<Vec<Page>> {
    let mut out = vec![
        page("index.html".into(), "dashboard.html", "dashboard", ""),
        page("404.html".into(), "404.html", "", ""),
        page("hosts/index.html".into(), "hosts.html", "hosts", ""),
        page(
            "certificates/index.html".into(),
            "certificates.html",
            "certificates",
            "",
        ),
        page("domains/index.html".into(), "domains.html", "domains", ""),
        page("modules/index.html".into(), "modules.html", "modules", ""),
        page(
            "releases/index.html".into(),
            "releases.html",
            "releases",
            "",
        ),
        page(
            "procedures/index.html".into(),
            "procedures.html",
            "procedures",
            "",
        ),
        page("logbook/index.html".into(), "logbook.html", "logbook", ""),
        page("tickets/index.html".into(), "tickets.html", "tickets", ""),
        page(
            "reports/tickets.html".into(),
            "ticket_report.html",
            "tickets",
            "",
        ),
        page("sites/index.html".into(), "sites.html", "sites", ""),
        page("services/index.html".into(), "services.html", "sites", ""),
        page("news/index.html".into(), "news.html", "news", ""),
        page("flags/index.html".into(), "flags.html", "flags", ""),
    ];
    out.extend(detail_pages(&content.hosts, "hosts", "host.html", "hosts"));
    out.extend(detail_pages(
        &content.certificates,
        "certificates",
        "certificate.html",
        "certificates",
    ));
    out.extend(detail_pages(
        &content.domains,
        "domains",
        "domain.html",
        "domains",
    ));
    out.extend(detail_pages(
        &content.modules,
        "modules",
        "module.html",
        "modules",
    ));
    out.extend(detail_pages(
        &content.releases,
        "releases",
        "release.html",
        "releases",
    ));
    out.extend(detail_pages(
        &content.procedures,
        "procedures",
        "procedure.html",
        "procedures",
    ));
    out.extend(detail_pages(
        &content.logbook,
        "logbook",
        "entry.html",
        "logbook",
    ));
    out.extend(detail_pages(
        &content.tickets,
        "tickets",
        "ticket.html",
        "tickets",
    ));
    out.extend(detail_pages(&content.sites, "sites", "site.html", "sites"));
    out.extend(detail_pages(
        &content.services,
        "services",
        "service.html",
        "sites",
    ));
    out.extend(detail_pages(
        &content.news,
        "news",
        "news_item.html",
        "news",
    ));
    out.extend(detail_pages(
        &content.features,
        "flags/features",
        "feature.html",
        "flags",
    ));
    out.extend(detail_pages(
        &content.account_sets,
        "flags/account_sets",
        "account_set.html",
        "flags",
    ));
    if let Some(trust) = &data.trust {
        out.push(page("audit/index.html".into(), "audit.html", "audit", ""));
        out.push(page("pending.html".into(), "pending.html", "audit", ""));
        for (path, file) in &trust.files {
            out.push(page(file.url.clone(), "audit_file.html", "audit", path).with("file", file)?);
        }
    }
    for (index, month) in data.months.iter().enumerate() {
        // Months are listed newest first: the previous page is the next index.
        let older = data.months.get(index + 1).map(|m| &m.month);
        let newer = index
            .checked_sub(1)
            .and_then(|i| data.months.get(i))
            .map(|m| &m.month);
        out.push(
            page(
                month.url.clone(),
                "logbook_month.html",
                "logbook",
                &month.month,
            )
            .with("month", month)?
            .with("older", &older)?
            .with("newer", &newer)?,
        );
    }
    Ok(out)
}
