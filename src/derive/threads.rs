//! Logbook threads (cloudsat): an entry and every reply below it, with the state the
//! replies leave it in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::content::types::Moment;
use crate::content::{Content, Disposition, Document, LogEntry};

/// Where a thread stands, from the dispositions of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    /// No entry has a disposition.
    Open,
    Ok,
    /// Only informational entries.
    Info,
    /// The latest decisive entry reports a problem: someone should act.
    Problem,
    Acknowledged,
    Ignored,
    /// The latest decisive entry withdraws what came before (cloudsat's "belay that").
    Belayed,
    /// The thread was closed.
    Ended,
}

/// A root entry and all its descendants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// The id of the entry that starts the thread.
    pub root: String,
    /// Entry ids: the root first, then every descendant in chronological order.
    pub entries: Vec<String>,
    pub state: ThreadState,
    /// The time of the latest entry.
    pub last_at: Moment,
    /// Whether someone has to act (the state is [`ThreadState::Problem`]).
    pub needs_attention: bool,
    /// What its entries are about, as subjects are named (`host/web1`,
    /// `procedure/rotate-logs`), sorted: the pages the thread shows on.
    pub subjects: Vec<String>,
}

/// Every thread, most recently active first (ties by root id). Every entry without
/// `reply_to` starts a thread, and so does an entry whose `reply_to` names no entry
/// (validation rejects that, but an entry must never vanish from the logbook).
pub fn threads(content: &Content) -> Vec<Thread> {
    let by_id: BTreeMap<&str, &Document<LogEntry>> = content
        .logbook
        .iter()
        .map(|entry| (entry.id.as_str(), entry))
        .collect();
    let children = children(&content.logbook, &by_id);
    let mut threads: Vec<Thread> = content
        .logbook
        .iter()
        .filter(|entry| parent(entry, &by_id).is_none())
        .map(|root| thread(root, &children))
        .collect();
    threads.sort_by(|a, b| b.last_at.cmp(&a.last_at).then_with(|| a.root.cmp(&b.root)));
    threads
}

/// The entry `entry` answers, if it exists.
fn parent<'a>(
    entry: &Document<LogEntry>,
    by_id: &BTreeMap<&str, &'a Document<LogEntry>>,
) -> Option<&'a Document<LogEntry>> {
    let reply_to = entry.data.reply_to.as_ref()?;
    by_id.get(reply_to.as_str()).copied()
}

/// Entry id → its direct replies, in logbook (id) order.
fn children<'a>(
    logbook: &'a [Document<LogEntry>],
    by_id: &BTreeMap<&str, &'a Document<LogEntry>>,
) -> BTreeMap<&'a str, Vec<&'a Document<LogEntry>>> {
    let mut children: BTreeMap<&str, Vec<&Document<LogEntry>>> = BTreeMap::new();
    for entry in logbook {
        if let Some(parent) = parent(entry, by_id) {
            children.entry(parent.id.as_str()).or_default().push(entry);
        }
    }
    children
}

fn thread(
    root: &Document<LogEntry>,
    children: &BTreeMap<&str, Vec<&Document<LogEntry>>>,
) -> Thread {
    let mut replies = descendants(root, children);
    replies.sort_by(|a, b| chronological(a, b));
    let entries: Vec<&Document<LogEntry>> = std::iter::once(root).chain(replies).collect();
    let state = state(entries.iter().map(|entry| entry.data.disposition));
    let last_at = entries
        .iter()
        .map(|entry| entry.data.at.value)
        .max()
        .unwrap_or(root.data.at.value);
    let subjects: BTreeSet<String> = entries.iter().flat_map(|e| e.data.subjects()).collect();
    Thread {
        root: root.id.clone(),
        entries: entries.iter().map(|entry| entry.id.clone()).collect(),
        state,
        last_at,
        needs_attention: state == ThreadState::Problem,
        subjects: subjects.into_iter().collect(),
    }
}

/// Orders entries by time, then id.
pub(super) fn chronological(a: &Document<LogEntry>, b: &Document<LogEntry>) -> std::cmp::Ordering {
    (a.data.at.value, &a.id).cmp(&(b.data.at.value, &b.id))
}

/// Every entry below `root`. The visited set keeps a reply cycle in invalid content
/// from looping forever.
fn descendants<'a>(
    root: &'a Document<LogEntry>,
    children: &BTreeMap<&str, Vec<&'a Document<LogEntry>>>,
) -> Vec<&'a Document<LogEntry>> {
    let mut seen: BTreeSet<&str> = BTreeSet::from([root.id.as_str()]);
    let mut stack = vec![root];
    let mut out = Vec::new();
    while let Some(entry) = stack.pop() {
        for &child in children.get(entry.id.as_str()).into_iter().flatten() {
            if seen.insert(child.id.as_str()) {
                out.push(child);
                stack.push(child);
            }
        }
    }
    out
}

