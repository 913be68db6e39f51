//! Building and rebuilding: the [`Builder`] makes a site from what it serves (a built
//! directory, an approved tree, or a working tree for a preview), and [`rebuild`], run
//! on the watcher thread, swaps each new site in.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::files::{self, Site};
use super::logbook::Approved;
use super::watch::{After, Layout};
use super::{Clock, Console, ServeError, Serving, Shown, State, View, payload, preview};
use crate::content::types::Moment;
use crate::pipeline::{self, Source};

/// Builds the site of what is served.
pub(super) struct Builder {
    pub(super) serving: Serving,
    pub(super) now: Option<Moment>,
    pub(super) clock: Clock,
    pub(super) want_rules: bool,
    /// What the last read and build remember, so a rebuild reads only changed files and
    /// renders only what changed. Only one build runs at a time.
    pub(super) session: std::sync::Mutex<pipeline::Session>,
}

/// The result of one build.
pub(super) enum Made {
    Site {
        site: Box<Site>,
        approved: Option<Box<Approved>>,
        /// The OFREP tokens of the content built (`None` for a built directory).
        ofrep_tokens: Option<super::Tokens>,
        summary: String,
    },
    Broken {
        title: String,
        details: String,
    },
    /// The input was caught mid-change; try again.
    Retry(String),
}

impl Builder {
    fn preview(&self) -> bool {
        matches!(&self.serving, Serving::Repo { source, .. } if source.worktree)
    }

    /// Tells the session which files changed since the last build (`None`: unknown).
    pub(super) fn note_changes(&self, changed: Option<Vec<std::path::PathBuf>>) {
        if let Ok(session) = self.session.lock() {
            session.note_changes(changed);
        }
    }

    /// Builds the site; `previous` is the site served now, whose unchanged files are
    /// reused.
    pub(super) fn build(&self, previous: Option<&Site>, console: &dyn Console) -> Made {
        let started = Instant::now();
        match &self.serving {
            Serving::Root(root) => match files::read_dir(root) {
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
                    Made::Site {
                        site,
                        approved: None,
                        ofrep_tokens: None,
                        summary,
                    }
                }
                Err(err) => Made::Retry(err.to_string()),
            },
            Serving::Repo { path, source } => self.build_repo(path, source, previous, console),
        }
    }

    fn build_repo(
        &self,
        path: &Path,
        source: &Source,
        previous: Option<&Site>,
        console: &dyn Console,
    ) -> Made {
        // A session poisoned by a panicking build is started afresh: it only saves time.
        let mut session = self.session.lock().unwrap_or_else(|poisoned| {
            let mut session = poisoned.into_inner();
            *session = pipeline::Session::keeping();
            session
        });
        let built = self.build_in(&mut session, path, source, previous, console);
        // What the session learnt (the verified history) goes to a writing thread once
        // the rebuild is done, whatever its outcome, so writing does not slow it down.
        session.save();
        built
    }

    fn build_in(
        &self,
        session: &mut pipeline::Session,
        path: &Path,
        source: &Source,
        previous: Option<&Site>,
        console: &dyn Console,
    ) -> Made {
        let started = Instant::now();
        crate::timings::mark("rebuild asked for");
        let clock = (self.clock)();
        let opened = match session.open(path, source, clock) {
            Ok(opened) => opened,
            Err(err) => {
                let mut details = err.to_string();
                let mut cause = std::error::Error::source(&err);
                while let Some(inner) = cause {
                    details.push_str(&format!("\n  caused by: {inner}"));
                    cause = inner.source();
                }
                return Made::Broken {
                    title: format!("Cannot read {}", path.display()),
                    details,
                };
            }
        };
        for warning in &opened.warnings {
            console.warning(warning);
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
        // Only changes to the site served now are made, unless there is none (the last
        // build failed, or this is the first).
        let result = session.rebuild(&opened, now, clock, previous.is_none());
        match result {
            Ok(built) => {
                if !built.warnings.is_empty() {
                    console.diagnostics(&built.sources, &built.warnings);
                }
                // The intake's rules come from the content just built (the same tree;
                // pending notes change only what its findings say).
                let approved = self
                    .want_rules
                    .then(|| {
                        session.with_content(|content| Box::new(Approved::from_content(content)))
                    })
                    .flatten();
                let ofrep_tokens = session.with_content(super::ofrep::tokens_of);
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
                Made::Site {
                    site,
                    approved,
                    ofrep_tokens,
                    summary,
                }
            }
            Err(failed) => {
                // The session's keys still describe the site served now, if any.
                console.diagnostics(&failed.sources, &failed.diagnostics);
                let count = failed.diagnostics.iter().count();
                Made::Broken {
                    title: format!(
                        "The build failed with {count} problem{}",
                        if count == 1 { "" } else { "s" }
                    ),
                    details: preview::diagnostics_text(&failed.sources, &failed.diagnostics),
                }
            }
        }
    }

    pub(super) fn layout(&self) -> Result<Layout, ServeError> {
        let canonical = |path: &Path| {
            path.canonicalize().map_err(|err| ServeError::Watch {
                path: path.to_path_buf(),
                source: notify::Error::io(err),
            })
        };
        match &self.serving {
            // The root itself is not resolved: it may be a symbolic link that a deploy
            // (like `glassroom sync`'s dir target) swaps to a new release, which is seen
            // in its (resolved) parent directory.
            Serving::Root(root) => {
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
            Serving::Repo { path, source } => {
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

/// How finely a preview's "now" follows the clock: to the minute, so rebuilds within a
/// minute reuse the lists and the API too (detail pages do not depend on "now").
const PREVIEW_NOW_STEP_SECONDS: i64 = 60;

fn preview_now(clock: i64) -> i64 {
    clock - clock.rem_euclid(PREVIEW_NOW_STEP_SECONDS)
}

/// One rebuild on the watcher thread: build, then swap the new site in.
pub(super) fn rebuild(builder: &Builder, state: &State, generation: &AtomicU64) -> After {
    let next = generation.load(Ordering::SeqCst) + 1;
    let served = state.current.load_full();
    let previous = match &served.view {
        View::Site(site) => Some(site),
        View::Broken(_) => None,
    };
    match builder.build(previous, &*state.console) {
        Made::Site {
            site,
            approved,
            ofrep_tokens,
            summary,
        } => {
            generation.store(next, Ordering::SeqCst);
            if let (Some(intake), Some(approved)) = (&state.intake, approved) {
                intake.set_approved(*approved);
            }
            let view = View::Site(*site);
            let ofrep = super::ofrep::Published::after(
                state.ofrep.tokens_for(ofrep_tokens),
                &served,
                &view,
            );
            state.current.store(Arc::new(Shown {
                generation: next,
                view,
                ofrep,
            }));
            state.console.info(&format!("rebuilt: {summary}"));
            crate::defer::drop_later(served);
            After::Done
        }
        Made::Broken { title, details } => {
            let showing_site = matches!(state.current.load().view, View::Site(_));
            if state.preview || !showing_site {
                generation.store(next, Ordering::SeqCst);
                state.current.store(Arc::new(Shown {
                    generation: next,
                    view: View::Broken(preview::error_page(&title, &details, state.preview)),
                    ofrep: super::ofrep::Published::new(state.ofrep.tokens_for(None)),
                }));
                state
                    .console
                    .warning(&format!("{title}: the browser shows the errors"));
            } else {
                state
                    .console
                    .warning(&format!("{title}: still serving the last good build"));
            }
            After::Done
        }
        Made::Retry(message) => {
            state.console.warning(&format!("{message}; retrying"));
            After::Retry
        }
    }
}
