//! `notify:` in `glassroom.yaml`: where notifications go (see `docs/notify.md`).

use serde::{Deserialize, Serialize};

use crate::content::types::Duration;
use crate::yaml::Spanned;

/// `notify:` where notifications go (see `docs/notify.md`). Credentials are never
/// written here: only the names of the environment variables that hold them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub email: Option<EmailConfig>,
    #[serde(default)]
    pub webhooks: Vec<Spanned<WebhookConfig>>,
    /// A command (argv, not run through a shell) given each event's JSON on stdin.
    #[serde(default)]
    pub command: Option<Spanned<Vec<String>>>,
    /// How failed deliveries are retried and when they are given up.
    #[serde(default)]
    pub retry: NotifyRetry,
}

impl NotifyConfig {
    pub fn is_empty(&self) -> bool {
        self == &NotifyConfig::default()
    }
}

/// Retries of failed deliveries: `first`, doubling, at most `max`; given up `give_up`
/// after the event.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotifyRetry {
    #[serde(default = "NotifyRetry::default_first")]
    pub first: Duration,
    #[serde(default = "NotifyRetry::default_max")]
    pub max: Duration,
    #[serde(default = "NotifyRetry::default_give_up")]
    pub give_up: Duration,
}

impl NotifyRetry {
    fn default_first() -> Duration {
        Duration::minutes(1)
    }
    fn default_max() -> Duration {
        Duration::minutes(60)
    }
    fn default_give_up() -> Duration {
        Duration::days(2)
    }
}

impl Default for NotifyRetry {
    fn default() -> Self {
        Self {
            first: Self::default_first(),
            max: Self::default_max(),
            give_up: Self::default_give_up(),
        }
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

/// `notify.email`: an SMTP server.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: Spanned<String>,
    /// Default: 587 for STARTTLS, 465 for TLS, 25 for none.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: EmailSecurity,
    pub from: Spanned<String>,
    /// Addresses told of every event, besides the people an event concerns.
    #[serde(default)]
    pub to: Vec<Spanned<String>>,
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
}

/// `notify.webhooks[]`: a JSON POST per event.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    /// The environment variable holding the HMAC-SHA256 key for `X-Glassroom-Signature`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Only these kinds of event (`ticket_opened`, `alert_raised`…); every kind if empty.
    #[serde(default)]
    pub kinds: Vec<Spanned<String>>,
}
