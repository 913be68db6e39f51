//! `glassroom run SITE stop|start|status|update`: carry out a site's plan over SSH and
//! record the run in the logbook (see [`crate::dispatch`]).

use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::{ColorChoice, Format, OutputArgs, PlanFormat, RunArgs, SourceArgs};
use crate::content::types::Moment;
use crate::dispatch::exec::{self, Finished, Io, Options};
use crate::dispatch::{self, Ran, Schedule, Ssh, Verdict};
use crate::intake::{self, Appended, NewEntry, Rules, Signer};
use crate::sync::stop::{self, Stop};

pub fn run(args: &RunArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    let now = Moment(jiff::Timestamp::from_second(clock).unwrap_or_default());
    let source = SourceArgs {
        rev: None,
        worktree: false,
        trust_root: args.trust_root.clone(),
    };
    // Only approved content runs: the plan comes from the approved tree.
    let opened = repository::open(&args.repo, &source, clock)?;
    repository::print_warnings(&opened.warnings);
    let loaded = crate::content::load(&opened.tree);
    if loaded.diagnostics.has_errors() {
        let output = OutputArgs {
            format: Format::Human,
            color: ColorChoice::Auto,
        };
        print_diagnostics(&loaded.content.files, &loaded.diagnostics, &output)?;
        eprintln!("error: the approved content has errors; fix them before running");
        return Ok(Outcome::Failed);
    }
    let operation = super::plan::operation(args.operation);
    let plan = match crate::derive::plans::plan(&loaded.content, &args.site, operation) {
        Ok(plan) => plan,
        Err(unknown) => {
            eprintln!("{}", super::plan::unknown_site_message(&unknown));
            return Ok(Outcome::Failed);
        }
    };
    let ssh = Ssh {
        config: args.ssh_config.as_deref(),
    };
    let schedule = match dispatch::schedule(&plan, &loaded.content, &args.only, &ssh) {
        Ok(schedule) => schedule,
        Err(problems) => {
            for problem in problems {
                eprintln!("error: {}", crate::diag::printable(&problem.to_string()));
            }
            return Ok(Outcome::Failed);
        }
    };
    if args.dry_run {
        let text = match args.format {
            PlanFormat::Text => dry_run_text(&schedule),
            PlanFormat::Json => format!("{}\n", serde_json::to_string_pretty(&schedule)?),
        };
        ignore_broken_pipe(std::io::stdout().lock().write_all(text.as_bytes()))?;
        return Ok(Outcome::Ok);
    }

    if opened.preview {
        return Err(format!(
            "{} is not a verified git repository; `glassroom run` runs approved content only (try --dry-run to see the commands)",
            args.repo.display()
        )
        .into());
    }
    // Everything the logbook entry needs is checked before anything runs.
    let Some(by) = args.by.as_deref() else {
        return Err("--by is needed to run (who runs it, for the logbook)".into());
    };
    let repo = git2::Repository::open(&args.repo).map_err(|err| {
        format!(
            "{} is not a git repository ({}); `glassroom run` logs the run there",
            args.repo.display(),
            err.message()
        )
    })?;
    let signer = args
        .signing_key
        .as_deref()
        .map(Signer::from_file)
        .transpose()?;
    let mut entry = NewEntry {
        procedure: None,
        about: Some(format!("site/{}", schedule.site)),
        until: None,
        by: by.to_owned(),
        disposition: None,
        reply_to: None,
        // Checked with a stand-in; the run's own notes replace it.
        note: format!("glassroom run {} {}", schedule.site, schedule.operation),
        at: now,
    };
    let rules = Rules::from_content(&loaded.content);
    if let Err(invalid) = intake::check(&entry, &rules, None, now) {
        return Err(super::log::refused(&invalid).into());
    }

    let stop = Stop::new();
    stop::listen(&stop)?;
    let json = args.format == PlanFormat::Json;
    let say = |line: &str| match json {
        true => eprintln!("{line}"),
        false => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
    };
    let clock_now = Instant::now;
    let io = Io {
        say: &say,
        clock: &clock_now,
    };
    let options = Options {
        parallel: usize::try_from(args.parallel).unwrap_or(1),
        keep_going: args.keep_going,
        timeout: Duration::from_secs(args.step_timeout.as_seconds().unsigned_abs()),
    };
    let finished = exec::execute(&schedule, &options, &stop, &io);
    let verdict = Verdict::of(&finished.ran);

    let (disposition, note) =
        dispatch::entry_note(&schedule, &finished.ran, by, finished.stopped_by);
    entry.disposition = Some(disposition);
    entry.note = note;
    let committer = super::log::committer(&repo, by);
    // The entry is dated when the run started; the commit, now.
    let logged = intake::append(
        &args.repo,
        &entry,
        &committer,
        signer.as_ref(),
        repository::clock(),
    );
    report(
        args,
        &schedule,
        &finished,
        verdict,
        &logged,
        signer.is_some(),
    )?;
    match (logged, verdict) {
        (Err(err), _) => Err(format!("the run was not logged: {err}").into()),
        (Ok(_), Verdict::Succeeded) => Ok(Outcome::Ok),
        (Ok(_), Verdict::Failed) => Ok(Outcome::Findings),
    }
}

