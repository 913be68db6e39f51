//! `glassroom serve`: checks the arguments, starts the server on a tokio runtime, and
//! stops it on Ctrl-C or SIGTERM.

use std::io::{IsTerminal, Write};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Outcome;
use crate::cli::ServeArgs;
use crate::diag::render::{self, Style};
use crate::diag::{Diagnostics, Files};
use crate::intake::Signer;
use crate::pipeline::Source;
use crate::serve::{self, Config, Console, Limits, Server, Serving};

#[derive(Debug, thiserror::Error)]
enum ServeCommandError {
    #[error(
        "cannot listen on {addr}: {source}; pick another address with --addr (port 0 picks a free one)"
    )]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("--addr {addr} is not an address to listen on: {reason}; write it like 127.0.0.1:8080")]
    Address { addr: String, reason: String },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("cannot read the OFREP tokens in {}: {reason}", path.display())]
    Tokens { path: PathBuf, reason: String },
}

pub fn run(args: &ServeArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let config = config(args)?;
    let limits = config.limits;
    let console: Arc<dyn Console> = Arc::new(Stderr::new());
    let addr = resolve(&args.addr)?;
    let listener = listen(addr).map_err(|source| ServeCommandError::Listen {
        addr: args.addr.clone(),
        source,
    })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeCommandError::Listen {
            addr: args.addr.clone(),
            source,
        })?;
    let server = Server::start(config, Arc::clone(&console))?;
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "serving {} on http://{local}/ (Ctrl-C to stop)",
            server.description
        );
        let _ = stdout.flush();
    }
    let state = server.state();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    serve::serve(listener, state, limits, threads, shutdown_signal())
        .map_err(ServeCommandError::Serve)?;
    drop(server);
    console.info("stopped");
    Ok(Outcome::Ok)
}

/// Arguments → a checked configuration.
fn config(args: &ServeArgs) -> Result<Config, Box<dyn std::error::Error>> {
    let serving = match &args.root {
        Some(root) => Serving::Root(root.clone()),
        None => Serving::Repo {
            path: args.repo.clone().unwrap_or_else(|| PathBuf::from(".")),
            source: Source {
                rev: None,
                worktree: args.preview,
                trust_root: args.trust_root.clone(),
            },
        },
    };
    let logbook = match (&args.signing_key, args.accept_logbook) {
        (Some(path), true) => Some(Signer::from_file(path)?),
        _ => None,
    };
    Ok(Config {
        serving,
        now: args.now,
        logbook,
        limits: Limits {
            timeout: Duration::from_secs(args.timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_connections_per_client: usize::try_from(args.max_connections_per_client)
                .unwrap_or(usize::MAX),
            ..Limits::default()
        },
        clock: Arc::new(super::repository::clock),
        ofrep_tokens: args.ofrep_tokens.as_deref().map(read_tokens).transpose()?,
    })
}

/// `--ofrep-tokens FILE`: `name: sha256:<64 hex>` per application.
fn read_tokens(path: &std::path::Path) -> Result<serve::Tokens, ServeCommandError> {
    let error = |reason: String| ServeCommandError::Tokens {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| error(err.to_string()))?;
    let map: std::collections::BTreeMap<String, String> = serde_saphyr::from_str(&text)
        .map_err(|err| error(format!("{err}; write one `name: sha256:<hex>` per line")))?;
    if let Some((name, _)) = map
        .iter()
        .find(|(_, digest)| serve::tokens::parse_digest(digest).is_none())
    {
        return Err(error(format!(
            "the token of `{name}` is not `sha256:` and 64 hex digits; store the hash, never the token: `printf %s \"$TOKEN\" | sha256sum`"
        )));
    }
    if map.is_empty() {
        return Err(error(
            "it lists no token; leave --ofrep-tokens out to answer anyone".into(),
        ));
    }
    Ok(serve::Tokens::from_digests(
        map.iter()
            .map(|(name, digest)| (name.as_str(), digest.as_str())),
    ))
}

/// Connections the kernel completes and queues before the server accepts them; the
/// kernel caps it at `net.core.somaxconn` (4096 by default).
const BACKLOG: i32 = 4096;

/// A listening socket with a backlog deep enough for bursts: std's is 128, which a
/// single client reconnecting in a loop fills while the event loops are busy, and a SYN
/// that finds it full is dropped and retried by the client only a second later.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // As std does: a restarted server can listen again at once.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

fn resolve(text: &str) -> Result<std::net::SocketAddr, ServeCommandError> {
    let error = |reason: String| ServeCommandError::Address {
        addr: text.to_owned(),
        reason,
    };
    text.to_socket_addrs()
        .map_err(|err| error(err.to_string()))?
        .next()
        .ok_or_else(|| error("it resolves to no address".into()))
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}

/// Server messages on stderr, diagnostics with source context on a terminal.
struct Stderr {
    style: Style,
}

impl Stderr {
    fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let color = terminal && std::env::var_os("NO_COLOR").is_none();
        Stderr {
            style: if terminal {
                Style::Rich { color }
            } else {
                Style::Short
            },
        }
    }
}

impl Console for Stderr {
    fn info(&self, message: &str) {
        eprintln!("glassroom serve: {}", crate::diag::printable(message));
    }
    fn warning(&self, message: &str) {
        eprintln!(
            "glassroom serve: warning: {}",
            crate::diag::printable(message)
        );
    }
    fn diagnostics(&self, files: &Files, diagnostics: &Diagnostics) {
        let _ = render::to_stderr(files, diagnostics, self.style);
    }
}
