//! `glassroom serve`: the site over HTTP from memory, with strong ETags and `304`s,
//! rebuilt and swapped in whole when its input changes, a live-reloading preview of the
//! working tree, and `POST /logbook` for robots.
//!
//! [`Server::start`] does the first build and starts the watcher thread; [`serve`] runs
//! the HTTP event loops (hyper on tokio) until the shutdown future completes. Requests read the current
//! [`Snapshot`] through an `ArcSwap`: a rebuild replaces it in one atomic store, so a
//! request sees either the old site or the new one, never a mix.

pub mod clients;
pub mod files;
pub mod logbook;
pub mod payload;
pub mod preview;
pub mod routes;
pub mod watch;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;

use self::files::{Asset, Site};
use self::logbook::{Approved, Intake, Logged};
use self::watch::{After, Layout, Signal};
use crate::content::types::Moment;
use crate::diag::{Diagnostics, Files};
use crate::intake::Signer;
use crate::pipeline::{self, Source};

/// Every response is complete in memory (files, errors, logbook replies).
pub use payload::Body;

/// Seconds since the epoch, read when needed (tests inject a fixed one).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What to serve.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A built site directory, reloaded when it changes.
    Root(PathBuf),
    /// A repository, built in memory from its approved tree (or, with
    /// `source.worktree`, from its working directory: the preview).
    Repo { path: PathBuf, source: Source },
}

/// Bounds on what a client may send or hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a read or write may stall; time to send a logbook body; and, if shorter
    /// than `idle_timeout`, time to send the request headers.
    pub timeout: Duration,
    /// Time to send a complete request head, from the connection's start and again after
    /// each response: a connection that sends nothing (or not enough) is closed then. It
    /// is short because such a connection holds a place in the cap for nothing.
    pub idle_timeout: Duration,
    /// The request line and headers together (hyper's minimum is 8 KiB). At most 100
    /// headers are read (hyper's fixed, allocation-free default).
    pub max_header_bytes: usize,
    /// A logbook entry's body.
    pub max_body_bytes: usize,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Connections one client (an IPv4 address or an IPv6 /64) may hold at once; more
    /// are closed as soon as they are accepted. Below `max_connections`, so that no one
    /// client can fill the cap.
    pub max_connections_per_client: usize,
    /// How long shutdown waits for requests in progress.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 1024,
            max_connections_per_client: 64,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A checked configuration.
pub struct Config {
    pub origin: Origin,
    /// The moment to build for (default: the commit time, or the clock for a preview).
    pub now: Option<Moment>,
    /// Accept `POST /logbook`, committing with this key (needs [`Origin::Repo`]).
    pub logbook: Option<Signer>,
    pub limits: Limits,
    pub clock: Clock,
}

/// Where the server tells what it does (the command prints to stderr).
pub trait Report: Send + Sync {
    fn info(&self, message: &str);
    fn warning(&self, message: &str);
    fn diagnostics(&self, files: &Files, diagnostics: &Diagnostics);
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "{} does not exist; build a site there first (`glassroom build REPO --out {}`) or serve a repository with --repo",
        path.display(), path.display()
    )]
    NoRoot { path: PathBuf },
    #[error("cannot read the site in {}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: files::LoadError,
    },
    #[error("cannot open the repository {}", path.display())]
    Repo {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot watch {} for changes", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("--accept-logbook needs a repository to commit to: serve it with --repo")]
    LogbookWithoutRepo,
    #[error(
        "--accept-logbook cannot be combined with --preview: entries are checked against the approved tree"
    )]
    LogbookInPreview,
}

/// The site as requests see it at one moment.
pub struct Snapshot {
    /// Changes with every rebuild (the live-reload script watches it).
    pub generation: u64,
    pub view: View,
}

pub enum View {
    Site(Site),
    /// The build failed and there is no site to show (a preview always shows this).
    Broken(Asset),
}

/// Everything a request handler needs.
pub struct State {
    current: ArcSwap<Snapshot>,
    preview: bool,
    intake: Option<Intake>,
    poke: Sender<Signal>,
    report: Arc<dyn Report>,
}

impl State {
    /// The snapshot being served now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }
}

