//! The logbook as it is read: each thread with the reply depth of its entries, and the
//! months, each with the threads started in it and the late replies written in it to
//! threads started earlier.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::threads::{Thread, ThreadState};
use crate::content::Content;
use crate::content::types::Moment;

/// A thread as displayed: entries in order with their reply depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadView {
    pub root: String,
    pub state: ThreadState,
    pub needs_attention: bool,
    pub last_at: Moment,
    pub entries: Vec<(String, usize)>,
    /// What its entries are about (see [`Thread::subjects`]).
    pub subjects: Vec<String>,
}

/// One month of the logbook: its threads (by root entry in this month) and the replies
/// written this month to threads that started earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    /// `2026-11`
    pub month: String,
    /// Oldest root first.
    pub threads: Vec<ThreadView>,
    pub late_replies: Vec<String>,
    /// Entries written in the month.
    pub entries: usize,
}

/// The logbook's threads and months.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logbook {
    /// In the order of [`super::Derived::threads`]: most recently active first.
    pub threads: Vec<ThreadView>,
    /// Newest first.
    pub months: Vec<Month>,
    /// The state of each thread with replies, by root entry.
    pub thread_state: BTreeMap<String, ThreadState>,
    /// Subject (`host/web1`, `procedure/rotate-logs`) → the threads about it, most
    /// recently active first: what each entity's page shows. A module's include those
    /// about its releases.
    pub by_subject: BTreeMap<String, Vec<ThreadView>>,
}

/// The threads and months of the logbook, from its `threads`.
pub fn logbook(content: &Content, threads: &[Thread]) -> Logbook {
    let threads = thread_views(content, threads);
    let months = months(content, &threads);
    let thread_state = threads
        .iter()
        .filter(|t| t.entries.len() > 1)
        .map(|t| (t.root.clone(), t.state))
        .collect();
    // A module's page shows the threads about its releases too (a deployment is work
    // on the module).
    let module_of: HashMap<&str, &str> = content
        .releases
        .iter()
        .map(|r| (r.id.as_str(), r.data.module.as_str()))
        .collect();
    let mut by_subject: BTreeMap<String, Vec<ThreadView>> = BTreeMap::new();
    for thread in &threads {
        let modules = thread.subjects.iter().filter_map(|subject| {
            let release = subject.strip_prefix("release/")?;
            Some(format!("module/{}", module_of.get(release)?))
        });
        let subjects: std::collections::BTreeSet<String> =
            thread.subjects.iter().cloned().chain(modules).collect();
        for subject in subjects {
            by_subject.entry(subject).or_default().push(thread.clone());
        }
    }
    Logbook {
        threads,
        months,
        thread_state,
        by_subject,
    }
}

fn thread_views(content: &Content, threads: &[Thread]) -> Vec<ThreadView> {
    let parents: BTreeMap<&str, &str> = content
        .logbook
        .iter()
        .filter_map(|e| {
            e.data
                .reply_to
                .as_ref()
                .map(|p| (e.id.as_str(), p.as_str()))
        })
        .collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut current = id;
        while let Some(parent) = parents.get(current) {
            depth += 1;
            current = parent;
            // A cycle (which validation rejects) must not loop forever.
            if depth > parents.len() {
                break;
            }
        }
        depth
    };
    threads
        .iter()
        .map(|t| ThreadView {
            root: t.root.clone(),
            state: t.state,
            needs_attention: t.needs_attention,
            last_at: t.last_at,
            entries: t.entries.iter().map(|id| (id.clone(), depth(id))).collect(),
            subjects: t.subjects.clone(),
        })
        .collect()
}

/// A month as (year, month), which sorts like its `YYYY-MM` name.
type MonthKey = (i16, i8);

fn month_of(moment: Moment) -> MonthKey {
    let date = moment.date().0;
    (date.year(), date.month())
}

fn months(content: &Content, threads: &[ThreadView]) -> Vec<Month> {
    let at: HashMap<&str, Moment> = content
        .logbook
        .iter()
        .map(|e| (e.id.as_str(), e.data.at.value))
        .collect();
    let mut by_month: BTreeMap<MonthKey, (Vec<ThreadView>, Vec<String>, usize)> = BTreeMap::new();
    for entry in &content.logbook {
        by_month.entry(month_of(entry.data.at.value)).or_default().2 += 1;
    }
    for thread in threads {
        let Some(root_at) = at.get(thread.root.as_str()) else {
            continue;
        };
        let root_month = month_of(*root_at);
        for (id, _) in thread.entries.iter().skip(1) {
            if let Some(when) = at.get(id.as_str()) {
                let month = month_of(*when);
                if month != root_month {
                    by_month.entry(month).or_default().1.push(id.clone());
                }
            }
        }
        by_month
            .entry(root_month)
            .or_default()
            .0
            .push(thread.clone());
    }
    by_month
        .into_iter()
        .rev()
        .map(|((year, number), (mut threads, late_replies, entries))| {
            threads.sort_by(|a, b| {
                let when = |t: &ThreadView| at.get(t.root.as_str()).copied();
                when(a).cmp(&when(b)).then_with(|| a.root.cmp(&b.root))
            });
            Month {
                month: format!("{year:04}-{number:02}"),
                threads,
                late_replies,
                entries,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;
    use crate::derive::threads::threads;

    fn entry(at: &str, reply_to: Option<&str>) -> String {
        let reply = reply_to.map_or(String::new(), |r| format!("reply_to: {r}\n"));
        format!("---\nat: {at}\nby: bob\n{reply}---\nNotes\n")
    }

    #[test]
    fn a_late_reply_is_listed_in_its_own_month_under_the_threads_month() {
        let content = content(&[
            ("logbook/2026/10/a.md", &entry("2026-10-30T10:00:00Z", None)),
            (
                "logbook/2026/10/b.md",
                &entry("2026-10-31T10:00:00Z", Some("a")),
            ),
            (
                "logbook/2026/11/c.md",
                &entry("2026-11-02T10:00:00Z", Some("b")),
            ),
            ("logbook/2026/11/d.md", &entry("2026-11-01T10:00:00Z", None)),
        ]);
        let logbook = logbook(&content, &threads(&content));
        let depths: Vec<usize> = logbook.threads[0].entries.iter().map(|e| e.1).collect();
        assert_eq!(logbook.threads[0].root, "a");
        assert_eq!(depths, [0, 1, 2]);
        let months: Vec<&str> = logbook.months.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(months, ["2026-11", "2026-10"]);
        let november = &logbook.months[0];
        assert_eq!(november.entries, 2);
        assert_eq!(november.late_replies, ["c"]);
        assert_eq!(november.threads.len(), 1);
        assert_eq!(logbook.months[1].threads[0].root, "a");
        assert_eq!(logbook.months[1].entries, 2);
        assert_eq!(logbook.thread_state.keys().collect::<Vec<_>>(), ["a"]);
    }
}
