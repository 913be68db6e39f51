//! Who may change what: the signing policy, SSH commit signatures, role resolution and
//! the replay of history into the approved tree with its audit trail.

pub mod anchor;
pub mod commit;
pub mod history;
pub mod judge;
pub mod key_support;
pub mod policy;
pub mod replay;
pub mod repository;
pub mod roles;
pub mod signature;

pub use policy::{Policy, Role};
