//! The parts of the template context made from a few kinds of content or parts of the
//! derived data: each part's names, what it reads and how its values are made.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Input, Job, Made, alert_url, convert, due_url, logbook_order, news_order, site_info};
use crate::content::Kind;
use crate::derive;
use crate::memo::{Memo, Stamp, Stamper};
use crate::render::charts::{self, Row};
use crate::values::human_span;

/// A part of the context: `N` values made together from the same inputs.
type Part<const N: usize> = Memo<Made<[tera::Value; N]>>;

/// The parts of the context made from a few kinds of content or parts of the derived
/// data, each kept with the stamp of what it reads. The names each part gives its
/// values, what it reads and how they are made are written together, in [`Parts::jobs`].
#[derive(Default)]
pub(super) struct Parts {
    site: Part<1>,
    news_order: Part<1>,
    logbook_order: Part<1>,
    overrides: Part<2>,
    feature_summaries: Part<1>,
    alerts: Part<5>,
    status: Part<1>,
    report: Part<2>,
    upcoming: Part<1>,
    plans: Part<1>,
    logbook: Part<6>,
    ticket_groups: Part<1>,
    info: Part<1>,
}

impl Parts {
    pub(super) fn keeping() -> Self {
        Self {
            site: Memo::keeping(),
            news_order: Memo::keeping(),
            logbook_order: Memo::keeping(),
            overrides: Memo::keeping(),
            feature_summaries: Memo::keeping(),
            alerts: Memo::keeping(),
            status: Memo::keeping(),
            report: Memo::keeping(),
            upcoming: Memo::keeping(),
            plans: Memo::keeping(),
            logbook: Memo::keeping(),
            ticket_groups: Memo::keeping(),
            info: Memo::keeping(),
        }
    }

    /// One job for each part: its values taken from its memo while what it reads is
    /// unchanged, else made again.
    pub(super) fn jobs<'j>(&'j self, input: &'j Input<'_>) -> Vec<Job<'j>> {
        let content = input.content;
        let derived = input.derived;
        let dstamps = &derived.stamps;
        // The stamp of a part that reads the files of `kinds` and the derived `parts`.
        let reads = |name: &str, kinds: &[Kind], parts: &[&Stamp]| {
            let mut stamp = Stamper::new(name);
            content.stamps.add(&mut stamp, kinds);
            for part in parts {
                stamp.stamp(part);
            }
            stamp
        };
        let now = input.now.to_string();
        vec![
            part(
                &self.site,
                ["site"],
                reads("site", &[Kind::Config, Kind::Policy, Kind::Person], &[])
                    .bytes(&[u8::from(input.preview)])
                    .finish(),
                move || Ok([convert(&site_info(input))?]),
            ),
            part(
                &self.news_order,
                ["news_order"],
                reads("news_order", &[Kind::News], &[]).finish(),
                move || Ok([convert(&news_order(content))?]),
            ),
            part(
                &self.logbook_order,
                ["logbook_order"],
                reads("logbook_order", &[Kind::LogEntry], &[]).finish(),
                move || Ok([convert(&logbook_order(content))?]),
            ),
            part(
                &self.overrides,
                ["overrides", "overrides_by_feature"],
                reads("overrides", &[], &[&dstamps.flags]).finish(),
                move || {
                    let flags = &derived.flags;
                    Ok([
                        convert(&flags.overrides)?,
                        convert(&flags.overrides_by_feature)?,
                    ])
                },
            ),
            part(
                &self.feature_summaries,
                ["feature_summaries"],
                reads("feature_summaries", &[], &[&dstamps.flags]).finish(),
                move || Ok([convert(&derived.flags.summaries)?]),
            ),
            part(
                &self.alerts,
                [
                    "alerts",
                    "alerts_by_subject",
                    "alert_counts",
                    "alert_sections",
                    "acknowledged_alerts",
                ],
                reads("alerts", &[], &[&dstamps.alerts]).finish(),
                move || {
                    let groups = &derived.alert_groups;
                    Ok([
                        convert(&alert_views(&derived.alerts))?,
                        convert(&alerts_by_subject(&groups.by_subject))?,
                        convert(&groups.counts)?,
                        convert(&groups.sections)?,
                        convert(&groups.acknowledged)?,
                    ])
                },
            ),
            part(
                &self.status,
                ["status"],
                reads("status", &[], &[&dstamps.procedures]).finish(),
                move || Ok([convert(&*derived.procedures)?]),
            ),
            part(
                &self.report,
                ["report", "charts"],
                reads("report", &[], &[&dstamps.ticket_report]).finish(),
                move || {
                    let report = &derived.ticket_report;
                    Ok([convert(&**report)?, convert(&charts(report))?])
                },
            ),
            part(
                &self.upcoming,
                ["upcoming"],
                reads("upcoming", &[], &[&dstamps.upcoming])
                    .text(&now)
                    .finish(),
                move || {
                    let upcoming: Vec<Linked<'_, derive::DueItem>> = derived
                        .upcoming
                        .iter()
                        .filter(|d| d.when >= input.now)
                        .map(|item| Linked {
                            url: Some(due_url(item)),
                            item,
                        })
                        .collect();
                    Ok([convert(&upcoming)?])
                },
            ),
            part(
                &self.plans,
                ["plans"],
                reads("plans", &[], &[&dstamps.runbooks]).finish(),
                move || Ok([convert(&*derived.runbooks)?]),
            ),
            part(
                &self.logbook,
                [
                    "threads",
                    "attention",
                    "thread_state",
                    "months",
                    "threads_by_subject",
                    "listed_threads",
                ],
                reads("logbook", &[], &[&dstamps.logbook]).finish(),
                move || {
                    let logbook = &derived.logbook;
                    // The threads someone has to act on, in the order of `threads`.
                    let attention: Vec<&derive::ThreadView> = logbook
                        .threads
                        .iter()
                        .filter(|t| t.needs_attention)
                        .collect();
                    let months: Vec<MonthView<'_>> =
                        logbook.months.iter().map(MonthView::of).collect();
                    let listed: Vec<&derive::ThreadView> = listed_threads(logbook).collect();
                    Ok([
                        convert(&logbook.threads)?,
                        convert(&attention)?,
                        convert(&logbook.thread_state)?,
                        convert(&months)?,
                        convert(&logbook.by_subject)?,
                        convert(&listed)?,
                    ])
                },
            ),
            part(
                &self.info,
                ["info"],
                reads("info", &[Kind::Info], &[]).finish(),
                move || {
                    Ok([convert(
                        &content.info.as_ref().map(|doc| info_view(doc, input)),
                    )?])
                },
            ),
            part(
                &self.ticket_groups,
                ["ticket_groups"],
                reads("ticket_groups", &[], &[&dstamps.ticket_groups]).finish(),
                move || Ok([convert(&*derived.ticket_groups)?]),
            ),
        ]
    }
}

