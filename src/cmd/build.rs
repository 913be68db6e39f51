//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, print_diagnostics};
use crate::cli::BuildArgs;
use crate::content::types::Moment;
use crate::diag::Diagnostics;
use crate::render::{self, Progress};
use crate::{content, derive, output, source};

pub fn run(args: &BuildArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let tree = source::read_dir(&args.repo)?;
    let loaded = content::load(&tree);
    let mut files = loaded.content.files.clone();
    if loaded.diagnostics.has_errors() {
        print_diagnostics(&files, &loaded.diagnostics, &args.output)?;
        eprintln!("build failed: the content has errors; nothing was written");
        return Ok(Outcome::Findings);
    }
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&files, &loaded.diagnostics, &args.output)?;
    }
    let now = match &args.now {
        Some(now) => *now,
        None => default_now(&args.repo),
    };
    let content = loaded.content;
    let derived = derive::derive(&content, now);
    let input = render::Input {
        tree: &tree,
        content: &content,
        derived: &derived,
        now,
        preview: false,
    };
    let bar = ProgressBar::new();
    let rendered = render::render(&input, &mut files, &bar);
    bar.finish();
    let site = match rendered {
        Ok(site) => site,
        Err(problems) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.extend(problems);
            print_diagnostics(&files, &diagnostics, &args.output)?;
            eprintln!("build failed: nothing was written");
            return Ok(Outcome::Findings);
        }
    };
    let out = args.out.clone().unwrap_or_else(|| args.repo.join("public"));
    output::write_site(&out, &site)?;
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        stdout,
        "built {} files into {} (now = {now}, {} alerts)",
        site.len(),
        out.display(),
        derived.alerts.len()
    ))?;
    Ok(Outcome::Ok)
}

/// "Now" when `--now` is not given: the time of the repository's HEAD commit, so the
/// same commit always builds the same site; the clock for a plain directory.
pub fn default_now(repo: &Path) -> Moment {
    head_commit_time(repo).unwrap_or_else(|| Moment(jiff::Timestamp::now()))
}

fn head_commit_time(repo: &Path) -> Option<Moment> {
    let repository = git2::Repository::open(repo).ok()?;
    let commit = repository.head().ok()?.peel_to_commit().ok()?;
    jiff::Timestamp::from_second(commit.time().seconds())
        .ok()
        .map(Moment)
}

/// A progress bar on a terminal; nothing otherwise.
struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    fn new() -> Self {
        Self(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} pages")
            {
                bar.set_style(style);
            }
            bar.set_message("rendering");
            bar
        }))
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ProgressBar {
    fn start(&self, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
        }
    }
    fn advance(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}
