//! SSH commit signatures (`gpg.format=ssh`, namespace `git`), verified in-process against
//! the keys the policy lists, each valid only within its period.

use ssh_key::{HashAlg, PublicKey, SshSig, public::KeyData};

use super::commit::SignatureHeader;
use super::policy::Policy;

/// The namespace git uses for commit signatures.
pub const NAMESPACE: &str = "git";

/// One key a principal may sign with.
#[derive(Debug, Clone)]
struct RingKey {
    data: KeyData,
    principal: String,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
}

/// Every usable key of a policy, parsed once.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl KeyRing {
    pub fn new(policy: &Policy) -> Self {
        let mut keys = Vec::new();
        for (principal, user) in &policy.users {
            for key in &user.keys {
                let Ok(parsed) = PublicKey::from_openssh(key.key.trim()) else {
                    continue;
                };
                keys.push(RingKey {
                    data: parsed.key_data().clone(),
                    principal: principal.value.clone(),
                    valid_after: key.valid_after.as_ref().map(|t| t.value.0.as_second()),
                    valid_before: key.valid_before.as_ref().map(|t| t.value.0.as_second()),
                });
            }
        }
        Self { keys }
    }
}

/// The outcome of checking a commit's signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A valid signature by this principal's key, valid at the commit time.
    Signed { principal: String, key: String },
    /// Not signed, or not by anyone the policy trusts; the reason says which.
    Unsigned { reason: String },
}

impl Verdict {
    pub fn principal(&self) -> Option<&str> {
        match self {
            Verdict::Signed { principal, .. } => Some(principal),
            Verdict::Unsigned { .. } => None,
        }
    }
}

fn unsigned(reason: impl Into<String>) -> Verdict {
    Verdict::Unsigned {
        reason: reason.into(),
    }
}

/// Checks `header` over `payload` for a commit made at `commit_time` (seconds).
pub fn verify(
    header: &SignatureHeader,
    payload: &[u8],
    commit_time: i64,
    ring: &KeyRing,
) -> Verdict {
    let text = match header {
        SignatureHeader::None => return unsigned("no signature"),
        SignatureHeader::Refused(reason) => return unsigned(reason.clone()),
        SignatureHeader::One(text) => text,
    };
    if text.contains("BEGIN PGP SIGNATURE") {
        return unsigned("an OpenPGP signature; only SSH signatures are accepted");
    }
    let Ok(signature) = SshSig::from_pem(text) else {
        return unsigned("a malformed SSH signature");
    };
    let fingerprint = PublicKey::from(signature.public_key().clone())
        .fingerprint(HashAlg::Sha256)
        .to_string();
    if signature.namespace() != NAMESPACE {
        return unsigned(format!(
            "signed for namespace `{}`, not `{NAMESPACE}`",
            signature.namespace()
        ));
    }
    let candidates: Vec<&RingKey> = ring
        .keys
        .iter()
        .filter(|k| &k.data == signature.public_key())
        .collect();
    if candidates.is_empty() {
        return unsigned(format!(
            "signed by key {fingerprint}, which the policy does not list"
        ));
    }
    let public = PublicKey::from(signature.public_key().clone());
    if public.verify(NAMESPACE, payload, &signature).is_err() {
        return unsigned(format!(
            "the signature by key {fingerprint} does not match the commit's content"
        ));
    }
    let valid = candidates.iter().find(|k| {
        k.valid_after.is_none_or(|after| commit_time >= after)
            && k.valid_before.is_none_or(|before| commit_time < before)
    });
    match valid {
        Some(key) => Verdict::Signed {
            principal: key.principal.clone(),
            key: fingerprint,
        },
        None => unsigned(format!(
            "key {fingerprint} of `{}` is not valid at the commit time",
            candidates[0].principal
        )),
    }
}

/// Whether a principal's key `fingerprint` is still valid at `moment` (seconds): used to
/// refuse history that first appears after the key expired.
pub fn key_valid_at(ring: &KeyRing, fingerprint: &str, moment: i64) -> bool {
    ring.keys.iter().any(|k| {
        PublicKey::from(k.data.clone())
            .fingerprint(HashAlg::Sha256)
            .to_string()
            == fingerprint
            && k.valid_before.is_none_or(|before| moment < before)
    })
}