/// The state of a thread whose dispositions, in chronological order, are `dispositions`:
/// that of the latest one that is not `info` (information does not change where a
/// thread stands); `Info` when all of them are `info`; `Open` when there are none.
pub fn state(dispositions: impl IntoIterator<Item = Option<Disposition>>) -> ThreadState {
    let mut state = ThreadState::Open;
    for disposition in dispositions.into_iter().flatten() {
        state = match disposition {
            Disposition::Info if state == ThreadState::Open => ThreadState::Info,
            Disposition::Info => state,
            Disposition::Ok => ThreadState::Ok,
            Disposition::Problem => ThreadState::Problem,
            Disposition::Acknowledged => ThreadState::Acknowledged,
            Disposition::Ignored => ThreadState::Ignored,
            Disposition::Belay => ThreadState::Belayed,
            Disposition::End => ThreadState::Ended,
        };
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::{at, content};
    use Disposition::*;

    /// (id, at on 2026-11-DD at HH:00, disposition, reply_to)
    type Spec<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

    fn logbook(specs: &[Spec<'_>]) -> Content {
        let files: Vec<(String, String)> = specs
            .iter()
            .map(|(id, at, disposition, reply_to)| {
                let mut text = format!("---\nat: 2026-11-{at}:00:00Z\nby: bob\n");
                if let Some(d) = disposition {
                    text.push_str(&format!("disposition: {d}\n"));
                }
                if let Some(r) = reply_to {
                    text.push_str(&format!("reply_to: {r}\n"));
                }
                text.push_str("---\nNotes\n");
                (format!("logbook/2026/11/{id}.md"), text)
            })
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        content(&refs)
    }

    #[test]
    fn state_is_the_latest_non_info_disposition() {
        assert_eq!(state([]), ThreadState::Open);
        assert_eq!(state([None, None]), ThreadState::Open);
        assert_eq!(state([Some(Info), None, Some(Info)]), ThreadState::Info);
        assert_eq!(state([None, Some(Info)]), ThreadState::Info);
        assert_eq!(state([Some(Ok)]), ThreadState::Ok);
        assert_eq!(state([Some(Problem), Some(Info)]), ThreadState::Problem);
        assert_eq!(
            state([Some(Info), Some(Problem), Some(Acknowledged), Some(Info)]),
            ThreadState::Acknowledged
        );
        assert_eq!(state([Some(Problem), Some(Ignored)]), ThreadState::Ignored);
        assert_eq!(state([Some(Info), Some(Belay)]), ThreadState::Belayed);
        assert_eq!(state([Some(Problem), Some(End)]), ThreadState::Ended);
        assert_eq!(
            state([Some(Ok), Some(End), Some(Problem)]),
            ThreadState::Problem
        );
    }

    #[test]
    fn a_reply_chain_moves_the_thread_through_its_states() {
        let mut specs: Vec<Spec<'_>> = vec![("tape", "20T02", Some("problem"), None)];
        let steps: [(Spec<'_>, ThreadState); 4] = [
            (
                ("note", "20T03", Some("info"), Some("tape")),
                ThreadState::Problem,
            ),
            (
                ("ack", "20T04", Some("acknowledged"), Some("note")),
                ThreadState::Acknowledged,
            ),
            (
                ("again", "20T05", Some("problem"), Some("tape")),
                ThreadState::Problem,
            ),
            (
                ("fixed", "20T06", Some("end"), Some("again")),
                ThreadState::Ended,
            ),
        ];
        let threads_now = threads(&logbook(&specs));
        assert_eq!(threads_now[0].state, ThreadState::Problem);
        assert!(threads_now[0].needs_attention);
        for (spec, expected) in steps {
            specs.push(spec);
            let all = threads(&logbook(&specs));
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].state, expected, "after {}", spec.0);
            assert_eq!(all[0].needs_attention, expected == ThreadState::Problem);
            assert_eq!(all[0].last_at, at(&format!("2026-11-{}:00:00Z", spec.1)));
        }
    }

    #[test]
    fn entries_are_the_root_then_all_descendants_chronologically() {
        let content = logbook(&[
            ("a-root", "20T01", Some("problem"), None),
            ("z-child", "20T02", Some("info"), Some("a-root")),
            (
                "b-grandchild",
                "20T03",
                Some("acknowledged"),
                Some("z-child"),
            ),
            ("c-child", "20T04", None, Some("a-root")),
            ("d-other", "19T00", Some("ok"), None),
        ]);
        let all = threads(&content);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].root, "a-root");
        assert_eq!(
            all[0].entries,
            vec!["a-root", "z-child", "b-grandchild", "c-child"]
        );
        assert_eq!(all[0].state, ThreadState::Acknowledged);
        assert_eq!(all[0].last_at, at("2026-11-20T04:00:00Z"));
        assert_eq!(all[1].root, "d-other");
        assert_eq!(all[1].entries, vec!["d-other"]);
        assert_eq!(all[1].state, ThreadState::Ok);
    }

    #[test]
    fn threads_sort_by_latest_activity_then_root() {
        let content = logbook(&[
            ("old-root", "01T00", None, None),
            ("late-reply", "21T00", Some("ok"), Some("old-root")),
            ("b-new", "20T00", None, None),
            ("a-new", "20T00", None, None),
        ]);
        let roots: Vec<String> = threads(&content).into_iter().map(|t| t.root).collect();
        assert_eq!(roots, vec!["old-root", "a-new", "b-new"]);
    }

    #[test]
    fn a_dangling_reply_starts_its_own_thread_and_cycles_do_not_hang() {
        let mut content = logbook(&[
            ("a", "20T00", Some("problem"), None),
            ("b", "20T01", Some("ok"), Some("a")),
        ]);
        // Make it invalid in memory: `a` answers a missing entry, `b` answers `b`.
        let missing = crate::yaml::Spanned::new("missing".to_owned(), 0..0);
        content.logbook[0].data.reply_to = Some(missing);
        content.logbook[1].data.reply_to = Some(crate::yaml::Spanned::new("b".to_owned(), 0..0));
        let all = threads(&content);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].entries, vec!["a"]);
    }
}
