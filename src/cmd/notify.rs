//! `glassroom notify`: tell people what changed in the published state.

use std::io::Write;

use super::{Outcome, ignore_broken_pipe, repository};
use crate::cli::{NotifyArgs, PlanFormat};
use crate::content::types::Moment;
use crate::notify::outbox::{Outbox, Paths, by_state};
use crate::notify::run::{evaluate, record_and_deliver};

pub fn run(args: &NotifyArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let fixed = args.now;
    let clock = move || {
        fixed.unwrap_or_else(|| {
            Moment(jiff::Timestamp::from_second(repository::clock()).unwrap_or_default())
        })
    };
    if args.status {
        return status(args);
    }
    let evaluated = evaluate(&args.repo, clock(), repository::clock())?;
    let mut stdout = std::io::stdout().lock();
    if args.dry_run {
        let first_run = evaluated.previous.is_none();
        if args.format == PlanFormat::Json {
            let planned: Vec<_> = evaluated
                .deliveries
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "event": d.event,
                        "channel": d.route.channel,
                        "address": d.route.address,
                        "people": d.route.people,
                    })
                })
                .collect();
            let report = serde_json::json!({
                "now": evaluated.now,
                "first_run": first_run,
                "events": evaluated.events,
                "deliveries": planned,
            });
            ignore_broken_pipe(writeln!(stdout, "{report:#}"))?;
        } else {
            if first_run {
                ignore_broken_pipe(writeln!(
                    stdout,
                    "first run: the current state would be recorded and no one told"
                ))?;
            }
            for d in &evaluated.deliveries {
                ignore_broken_pipe(writeln!(
                    stdout,
                    "{} {}{}: {}",
                    d.route.channel,
                    d.route.address,
                    match d.route.people.is_empty() {
                        true => String::new(),
                        false => format!(" ({})", d.route.people.join(", ")),
                    },
                    d.event.title
                ))?;
            }
            ignore_broken_pipe(writeln!(
                stdout,
                "{} events, {} deliveries (dry run: nothing recorded or sent)",
                evaluated.events.len(),
                evaluated.deliveries.len()
            ))?;
        }
        return Ok(Outcome::Ok);
    }
    let env = |name: &str| std::env::var(name).ok();
    let ran = record_and_deliver(evaluated, &clock, &env, &mut |delivery, result| {
        let what = format!(
            "{} {}: {}",
            delivery.route.channel, delivery.route.address, delivery.event.title
        );
        match result {
            Ok(()) => eprintln!("notify: sent {}", crate::diag::printable(&what)),
            Err(err) => eprintln!(
                "notify: failed {}: {}",
                crate::diag::printable(&what),
                crate::diag::printable(err)
            ),
        }
    })?;
    if ran.first_run {
        ignore_broken_pipe(writeln!(
            stdout,
            "notify: first run: recorded the current state; no one is told of what was already there"
        ))?;
    }
    ignore_broken_pipe(writeln!(
        stdout,
        "notify: {} events, {} new deliveries, {} sent, {} failed",
        ran.events,
        ran.added,
        ran.sent,
        ran.failed.len()
    ))?;
    Ok(if ran.failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

fn status(args: &NotifyArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let git = crate::source::git::open(&args.repo)?;
    let paths = Paths::new(git.path());
    let outbox = Outbox::load(&paths.outbox)?;
    let counts = outbox.counts();
    let grouped = by_state(&outbox);
    let mut stdout = std::io::stdout().lock();
    if args.format == PlanFormat::Json {
        let report = serde_json::json!({
            "outbox": paths.outbox,
            "counts": counts,
            "failed": grouped.get("failed").unwrap_or(&Vec::new()),
            "given_up": grouped.get("given_up").unwrap_or(&Vec::new()),
            "pending": grouped.get("pending").unwrap_or(&Vec::new()),
        });
        ignore_broken_pipe(writeln!(stdout, "{report:#}"))?;
    } else {
        ignore_broken_pipe(writeln!(
            stdout,
            "outbox {}: {} pending, {} sent, {} failed (retried), {} given up",
            paths.outbox.display(),
            counts.pending,
            counts.sent,
            counts.failed,
            counts.given_up
        ))?;
        for state in ["failed", "given_up"] {
            for d in grouped.get(state).into_iter().flatten() {
                ignore_broken_pipe(writeln!(
                    stdout,
                    "  {state}: {} {} after {} attempts{}: {} ({})",
                    d.route.channel,
                    d.route.address,
                    d.attempts,
                    d.next_try
                        .map_or(String::new(), |at| format!(", next try {at}")),
                    d.event.title,
                    d.last_error.as_deref().unwrap_or("")
                ))?;
            }
        }
    }
    Ok(if counts.given_up > 0 {
        Outcome::Findings
    } else {
        Outcome::Ok
    })
}
