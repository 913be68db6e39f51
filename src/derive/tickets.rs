//! Ticket reports (Glass Room): how fast tickets get a first response and get closed,
//! overall and by kind, priority, module and reporter; what each release delivered.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::content::{Content, Document, Ticket, TicketKind};

/// Key of tickets that name no module.
pub const NO_MODULE: &str = "(none)";

/// Summary of a set of durations, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    /// How many durations there are (tickets that have the later time).
    pub count: usize,
    pub mean_seconds: Option<i64>,
    /// For an even count, the mean of the two middle values (integer division).
    pub median_seconds: Option<i64>,
}

impl Stats {
    /// Summarises `seconds` (in any order). Integer division rounds towards zero.
    pub fn of(mut seconds: Vec<i64>) -> Stats {
        seconds.sort_unstable();
        let count = seconds.len();
        if count == 0 {
            return Stats::default();
        }
        // i128: a sum of many i64 durations must not overflow.
        let total: i128 = seconds.iter().map(|&s| i128::from(s)).sum();
        let mean = total / count as i128;
        let middle = count / 2;
        let median = if count % 2 == 1 {
            i128::from(seconds[middle])
        } else {
            (i128::from(seconds[middle - 1]) + i128::from(seconds[middle])) / 2
        };
        Stats {
            count,
            mean_seconds: i64::try_from(mean).ok(),
            median_seconds: i64::try_from(median).ok(),
        }
    }
}

/// The figures of one group of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// What the group has in common: "bug", "high", a module id, a reporter.
    pub key: String,
    /// Tickets in the group, open or closed.
    pub tickets: usize,
    /// `first_response - opened`, over tickets that have a first response.
    pub first_response: Stats,
    /// `closed - opened`, over tickets that are closed (or won't be fixed).
    pub time_to_close: Stats,
}

impl Breakdown {
    fn of(key: impl Into<String>, tickets: &[&Document<Ticket>]) -> Breakdown {
        let since_opened = |later: fn(&Ticket) -> Option<i64>| {
            Stats::of(tickets.iter().filter_map(|t| later(&t.data)).collect())
        };
        Breakdown {
            key: key.into(),
            tickets: tickets.len(),
            first_response: since_opened(|t| {
                let response = t.first_response.as_ref()?;
                Some(t.opened.value.seconds_until(response.value))
            }),
            time_to_close: since_opened(|t| {
                let closed = t.closed.as_ref()?;
                Some(t.opened.value.seconds_until(closed.value))
            }),
        }
    }
}

/// What one release delivered: tickets whose `fixed_in` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseDelivery {
    pub release: String,
    pub module: String,
    pub version: String,
    pub features: usize,
    pub bugs: usize,
}

/// The whole ticket report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketReport {
    /// All tickets; its key is "all".
    pub overall: Breakdown,
    /// bug, then feature.
    pub by_kind: Vec<Breakdown>,
    /// critical, high, normal, low: most urgent first, as people read it.
    pub by_priority: Vec<Breakdown>,
    /// By module id; tickets without a module under "(none)".
    pub by_module: Vec<Breakdown>,
    pub by_reporter: Vec<Breakdown>,
    /// Bugs only, by the person who reported them: how fast their bugs get an answer
    /// and a fix.
    pub bugs_by_reporter: Vec<Breakdown>,
    /// Releases that fixed at least one ticket, by module then release id.
    pub per_release: Vec<ReleaseDelivery>,
}

/// The report over every ticket. Groups without tickets are left out.
pub fn report(content: &Content) -> TicketReport {
    let tickets: Vec<&Document<Ticket>> = content.tickets.iter().collect();
    let bugs: Vec<&Document<Ticket>> = tickets
        .iter()
        .copied()
        .filter(|t| t.data.kind == TicketKind::Bug)
        .collect();
    TicketReport {
        overall: Breakdown::of("all", &tickets),
        by_kind: breakdowns(&tickets, |t| t.kind, kind_name),
        by_priority: breakdowns(
            &tickets,
            |t| std::cmp::Reverse(t.priority),
            |p| p.0.name().to_owned(),
        ),
        by_module: breakdowns(&tickets, module_key, Clone::clone),
        by_reporter: breakdowns(&tickets, |t| t.reporter.clone(), Clone::clone),
        bugs_by_reporter: breakdowns(&bugs, |t| t.reporter.clone(), Clone::clone),
        per_release: per_release(content),
    }
}

