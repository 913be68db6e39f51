//! Command-line arguments (clap). Parsed here, checked and acted on in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::content::types::Moment;

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
    /// Build the static site (and feeds, calendar and JSON API) from a repository.
    ///
    /// The site is written to a fresh directory and swapped in only when the whole build
    /// succeeded; a failed build leaves the previous output untouched and exits 1.
    Build(BuildArgs),
    /// Print the ordered steps to stop, start, check or update a site's services.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The repository to build.
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Where to write the site (default: REPO/public).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The moment to build for (`2026-11-22` or RFC 3339); alerts and due dates depend on
    /// it. Default: the time of the repository's HEAD commit, or the clock.
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_moment(text: &str) -> Result<Moment, String> {
    text.parse()
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The site's id (its file name in `sites/` without `.yaml`).
    pub site: String,
    /// What to do with the site's services.
    #[arg(value_enum)]
    pub operation: PlanOperation,
    /// The repository.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOperation {
    Stop,
    Start,
    Status,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
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
