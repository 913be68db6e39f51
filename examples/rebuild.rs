//! Times the preview server's rebuild after one ticket changed, in process: builds the
//! repository once with memory kept, then edits one ticket in the tree N times and
//! rebuilds after each edit.
//!
//!     cargo run --release --example rebuild -- REPO [--runs N] [--no-clean]
//!
//! Prints each rebuild's time, the median, and its ratio to a clean build of the same
//! tree in memory; `GLASSROOM_TIMINGS=1` adds each phase.

use std::time::Instant;

use glassroom::pipeline::{self, Session, Source};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let repo = std::path::PathBuf::from(args.next().ok_or("usage: rebuild REPO [--runs N]")?);
    let mut runs = 20;
    let mut clean_builds = 3;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a number")?.parse()?,
            // Only the rebuilds (for a profiler).
            "--no-clean" => clean_builds = 0,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let source = Source {
        worktree: true,
        ..Source::default()
    };
    let now = Some("2026-11-22T00:00:00Z".parse()?);
    let mut opened = pipeline::open(&repo, &source, 0)?;
    let mut session = Session::keeping();
    let started = Instant::now();
    let first = session
        .rebuild(&opened, now, 0, true)
        .map_err(|_| "the first build failed")?;
    eprintln!(
        "first build: {} files in {:.1} ms",
        first.files.len() + first.parts.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let (path, text) = opened
        .tree
        .iter()
        .find(|(p, _)| p.starts_with("tickets/"))
        .map(|(p, b)| (p.to_owned(), String::from_utf8_lossy(b).into_owned()))
        .ok_or("no ticket")?;
    let mut times = Vec::new();
    for run in 0..runs {
        let edited = text.replacen("\ntitle: ", &format!("\ntitle: Edit {run} "), 1);
        opened.tree.insert(path.clone(), edited);
        let started = Instant::now();
        let built = session
            .rebuild(&opened, now, 0, false)
            .map_err(|_| "a rebuild failed")?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        eprintln!(
            "rebuild {run}: {} files changed in {ms:.1} ms",
            built.files.len()
        );
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let rebuild = times[times.len() / 2];
    // Clean builds of the same tree (nothing kept), for the ratio.
    let mut clean = Vec::new();
    for _ in 0..clean_builds {
        let started = Instant::now();
        pipeline::build(&opened, now, 0, &glassroom::render::Quiet)
            .map_err(|_| "a clean build failed")?;
        clean.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    clean.sort_by(f64::total_cmp);
    let Some(&clean) = clean.get(clean.len() / 2) else {
        println!("median rebuild: {rebuild:.1} ms");
        return Ok(());
    };
    println!(
        "median rebuild: {rebuild:.1} ms; clean build in memory: {clean:.0} ms; ratio {:.1} %",
        100.0 * rebuild / clean
    );
    Ok(())
}
