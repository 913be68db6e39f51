//! `glassroom sync --watch` ended in the middle of a slow `command` target the ways it
//! ends in production — SIGKILL (a crash, the OOM killer), SIGTERM (systemd), Ctrl-C — and
//! then started again. What must hold: one deploy of a target at a time, however the
//! watcher ended; a watcher asked to stop stops its command first and says so.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use glassroom::sync::targets::lock::group_alive;

use crate::support::{GitRepo, glassroom};
use crate::sync::{Watcher, example, lines, status, text, wait_until};

/// Deadline for anything that involves a build (slow on a loaded CI machine).
const LONG: Duration = Duration::from_secs(60);

/// A deploy script that takes as long as the test wants: it logs `start PID`; if the
/// file `hold` exists it removes it (so only this run waits) and waits until `release`
/// exists; then it logs `end PID`. On SIGTERM it logs `term PID` and exits 143. PID is
/// the shell's, which is also its process group (the sync starts it in its own).
struct Deploy {
    dir: tempfile::TempDir,
}

impl Deploy {
    fn new() -> Deploy {
        Deploy {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> PathBuf {
        self.path("deploys.log")
    }

    /// The example repository with a signed `deploy/slow.sh` as the `mirror` target.
    fn repo(&self, timeout: Option<&str>) -> GitRepo {
        let repo = example(&format!(
            "sync:\n  quiet: 1s\n  max_delay: 5s\n  targets:\n    - name: mirror\n      command: ./deploy/slow.sh\n{}",
            timeout.map_or(String::new(), |t| format!("      timeout: {t}\n"))
        ));
        repo.write(
            "deploy/slow.sh",
            &format!(
                r#"#!/bin/sh
log='{log}'
trap 'echo "term $$" >> "$log"; exit 143' TERM
echo "start $$" >> "$log"
if [ -f '{hold}' ]; then
  rm -f '{hold}'
  n=0
  # In the background and waited for, so that SIGTERM is handled at once.
  while [ ! -f '{release}' ] && [ "$n" -lt 600 ]; do sleep 0.1 & wait $!; n=$((n + 1)); done
fi
echo "end $$" >> "$log"
"#,
                log = self.log().display(),
                hold = self.path("hold").display(),
                release = self.path("release").display(),
            ),
        );
        repo.commit("A slow deploy", Some("alice"));
        repo
    }

    /// The next run waits until [`Deploy::release`].
    fn hold(&self) {
        std::fs::write(self.path("hold"), "").expect("hold");
    }

    fn release(&self) {
        std::fs::write(self.path("release"), "").expect("release");
    }

    /// `(event, pid)` per log line.
    fn events(&self) -> Vec<(String, i32)> {
        lines(&self.log())
            .iter()
            .filter_map(|line| {
                let (event, pid) = line.split_once(' ')?;
                Some((event.to_owned(), pid.parse().ok()?))
            })
            .collect()
    }

    fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|(e, _)| e == event).count()
    }

    /// Waits for the `n`th run to start (it must be held, so that it is still running);
    /// its process id and its process group (`sh -c` and what it started).
    fn started(&self, n: usize, context: impl Fn() -> String) -> (i32, u32) {
        wait_until(
            &format!("deploy {n} starts"),
            LONG,
            || self.count("start") >= n,
            context,
        );
        let pid = self
            .events()
            .iter()
            .filter(|(e, _)| e == "start")
            .nth(n - 1)
            .map(|(_, pid)| *pid)
            .expect("a start");
        let group = rustix::process::getpgid(Pid::from_raw(pid)).expect("the held deploy runs");
        (pid, group.as_raw_nonzero().get() as u32)
    }

    /// No run started while another was between its start and its end.
    fn assert_one_at_a_time(&self) {
        let log = text(&self.log());
        let mut running: Option<i32> = None;
        for (event, pid) in self.events() {
            match event.as_str() {
                "start" => {
                    assert_eq!(
                        running, None,
                        "deploy {pid} started while deploy {running:?} was running:\n{log}"
                    );
                    running = Some(pid);
                }
                _ => {
                    assert_eq!(running, Some(pid), "{log}");
                    running = None;
                }
            }
        }
        assert_eq!(running, None, "a deploy never ended:\n{log}");
    }
}

impl Drop for Deploy {
    /// Whatever a failed test left running ends now (it would end after a minute).
    fn drop(&mut self) {
        self.release();
    }
}

/// A watcher in its own process group, as a shell runs a foreground job: Ctrl-C in a
/// terminal is SIGINT to that group.
fn start_in_own_group(repo: &GitRepo, extra: &[&str], output: PathBuf) -> Watcher {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(&output).expect("output file");
    let child = glassroom()
        .args(["sync", "--watch", repo.path_str()])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .process_group(0)
        .spawn()
        .expect("glassroom sync --watch starts");
    Watcher { child, output }
}