/// Each wave as a comment, then its `ssh` command lines, one per job.
fn dry_run_text(schedule: &Schedule) -> String {
    let mut out = String::new();
    for (n, wave) in schedule.waves.iter().enumerate() {
        let tier = wave
            .tier
            .as_deref()
            .map_or_else(String::new, |t| format!(" tier {t}:"));
        out.push_str(&format!(
            "# wave {}:{tier} {}, startup rank {}\n",
            n + 1,
            wave.action,
            wave.startup_rank
        ));
        for job in &wave.jobs {
            out.push_str(&dispatch::shell_line(&job.argv));
            out.push('\n');
        }
    }
    if schedule.waves.is_empty() {
        out.push_str("# nothing to run\n");
    }
    out
}

#[derive(Serialize)]
struct Report<'a> {
    site: &'a str,
    operation: crate::derive::plans::Operation,
    verdict: Verdict,
    stopped_by: Option<&'a str>,
    jobs: &'a [Ran],
    logged: Option<&'a Appended>,
}

/// The summary (text) or the results (JSON), and where the run was logged.
fn report(
    args: &RunArgs,
    schedule: &Schedule,
    finished: &Finished,
    verdict: Verdict,
    logged: &Result<Appended, intake::IntakeError>,
    signed: bool,
) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if args.format == PlanFormat::Json {
        let report = Report {
            site: &schedule.site,
            operation: schedule.operation,
            verdict,
            stopped_by: finished.stopped_by,
            jobs: &finished.ran,
            logged: logged.as_ref().ok(),
        };
        let text = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
        return ignore_broken_pipe(writeln!(stdout, "{text}"));
    }
    let mut text = format!("\n{}", dispatch::summary_table(&finished.ran));
    if let Some(signal) = finished.stopped_by {
        text.push_str(&format!("stopped by {signal}\n"));
    }
    if let Ok(appended) = logged {
        text.push_str(&format!(
            "logged {} in {} (commit {}{})\n",
            appended.id,
            crate::diag::printable(&appended.path),
            crate::values::short_id(&appended.commit),
            if signed { ", signed" } else { ", unsigned" }
        ));
    }
    ignore_broken_pipe(stdout.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::plans::{Action, Operation};
    use crate::dispatch::{Job, SCHEMA, Wave};

    fn job(host: &str, command: &str) -> Job {
        Job {
            step: 1,
            tier: Some("db".into()),
            service: "pg".into(),
            action: Action::Stop,
            host: host.into(),
            destination: host.into(),
            command: command.into(),
            argv: ["ssh", "-o", "BatchMode=yes", "-T", "--", host, command]
                .map(String::from)
                .to_vec(),
        }
    }

    #[test]
    fn a_dry_run_is_a_comment_per_wave_and_a_shell_line_per_job() {
        let schedule = Schedule {
            schema: SCHEMA,
            site: "shop".into(),
            operation: Operation::Update,
            waves: vec![Wave {
                tier: Some("db".into()),
                action: Action::Stop,
                startup_rank: 10,
                jobs: vec![job("db1", "systemctl stop pg"), job("db2", "it's")],
            }],
        };
        assert_eq!(
            dry_run_text(&schedule),
            "# wave 1: tier db: stop, startup rank 10\n\
             ssh -o BatchMode=yes -T -- db1 'systemctl stop pg'\n\
             ssh -o BatchMode=yes -T -- db2 'it'\\''s'\n"
        );
        let empty = Schedule {
            waves: vec![],
            ..schedule
        };
        assert_eq!(dry_run_text(&empty), "# nothing to run\n");
    }
}
