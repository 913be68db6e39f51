//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::BuildArgs;
use crate::content::ParseCache;
use crate::render::Progress;
use crate::render::markdown_cache::Cache;
use crate::{output, pipeline};

pub fn run(args: &BuildArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    crate::timings::mark("start");
    let out = args.out.clone().unwrap_or_else(|| args.repo.join("public"));
    let cache = args.cache.clone().unwrap_or_else(|| default_cache(&out));
    let markdown_file = cache.with_extension("markdown");
    let parsed_file = cache.with_extension("parsed");
    // What earlier builds stored is read while the tree is: each takes tens of
    // milliseconds for a large repository, and neither needs the other.
    let (opened, memory) = std::thread::scope(|scope| {
        let memory = scope.spawn(|| stored_memory(&markdown_file, &parsed_file));
        let opened = repository::open(&args.repo, &args.source, clock);
        (opened, memory.join())
    });
    let opened = opened?;
    repository::print_warnings(&opened.warnings);
    let memory = memory.unwrap_or_default();
    crate::timings::mark("open (read the tree and what is stored)");
    // Files go straight into a staging directory beside `out`; it replaces `out` only
    // if the whole build succeeds, and disappears otherwise.
    let staging = output::Staging::new(&out)?.with_cache(cache);
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
        if memory.markdown.changed() {
            let _ = output::write_atomically(&markdown_file, &memory.markdown.to_bytes());
        }
        if let Some(parsed) = memory.parsed.updated_store() {
            let _ = output::write_atomically(&parsed_file, &parsed);
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

/// What earlier builds stored beside the build cache: the rendered Markdown and the
/// parsed documents. A missing or damaged file is empty: it only saves time.
fn stored_memory(
    markdown_file: &std::path::Path,
    parsed_file: &std::path::Path,
) -> pipeline::Memory {
    pipeline::Memory {
        markdown: std::fs::read(markdown_file)
            .map(|bytes| Cache::from_bytes(&bytes))
            .unwrap_or_default(),
        parsed: ParseCache::stored(&std::fs::read(parsed_file).unwrap_or_default()),
        ..pipeline::Memory::default()
    }
}

/// `<output's parent>/.glassroom/cache/<output's name>.json`: beside the output, never
/// inside it (it would be published) nor in the content.
fn default_cache(out: &std::path::Path) -> std::path::PathBuf {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    parent
        .join(".glassroom")
        .join("cache")
        .join(format!("{name}.json"))
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
