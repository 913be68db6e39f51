//! Recording sync attempts in the logbook (procedure `sync`), so the site shows its own
//! publishing history. A failure starts a thread (disposition `problem`); later failures
//! and the success that ends them reply to it, so the dashboard shows a problem exactly
//! while publishing fails.

use crate::content::Disposition;
use crate::content::types::Moment;
use crate::intake::{Committer, NewEntry, Signer};

use super::schedule::Millis;
use super::snapshot::PROCEDURE;
use super::state::{Attempt, Outcome};
use crate::values::short_id;

/// The robot principal attempts are recorded as, and its key.
pub struct Recorder {
    pub robot: String,
    pub signer: Option<Signer>,
}

impl Recorder {
    pub fn committer(&self, email: Option<&String>) -> Committer {
        Committer {
            name: self.robot.clone(),
            email: email
                .cloned()
                .unwrap_or_else(|| format!("{}@glassroom.invalid", self.robot)),
        }
    }
}

/// The entry recording `attempt`. `open_problem` is the failure thread to reply to, if
/// it is in the approved tree (a reply to an entry that is not would not build).
pub fn entry(attempt: &Attempt, robot: &str, open_problem: Option<&str>, at: Millis) -> NewEntry {
    let commit = attempt.commit.as_deref().map_or("(unknown)", short_id);
    let names: Vec<&str> = attempt.targets.iter().map(|t| t.name.as_str()).collect();
    let (disposition, mut note) = match attempt.outcome {
        Outcome::Published => (
            Disposition::Ok,
            if names.is_empty() {
                format!("Approved head {commit}: no sync targets are configured.")
            } else {
                format!("Published {commit} to {}.", names.join(", "))
            },
        ),
        Outcome::Failed => (
            Disposition::Problem,
            format!("Publishing {commit} failed; it stays pending and is retried."),
        ),
        Outcome::Interrupted => (
            Disposition::Problem,
            format!("Publishing {commit} was interrupted; it stays pending."),
        ),
        Outcome::BuildFailed => (
            Disposition::Problem,
            format!(
                "The approved tree at {commit} does not build, so nothing was published; the next approved change is tried."
            ),
        ),
    };
    if let Some(error) = &attempt.error {
        note.push_str("\n\n");
        note.push_str(&indent(error));
    }
    let lines: Vec<String> = attempt
        .targets
        .iter()
        .map(|t| {
            if t.ok {
                format!("- {}: {}", t.name, first_line(&t.message))
            } else {
                format!("- {}: failed:\n\n{}", t.name, indent(&t.message))
            }
        })
        .collect();
    if !lines.is_empty() && attempt.outcome != Outcome::Published {
        note.push_str("\n\n");
        note.push_str(&lines.join("\n"));
    }
    NewEntry {
        procedure: Some(PROCEDURE.to_owned()),
        about: None,
        until: None,
        by: robot.to_owned(),
        disposition: Some(disposition),
        reply_to: open_problem.map(str::to_owned),
        note,
        at: Moment(
            jiff::Timestamp::from_second(at.div_euclid(1000))
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        ),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Text shown as-is (an indented Markdown code block), at most 1,000 characters.
fn indent(text: &str) -> String {
    let mut short: String = text.chars().take(1_000).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
        .lines()
        .map(|line| format!("        {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::state::TargetResult;

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            started: 1_795_000_000_000,
            finished: 1_795_000_001_000,
            commit: Some("0123456789abcdef".into()),
            outcome,
            error: None,
            targets: vec![TargetResult {
                name: "mirror".into(),
                ok: outcome == Outcome::Published,
                message: "exited with status 1: ```\n# not a heading".into(),
            }],
            entry: None,
        }
    }

    #[test]
    fn records_are_valid_logbook_entries() -> Result<(), Box<dyn std::error::Error>> {
        for (outcome, reply) in [
            (Outcome::Published, None),
            (Outcome::Failed, None),
            (Outcome::Failed, Some("first")),
            (Outcome::BuildFailed, None),
        ] {
            let entry = entry(&attempt(outcome), "sync-bot", reply, 1_795_000_001_000);
            let text = crate::intake::render(&entry)?;
            let mut tree = crate::source::Tree::new();
            tree.insert("logbook/2026/11/x.md", text.clone());
            let loaded = crate::content::load(&tree);
            let parsed = &loaded.content.logbook;
            assert_eq!(parsed.len(), 1, "{text}");
            assert_eq!(
                parsed[0].data.procedure.as_ref().map(|p| p.as_str()),
                Some("sync")
            );
            assert_eq!(parsed[0].data.reply_to.as_ref().map(|p| p.as_str()), reply);
            let expected = if outcome == Outcome::Published {
                Disposition::Ok
            } else {
                Disposition::Problem
            };
            assert_eq!(parsed[0].data.disposition, Some(expected));
            if outcome == Outcome::Failed {
                assert!(text.contains("        # not a heading"), "{text}");
            }
        }
        Ok(())
    }
}
