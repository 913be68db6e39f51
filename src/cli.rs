//! Command-line arguments (clap). Parsed here, checked and acted on in [`crate::cmd`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::content::types::{FlagValue, Moment};

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
    /// Feature flags: evaluate a flag for an account from a bundle or a repository.
    #[command(subcommand)]
    Flags(FlagsCommand),
    /// Show the audit trail of a file (who signed, reviewed, revoked or was refused), or
    /// of every pending and refused file.
    Audit(AuditArgs),
    /// Approve files as they are at HEAD: a signed commit with `Approve:` trailers.
    Sign(TrailerArgs),
    /// Record a review of files as they are at HEAD (`Review:` trailers).
    Review(TrailerArgs),
    /// Unpublish files (`Revoke:` trailers).
    Revoke(TrailerArgs),
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
    pub source: SourceArgs,
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
    /// Also fail (exit 1) when anything is pending signature or refused: for CI gates
    /// and pre-receive hooks.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which tree to read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// The commit to read (default HEAD); only what is approved in its history is used.
    #[arg(long, conflicts_with = "worktree")]
    pub rev: Option<String>,
    /// Read the working directory as it is, signed or not (a preview of drafts; every
    /// page says so).
    #[arg(long)]
    pub worktree: bool,
    /// The commit history is verified from (default: `git config glassroom.trustRoot`,
    /// else the first commit, with a warning). Never read from a versioned file.
    #[arg(long)]
    pub trust_root: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// A repository path (e.g. `hosts/web1.yaml`); without it, every pending and refused file.
    pub path: Option<String>,
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, clap::Args)]
pub struct TrailerArgs {
    /// Repository paths, as they are at HEAD.
    #[arg(required = true)]
    pub paths: Vec<String>,
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Extra text for the commit message.
    #[arg(long, short)]
    pub message: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Print the value of FEATURE for ACCOUNT and the rule that decided it.
    ///
    /// The bundle is read from `--bundle` (a file or an http(s) URL, checked against its
    /// published sha256) or compiled from the repository. Exit status: 0 with an answer,
    /// 1 when the bundle has no such feature (the caller's default, else false, is still
    /// printed), 2 when there is no bundle to read.
    Eval(FlagsEvalArgs),
}

#[derive(Debug, clap::Args)]
pub struct FlagsEvalArgs {
    /// The account id.
    pub account: String,
    /// The feature id.
    pub feature: String,
    /// The caller's default: `true`, `false`, an integer, or text (quote it as JSON,
    /// `'"42"'`, to pass a number or `true` as text).
    #[arg(long, value_parser = parse_flag_value)]
    pub default: Option<FlagValue>,
    /// A bundle file (`flags.json`) or URL; without it, the flags of `--repo`.
    #[arg(long, value_name = "FILE|URL")]
    pub bundle: Option<String>,
    /// The repository to compile the bundle from when no `--bundle` is given.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The moment to evaluate at (for `active_from`); default: the clock.
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
    /// Show every rule of the chain, not only the one that decided.
    #[arg(long)]
    pub explain: bool,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// A flag value as typed on the command line: `true`/`false`, an integer, a JSON string,
/// or any other text.
pub fn parse_flag_value(text: &str) -> Result<FlagValue, String> {
    match text {
        "true" => return Ok(FlagValue::Bool(true)),
        "false" => return Ok(FlagValue::Bool(false)),
        _ => {}
    }
    if let Ok(number) = text.parse::<i64>() {
        return Ok(FlagValue::Integer(number));
    }
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text)
            .map(FlagValue::String)
            .map_err(|e| format!("not a JSON string: {e}"));
    }
    Ok(FlagValue::String(text.to_owned()))
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
