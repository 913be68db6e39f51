//! Verifying a repository's history: the trust root and the last verified head
//! ([`super::anchor`]), the replay of every commit in between as a graph
//! ([`super::replay`], over git by [`super::repository`]), and the report of what is
//! approved at the target with every path's audit trail.
//!
//! The replay is cached in `<git dir>/glassroom/trust-cache` (sealed, see
//! [`crate::local`]) so a rebuild after one new commit verifies one commit; a server
//! keeps it in memory ([`Memory`]). Deleting the cache only costs time: the replay is a
//! function of the history and of the anchor state.

use std::collections::BTreeMap;

use git2::{Oid, Repository};

pub use super::anchor::RootSource;
use super::anchor::{self, Anchor};
use super::commit::{self, SignatureHeader, Trailer};
use super::judge::{self, Event, EventKind};
use super::policy::{POLICY_PATH, Policy, Role};
use super::replay::{self, Graph};
use super::repository::GitGraph;
use super::roles;
use super::signature::{self, KeyRing};
use crate::local::LocalDir;
use crate::source::Tree as ContentTree;
use crate::values::short_id;

mod cache;
mod report;

pub use cache::Memory;
use cache::{CACHE_VERSION, CacheFile, load_cache};
pub use report::{Options, Pending, Provisional, Report, Trails, TrustError, is_provisional};
use report::{provisional_of, trails_of};

