//! One notification run over a repository: the published state now, the events since
//! the state last notified, their deliveries added to the outbox, the snapshot stored,
//! then every due delivery sent (see [`super::outbox`] for the order and why).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::deliver;
use super::events::{Event, Published, events};
use super::outbox::{Delivery, Outbox, OutboxError, Paths, Retry, Snapshot, VERSION};
use super::recipients::Directory;
use crate::content::types::Moment;
use crate::content::{NotifyConfig, ParseCache};
use crate::pipeline::{self, Source};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Open(#[from] pipeline::OpenError),
    #[error("{0} is not a git repository: notifications are about approved (signed) content only")]
    NotGit(String),
    #[error(
        "the approved tree has errors ({count}): nothing is notified until it builds (see `glassroom check`): {listing}"
    )]
    Invalid { count: usize, listing: String },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("another `glassroom notify` is running on this repository ({0} is locked)")]
    Locked(String),
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What the published state implies now.
pub struct Evaluated {
    pub paths: Paths,
    pub now: Moment,
    pub commit: Option<String>,
    pub published: Published,
    /// `None` before the first run.
    pub previous: Option<Snapshot>,
    pub events: Vec<Event>,
    /// The deliveries of `events`.
    pub deliveries: Vec<Delivery>,
    pub config: NotifyConfig,
    pub base_url: Option<String>,
}

/// Reads the approved state of `repo` at `now` and what changed since the last run.
/// Writes nothing.
pub fn evaluate(repo: &Path, now: Moment, clock: i64) -> Result<Evaluated, RunError> {
    let opened = pipeline::open(repo, &Source::default(), clock)?;
    let Some(trust) = &opened.trust else {
        return Err(RunError::NotGit(repo.display().to_string()));
    };
    let commit = Some(trust.target.clone());
    let git = crate::source::git::open(repo).map_err(pipeline::OpenError::from)?;
    let paths = Paths::new(git.path());
    let loaded = pipeline::load(&opened, &ParseCache::default());
    if loaded.diagnostics.has_errors() {
        let mut listing = Vec::new();
        // Writing to memory cannot fail; an empty listing still leaves the count.
        let _ = crate::diag::render::write_short(
            &mut listing,
            &loaded.content.files,
            &loaded.diagnostics,
        );
        return Err(RunError::Invalid {
            count: loaded.diagnostics.error_count(),
            // One line: errors are printed escaped, so a newline would show as `\n`.
            listing: String::from_utf8_lossy(&listing)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let content = loaded.content;
    let derived = crate::derive::derive(&content, now);
    let published = Published::of(&content, &derived);
    let directory = Directory::from_content(&content);
    let (config, base_url) = content.config.as_ref().map_or_else(
        || (NotifyConfig::default(), None),
        |doc| {
            (
                (*doc.data.notify).clone(),
                doc.data.base_url.as_ref().map(|u| u.as_str().to_owned()),
            )
        },
    );
    let previous = Snapshot::load(&paths.snapshot)?;
    let found = match &previous {
        Some(previous) => events(&previous.published, &published),
        None => Vec::new(),
    };
    let deliveries = found
        .iter()
        .flat_map(|event| {
            deliver::routes(event, &directory, &config)
                .into_iter()
                .map(|route| Delivery::new(event.clone(), route, now))
        })
        .collect();
    Ok(Evaluated {
        paths,
        now,
        commit,
        published,
        previous,
        events: found,
        deliveries,
        config,
        base_url,
    })
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Ran {
    pub first_run: bool,
    pub events: usize,
    pub added: usize,
    pub sent: usize,
    pub failed: Vec<String>,
}

/// Holds `notify.lock` (an exclusive `flock`, released by the kernel when the process
/// dies) so two runs never deliver the same outbox at once.
pub fn lock(paths: &Paths) -> Result<File, RunError> {
    let path = paths.dir.join("notify.lock");
    let io = |source| RunError::Lock {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&paths.dir).map_err(io)?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(RunError::Locked(path.display().to_string())),
        Err(TryLockError::Error(err)) => Err(io(err)),
    }
}

/// Records `evaluated` (deliveries first, durably; then the snapshot) and sends every due
/// delivery, storing the outbox after each. `clock` gives the time of each try.
pub fn record_and_deliver(
    evaluated: Evaluated,
    clock: &dyn Fn() -> Moment,
    env: &dyn Fn(&str) -> Option<String>,
    progress: &mut dyn FnMut(&Delivery, &Result<(), String>),
) -> Result<Ran, RunError> {
    let _lock = lock(&evaluated.paths)?;
    let paths = &evaluated.paths;
    let mut outbox = Outbox::load(&paths.outbox)?;
    outbox.version = VERSION;
    let mut ran = Ran {
        first_run: evaluated.previous.is_none(),
        events: evaluated.events.len(),
        ..Ran::default()
    };
    ran.added = outbox.add(evaluated.deliveries);
    let pruned = outbox.prune(evaluated.now, super::outbox::KEEP_FINISHED);
    if ran.added > 0 || pruned > 0 {
        outbox.save(&paths.outbox)?;
    }
    let unchanged = evaluated
        .previous
        .as_ref()
        .is_some_and(|p| p.published == evaluated.published);
    if !unchanged {
        Snapshot {
            version: VERSION,
            now: evaluated.now,
            commit: evaluated.commit,
            published: evaluated.published,
        }
        .save(&paths.snapshot)?;
    }
    let retry = Retry {
        first: evaluated.config.retry.first,
        max: evaluated.config.retry.max,
        give_up: evaluated.config.retry.give_up,
    };
    for index in outbox.due(clock()) {
        let Some(delivery) = outbox.deliveries.get(index) else {
            continue;
        };
        let result = deliver::send(
            delivery,
            &evaluated.config,
            evaluated.base_url.as_deref(),
            env,
        );
        progress(delivery, &result);
        match &result {
            Ok(()) => {
                outbox.mark_sent(index, clock());
                ran.sent += 1;
            }
            Err(error) => {
                outbox.mark_failed(index, clock(), error, &retry);
                ran.failed.push(error.clone());
            }
        }
        outbox.save(&paths.outbox)?;
    }
    Ok(ran)
}

/// One notification run at `now`: evaluate, record and deliver (`glassroom notify
/// --once`, and each tick of `glassroom sync --watch`).
pub fn once(
    repo: &Path,
    now: Moment,
    clock: &dyn Fn() -> Moment,
    env: &dyn Fn(&str) -> Option<String>,
    progress: &mut dyn FnMut(&Delivery, &Result<(), String>),
) -> Result<Ran, RunError> {
    let seconds = clock().0.as_second();
    record_and_deliver(evaluate(repo, now, seconds)?, clock, env, progress)
}
