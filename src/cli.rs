//! Command-line arguments (clap). Parsed here, checked and acted on in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "glassroom",
    version,
    about = "An ops repository in git, published as a static site and a flag bundle"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a content repository and report every problem in one run.
    ///
    /// Exit status: 0 when valid, 1 when the content has errors, 2 when glassroom
    /// could not do its job (bad arguments, unreadable directory).
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The repository to check.
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How diagnostics are shown.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// `human`: source context on a terminal, `path:line:column: error: message` lines
    /// otherwise; `short`: always one line per problem; `json`: machine-readable, on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Short,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_sound() {
        Cli::command().debug_assert();
    }
}