/// Replays history up to `target` and reports what is approved there, resuming from the
/// replay `kept` (or else the cache file) holds when its head is in `target`'s history.
pub fn replay(
    repo: &Repository,
    target: Oid,
    options: &Options,
    kept: &Memory,
) -> Result<Report, TrustError> {
    let local = LocalDir::of_repository(repo)?;
    let kept_anchor = kept.anchor.lock().ok().and_then(|a| a.clone());
    let mut anchor = match kept_anchor {
        Some(anchor) => anchor,
        None => Anchor::load(&local)?,
    };
    let anchor_before = anchor.clone();
    let (root, root_source, warning) =
        anchor::trust_root(repo, target, options.trust_root.as_deref(), &mut anchor)?;
    let mut warnings: Vec<String> = warning.into_iter().collect();
    let root_hex = root.to_string();
    // The root is in the target's history if it is in the last verified head's, and that
    // head is in the target's (a walk of one commit, not of the whole history).
    let last_head = anchor.head.as_deref().and_then(|h| Oid::from_str(h).ok());
    let through_head = match last_head {
        Some(head) if anchor.head_root.as_deref() == Some(root_hex.as_str()) => {
            is_ancestor(repo, head, target)?
        }
        _ => false,
    };
    if !through_head && !is_ancestor(repo, root, target)? {
        return Err(TrustError::RootNotInHistory {
            root: root_hex,
            target: target.to_string(),
            shallow: repo.is_shallow(),
        });
    }
    let graph = GitGraph::new(repo)?;
    let mut cached = if options.cache {
        kept.take(&root_hex)
            .or_else(|| load_cache(&local, &root_hex))
    } else {
        None
    };
    if options.forward_only
        && let Some(head) = last_head
        && !is_ancestor(repo, head, target)?
    {
        // The branch was rewound or rewritten.
        let approved = head.to_string();
        if !reset_signed(repo, &graph, root, target, head, cached.take(), &anchor)? {
            return Err(TrustError::Rewound {
                approved,
                target: target.to_string(),
            });
        }
        warnings.push(format!(
            "history was reset from {} by a signed `Reset:`",
            short_id(&approved)
        ));
    }
    // Commits first seen now: those the last verified head does not reach.
    if options.forward_only
        && let Some(head) = last_head
    {
        let now = options.now;
        for id in graph.only_in(target, &[head]).unwrap_or_default() {
            anchor.first_seen.entry(id.to_string()).or_insert(now);
        }
    }
    let from = match cached {
        Some(cache) => {
            let head = Oid::from_str(&cache.replayed.head).ok();
            match head {
                Some(head) if is_ancestor(repo, head, target)? => Some(cache.replayed),
                _ => None,
            }
        }
        None => None,
    };
    let resumed_from = from.as_ref().map(|r| r.head.clone());
    let first_seen = |id: Oid| anchor.first_seen.get(&id.to_string()).copied();
    let (replayed, work) = replay::replay(&graph, root, target, from, &first_seen)?;

    let approved = replayed.state.approved();
    let target_tree = repo.find_commit(target)?.tree()?;
    let target_files = target_files(repo, target, &target_tree, kept)?;
    let policy = kept.policy(&graph, policy_blob(&replayed.state));
    let pending = pending(&approved, &replayed.events, &target_files, &policy);
    keep_target_files(kept, target, target_files);
    let refused = replayed
        .events
        .iter()
        .filter(|(path, events)| {
            !path.is_empty() && events.last().is_some_and(|e| e.kind == EventKind::Refused)
        })
        .map(|(path, _)| path.clone())
        .collect();
    // The trails of the replay resumed from, if this process made them.
    let (kept_trails, kept_provisional) = kept
        .trails
        .lock()
        .ok()
        .and_then(|mut last| last.take())
        .filter(|(head, _, _)| resumed_from.as_deref() == Some(head.as_str()))
        .map(|(_, trails, provisional)| (trails, provisional))
        .unzip();
    let trails = trails_of(&replayed.events, &approved, kept_trails, &work.touched);
    let provisional = provisional_of(&replayed.events, &approved, kept_provisional, &work.touched);
    if kept.keep
        && let Ok(mut last) = kept.trails.lock()
    {
        *last = Some((
            target.to_string(),
            std::sync::Arc::clone(&trails),
            std::sync::Arc::clone(&provisional),
        ));
    }
    let time = replayed
        .records
        .get(&target.to_string())
        .map_or(i64::MIN, |r| r.newest);
    let report = Report {
        target: target.to_string(),
        trust_root: root_hex.clone(),
        root_source,
        approved,
        events: std::sync::Arc::clone(&replayed.events),
        pending,
        refused,
        warnings,
        verified: work.verified,
        time,
        trails,
        provisional,
    };
    if options.forward_only {
        anchor.head = Some(target.to_string());
        anchor.head_root = Some(report.trust_root.clone());
        if kept.keep
            && let Ok(mut kept_anchor) = kept.anchor.lock()
        {
            *kept_anchor = Some(anchor.clone());
        }
        let anchor = (anchor != anchor_before).then_some(anchor);
        let cache = options.cache.then_some(CacheFile {
            version: CACHE_VERSION,
            trust_root: root_hex,
            replayed,
        });
        kept.save_later(&local, anchor, cache)?;
    }
    Ok(report)
}

/// Whether `ancestor` is `descendant` or in its history.
fn is_ancestor(repo: &Repository, ancestor: Oid, descendant: Oid) -> Result<bool, git2::Error> {
    Ok(ancestor == descendant || repo.graph_descendant_of(descendant, ancestor)?)
}

/// The blob of the policy a replay's state publishes.
fn policy_blob(state: &replay::State) -> Option<&str> {
    state.files.get(POLICY_PATH).and_then(|a| a.blob.as_deref())
}

