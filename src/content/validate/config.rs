//! Checks of the site configuration.

use std::collections::BTreeMap;

use super::super::model::SiteConfig;
use super::super::{Content, Document};
use crate::diag::Diagnostic;
use crate::suggest::suggest;

pub(super) fn check_config(
    config: &Document<SiteConfig>,
    content: &Content,
    out: &mut Vec<Diagnostic>,
) {
    let origin = config.origin;
    let data = &config.data;
    if let Some(url) = &data.base_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        out.push(
            Diagnostic::error(
                "invalid-url",
                format!("`base_url` `{url}` is not an http(s) URL"),
            )
            .at(origin.at_value(url))
            .with_help("write it like `https://ops.example.org/`"),
        );
    }
    for (name, window) in [
        ("certificates", &data.alerts.certificates),
        ("domains", &data.alerts.domains),
    ] {
        if window.critical >= window.warn {
            out.push(
                Diagnostic::error(
                    "invalid-window",
                    format!(
                        "`alerts.{name}.critical` ({}) must be shorter than `warn` ({})",
                        window.critical, window.warn
                    ),
                )
                .at(origin.at_value(window)),
            );
        }
    }
    let mut names = BTreeMap::new();
    for target in &data.sync.targets {
        let t = &target.value;
        let kinds = [t.dir.is_some(), t.command.is_some(), t.git.is_some()];
        if kinds.iter().filter(|set| **set).count() != 1 {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}` must have exactly one of `dir`, `command` and `git`",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.keep.is_some() && t.dir.is_none() {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `keep` applies only to a `dir` target",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.timeout.is_some() && t.dir.is_some() {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `timeout` applies only to `command` and `git` targets",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.keep == Some(0) {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `keep` counts the live release too, so it must be at least 1",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if let Some(first) = names.insert(t.name.as_str(), &t.name) {
            out.push(
                Diagnostic::error(
                    "duplicate-id",
                    format!("two sync targets are named `{}`", t.name),
                )
                .at(origin.at_value(&t.name))
                .with_related(origin.at_value(first), "first defined here"),
            );
        }
    }
    let users = content.policy.as_ref().map(|p| &p.data.users);
    for (principal, token) in &data.serve.logbook_tokens {
        if let Some(users) = users
            && !users.contains_key(principal.as_str())
        {
            let help = match suggest(principal, users.keys().map(|k| k.as_str())) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "declare the robot under `users:` in .glassroom/policy.yaml".into(),
            };
            out.push(
                Diagnostic::error("unknown-reference", format!("unknown user `{principal}`"))
                    .at(origin.at_value(principal))
                    .with_help(help),
            );
        }
        check_token_hash(token, "a logbook token", origin, out);
    }
    for token in data.serve.ofrep_tokens.values() {
        check_token_hash(token, "an OFREP token", origin, out);
    }
}

/// A token is stored as its sha256, never as itself.
fn check_token_hash(
    token: &crate::yaml::Spanned<String>,
    what: &str,
    origin: crate::diag::Origin,
    out: &mut Vec<Diagnostic>,
) {
    let hex = token.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        out.push(
            Diagnostic::error(
                "invalid-token-hash",
                format!("{what} must be stored as `sha256:` and 64 hex digits"),
            )
            .at(origin.at_value(token))
            .with_help("store the hash, never the token: `printf %s \"$TOKEN\" | sha256sum`"),
        );
    }
}
