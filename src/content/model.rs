//! The typed content model: one struct per kind of file, exactly as written in YAML.
//!
//! Field names are part of the product (see `docs/content.md`). Every struct rejects
//! unknown fields. References to other entities are [`Ref`]s: the referenced id, with
//! the place it was written so a dangling reference can be pointed at.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::types::{ByteSize, Date, Duration, FlagType, FlagValue, Moment};
use crate::yaml::Spanned;

mod notify;
mod sync;
pub use notify::*;
pub use sync::*;

/// The id of another entity (its file name without extension), with its place.
pub type Ref = Spanned<String>;

// ---------------------------------------------------------------------------------------
// glassroom.yaml

/// `glassroom.yaml`: the site's title, theme, alert thresholds, sync and serve settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    pub theme: Option<Spanned<String>>,
    #[serde(default)]
    pub alerts: AlertConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub serve: ServeConfig,
    #[serde(default)]
    pub limits: Limits,
    /// Boxed: it is larger than the rest of the configuration together. Always
    /// serialized (the parsed-document store's postcard form has no optional fields).
    #[serde(default)]
    pub notify: Box<NotifyConfig>,
}

/// `limits:` what one content file may cost. Anyone who can push may write a file under
/// a pre-approved path (the logbook), so no single file may take the build's memory or
/// time: a file over a limit is an error if it was signed and left out if it was only
/// pre-approved.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The largest content file read (checked from its size, before it is read).
    #[serde(default = "Limits::default_file_size")]
    pub max_file_size: ByteSize,
    /// How deep block quotes and lists may nest in a Markdown body.
    #[serde(default = "Limits::default_markdown_nesting")]
    pub max_markdown_nesting: u32,
}

impl Limits {
    const fn default_file_size() -> ByteSize {
        ByteSize::mib(1)
    }
    const fn default_markdown_nesting() -> u32 {
        32
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: Self::default_file_size(),
            max_markdown_nesting: Self::default_markdown_nesting(),
        }
    }
}

/// When an expiry date becomes a warning and when it becomes critical.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpiryWindow {
    pub warn: Duration,
    pub critical: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    #[serde(default = "AlertConfig::default_certificates")]
    pub certificates: Spanned<ExpiryWindow>,
    #[serde(default = "AlertConfig::default_domains")]
    pub domains: Spanned<ExpiryWindow>,
    #[serde(default)]
    pub procedures: ProcedureAlerts,
}

impl AlertConfig {
    fn default_certificates() -> Spanned<ExpiryWindow> {
        Spanned::new(
            ExpiryWindow {
                warn: Duration::days(30),
                critical: Duration::days(7),
            },
            0..0,
        )
    }
    fn default_domains() -> Spanned<ExpiryWindow> {
        Spanned::new(
            ExpiryWindow {
                warn: Duration::days(60),
                critical: Duration::days(14),
            },
            0..0,
        )
    }
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            certificates: Self::default_certificates(),
            domains: Self::default_domains(),
            procedures: ProcedureAlerts::default(),
        }
    }
}

/// A procedure is "due soon" within `due_soon` of its due date.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureAlerts {
    #[serde(default = "ProcedureAlerts::default_due_soon")]
    pub due_soon: Duration,
}

impl ProcedureAlerts {
    fn default_due_soon() -> Duration {
        Duration::days(1)
    }
}

