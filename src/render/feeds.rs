//! Atom feeds (news, logbook, alerts, and every entity's channel) and the iCalendar feed
//! of due dates.

mod channel;

pub use channel::{channel_feed, inbox_feed};

use icalendar::{Calendar, Component, Event, EventLike};
use serde::Serialize;

use super::data::{alert_url, due_url, logbook_order, news_order, site_info, view};
use super::{Failure, Input};
use crate::content::types::Moment;
use crate::content::{Document, Kind};
use crate::derive::DueKind;

/// The data of one Atom feed, rendered by the theme's `atom.xml`.
#[derive(Serialize)]
pub struct FeedContext {
    pub title: String,
    pub id: String,
    /// The feed's own URL and the page it summarises.
    pub self_url: String,
    pub alternate_url: String,
    pub updated: Moment,
    pub entries: Vec<FeedEntry>,
}

#[derive(Serialize)]
pub struct FeedEntry {
    pub id: String,
    pub title: String,
    pub url: String,
    pub updated: Moment,
    pub author: String,
    pub summary: String,
    pub content_html: String,
}

pub struct Feed {
    pub path: String,
    pub context: FeedContext,
}

const FEED_LIMIT: usize = 50;

/// A link from a feed: absolute under `base_url` when there is one (feed readers need
/// that), else relative to the `feeds/` directory.
fn link(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) => format!("{}/{path}", base.trim_end_matches('/')),
        None => format!("../{path}"),
    }
}

fn id(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) => format!("{}/{path}", base.trim_end_matches('/')),
        None => format!(
            "urn:glassroom:{}",
            path.trim_end_matches(".html").replace('/', ":")
        ),
    }
}

/// The bytes of `feed`, through the theme's `atom.xml`.
pub(super) fn render_feed(theme: &super::theme::Theme, feed: &Feed) -> Result<Vec<u8>, Failure> {
    let context = tera::Context::from_serialize(&feed.context).map_err(|err| {
        Failure::Output(Box::new(crate::diag::Diagnostic::error(
            "render",
            format!("feed {}: {err}", feed.path),
        )))
    })?;
    let xml = theme
        .tera
        .render("atom.xml", &context)
        .map_err(Failure::Template)?;
    Ok(xml_chars(&xml).into_owned().into_bytes())
}

/// `xml` with every character XML 1.0 does not allow, even escaped (control characters
/// but tab, newline and carriage return; U+FFFE, U+FFFF), replaced by U+FFFD: a file name
/// or a logbook entry with `\x1b` in it would otherwise make a feed that every reader
/// refuses.
pub fn xml_chars(xml: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || !(c < ' ' || c == '\u{fffe}' || c == '\u{ffff}')
    };
    if xml.chars().all(allowed) {
        return std::borrow::Cow::Borrowed(xml);
    }
    std::borrow::Cow::Owned(
        xml.chars()
            .map(|c| if allowed(c) { c } else { '\u{fffd}' })
            .collect(),
    )
}

/// The Atom feeds, by name (`feeds/<name>.atom`).
pub const FEEDS: [&str; 3] = ["news", "logbook", "alerts"];

/// The file of the feed `name`.
pub fn feed_path(name: &str) -> String {
    format!("feeds/{name}.atom")
}

/// What the feed `name` is made from (see [`FEEDS`]), as a stamp part: the kinds it
/// shows, or the alerts; every feed also shows the site's title and base URL and "now".
pub fn feed_reads(name: &str) -> (&'static [Kind], bool) {
    match name {
        "news" => (&[Kind::News, Kind::Config], false),
        "logbook" => (&[Kind::LogEntry, Kind::Procedure, Kind::Config], false),
        _ => (&[Kind::Config, Kind::Ticket, Kind::Procedure], true),
    }
}