/// Groups tickets by `group` (whose order is the order of the result) and names each
/// group with `name`.
fn breakdowns<K: Ord>(
    tickets: &[&Document<Ticket>],
    group: impl Fn(&Ticket) -> K,
    name: impl Fn(&K) -> String,
) -> Vec<Breakdown> {
    let mut groups: BTreeMap<K, Vec<&Document<Ticket>>> = BTreeMap::new();
    for &ticket in tickets {
        groups.entry(group(&ticket.data)).or_default().push(ticket);
    }
    groups
        .iter()
        .map(|(key, tickets)| Breakdown::of(name(key), tickets))
        .collect()
}

fn module_key(ticket: &Ticket) -> String {
    ticket
        .module
        .as_ref()
        .map_or_else(|| NO_MODULE.to_owned(), |m| m.value.clone())
}

fn kind_name(kind: &TicketKind) -> String {
    match kind {
        TicketKind::Bug => "bug",
        TicketKind::Feature => "feature",
    }
    .to_owned()
}

/// Features and bugs per release, counted in one pass over the tickets.
fn per_release(content: &Content) -> Vec<ReleaseDelivery> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for ticket in &content.tickets {
        let Some(release) = &ticket.data.fixed_in else {
            continue;
        };
        let (features, bugs) = counts.entry(release.as_str()).or_default();
        match ticket.data.kind {
            TicketKind::Feature => *features += 1,
            TicketKind::Bug => *bugs += 1,
        }
    }
    let mut deliveries: Vec<ReleaseDelivery> = content
        .releases
        .iter()
        .filter_map(|release| {
            let &(features, bugs) = counts.get(release.id.as_str())?;
            Some(ReleaseDelivery {
                release: release.id.clone(),
                module: release.data.module.value.clone(),
                version: release.data.version.value.clone(),
                features,
                bugs,
            })
        })
        .collect();
    deliveries.sort_by(|a, b| (&a.module, &a.release).cmp(&(&b.module, &b.release)));
    deliveries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;

    #[test]
    fn stats_of_nothing_are_empty() {
        assert_eq!(
            Stats::of(vec![]),
            Stats {
                count: 0,
                mean_seconds: None,
                median_seconds: None
            }
        );
    }

    #[test]
    fn median_of_an_odd_count_is_the_middle_value() {
        let stats = Stats::of(vec![300, 10, 20]);
        assert_eq!(stats.count, 3);
        assert_eq!(stats.median_seconds, Some(20));
        assert_eq!(stats.mean_seconds, Some(110));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let stats = Stats::of(vec![40, 10, 25, 1000]);
        assert_eq!(stats.median_seconds, Some(32)); // (25 + 40) / 2, truncated
        assert_eq!(stats.mean_seconds, Some(268)); // 1075 / 4, truncated
        assert_eq!(Stats::of(vec![7]).median_seconds, Some(7));
        assert_eq!(Stats::of(vec![7, 8]).median_seconds, Some(7));
    }

    #[test]
    fn stats_do_not_overflow() {
        let stats = Stats::of(vec![i64::MAX, i64::MAX]);
        assert_eq!(stats.mean_seconds, Some(i64::MAX));
        assert_eq!(stats.median_seconds, Some(i64::MAX));
    }

    const H: i64 = 3600;

    /// (id, kind, module, priority, reporter, hours to first response, hours to close, fixed_in)
    type Spec<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        &'a str,
        Option<i64>,
        Option<i64>,
        Option<&'a str>,
    );

    fn tickets(specs: &[Spec<'_>]) -> Content {
        let mut files: Vec<(String, String)> = vec![
            ("modules/api.yaml".into(), "kind: custom\n".into()),
            ("modules/web.yaml".into(), "kind: custom\n".into()),
            (
                "releases/api-1.0.yaml".into(),
                "module: api\nversion: \"1.0\"\nstatus: released\nactual: 2026-11-01\n".into(),
            ),
            (
                "releases/api-1.1.yaml".into(),
                "module: api\nversion: \"1.1\"\nstatus: released\nactual: 2026-11-02\n".into(),
            ),
            (
                "releases/web-2.0.yaml".into(),
                "module: web\nversion: \"2.0\"\nstatus: released\nactual: 2026-11-03\n".into(),
            ),
            (
                "releases/web-3.0.yaml".into(),
                "module: web\nversion: \"3.0\"\nstatus: planned\n".into(),
            ),
        ];
        let opened = "2026-11-01T00:00:00Z";
        let later = |hours: i64| format!("2026-11-{:02}T{:02}:00:00Z", 1 + hours / 24, hours % 24);
        for (id, kind, module, priority, reporter, response, close, fixed_in) in specs {
            let mut text = format!(
                "---\ntitle: {id}\nkind: {kind}\npriority: {priority}\nreporter: {reporter}\nopened: {opened}\n"
            );
            if let Some(m) = module {
                text.push_str(&format!("module: {m}\n"));
            }
            if let Some(h) = response {
                text.push_str(&format!("first_response: {}\n", later(*h)));
            }
            match close {
                Some(h) => text.push_str(&format!("status: closed\nclosed: {}\n", later(*h))),
                None => text.push_str("status: open\n"),
            }
            if let Some(r) = fixed_in {
                text.push_str(&format!("fixed_in: {r}\n"));
            }
            text.push_str("---\n");
            files.push((format!("tickets/{id}.md"), text));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        content(&refs)
    }

    fn sample() -> Content {
        tickets(&[
            (
                "t1",
                "bug",
                Some("api"),
                "critical",
                "bob",
                Some(1),
                Some(10),
                Some("api-1.0"),
            ),
            (
                "t2",
                "bug",
                Some("api"),
                "high",
                "carol",
                Some(3),
                Some(20),
                Some("api-1.0"),
            ),
            (
                "t3",
                "feature",
                Some("api"),
                "low",
                "bob",
                Some(24),
                Some(48),
                Some("api-1.0"),
            ),
            (
                "t4",
                "feature",
                Some("web"),
                "low",
                "carol",
                None,
                None,
                None,
            ),
            ("t5", "bug", None, "high", "alice", Some(2), None, None),
            (
                "t6",
                "feature",
                Some("web"),
                "normal",
                "bob",
                Some(5),
                Some(30),
                Some("web-2.0"),
            ),
        ])
    }

    #[test]
    fn overall_covers_every_ticket_with_the_times_each_has() {
        let report = report(&sample());
        let overall = &report.overall;
        assert_eq!(overall.key, "all");
        assert_eq!(overall.tickets, 6);
        // first responses: 1, 2, 3, 5, 24 hours
        assert_eq!(overall.first_response.count, 5);
        assert_eq!(overall.first_response.mean_seconds, Some(35 * H / 5));
        assert_eq!(overall.first_response.median_seconds, Some(3 * H));
        // closes: 10, 20, 30, 48 hours
        assert_eq!(overall.time_to_close.count, 4);
        assert_eq!(overall.time_to_close.mean_seconds, Some(108 * H / 4));
        assert_eq!(overall.time_to_close.median_seconds, Some(25 * H));
    }

    fn keys(breakdowns: &[Breakdown]) -> Vec<(&str, usize)> {
        breakdowns
            .iter()
            .map(|b| (b.key.as_str(), b.tickets))
            .collect()
    }

    #[test]
    fn breakdowns_are_grouped_and_ordered() {
        let report = report(&sample());
        assert_eq!(keys(&report.by_kind), vec![("bug", 3), ("feature", 3)]);
        assert_eq!(
            keys(&report.by_priority),
            vec![("critical", 1), ("high", 2), ("normal", 1), ("low", 2)]
        );
        assert_eq!(
            keys(&report.by_module),
            vec![("(none)", 1), ("api", 3), ("web", 2)]
        );
        assert_eq!(
            keys(&report.by_reporter),
            vec![("alice", 1), ("bob", 3), ("carol", 2)]
        );
        assert_eq!(
            keys(&report.bugs_by_reporter),
            vec![("alice", 1), ("bob", 1), ("carol", 1)]
        );
        // Bob's one bug was answered in an hour (his feature took a day).
        let bob = &report.bugs_by_reporter[1];
        assert_eq!(bob.first_response.median_seconds, Some(H));
        assert_eq!(bob.time_to_close.median_seconds, Some(10 * H));
        let high = &report.by_priority[1];
        assert_eq!(high.first_response.median_seconds, Some(2 * H + H / 2));
        assert_eq!(high.time_to_close.count, 1);
        assert_eq!(high.time_to_close.median_seconds, Some(20 * H));
    }

    #[test]
    fn empty_groups_are_left_out() {
        let report = report(&tickets(&[(
            "t1",
            "bug",
            Some("api"),
            "low",
            "bob",
            None,
            None,
            None,
        )]));
        assert_eq!(keys(&report.by_kind), vec![("bug", 1)]);
        assert_eq!(keys(&report.by_priority), vec![("low", 1)]);
        assert_eq!(report.by_kind[0].first_response, Stats::default());
    }

    #[test]
    fn per_release_counts_features_and_bugs_of_releases_that_fixed_something() {
        let report = report(&sample());
        assert_eq!(
            report.per_release,
            vec![
                ReleaseDelivery {
                    release: "api-1.0".into(),
                    module: "api".into(),
                    version: "1.0".into(),
                    features: 1,
                    bugs: 2,
                },
                ReleaseDelivery {
                    release: "web-2.0".into(),
                    module: "web".into(),
                    version: "2.0".into(),
                    features: 1,
                    bugs: 0,
                },
            ]
        );
    }
}