/// A started server: its state, and the thread that rebuilds it.
pub struct Server {
    state: Arc<State>,
    stop: Sender<Signal>,
    watcher: Option<std::thread::JoinHandle<()>>,
    /// One line saying what is served.
    pub description: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(Signal::Stop);
        if let Some(thread) = self.watcher.take() {
            let _ = thread.join();
        }
    }
}

/// Builds sites for an origin.
struct Builder {
    origin: Origin,
    now: Option<Moment>,
    clock: Clock,
    want_rules: bool,
    /// What the last successful build leaves to the next, so a rebuild renders only what
    /// changed.
    memory: std::sync::Mutex<pipeline::Memory>,
    /// What the last read of a working tree or an approved tree saw, so a rebuild reads
    /// only changed files.
    reads: pipeline::Caches,
}

/// The result of one build.
enum Built {
    Site {
        site: Box<Site>,
        approved: Option<Box<Approved>>,
        summary: String,
    },
    Broken {
        title: String,
        details: String,
    },
    /// The input was caught mid-change; try again.
    Retry(String),
}

/// Hands the last verified state to a writing thread when dropped
/// ([`Kept::save`](crate::trust::history::Kept::save)).
struct SaveTrustLater<'k>(&'k crate::trust::history::Kept);

impl Drop for SaveTrustLater<'_> {
    fn drop(&mut self) {
        self.0.save();
    }
}

impl Builder {
    fn preview(&self) -> bool {
        matches!(&self.origin, Origin::Repo { source, .. } if source.worktree)
    }

    /// Keeps what a build did for the next one.
    fn keep(&self, memory: pipeline::Memory) {
        if let Ok(mut kept) = self.memory.lock() {
            *kept = memory;
        }
    }

    /// Builds the site; `previous` is the site served now, whose unchanged files are
    /// reused.
    fn build(&self, previous: Option<&Site>, report: &dyn Report) -> Built {
        let started = Instant::now();
        match &self.origin {
            Origin::Root(root) => match files::read_dir(root) {
                Ok(files) => {
                    let files = files
                        .into_iter()
                        .map(|(path, bytes)| (path, payload::Payload::from(bytes)))
                        .collect();
                    let site = Box::new(Site::rebuilt(
                        files,
                        None,
                        previous.map(|site| (site, &[][..], true)),
                        true,
                    ));
                    let summary = format!(
                        "{} files from {} in {} ms",
                        site.len(),
                        root.display(),
                        started.elapsed().as_millis()
                    );
                    Built::Site {
                        site,
                        approved: None,
                        summary,
                    }
                }
                Err(err) => Built::Retry(err.to_string()),
            },
            Origin::Repo { path, source } => self.build_repo(path, source, previous, report),
        }
    }

