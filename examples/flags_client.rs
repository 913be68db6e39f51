//! Polls a published flag bundle with the library's client and prints a flag's value,
//! with the rule that decided it and how the fetches went, once a second.
//!
//! ```sh
//! cargo run --release -- build content-example --now 2026-11-22
//! cargo run --example flags_server -- content-example/public --port 8080 &
//! cargo run --example flags_client -- http://127.0.0.1:8080/flags.json acct-1001 new-checkout --ttl 2
//! ```
//!
//! Options: `--ttl SECONDS` (default 300), `--for SECONDS` to stop after a while (default:
//! run until interrupted), `--bootstrap FILE` to start from a saved bundle, `--default V`
//! for the caller's default.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use glassroom::flags::Client;

struct Args {
    url: String,
    account: String,
    feature: String,
    ttl: u64,
    run_for: Option<u64>,
    bootstrap: Option<String>,
    default: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut positional = Vec::new();
    let (mut ttl, mut run_for, mut bootstrap, mut default) = (300, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--ttl" => ttl = value("--ttl")?.parse().map_err(|e| format!("--ttl: {e}"))?,
            "--for" => run_for = Some(value("--for")?.parse().map_err(|e| format!("--for: {e}"))?),
            "--bootstrap" => bootstrap = Some(value("--bootstrap")?),
            "--default" => default = Some(value("--default")?),
            _ => positional.push(arg),
        }
    }
    let [url, account, feature]: [String; 3] = positional
        .try_into()
        .map_err(|_| "usage: flags_client URL ACCOUNT FEATURE [--ttl S] [--for S] [--bootstrap FILE] [--default V]")?;
    Ok(Args {
        url,
        account,
        feature,
        ttl,
        run_for,
        bootstrap,
        default,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let default = match args
        .default
        .as_deref()
        .map(glassroom::cli::parse_flag_value)
    {
        Some(Ok(value)) => Some(value),
        Some(Err(message)) => {
            eprintln!("--default: {message}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let mut builder = Client::builder(&args.url).ttl(Duration::from_secs(args.ttl));
    if let Some(file) = &args.bootstrap {
        builder = builder.bootstrap_file(file);
    }
    let client = builder.start();
    // Optional: give the first fetch a moment. feature_flag never waits; before the first
    // bundle it answers the caller's default (else false).
    if !client.wait_ready(Duration::from_secs(5)) {
        eprintln!("no bundle yet; answering defaults until one arrives");
    }
    let started = Instant::now();
    loop {
        let decision = client.evaluate(&args.account, &args.feature, default.as_ref());
        let status = client.status();
        let bundle = status
            .sha256
            .as_deref()
            .map_or("none", |s| s.get(..12).unwrap_or(s));
        let error = status
            .last_error
            .as_ref()
            .map(|e| format!("  last error: {e}"))
            .unwrap_or_default();
        println!(
            "{} {}/{} = {} ({})  bundle {bundle}  updates {}  not modified {}  failures {}{error}",
            jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or_default(),
            args.account,
            args.feature,
            serde_json::to_string(&decision.value).unwrap_or_default(),
            decision.decided_by,
            status.updates,
            status.not_modified,
            status.failures,
        );
        if args
            .run_for
            .is_some_and(|s| started.elapsed() >= Duration::from_secs(s))
        {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    client.shutdown();
    ExitCode::SUCCESS
}
