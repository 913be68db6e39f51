//! One subcommand, one file: each turns checked arguments into work and an exit status.

mod audit;
mod build;
mod check;
mod completions;
mod flags;
mod init;
mod log;
mod man;
mod new;
mod notify;
mod plan;
mod repository;
mod run;
mod scaffold;
mod serve;
mod sign;
mod skeleton;
mod sync;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, ColorChoice, Command, Format, OutputArgs};
use crate::diag::render::{self, Style};
use crate::diag::{Diagnostics, Files};

/// How a command ended: the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is fine (exit 0).
    Ok,
    /// The content has problems (exit 1).
    Findings,
    /// glassroom could not do its job (exit 2).
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Findings => ExitCode::from(1),
            Outcome::Failed => ExitCode::from(2),
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Flags(crate::cli::FlagsCommand::Eval(args)) => flags::eval(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Sign(args) => sign::run(&args, sign::Action::Approve),
        Command::Review(args) => sign::run(&args, sign::Action::Review),
        Command::Revoke(args) => sign::run(&args, sign::Action::Revoke),
        Command::Serve(args) => serve::run(&args),
        Command::Log(args) => log::run(&args),
        Command::Sync(args) => sync::run(&args),
        Command::Notify(args) => notify::run(&args),
        Command::Init(args) => init::run(&args),
        Command::New(args) => new::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    };
    crate::timings::mark("finish (free the model)");
    match result {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            report_error(&*err);
            Outcome::Failed.into()
        }
    }
}

/// Prints an error and its whole cause chain, a line each (errors name files and
/// refs, which are [escaped](crate::diag::printable)).
fn report_error(err: &(dyn std::error::Error + 'static)) {
    let mut message = format!("error: {}", crate::diag::printable(&err.to_string()));
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(&format!(
            "\n  caused by: {}",
            crate::diag::printable(&cause.to_string())
        ));
        source = cause.source();
    }
    eprintln!("{message}");
}

/// Writes diagnostics in the style the user asked for (JSON is written by the caller).
fn print_diagnostics(
    files: &Files,
    diagnostics: &Diagnostics,
    output: &OutputArgs,
) -> std::io::Result<()> {
    let style = match output.format {
        Format::Json => return Ok(()),
        Format::Short => Style::Short,
        Format::Human => {
            let terminal = std::io::stderr().is_terminal();
            let color = match output.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => terminal,
            };
            if terminal || output.color == ColorChoice::Always {
                Style::Rich { color }
            } else {
                Style::Short
            }
        }
    };
    ignore_broken_pipe(render::to_stderr(files, diagnostics, style))
}

/// A closed pipe (`glassroom check | head`) is not an error.
fn ignore_broken_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