/// The data of the Atom feed `name` (see [`FEEDS`]).
pub fn atom_feed(input: &Input<'_>, name: &str) -> Feed {
    let info = site_info(input);
    let base = info.base_url;
    let title = info.title;
    let content = input.content;
    let feed = |name: &str, what: &str, alternate: &str, entries: Vec<FeedEntry>| {
        let updated = entries.iter().map(|e| e.updated).max().unwrap_or(input.now);
        let path = feed_path(name);
        Feed {
            context: FeedContext {
                title: format!("{title}: {what}"),
                id: id(base, &path),
                self_url: link(base, &path),
                alternate_url: link(base, alternate),
                updated,
                entries,
            },
            path,
        }
    };
    fn find<'d, T>(docs: &'d [Document<T>], id_: &str) -> Option<&'d Document<T>> {
        docs.binary_search_by(|d| d.id.as_str().cmp(id_))
            .ok()
            .and_then(|i| docs.get(i))
    }
    match name {
        "news" => {
            let news = news_order(content)
                .into_iter()
                .take(FEED_LIMIT)
                .filter_map(|id_| find(&content.news, id_))
                .map(|doc| {
                    let n = view(doc, "news", input);
                    FeedEntry {
                        id: id(base, &n.url),
                        title: n.data.title.clone(),
                        url: link(base, &n.url),
                        updated: n.data.date.value,
                        author: n.data.author.clone().unwrap_or_default(),
                        summary: n.summary.to_string(),
                        content_html: n.body_html.to_string(),
                    }
                })
                .collect();
            feed("news", "news", "news/index.html", news)
        }
        "logbook" => {
            let by_id = |id_: &str| find(&content.logbook, id_);
            let procedure_title =
                |id_: &str| find(&content.procedures, id_).map(|p| p.data.title.clone());
            let logbook = logbook_order(content)
                .into_iter()
                .take(FEED_LIMIT)
                .filter_map(by_id)
                .map(|doc| {
                    let e = view(doc, "logbook", input);
                    let procedure = e
                        .data
                        .procedure
                        .as_ref()
                        .and_then(|p| procedure_title(p.as_str()));
                    let disposition = e
                        .data
                        .disposition
                        .map(|d| {
                            format!(
                                " ({})",
                                serde_json::to_value(d)
                                    .ok()
                                    .and_then(|v| v.as_str().map(str::to_owned))
                                    .unwrap_or_default()
                            )
                        })
                        .unwrap_or_default();
                    let what = procedure.unwrap_or_else(|| {
                        if e.summary.is_empty() {
                            e.id.to_owned()
                        } else {
                            e.summary.to_string()
                        }
                    });
                    FeedEntry {
                        id: id(base, &e.url),
                        title: format!("{}: {what}{disposition}", e.data.by),
                        url: link(base, &e.url),
                        updated: e.data.at.value,
                        author: e.data.by.clone(),
                        summary: e.summary.to_string(),
                        content_html: e.body_html.to_string(),
                    }
                })
                .collect();
            feed("logbook", "logbook", "logbook/index.html", logbook)
        }
        _ => {
            let alerts = input
                .derived
                .alerts
                .iter()
                .map(|a| alert_entry(input, base, link, a))
                .collect();
            feed("alerts", "alerts", "index.html", alerts)
        }
    }
}

/// The entry of an alert: the same alert on a later day is the same entry, updated; its
/// id has its kind as the API names it (`certificate_expired`).
/// `link` makes a link from the feed's directory.
fn alert_entry(
    input: &Input<'_>,
    base: Option<&str>,
    link: impl Fn(Option<&str>, &str) -> String,
    a: &crate::derive::Alert,
) -> FeedEntry {
    FeedEntry {
        id: id(
            base,
            &format!(
                "alerts/{}/{}",
                snake_case(&a.kind),
                super::names::href(&a.subject)
            ),
        ),
        title: format!("{}: {}", snake_case(&a.severity), a.message),
        url: link(base, alert_url(a).as_deref().unwrap_or("index.html")),
        updated: alert_started(input, a),
        author: "glassroom".into(),
        summary: alert_summary(a),
        content_html: String::new(),
    }
}

/// An alert's reasons (one alert per subject lists them all), its cause and who
/// acknowledged it.
fn alert_summary(alert: &crate::derive::Alert) -> String {
    let reasons: Vec<&str> = alert.reasons.iter().map(|r| r.message.as_str()).collect();
    let said = if reasons.is_empty() {
        alert.message.clone()
    } else {
        reasons.join("; ")
    };
    let mut summary = format!("{said} (caused by {})", alert.path);
    if let Some(ack) = &alert.acknowledged {
        summary.push_str(&format!("; acknowledged by {} on {}", ack.by, ack.at));
        if let Some(until) = ack.until {
            summary.push_str(&format!(", until {until}"));
        }
    }
    summary
}