/// The publishable files of `target`'s tree: the last target's list that `kept` holds,
/// patched with the difference between the two trees; else listed.
fn target_files(
    repo: &Repository,
    target: Oid,
    tree: &git2::Tree<'_>,
    kept: &Memory,
) -> Result<BTreeMap<String, String>, TrustError> {
    let list = || -> Result<BTreeMap<String, String>, TrustError> {
        Ok(crate::source::git::regular_files(repo, tree)?
            .into_iter()
            .map(|(path, blob)| (path, blob.to_string()))
            .collect())
    };
    let last = if kept.keep {
        kept.target.lock().ok().and_then(|mut last| last.take())
    } else {
        None
    };
    let Some((last_target, mut files)) = last else {
        return list();
    };
    if last_target == target {
        return Ok(files);
    }
    let Ok(last_tree) = repo.find_commit(last_target).and_then(|c| c.tree()) else {
        return list();
    };
    for delta in crate::source::git::tree_diff(repo, Some(&last_tree), tree)? {
        // A name that is not UTF-8 is never listed (see `regular_files`).
        let Ok(path) = std::str::from_utf8(&delta.path) else {
            continue;
        };
        // What `regular_files` lists: safe names, and regular files.
        let publishable = judge::is_clean_path(path)
            && delta
                .new
                .is_some_and(|(_, mode)| crate::source::git::is_regular_file(mode));
        match delta.new.filter(|_| publishable) {
            Some((id, _)) => files.insert(path.to_owned(), id.to_string()),
            None => files.remove(path),
        };
    }
    Ok(files)
}

/// Leaves `files`, the publishable files of `target`, for the next [`target_files`].
fn keep_target_files(kept: &Memory, target: Oid, files: BTreeMap<String, String>) {
    if kept.keep
        && let Ok(mut last) = kept.target.lock()
    {
        *last = Some((target, files));
    }
}

/// Whether `target` is signed by an admin of the policy approved at the last verified
/// `head` and carries `Reset: <head>`.
fn reset_signed(
    repo: &Repository,
    graph: &dyn Graph,
    root: Oid,
    target: Oid,
    head: Oid,
    cached: Option<CacheFile>,
    anchor: &Anchor,
) -> Result<bool, TrustError> {
    let odb = repo.odb()?;
    let raw = odb.read(target)?;
    let Ok(parsed) = commit::parse(raw.data()) else {
        return Ok(false);
    };
    let (trailers, _) = commit::trailers(&parsed.message);
    let head_hex = head.to_string();
    let names_reset = trailers
        .iter()
        .any(|t| matches!(t, Trailer::Reset { from } if *from == head_hex));
    if !names_reset {
        return Ok(false);
    }
    let at_head = match cached.filter(|c| c.replayed.head == head_hex) {
        Some(cache) => cache.replayed,
        None => {
            let first_seen = |id: Oid| anchor.first_seen.get(&id.to_string()).copied();
            replay::replay(graph, root, head, None, &first_seen)?.0
        }
    };
    let policy = Memory::default().policy(graph, policy_blob(&at_head.state));
    let ring = KeyRing::new(&policy);
    let verdict = signature::verify(&parsed.signature, &parsed.payload, parsed.time, &ring);
    Ok(verdict
        .principal()
        .is_some_and(|p| roles::resolve(&policy, p, "") >= Role::Admin))
}

fn pending(
    approved: &BTreeMap<String, String>,
    events: &BTreeMap<String, Vec<Event>>,
    target: &BTreeMap<String, String>,
    policy: &Policy,
) -> Vec<Pending> {
    crate::memo::differing_keys(target, approved)
        .into_iter()
        .map(|path| {
            let needs = judge::required_role(path);
            Pending {
                path: path.to_owned(),
                blob: target.get(path).cloned(),
                approved_blob: approved.get(path).cloned(),
                last_event: events.get(path).and_then(|e| e.last().cloned()),
                needs,
                signers: roles::who_has(policy, needs, path),
            }
        })
        .collect()
}

/// The approved tree's files with their content; through a keeping `cache` only the
/// files whose blobs changed since the last tree are read (see
/// [`crate::source::git::BlobCache`]).
pub fn approved_tree(
    repo: &Repository,
    report: &Report,
    cache: &crate::source::git::BlobCache,
) -> Result<ContentTree, TrustError> {
    Ok(crate::source::git::read_blobs(
        repo,
        &report.approved,
        cache,
    )?)
}

