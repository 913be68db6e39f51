//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::BuildArgs;
use crate::content::ParseCache;
use crate::output::BuildCaches;
use crate::pipeline::OutputPlace;
use crate::render::Progress;
use crate::render::markdown_cache::Cache;
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
    // What earlier builds stored is read while the tree is: each takes tens of
    // milliseconds for a large repository, and neither needs the other.
    let (opened, memory) = std::thread::scope(|scope| {
        let memory = scope.spawn(|| stored_memory(caches.as_ref()));
        let opened = repository::open(&args.repo, &args.source, clock);
        (opened, memory.join())
    });
    let opened = opened?;
    repository::print_warnings(&opened.warnings);
    let memory = memory.unwrap_or_default();
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
    let staging = match &caches {
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
    let built = pipeline::build_into(&opened, args.now, clock, &bar, &staging, &memory, true);
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
    // Like the build cache, these only save time: failing to write one is not an error.
    // (Both are keyed by what they hold, so an old one is never wrong, only slower.)
    staging.commit_while(|| {
        let Some(caches) = &caches else {
            return;
        };
        if memory.markdown.changed() {
            let _ = caches.markdown.write(&memory.markdown.to_bytes());
        }
        if let Some(parsed) = memory.parsed.updated_store() {
            let _ = caches.parsed.write(&parsed);
        }
    })?;
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

/// What earlier builds stored in their caches: the rendered Markdown and the parsed
/// documents. A missing file, or one that does not unseal, is empty: it only saves time.
fn stored_memory(caches: Option<&BuildCaches>) -> pipeline::Memory {
    let Some(caches) = caches else {
        return pipeline::Memory::default();
    };
    pipeline::Memory {
        markdown: caches
            .markdown
            .read()
            .map(|bytes| Cache::from_bytes(&bytes))
            .unwrap_or_default(),
        parsed: ParseCache::stored(caches.parsed.read().as_deref().unwrap_or_default()),
        ..pipeline::Memory::default()
    }
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
