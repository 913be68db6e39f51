//! Who may change what: the signing policy (and, later, signature checks and history replay).

pub mod policy;

pub use policy::{Policy, Role};
