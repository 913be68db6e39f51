//! DryDock's schedule as a pure state machine: events in, the time of the next sync out.
//!
//! Every method takes the current time (`now`, milliseconds since the epoch) as an
//! argument; nothing here reads a clock, sleeps or touches a file, so the whole schedule
//! can be run under simulated time.
//!
//! The rules:
//! - an approved change moves the sync to `quiet` after it, but never later than
//!   `max_delay` after the first change not yet published;
//! - a forced sync is due now (even with nothing pending: it re-publishes);
//! - one push at a time: while a push runs nothing else is due, a change during it is
//!   pending for one more cycle afterwards, and a change never interrupts a push (only
//!   stopping the sync does, and then it is pending again);
//! - a failed push keeps everything pending and is retried after an exponential backoff
//!   (`retry.first` doubling up to `retry.max`, shortened by up to 25 % of jitter); a
//!   build that fails waits for the next change (or a force) instead, since building the
//!   same tree again cannot succeed.

use serde::{Deserialize, Serialize};

use crate::content::SyncConfig;

pub use super::time::Millis;

/// The clock, injected so schedules and the driving loop can run under simulated time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// The durations the schedule works with (from `glassroom.yaml`'s `sync:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    #[serde(rename = "quiet_ms")]
    pub quiet: Millis,
    #[serde(rename = "max_delay_ms")]
    pub max_delay: Millis,
    #[serde(rename = "retry_first_ms")]
    pub retry_first: Millis,
    #[serde(rename = "retry_max_ms")]
    pub retry_max: Millis,
}

impl Default for Timing {
    fn default() -> Self {
        Timing::from_config(&SyncConfig::default())
    }
}

impl Timing {
    pub fn from_config(config: &SyncConfig) -> Self {
        let ms =
            |d: crate::content::types::Duration| d.0.as_millis().clamp(0, i64::MAX as i128) as i64;
        Timing {
            quiet: ms(config.quiet),
            max_delay: ms(config.max_delay),
            retry_first: ms(config.retry.first).max(1),
            retry_max: ms(config.retry.max).max(1),
        }
    }

    /// The delay before retry number `attempts` (1 for the first retry), with `jitter`
    /// in `[0, 1]` shortening it by up to a quarter.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Millis {
        let doublings = attempts.saturating_sub(1).min(40);
        let base = self
            .retry_first
            .saturating_mul(1_i64 << doublings)
            .min(self.retry_max.max(self.retry_first));
        let jitter = jitter.clamp(0.0, 1.0);
        let cut = (base as f64 * 0.25 * jitter) as i64;
        (base - cut).max(1)
    }

    /// How far behind a target may be before it is an alert: `max_delay` plus one longest
    /// retry interval of slack.
    pub fn lag_alert(&self) -> Millis {
        self.max_delay.saturating_add(self.retry_max)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// The approved output changed (a new approved commit).
    Change,
    /// Someone asked for a sync now.
    Force,
    /// The driver started a push (only when [`Schedule::due`]).
    Started,
    /// The push reached every target.
    Succeeded,
    /// The push failed somewhere.
    Failed(Retry),
    /// The process died during a push (found at restart), or was asked to stop in the
    /// middle of one: the push did not happen, or not to every target.
    Interrupted,
}

/// How a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// After the backoff; `jitter` in `[0, 1]` (random in production, fixed in tests).
    Backoff { jitter: f64 },
    /// Not automatically: the build failed, only a new change (or a force) can help.
    WaitForChange,
}

/// A push in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    #[serde(with = "super::time")]
    pub since: Millis,
    /// How many of the pending changes it publishes (those before it started).
    pub covers: u64,
    /// The first change that arrived during the push (it needs one more cycle).
    #[serde(default, with = "super::time::option")]
    pub first_change_after: Option<Millis>,
}

/// The schedule's whole state; serialisable so a restart resumes exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The first approved change not yet published everywhere.
    #[serde(default, with = "super::time::option")]
    pub first_change: Option<Millis>,
    /// The latest approved change.
    #[serde(default, with = "super::time::option")]
    pub last_change: Option<Millis>,
    /// How many approved changes wait.
    pub changes: u64,
    /// A forced sync was asked for and has not started yet.
    pub forced: bool,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// No retry before this time (backoff after a failure).
    #[serde(default, with = "super::time::option")]
    pub retry_at: Option<Millis>,
    /// The last build failed: wait for a change or a force.
    pub blocked: bool,
    pub pushing: Option<InFlight>,
}

impl Schedule {
    /// Whether anything is waiting to be published.
    pub fn pending(&self) -> bool {
        self.first_change.is_some()
    }

