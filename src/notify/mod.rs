//! Notifications: telling people what changed in the published state.
//!
//! - [`events`]: the snapshot of what notifications are about and the events between two
//!   snapshots (pure).
//! - [`recipients`]: who is told of an event (pure).
//!
//! See `docs/notify.md`.

pub mod events;
pub mod outbox;
pub mod recipients;

pub use events::{Event, EventKind, Published, Subject, events};
pub use recipients::{Directory, Person};
