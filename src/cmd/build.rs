//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::BuildArgs;
use crate::content::types::Moment;
use crate::diag::Diagnostics;
use crate::render::{self, Progress};
use crate::{content, derive, output};

pub fn run(args: &BuildArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    let opened = repository::open(&args.repo, &args.source, clock)?;
    repository::print_warnings(&opened.warnings);
    let tree = &opened.tree;
    let loaded = content::load_with_pending(tree, &opened.pending_notes);
    let mut files = loaded.content.files.clone();
    if loaded.diagnostics.has_errors() {
        print_diagnostics(&files, &loaded.diagnostics, &args.output)?;
        eprintln!("build failed: the content has errors; nothing was written");
        return Ok(Outcome::Findings);
    }
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&files, &loaded.diagnostics, &args.output)?;
    }
    // The same commit always builds the same site: "now" defaults to its time.
    let now = args
        .now
        .or(opened.commit_time)
        .unwrap_or_else(|| Moment(jiff::Timestamp::from_second(clock).unwrap_or_default()));
    let content = loaded.content;
    let mut derived = derive::derive(&content, now);
    if let Some(trust) = &opened.trust {
        derived.add_pending_alerts(trust);
    }
    let input = render::Input {
        tree,
        content: &content,
        derived: &derived,
        now,
        preview: opened.preview,
        trust: opened.trust.as_ref(),
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
    // The flag bundle, from the same (approved) content as the pages.
    let mut site = site;
    site.extend(crate::flags::Bundle::compile(&content).publish().files());
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
