//! `glassroom man [DIR]`: a manual page (roff) per command, from clap's definition of the
//! command line: `glassroom.1`, `glassroom-build.1`, `glassroom-flags-eval.1`... Each is
//! written whole (atomically).

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use super::{Outcome, ignore_broken_pipe};
use crate::cli::{Cli, ManArgs};
use crate::local::{Durability, write_atomically};

#[derive(Debug, thiserror::Error)]
pub enum ManError {
    #[error("cannot write the manual page {}: {source}; check that the directory is writable", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render the manual page {name}: {source}")]
    Render {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

/// Every page: its file name and its roff text.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>, ManError> {
    let mut root = Cli::command();
    root.build();
    let mut pages = Vec::new();
    collect(&root, "glassroom", &mut pages)?;
    Ok(pages)
}

fn collect(
    command: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), ManError> {
    // After `build`, a subcommand's display name is its whole name
    // (`glassroom-flags-eval`): the page's title.
    let mut roff = Vec::new();
    clap_mangen::Man::new(command.clone())
        .source(format!("glassroom {}", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)
        .map_err(|source| ManError::Render {
            name: name.to_owned(),
            source,
        })?;
    pages.push((format!("{name}.1"), roff));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

pub fn run(args: &ManArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let pages = pages()?;
    for (name, roff) in &pages {
        let path = args.dir.join(name);
        write_atomically(&path, roff, Durability::Durable)
            .map_err(|source| ManError::Write { path, source })?;
    }
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(writeln!(
        out,
        "wrote {} manual pages to {}",
        pages.len(),
        args.dir.display()
    ))?;
    Ok(Outcome::Ok)
}
