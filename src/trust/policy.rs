//! `.glassroom/policy.yaml`: principals and their keys, groups, roles per path, and the
//! paths that are pre-approved or append-only.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::content::types::Moment;
use crate::diag::{Diagnostic, Origin};
use crate::yaml::Spanned;

/// The path of the policy file inside a repository.
pub const POLICY_PATH: &str = ".glassroom/policy.yaml";

/// DryDock's roles, cumulative: each includes the ones below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    None,
    View,
    Review,
    Sign,
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::None => "none",
            Role::View => "view",
            Role::Review => "review",
            Role::Sign => "sign",
            Role::Admin => "admin",
        })
    }
}

/// The whole policy file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub users: BTreeMap<Spanned<String>, User>,
    /// Group → member users.
    #[serde(default)]
    pub groups: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// Path (`/`, `/tickets`, ...) → principal (user or group) → role.
    #[serde(default)]
    pub grants: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Role>>>,
    /// Globs whose changes publish without a signature (still audited).
    #[serde(default)]
    pub pre_approved: Vec<Spanned<String>>,
    /// Globs where existing files may not be changed or deleted.
    #[serde(default)]
    pub append_only: Vec<Spanned<String>>,
}

/// A person or robot that signs commits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A robot posts logbook entries; it is not a person to ask for a review.
    #[serde(default)]
    pub robot: bool,
    #[serde(default)]
    pub keys: Vec<SigningKey>,
}

/// An SSH public key (`ssh-ed25519 AAAA... comment`), optionally valid only for a period.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub key: Spanned<String>,
    pub valid_after: Option<Spanned<Moment>>,
    pub valid_before: Option<Spanned<Moment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyWithPeriod {
    key: Spanned<String>,
    #[serde(default)]
    valid_after: Option<Spanned<Moment>>,
    #[serde(default)]
    valid_before: Option<Spanned<Moment>>,
}

/// What a key entry may be written as: the key text alone, or a mapping.
enum KeyEntry {
    Text(String),
    WithPeriod(KeyWithPeriod),
}