    fn build_repo(
        &self,
        path: &Path,
        source: &Source,
        previous: Option<&Site>,
        report: &dyn Report,
    ) -> Built {
        let started = Instant::now();
        crate::timings::mark("rebuild asked for");
        // The verified state is written to its cache file once this rebuild is done,
        // whatever its outcome, so the writing does not slow it down.
        let _save = SaveTrustLater(&self.reads.trust);
        let clock = (self.clock)();
        let opened = match pipeline::open_cached(path, source, clock, &self.reads) {
            Ok(opened) => opened,
            Err(err) => {
                let mut details = err.to_string();
                let mut cause = err.source();
                while let Some(inner) = cause {
                    details.push_str(&format!("\n  caused by: {inner}"));
                    cause = inner.source();
                }
                return Built::Broken {
                    title: format!("Cannot read {}", path.display()),
                    details,
                };
            }
        };
        for warning in &opened.warnings {
            report.warning(warning);
        }
        let now = if self.preview() {
            self.now.or_else(|| {
                jiff::Timestamp::from_second(preview_now(clock))
                    .ok()
                    .map(Moment)
            })
        } else {
            self.now
        };
        crate::timings::mark("open (read the tree)");
        let mut memory = self
            .memory
            .lock()
            .map(|mut kept| std::mem::take(&mut *kept))
            .unwrap_or_default();
        memory.markdown = std::mem::take(&mut memory.markdown).absorbed();
        // Only changes to the site served now are made, unless there is none (the last
        // build failed, or this is the first).
        let result = pipeline::rebuild(&opened, now, clock, &memory, previous.is_none());
        match result {
            Ok(built) => {
                if !built.warnings.is_empty() {
                    report.diagnostics(&built.sources, &built.warnings);
                }
                // The intake's rules come from the content just built (the same tree;
                // pending notes change only what its findings say).
                let approved = self
                    .want_rules
                    .then(|| {
                        memory
                            .parsed
                            .with_content(|content| Box::new(Approved::from_content(content)))
                    })
                    .flatten();
                let inject = preview::injector();
                let rendered = built.files.len() + built.parts.len();
                let files = built
                    .files
                    .into_iter()
                    .map(|(path, bytes)| (path, payload::Payload::from(bytes)))
                    .chain(
                        built
                            .parts
                            .into_iter()
                            .map(|(path, parts)| (path, payload::Payload::from_parts(parts))),
                    )
                    .collect();
                let site = Box::new(Site::rebuilt(
                    files,
                    self.preview().then_some(&inject as &files::HtmlRewrite),
                    previous.map(|site| (site, built.removed.as_slice(), built.complete)),
                    !self.preview(),
                ));
                crate::timings::mark("files to serve");
                self.keep(memory);
                crate::defer::drop_later(opened);
                let summary = format!(
                    "{} files ({} rendered, {} unchanged), {} alerts, now = {}, in {} ms",
                    site.len(),
                    rendered,
                    site.len().saturating_sub(rendered),
                    built.alerts,
                    built.now,
                    started.elapsed().as_millis()
                );
                Built::Site {
                    site,
                    approved,
                    summary,
                }
            }
            Err(failed) => {
                // The keys still describe the site served now, if any.
                self.keep(memory);
                report.diagnostics(&failed.sources, &failed.diagnostics);
                let count = failed.diagnostics.iter().count();
                Built::Broken {
                    title: format!(
                        "The build failed with {count} problem{}",
                        if count == 1 { "" } else { "s" }
                    ),
                    details: preview::diagnostics_text(&failed.sources, &failed.diagnostics),
                }
            }
        }
    }

    fn layout(&self) -> Result<Layout, ServeError> {
        let canonical = |path: &Path| {
            path.canonicalize().map_err(|err| ServeError::Watch {
                path: path.to_path_buf(),
                source: notify::Error::io(err),
            })
        };
        match &self.origin {
            // The root itself is not resolved: it may be a symbolic link that a deploy
            // (like `glassroom sync`'s dir target) swaps to a new release, which is seen
            // in its (resolved) parent directory.
            Origin::Root(root) => {
                let absolute = std::path::absolute(root).map_err(|err| ServeError::Watch {
                    path: root.clone(),
                    source: notify::Error::io(err),
                })?;
                let root = match (absolute.parent(), absolute.file_name()) {
                    (Some(parent), Some(name)) => canonical(parent)?.join(name),
                    _ => canonical(&absolute)?,
                };
                Ok(Layout::Root { root })
            }
            Origin::Repo { path, source } => {
                let root = canonical(path)?;
                let Ok(repo) = git2::Repository::open(&root) else {
                    // Not a repository: only a preview of the directory can change.
                    return Ok(Layout::Worktree {
                        git_dir: root.join(".git"),
                        common_dir: root.join(".git"),
                        root,
                    });
                };
                let git_dir = canonical(repo.path())?;
                let common_dir = canonical(repo.commondir())?;
                Ok(if source.worktree {
                    Layout::Worktree {
                        root,
                        git_dir,
                        common_dir,
                    }
                } else {
                    Layout::Refs {
                        git_dir,
                        common_dir,
                    }
                })
            }
        }
    }
}