    /// Applies an event at `now` and returns when the next sync is due.
    pub fn apply(&mut self, event: Event, now: Millis, timing: &Timing) -> Option<Millis> {
        match event {
            Event::Change => {
                self.first_change.get_or_insert(now);
                self.last_change = Some(self.last_change.map_or(now, |t| t.max(now)));
                self.changes = self.changes.saturating_add(1);
                self.blocked = false;
                if let Some(push) = &mut self.pushing {
                    push.first_change_after.get_or_insert(now);
                }
            }
            Event::Force => {
                self.forced = true;
                self.blocked = false;
            }
            Event::Started => {
                if self.pushing.is_none() {
                    self.pushing = Some(InFlight {
                        since: now,
                        covers: self.changes,
                        first_change_after: None,
                    });
                    self.forced = false;
                }
            }
            Event::Succeeded => {
                if let Some(push) = self.pushing.take() {
                    self.changes = self.changes.saturating_sub(push.covers);
                    self.first_change = push.first_change_after;
                    if self.first_change.is_none() {
                        self.last_change = None;
                        self.changes = 0;
                    }
                }
                self.attempts = 0;
                self.retry_at = None;
                self.blocked = false;
            }
            Event::Failed(retry) => {
                let since = self.pushing.take().map_or(now, |push| push.since);
                // Nothing is skipped: what the push was to publish stays pending (a forced
                // push of nothing new becomes pending too, so it is retried).
                if self.first_change.is_none() {
                    self.first_change = Some(since);
                    self.last_change = Some(since);
                }
                self.attempts = self.attempts.saturating_add(1);
                match retry {
                    Retry::Backoff { jitter } => {
                        self.retry_at =
                            Some(now.saturating_add(timing.backoff(self.attempts, jitter)));
                        self.blocked = false;
                    }
                    Retry::WaitForChange => {
                        self.retry_at = None;
                        self.blocked = true;
                    }
                }
            }
            Event::Interrupted => {
                if let Some(push) = self.pushing.take()
                    && self.first_change.is_none()
                {
                    self.first_change = Some(push.since);
                    self.last_change = Some(push.since);
                }
            }
        }
        self.next(now, timing)
    }

    /// When the next sync is due: `None` while a push runs or when nothing waits.
    pub fn next(&self, now: Millis, timing: &Timing) -> Option<Millis> {
        if self.pushing.is_some() {
            return None;
        }
        if self.forced {
            return Some(now);
        }
        if self.blocked {
            return None;
        }
        let first = self.first_change?;
        let last = self.last_change.unwrap_or(first);
        let debounced = last
            .saturating_add(timing.quiet)
            .min(first.saturating_add(timing.max_delay));
        Some(match self.retry_at {
            Some(retry) => debounced.max(retry),
            None => debounced,
        })
    }

    /// Whether a push should start at `now`.
    pub fn due(&self, now: Millis, timing: &Timing) -> bool {
        self.next(now, timing).is_some_and(|at| at <= now)
    }
}

