//! Writes a large, valid, realistic ops repository for benchmarks:
//! `cargo run --release --example genrepo -- DIR --scale N [--git]`.
//!
//! For N = 10,000: 4,000 tickets with ~1 KB Markdown bodies, 4,000 logbook entries, 500
//! hosts, 300 certificates, 200 modules, 600 releases, 100 procedures, 20 sites, 200
//! services, 2,000 flag features, 200 account sets, 1,000 overrides, 50 domains and 50
//! news items. Output is deterministic for a given N. With `--git`, the files are
//! committed as a history of signed commits (the example key of `alice`, in-process).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

/// A small deterministic generator (xorshift), so every run writes the same repository.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const DAY: i64 = 86_400;
/// "Now" of the generated repository: 2026-11-22.
const NOW: i64 = 1_795_305_600;

fn date(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

const WORDS: &[&str] = &[
    "the",
    "backup",
    "queue",
    "latency",
    "worker",
    "cache",
    "index",
    "invoice",
    "payment",
    "checkout",
    "session",
    "replica",
    "timeout",
    "deploy",
    "config",
    "certificate",
    "disk",
    "memory",
    "request",
    "customer",
    "report",
    "export",
    "retry",
    "schema",
    "migration",
    "endpoint",
    "cluster",
    "rotation",
    "alert",
    "threshold",
    "window",
    "batch",
    "job",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => s,
    }
}

/// A ~1 KB Markdown body: a heading, paragraphs, a list, a code block and links.
fn body(rng: &mut Rng, n: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Details\n");
    for _ in 0..3 {
        let _ = writeln!(
            out,
            "{} {} {}\n",
            sentence(rng, 12),
            sentence(rng, 10),
            sentence(rng, 14)
        );
    }
    let _ = writeln!(
        out,
        "- {}\n- {}\n- {}\n",
        sentence(rng, 6),
        sentence(rng, 5),
        sentence(rng, 7)
    );
    let _ = writeln!(
        out,
        "```\n$ journalctl -u worker-{n} --since yesterday | grep -c timeout\n{}\n```\n",
        rng.below(500)
    );
    let _ = writeln!(
        out,
        "See [the runbook](https://wiki.example.org/runbooks/{n}) and [the dashboard](https://grafana.example.org/d/{n})."
    );
    out
}

struct Writer {
    root: PathBuf,
    files: usize,
}

impl Writer {
    fn write(&mut self, path: &str, text: &str) -> Result<(), Error> {
        let full = self.root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(full, text)?;
        self.files += 1;
        Ok(())
    }
}

#[allow(dead_code)] // The golden test includes this file as a module and calls `generate`.
fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().ok_or("usage: genrepo DIR --scale N [--git]")?);
    let scale: usize = args
        .iter()
        .position(|a| a == "--scale")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let git = args.iter().any(|a| a == "--git");
    generate(&dir, scale, git)
}

