//! `glassroom check`: validate a repository, report every problem, summarise.

use std::io::Write;

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::{CheckArgs, Deny, Format};
use crate::content::{self, Content, LeftOut};
use crate::diag::Diagnostics;
use crate::diag::render;

pub fn run(args: &CheckArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    crate::timings::mark("start");
    let opened = repository::open(&args.repo, &args.source, repository::clock())?;
    repository::print_warnings(&opened.warnings);
    crate::timings::mark("open (read the tree)");
    let loaded = crate::pipeline::load(&opened, &content::ParseCache::default());
    let (content, diagnostics, left_out) = (loaded.content, loaded.diagnostics, loaded.left_out);
    let (pending, refused) = opened
        .trust
        .as_ref()
        .map_or((0, 0), |t| (t.pending.len(), t.refused.len()));
    if args.output.format == Format::Json {
        let report = serde_json::json!({
            "ok": !diagnostics.has_errors(),
            "errors": diagnostics.error_count(),
            "warnings": diagnostics.warning_count(),
            "counts": content.counts().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "diagnostics": render::to_json(&content.files, &diagnostics),
            "trust": opened.trust.as_ref().map(|t| serde_json::json!({
                "target": t.target,
                "trust_root": t.trust_root,
                "pending": t.pending.iter().map(|p| &p.path).collect::<Vec<_>>(),
                "refused": t.refused,
                "left_out": left_out,
            })),
        });
        let mut stdout = std::io::stdout().lock();
        ignore_broken_pipe(writeln!(stdout, "{report:#}"))?;
    } else {
        print_diagnostics(&content.files, &diagnostics, &args.output)?;
        let mut stdout = std::io::stdout().lock();
        ignore_broken_pipe(writeln!(stdout, "{}", summary(&content, &diagnostics)))?;
        if let Some(trust) = &opened.trust {
            let left_out = match left_out.len() {
                0 => String::new(),
                n => format!(", {n} left out"),
            };
            ignore_broken_pipe(writeln!(
                stdout,
                "verified history up to {}: {} approved files, {pending} pending signature, {refused} refused{left_out}{}",
                crate::values::short_id(&trust.target),
                trust.approved.len(),
                if pending + refused > 0 {
                    " (see `glassroom audit`)"
                } else {
                    ""
                },
            ))?;
        }
    }
    crate::timings::mark("report");
    let denied = opened.trust.as_ref().map_or_else(Vec::new, |trust| {
        denied(&denied_states(args), trust, &left_out)
    });
    for line in &denied {
        eprintln!("error: {}", crate::diag::printable(line));
    }
    Ok(if diagnostics.has_errors() || !denied.is_empty() {
        Outcome::Findings
    } else {
        Outcome::Ok
    })
}

/// The states `--strict` and `--deny` fail on.
fn denied_states(args: &CheckArgs) -> Vec<Deny> {
    let mut states = args.deny.clone();
    if args.strict {
        states.extend([Deny::Pending, Deny::Refused, Deny::LeftOut]);
    }
    states.sort();
    states.dedup();
    states
}

/// One line per file in a denied state, saying why: what makes `check --deny` fail, and
/// what a pre-receive hook shows the pusher.
fn denied(
    states: &[Deny],
    trust: &crate::trust::history::Report,
    left_out: &[LeftOut],
) -> Vec<String> {
    let mut lines = Vec::new();
    let last_reason = |path: &str| {
        trust
            .events
            .get(path)
            .and_then(|events| events.last())
            .map(|event| {
                let reason = event.reason.as_deref().unwrap_or("refused");
                format!(
                    "{reason} (commit {})",
                    crate::values::short_id(&event.commit)
                )
            })
            .unwrap_or_default()
    };
    for state in states {
        match state {
            Deny::Pending => lines.extend(trust.pending.iter().map(|p| {
                let who = if p.signers.is_empty() {
                    "nobody has the role".to_owned()
                } else {
                    format!("waits for {}", p.signers.join(", "))
                };
                format!("pending signature: {}: needs `{}`; {who}", p.path, p.needs)
            })),
            Deny::Refused => lines.extend(
                trust
                    .refused
                    .iter()
                    .map(|path| format!("refused: {path}: {}", last_reason(path))),
            ),
            Deny::LeftOut => lines.extend(left_out.iter().map(|l| {
                format!(
                    "left out (pre-approved, but has errors): {}: {}",
                    l.path, l.reason
                )
            })),
        }
    }
    lines
}

/// `checked 150 files: 8 hosts, 5 certificates, ...; 2 errors, 1 warning`. Kinds with
/// no file are left out (`checked 1 file: no content yet; ...`).
pub fn summary(content: &Content, diagnostics: &Diagnostics) -> String {
    let counts: Vec<String> = content
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| {
            format!(
                "{n} {}",
                if n == 1 {
                    singular(kind)
                } else {
                    kind.to_owned()
                }
            )
        })
        .collect();
    let verdict = match (diagnostics.error_count(), diagnostics.warning_count()) {
        (0, 0) => "no problems".to_owned(),
        (e, w) => format!(
            "{} {}, {} {}",
            e,
            plural(e, "error", "errors"),
            w,
            plural(w, "warning", "warnings")
        ),
    };
    let files = content.files.len();
    let counts = if counts.is_empty() {
        "no content yet".to_owned()
    } else {
        counts.join(", ")
    };
    format!(
        "checked {files} {}: {counts}; {verdict}",
        plural(files, "file", "files")
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `hosts` → `host`, `logbook entries` → `logbook entry`.
fn singular(plural: &str) -> String {
    match plural.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => plural.strip_suffix('s').unwrap_or(plural).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_in_words_and_leaves_out_empty_kinds() {
        let mut content = Content::default();
        let diagnostics = Diagnostics::default();
        assert_eq!(
            summary(&content, &diagnostics),
            "checked 0 files: no content yet; no problems"
        );
        content.files.add("glassroom.yaml", "title: x\n");
        assert_eq!(
            summary(&content, &diagnostics),
            "checked 1 file: no content yet; no problems"
        );
    }
}
