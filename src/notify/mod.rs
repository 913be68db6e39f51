//! Notifications: telling people what changed in the published state.
//!
//! - [`events`]: the snapshot of what notifications are about and the events between two
//!   snapshots (pure).
//! - [`recipients`]: who is told of an event (pure).
//! - [`outbox`]: the delivery records and the stored snapshot, and the order of
//!   operations that makes delivery at-least-once with de-duplication.
//! - [`deliver`]: the channels (webhooks, a command) and which deliveries an event makes.
//! - [`run`]: one run over a repository.
//!
//! See `docs/notify.md`.

pub mod deliver;
pub mod events;
pub mod outbox;
pub mod recipients;
pub mod run;

pub use events::{Event, EventKind, Published, Subject, events};
pub use recipients::{Directory, Person};
