//! The replay on random commit graphs held in memory (signed with the fixture keys,
//! in-process): signed and unsigned commits, merges, policy changes and key removals,
//! trailers, backdating. What must hold whatever the graph:
//! - no published blob lacks an approval by a key valid for the commit that approved it
//!   (listed, with the role, and not removed by a commit it does not precede);
//! - an append-only file, once published, never changes (but for an admin's revocation);
//! - the replay is the same resumed from any earlier head (the trust cache) as from
//!   nothing, and the same whatever number of states it may hold in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use git2::Oid;

use super::*;
use crate::trust::commit::{RawCommit, SignatureHeader};

/// A small deterministic generator (SplitMix64): a failing case is named by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Signers of the model: alice is the admin (never removed), bob signs everywhere until
/// alice removes his key, dave only reviews, the robot signs the logbook, mallory's key
/// is listed nowhere.
const SIGNERS: [&str; 5] = ["alice", "bob", "dave", "backup-bot", "mallory"];

fn fixture(name: &str) -> String {
    let file = match name {
        "mallory" => "sync-bot",
        other => other,
    };
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/keys/{file}")),
    )
    .unwrap_or_else(|err| panic!("fixture key {file}: {err}"))
}

fn public(name: &str) -> String {
    fixture(&format!("{name}.pub")).trim().to_owned()
}

fn fingerprint(name: &str) -> String {
    let key = ssh_key::PublicKey::from_openssh(&public(name)).expect("fixture key");
    ssh_key::PublicKey::from(key.key_data().clone())
        .fingerprint(ssh_key::HashAlg::Sha256)
        .to_string()
}

/// The model's policy: with or without bob's key; `attack` makes one an attacker wants.
fn policy_text(bob: bool, attack: bool) -> String {
    let bob_keys = if bob {
        format!("[\"{}\"]", public("bob"))
    } else {
        "[]".to_owned()
    };
    let dave_role = if attack { "admin" } else { "review" };
    format!(
        "users:\n  alice: {{ keys: [\"{}\"] }}\n  bob: {{ keys: {bob_keys} }}\n  dave: {{ keys: [\"{}\"] }}\n  backup-bot: {{ robot: true, keys: [\"{}\"] }}\ngrants:\n  /: {{ alice: admin, bob: sign, dave: {dave_role} }}\n  /logbook: {{ backup-bot: sign }}\npre_approved: [\"logbook/**\"]\nappend_only: [\"logbook/**\"]\n",
        public("alice"),
        public("dave"),
        public("backup-bot"),
    )
}

#[derive(Clone)]
struct ModelCommit {
    parents: Vec<usize>,
    time: i64,
    tree: BTreeMap<String, String>,
    signer: Option<&'static str>,
    raw: RawCommit,
}

#[derive(Default)]
struct Model {
    commits: Vec<ModelCommit>,
    blobs: HashMap<String, String>,
    keys: HashMap<&'static str, ssh_key::PrivateKey>,
}

fn oid(index: usize) -> Oid {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    Oid::from_bytes(&bytes).expect("20 bytes")
}

fn index(id: Oid) -> usize {
    let bytes = id.as_bytes();
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[12..]);
    u64::from_be_bytes(n) as usize - 1
}

impl Model {
    fn new() -> Self {
        let mut model = Model::default();
        for name in SIGNERS {
            let key = ssh_key::PrivateKey::from_openssh(fixture(name)).expect("private key");
            model.keys.insert(name, key);
        }
        model
    }

    fn blob(&mut self, text: &str) -> String {
        let id = blake3::hash(text.as_bytes()).to_hex()[..40].to_owned();
        self.blobs.insert(id.clone(), text.to_owned());
        id
    }

    fn add(
        &mut self,
        parents: Vec<usize>,
        time: i64,
        tree: BTreeMap<String, String>,
        signer: Option<&'static str>,
        message: &str,
    ) -> usize {
        let index = self.commits.len();
        let payload =
            format!("commit {index}\nparents {parents:?}\ntime {time}\ntree {tree:?}\n\n{message}")
                .into_bytes();
        let signature = match signer {
            Some(name) => {
                let signed = self.keys[name]
                    .sign("git", ssh_key::HashAlg::Sha512, &payload)
                    .expect("sign");
                SignatureHeader::One(signed.to_pem(ssh_key::LineEnding::LF).expect("pem"))
            }
            None => SignatureHeader::None,
        };
        let raw = RawCommit {
            tree: String::new(),
            parents: parents.iter().map(|p| oid(*p).to_string()).collect(),
            time,
            signature,
            payload,
            message: message.to_owned(),
        };
        self.commits.push(ModelCommit {
            parents,
            time,
            tree,
            signer,
            raw,
        });
        index
    }

