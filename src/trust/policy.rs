//! `.glassroom/policy.yaml`: principals and their keys, groups, roles per path, and the
//! paths that are pre-approved or append-only.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::diag::{Diagnostic, Files, Origin};
use crate::values::Moment;
use crate::yaml::Spanned;

use super::key_support::unsupported_key;

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

impl Policy {
    /// The policy `text` describes, if it may be in force: it parses and [`validate`]
    /// finds no error in it (a key listed twice, or one that cannot verify, would make
    /// signatures mean something else than the policy says). Otherwise the first problem
    /// in the file, as `path:line:column: message`.
    pub fn usable(text: &str) -> Result<Policy, String> {
        let mut files = Files::new();
        let file = files.add(POLICY_PATH, text);
        let at = |offset: usize| {
            let place = files.line_column(file, offset);
            format!("{POLICY_PATH}:{}:{}", place.line, place.column)
        };
        let policy = crate::yaml::from_str::<Policy>(text)
            .map_err(|err| format!("{}: {}", at(err.span.start), err.message))?;
        let errors: Vec<Diagnostic> = validate(&policy, Origin { file, offset: 0 })
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        let offset = |d: &Diagnostic| d.location.as_ref().map_or(0, |l| l.range.start);
        match errors.iter().min_by_key(|d| offset(d)) {
            None => Ok(policy),
            Some(first) => Err(format!(
                "{}: {}{}",
                at(offset(first)),
                first.message,
                match errors.len().saturating_sub(1) {
                    0 => String::new(),
                    1 => " (and 1 more problem)".to_owned(),
                    more => format!(" (and {more} more problems)"),
                }
            )),
        }
    }
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
                    if let Some(why) = unsupported_key(parsed.key_data()) {
                        out.push(
                            Diagnostic::error(
                                "unsupported-key",
                                format!("unsupported key type: this is {why}"),
                            )
                            .at(origin.at_value(&key.key))
                            .with_help("use an Ed25519 key (`ssh-keygen -t ed25519`), an ECDSA key, or RSA of 2048 to 4096 bits"),
                        );
                    }
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
    match crate::suggest::suggest(name, candidates) {
        Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
        None => diagnostic.with_help(format!(
            "declare `{name}` under `users:`{} in {POLICY_PATH}",
            if what == "user" { "" } else { " or `groups:`" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::public::{
        DsaPublicKey, EcdsaPublicKey, Ed25519PublicKey, KeyData, RsaPublicKey, SkEcdsaSha2NistP256,
        SkEd25519,
    };
    use ssh_key::{Mpint, PublicKey};

    /// The OpenSSH line of a made-up key (only its type and size matter here).
    fn line(data: KeyData) -> String {
        PublicKey::new(data, "test").to_openssh().expect("encodes")
    }

    fn ed25519(byte: u8) -> String {
        line(KeyData::Ed25519(Ed25519PublicKey([byte; 32])))
    }

    /// An RSA key whose modulus has exactly `bits` bits.
    fn rsa(bits: usize) -> String {
        let mut n = vec![0xff; bits.div_ceil(8)];
        n[0] >>= (8 - bits % 8) % 8;
        line(KeyData::Rsa(RsaPublicKey {
            e: Mpint::from_positive_bytes(&[1, 0, 1]).expect("e"),
            n: Mpint::from_positive_bytes(&n).expect("n"),
        }))
    }

    fn ecdsa(field_bytes: usize) -> String {
        let mut point = vec![0x04];
        point.extend(std::iter::repeat_n(7, 2 * field_bytes));
        line(KeyData::Ecdsa(
            EcdsaPublicKey::from_sec1_bytes(&point).expect("point"),
        ))
    }

    fn with_keys(keys: &[(&str, &str)]) -> String {
        let mut text = String::from("users:\n");
        for (user, key) in keys {
            text.push_str(&format!("  {user}:\n    keys: [\"{key}\"]\n"));
        }
        text.push_str("grants:\n  /: { alice: admin }\n");
        text
    }

    #[test]
    fn a_policy_that_validates_is_usable() {
        let text = with_keys(&[("alice", &ed25519(1)), ("bob", &ed25519(2))]);
        let policy = Policy::usable(&text).expect("usable");
        assert_eq!(policy.users.len(), 2);
    }

    #[test]
    fn a_key_under_two_users_makes_the_policy_unusable_at_its_second_place() {
        let key = ed25519(1);
        let text = with_keys(&[("alice", &key), ("bob", &ed25519(2)), ("carol", &key)]);
        let reason = Policy::usable(&text).expect_err("duplicate key");
        assert_eq!(
            reason,
            ".glassroom/policy.yaml:7:12: this key is already listed for `alice`"
        );
    }

    #[test]
    fn the_first_of_several_problems_is_named_with_a_count() {
        let key = ed25519(1);
        let text = format!(
            "{}groups:\n  ops: [alice, zed]\n",
            with_keys(&[("alice", &key), ("bob", &key), ("carol", &rsa(1024))])
        );
        let reason = Policy::usable(&text).expect_err("three problems");
        assert!(
            reason.starts_with(".glassroom/policy.yaml:5:12: this key is already listed for `alice` (and 2 more problems)"),
            "{reason}"
        );
    }

    #[test]
    fn a_policy_that_does_not_parse_is_not_usable() {
        let reason = Policy::usable("users:\n  alice: { keyz: [] }\n").expect_err("typo");
        assert!(
            reason.starts_with(".glassroom/policy.yaml:2:") && reason.contains("keyz"),
            "{reason}"
        );
        assert!(
            Policy::usable("").is_ok(),
            "an empty policy is an empty mapping"
        );
    }

    #[test]
    fn keys_that_cannot_verify_are_refused_with_what_they_are() {
        let refused = [
            (
                rsa(1024),
                "an RSA key of 1024 bits; RSA keys need 2048 to 4096 bits",
            ),
            (rsa(2047), "an RSA key of 2047 bits"),
            (rsa(4097), "an RSA key of 4097 bits"),
            (rsa(8192), "an RSA key of 8192 bits"),
            (
                line(KeyData::Dsa(DsaPublicKey {
                    p: Mpint::from_positive_bytes(&[0x7f; 128]).expect("p"),
                    q: Mpint::from_positive_bytes(&[0x7f; 20]).expect("q"),
                    g: Mpint::from_positive_bytes(&[2]).expect("g"),
                    y: Mpint::from_positive_bytes(&[3]).expect("y"),
                })),
                "a DSA key (`ssh-dss`), which signs with SHA-1",
            ),
        ];
        for (key, why) in &refused {
            let text = with_keys(&[("alice", key)]);
            let policy: Policy = crate::yaml::from_str(&text).expect("parses");
            let mut files = Files::new();
            let file = files.add(POLICY_PATH, text.as_str());
            let found = validate(&policy, Origin { file, offset: 0 });
            assert_eq!(found.len(), 1, "{why}: {found:?}");
            assert_eq!(found[0].code, "unsupported-key");
            assert!(
                found[0]
                    .message
                    .starts_with("unsupported key type: this is ")
                    && found[0].message.contains(why),
                "{}",
                found[0].message
            );
            let reason = Policy::usable(&text).expect_err(why);
            assert!(reason.contains("unsupported key type"), "{reason}");
        }
    }

    #[test]
    fn every_key_type_that_verifies_is_accepted() {
        let sk = KeyData::SkEd25519(SkEd25519::new(Ed25519PublicKey([9; 32]), "ssh:"));
        let EcdsaPublicKey::NistP256(point) =
            EcdsaPublicKey::from_sec1_bytes(&[[4].as_slice(), &[7; 64]].concat()).expect("point")
        else {
            panic!("a P-256 point");
        };
        let sk_ecdsa = KeyData::SkEcdsaSha2NistP256(SkEcdsaSha2NistP256::new(point, "ssh:"));
        let accepted = [
            ed25519(1),
            rsa(2048),
            rsa(3072),
            rsa(4096),
            ecdsa(32),
            ecdsa(48),
            ecdsa(66),
            line(sk),
            line(sk_ecdsa),
        ];
        let users: Vec<(String, &str)> = accepted
            .iter()
            .enumerate()
            .map(|(i, key)| (format!("u{i}"), key.as_str()))
            .collect();
        let pairs: Vec<(&str, &str)> = users.iter().map(|(u, k)| (u.as_str(), *k)).collect();
        let text = with_keys(&pairs).replace("alice: admin", "u0: admin");
        let policy = Policy::usable(&text).unwrap_or_else(|reason| panic!("{reason}"));
        assert_eq!(policy.users.len(), accepted.len());
    }
}
