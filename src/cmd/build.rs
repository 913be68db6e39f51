//! `glassroom build`: check, derive, render and write the whole site.

use std::io::{IsTerminal, Write};

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::BuildArgs;
use crate::render::Progress;
use crate::render::markdown_cache::Cache;
use crate::{output, pipeline};

pub fn run(args: &BuildArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let clock = repository::clock();
    crate::timings::mark("start");
    let opened = repository::open(&args.repo, &args.source, clock)?;
    repository::print_warnings(&opened.warnings);
    crate::timings::mark("open (read the tree)");
    let out = args.out.clone().unwrap_or_else(|| args.repo.join("public"));
    // Files go straight into a staging directory beside `out`; it replaces `out` only
    // if the whole build succeeds, and disappears otherwise.
    let cache = args.cache.clone().unwrap_or_else(|| default_cache(&out));
    let markdown_file = cache.with_extension("markdown");
    let staging = output::Staging::new(&out)?.with_cache(cache);
    let memory = pipeline::Memory {
        markdown: std::fs::read(&markdown_file)
            .map(|bytes| Cache::from_bytes(&bytes))
            .unwrap_or_default(),
        ..pipeline::Memory::default()
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
    staging.commit()?;
    if memory.markdown.changed() {
        // Like the build cache, it only saves time: failing to write it is not an error.
        let _ = output::write_atomically(&markdown_file, &memory.markdown.to_bytes());
    }
    crate::timings::mark("swap the output in place");
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        stdout,
        "built {} files into {} (now = {}, {} alerts)",
        built.count,
        out.display(),
        built.now,
        built.alerts
    ))?;
    Ok(Outcome::Ok)
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