/// Whether the commit has any signature header at all (for messages).
pub fn has_signature(header: &SignatureHeader) -> bool {
    !matches!(header, SignatureHeader::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::git::tree_of;

    #[test]
    fn a_target_list_patched_from_the_last_one_equals_a_fresh_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let signature = git2::Signature::now("t", "t@example.org").expect("signature");
        let commit = |files: &[(&str, &str)], parents: &[&git2::Commit<'_>]| {
            let tree = tree_of(&repo, files);
            repo.commit(None, &signature, &signature, "c", &tree, parents)
                .expect("commit")
        };
        let first = commit(
            &[
                ("hosts/a.yaml", "a"),
                ("hosts/b.yaml", "b"),
                ("docs/x.md", "x"),
            ],
            &[],
        );
        let parent = repo.find_commit(first).expect("first");
        // An edit, a removal, an addition, a file become a link, a directory become a
        // file, and a file under an unsafe name.
        let second = commit(
            &[
                ("hosts/a.yaml", "a2"),
                ("hosts/b.yaml", "->/etc/passwd"),
                ("hosts/c.yaml", "c"),
                ("docs", "now a file"),
                ("hosts/back\\slash.yaml", "x"),
            ],
            &[&parent],
        );
        let kept = Memory::keeping();
        let first_tree = parent.tree().expect("tree");
        let listed = target_files(&repo, first, &first_tree, &kept).expect("list");
        let fresh_first: BTreeMap<String, String> =
            crate::source::git::regular_files(&repo, &first_tree)
                .expect("fresh")
                .into_iter()
                .map(|(p, b)| (p, b.to_string()))
                .collect();
        assert_eq!(listed, fresh_first);
        let second_tree = repo
            .find_commit(second)
            .and_then(|c| c.tree())
            .expect("tree");
        let fresh: BTreeMap<String, String> =
            crate::source::git::regular_files(&repo, &second_tree)
                .expect("fresh")
                .into_iter()
                .map(|(p, b)| (p, b.to_string()))
                .collect();
        keep_target_files(&kept, first, listed);
        let patched = target_files(&repo, second, &second_tree, &kept).expect("patch");
        assert_eq!(patched, fresh);
        assert!(patched.contains_key("docs") && !patched.contains_key("hosts/b.yaml"));
        assert!(!patched.contains_key("hosts/back\\slash.yaml"));
    }

    fn event(kind: EventKind) -> Event {
        Event {
            kind,
            commit: "c".into(),
            time: 0,
            principal: None,
            blob: Some("b".into()),
            fingerprint: None,
            reason: None,
        }
    }

    #[test]
    fn the_last_approving_event_decides_whether_a_file_is_provisional() {
        use EventKind::*;
        let trails: &[(&str, &[EventKind])] = &[
            ("root.md", &[TrustRoot]),
            ("pre.md", &[PreApproved]),
            ("pre-then-signed.md", &[PreApproved, Signed]),
            ("signed-then-pre.md", &[Signed, PreApproved]),
            (
                "pre-then-reviewed.md",
                &[PreApproved, Reviewed, Pending, Refused],
            ),
            ("signed-then-pending.md", &[Signed, Pending]),
            ("revoked-then-pre.md", &[Revoked, PreApproved]),
            // A merge's choice is looked through to the approval of what it kept.
            ("pre-then-merged.md", &[PreApproved, Merged]),
            ("signed-then-merged.md", &[Signed, Merged]),
        ];
        let provisional: Vec<&str> = trails
            .iter()
            .filter(|(_, kinds)| {
                let events: Vec<Event> = kinds.iter().map(|kind| event(*kind)).collect();
                is_provisional(Some(&events), "b")
            })
            .map(|(path, _)| *path)
            .collect();
        assert_eq!(
            provisional,
            [
                "pre.md",
                "signed-then-pre.md",
                "pre-then-reviewed.md",
                "revoked-then-pre.md",
                "pre-then-merged.md",
            ]
        );
    }
}