/// Writes the repository of scale `scale` into `dir` (emptied first).
pub fn generate(dir: &Path, scale: usize, git: bool) -> Result<(), Error> {
    let dir = dir.to_path_buf();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut w = Writer {
        root: dir.clone(),
        files: 0,
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ scale as u64);
    let count = |share: f64, min: usize| ((scale as f64 * share) as usize).max(min);

    let alice = std::fs::read_to_string(root.join("tests/fixtures/keys/alice.pub"))?;
    let bot = std::fs::read_to_string(root.join("tests/fixtures/keys/backup-bot.pub"))?;
    w.write(
        "glassroom.yaml",
        &format!(
            "title: Generated operations (scale {scale})\nbase_url: https://ops.example.org/\n"
        ),
    )?;
    w.write(
        ".glassroom/policy.yaml",
        &format!(
            "users:\n  alice: {{ keys: [\"{}\"] }}\n  backup-bot: {{ robot: true, keys: [\"{}\"] }}\ngrants:\n  /: {{ alice: admin }}\n  /logbook: {{ backup-bot: sign }}\npre_approved: [\"logbook/**\"]\nappend_only: [\"logbook/**\"]\n",
            alice.trim(),
            bot.trim()
        ),
    )?;

    let hosts = count(0.05, 4);
    for h in 0..hosts {
        w.write(
            &format!("hosts/host-{h:05}.yaml"),
            &format!(
                "name: host-{h:05}.example.org\naddresses: [10.{}.{}.{}]\nos: {}\nlocation: {}\nowner: {}\ntags: [{}]\n",
                h / 65536 % 256,
                h / 256 % 256,
                h % 256,
                rng.pick(&["Debian 12", "Debian 13", "Ubuntu 24.04", "RHEL 9"]),
                rng.pick(&["fra1 rack 3", "fra1 rack 7", "ams2 rack 1", "cloud"]),
                rng.pick(&["alice", "bob", "carol"]),
                rng.pick(&["web", "db", "app", "batch"])
            ),
        )?;
    }
    let procedures = count(0.01, 3);
    for p in 0..procedures {
        let every = [1, 7, 14, 30][p % 4];
        w.write(
            &format!("procedures/proc-{p:04}.md"),
            &format!("---\ntitle: \"Procedure {p}, {}\"\nevery: {every}d\ngrace: 1d\nowner: alice\n---\n1. {}\n2. {}\n3. Log the result.\n", sentence(&mut rng, 3), sentence(&mut rng, 8), sentence(&mut rng, 9)),
        )?;
    }
    for c in 0..count(0.03, 3) {
        let not_after = NOW + (rng.below(800) as i64 - 100) * DAY;
        w.write(
            &format!("certificates/cert-{c:05}.yaml"),
            &format!(
                "common_name: svc-{c}.example.org\nissuer: Let's Encrypt\nnot_before: {}\nnot_after: {}\nhosts: [host-{:05}]\nrenewal_procedure: proc-{:04}\n",
                date(not_after - 90 * DAY),
                date(not_after),
                rng.below(hosts),
                rng.below(procedures)
            ),
        )?;
    }
    for d in 0..count(0.005, 2) {
        let expires = NOW + (rng.below(700) as i64 - 20) * DAY;
        w.write(
            &format!("domains/domain-{d:04}.yaml"),
            &format!("domain_name: example-{d}.org\nregistrar: Gandi\nexpires: {}\nlast_paid: {}\nby_whom_paid: finance\nauto_renew: {}\n", date(expires), date(expires - 360 * DAY), d % 3 != 0),
        )?;
    }
    let modules = count(0.02, 2);
    let mut releases_of: Vec<Vec<String>> = vec![Vec::new(); modules];
    for m in 0..modules {
        w.write(
            &format!("modules/mod-{m:04}.yaml"),
            &format!("name: Module {m}\nkind: {}\ndescription: {}\nowners: [alice]\ncurrent_version: \"{}.0\"\n", if m % 3 == 0 { "packaged" } else { "custom" }, sentence(&mut rng, 8), m % 7 + 1),
        )?;
    }
    for r in 0..count(0.06, 3) {
        let m = r % modules;
        let version = r / modules + 1;
        let id = format!("rel-{m:04}-{version}");
        let released = version < 3;
        let day = NOW - (rng.below(300) as i64) * DAY;
        let status = if released { "released" } else { "planned" };
        let planned = if released {
            date(day)
        } else {
            date(NOW + (rng.below(90) as i64 + 1) * DAY)
        };
        let actual = if released {
            format!("actual: {}\n", date(day + DAY))
        } else {
            String::new()
        };
        w.write(&format!("releases/{id}.yaml"), &format!("module: mod-{m:04}\nversion: \"{version}.0\"\nstatus: {status}\nplanned: {planned}\n{actual}"))?;
        if released {
            releases_of[m].push(id);
        }
    }
    let sites = count(0.002, 1);
    for s in 0..sites {
        let rolling = s % 2 == 0;
        w.write(
            &format!("sites/site-{s:03}.yaml"),
            &if rolling {
                format!("title: Site {s}\nupdate: rolling\ntier_order: [db, app, web]\n")
            } else {
                format!("title: Site {s}\nupdate: all-at-once\n")
            },
        )?;
    }
    for v in 0..count(0.02, 2) {
        let site = v % sites;
        let tier = ["db", "app", "web"][v % 3];
        w.write(
            &format!("services/svc-{v:04}.yaml"),
            &format!(
                "site: site-{site:03}\nhosts: [host-{:05}]\nstartup_rank: {}\ntier: {tier}\ncommands:\n  start: systemctl start svc-{v}\n  stop: systemctl stop svc-{v}\n  status: systemctl is-active svc-{v}\n",
                rng.below(hosts),
                (v % 3 + 1) * 10 + v % 10
            ),
        )?;
    }
    let tickets = count(0.4, 3);
    for t in 0..tickets {
        let m = rng.below(modules);
        let opened = NOW - (rng.below(360) as i64 + 1) * DAY + rng.below(80_000) as i64;
        let response = opened + rng.below(200_000) as i64;
        let status = [
            "open",
            "in_progress",
            "closed",
            "closed",
            "closed",
            "wontfix",
        ][rng.below(6)];
        let kind = if t % 3 == 0 { "feature" } else { "bug" };
        let mut front = format!(
            "title: {}\nkind: {kind}\nmodule: mod-{m:04}\npriority: {}\nstatus: {status}\nreporter: {}\nassignee: {}\nopened: {}\nfirst_response: {}\n",
            sentence(&mut rng, 6),
            ["low", "normal", "normal", "high", "critical"][rng.below(5)],
            rng.pick(&["alice", "bob", "carol", "dave"]),
            rng.pick(&["alice", "bob", "carol", "dave"]),
            time(opened),
            time(response)
        );
        if status == "closed" || status == "wontfix" {
            let _ = writeln!(
                front,
                "closed: {}",
                time(response + rng.below(2_000_000) as i64)
            );
            if status == "closed" && !releases_of[m].is_empty() {
                let release = &releases_of[m][rng.below(releases_of[m].len())];
                let _ = writeln!(front, "fixed_in: {release}");
            }
        }
        let text = format!("---\n{front}---\n{}", body(&mut rng, t));
        w.write(&format!("tickets/t-{t:06}.md"), &text)?;
    }
    let entries = count(0.4, 3);
    let mut ids: Vec<String> = Vec::with_capacity(entries);
    for e in 0..entries {
        // Strictly increasing times, so a reply (to one of the previous entries) is never
        // older than the entry it answers.
        let spacing = (DAY * 365 / entries as i64).max(2);
        let at = NOW - DAY * 365 + e as i64 * spacing + rng.below((spacing / 2) as usize) as i64;
        let id = format!("{}-e{e:06}", date(at));
        let reply = (e % 10 == 9).then(|| ids[e - 1 - rng.below(3.min(e))].clone());
        let (month_dir, procedure) = (
            format!("logbook/{}/{}", &date(at)[..4], &date(at)[5..7]),
            rng.below(procedures),
        );
        let front = match &reply {
            Some(parent) => format!(
                "at: {}\nby: alice\ndisposition: {}\nreply_to: {parent}\n",
                time(at),
                rng.pick(&["acknowledged", "info", "end"])
            ),
            None => format!(
                "at: {}\nby: backup-bot\nprocedure: proc-{procedure:04}\ndisposition: {}\n",
                time(at),
                rng.pick(&["ok", "ok", "ok", "problem", "info"])
            ),
        };
        w.write(
            &format!("{month_dir}/{id}.md"),
            &format!("---\n{front}---\n{}\n", sentence(&mut rng, 14)),
        )?;
        ids.push(id);
    }
    let features = count(0.2, 2);
    for f in 0..features {
        w.write(
            &format!("flags/features/feat-{f:05}.yaml"),
            &format!(
                "description: {}\nowner: alice\nfully_active: {}\ndefault: false\n",
                sentence(&mut rng, 5),
                f % 10 == 0
            ),
        )?;
    }
    let sets = count(0.02, 1);
    for s in 0..sets {
        let mut text = format!("description: Account set {s}\naccounts:\n");
        for a in 0..25 {
            let _ = writeln!(text, "  - acct-{:06}", s * 25 + a);
        }
        text.push_str("features:\n");
        for k in 0..5 {
            let _ = writeln!(text, "  feat-{:05}: true", (s * 5 + k) % features);
        }
        w.write(&format!("flags/account_sets/set-{s:04}.yaml"), &text)?;
    }
    let mut overrides = String::new();
    for o in 0..count(0.01, 1) {
        let _ = writeln!(
            overrides,
            "acct-{:06}:\n  feat-{:05}: {}",
            o * 7,
            o % features,
            o % 2 == 0
        );
    }
    w.write("flags/overrides.yaml", &overrides)?;
    for n in 0..count(0.005, 1) {
        let at = NOW - (n as i64) * 5 * DAY;
        w.write(
            &format!("news/news-{n:04}.md"),
            &format!(
                "---\ntitle: {}\ndate: {}\nauthor: alice\n---\n{}\n",
                sentence(&mut rng, 5),
                date(at),
                sentence(&mut rng, 30)
            ),
        )?;
    }
    println!("wrote {} files into {}", w.files, dir.display());
    if git {
        let commits = commit_history(&dir, root)?;
        println!("committed them as {commits} signed commits");
    }
    Ok(())
}