impl Server {
    /// Checks the configuration, builds the site once and starts watching its input.
    pub fn start(config: Config, report: Arc<dyn Report>) -> Result<Server, ServeError> {
        let preview = matches!(&config.origin, Origin::Repo { source, .. } if source.worktree);
        if config.logbook.is_some() {
            match &config.origin {
                Origin::Root(_) => return Err(ServeError::LogbookWithoutRepo),
                Origin::Repo { .. } if preview => return Err(ServeError::LogbookInPreview),
                Origin::Repo { .. } => {}
            }
        }
        if let Origin::Root(root) = &config.origin
            && !root.is_dir()
        {
            return Err(ServeError::NoRoot { path: root.clone() });
        }
        if let Origin::Repo { path, .. } = &config.origin
            && !path.is_dir()
        {
            return Err(ServeError::Repo {
                path: path.clone(),
                source: "it is not a directory".into(),
            });
        }
        let intake = match (&config.origin, config.logbook) {
            (Origin::Repo { path, .. }, Some(signer)) => Some(Intake::new(
                path.clone(),
                signer,
                Arc::clone(&config.clock),
                config.limits.max_body_bytes,
                config.limits.timeout,
            )),
            _ => None,
        };
        if let (Some(_), Origin::Repo { path, .. }) = (&intake, &config.origin) {
            // Before the first post: what an intake killed midway left must not make
            // every post (and a person's git) fail.
            match crate::intake::recover(path) {
                Ok(repaired) => {
                    for line in repaired {
                        report.info(&format!("logbook intake: {line}"));
                    }
                }
                Err(err) => report.warning(&format!("logbook intake: {err}")),
            }
        }
        let builder = Builder {
            reads: pipeline::Caches::keeping(),
            memory: std::sync::Mutex::new(pipeline::Memory::keeping()),
            origin: config.origin.clone(),
            now: config.now,
            clock: Arc::clone(&config.clock),
            want_rules: intake.is_some(),
        };
        let layout = builder.layout()?;

        // The first build: a site directory that cannot be read is an error; a
        // repository whose content fails shows the failure in the browser.
        let mut first = builder.build(None, &*report);
        for _ in 0..20 {
            let Built::Retry(_) = first else { break };
            std::thread::sleep(Duration::from_millis(100));
            first = builder.build(None, &*report);
        }
        let view = match first {
            Built::Site {
                site,
                approved,
                summary,
            } => {
                report.info(&format!("built {summary}"));
                if let (Some(intake), Some(approved)) = (&intake, approved) {
                    check_signing_key(intake, &approved, &*report);
                    intake.set_approved(*approved);
                }
                if site.get("index.html").is_none() {
                    report.warning(
                        "the site has no index.html: is this a site built by `glassroom build`?",
                    );
                }
                View::Site(*site)
            }
            Built::Broken { title, details } => {
                report.warning(&format!("{title}: serving an error page until it is fixed"));
                View::Broken(preview::error_page(&title, &details, preview))
            }
            Built::Retry(message) => {
                let Origin::Root(root) = &config.origin else {
                    return Err(ServeError::Repo {
                        path: PathBuf::new(),
                        source: message.into(),
                    });
                };
                return Err(ServeError::Root {
                    path: root.clone(),
                    source: files::LoadError::Moved { path: root.clone() },
                });
            }
        };

        let (sender, receiver) = std::sync::mpsc::channel();
        let state = Arc::new(State {
            current: ArcSwap::from_pointee(Snapshot {
                generation: 1,
                view,
            }),
            preview,
            intake,
            poke: sender.clone(),
            report: Arc::clone(&report),
        });
        let generation = Arc::new(AtomicU64::new(1));
        let rebuild_state = Arc::clone(&state);
        let rebuild = move |changed: watch::Changed| {
            builder
                .reads
                .files
                .note_changes(changed.map(|paths| paths.into_iter().collect()));
            rebuild(&builder, &rebuild_state, &generation)
        };
        let warn_report = Arc::clone(&report);
        let watch_path = match &config.origin {
            Origin::Root(path) | Origin::Repo { path, .. } => path.clone(),
        };
        let watcher = watch::spawn(layout, sender.clone(), receiver, rebuild, move |message| {
            warn_report.warning(&message)
        })
        .map_err(|source| ServeError::Watch {
            path: watch_path,
            source,
        })?;
        let description = match &config.origin {
            Origin::Root(root) => format!("the site in {}", root.display()),
            Origin::Repo { path, .. } if preview => {
                format!("a live preview of the working tree of {}", path.display())
            }
            Origin::Repo { path, .. } => format!("the approved tree of {}", path.display()),
        };
        Ok(Server {
            state,
            stop: sender,
            watcher: Some(watcher),
            description,
        })
    }

    pub fn state(&self) -> Arc<State> {
        Arc::clone(&self.state)
    }
}

/// The signing key should belong to someone in the policy, or the commits it signs are
/// not attributed to anyone (they still publish: the logbook is pre-approved).
fn check_signing_key(intake: &Intake, approved: &Approved, report: &dyn Report) {
    match approved.key_owner(intake.signer().public_key()) {
        Some(owner) => report.info(&format!(
            "accepting logbook entries from {} robot token(s); commits are signed as `{owner}`",
            approved.robots()
        )),
        None => report.warning(
            "the --signing-key is not listed for any user in .glassroom/policy.yaml: entries will be committed, but their signatures will not be attributed; add its public key to the robot's `keys`",
        ),
    }
    if approved.robots() == 0 {
        report.warning(
            "glassroom.yaml lists no serve.logbook_tokens: every POST /logbook will be refused (401)",
        );
    }
}

