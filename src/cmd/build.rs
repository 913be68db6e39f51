//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::BuildArgs;
use crate::output::BuildCaches;
use crate::pipeline::OutputPlace;
use crate::render::Progress;
use crate::{output, pipeline};

pub fn run(args: &BuildArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    crate::timings::mark("start");
    let out = args.out.clone().unwrap_or_else(|| args.repo.join("public"));
    // Caches only save time: without a place for them, the build goes on without.
    let caches = match BuildCaches::locate(&args.repo, &out, args.cache.as_deref()) {
        Ok(caches) => Some(caches),
        Err(reason) => {
            if args.cache.is_some() {
                eprintln!("warning: building without a cache: {reason}");
            }
            None
        }
    };
    // The session reads what earlier builds left in the caches while it reads the tree.
    let (session, opened) =
        pipeline::Session::open_cached(caches, &args.repo, &(&args.source).into(), clock)?;
    repository::print_warnings(&opened.warnings);
    crate::timings::mark("open (read the tree and what is stored)");
    // Files go straight into a staging directory beside `out`; it replaces `out` only
    // if the whole build succeeds, and disappears otherwise.
    let (staging, reuse) = match pipeline::output_place(&args.repo, &opened, &out) {
        OutputPlace::Clear => (output::Staging::new(&out)?, true),
        OutputPlace::Approved { file } => {
            return Err(pipeline::OutputOverContent { out, file }.into());
        }
        // Unapproved content never stops a build, nor decides what it reuses.
        OutputPlace::Unapproved { file, from, kept } => {
            eprintln!(
                "warning: {from} has files in the output directory {out} that are not approved ({file}): they are not published, and nothing in {out} is reused (write the site outside the repository's files with --out DIR)",
                out = out.display()
            );
            let staging = output::Staging::over(&out, &|path| kept.contains(path))?;
            (staging, false)
        }
    };
    let staging = match session.caches() {
        Some(caches) => staging.with_cache(caches.output.clone()),
        None => staging,
    };
    let staging = if reuse {
        staging
    } else {
        staging.reusing_nothing()
    };
    crate::timings::mark("read the build cache");
    let bar = ProgressBar::new();
    let built = session.build_into(&opened, args.now, clock, &bar, &staging, true);
    bar.finish();
    let built = match built {
        Ok(built) => built,
        Err(failed) => {
            print_diagnostics(&failed.sources, &failed.diagnostics, &args.output)?;
            eprintln!("build failed: nothing was written");
            return Ok(Outcome::Findings);
        }
    };
    if !built.warnings.is_empty() {
        print_diagnostics(&built.sources, &built.warnings, &args.output)?;
    }
    // What the session learnt is saved while the output is swapped in.
    staging.commit_while(|| session.save())?;
    crate::timings::mark("swap the output in place, write the caches");
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        stdout,
        "built {} files into {} (now = {}, {} alerts)",
        built.count,
        crate::diag::printable(&out.display().to_string()),
        built.now,
        built.alerts
    ))?;
    Ok(Outcome::Ok)
}

/// A progress bar on a terminal; nothing otherwise. It is drawn only once rendering
/// starts and knows how many pages there are (never a "0/0 pages" flash), and not at
/// all when there is nothing to render.
struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    fn new() -> Self {
        Self::on(std::io::stderr().is_terminal())
    }

    fn on(terminal: bool) -> Self {
        Self(terminal.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::hidden(),
            );
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
            if total > 0 {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
    }
    fn advance(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_shows_only_once_it_knows_there_are_pages() {
        let bar = ProgressBar::on(true);
        let shown = |bar: &ProgressBar| bar.0.as_ref().is_some_and(|b| !b.is_hidden());
        assert!(!shown(&bar), "hidden before rendering starts");
        bar.start(0);
        assert!(!shown(&bar), "hidden with nothing to render");
        // Once there are pages it draws on stderr (which indicatif itself hides when
        // stderr is not a terminal, as in this test).
        bar.start(12);
        assert_eq!(bar.0.as_ref().and_then(|b| b.length()), Some(12));
        bar.finish();
        assert!(ProgressBar::on(false).0.is_none());
    }
}
