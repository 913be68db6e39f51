//! `glassroom log`: a logbook entry from the shell, checked against the approved content
//! and committed on HEAD's branch (signed with `--signing-key`).

use std::io::Write;

use super::{Outcome, ignore_broken_pipe, repository};
use crate::cli::{LogArgs, SourceArgs};
use crate::content::types::Moment;
use crate::intake::{self, Committer, NewEntry, Rules, Signer};

pub fn run(args: &LogArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    let now = Moment(jiff::Timestamp::from_second(clock).unwrap_or_default());
    let repo = git2::Repository::open(&args.repo).map_err(|err| {
        format!(
            "{} is not a git repository ({}); `glassroom log` commits the entry, so point --repo at the content repository",
            args.repo.display(),
            err.message()
        )
    })?;
    let signer = args
        .signing_key
        .as_deref()
        .map(Signer::from_file)
        .transpose()?;
    let disposition = match &args.disposition {
        Some(text) => Some(intake::parse_disposition(text).map_err(|invalid| refused(&invalid))?),
        None => None,
    };
    let entry = NewEntry {
        procedure: args.procedure.clone(),
        about: args.about.clone(),
        until: args.until,
        by: args.by.clone(),
        disposition,
        reply_to: args.reply_to.clone(),
        note: args.note.clone(),
        at: args.at.unwrap_or(now),
    };

    let source = SourceArgs {
        rev: None,
        worktree: false,
        trust_root: args.trust_root.clone(),
    };
    let opened = repository::open(&args.repo, &source, clock)?;
    repository::print_warnings(&opened.warnings);
    let loaded = crate::content::load(&opened.tree);
    let rules = Rules::from_content(&loaded.content);
    if let Err(invalid) = intake::check(&entry, &rules, None, now) {
        return Err(refused(&invalid).into());
    }

    let committer = committer(&repo, &args.by);
    let appended = intake::append(&args.repo, &entry, &committer, signer.as_ref(), clock)?;
    for line in &appended.repaired {
        eprintln!("glassroom log: {}", crate::diag::printable(line));
    }
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        stdout,
        "logged {} in {} (commit {}{})",
        appended.id,
        crate::diag::printable(&appended.path),
        crate::values::short_id(&appended.commit),
        if signer.is_some() {
            ", signed"
        } else {
            ", unsigned"
        }
    ))?;
    Ok(Outcome::Ok)
}

/// Who commits an entry: git's configured user, else `by` at an address that cannot
/// receive mail.
pub(super) fn committer(repo: &git2::Repository, by: &str) -> Committer {
    match repo.signature() {
        Ok(signature) => Committer {
            name: signature.name().unwrap_or(by).to_owned(),
            email: signature.email().unwrap_or("").to_owned(),
        },
        Err(_) => Committer {
            name: by.to_owned(),
            email: format!("{}@glassroom.invalid", by.replace(' ', ".")),
        },
    }
}

/// A refused entry as an error naming the command-line option at fault.
pub(super) fn refused(invalid: &intake::Invalid) -> String {
    let option = match invalid.field {
        "procedure" => "PROCEDURE".to_owned(),
        field => format!("--{}", field.replace('_', "-")),
    };
    let mut message = format!("{option}: {}", invalid.message);
    if let Some(help) = &invalid.help {
        message.push_str(&format!("\n  help: {help}"));
    }
    message
}