/// Commits the repository kind by kind and the logbook in chunks, every commit signed.
fn commit_history(dir: &Path, root: &Path) -> Result<usize, Error> {
    use git2::{IndexAddOption, Repository, Signature, Time};
    let repo = Repository::init(dir)?;
    repo.set_head("refs/heads/main")?;
    let key = ssh_key::PrivateKey::read_openssh_file(&root.join("tests/fixtures/keys/alice"))?;
    let mut index = repo.index()?;
    let mut parent: Option<git2::Oid> = None;
    let mut when = NOW - 400 * DAY;
    let mut commits = 0;
    let mut groups: Vec<Vec<String>> = [
        ".glassroom",
        "glassroom.yaml",
        "hosts",
        "certificates",
        "domains",
        "modules",
        "releases",
        "procedures",
        "sites",
        "services",
        "tickets",
        "flags",
        "news",
    ]
    .iter()
    .map(|g| vec![(*g).to_owned()])
    .collect();
    let mut months: Vec<PathBuf> = walkdir::WalkDir::new(dir.join("logbook"))
        .min_depth(2)
        .max_depth(2)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .collect();
    months.sort();
    for month in months {
        let mut files: Vec<String> = std::fs::read_dir(&month)?
            .filter_map(Result::ok)
            .map(|e| {
                e.path()
                    .strip_prefix(dir)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        files.sort();
        for chunk in files.chunks(40) {
            groups.push(chunk.to_vec());
        }
    }
    for group in groups {
        index.add_all(group.iter(), IndexAddOption::DEFAULT, None)?;
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        when += 3_600;
        let who = Signature::new("Alice", "alice@example.org", &Time::new(when, 0))?;
        let parents: Vec<git2::Commit<'_>> = parent
            .map(|p| repo.find_commit(p))
            .transpose()?
            .into_iter()
            .collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let buffer = repo.commit_create_buffer(
            &who,
            &who,
            &format!("Add {}", group[0]),
            &tree,
            &parent_refs,
        )?;
        let payload = buffer.as_str()?;
        let signature = key
            .sign("git", ssh_key::HashAlg::Sha512, payload.as_bytes())?
            .to_pem(ssh_key::LineEnding::LF)?;
        let id = repo.commit_signed(payload, &signature, Some("gpgsig"))?;
        repo.reference("refs/heads/main", id, true, "genrepo")?;
        if parent.is_none() {
            repo.config()?
                .set_str("glassroom.trustRoot", &id.to_string())?;
        }
        parent = Some(id);
        commits += 1;
    }
    Ok(commits)
}
