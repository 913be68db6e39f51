//! Stopping a sync cleanly on SIGTERM or Ctrl-C (SIGINT).
//!
//! The signals only raise a flag ([`Stop`]); the code that owns a push looks at it where
//! stopping is safe: a command's process group is sent SIGTERM, then SIGKILL after
//! [`GRACE`] (at once on a second signal); a directory release being written is
//! abandoned and its staging directory removed; targets not started yet are left for
//! the next run. The attempt is recorded as interrupted and the change stays pending.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a stopped command has, after SIGTERM, before its process group is killed.
pub const GRACE: Duration = Duration::from_secs(10);

/// A request to stop, shared by the signal listener and whatever runs a push.
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// How many times a stop was asked for (a second one means "now").
    count: AtomicU32,
    /// What asked first (`SIGTERM`, `SIGINT (Ctrl-C)`).
    by: Mutex<Option<&'static str>>,
    /// Called on every request: wakes a loop that would otherwise sleep until its poll.
    wakers: Mutex<Vec<Box<dyn Fn() + Send>>>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks whatever runs to stop; `by` names why (it is logged).
    pub fn request(&self, by: &'static str) {
        self.inner
            .by
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(by);
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        for wake in self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            wake();
        }
    }

    /// What asked to stop, if anything did.
    pub fn requested(&self) -> Option<&'static str> {
        if self.inner.count.load(Ordering::SeqCst) == 0 {
            return None;
        }
        *self.inner.by.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A stop was asked for twice: do not wait for anything any more.
    pub fn urgent(&self) -> bool {
        self.inner.count.load(Ordering::SeqCst) >= 2
    }

    /// Calls `wake` on every request from now on.
    pub fn on_request(&self, wake: impl Fn() + Send + 'static) {
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(wake));
    }
}

/// Turns SIGTERM and SIGINT into requests on `stop`, from now on (the handlers are in
/// place when this returns, so the default action, death, no longer applies).
pub fn listen(stop: &Stop) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut terminate, mut interrupt) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    let stop = stop.clone();
    std::thread::Builder::new()
        .name("glassroom-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let by = tokio::select! {
                        Some(()) = terminate.recv() => "SIGTERM",
                        Some(()) = interrupt.recv() => "SIGINT (Ctrl-C)",
                        else => break,
                    };
                    stop.request(by);
                }
            });
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_request_names_the_stop_and_a_second_makes_it_urgent() {
        let stop = Stop::new();
        let woken = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&woken);
        stop.on_request(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(stop.requested(), None);
        stop.request("SIGTERM");
        assert_eq!(stop.requested(), Some("SIGTERM"));
        assert!(!stop.urgent());
        stop.request("SIGINT (Ctrl-C)");
        assert_eq!(stop.requested(), Some("SIGTERM"));
        assert!(stop.urgent());
        assert_eq!(woken.load(Ordering::SeqCst), 2);
    }
}
