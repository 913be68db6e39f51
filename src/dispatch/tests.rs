//! Tests of the schedule, the ssh command lines, the summary and the logbook note; and
//! of running jobs, with local `sh` commands in place of `ssh`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::exec::{Io, Options, execute};
use super::*;
use crate::content::Disposition;
use crate::derive::fixture::content;
use crate::derive::plans::plan;
use crate::sync::stop::Stop;

/// Site `s` (runnable unless told) with services (id, rank, hosts) and hosts h1..h3.
fn site(runnable: bool, services: &[(&str, i64, &[&str])]) -> Content {
    let mut files: Vec<(String, String)> = vec![
        (
            "sites/s.yaml".into(),
            format!("title: S\nupdate: all-at-once\nrunnable: {runnable}\n"),
        ),
        (
            "hosts/h1.yaml".into(),
            "ssh: deploy@h1.example.org:2222\n".into(),
        ),
        ("hosts/h2.yaml".into(), "ssh: \"[2001:db8::2]\"\n".into()),
        ("hosts/h3.yaml".into(), "name: h3.example.org\n".into()),
    ];
    for (id, rank, hosts) in services {
        files.push((
            format!("services/{id}.yaml"),
            format!(
                "site: s\nhosts: [{}]\nstartup_rank: {rank}\ncommands:\n  start: start {id}\n  stop: stop {id}\n  status: status {id}\n  install: install {id}\n  configure: configure {id}\n",
                hosts.join(", ")
            ),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    content(&refs)
}

fn shop() -> Content {
    site(
        true,
        &[
            ("db", 10, &["h1"]),
            ("api", 20, &["h1", "h2"]),
            ("worker", 20, &["h3"]),
            ("web", 30, &["h2", "h3"]),
        ],
    )
}

fn waves(content: &Content, op: Operation, only: &[&str]) -> Vec<Vec<(String, String)>> {
    let plan = plan(content, "s", op).unwrap();
    let only: Vec<String> = only.iter().map(|s| (*s).to_owned()).collect();
    schedule(&plan, content, &only, &Ssh::default())
        .unwrap()
        .waves
        .into_iter()
        .map(|w| w.jobs.into_iter().map(|j| (j.service, j.host)).collect())
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect()
}

#[test]
fn stop_waves_go_down_the_ranks_and_group_equal_ranks() {
    assert_eq!(
        waves(&shop(), Operation::Stop, &[]),
        vec![
            pairs(&[("web", "h2"), ("web", "h3")]),
            pairs(&[("worker", "h3"), ("api", "h1"), ("api", "h2")]),
            pairs(&[("db", "h1")]),
        ]
    );
}

#[test]
fn start_waves_go_up_the_ranks() {
    assert_eq!(
        waves(&shop(), Operation::Start, &[]),
        vec![
            pairs(&[("db", "h1")]),
            pairs(&[("api", "h1"), ("api", "h2"), ("worker", "h3")]),
            pairs(&[("web", "h2"), ("web", "h3")]),
        ]
    );
}

#[test]
fn the_jobs_follow_the_plan_step_by_step() {
    for op in Operation::ALL {
        let content = shop();
        let plan = plan(&content, "s", op).unwrap();
        let schedule = schedule(&plan, &content, &[], &Ssh::default()).unwrap();
        let from_plan: Vec<(usize, String)> = plan
            .steps
            .iter()
            .flat_map(|s| s.hosts.iter().map(|h| (s.number, h.clone())))
            .collect();
        let from_schedule: Vec<(usize, String)> = schedule
            .waves
            .iter()
            .flat_map(|w| w.jobs.iter().map(|j| (j.step, j.host.clone())))
            .collect();
        assert_eq!(from_plan, from_schedule, "{op}");
    }
}

#[test]
fn an_update_is_stop_install_configure_start() {
    let actions: Vec<Action> = {
        let content = shop();
        let plan = plan(&content, "s", Operation::Update).unwrap();
        let schedule = schedule(&plan, &content, &[], &Ssh::default()).unwrap();
        schedule.waves.iter().map(|w| w.action).collect()
    };
    use Action::*;
    assert_eq!(
        actions,
        [
            Stop, Stop, Stop, Install, Install, Install, Configure, Configure, Configure, Start,
            Start, Start
        ]
    );
}

#[test]
fn only_keeps_the_named_services_in_plan_order() {
    assert_eq!(
        waves(&shop(), Operation::Stop, &["db", "web"]),
        vec![
            pairs(&[("web", "h2"), ("web", "h3")]),
            pairs(&[("db", "h1")])
        ]
    );
}

#[test]
fn what_cannot_run_is_said_all_at_once() {
    let content = site(false, &[("db", 10, &["h1"])]);
    let plan = plan(&content, "s", Operation::Stop).unwrap();
    let only = vec!["dbb".to_owned()];
    let problems = schedule(&plan, &content, &only, &Ssh::default()).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(text[0].starts_with("site `s` is not runnable: add `runnable: true`"));
    assert_eq!(
        text[1],
        "--only dbb: the site has no such service (services: db)"
    );
}

#[test]
fn a_missing_command_is_refused_not_skipped() {
    let mut content = shop();
    for service in &mut content.services {
        if service.id == "api" {
            service.data.commands.stop = None;
        }
    }
    let plan = plan(&content, "s", Operation::Stop).unwrap();
    let problems = schedule(&plan, &content, &[], &Ssh::default()).unwrap_err();
    assert_eq!(
        problems,
        vec![Unrunnable::MissingCommand {
            step: 3,
            service: "api".into(),
            action: Action::Stop
        }]
    );
}

#[test]
fn ssh_command_lines_carry_port_user_and_one_command_argument() {
    let content = shop();
    let plan = plan(&content, "s", Operation::Start).unwrap();
    let config = Path::new("/etc/ops/ssh config");
    let ssh = Ssh {
        config: Some(config),
    };
    let schedule = schedule(&plan, &content, &["api".into(), "worker".into()], &ssh).unwrap();
    let lines: Vec<String> = schedule.waves[0]
        .jobs
        .iter()
        .map(|j| shell_line(&j.argv))
        .collect();
    assert_eq!(
        lines,
        [
            "ssh -F '/etc/ops/ssh config' -o BatchMode=yes -T -p 2222 -l deploy -- h1.example.org 'start api'",
            "ssh -F '/etc/ops/ssh config' -o BatchMode=yes -T -- 2001:db8::2 'start api'",
            "ssh -F '/etc/ops/ssh config' -o BatchMode=yes -T -- h3.example.org 'start worker'",
        ]
    );
    let job = &schedule.waves[0].jobs[0];
    assert_eq!(job.argv.last().map(String::as_str), Some("start api"));
    assert_eq!(job.destination, "deploy@h1.example.org:2222");
}

#[test]
fn shell_lines_quote_what_the_shell_would_split_or_expand() {
    let argv: Vec<String> = ["ssh", "--", "h", "echo 'a' $HOME; rm -rf /", ""]
        .map(String::from)
        .to_vec();
    assert_eq!(
        shell_line(&argv),
        r#"ssh -- h 'echo '\''a'\'' $HOME; rm -rf /' ''"#
    );
}

#[test]
fn a_host_without_ssh_uses_its_name_then_its_id() {
    let content = content(&[
        (
            "sites/s.yaml",
            "title: S\nupdate: all-at-once\nrunnable: true\n",
        ),
        ("hosts/plain.yaml", "{}\n"),
        (
            "services/x.yaml",
            "site: s\nhosts: [plain]\nstartup_rank: 1\ncommands: {start: a, stop: b, status: c, install: d, configure: e}\n",
        ),
    ]);
    let plan = plan(&content, "s", Operation::Start).unwrap();
    let schedule = schedule(&plan, &content, &[], &Ssh::default()).unwrap();
    assert_eq!(schedule.waves[0].jobs[0].destination, "plain");
}

#[test]
fn a_host_name_that_cannot_be_a_destination_is_refused() {
    let mut content = shop();
    for host in &mut content.hosts {
        if host.id == "h3" {
            host.data.name = Some("-oProxyCommand=sh".into());
        }
    }
    let plan = plan(&content, "s", Operation::Stop).unwrap();
    let problems = schedule(&plan, &content, &[], &Ssh::default()).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .to_string()
            .starts_with("host `h3`: the host `-oProxyCommand=sh` starts with `-`"),
        "{}",
        problems[0]
    );
}

fn ran(step: usize, host: &str, ended: Ended, millis: u64) -> Ran {
    Ran {
        step,
        service: "web".into(),
        action: Action::Stop,
        host: host.into(),
        ended,
        duration: Duration::from_millis(millis),
    }
}

#[test]
fn the_verdict_is_success_only_when_every_job_succeeded() {
    let ok = ran(1, "h1", Ended::Succeeded, 10);
    assert_eq!(Verdict::of(&[]), Verdict::Succeeded);
    assert_eq!(Verdict::of(std::slice::from_ref(&ok)), Verdict::Succeeded);
    for bad in [
        Ended::Failed { code: 1 },
        Ended::Killed { signal: 9 },
        Ended::TimedOut,
        Ended::Stopped,
        Ended::NotStarted { reason: "x".into() },
        Ended::Skipped,
    ] {
        let list = [ok.clone(), ran(2, "h2", bad.clone(), 0)];
        assert_eq!(Verdict::of(&list), Verdict::Failed, "{bad:?}");
    }
}

#[test]
fn the_summary_lists_every_job_and_the_totals() {
    let list = [
        ran(1, "h1", Ended::Succeeded, 1250),
        ran(1, "h2", Ended::Failed { code: 3 }, 40),
        ran(2, "h1", Ended::Skipped, 0),
    ];
    assert_eq!(
        summary_table(&list),
        "step  service  action  host  exit status  duration\n\
         1     web      stop    h1    0            1.25 s\n\
         1     web      stop    h2    exit 3       0.04 s\n\
         2     web      stop    h1    not run      0.00 s\n\
         1 succeeded, 1 failed, 1 not run (3 jobs)\n"
    );
}

fn tiny_schedule() -> Schedule {
    Schedule {
        schema: SCHEMA,
        site: "shop".into(),
        operation: Operation::Stop,
        waves: vec![],
    }
}

#[test]
fn the_logbook_note_is_info_when_all_went_well_and_problem_otherwise() {
    let good = [ran(1, "h1", Ended::Succeeded, 500)];
    let (disposition, note) = entry_note(&tiny_schedule(), &good, "alice", None);
    assert_eq!(disposition, Disposition::Info);
    assert_eq!(
        note,
        "`glassroom run shop stop` by alice: 1 succeeded (1 job).\n\n\
         | step | service | action | host | exit status | duration |\n\
         |---:|---|---|---|---|---:|\n\
         | 1 | web | stop | h1 | 0 | 0.50 s |\n"
    );
    let bad = [
        ran(1, "h1", Ended::TimedOut, 500),
        ran(2, "h1", Ended::Skipped, 0),
    ];
    let (disposition, note) = entry_note(&tiny_schedule(), &bad, "alice", Some("SIGINT (Ctrl-C)"));
    assert_eq!(disposition, Disposition::Problem);
    assert!(note.contains("0 succeeded, 1 failed, 1 not run"), "{note}");
    assert!(note.contains("\nStopped by SIGINT (Ctrl-C).\n"), "{note}");
    assert!(
        note.contains("| 1 | web | stop | h1 | timed out | 0.50 s |"),
        "{note}"
    );
}

// --- running, with `sh -c` in place of ssh -----------------------------------------

fn job(step: usize, host: &str, script: &str) -> Job {
    Job {
        step,
        tier: None,
        service: "svc".into(),
        action: Action::Start,
        host: host.into(),
        destination: host.into(),
        command: script.into(),
        argv: vec!["sh".into(), "-c".into(), script.into()],
    }
}

fn local(waves: Vec<Vec<Job>>) -> Schedule {
    Schedule {
        schema: SCHEMA,
        site: "s".into(),
        operation: Operation::Start,
        waves: waves
            .into_iter()
            .map(|jobs| Wave {
                tier: None,
                action: Action::Start,
                startup_rank: 1,
                jobs,
            })
            .collect(),
    }
}

fn go(
    schedule: &Schedule,
    parallel: usize,
    keep_going: bool,
    timeout: Duration,
) -> (Vec<Ended>, Vec<String>) {
    let lines = Mutex::new(Vec::new());
    let say = |line: &str| lines.lock().unwrap().push(line.to_owned());
    let clock = Instant::now;
    let io = Io {
        say: &say,
        clock: &clock,
    };
    let options = Options {
        parallel,
        keep_going,
        timeout,
    };
    let finished = execute(schedule, &options, &Stop::new(), &io);
    let ended = finished.ran.into_iter().map(|r| r.ended).collect();
    (ended, lines.into_inner().unwrap())
}

const LONG: Duration = Duration::from_secs(60);

#[test]
fn output_is_streamed_with_host_and_service_in_front() {
    let schedule = local(vec![vec![job(1, "h1", "echo one; echo two >&2; exit 0")]]);
    let (ended, lines) = go(&schedule, 1, false, LONG);
    assert_eq!(ended, [Ended::Succeeded]);
    assert!(lines.contains(&"h1 svc | one".to_owned()), "{lines:?}");
    assert!(lines.contains(&"h1 svc | two".to_owned()), "{lines:?}");
    let last = lines.last().map(String::as_str).unwrap_or("");
    assert!(
        last.starts_with("h1 svc | step 1 ended: exit status 0 after "),
        "{last}"
    );
}

#[test]
fn a_failure_stops_the_later_waves_unless_keep_going() {
    let schedule = local(vec![
        vec![job(1, "h1", "exit 3"), job(1, "h2", "true")],
        vec![job(2, "h1", "true")],
    ]);
    let (ended, _) = go(&schedule, 1, false, LONG);
    assert_eq!(
        ended,
        [Ended::Failed { code: 3 }, Ended::Skipped, Ended::Skipped]
    );
    let (ended, _) = go(&schedule, 1, true, LONG);
    assert_eq!(
        ended,
        [
            Ended::Failed { code: 3 },
            Ended::Succeeded,
            Ended::Succeeded
        ]
    );
}

#[test]
fn a_wave_runs_on_several_hosts_at_once() {
    let jobs = (1..=4)
        .map(|n| job(1, &format!("h{n}"), "sleep 0.5"))
        .collect();
    let schedule = local(vec![jobs]);
    let started = Instant::now();
    let (ended, _) = go(&schedule, 4, false, LONG);
    assert!(ended.iter().all(Ended::succeeded));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_job_past_its_timeout_is_killed_and_fails() {
    let schedule = local(vec![
        vec![job(1, "h1", "sleep 30")],
        vec![job(2, "h1", "true")],
    ]);
    let started = Instant::now();
    let (ended, _) = go(&schedule, 1, false, Duration::from_millis(300));
    assert_eq!(ended, [Ended::TimedOut, Ended::Skipped]);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_program_that_cannot_start_is_a_failure() {
    let mut bad = job(1, "h1", "x");
    bad.argv = vec!["/nonexistent/ssh".into()];
    let (ended, _) = go(&local(vec![vec![bad]]), 1, false, LONG);
    assert!(matches!(ended[0], Ended::NotStarted { .. }), "{ended:?}");
}

#[test]
fn a_stop_forwards_the_signal_and_starts_nothing_new() {
    let schedule = local(vec![
        vec![job(1, "h1", "sleep 30")],
        vec![job(2, "h1", "true")],
    ]);
    let stop = Stop::new();
    let say = |_: &str| {};
    let clock = Instant::now;
    let io = Io {
        say: &say,
        clock: &clock,
    };
    let options = Options {
        parallel: 1,
        keep_going: true,
        timeout: LONG,
    };
    let started = Instant::now();
    let finished = std::thread::scope(|scope| {
        let running = scope.spawn(|| execute(&schedule, &options, &stop, &io));
        std::thread::sleep(Duration::from_millis(300));
        stop.request("SIGTERM");
        running.join().unwrap()
    });
    let ended: Vec<Ended> = finished.ran.into_iter().map(|r| r.ended).collect();
    assert_eq!(ended, [Ended::Stopped, Ended::Skipped]);
    assert_eq!(finished.stopped_by, Some("SIGTERM"));
    assert!(started.elapsed() < Duration::from_secs(5));
}
