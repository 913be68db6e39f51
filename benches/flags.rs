//! The flag bundle at scale: 100,000 accounts, 1,000 features, 200 account sets and
//! 5,000 overrides, generated in memory as YAML files.
//!
//! ```sh
//! cargo bench --bench flags
//! ```
//!
//! Prints the bundle's size against the accounts × features matrix it does not expand,
//! then measures loading the YAML, compiling (bundle + canonical JSON + sha256),
//! preparing a bundle for evaluation, and single evaluations along each rule.

#![allow(clippy::panic)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use glassroom::content::types::{FlagValue, Moment};
use glassroom::flags::Flags;
use glassroom::source::Tree;

const ACCOUNTS: usize = 100_000;
const FEATURES: usize = 1_000;
const SETS: usize = 200;
const OVERRIDES: usize = 5_000;
/// Features each account set gives a value.
const VALUES_PER_SET: usize = 20;

fn account(i: usize) -> String {
    format!("acct-{i:06}")
}

fn feature(i: usize) -> String {
    format!("feature-{i:04}")
}

/// Every 10th feature is an integer, every 10th (offset 5) a string; every 7th has a rollout.
fn value_of(f: usize, n: usize) -> String {
    match f % 10 {
        0 => format!("{}", n % 100),
        5 => format!("variant-{}", n % 3),
        _ => if n.is_multiple_of(2) { "true" } else { "false" }.to_owned(),
    }
}

/// A content tree of the stated size. Each account is in one set, every fifth in a second.
fn generate() -> Tree {
    let mut tree = Tree::new();
    tree.insert("glassroom.yaml", "title: Bench\n");
    tree.insert(
        ".glassroom/policy.yaml",
        include_str!("../tests/bad/base/.glassroom/policy.yaml"),
    );
    for f in 0..FEATURES {
        let mut text = format!(
            "description: Generated feature {f}\ndefault: {}\n",
            value_of(f, 1)
        );
        if f % 7 == 0 {
            text.push_str("rollout: 30\n");
            if f % 10 == 0 {
                text.push_str("active_value: 99\n");
            } else if f % 10 == 5 {
                text.push_str("active_value: variant-2\n");
            }
        }
        tree.insert(format!("flags/features/{}.yaml", feature(f)), text);
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); SETS];
    for a in 0..ACCOUNTS {
        members[a % SETS].push(a);
        if a % 5 == 0 {
            members[(a / 5 + 7) % SETS].push(a);
        }
    }
    for (s, accounts) in members.iter().enumerate() {
        let mut text = format!("description: Generated set {s}\naccounts:\n");
        let mut seen = std::collections::BTreeSet::new();
        for a in accounts {
            if seen.insert(*a) {
                let _ = writeln!(text, "  - {}", account(*a));
            }
        }
        text.push_str("features:\n");
        for k in 0..VALUES_PER_SET {
            let f = (s * 37 + k * 53) % FEATURES;
            let _ = writeln!(text, "  {}: {}", feature(f), value_of(f, s + k));
        }
        tree.insert(format!("flags/account_sets/set-{s:03}.yaml"), text);
    }
    let mut text = String::new();
    let mut by_account: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for o in 0..OVERRIDES {
        by_account
            .entry((o * 7919) % ACCOUNTS)
            .or_default()
            .push((o * 131) % FEATURES);
    }
    for (a, features) in by_account {
        let _ = writeln!(text, "{}:", account(a));
        let mut seen = std::collections::BTreeSet::new();
        for f in features {
            if seen.insert(f) {
                let _ = writeln!(text, "  {}: {}", feature(f), value_of(f, a));
            }
        }
    }
    tree.insert("flags/overrides.yaml", text);
    tree
}

/// The bytes the accounts × features matrix would take as JSON
/// (`{"acct":{"feature":value,...},...}`), computed without building it.
fn matrix_bytes() -> u64 {
    let value_bytes: u64 = (0..FEATURES)
        .map(|f| value_of(f, 1).len() as u64 + 2 * u64::from(f % 10 == 5))
        .sum();
    let feature_bytes: u64 = (0..FEATURES)
        .map(|f| feature(f).len() as u64 + 4)
        .sum::<u64>()
        + value_bytes;
    let account_bytes: u64 = (0..ACCOUNTS).map(|a| account(a).len() as u64 + 5).sum();
    account_bytes + ACCOUNTS as u64 * feature_bytes
}

