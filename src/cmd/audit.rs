//! `glassroom audit [PATH]`: a file's audit trail, or every pending and refused file.

use std::io::Write;

use super::{Outcome, ignore_broken_pipe, repository};
use crate::cli::{AuditArgs, PlanFormat};
use crate::diag::printable;
use crate::trust::judge::Event;
use crate::values::short_id;

/// Writes one line of the text report: paths, names and reasons come from commits, so
/// the line is [escaped](printable) and cannot forge another or drive the terminal.
fn line(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    ignore_broken_pipe(writeln!(out, "{}", printable(text)))
}

pub fn run(args: &AuditArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    if args.source.worktree {
        return Err("`audit` reads verified history; --worktree has none".into());
    }
    let opened = repository::open(&args.repo, &args.source, repository::clock())?;
    repository::print_warnings(&opened.warnings);
    let Some(report) = opened.trust else {
        return Err(format!(
            "{} is not a git repository: there is no history to audit",
            args.repo.display()
        )
        .into());
    };
    let mut out = std::io::stdout().lock();
    match (&args.path, args.format) {
        (Some(path), PlanFormat::Json) => {
            let value = serde_json::json!({
                "path": path,
                "approved_blob": report.approved.get(path),
                "events": report.events.get(path).cloned().unwrap_or_default(),
                "pending": report.pending.iter().find(|p| &p.path == path),
            });
            ignore_broken_pipe(writeln!(out, "{value:#}"))?;
        }
        (None, PlanFormat::Json) => {
            ignore_broken_pipe(writeln!(out, "{:#}", serde_json::to_value(&report)?))?;
        }
        (Some(path), PlanFormat::Text) => {
            let events = report.events.get(path);
            if events.is_none() && !report.approved.contains_key(path) {
                eprintln!(
                    "no history for `{}` (paths are relative to the repository, like `hosts/web1.yaml`)",
                    printable(path)
                );
                return Ok(Outcome::Findings);
            }
            let published = report
                .approved
                .get(path)
                .map_or("not published".to_owned(), |b| {
                    format!("published at blob {}", short_id(b))
                });
            line(&mut out, &format!("{path}: {published}"))?;
            for event in events.into_iter().flatten() {
                line(&mut out, &format!("  {}", describe(event)))?;
            }
            if let Some(pending) = report.pending.iter().find(|p| &p.path == path) {
                line(
                    &mut out,
                    &format!(
                        "  waiting: needs `{}` from {}",
                        pending.needs,
                        signers(&pending.signers)
                    ),
                )?;
            }
        }
        (None, PlanFormat::Text) => {
            line(
                &mut out,
                &format!(
                    "verified {} from trust root {}: {} approved files",
                    short_id(&report.target),
                    short_id(&report.trust_root),
                    report.approved.len()
                ),
            )?;
            for pending in &report.pending {
                let last = pending
                    .last_event
                    .as_ref()
                    .map(describe)
                    .unwrap_or_default();
                line(
                    &mut out,
                    &format!(
                        "pending {}: {last}; needs `{}` from {}",
                        pending.path,
                        pending.needs,
                        signers(&pending.signers)
                    ),
                )?;
            }
            for path in &report.refused {
                if report.pending.iter().any(|p| &p.path == path) {
                    continue;
                }
                let last = report
                    .events
                    .get(path)
                    .and_then(|e| e.last())
                    .map(describe)
                    .unwrap_or_default();
                line(&mut out, &format!("refused {path}: {last}"))?;
            }
        }
    }
    Ok(if report.pending.is_empty() && report.refused.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Findings
    })
}

fn signers(list: &[String]) -> String {
    if list.is_empty() {
        "nobody".into()
    } else {
        list.join(", ")
    }
}

/// `2026-11-20 03:00 UTC signed by alice in 1a2b3c4d5e (blob …, blake3 …)`.
fn describe(event: &Event) -> String {
    let when = jiff::Timestamp::from_second(event.time)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let kind = serde_json::to_value(event.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let by = event
        .principal
        .as_deref()
        .map(|p| format!(" by {p}"))
        .unwrap_or_default();
    let blob = event
        .blob
        .as_deref()
        .map(|b| format!(", blob {}", short_id(b)))
        .unwrap_or_default();
    let fingerprint = event
        .fingerprint
        .as_deref()
        .map(|f| format!(", blake3 {}", f.get(..16).unwrap_or(f)))
        .unwrap_or_default();
    let reason = event
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "{when} {kind}{by} in {}{blob}{fingerprint}{reason}",
        short_id(&event.commit)
    )
}