/// How finely a preview's "now" follows the clock: to the minute, so rebuilds within a
/// minute reuse the lists and the API too (detail pages do not depend on "now").
const PREVIEW_NOW_STEP_SECONDS: i64 = 60;

fn preview_now(clock: i64) -> i64 {
    clock - clock.rem_euclid(PREVIEW_NOW_STEP_SECONDS)
}

/// One rebuild on the watcher thread: build, then swap the snapshot in.
fn rebuild(builder: &Builder, state: &State, generation: &AtomicU64) -> After {
    let next = generation.load(Ordering::SeqCst) + 1;
    let served = state.current.load_full();
    let previous = match &served.view {
        View::Site(site) => Some(site),
        View::Broken(_) => None,
    };
    match builder.build(previous, &*state.report) {
        Built::Site {
            site,
            approved,
            summary,
        } => {
            generation.store(next, Ordering::SeqCst);
            if let (Some(intake), Some(approved)) = (&state.intake, approved) {
                intake.set_approved(*approved);
            }
            state.current.store(Arc::new(Snapshot {
                generation: next,
                view: View::Site(*site),
            }));
            state.report.info(&format!("rebuilt: {summary}"));
            crate::defer::drop_later(served);
            After::Done
        }
        Built::Broken { title, details } => {
            let showing_site = matches!(state.current.load().view, View::Site(_));
            if state.preview || !showing_site {
                generation.store(next, Ordering::SeqCst);
                state.current.store(Arc::new(Snapshot {
                    generation: next,
                    view: View::Broken(preview::error_page(&title, &details, state.preview)),
                }));
                state
                    .report
                    .warning(&format!("{title}: the browser shows the errors"));
            } else {
                state
                    .report
                    .warning(&format!("{title}: still serving the last good build"));
            }
            After::Done
        }
        Built::Retry(message) => {
            state.report.warning(&format!("{message}; retrying"));
            After::Retry
        }
    }
}

/// Answers one request. Static files need no routing beyond a map lookup, so this is
/// the whole application: `POST /logbook`, the preview's live endpoint, then files.
pub async fn dispatch(state: Arc<State>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path();
    if path == "/logbook" && request.method() == Method::POST {
        let Some(intake) = &state.intake else {
            return logbook::not_accepted();
        };
        let (response, logged) = intake.post(request).await;
        if let Logged::Appended {
            principal,
            appended,
        } = logged
        {
            for line in &appended.repaired {
                state.report.info(&format!("logbook intake: {line}"));
            }
            state.report.info(&format!(
                "logbook: {principal} appended {} (commit {})",
                appended.path,
                appended.commit.get(..10).unwrap_or(&appended.commit)
            ));
            let _ = state.poke.send(Signal::Poke);
        }
        return response;
    }
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return routes::method_not_allowed(if path == "/logbook" && state.intake.is_some() {
            "GET, HEAD, POST"
        } else {
            "GET, HEAD"
        });
    }
    let snapshot = state.current.load();
    if path == preview::LIVE_PATH && state.preview {
        return live(&snapshot, request.uri().query());
    }
    match &snapshot.view {
        View::Broken(page) => {
            let mut response = routes::respond(request.headers(), page);
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            }
            response
        }
        View::Site(site) => match routes::lookup(site, path) {
            routes::Lookup::File(asset) => routes::respond(request.headers(), asset),
            routes::Lookup::Redirect(location) => {
                routes::redirect(&location, request.uri().query())
            }
            routes::Lookup::NotFound => not_found(site, request.headers()),
        },
    }
}

