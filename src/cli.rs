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
    #[command(
        after_help = "Examples:\n  glassroom check                    # the repository in this directory\n  glassroom check content-example --format json"
    )]
    Check(CheckArgs),
    /// Build the static site (and feeds, calendar and JSON API) from a repository.
    ///
    /// The site is written to a fresh directory and swapped in only when the whole build
    /// succeeded; a failed build leaves the previous output untouched and exits 1.
    #[command(
        after_help = "Examples:\n  glassroom build content-example --out public\n  glassroom build . --now 2026-11-22   # as the site will look on that day"
    )]
    Build(BuildArgs),
    /// Print the ordered steps to stop, start, check or update a site's services.
    #[command(
        after_help = "Examples:\n  glassroom plan shop stop\n  glassroom plan shop update --format json"
    )]
    Plan(PlanArgs),
    /// Carry out a site's plan over SSH, wave by wave, and record the run in the logbook.
    ///
    /// Runs exactly the steps `glassroom plan` prints, from the approved content, each on
    /// every host of its service through the system `ssh` (batch mode: keys only, no
    /// prompts). Services of one startup rank (and tier) form a wave that may run on up
    /// to `--parallel` hosts at once; the next wave starts when the previous one
    /// succeeded. The site needs `runnable: true`. Exit status: 0 every step succeeded;
    /// 1 a step failed, timed out or was stopped (Ctrl-C); 2 glassroom could not run
    /// (bad arguments or content, an unusable signing key) or could not log the run.
    #[command(
        after_help = "Examples:\n  glassroom run shop update --dry-run          # the exact ssh command lines\n  glassroom run shop stop --by alice --signing-key ~/.ssh/id_ed25519\n  glassroom run intranet status --by alice --ssh-config ops/ssh_config --parallel 4"
    )]
    Run(RunArgs),
    /// Feature flags: evaluate a flag for an account from a bundle or a repository.
    #[command(
        subcommand,
        after_help = "Examples:\n  glassroom flags eval acme-corp new-checkout --repo ."
    )]
    Flags(FlagsCommand),
    /// Show the audit trail of a file (who signed, reviewed, revoked or was refused), or
    /// of every pending and refused file.
    #[command(
        after_help = "Examples:\n  glassroom audit hosts/db1.yaml     # who signed this file, and when\n  glassroom audit                    # everything waiting for a signature or refused"
    )]
    Audit(AuditArgs),
    /// Approve files as they are at HEAD: a signed commit with `Approve:` trailers.
    #[command(
        after_help = "Examples:\n  glassroom sign hosts/db1.yaml tickets/t-42.md -m \"reviewed on call\""
    )]
    Sign(TrailerArgs),
    /// Record a review of files as they are at HEAD (`Review:` trailers).
    #[command(after_help = "Examples:\n  glassroom review procedures/verify-backup-tape.md")]
    Review(TrailerArgs),
    /// Unpublish files (`Revoke:` trailers).
    #[command(
        after_help = "Examples:\n  glassroom revoke news/old-maintenance.md -m \"announcement withdrawn\""
    )]
    Revoke(TrailerArgs),
    /// Serve the site over HTTP (browsers and flag clients re-download only what
    /// changed), a live preview of the working tree, and `POST /logbook` for robots.
    ///
    /// `--root DIR` serves a built site directory, `--repo REPO` (the default, `.`) builds
    /// the approved tree in memory; both rebuild and swap in the new site when their input
    /// changes. Stops cleanly on Ctrl-C or SIGTERM.
    #[command(
        after_help = "Examples:\n  glassroom serve --preview --repo .        # live preview while you edit\n  glassroom serve --root public --addr 127.0.0.1:8080\n  glassroom serve --repo /srv/ops --accept-logbook --signing-key robot_key"
    )]
    Serve(ServeArgs),
    /// Append a logbook entry to the repository as a new commit.
    ///
    /// The entry is checked against the approved content first (the procedure and the
    /// entity it is `--about` must exist, `--by` must be a user of the policy). Without a
    /// procedure it is an ad hoc entry: `glassroom log --about host/mon1 --by alice
    /// --note "Disk at 85%"`. Exit status: 0 when committed, 2 when refused or the commit
    /// failed.
    #[command(
        after_help = "Examples:\n  glassroom log verify-backup-tape --by alice --disposition ok --note \"Tape 14 restored\"\n  glassroom log --about host/mon1 --by alice --note \"Disk at 85%, cleaned /var/log\"\n  glassroom log --about certificate/api-example-com --by bob --disposition acknowledged --until 2026-11-30 --note \"Renewing by hand\"\n  glassroom log verify-backup-tape --by bob --reply-to 2026-11-08-backup --disposition end"
    )]
    Log(LogArgs),
    /// Publish the approved site to the targets in glassroom.yaml, a while after the
    /// last change (so a burst of commits is published once).
    ///
    /// `--watch` runs the schedule: each approved change moves the sync `quiet` later, at
    /// most `max_delay` after the first one; a failed push is retried with backoff.
    /// `--now` forces a sync (of the running watcher, or here if none runs); `--status`
    /// tells what each target publishes and what waits. Ctrl-C or SIGTERM stops a
    /// running push first (its command gets SIGTERM, then SIGKILL after 10 s). Exit
    /// status: 0 ok (or stopped while idle); 1 the approved tree does not build, or
    /// (`--status`) a target lags too far; 2 a push or glassroom failed, or a stop cut a
    /// push short.
    #[command(
        after_help = "Examples:\n  glassroom sync --status /srv/ops\n  glassroom sync --now /srv/ops      # publish now instead of waiting\n  glassroom sync --watch /srv/ops    # run the schedule (as a service)"
    )]
    Sync(SyncArgs),
    /// Tell people what changed in the published state: email, webhooks and a command,
    /// from a durable outbox.
    ///
    /// Exit status: 0 ok; 1 (`--status`) deliveries were given up; 2 a delivery failed
    /// (it is retried by the next run) or glassroom failed.
    #[command(
        after_help = "Examples:\n  glassroom notify --once /srv/ops\n  glassroom notify --dry-run --format json /srv/ops\n  glassroom notify --status /srv/ops"
    )]
    Notify(NotifyArgs),
    /// Create a new content repository that builds at once: configuration, a policy
    /// naming you admin with your SSH signing key, a small example of every kind of
    /// file, and a first signed commit pinned as the trust root.
    ///
    /// Your key is `git config user.signingkey` (a key file or the key itself), else
    /// `~/.ssh/id_ed25519.pub`; without one the repository is created unsigned, and you
    /// are told how to make a key. Exit status: 0 created, 2 refused (a directory that is
    /// not empty, without `--force`) or failed.
    #[command(
        after_help = "Examples:\n  glassroom init ops && glassroom build ops\n  glassroom init --bare          # configuration and policy only, in this directory"
    )]
    Init(InitArgs),
    /// Write a skeleton file of one kind (host, ticket, logbook entry...) that passes
    /// `glassroom check`, and print its path. An existing file is never overwritten.
    #[command(
        after_help = "Examples:\n  glassroom new host web3\n  glassroom new ticket           # the next free number: tickets/t-<n>.md\n  glassroom new logbook          # logbook/YYYY/MM/<time>-note.md, by you, now"
    )]
    New(NewArgs),
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Examples:\n  glassroom completions bash > ~/.local/share/bash-completion/completions/glassroom\n  glassroom completions zsh > ~/.zfunc/_glassroom\n  glassroom completions fish > ~/.config/fish/completions/glassroom.fish"
    )]
    Completions(CompletionsArgs),
    /// Write a manual page (roff) per command into DIR: glassroom.1, glassroom-build.1...
    #[command(
        after_help = "Examples:\n  glassroom man /usr/local/share/man/man1\n  glassroom man target/man && man -l target/man/glassroom-init.1"
    )]
    Man(ManArgs),
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
    /// The build cache, so a rebuild renders and writes only what changed; rendered
    /// Markdown and parsed documents are kept beside it (`FILE.markdown`,
    /// `FILE.parsed`). Every cache file is sealed with a secret of this machine. Default:
    /// in the git directory (`.git/glassroom/build/`), or the user's cache directory for
    /// a directory that is not a repository.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_date(text: &str) -> Result<crate::content::types::Date, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a date: write it like 2026-12-01"))
}