    fn ancestors(&self, tip: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack = vec![tip];
        while let Some(c) = stack.pop() {
            if seen.insert(c) {
                stack.extend(self.commits[c].parents.iter().copied());
            }
        }
        seen
    }
}

impl Graph for Model {
    fn commit(&self, id: Oid) -> Result<CommitInfo, GraphError> {
        let c = &self.commits[index(id)];
        Ok(CommitInfo {
            parents: c.parents.iter().map(|p| oid(*p)).collect(),
            time: c.time,
            raw: Ok(c.raw.clone()),
        })
    }

    fn parents(&self, id: Oid) -> Result<Vec<Oid>, GraphError> {
        Ok(self.commits[index(id)]
            .parents
            .iter()
            .map(|p| oid(*p))
            .collect())
    }

    fn changes(&self, id: Oid, parent: Option<Oid>) -> Result<Vec<TreeChange>, GraphError> {
        let tree = &self.commits[index(id)].tree;
        let empty = BTreeMap::new();
        let before = parent.map_or(&empty, |p| &self.commits[index(p)].tree);
        let paths: BTreeSet<&String> = tree.keys().chain(before.keys()).collect();
        Ok(paths
            .into_iter()
            .filter(|p| tree.get(*p) != before.get(*p))
            .map(|p| TreeChange {
                path: p.clone(),
                new: tree.get(p).cloned(),
                unpublishable: None,
            })
            .collect())
    }

    fn entry(&self, id: Oid, path: &str) -> Result<TreeChange, GraphError> {
        Ok(TreeChange {
            path: path.to_owned(),
            new: self.commits[index(id)].tree.get(path).cloned(),
            unpublishable: None,
        })
    }

    fn root_files(&self, id: Oid) -> Result<BTreeMap<String, String>, GraphError> {
        Ok(self.commits[index(id)].tree.clone())
    }

    fn text(&self, blob: &str) -> Option<String> {
        self.blobs.get(blob).cloned()
    }

    fn fingerprint(&self, blob: &str) -> Option<String> {
        Some(blob.to_owned())
    }