fn report() -> (Flags, Tree) {
    let tree = generate();
    let started = Instant::now();
    let loaded = glassroom::content::load(&tree);
    let load = started.elapsed();
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let first: Vec<String> = loaded
            .diagnostics
            .iter()
            .take(3)
            .map(|d| d.message.clone())
            .collect();
        panic!("the generated content has {errors} errors: {first:?}");
    }
    let started = Instant::now();
    let published = glassroom::flags::compile(&loaded.content).publish();
    let compile = started.elapsed();
    let started = Instant::now();
    let flags = glassroom::flags::read_bundle("bench", &published.json, Some(&published.sha256));
    let prepare = started.elapsed();
    let Ok(flags) = flags else {
        panic!("the bundle reads back");
    };
    let matrix = matrix_bytes();
    println!(
        "flag bundle: {ACCOUNTS} accounts, {FEATURES} features, {SETS} account sets, {OVERRIDES} overrides"
    );
    println!(
        "  bundle {} bytes ({:.1} MiB); the accounts × features matrix as JSON ≈ {} bytes ({:.1} GiB): {:.0}× larger",
        published.json.len(),
        published.json.len() as f64 / 1_048_576.0,
        matrix,
        matrix as f64 / 1_073_741_824.0,
        matrix as f64 / published.json.len() as f64
    );
    println!(
        "  once: load + validate YAML {load:.2?}, compile + canonical JSON + sha256 {compile:.2?}, read + prepare {prepare:.2?}"
    );
    (flags, tree)
}

fn benches(c: &mut Criterion) {
    let (flags, tree) = report();
    let loaded = glassroom::content::load(&tree);
    let now: Moment = "2026-11-22"
        .parse()
        .unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH));

    let mut slow = c.benchmark_group("bundle");
    slow.sample_size(10);
    slow.bench_function("compile + canonical JSON + sha256", |b| {
        b.iter(|| glassroom::flags::compile(black_box(&loaded.content)).publish())
    });
    let published = glassroom::flags::compile(&loaded.content).publish();
    slow.bench_function("read + verify + prepare", |b| {
        b.iter(|| {
            glassroom::flags::read_bundle(
                "bench",
                black_box(&published.json),
                Some(&published.sha256),
            )
        })
    });
    slow.finish();

    // Queries: (account, feature) pairs that end at each rule.
    let override_pairs: Vec<(String, String)> = (0..1024)
        .map(|o| {
            (
                account((o * 7919) % ACCOUNTS),
                feature((o * 131) % FEATURES),
            )
        })
        .collect();
    let set_pairs: Vec<(String, String)> = (0..1024)
        .map(|i| {
            let a = i * 97 % ACCOUNTS;
            let s = a % SETS;
            (
                account(a),
                feature((s * 37 + (i % VALUES_PER_SET) * 53) % FEATURES),
            )
        })
        .collect();
    let miss_pairs: Vec<(String, String)> = (0..1024)
        .map(|i| (format!("unknown-{i}"), feature((i * 7 + 1) % FEATURES)))
        .collect();
    // Features 0, 7, 14 ... 994 have a 30% rollout; unknown accounts reach it.
    let rollout_pairs: Vec<(String, String)> = (0..1024)
        .map(|i| (format!("unknown-{i}"), feature((i * 11 % 143) * 7)))
        .collect();
    let default = FlagValue::Bool(false);
    let mut group = c.benchmark_group("evaluate");
    for (name, pairs) in [
        ("override", &override_pairs),
        ("account set", &set_pairs),
        ("no data for the account (caller's default)", &miss_pairs),
        ("rollout (sha256 bucket)", &rollout_pairs),
    ] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let (account, feature) = &pairs[i % pairs.len()];
                i += 1;
                let got = flags.evaluate(
                    black_box(account),
                    black_box(feature),
                    Some(&default),
                    now.0,
                );
                black_box(got.value);
            })
        });
    }
    // The same through the polling client: a read lock, the clock and a cloned value.
    let dir = tempfile::tempdir().ok();
    let file = dir.as_ref().map(|d| d.path().join("flags.json"));
    if let Some(file) = &file
        && std::fs::write(file, &published.json).is_ok()
    {
        let client = glassroom::flags::Client::builder("http://127.0.0.1:9/flags.json")
            .bootstrap_file(file)
            .poll_in_background(false)
            .start();
        let mut i = 0;
        group.bench_function("Client::feature_flag (account set)", |b| {
            b.iter(|| {
                let (account, feature) = &set_pairs[i % set_pairs.len()];
                i += 1;
                black_box(client.feature_flag(black_box(account), black_box(feature), None))
            })
        });
    }
    group.finish();
}

criterion_group!(flag_benches, benches);
criterion_main!(flag_benches);