fn parse_moment(text: &str) -> Result<Moment, String> {
    text.parse()
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Serve this built site directory (e.g. `public`), reloading it when it changes.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["repo", "preview", "trust_root"])]
    pub root: Option<PathBuf>,
    /// Build this repository's approved tree in memory and serve it, rebuilding on new
    /// commits [default: .].
    #[arg(long, value_name = "REPO")]
    pub repo: Option<PathBuf>,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Serve the working tree as it is (signed or not), rebuild on every change, and
    /// reload open pages; build errors are shown in the browser.
    #[arg(long)]
    pub preview: bool,
    /// Accept `POST /logbook` from robots (needs `--repo` and `--signing-key`).
    #[arg(long, requires = "signing_key", conflicts_with = "preview")]
    pub accept_logbook: bool,
    /// The OpenSSH private key (unencrypted) the server signs logbook commits with; its
    /// public key belongs to the robot in `.glassroom/policy.yaml`.
    #[arg(long, value_name = "PATH", requires = "accept_logbook")]
    pub signing_key: Option<PathBuf>,
    /// The moment to build for (default: the commit time; the clock for a preview).
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
    /// The commit history is verified from (as for `build`).
    #[arg(long)]
    pub trust_root: Option<String>,
    /// Seconds a client may take to send a logbook body, or stall while reading or
    /// writing (and to send its request headers, if shorter than --idle-timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Seconds a connection may stay open without sending a complete request head: from
    /// its start, and after each response on a kept-alive connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Connections one client (an IPv4 address, or an IPv6 /64) may hold at once; more
    /// are closed as soon as they are accepted. Behind a reverse proxy every connection
    /// comes from the proxy: raise it to the proxy's pool (at most the server's 1024).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_connections_per_client: u64,
    /// With --root: a YAML file of `name: sha256:<hex>` lines, the tokens applications
    /// must send to the OFREP endpoints (a repository lists them in glassroom.yaml,
    /// `serve.ofrep_tokens`). Without any, the endpoints answer anyone.
    #[arg(long, value_name = "FILE", requires = "root")]
    pub ofrep_tokens: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The procedure done: its id (the file name in `procedures/` without `.md`). Leave
    /// it out for an ad hoc entry (then `--note` says what happened).
    pub procedure: Option<String>,
    /// What the entry is about: `<kind>/<id>`, like `host/web1` or `certificate/www`
    /// (kinds: host, certificate, domain, module, release, ticket, site, service,
    /// procedure). It shows in that page's threads; with `--disposition acknowledged`
    /// it acknowledges the alert about it.
    #[arg(long, value_name = "KIND/ID")]
    pub about: Option<String>,
    /// Who did it: a user of `.glassroom/policy.yaml`.
    #[arg(long)]
    pub by: String,
    /// How it went: ok, info, problem, acknowledged, ignored, belay or end.
    #[arg(long)]
    pub disposition: Option<String>,
    /// With `--disposition acknowledged`: the last day the acknowledgement holds
    /// (`2026-12-01`); without it, it holds until the alert gets worse.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<crate::content::types::Date>,
    /// Notes (Markdown), the body of the entry.
    #[arg(long, default_value = "")]
    pub note: String,
    /// The id of the entry this one answers (a thread).
    #[arg(long, value_name = "ENTRY")]
    pub reply_to: Option<String>,
    /// When it was done (`2026-11-23T03:15:00Z`; default: now).
    #[arg(long, value_parser = parse_moment)]
    pub at: Option<Moment>,
    /// The repository.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Sign the commit with this OpenSSH private key (unencrypted); without it the commit
    /// is unsigned, which the logbook's usual `pre_approved` policy still publishes.
    #[arg(long, value_name = "PATH")]
    pub signing_key: Option<PathBuf>,
    /// The commit history is verified from (as for `build`).
    #[arg(long)]
    pub trust_root: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["watch", "now", "status"])))]