    fn topo(&self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GraphError> {
        let mut hidden = HashSet::new();
        for h in hide {
            hidden.extend(self.ancestors(index(*h)));
        }
        let mut wanted: Vec<usize> = self
            .ancestors(index(tip))
            .into_iter()
            .filter(|c| !hidden.contains(c))
            .collect();
        // Commits are made parents first, so their indices are a topological order.
        wanted.sort_unstable();
        Ok(wanted.into_iter().map(oid).collect())
    }

    fn only_in(&self, tip: Oid, hide: &[Oid]) -> Result<HashSet<Oid>, GraphError> {
        let mut hidden = HashSet::new();
        for h in hide {
            hidden.extend(self.ancestors(index(*h)));
        }
        Ok(self
            .ancestors(index(tip))
            .into_iter()
            .filter(|c| !hidden.contains(c))
            .map(oid)
            .collect())
    }
}

const POLICY: &str = POLICY_PATH;
const FILES: [&str; 3] = ["hosts/a.yaml", "hosts/b.yaml", "tickets/c.md"];

/// A random history of `size` commits.
fn history(seed: u64, size: usize) -> Model {
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let mut root_tree = BTreeMap::new();
    let policy = model.blob(&policy_text(true, false));
    root_tree.insert(POLICY.to_owned(), policy);
    for file in FILES {
        let blob = model.blob(&format!("{file} v0"));
        root_tree.insert(file.to_owned(), blob);
    }
    let entry = model.blob("logbook entry 0");
    root_tree.insert("logbook/0.md".to_owned(), entry);
    let mut clock = 1_000_000;
    model.add(vec![], clock, root_tree, Some("alice"), "root");
    for n in 1..size {
        clock += 60;
        let first = rng.below(model.commits.len());
        let mut parents = vec![first];
        if rng.chance(30) && model.commits.len() > 2 {
            let second = rng.below(model.commits.len());
            if second != first {
                parents.push(second);
            }
        }
        let mut tree = model.commits[first].tree.clone();
        if let Some(second) = parents.get(1) {
            // A merge takes some files from its second parent.
            for (path, blob) in model.commits[*second].tree.clone() {
                if rng.chance(50) {
                    tree.insert(path, blob);
                }
            }
        }
        let mut signer = match rng.below(10) {
            0..=2 => None,
            3 | 4 => Some("alice"),
            5 | 6 => Some("bob"),
            7 => Some("dave"),
            8 => Some("backup-bot"),
            _ => Some("mallory"),
        };
        let mut message = format!("commit {n}");
        match rng.below(13) {
            // A policy change: alice removes or gives back bob's key, or anyone makes
            // dave an admin.
            0 | 12 => {
                let text = policy_text(rng.chance(50), false);
                let blob = model.blob(&text);
                tree.insert(POLICY.to_owned(), blob);
            }
            1 => {
                let blob = model.blob(&policy_text(true, true));
                tree.insert(POLICY.to_owned(), blob);
            }
            // A new logbook entry, or an existing one rewritten or deleted.
            2 | 3 => {
                let blob = model.blob(&format!("logbook entry {n}"));
                tree.insert(format!("logbook/{n}.md"), blob);
            }
            4 => {
                let entries: Vec<String> = tree
                    .keys()
                    .filter(|p| p.starts_with("logbook/"))
                    .cloned()
                    .collect();
                if let Some(entry) = entries.get(rng.below(entries.len())) {
                    if rng.chance(50) {
                        tree.remove(entry);
                    } else {
                        let blob = model.blob(&format!("{entry} rewritten at {n}"));
                        tree.insert(entry.clone(), blob);
                    }
                }
            }
            // A trailer approving or revoking something.
            5 => {
                let path = FILES[rng.below(FILES.len())];
                let blob = model.blob(&format!("{path} v{n}"));
                tree.insert(path.to_owned(), blob.clone());
                message = format!("{message}\n\nApprove: {path} {blob}");
            }
            6 => {
                let paths: Vec<String> = tree.keys().cloned().collect();
                let path = &paths[rng.below(paths.len())];
                message = format!("{message}\n\nRevoke: {path}");
            }
            7 => {
                let path = FILES[rng.below(FILES.len())];
                tree.remove(path);
            }
            _ => {
                let path = FILES[rng.below(FILES.len())];
                let blob = model.blob(&format!("{path} v{n}"));
                tree.insert(path.to_owned(), blob);
            }
        }
        // The admin never signs a tree with the attacker's policy (a merge could bring it).
        let attack = model.blob(&policy_text(true, true));
        if signer == Some("alice") && tree.get(POLICY) == Some(&attack) {
            signer = Some("bob");
        }
        // Now and then a commit dated before its parent.
        let time = if rng.chance(8) { clock - 3_000 } else { clock };
        model.add(parents, time, tree, signer, &message);
    }
    model
}

fn run_model(
    model: &Model,
    target: usize,
    from: Option<Replayed>,
    held: usize,
) -> (Replayed, Work) {
    replay_holding(model, oid(0), oid(target), from, &|_| None, held).expect("replay")
}

/// Who may have approved a blob: the commits of `target`'s history, with the keys that
/// stay valid for each from `target`'s point of view.
struct Oracle<'m> {
    model: &'m Model,
    history: HashSet<usize>,
    /// Commits whose approved change removed bob's key (alice signed a policy without it
    /// over one with it), and the commits each one does not follow.
    bob_removed_by: Vec<HashSet<usize>>,
}

impl<'m> Oracle<'m> {
    fn new(model: &'m Model, target: usize, replayed: &Replayed) -> Self {
        let history = model.ancestors(target);
        let bob = fingerprint("bob");
        let bob_removed_by = replayed
            .records
            .iter()
            .filter(|(_, r)| r.removes.contains(&bob))
            .map(|(id, _)| {
                let remover = index(Oid::from_str(id).expect("id"));
                // Sanity of the removal itself: alice signed it.
                assert_eq!(model.commits[remover].signer, Some("alice"));
                model.ancestors(remover)
            })
            .collect();
        Self {
            model,
            history,
            bob_removed_by,
        }
    }

