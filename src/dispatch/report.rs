//! What a run says when it is over: the summary table for the terminal and the logbook
//! entry's disposition and notes.

use std::time::Duration;

use super::{Ran, Schedule, Verdict};
use crate::content::Disposition;

/// The summary: one row per job (step, service, action, host, exit status, duration),
/// then a line with the totals.
pub fn summary_table(ran: &[Ran]) -> String {
    let header = [
        "step",
        "service",
        "action",
        "host",
        "exit status",
        "duration",
    ];
    let rows: Vec<[String; 6]> = ran
        .iter()
        .map(|r| {
            [
                r.step.to_string(),
                r.service.clone(),
                r.action.to_string(),
                r.host.clone(),
                r.ended.label(),
                seconds(r.duration),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", text.join("  ").trim_end())
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line([
            &row[0], &row[1], &row[2], &row[3], &row[4], &row[5],
        ]));
    }
    out.push_str(&totals(ran));
    out.push('\n');
    out
}

/// `5 succeeded, 1 failed, 2 not run (8 jobs)`.
fn totals(ran: &[Ran]) -> String {
    let succeeded = ran.iter().filter(|r| r.ended.succeeded()).count();
    let failed = ran.iter().filter(|r| r.ended.failed()).count();
    let skipped = ran.len() - succeeded - failed;
    let mut parts = vec![format!("{succeeded} succeeded")];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} not run"));
    }
    format!(
        "{} ({} job{})",
        parts.join(", "),
        ran.len(),
        if ran.len() == 1 { "" } else { "s" }
    )
}

/// `1.25 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// The logbook entry of a run: `problem` when a job did not succeed, else `info`, and
/// notes that say who ran what and how each job ended (a Markdown table). `stopped_by`
/// names the signal that stopped the run, if one did.
pub fn entry_note(
    schedule: &Schedule,
    ran: &[Ran],
    by: &str,
    stopped_by: Option<&str>,
) -> (Disposition, String) {
    let verdict = Verdict::of(ran);
    let disposition = match verdict {
        Verdict::Succeeded => Disposition::Info,
        Verdict::Failed => Disposition::Problem,
    };
    let mut note = format!(
        "`glassroom run {} {}` by {by}: {}.\n",
        schedule.site,
        schedule.operation,
        totals(ran)
    );
    if let Some(signal) = stopped_by {
        note.push_str(&format!("\nStopped by {signal}.\n"));
    }
    if !ran.is_empty() {
        note.push_str("\n| step | service | action | host | exit status | duration |\n");
        note.push_str("|---:|---|---|---|---|---:|\n");
        for r in ran {
            note.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.step,
                cell(&r.service),
                r.action,
                cell(&r.host),
                r.ended.label(),
                seconds(r.duration)
            ));
        }
    }
    (disposition, note)
}

/// A table cell: ids cannot hold `|` or line breaks, but be sure.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