pub struct SyncArgs {
    /// The repository (a working tree or a bare repository).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Watch the repository and sync on DryDock's schedule until stopped.
    #[arg(long)]
    pub watch: bool,
    /// Sync now: ask the running watcher, or run one sync here if none runs.
    #[arg(long)]
    pub now: bool,
    /// Show what each target publishes, what waits and since when, and the next run.
    #[arg(long)]
    pub status: bool,
    /// Record each attempt in the logbook as this robot principal (procedure `sync`).
    #[arg(long, value_name = "NAME", conflicts_with = "status")]
    pub robot: Option<String>,
    /// Sign the robot's logbook commits with this OpenSSH private key (unencrypted).
    #[arg(long, value_name = "PATH", requires = "robot")]
    pub signing_key: Option<PathBuf>,
    /// The commit history is verified from (as for `build`).
    #[arg(long)]
    pub trust_root: Option<String>,
    /// With `--watch`: every this many seconds, notify what changed in the published
    /// state, including what time alone changed (as `glassroom notify --once`); 0 never.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub notify_every: u64,
    /// `--status` for people (`text`) or scripts (`json`).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
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

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The site's id (its file name in `sites/` without `.yaml`).
    pub site: String,
    /// What to do with the site's services.
    #[arg(value_enum)]
    pub operation: PlanOperation,
    /// The repository.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Print the `ssh` command lines in order and run nothing (no `--by` needed).
    #[arg(long)]
    pub dry_run: bool,
    /// Go on with the next waves after a step failed (the run still exits 1).
    #[arg(long)]
    pub keep_going: bool,
    /// Run a wave on up to N hosts at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub parallel: u64,
    /// Only these services' steps (their ids; repeat or separate by commas).
    #[arg(long, value_name = "SERVICE", num_args = 1.., value_delimiter = ',')]
    pub only: Vec<String>,
    /// Kill a step (and count it failed) after this long: `90s`, `10m`, `1h`.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub step_timeout: crate::content::types::Duration,
    /// Give `ssh` this configuration file (`ssh -F FILE`).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// `text` for people; `json` for scripts (with `--dry-run`, the schedule of
    /// docs/run.schema.json; otherwise the results, with the live output on stderr).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Who runs it, for the logbook: a user of `.glassroom/policy.yaml` (as `glassroom log --by`).
    #[arg(long, required_unless_present = "dry_run")]
    pub by: Option<String>,
    /// Sign the logbook commit with this OpenSSH private key (unencrypted), as
    /// `glassroom log --signing-key`; without it the commit is unsigned.
    #[arg(long, value_name = "PATH")]
    pub signing_key: Option<PathBuf>,
    /// The commit history is verified from (as for `build`).
    #[arg(long)]
    pub trust_root: Option<String>,
}