    /// Whether `signer` could approve `path` in commit `c`.
    fn may_approve(&self, c: usize, path: &str) -> bool {
        let commit = &self.model.commits[c];
        let Some(signer) = commit.signer else {
            return false;
        };
        let valid_key = match signer {
            "alice" => true,
            "bob" => {
                self.bob_removed_by.iter().all(|before| before.contains(&c))
                    && !path.starts_with(".glassroom/")
            }
            "backup-bot" => path.starts_with("logbook/"),
            // dave reviews (or is made admin only by a policy nobody allowed signed);
            // mallory's key is listed nowhere.
            _ => false,
        };
        valid_key && (signer == "alice" || !path.starts_with(".glassroom/"))
    }

    /// Every published blob has a justification in the history.
    fn check(&self, replayed: &Replayed, what: &str) {
        let root_tree = &self.model.commits[0].tree;
        for (path, approval) in &replayed.state.files {
            let Some(blob) = &approval.blob else { continue };
            let justified = root_tree.get(path) == Some(blob)
                || self.history.iter().any(|c| {
                    self.model.commits[*c].tree.get(path) == Some(blob)
                        && (self.may_approve(*c, path) || path.starts_with("logbook/"))
                });
            assert!(justified, "{what}: {path} at {blob} has no valid approval");
            if path == POLICY {
                let text = &self.model.blobs[blob];
                assert!(
                    !text.contains("dave: admin"),
                    "{what}: the attacker's policy is in force"
                );
            }
        }
        // An append-only entry, once published, keeps its first blob.
        for (path, events) in replayed.events.iter() {
            if !path.starts_with("logbook/") {
                continue;
            }
            let published: Vec<&Event> = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::TrustRoot
                            | EventKind::Signed
                            | EventKind::PreApproved
                            | EventKind::Merged
                    ) && e.blob.is_some()
                })
                .collect();
            if let Some(first) = published.first() {
                assert!(
                    published.iter().all(|e| e.blob == first.blob),
                    "{what}: append-only {path} changed: {events:#?}"
                );
            }
            if let Some(approval) = replayed.state.files.get(path)
                && approval.blob.is_none()
            {
                let by = &self.model.commits[index(Oid::from_str(&approval.commit).expect("id"))];
                assert!(
                    by.signer == Some("alice") || published.is_empty(),
                    "{what}: {path} unpublished by {:?}",
                    by.signer
                );
            }
        }
    }
}

#[test]
fn random_histories_publish_only_validly_approved_blobs_and_replay_alike_from_any_head() {
    let cases: u64 = std::env::var("GLASSROOM_GRAPH_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    for seed in 0..cases {
        let size = 6 + (seed as usize % 20);
        let model = history(seed, size);
        let target = model.commits.len() - 1;
        let what = format!("seed {seed}");
        let (fresh, _) = run_model(&model, target, None, HELD_STATES);
        Oracle::new(&model, target, &fresh).check(&fresh, &what);
        // Held in memory or made again from the events: the same.
        let (lean, _) = run_model(&model, target, None, 0);
        assert_eq!(lean, fresh, "{what}: holding no state");
        // Resumed from the replay of any earlier head (what the cache holds).
        let mut rng = Rng(seed ^ 0xDEAD_BEEF);
        let history: Vec<usize> = {
            let mut h: Vec<usize> = model.ancestors(target).into_iter().collect();
            h.sort_unstable();
            h
        };
        let head = history[rng.below(history.len())];
        let (at_head, _) = run_model(&model, head, None, HELD_STATES);
        Oracle::new(&model, head, &at_head).check(&at_head, &format!("{what} at {head}"));
        let (resumed, work) = run_model(&model, target, Some(at_head.clone()), HELD_STATES);
        assert_eq!(
            resumed.state, fresh.state,
            "{what}: resumed from {head}: state"
        );
        assert_eq!(
            resumed.events, fresh.events,
            "{what}: resumed from {head}: events"
        );
        assert_eq!(resumed.records, fresh.records, "{what}: records");
        if fresh.removals.is_none() {
            let new = model.ancestors(target).len() - model.ancestors(head).len();
            assert_eq!(work.verified, new, "{what}: only new commits are judged");
        }
    }
}
