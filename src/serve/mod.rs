//! `glassroom serve`: the site over HTTP from memory, with strong ETags and `304`s,
//! rebuilt and swapped in whole when its input changes, a live-reloading preview of the
//! working tree, and `POST /logbook` for robots.
//!
//! [`Server::start`] does the first build and starts the watcher thread; [`serve`] runs
//! the HTTP event loops (hyper on tokio) until the shutdown future completes. Requests read the current
//! [`Shown`] through an `ArcSwap`: a rebuild replaces it in one atomic store, so a
//! request sees either the old site or the new one, never a mix.

pub mod clients;
pub mod files;
pub mod logbook;
pub mod ofrep;
pub mod payload;
pub mod preview;
pub mod routes;
pub mod watch;

mod accept;
mod build;
mod config;
mod routing;
pub mod tokens;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::Sender;
use std::time::Duration;

use arc_swap::ArcSwap;

use self::files::{Asset, Site};
use self::logbook::{Approved, Intake};
use self::watch::Signal;
use crate::pipeline;

/// Every response is complete in memory (files, errors, logbook replies).
pub use payload::Body;

pub use accept::serve;
use build::{Builder, Made, rebuild};
pub use config::{Config, Console, Limits, ServeError, Serving};
pub use routing::dispatch;
pub use tokens::Tokens;

/// Seconds since the epoch, read when needed (tests inject a fixed one).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The site as requests see it at one moment.
pub struct Shown {
    /// Changes with every rebuild (the live-reload script watches it).
    pub generation: u64,
    pub view: View,
    /// Its flags as OFREP answers them, and who may ask.
    pub ofrep: ofrep::Published,
}

pub enum View {
    Site(Site),
    /// The build failed and there is no site to show (a preview always shows this).
    Broken(Asset),
}

/// Everything a request handler needs.
pub struct State {
    current: ArcSwap<Shown>,
    preview: bool,
    intake: Option<Intake>,
    poke: Sender<Signal>,
    console: Arc<dyn Console>,
    ofrep: ofrep::Settings,
}

impl State {
    /// What is served now.
    pub fn shown(&self) -> Arc<Shown> {
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

impl Server {
    /// Checks the configuration, builds the site once and starts watching its input.
    pub fn start(config: Config, console: Arc<dyn Console>) -> Result<Server, ServeError> {
        let preview = matches!(&config.serving, Serving::Repo { source, .. } if source.worktree);
        if config.logbook.is_some() {
            match &config.serving {
                Serving::Root(_) => return Err(ServeError::LogbookWithoutRepo),
                Serving::Repo { .. } if preview => return Err(ServeError::LogbookInPreview),
                Serving::Repo { .. } => {}
            }
        }
        if let Serving::Root(root) = &config.serving
            && !root.is_dir()
        {
            return Err(ServeError::NoRoot { path: root.clone() });
        }
        if let Serving::Repo { path, .. } = &config.serving
            && !path.is_dir()
        {
            return Err(ServeError::Repo {
                path: path.clone(),
                source: "it is not a directory".into(),
            });
        }
        let intake = match (&config.serving, config.logbook) {
            (Serving::Repo { path, .. }, Some(signer)) => Some(Intake::new(
                path.clone(),
                signer,
                Arc::clone(&config.clock),
                config.limits.max_body_bytes,
                config.limits.timeout,
            )),
            _ => None,
        };
        if let (Some(_), Serving::Repo { path, .. }) = (&intake, &config.serving) {
            // Before the first post: what an intake killed midway left must not make
            // every post (and a person's git) fail.
            match crate::intake::recover(path) {
                Ok(repaired) => {
                    for line in repaired {
                        console.info(&format!("logbook intake: {line}"));
                    }
                }
                Err(err) => console.warning(&format!("logbook intake: {err}")),
            }
        }
        let builder = Builder {
            session: std::sync::Mutex::new(pipeline::Session::keeping()),
            serving: config.serving.clone(),
            now: config.now,
            clock: Arc::clone(&config.clock),
            want_rules: intake.is_some(),
        };
        let layout = builder.layout()?;
        let ofrep = ofrep::Settings {
            now: config.now,
            clock: Arc::clone(&config.clock),
            max_body: config.limits.max_body_bytes,
            timeout: config.limits.timeout,
            tokens: config.ofrep_tokens.map(Arc::new),
        };

        // The first build: a site directory that cannot be read is an error; a
        // repository whose content fails shows the failure in the browser.
        let mut first = builder.build(None, &*console);
        for _ in 0..20 {
            let Made::Retry(_) = first else { break };
            std::thread::sleep(Duration::from_millis(100));
            first = builder.build(None, &*console);
        }
        let mut first_tokens = None;
        let view = match first {
            Made::Site {
                site,
                approved,
                ofrep_tokens,
                summary,
            } => {
                first_tokens = ofrep_tokens;
                console.info(&format!("built {summary}"));
                if let (Some(intake), Some(approved)) = (&intake, approved) {
                    check_signing_key(intake, &approved, &*console);
                    intake.set_approved(*approved);
                }
                if site.get("index.html").is_none() {
                    console.warning(
                        "the site has no index.html: is this a site built by `glassroom build`?",
                    );
                }
                View::Site(*site)
            }
            Made::Broken { title, details } => {
                console.warning(&format!("{title}: serving an error page until it is fixed"));
                View::Broken(preview::error_page(&title, &details, preview))
            }
            Made::Retry(message) => {
                let Serving::Root(root) = &config.serving else {
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
            current: ArcSwap::from_pointee(Shown {
                generation: 1,
                view,
                ofrep: ofrep::Published::new(ofrep.tokens_for(first_tokens)),
            }),
            preview,
            intake,
            poke: sender.clone(),
            console: Arc::clone(&console),
            ofrep,
        });
        let generation = Arc::new(AtomicU64::new(1));
        let rebuild_state = Arc::clone(&state);
        let rebuild = move |changed: watch::Changed| {
            builder.note_changes(changed.map(|paths| paths.into_iter().collect()));
            rebuild(&builder, &rebuild_state, &generation)
        };
        let warn_console = Arc::clone(&console);
        let watch_path = match &config.serving {
            Serving::Root(path) | Serving::Repo { path, .. } => path.clone(),
        };
        let watcher = watch::spawn(layout, sender.clone(), receiver, rebuild, move |message| {
            warn_console.warning(&message)
        })
        .map_err(|source| ServeError::Watch {
            path: watch_path,
            source,
        })?;
        let description = match &config.serving {
            Serving::Root(root) => format!("the site in {}", root.display()),
            Serving::Repo { path, .. } if preview => {
                format!("a live preview of the working tree of {}", path.display())
            }
            Serving::Repo { path, .. } => format!("the approved tree of {}", path.display()),
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
fn check_signing_key(intake: &Intake, approved: &Approved, console: &dyn Console) {
    match approved.key_owner(intake.signer().public_key()) {
        Some(owner) => console.info(&format!(
            "accepting logbook entries from {} robot token(s); commits are signed as `{owner}`",
            approved.robots()
        )),
        None => console.warning(
            "the --signing-key is not listed for any user in .glassroom/policy.yaml: entries will be committed, but their signatures will not be attributed; add its public key to the robot's `keys`",
        ),
    }
    if approved.robots() == 0 {
        console.warning(
            "glassroom.yaml lists no serve.logbook_tokens: every POST /logbook will be refused (401)",
        );
    }
}