impl Default for ProcedureAlerts {
    fn default() -> Self {
        Self {
            due_soon: Self::default_due_soon(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Robot principal → `sha256:<hex>` of its bearer token.
    #[serde(default)]
    pub logbook_tokens: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Application (client) name → `sha256:<hex>` of its bearer token for the OFREP
    /// endpoints; when there is none, they answer anyone.
    #[serde(default)]
    pub ofrep_tokens: BTreeMap<Spanned<String>, Spanned<String>>,
}

// ---------------------------------------------------------------------------------------
// Infrastructure

/// `hosts/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Fully qualified name; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// IP addresses (v4 or v6).
    #[serde(default)]
    pub addresses: Vec<Spanned<String>>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    /// Where `glassroom run` connects to: `[user@]host[:port]` (see [`super::ssh`]);
    /// without it, the host's `name`, else its id.
    #[serde(default)]
    pub ssh: Option<Spanned<String>>,
    /// Services running here (each service also names its hosts; both directions are checked).
    #[serde(default)]
    pub services: Vec<Ref>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// `certificates/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub common_name: String,
    #[serde(default)]
    pub alt_names: Vec<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub not_before: Option<Spanned<Date>>,
    pub not_after: Spanned<Date>,
    #[serde(default)]
    pub hosts: Vec<Ref>,
    /// The procedure followed to renew it.
    #[serde(default)]
    pub renewal_procedure: Option<Ref>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// `domains/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub domain_name: String,
    #[serde(default)]
    pub registrar: Option<String>,
    pub expires: Spanned<Date>,
    /// When the current registration term was last paid; absent means never.
    #[serde(default)]
    pub last_paid: Option<Spanned<Date>>,
    #[serde(default)]
    pub by_whom_paid: Option<String>,
    #[serde(default)]
    pub auto_renew: bool,
    #[serde(default)]
    pub notes: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Software

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    /// Software the team writes.
    Custom,
    /// Software the team installs from a vendor or distribution.
    Packaged,
}

/// `modules/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    #[serde(default)]
    pub name: Option<String>,
    pub kind: ModuleKind,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub current_version: Option<String>,
    /// Its homepage: source repository or vendor page. Templates and the API call it
    /// `homepage`: an entity's `url` is its page (a view's own fields are never
    /// shadowed; a test checks every kind).
    #[serde(default, rename(serialize = "homepage"))]
    pub url: Option<Spanned<String>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    Planned,
    InProgress,
    Released,
    Cancelled,
}

/// `releases/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub module: Ref,
    pub version: Spanned<String>,
    pub status: Spanned<ReleaseStatus>,
    #[serde(default)]
    pub planned: Option<Spanned<Date>>,
    /// When it actually shipped.
    #[serde(default)]
    pub actual: Option<Spanned<Date>>,
    #[serde(default)]
    pub notes: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Operations

/// `procedures/<id>.md` front matter; the body holds the steps.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub title: String,
    /// How often it must be done; without it the procedure is done on demand.
    #[serde(default)]
    pub every: Option<Spanned<Duration>>,
    /// Extra time allowed after `every` before it counts as overdue.
    #[serde(default)]
    pub grace: Option<Spanned<Duration>>,
    #[serde(default)]
    pub owner: Option<String>,
}

/// How a logbook entry, or a reply in a thread, turned out (cloudsat's dispositions,
/// plus `ok` for a procedure done without remark).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Ok,
    Info,
    Problem,
    Acknowledged,
    Ignored,
    Belay,
    End,
}

/// `logbook/YYYY/MM/<id>.md` front matter; the body holds the notes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub at: Spanned<Moment>,
    pub by: String,
    /// The procedure this entry records; absent for an ad hoc entry.
    #[serde(default)]
    pub procedure: Option<Ref>,
    /// The entity the entry is about, `<kind>/<id>` (`host/web1`, `certificate/www`):
    /// the entry then shows in that entity's threads, and may acknowledge its alert.
    #[serde(default)]
    pub about: Option<Ref>,
    #[serde(default)]
    pub disposition: Option<Disposition>,
    /// With `disposition: acknowledged`: the last day the acknowledgement holds (it
    /// holds until the alert changes otherwise).
    #[serde(default)]
    pub until: Option<Spanned<Date>>,
    /// The entry this one answers, making a thread.
    #[serde(default)]
    pub reply_to: Option<Ref>,
}