/// A small deterministic random source for jitter (splitmix64), seeded by the caller.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    /// A number in `[0, 1)`.
    pub fn sample(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Millis = 1_000;
    const MINUTE: Millis = 60 * SECOND;

    fn timing() -> Timing {
        Timing {
            quiet: 5 * MINUTE,
            max_delay: 60 * MINUTE,
            retry_first: 30 * SECOND,
            retry_max: 15 * MINUTE,
        }
    }

    /// What the outside world does, at given times.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Input {
        Change,
        Force,
    }

    /// A discrete-event simulation of the driving loop: inputs at their times, a push
    /// starts whenever one is due and takes `duration`; `fails(n)` says whether push
    /// number `n` (0-based) fails. Returns (start, end, succeeded) of every push.
    fn simulate(
        inputs: &[(Millis, Input)],
        duration: Millis,
        fails: impl Fn(usize) -> bool,
        until: Millis,
    ) -> (Vec<(Millis, Millis, bool)>, Schedule) {
        let timing = timing();
        let mut schedule = Schedule::default();
        let mut inputs: Vec<(Millis, Input)> = inputs.to_vec();
        inputs.sort_by_key(|(t, _)| *t);
        let mut inputs = inputs.into_iter().peekable();
        let mut pushes: Vec<(Millis, Millis, bool)> = Vec::new();
        let mut running: Option<(Millis, Millis)> = None;
        let mut now = 0;
        loop {
            // Start a push if one is due now.
            if running.is_none() && schedule.due(now, &timing) {
                schedule.apply(Event::Started, now, &timing);
                assert!(schedule.pushing.is_some());
                running = Some((now, now + duration));
            }
            // The next thing that happens.
            let input_at = inputs.peek().map(|(t, _)| *t);
            let push_end = running.map(|(_, end)| end);
            let due_at = if running.is_none() {
                schedule.next(now, &timing)
            } else {
                None
            };
            let Some(at) = [input_at, push_end, due_at].into_iter().flatten().min() else {
                break;
            };
            if at > until {
                break;
            }
            now = at;
            if push_end == Some(now)
                && let Some((start, end)) = running.take()
            {
                let failed = fails(pushes.len());
                pushes.push((start, end, !failed));
                let event = if failed {
                    Event::Failed(Retry::Backoff { jitter: 0.0 })
                } else {
                    Event::Succeeded
                };
                schedule.apply(event, now, &timing);
                continue;
            }
            if input_at == Some(now)
                && let Some((_, input)) = inputs.next()
            {
                let event = match input {
                    Input::Change => Event::Change,
                    Input::Force => Event::Force,
                };
                schedule.apply(event, now, &timing);
                // A push is never interrupted: nothing starts while one runs.
                if running.is_some() {
                    assert_eq!(schedule.next(now, &timing), None);
                }
            }
        }
        (pushes, schedule)
    }

    #[test]
    fn a_burst_of_approvals_gives_one_push_quiet_after_the_last() {
        // 1,000 approvals within four minutes (inside the 5-minute quiet window).
        let inputs: Vec<(Millis, Input)> = (0..1_000)
            .map(|i| (1_000_000 + i * 240, Input::Change))
            .collect();
        let last = inputs.last().map_or(0, |(t, _)| *t);
        let (pushes, schedule) = simulate(&inputs, 2 * SECOND, |_| false, 10 * 60 * MINUTE);
        assert_eq!(pushes.len(), 1, "{pushes:?}");
        assert_eq!(pushes[0].0, last + 5 * MINUTE);
        assert!(!schedule.pending());
        assert_eq!(schedule.next(last + 60 * MINUTE, &timing()), None);
    }

    #[test]
    fn continuous_approvals_push_every_max_delay() {
        // An approval every minute for three hours.
        let inputs: Vec<(Millis, Input)> = (0..=180).map(|i| (i * MINUTE, Input::Change)).collect();
        let (pushes, _) = simulate(&inputs, 10 * SECOND, |_| false, 5 * 60 * MINUTE);
        let starts: Vec<Millis> = pushes.iter().map(|p| p.0).collect();
        // Forced by max_delay after the first unsynced change: 60 min, then 60 min after
        // the first change that arrived during or after that push, and so on; finally
        // quiet after the last approval.
        assert_eq!(
            starts,
            vec![60 * MINUTE, 121 * MINUTE, 182 * MINUTE],
            "{starts:?}"
        );
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] <= 61 * MINUTE, "{starts:?}");
        }
    }

    #[test]
    fn the_first_change_during_a_push_counts_from_when_it_happened() {
        // A change lands during a push: it is published one cycle later, and max_delay
        // counts from that change, not from the end of the push.
        let mut schedule = Schedule::default();
        let t = timing();
        schedule.apply(Event::Change, 0, &t);
        schedule.apply(Event::Started, 5 * MINUTE, &t);
        schedule.apply(Event::Change, 5 * MINUTE + SECOND, &t);
        let next = schedule.apply(Event::Succeeded, 6 * MINUTE, &t);
        assert_eq!(next, Some(10 * MINUTE + SECOND));
        assert_eq!(schedule.changes, 1);
    }

    #[test]
    fn force_syncs_now_even_with_nothing_pending() {
        let t = timing();
        let mut schedule = Schedule::default();
        assert_eq!(schedule.next(0, &t), None);
        assert_eq!(schedule.apply(Event::Force, 42, &t), Some(42));
        // With a change pending, force does not wait for quiet.
        let (pushes, _) = simulate(
            &[(0, Input::Change), (MINUTE, Input::Force)],
            SECOND,
            |_| false,
            60 * MINUTE,
        );
        assert_eq!(pushes.len(), 1);
        assert_eq!(pushes[0].0, MINUTE);
        // Forcing overrides a backoff too.
        let mut schedule = Schedule::default();
        schedule.apply(Event::Change, 0, &t);
        schedule.apply(Event::Started, 5 * MINUTE, &t);
        schedule.apply(
            Event::Failed(Retry::Backoff { jitter: 0.0 }),
            5 * MINUTE,
            &t,
        );
        assert_eq!(
            schedule.apply(Event::Force, 5 * MINUTE + 1, &t),
            Some(5 * MINUTE + 1)
        );
    }

    #[test]
    fn a_force_during_a_push_waits_for_it_then_runs() {
        let (pushes, _) = simulate(
            &[(0, Input::Force), (SECOND, Input::Force)],
            10 * SECOND,
            |_| false,
            60 * MINUTE,
        );
        assert_eq!(
            pushes.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![0, 10 * SECOND]
        );
    }

    #[test]
    fn failures_back_off_exponentially_then_succeed() {
        // Four failures, then success.
        let (pushes, schedule) = simulate(&[(0, Input::Change)], 0, |n| n < 4, 10 * 60 * MINUTE);
        let starts: Vec<Millis> = pushes.iter().map(|p| p.0).collect();
        let q = 5 * MINUTE;
        assert_eq!(
            starts,
            vec![
                q,
                q + 30 * SECOND,
                q + 90 * SECOND,
                q + 210 * SECOND,
                q + 450 * SECOND
            ]
        );
        assert_eq!(pushes.iter().filter(|p| p.2).count(), 1);
        assert!(!schedule.pending());
        assert_eq!(schedule.attempts, 0);
    }

    #[test]
    fn backoff_is_capped_and_jitter_only_shortens() {
        let t = timing();
        assert_eq!(t.backoff(1, 0.0), 30 * SECOND);
        assert_eq!(t.backoff(2, 0.0), 60 * SECOND);
        assert_eq!(t.backoff(6, 0.0), 15 * MINUTE);
        assert_eq!(t.backoff(60, 0.0), 15 * MINUTE);
        let mut jitter = Jitter::new(7);
        for attempts in 1..20 {
            let j = jitter.sample();
            assert!((0.0..1.0).contains(&j));
            let delay = t.backoff(attempts, j);
            let base = t.backoff(attempts, 0.0);
            assert!(delay <= base && delay >= base * 3 / 4, "{delay} {base}");
        }
    }

    #[test]
    fn a_failed_push_keeps_changes_pending_and_new_changes_wait_for_the_backoff() {
        let t = timing();
        let mut schedule = Schedule::default();
        schedule.apply(Event::Change, 0, &t);
        schedule.apply(Event::Started, 5 * MINUTE, &t);
        let next = schedule.apply(
            Event::Failed(Retry::Backoff { jitter: 0.0 }),
            5 * MINUTE,
            &t,
        );
        assert_eq!(next, Some(5 * MINUTE + 30 * SECOND));
        assert_eq!(schedule.first_change, Some(0));
        // A change during the backoff: quiet after it, which is later than the retry.
        let next = schedule.apply(Event::Change, 5 * MINUTE + 10 * SECOND, &t);
        assert_eq!(next, Some(10 * MINUTE + 10 * SECOND));
    }

    #[test]
    fn a_failed_build_waits_for_the_next_change() {
        let t = timing();
        let mut schedule = Schedule::default();
        schedule.apply(Event::Change, 0, &t);
        schedule.apply(Event::Started, 5 * MINUTE, &t);
        assert_eq!(
            schedule.apply(Event::Failed(Retry::WaitForChange), 5 * MINUTE, &t),
            None
        );
        assert!(schedule.pending());
        assert_eq!(
            schedule.apply(Event::Change, 6 * MINUTE, &t),
            Some(11 * MINUTE)
        );
    }

    #[test]
    fn approval_during_a_push_gives_exactly_one_more_push() {
        let (pushes, schedule) = simulate(
            &[
                (0, Input::Change),
                (5 * MINUTE + SECOND, Input::Change),
                (5 * MINUTE + 2 * SECOND, Input::Change),
            ],
            30 * SECOND,
            |_| false,
            10 * 60 * MINUTE,
        );
        let starts: Vec<Millis> = pushes.iter().map(|p| p.0).collect();
        assert_eq!(starts, vec![5 * MINUTE, 10 * MINUTE + 2 * SECOND]);
        assert!(!schedule.pending());
    }

    #[test]
    fn a_forced_push_that_fails_is_retried() {
        let (pushes, _) = simulate(&[(0, Input::Force)], 0, |n| n == 0, 60 * MINUTE);
        assert_eq!(
            pushes.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![0, 5 * MINUTE]
        );
    }

    #[test]
    fn the_state_survives_a_restart_mid_push() -> Result<(), serde_json::Error> {
        let t = timing();
        let mut schedule = Schedule::default();
        schedule.apply(Event::Change, 0, &t);
        schedule.apply(Event::Started, 5 * MINUTE, &t);
        let saved = serde_json::to_string(&schedule)?;
        let mut restored: Schedule = serde_json::from_str(&saved)?;
        assert_eq!(restored, schedule);
        // The process died during the push: the change is still pending and due.
        let next = restored.apply(Event::Interrupted, 7 * MINUTE, &t);
        assert_eq!(next, Some(5 * MINUTE));
        assert!(restored.due(7 * MINUTE, &t));
        Ok(())
    }

    #[test]
    fn nothing_starts_while_a_push_runs() {
        let t = timing();
        let mut schedule = Schedule::default();
        schedule.apply(Event::Force, 0, &t);
        schedule.apply(Event::Started, 0, &t);
        let before = schedule.clone();
        schedule.apply(Event::Started, 1, &t);
        assert_eq!(schedule, before, "a second start is ignored");
        assert!(!schedule.due(i64::MAX / 2, &t));
    }
}