fn parse_duration(text: &str) -> Result<crate::content::types::Duration, String> {
    text.parse()
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
    /// Also fail (exit 1) when anything is pending signature, refused or left out (a
    /// pre-approved file with errors): for CI gates. Same as `--deny pending,refused,left-out`.
    #[arg(long)]
    pub strict: bool,
    /// Also fail (exit 1) when anything is in one of these states (comma-separated or
    /// repeated), listing each such file on stderr. A pre-receive hook uses `--deny
    /// refused,left-out`: a pushed change that merely waits for a signature is normal, a
    /// refused one (signed by someone without the role, a change to an append-only
    /// file...) or a pre-approved file with errors is not. Errors in content always fail.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STATE")]
    pub deny: Vec<Deny>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A state of the verified history that `glassroom check --deny` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Deny {
    /// A change waits for a signature (or a review) from someone with the role.
    Pending,
    /// A change broke a rule of the policy and will not publish as it is.
    Refused,
    /// A pre-approved file (e.g. a logbook entry) has errors and is left out.
    LeftOut,
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
    #[command(
        after_help = "Examples:\n  glassroom flags eval acme-corp new-checkout --repo .\n  glassroom flags eval acme-corp new-checkout --bundle https://ops.example.org/flags.json --explain"
    )]
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

    /// Every command and subcommand's help ends with examples.
    #[test]
    fn every_command_s_help_has_an_example() {
        fn visit(command: &mut clap::Command, path: &str, checked: &mut usize) {
            let help = command.render_long_help().to_string();
            if !path.is_empty() {
                assert!(help.contains("Examples:\n  glassroom "), "{path}: {help}");
                *checked += 1;
            }
            // clap's own `help` subcommand is not ours.
            for sub in command
                .get_subcommands_mut()
                .filter(|sub| sub.get_name() != "help")
            {
                let name = format!("{path} {}", sub.get_name());
                visit(sub, &name, checked);
            }
        }
        let mut checked = 0;
        visit(&mut Cli::command(), "", &mut checked);
        assert!(checked >= 12, "{checked} commands");
    }
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "dry_run", "status"])))]
pub struct NotifyArgs {
    /// The repository (a working tree or a bare repository).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Compute the events since the last run, deliver every pending message, and exit.
    #[arg(long)]
    pub once: bool,
    /// Print what would be sent to whom; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Show the outbox: counts, failures, what was given up.
    #[arg(long)]
    pub status: bool,
    /// The moment to evaluate at (alerts depend on it); default: the clock.
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to create the repository in (created if missing; must be empty).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Write only the configuration, the policy and `.gitignore`: no example content.
    #[arg(long)]
    pub bare: bool,
    /// Write into a directory that is not empty (files of the same names are replaced).
    #[arg(long)]
    pub force: bool,
    /// The moment the examples are dated from (default: the clock).
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The kind of file: host, certificate, domain, module, release, procedure, logbook,
    /// ticket, site, service, feature, account-set, news or person.
    #[arg(value_name = "KIND")]
    pub kind: String,
    /// The new entity's id (its file name without extension). Default: the next free
    /// `t-<n>` for a ticket, a time-based id for a logbook entry or news, else required.
    pub id: Option<String>,
    /// The repository.
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// The moment the file is dated (a logbook entry's `at`, a ticket's `opened`...;
    /// `2026-11-22` or RFC 3339; default: the clock).
    #[arg(long, value_parser = parse_moment)]
    pub now: Option<Moment>,
    /// Who is named as author, owner or reporter (default: you, as `glassroom init` names
    /// you: from `git config user.email`, `user.name` or $USER).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}
