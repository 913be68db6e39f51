//! `glassroom run` against a real OpenSSH server: each test starts its own `sshd` on
//! 127.0.0.1 (a free port, a host key, `authorized_keys` and a config in a temporary
//! directory; no system service) and a client `ssh_config` in which the "hosts" h1, h2
//! and h3 are aliases of it, each sending its name in `GLASSROOM_TEST_HOST`. The
//! services' commands append `host service action` lines to a file, so the order the
//! commands ran in is read back from it.
//!
//! Without /usr/sbin/sshd the tests that need it are skipped with a message, unless
//! `GLASSROOM_REQUIRE_SSHD=1` (as in CI), where they fail telling to install
//! openssh-server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{GitRepo, Run};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd and the client configuration that reaches it; killed when dropped.
struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The lines the commands wrote, in order.
    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Makes the command of `service` `action` behave: `fail`, `slow` or `hang`.
    fn make(&self, how: &str, service: &str, action: &str) {
        std::fs::write(
            self.dir.path().join(format!("{how}-{service}-{action}")),
            "",
        )
        .expect("marker");
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Starts an sshd, or says why not (`None`: skip the test).
fn sshd() -> Option<Sshd> {
    if !Path::new(SSHD).exists() {
        let message = format!(
            "{SSHD} is missing: install Debian's openssh-server (apt-get install openssh-server) to run the `glassroom run` tests"
        );
        if std::env::var("GLASSROOM_REQUIRE_SSHD").as_deref() == Ok("1") {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    keygen(&d.join("host_key"));
    keygen(&d.join("user_key"));
    std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
    // sshd insists on its privilege separation directory, even unprivileged.
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = free_port();
    std::fs::write(
        d.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nUsePAM no\nStrictModes no\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAcceptEnv GLASSROOM_TEST_HOST\nMaxStartups 100\nMaxSessions 100\n",
            d = d.display()
        ),
    )
    .expect("sshd_config");
    let host_key = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
    std::fs::write(
        d.join("known_hosts"),
        format!("[127.0.0.1]:{port} {host_key}"),
    )
    .expect("known_hosts");
    let mut client = String::new();
    for host in ["h1", "h2", "h3"] {
        client.push_str(&format!(
            "Host {host}\n  SetEnv GLASSROOM_TEST_HOST={host}\n"
        ));
    }
    client.push_str(&format!(
        "Host *\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/user_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n",
        user = current_user(),
        d = d.display()
    ));
    std::fs::write(d.join("ssh_config"), client).expect("ssh_config");
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("sshd.log")).expect("sshd.log"))
        .spawn()
        .expect("sshd starts");
    let sshd = Sshd { dir, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not listen: {}",
            std::fs::read_to_string(sshd.dir.path().join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(sshd)
}

/// The command of `service` `action`: a line in the log, then whatever a marker asks.
fn command(dir: &Path, service: &str, action: &str) -> String {
    let d = dir.display();
    let me = format!("\"$GLASSROOM_TEST_HOST {service} {action}");
    format!(
        "echo {me}\" >> {d}/log; if [ -e {d}/fail-{service}-{action} ]; then exit 7; fi; if [ -e {d}/slow-{service}-{action} ]; then sleep 1; echo {me} end\" >> {d}/log; fi; if [ -e {d}/hang-{service}-{action} ]; then sleep 60; fi"
    )
}

const POLICY: &str = "users:\n  alice: { keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOFU1uTYPPpIYCTKXafYhgYtgOa//eJK/3HXeuYw6Qos alice@example.org\"] }\ngrants:\n  /: { alice: admin }\npre_approved: [\"logbook/**\"]\nappend_only: [\"logbook/**\"]\n";

/// A repository with site `lab` (rolling: data, app, web): db (rank 10, h1), api (20,
/// h1 h2), web (30, h2 h3); signed by alice and pinned as the trust root. `dir` is
/// where the commands write (the sshd's directory).
fn lab(dir: &Path) -> GitRepo {
    let empty = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(empty.path());
    repo.write(
        "glassroom.yaml",
        "title: Lab\nbase_url: https://ops.example.org/\n",
    );
    repo.write(".glassroom/policy.yaml", POLICY);
    repo.write(
        "sites/lab.yaml",
        "title: Lab\nrunnable: true\nupdate: rolling\ntier_order: [data, app, web]\n",
    );
    for host in ["h1", "h2", "h3"] {
        repo.write(&format!("hosts/{host}.yaml"), &format!("ssh: {host}\n"));
    }
    for (service, rank, tier, hosts) in [
        ("db", 10, "data", "[h1]"),
        ("api", 20, "app", "[h1, h2]"),
        ("web", 30, "web", "[h2, h3]"),
    ] {
        let mut text =
            format!("site: lab\nhosts: {hosts}\nstartup_rank: {rank}\ntier: {tier}\ncommands:\n");
        for action in ["stop", "start", "status", "install", "configure"] {
            let command = command(dir, service, action).replace('\'', "''");
            text.push_str(&format!("  {action}: '{command}'\n"));
        }
        repo.write(&format!("services/{service}.yaml"), &text);
    }
    repo.set_date(crate::sync::clock() - 3600);
    let first = repo.commit("Lab", Some("alice"));
    repo.git(&["config", "glassroom.trustRoot", &first]);
    repo
}

fn run_lab(repo: &GitRepo, sshd: &Sshd, operation: &str, extra: &[&str]) -> Run {
    let config = sshd.config();
    let alice = repo.key("alice");
    let mut args = vec![
        "run",
        "lab",
        operation,
        "--repo",
        repo.path_str(),
        "--ssh-config",
        config.to_str().expect("utf-8"),
        "--by",
        "alice",
        "--signing-key",
        alice.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    repo.glassroom(&args)
}

fn strs(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

/// The logbook files added since `before` (a commit).
fn new_entries(repo: &GitRepo, before: &str) -> Vec<String> {
    let out = repo.git(&["diff", "--name-only", before, "HEAD", "--", "logbook"]);
    out.lines().map(str::to_owned).collect()
}

#[test]
fn run_stop_goes_down_the_ranks_and_start_up_and_each_run_is_logged_signed() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    let before = repo.git(&["rev-parse", "HEAD"]);
    let out = run_lab(&repo, &sshd, "stop", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        sshd.lines(),
        strs(&[
            "h2 web stop",
            "h3 web stop",
            "h1 api stop",
            "h2 api stop",
            "h1 db stop"
        ])
    );
    // Live output, prefixed; then the summary table and where it was logged.
    assert!(
        out.stdout.contains("h2 web | step 1: stop on h2: echo"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("step  service  action  host  exit status  duration")
    );
    assert!(
        out.stdout.contains("5 succeeded (5 jobs)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(", signed)"), "{}", out.stdout);

    let entries = new_entries(&repo, &before);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let text = std::fs::read_to_string(repo.path().join(&entries[0])).expect("entry");
    assert!(text.contains("by: alice\n"), "{text}");
    assert!(text.contains("about: site/lab\n"), "{text}");
    assert!(text.contains("disposition: info\n"), "{text}");
    assert!(
        text.contains("`glassroom run lab stop` by alice: 5 succeeded (5 jobs)."),
        "{text}"
    );
    assert!(text.contains("| 3 | db | stop | h1 | 0 |"), "{text}");
    // Verifiable: the commit carries alice's signature, and the entry is published.
    let audit = repo.glassroom(&["audit", &entries[0], "--repo", repo.path_str()]);
    assert_eq!(audit.code, Some(0), "{}", audit.stderr);
    assert!(audit.stdout.contains("alice"), "{}", audit.stdout);
    let check = repo.glassroom(&["check", repo.path_str(), "--strict"]);
    assert_eq!(check.code, Some(0), "{}{}", check.stdout, check.stderr);
    // Published in the site's thread after the next build.
    let out = tempfile::tempdir().expect("temp dir");
    let build = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    let pages: Vec<PathBuf> = walkdir::WalkDir::new(out.path())
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("glassroom run lab stop")))
        .collect();
    assert!(
        pages.iter().any(|p| p.ends_with("sites/lab.html")),
        "the entry is not on the site's page: {pages:?}"
    );

    let out = run_lab(&repo, &sshd, "start", &["--parallel", "3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = sshd.lines();
    let start: Vec<&str> = lines[5..].iter().map(String::as_str).collect();
    // Within a wave the hosts may finish in any order; the waves may not mix.
    let services: Vec<&str> = start
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(services, ["db", "api", "api", "web", "web"], "{start:?}");
}

#[test]
fn run_rolling_update_goes_tier_by_tier_stop_install_configure_start() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    let out = run_lab(&repo, &sshd, "update", &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut expected = Vec::new();
    for (service, hosts) in [
        ("db", &["h1"][..]),
        ("api", &["h1", "h2"]),
        ("web", &["h2", "h3"]),
    ] {
        for action in ["stop", "install", "configure", "start"] {
            for host in hosts {
                expected.push(format!("{host} {service} {action}"));
            }
        }
    }
    assert_eq!(sshd.lines(), expected);
}

#[test]
fn run_dry_run_prints_the_ssh_lines_in_plan_order_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = lab(dir.path());
    let before = repo.git(&["rev-parse", "HEAD"]);
    let schema: serde_json::Value = serde_json::from_str(&crate::support::read(
        &crate::support::root().join("docs/run.schema.json"),
    ))
    .expect("the schema is JSON");
    for operation in ["stop", "start", "status", "update"] {
        let run = repo.glassroom(&[
            "run",
            "lab",
            operation,
            "--repo",
            repo.path_str(),
            "--dry-run",
            "--format",
            "json",
            "--ssh-config",
            "/etc/ops/ssh_config",
        ]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let schedule: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        let plan = repo.glassroom(&[
            "plan",
            "lab",
            operation,
            "--repo",
            repo.path_str(),
            "--format",
            "json",
        ]);
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
        let from_plan: Vec<(u64, String)> = plan["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .flat_map(|s| {
                let number = s["number"].as_u64().unwrap_or(0);
                s["hosts"]
                    .as_array()
                    .expect("hosts")
                    .iter()
                    .map(move |h| (number, h.as_str().unwrap_or("").to_owned()))
            })
            .collect();
        let from_run: Vec<(u64, String)> = schedule["waves"]
            .as_array()
            .expect("waves")
            .iter()
            .flat_map(|w| w["jobs"].as_array().expect("jobs").iter())
            .map(|j| {
                (
                    j["step"].as_u64().unwrap_or(0),
                    j["host"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(from_run, from_plan, "{operation}");
        assert!(!from_run.is_empty());
        // The documented shape (docs/run.schema.json).
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(schedule["schema"], schema["properties"]["schema"]["const"]);
        assert_eq!(keys(&schedule), keys(&schema["properties"]));
        for wave in schedule["waves"].as_array().expect("waves") {
            assert_eq!(keys(wave), keys(&schema["$defs"]["wave"]["properties"]));
            for job in wave["jobs"].as_array().expect("jobs") {
                assert_eq!(keys(job), keys(&schema["$defs"]["job"]["properties"]));
            }
        }
        let argv = &schedule["waves"][0]["jobs"][0]["argv"];
        assert_eq!(argv[0], "ssh");
        assert_eq!(argv[1], "-F");
        assert_eq!(argv[2], "/etc/ops/ssh_config");
    }
    let text = repo.glassroom(&["run", "lab", "stop", "--repo", repo.path_str(), "--dry-run"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines[0], "# wave 1: stop, startup rank 30");
    assert!(
        lines[1].starts_with("ssh -o BatchMode=yes -T -- h2 'echo "),
        "{}",
        lines[1]
    );
    assert!(!dir.path().join("log").exists(), "a dry run ran something");
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        before,
        "a dry run committed"
    );
}

#[test]
fn run_a_failure_stops_later_waves_unless_keep_going() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    sshd.make("fail", "api", "stop");
    let before = repo.git(&["rev-parse", "HEAD"]);
    let out = run_lab(&repo, &sshd, "stop", &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    // Both hosts of api are one wave: h1 fails first, h2 is not started.
    assert_eq!(
        sshd.lines(),
        strs(&["h2 web stop", "h3 web stop", "h1 api stop"])
    );
    assert!(out.stdout.contains("exit 7"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("2 succeeded, 1 failed, 2 not run (5 jobs)"),
        "{}",
        out.stdout
    );
    let entries = new_entries(&repo, &before);
    let text = std::fs::read_to_string(repo.path().join(&entries[0])).expect("entry");
    assert!(text.contains("disposition: problem\n"), "{text}");
    assert!(text.contains("| not run |"), "{text}");

    let out = run_lab(&repo, &sshd, "stop", &["--keep-going", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(report["verdict"], "failed");
    let statuses: Vec<&str> = report["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "succeeded", "failed", "failed", "succeeded"]
    );
    assert!(
        sshd.lines()
            .ends_with(&strs(&["h1 api stop", "h2 api stop", "h1 db stop"]))
    );
}

#[test]
fn run_hosts_of_one_wave_run_at_once_with_parallel() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    sshd.make("slow", "web", "status");
    let out = run_lab(
        &repo,
        &sshd,
        "status",
        &["--only", "web", "--parallel", "2"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = sshd.lines();
    // Both started before either ended.
    let first_end = lines
        .iter()
        .position(|l| l.ends_with(" end"))
        .expect("an end");
    assert_eq!(first_end, 2, "{lines:?}");
    sshd.make("slow", "api", "status");
    let out = run_lab(&repo, &sshd, "status", &["--only", "api"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = sshd.lines();
    assert_eq!(
        lines[4..],
        strs(&[
            "h1 api status",
            "h1 api status end",
            "h2 api status",
            "h2 api status end"
        ])
    );
}

#[test]
fn run_a_step_over_its_timeout_is_killed_and_fails() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    sshd.make("hang", "db", "start");
    let started = Instant::now();
    let out = run_lab(&repo, &sshd, "start", &["--step-timeout", "2s"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(out.stdout.contains("timed out"), "{}", out.stdout);
    assert_eq!(sshd.lines(), strs(&["h1 db start"]));
}

#[test]
fn run_refuses_before_running_anything() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    let before = repo.git(&["rev-parse", "HEAD"]);
    let config = sshd.config();
    let config = config.to_str().expect("utf-8");
    // Not a user of the policy.
    let out = repo.glassroom(&[
        "run",
        "lab",
        "stop",
        "--repo",
        repo.path_str(),
        "--ssh-config",
        config,
        "--by",
        "mallory",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--by"), "{}", out.stderr);
    // No --by at all.
    let out = repo.glassroom(&["run", "lab", "stop", "--repo", repo.path_str()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    // An unknown service, an unknown site.
    let out = repo.glassroom(&[
        "run",
        "lab",
        "stop",
        "--repo",
        repo.path_str(),
        "--by",
        "alice",
        "--only",
        "dbb",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--only dbb"), "{}", out.stderr);
    let out = repo.glassroom(&[
        "run",
        "lba",
        "stop",
        "--repo",
        repo.path_str(),
        "--by",
        "alice",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    // A change not signed yet is not run: the approved (empty) command is not there.
    repo.write(
        "sites/lab.yaml",
        "title: Lab\nupdate: rolling\ntier_order: [data, app, web]\n",
    );
    // Dated after the run's logbook commit (dated by the clock).
    repo.set_date(crate::sync::clock() + 60);
    repo.commit("Not runnable any more (unsigned)", None);
    let out = run_lab(&repo, &sshd, "stop", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "the approved site is still runnable: {}",
        out.stderr
    );
    repo.write(
        "sites/lab.yaml",
        "title: Lab (paused)\nupdate: rolling\ntier_order: [data, app, web]\n",
    );
    repo.commit("Signed", Some("alice"));
    let before_signed = repo.git(&["rev-parse", "HEAD"]);
    let out = run_lab(&repo, &sshd, "stop", &[]);
    assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("not runnable"), "{}", out.stderr);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), before_signed);
    assert_eq!(sshd.lines().len(), 5, "only the approved run ran");
    assert_ne!(before, before_signed);
}

#[test]
fn run_ctrl_c_stops_cleanly_and_logs_the_partial_run() {
    let Some(sshd) = sshd() else { return };
    let repo = lab(sshd.dir.path());
    sshd.make("hang", "web", "stop");
    let before = repo.git(&["rev-parse", "HEAD"]);
    let config = sshd.config();
    let alice = repo.key("alice");
    let child = crate::support::glassroom()
        .args([
            "run",
            "lab",
            "stop",
            "--repo",
            repo.path_str(),
            "--ssh-config",
        ])
        .arg(&config)
        .args(["--by", "alice", "--signing-key"])
        .arg(&alice)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("glassroom runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while sshd.lines().is_empty() {
        assert!(Instant::now() < deadline, "the run did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out: Run = child.wait_with_output().expect("glassroom ends").into();
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("stopped by SIGINT"), "{}", out.stdout);
    // Nothing after the stop: web's first host hung, so no other wave started.
    assert!(
        sshd.lines().iter().all(|l| l.contains(" web ")),
        "{:?}",
        sshd.lines()
    );
    let entries = new_entries(&repo, &before);
    assert_eq!(entries.len(), 1);
    let text = std::fs::read_to_string(repo.path().join(&entries[0])).expect("entry");
    assert!(text.contains("Stopped by SIGINT (Ctrl-C)."), "{text}");
    assert!(text.contains("disposition: problem"), "{text}");
}
