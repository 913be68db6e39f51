use std::process::ExitCode;

use clap::Parser;
use glassroom::cli::Cli;

fn main() -> ExitCode {
    glassroom::cmd::run(Cli::parse())
}