/// A value's name as serde writes it (the API's snake_case kinds and severities).
fn snake_case<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// When an alert started, for its entry's `<updated>`: never "now", so the entry keeps
/// its date from build to build. The history's alerts date from the newest commit that
/// changed one of the files they count. An alert with nothing dated behind it (a
/// procedure never done, files left out) is dated at the Unix epoch: "as long as we know".
fn alert_started(input: &Input<'_>, alert: &crate::derive::Alert) -> Moment {
    use crate::derive::AlertKind;
    let from_content =
        crate::derive::alerts::started(alert, input.content, &input.derived.procedures);
    let from_history = || {
        let refused = alert.kind == AlertKind::RefusedChange;
        input
            .trust?
            .pending
            .iter()
            .filter_map(|p| p.last_event.as_ref())
            .filter(|e| (e.kind == crate::trust::judge::EventKind::Refused) == refused)
            .map(|e| e.time)
            .max()
            .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
            .map(Moment)
    };
    let history = matches!(
        alert.kind,
        AlertKind::PendingSignature | AlertKind::RefusedChange
    );
    from_content
        .or_else(|| history.then(from_history).flatten())
        .unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH))
}

/// `calendar.ics`: certificate and domain expiries (all-day), procedure due times and
/// planned releases. Stamped with "now", with stable UIDs, so it is reproducible.
pub fn calendar(input: &Input<'_>) -> String {
    let base = input
        .content
        .config
        .as_ref()
        .and_then(|c| c.data.base_url.as_ref())
        .map(|u| u.trim_end_matches('/').to_owned());
    let host = base
        .as_deref()
        .and_then(|b| b.split("://").nth(1))
        .map(|h| h.split('/').next().unwrap_or(h).to_owned())
        .unwrap_or_else(|| "glassroom.invalid".into());
    let title = input
        .content
        .config
        .as_ref()
        .map_or("glassroom", |c| c.data.title.as_str());
    let stamp = to_chrono(input.now);
    let mut calendar = Calendar::empty();
    for (name, value) in [
        ("VERSION", "2.0"),
        ("PRODID", PRODID),
        ("CALSCALE", "GREGORIAN"),
    ] {
        calendar.append_property(icalendar::Property::new(name, value));
    }
    calendar.name(&format!("{title}: due dates"));
    for item in input.derived.upcoming.iter() {
        let mut event = Event::new();
        let kind = item.kind.subject_kind();
        event
            .uid(&format!(
                "{kind}-{}-{}@{host}",
                item.subject,
                item.when.date()
            ))
            .summary(&item.title)
            .add_property("DTSTAMP", format_utc(stamp))
            .description(&format!("From {}", item.path));
        if let Some(base) = &base {
            event.url(&format!("{base}/{}", due_url(item)));
        }
        match item.kind {
            DueKind::ProcedureDue => {
                event.starts(to_chrono(item.when)).ends(to_chrono(
                    item.when.plus(crate::content::types::Duration::minutes(30)),
                ));
            }
            _ => {
                if let Some(date) = chrono::NaiveDate::from_ymd_opt(
                    i32::from(item.when.date().0.year()),
                    u32::try_from(item.when.date().0.month()).unwrap_or(1),
                    u32::try_from(item.when.date().0.day()).unwrap_or(1),
                ) {
                    // RFC 5545: an all-day event's DTEND is exclusive, the next day
                    // (`all_day` would end it on its start).
                    event.starts(date);
                    if let Some(next) = date.succ_opt() {
                        event.ends(next);
                    }
                }
            }
        }
        calendar.push(event.done());
    }
    calendar.done().to_string()
}

/// The calendar's product identifier (RFC 5545 3.7.3): glassroom and its version.
const PRODID: &str = concat!(
    "-//glassroom//glassroom ",
    env!("CARGO_PKG_VERSION"),
    "//EN"
);

fn to_chrono(moment: Moment) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(moment.0.as_second(), 0).unwrap_or_default()
}

fn format_utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}
