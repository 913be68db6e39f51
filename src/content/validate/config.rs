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
        let kinds = [
            t.dir.is_some(),
            t.command.is_some(),
            t.git.is_some(),
            t.s3.is_some(),
        ];
        if kinds.iter().filter(|set| **set).count() != 1 {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}` must have exactly one of `dir`, `command`, `git` and `s3`",
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
                        "sync target `{}`: `timeout` applies only to `command`, `git` and `s3` targets",
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
        if let Some(s3) = &t.s3 {
            check_s3(&t.name, s3, origin, out);
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

/// An `s3:` target: a bucket name S3 accepts, a prefix of plain segments, an https
/// endpoint (plain http only to this machine: anything else would send the site, and
/// signed requests, in clear over the network).
fn check_s3(
    target: &str,
    s3: &crate::content::model::S3Target,
    origin: crate::diag::Origin,
    out: &mut Vec<Diagnostic>,
) {
    let bucket = s3.bucket.as_str();
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !bucket_ok {
        out.push(
            Diagnostic::error(
                "invalid-target",
                format!("sync target `{target}`: `{bucket}` is not a bucket name"),
            )
            .at(origin.at_value(&s3.bucket))
            .with_help(
                "3 to 63 lower-case letters, digits, `-` and `.`; a prefix goes in `prefix:`",
            ),
        );
    }
    if let Some(prefix) = &s3.prefix {
        let trimmed = prefix.trim_end_matches('/');
        if trimmed.is_empty()
            || trimmed
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
        {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!("sync target `{target}`: `prefix` `{}` is not a key prefix", prefix.as_str()),
                )
                .at(origin.at_value(prefix))
                .with_help("write it like `ops` or `sites/ops/`: no leading `/`, no empty, `.` or `..` segments"),
            );
        }
    }
    if let Some(endpoint) = &s3.endpoint {
        let url = endpoint.as_str();
        let host = url
            .strip_prefix("http://")
            .map(|rest| rest.split(['/', '?']).next().unwrap_or(""));
        let loopback = host.is_some_and(|host| {
            let name = host.rsplit_once(':').map_or(host, |(name, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    name
                } else {
                    host
                }
            });
            matches!(name, "localhost" | "[::1]") || name.starts_with("127.")
        });
        let https = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !(https || loopback) {
            out.push(
                Diagnostic::error(
                    "invalid-url",
                    format!("sync target `{target}`: `endpoint` `{url}` is not an https URL"),
                )
                .at(origin.at_value(endpoint))
                .with_help(
                    "write it like `https://<account>.r2.cloudflarestorage.com`; plain `http://` only for this machine (`http://127.0.0.1:9000`)",
                ),
            );
        }
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