/// The site's own `404.html` when it has one.
fn not_found(site: &Site, headers: &http::HeaderMap) -> Response<Body> {
    match site.not_found() {
        Some(page) => {
            let mut response = routes::respond(headers, page);
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => routes::text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `{"generation": N, "tag": T}`: T is the tag of what `?page=<path>` shows now (a
/// page, the site's 404 page, the error page), which the page's script compares with its
/// own; `null` without a page.
fn live(snapshot: &Snapshot, query: Option<&str>) -> Response<Body> {
    let page = query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "page")
            .map(|(_, value)| value.into_owned())
    });
    let tag = page.map(|path| {
        let source = match &snapshot.view {
            View::Broken(page) => Some(page.source()),
            View::Site(site) => match routes::lookup(site, &path) {
                routes::Lookup::File(asset) => Some(asset.source()),
                routes::Lookup::Redirect(_) => None,
                routes::Lookup::NotFound => site.not_found().map(|page| page.source()),
            },
        };
        source.map_or_else(|| "none".to_owned(), |s| preview::tag(&s))
    });
    let body = serde_json::json!({ "generation": snapshot.generation, "tag": tag });
    let mut response = Response::new(Body::from(format!("{body}\n")));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting and
/// lets requests in progress finish (at most `limits.shutdown_grace`).
///
/// Like nginx's worker processes, `threads` event loops (each a single-threaded tokio
/// runtime) accept from the same socket and keep each connection on the loop that
/// accepted it, so no task or wake-up ever crosses threads. Rebuilds run elsewhere (the
/// watcher thread), so a slow build never delays a request.
pub fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    limits: Limits,
    threads: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let clients = clients::Clients::new(limits.max_connections_per_client);
    let mut workers = Vec::new();
    for n in 1..threads.max(1) {
        let listener = listener.try_clone()?;
        let state = Arc::clone(&state);
        let permits = Arc::clone(&permits);
        let clients = Arc::clone(&clients);
        let stopped = stopped.clone();
        let worker = std::thread::Builder::new()
            .name(format!("glassroom-http-{n}"))
            .spawn(move || -> std::io::Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let held = Held { permits, clients };
                runtime.block_on(accept_loop(listener, state, limits, held, stopped))
            })?;
        workers.push(worker);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async move {
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let held = Held { permits, clients };
        let (_, served) = tokio::join!(signal, accept_loop(listener, state, limits, held, stopped));
        served
    });
    for worker in workers {
        match worker.join() {
            Ok(Err(err)) => return Err(err),
            Ok(Ok(())) => {}
            Err(_) => return Err(std::io::Error::other("an HTTP worker thread failed")),
        }
    }
    result
}

/// What the event loops share about the connections they hold: the cap on all of them,
/// and the count per client.
struct Held {
    permits: Arc<tokio::sync::Semaphore>,
    clients: Arc<clients::Clients>,
}

/// One event loop: accept, serve each connection on this thread, stop when told.
async fn accept_loop(
    listener: std::net::TcpListener,
    state: Arc<State>,
    limits: Limits,
    held: Held,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let Held { permits, clients } = held;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // From the connection's start and between requests: a connection that sends no
        // request head is closed after `idle_timeout`.
        .header_read_timeout(limits.idle_timeout.min(limits.timeout))
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true)
        // One buffer and write(2) per response instead of writev(2): measured faster
        // for the small responses (304s, JSON) that dominate.
        .writev(false);
    let graceful = GracefulShutdown::new();
    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors or a connection reset before accept:
                    // nothing to do but try again in a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // A client over its limit is closed at once, with a reset (no FIN handshake and
        // no TIME_WAIT left here), before anything is read or set up for it.
        let Some(admitted) = clients.admit(peer.ip()) else {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
            drop(permit);
            if let Some(refused) = clients.refusals_to_report() {
                state.report.warning(&format!(
                    "closing new connections from clients that already hold {} ({} among them; {refused} closed since the last such warning); behind a reverse proxy, raise --max-connections-per-client",
                    clients.limit(),
                    clients::describe(peer.ip())
                ));
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        // hyper's header timeout covers slow and idle clients (it also runs between
        // requests on a kept-alive connection). A client that stops reading our
        // response is dropped by the kernel: TCP_USER_TIMEOUT also bounds how long
        // the peer may keep its window shut. Neither costs anything per request,
        // unlike a timer around every read and write.
        let _ = socket2::SockRef::from(&stream).set_tcp_user_timeout(Some(limits.timeout));
        let io = TokioIo::new(stream);
        let state = Arc::clone(&state);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let state = Arc::clone(&state);
            async move { Ok::<_, std::convert::Infallible>(dispatch(state, request).await) }
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(admitted);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    Ok(())
}
