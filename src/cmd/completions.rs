//! `glassroom completions SHELL`: the shell's completion script, from clap's definition of
//! the command line, on stdout.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use super::{Outcome, ignore_broken_pipe};
use crate::cli::{Cli, CompletionsArgs, Shell};

pub fn run(args: &CompletionsArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let target = match args.shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Powershell => Target::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "glassroom", &mut script);
    let mut out = std::io::stdout().lock();
    ignore_broken_pipe(std::io::Write::write_all(&mut out, &script))?;
    Ok(Outcome::Ok)
}
