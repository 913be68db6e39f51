//! Phase timings on stderr when `GLASSROOM_TIMINGS` is set, for profiling a build
//! (`GLASSROOM_TIMINGS=1 glassroom build …`). Measures elapsed time only; the content's
//! "now" never comes from here.

use std::sync::OnceLock;
use std::time::Instant;

struct Clock {
    start: Instant,
    last: std::sync::Mutex<Instant>,
}

fn clock() -> Option<&'static Clock> {
    static CLOCK: OnceLock<Option<Clock>> = OnceLock::new();
    CLOCK
        .get_or_init(|| {
            std::env::var_os("GLASSROOM_TIMINGS").map(|_| {
                let now = Instant::now();
                Clock {
                    start: now,
                    last: std::sync::Mutex::new(now),
                }
            })
        })
        .as_ref()
}

/// Whether each page's rendering time is wanted too (`GLASSROOM_TIMINGS=pages`).
pub fn pages() -> bool {
    static PAGES: OnceLock<bool> = OnceLock::new();
    *PAGES.get_or_init(|| std::env::var_os("GLASSROOM_TIMINGS").is_some_and(|v| v == "pages"))
}

/// Notes how long rendering the page `path` took.
pub fn page(path: &str, took: std::time::Duration) {
    if pages() {
        eprintln!(
            "timing: page {} {:.2} ms",
            crate::diag::printable(path),
            took.as_secs_f64() * 1000.0
        );
    }
}

/// Notes that the phase `label` just ended.
pub fn mark(label: &str) {
    let Some(clock) = clock() else { return };
    let now = Instant::now();
    let Ok(mut last) = clock.last.lock() else {
        return;
    };
    eprintln!(
        "timing: {label:<28} {:>8.1} ms  (total {:>8.1} ms)",
        now.duration_since(*last).as_secs_f64() * 1000.0,
        now.duration_since(clock.start).as_secs_f64() * 1000.0
    );
    *last = now;
}