/// SIGKILL, once the watcher has noted which process group runs the deploy (it does so
/// right after starting it: a kill in between leaves a deploy no record names, which a
/// restarted watcher waits for until its timeout and then reports, without stopping it).
fn sigkill_once_recorded(watcher: &mut Watcher, repo: &GitRepo) {
    let record = repo.path().join(".git/glassroom/push-mirror.json");
    wait_until(
        "the deploy's process group is recorded",
        LONG,
        || record.exists(),
        || watcher.output(),
    );
    watcher.kill();
}

fn wait_for_exit(child: &mut Child, output: &Path) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            started.elapsed() < LONG,
            "glassroom did not exit:\n{}",
            text(output)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A watcher SIGKILLed during a deploy leaves the deploy running (nothing can stop it);
/// the restarted watcher waits for it instead of deploying beside it.
#[test]
fn a_watcher_killed_during_a_deploy_is_restarted_without_a_second_deploy_beside_it() {
    let deploy = Deploy::new();
    let repo = deploy.repo(None);
    let out = tempfile::tempdir().expect("temp dir");
    deploy.hold();
    let mut first = Watcher::start(&repo, &[], out.path().join("watch-1.out"));
    let (_, orphan) = deploy.started(1, || first.output());
    sigkill_once_recorded(&mut first, &repo);
    assert!(
        group_alive(orphan),
        "the deploy outlives the watcher that started it"
    );
    // --status tells it, though no watcher runs.
    let report = status(&repo);
    assert_eq!(report["watcher"]["running"], false, "{report:#}");
    assert_eq!(
        report["targets"][0]["push_running"]["process_group"], orphan,
        "{report:#}"
    );
    let shown = repo
        .glassroom(&["sync", "--status", repo.path_str()])
        .stdout;
    assert!(
        shown.contains(&format!(
            "a push left by a sync that stopped is still running (process group {orphan}"
        )),
        "{shown}"
    );

    let mut second = Watcher::start(&repo, &[], out.path().join("watch-2.out"));
    let context = || format!("{}\ndeploys:\n{}", second.output(), text(&deploy.log()));
    wait_until(
        "the restarted watcher waits for the running deploy",
        LONG,
        || {
            assert_eq!(
                deploy.count("start"),
                1,
                "a second deploy started beside the first\n{}",
                context()
            );
            second
                .output()
                .contains("waiting for the previous push of target mirror to finish")
        },
        context,
    );
    assert!(
        second.output().contains(&format!("process group {orphan}")),
        "{}",
        context()
    );
    assert_eq!(deploy.count("start"), 1, "{}", context());

    deploy.release();
    wait_until(
        "the restarted watcher deploys once the first deploy is over",
        LONG,
        || deploy.count("end") == 2,
        context,
    );
    deploy.assert_one_at_a_time();
    assert!(
        second
            .output()
            .contains("the previous push of mirror is over"),
        "{}",
        context()
    );
    wait_until(
        "the status shows it published",
        LONG,
        || status(&repo)["targets"][0]["up_to_date"] == true,
        context,
    );
    assert!(status(&repo)["targets"][0]["push_running"].is_null());

    // Stopped while idle, the watcher ends cleanly.
    let pid = Pid::from_raw(second.child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, Signal::TERM).expect("signal the watcher");
    let exit = wait_for_exit(&mut second.child, &second.output);
    let said = second.output();
    assert_eq!(exit.code(), Some(0), "{said}");
    assert!(said.contains("sync: stopped (SIGTERM)"), "{said}");
}