/// The info page as templates see it (`info`, none without `info.md`): its front
/// matter, its path and its body as HTML.
#[derive(Serialize)]
struct InfoView<'a> {
    #[serde(flatten)]
    data: &'a crate::content::Info,
    path: &'a str,
    body_html: std::sync::Arc<str>,
}

fn info_view<'a>(
    doc: &'a crate::content::Document<crate::content::Info>,
    input: &Input<'_>,
) -> InfoView<'a> {
    let html = if doc.body.trim().is_empty() {
        std::sync::Arc::from("")
    } else {
        input
            .markdown
            .render_file(input.content.files.hash(doc.file()), &doc.body)
            .html
    };
    InfoView {
        data: &doc.data,
        path: &doc.path,
        body_html: html,
    }
}

/// The job of one part: `names` for its values, `stamp` of what it reads, `make` to make
/// them.
fn part<'j, const N: usize>(
    memo: &'j Part<N>,
    names: [&'static str; N],
    stamp: Stamp,
    make: impl Fn() -> Made<[tera::Value; N]> + Sync + 'j,
) -> Job<'j> {
    Box::new(move || {
        let made = memo.get(stamp, |_| make()).value;
        let values = made.as_ref().as_ref().map_err(Clone::clone)?;
        Ok(names.into_iter().zip(values.iter().cloned()).collect())
    })
}

/// The threads the logbook's table lists (split into pages): those with replies and
/// those someone has to act on, in the order of `threads`; a lone entry is in its month.
pub fn listed_threads(logbook: &derive::Logbook) -> impl Iterator<Item = &derive::ThreadView> {
    logbook
        .threads
        .iter()
        .filter(|t| t.entries.len() > 1 || t.needs_attention)
}

/// A month of the logbook as templates see it: with the link to its page.
#[derive(Serialize)]
pub struct MonthView<'a> {
    pub month: &'a str,
    pub url: String,
    pub threads: &'a [derive::ThreadView],
    pub late_replies: &'a [String],
    pub entries: usize,
}

impl<'a> MonthView<'a> {
    pub fn of(month: &'a derive::Month) -> Self {
        Self {
            month: &month.month,
            url: month_url(&month.month),
            threads: &month.threads,
            late_replies: &month.late_replies,
            entries: month.entries,
        }
    }
}

/// The page of the month `month` (`2026-11`), from the site root.
pub fn month_url(month: &str) -> String {
    format!("logbook/months/{month}.html")
}

/// The alerts by subject as templates find them: `alerts_by_subject["<kind>/<id>"]`.
fn alerts_by_subject(
    by_subject: &derive::alerts::BySubject,
) -> BTreeMap<String, &Vec<derive::Alert>> {
    by_subject
        .iter()
        .flat_map(|(kind, subjects)| {
            subjects
                .iter()
                .map(move |(id, alerts)| (format!("{kind}/{id}"), alerts))
        })
        .collect()
}

/// An alert or a due date as templates see it: its fields and the link to the page of
/// what it is about, from the site root (none for a file without an audit page).
#[derive(Serialize)]
pub(super) struct Linked<'a, T: Serialize> {
    #[serde(flatten)]
    item: &'a T,
    url: Option<String>,
}

pub(super) fn alert_views(alerts: &[derive::Alert]) -> Vec<Linked<'_, derive::Alert>> {
    alerts
        .iter()
        .map(|alert| Linked {
            url: alert_url(alert),
            item: alert,
        })
        .collect()
}

#[derive(Serialize)]
pub struct Charts {
    pub time_to_close_by_kind: String,
    pub time_to_close_by_priority: String,
    pub first_response_by_priority: String,
    pub time_to_close_by_module: String,
}

fn charts(report: &derive::TicketReport) -> Charts {
    let chart = |title: &str,
                 rows: &[derive::Breakdown],
                 pick: fn(&derive::Breakdown) -> &derive::Stats| {
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|b| Row {
                label: &b.key,
                values: [pick(b).mean_seconds, pick(b).median_seconds],
            })
            .collect();
        charts::bar_chart(title, ["mean", "median"], &rows, human_span)
    };
    Charts {
        time_to_close_by_kind: chart("Time to close by kind", &report.by_kind, |b| {
            &b.time_to_close
        }),
        time_to_close_by_priority: chart("Time to close by priority", &report.by_priority, |b| {
            &b.time_to_close
        }),
        first_response_by_priority: chart(
            "Time to first response by priority",
            &report.by_priority,
            |b| &b.first_response,
        ),
        time_to_close_by_module: chart("Time to close by module", &report.by_module, |b| {
            &b.time_to_close
        }),
    }
}