impl<'de> Deserialize<'de> for KeyEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = KeyEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an SSH public key, or a mapping with `key`, `valid_after`, `valid_before`",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<KeyEntry, E> {
                Ok(KeyEntry::Text(text.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KeyEntry, A::Error> {
                KeyWithPeriod::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(KeyEntry::WithPeriod)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entry = Spanned::<KeyEntry>::deserialize(deserializer)?;
        Ok(match entry.value {
            KeyEntry::Text(text) => SigningKey {
                key: Spanned::new(text, entry.span),
                valid_after: None,
                valid_before: None,
            },
            KeyEntry::WithPeriod(full) => SigningKey {
                key: full.key,
                valid_after: full.valid_after,
                valid_before: full.valid_before,
            },
        })
    }
}

impl Policy {
    /// The policy of `text` if it can be in force: it parses and [`validate`] finds no
    /// error (a key listed twice, a key that cannot verify, an unknown principal...);
    /// else the first problem, for the refusal's reason.
    pub fn usable(text: &str) -> Result<Policy, String> {
        let policy: Policy = crate::yaml::from_str(text).map_err(|err| err.message)?;
        let origin = Origin {
            file: crate::diag::FileId::from_index(0),
            offset: 0,
        };
        match validate(&policy, origin).into_iter().find(|d| d.is_error()) {
            Some(problem) => Err(problem.message),
            None => Ok(policy),
        }
    }
}

/// Principal names: letters, digits, `.`, `_` and `-`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A grant path is `/` or `/dir[/sub...]`: absolute, no empty, `.` or `..` segments.
pub fn is_valid_grant_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/')
        .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Checks the policy on its own: keys parse, names are declared, paths and globs are sound.
pub fn validate(policy: &Policy, origin: Origin) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut key_owner: BTreeMap<String, &Spanned<String>> = BTreeMap::new();
    for (name, user) in &policy.users {
        if !is_valid_name(name) {
            out.push(
                Diagnostic::error("invalid-name", format!("invalid user name `{name}`"))
                    .at(origin.at_value(name))
                    .with_help("use letters, digits, `.`, `_` and `-`"),
            );
        }
        for key in &user.keys {
            match ssh_key::PublicKey::from_openssh(key.key.trim()) {
                Ok(parsed) => {
                    let blob = parsed.key_data().clone();
                    let fingerprint = ssh_key::PublicKey::from(blob)
                        .fingerprint(ssh_key::HashAlg::Sha256)
                        .to_string();
                    if let Some(first) = key_owner.get(&fingerprint) {
                        out.push(
                            Diagnostic::error(
                                "duplicate-key",
                                format!("this key is already listed for `{first}`"),
                            )
                            .at(origin.at_value(&key.key))
                            .with_related(origin.at_value(*first), "first listed here")
                            .with_help("a key must belong to exactly one principal"),
                        );
                    } else {
                        key_owner.insert(fingerprint, name);
                    }
                }
                Err(err) => out.push(
                    Diagnostic::error(
                        "invalid-key",
                        format!("not a valid SSH public key: {err}"),
                    )
                    .at(origin.at_value(&key.key))
                    .with_help("paste the whole line of the `.pub` file, e.g. `ssh-ed25519 AAAAC3Nza... alice@laptop`"),
                ),
            }
            if let (Some(after), Some(before)) = (&key.valid_after, &key.valid_before)
                && after.value >= before.value
            {
                out.push(
                    Diagnostic::error(
                        "impossible-period",
                        format!(
                            "`valid_before` ({}) is not after `valid_after` ({})",
                            before.value, after.value
                        ),
                    )
                    .at(origin.at_value(before)),
                );
            }
        }
    }
    for (group, members) in &policy.groups {
        if !is_valid_name(group) {
            out.push(
                Diagnostic::error("invalid-name", format!("invalid group name `{group}`"))
                    .at(origin.at_value(group))
                    .with_help("use letters, digits, `.`, `_` and `-`"),
            );
        }
        if let Some((user, _)) = policy.users.get_key_value(group.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-principal",
                    format!("`{group}` is both a user and a group"),
                )
                .at(origin.at_value(group))
                .with_related(origin.at_value(user), "the user is declared here")
                .with_help("rename the group"),
            );
        }
        for member in members {
            if !policy.users.contains_key(member.as_str()) {
                out.push(unknown_principal(
                    origin,
                    member,
                    "user",
                    policy.users.keys().map(|k| k.as_str()),
                ));
            }
        }
    }
    for (path, grants) in &policy.grants {
        if !is_valid_grant_path(path) {
            out.push(
                Diagnostic::error("invalid-path", format!("invalid grant path `{path}`"))
                    .at(origin.at_value(path))
                    .with_help("grant paths are absolute within the repository, like `/` or `/tickets`, without `.`, `..` or a trailing `/`"),
            );
        }
        for principal in grants.keys() {
            let known = policy.users.contains_key(principal.as_str())
                || policy.groups.contains_key(principal.as_str());
            if !known {
                let candidates = policy
                    .users
                    .keys()
                    .chain(policy.groups.keys())
                    .map(|k| k.as_str());
                out.push(unknown_principal(
                    origin,
                    principal,
                    "user or group",
                    candidates,
                ));
            }
        }
    }
    for glob in policy.pre_approved.iter().chain(&policy.append_only) {
        if let Err(err) = globset::Glob::new(glob) {
            out.push(
                Diagnostic::error(
                    "invalid-glob",
                    format!("invalid glob `{glob}`: {}", err.kind()),
                )
                .at(origin.at_value(glob))
                .with_help("globs are relative to the repository root, e.g. `logbook/**`"),
            );
        }
    }
    out
}

fn unknown_principal<'a>(
    origin: Origin,
    name: &Spanned<String>,
    what: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::error("unknown-reference", format!("unknown {what} `{name}`"))
        .at(origin.at_value(name));
    match crate::diag::suggest(name, candidates) {
        Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
        None => diagnostic.with_help(format!(
            "declare `{name}` under `users:`{} in {POLICY_PATH}",
            if what == "user" { "" } else { " or `groups:`" }
        )),
    }
}