/// SIGTERM (systemd's stop) or Ctrl-C during a deploy: the deploy gets SIGTERM and ends,
/// the watcher says so, records the attempt as interrupted (in its state, not as a
/// problem in the logbook) and exits 2; restarted, it deploys again, after the first
/// deploy ended.
fn stopped_during_a_deploy(signal: Signal, name: &str, whole_group: bool) {
    let deploy = Deploy::new();
    let repo = deploy.repo(None);
    let key = repo.key("sync-bot");
    let robot = [
        "--robot",
        "sync-bot",
        "--signing-key",
        key.to_str().expect("utf-8"),
    ];
    let out = tempfile::tempdir().expect("temp dir");
    deploy.hold();
    let output = out.path().join("watch-1.out");
    let mut first = if whole_group {
        start_in_own_group(&repo, &robot, output)
    } else {
        Watcher::start(&repo, &robot, output)
    };
    let (running, group) = deploy.started(1, || first.output());
    let pid = Pid::from_raw(first.child.id() as i32).expect("pid");
    if whole_group {
        rustix::process::kill_process_group(pid, signal).expect("signal the watcher's group");
    } else {
        rustix::process::kill_process(pid, signal).expect("signal the watcher");
    }
    let exit = wait_for_exit(&mut first.child, &first.output);
    let said = first.output();
    assert_eq!(exit.code(), Some(2), "{said}");
    assert_eq!(
        lines(&deploy.log()),
        vec![format!("start {running}"), format!("term {running}")],
        "the deploy got SIGTERM and nothing else ran\n{said}"
    );
    assert!(!group_alive(group), "the deploy's processes are gone");
    for line in [
        format!("sync: {name}: stopping the running push first"),
        format!("sync: mirror: {name}: stopping the command (process group {group}): SIGTERM now"),
        "sync: mirror: the command stopped".to_owned(),
        "sync: the push of".to_owned(),
        format!("was interrupted ({name})"),
        format!("sync: stopped ({name})"),
        format!("stopped ({name}) in the middle of a push"),
    ] {
        assert!(said.contains(&line), "{line}\n{said}");
    }
    let report = status(&repo);
    assert_eq!(report["watcher"]["running"], false, "{report:#}");
    assert_eq!(
        report["last_attempt"]["outcome"], "interrupted",
        "{report:#}"
    );
    assert!(!report["pending"].is_null(), "{report:#}");
    assert_eq!(report["targets"][0]["failures"], 0, "{report:#}");

    let robot_commits = || repo.git(&["log", "--format=%s", "--author=sync-bot"]);
    assert_eq!(robot_commits(), "", "nothing recorded in the logbook");

    let second = Watcher::start(&repo, &robot, out.path().join("watch-2.out"));
    let context = || format!("{}\ndeploys:\n{}", second.output(), text(&deploy.log()));
    wait_until(
        "the restarted watcher deploys",
        LONG,
        || deploy.count("end") == 1,
        context,
    );
    deploy.assert_one_at_a_time();
    wait_until(
        "the status shows it published",
        LONG,
        || status(&repo)["targets"][0]["up_to_date"] == true,
        context,
    );
    wait_until(
        "the publication is recorded",
        LONG,
        || !robot_commits().is_empty(),
        context,
    );
    assert_eq!(robot_commits().lines().count(), 1, "{}", context());
    let entry = repo.git(&["show", "--format=", "HEAD"]);
    assert!(entry.contains("disposition: ok"), "{entry}");
}

#[test]
fn sigterm_during_a_deploy_stops_it_cleanly_and_a_restart_deploys_again() {
    stopped_during_a_deploy(Signal::TERM, "SIGTERM", false);
}

#[test]
fn ctrl_c_during_a_deploy_stops_it_cleanly_and_a_restart_deploys_again() {
    stopped_during_a_deploy(Signal::INT, "SIGINT (Ctrl-C)", true);
}

/// An orphaned deploy that hangs is stopped at its timeout by the restarted watcher, as
/// the watcher that started it would have, and only then does the next deploy run.
#[test]
fn a_restarted_watcher_stops_an_orphaned_deploy_at_its_timeout() {
    let deploy = Deploy::new();
    let repo = deploy.repo(Some("3s"));
    let out = tempfile::tempdir().expect("temp dir");
    deploy.hold();
    let mut first = Watcher::start(&repo, &[], out.path().join("watch-1.out"));
    let (orphan, group) = deploy.started(1, || first.output());
    sigkill_once_recorded(&mut first, &repo);

    let second = Watcher::start(&repo, &[], out.path().join("watch-2.out"));
    let context = || format!("{}\ndeploys:\n{}", second.output(), text(&deploy.log()));
    wait_until(
        "the restarted watcher deploys after stopping the orphan",
        LONG,
        || deploy.count("end") == 1,
        context,
    );
    assert_eq!(
        deploy.events()[1],
        ("term".to_owned(), orphan),
        "{}",
        context()
    );
    deploy.assert_one_at_a_time();
    assert!(
        second.output().contains(&format!(
            "the previous push (process group {group}) ran past its timeout of 3s: sending it SIGTERM"
        )),
        "{}",
        context()
    );
}

/// The same for a one-off `sync --now` (no watcher running): SIGTERM stops its deploy.
#[test]
fn sigterm_during_a_one_off_sync_stops_its_deploy() {
    let deploy = Deploy::new();
    let repo = deploy.repo(None);
    let out = tempfile::tempdir().expect("temp dir");
    deploy.hold();
    let output = out.path().join("now.out");
    let file = std::fs::File::create(&output).expect("output file");
    let mut child = glassroom()
        .args(["sync", "--now", repo.path_str()])
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("sync --now");
    let (running, group) = deploy.started(1, || text(&output));
    let pid = Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, Signal::TERM).expect("signal sync --now");
    let exit = wait_for_exit(&mut child, &output);
    let said = text(&output);
    assert_eq!(exit.code(), Some(2), "{said}");
    assert_eq!(
        lines(&deploy.log()),
        vec![format!("start {running}"), format!("term {running}")],
        "{said}"
    );
    assert!(!group_alive(group), "the deploy's processes are gone");
    assert!(
        said.contains("stopped (SIGTERM) in the middle of the push"),
        "{said}"
    );
    assert_eq!(status(&repo)["last_attempt"]["outcome"], "interrupted");
}