impl LogEntry {
    /// What the entry is about, as alerts and pages name subjects (`host/web1`): its
    /// `about`, and the procedure it records.
    pub fn subjects(&self) -> impl Iterator<Item = String> + '_ {
        let about = self.about.as_ref().map(|a| a.as_str().to_owned());
        let procedure = self
            .procedure
            .as_ref()
            .map(|p| format!("procedure/{}", p.as_str()));
        about.into_iter().chain(procedure)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TicketKind {
    Bug,
    Feature,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    /// As written in a ticket (`high`).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Closed,
    Wontfix,
}

/// Enums of names as numbers, for fingerprints of the fields that hold them.
macro_rules! as_number {
    ($($enum:ident),*) => {$(
        impl From<$enum> for i64 {
            fn from(value: $enum) -> i64 {
                value as i64
            }
        }
    )*};
}
as_number!(TicketStatus, TicketKind, Priority);

impl TicketStatus {
    pub fn is_open(self) -> bool {
        matches!(self, TicketStatus::Open | TicketStatus::InProgress)
    }
}

/// `tickets/<id>.md` front matter; the body describes the problem or wish.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    pub title: String,
    pub kind: TicketKind,
    #[serde(default)]
    pub module: Option<Ref>,
    pub priority: Priority,
    pub status: Spanned<TicketStatus>,
    pub reporter: String,
    #[serde(default)]
    pub assignee: Option<String>,
    pub opened: Spanned<Moment>,
    #[serde(default)]
    pub first_response: Option<Spanned<Moment>>,
    #[serde(default)]
    pub closed: Option<Spanned<Moment>>,
    /// The release that fixed it (a release of the ticket's module).
    #[serde(default)]
    pub fixed_in: Option<Ref>,
    /// Hosts affected.
    #[serde(default)]
    pub hosts: Vec<Ref>,
}

// ---------------------------------------------------------------------------------------
// Sites and services (ControlTier)

/// The commands that operate a service; any may be absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub stop: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub install: Option<String>,
    #[serde(default)]
    pub configure: Option<String>,
}

/// `services/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub site: Ref,
    pub hosts: Vec<Ref>,
    /// Lower ranks start first and stop last.
    pub startup_rank: i64,
    /// The tier a rolling update treats it in; must be one of the site's `tier_order`.
    #[serde(default)]
    pub tier: Option<Spanned<String>>,
    #[serde(default)]
    pub commands: Commands,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateStrategy {
    /// Stop everything, install, configure, start everything.
    AllAtOnce,
    /// The same, one tier at a time in `tier_order`.
    Rolling,
}

/// `sites/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub update: Spanned<UpdateStrategy>,
    /// Tiers in the order a rolling update visits them.
    #[serde(default)]
    pub tier_order: Vec<Spanned<String>>,
    /// `glassroom run` may carry out this site's plans: every service of the site must
    /// then define every command, and every host a valid SSH destination.
    #[serde(default)]
    pub runnable: Spanned<bool>,
}

// ---------------------------------------------------------------------------------------
// Feature flags (Glowworm)

/// `flags/features/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    /// On for every account that has no more specific value.
    #[serde(default)]
    pub fully_active: Spanned<bool>,
    /// The value when nothing else decides; its type is the feature's type (boolean if absent).
    #[serde(default)]
    pub default: Option<Spanned<FlagValue>>,
    /// The value an account gets where the feature is active for it (`fully_active`, or
    /// inside the `rollout`): `true` if absent; required for non-boolean features that use
    /// either.
    #[serde(default)]
    pub active_value: Option<Spanned<FlagValue>>,
    /// Percentage (0–100) of accounts, chosen by a stable hash of feature and account,
    /// that get `active_value` when no override or account set decides.
    #[serde(default)]
    pub rollout: Option<Spanned<i64>>,
    /// `fully_active` and `rollout` apply from this moment on (overrides and account sets
    /// always apply).
    #[serde(default)]
    pub active_from: Option<Spanned<Moment>>,
}

impl Feature {
    /// The feature's type: its default's, boolean without one.
    pub fn flag_type(&self) -> FlagType {
        self.default
            .as_ref()
            .map_or(FlagType::Boolean, |d| d.flag_type())
    }
}

/// `flags/account_sets/<id>.yaml`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSet {
    #[serde(default)]
    pub description: Option<String>,
    pub accounts: Vec<Spanned<String>>,
    /// Feature id → the value for every account in the set.
    #[serde(default)]
    pub features: BTreeMap<Spanned<String>, Spanned<FlagValue>>,
}

/// `flags/overrides.yaml`: account → feature → value.
pub type Overrides = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<FlagValue>>>;

// ---------------------------------------------------------------------------------------
// News

/// `news/<id>.md` front matter; the body is the announcement.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct News {
    pub title: String,
    pub date: Spanned<Moment>,
    #[serde(default)]
    pub author: Option<String>,
}
