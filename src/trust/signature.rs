//! SSH commit signatures (`gpg.format=ssh`, namespace `git`), verified in-process against
//! the keys the policy lists, each valid only within its period.

use ssh_key::{HashAlg, PublicKey, SshSig, public::KeyData};

use super::commit::SignatureHeader;
use super::key_support::unsupported_key;
use super::policy::Policy;

/// The namespace git uses for commit signatures.
pub const NAMESPACE: &str = "git";

/// The algorithm named inside an SSH signature that ssh-key could not read, to say why
/// it was refused.
fn unreadable_signature_algorithm(text: &str) -> Option<String> {
    use ssh_encoding::Decode;
    let (label, bytes) = ssh_encoding::pem::decode_vec(text.trim().as_bytes()).ok()?;
    if label != "SSH SIGNATURE" {
        return None;
    }
    let mut reader = bytes.strip_prefix(b"SSHSIG")?;
    let _version = u32::decode(&mut reader).ok()?;
    let _public_key = Vec::<u8>::decode(&mut reader).ok()?;
    let _namespace = Vec::<u8>::decode(&mut reader).ok()?;
    let _reserved = Vec::<u8>::decode(&mut reader).ok()?;
    let _hash = Vec::<u8>::decode(&mut reader).ok()?;
    let signature = Vec::<u8>::decode(&mut reader).ok()?;
    String::decode(&mut signature.as_slice()).ok()
}

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
        return unsigned(match unreadable_signature_algorithm(text).as_deref() {
            // ssh-key 0.6 does not even decode these; OpenSSH refuses them too.
            Some("ssh-rsa") => "an RSA signature made with SHA-1 (`ssh-rsa`), which is too weak; \
                                git and ssh-keygen sign with `rsa-sha2-512`"
                .to_owned(),
            _ => "a malformed SSH signature".to_owned(),
        });
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
    let owner = &candidates[0].principal;
    if let Some(why) = unsupported_key(signature.public_key()) {
        return unsigned(format!(
            "unsupported key type: key {fingerprint} of `{owner}` is {why}"
        ));
    }
    let public = PublicKey::from(signature.public_key().clone());
    match public.verify(NAMESPACE, payload, &signature) {
        Ok(()) => {}
        Err(ssh_key::Error::AlgorithmUnsupported { algorithm }) => {
            return unsigned(format!(
                "unsupported signature type `{algorithm}` by key {fingerprint} of `{owner}`"
            ));
        }
        Err(_) => {
            return unsigned(format!(
                "the signature by key {fingerprint} does not match the commit's content"
            ));
        }
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
            "key {fingerprint} of `{owner}` is not valid at the commit time"
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

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_encoding::Encode;
    use ssh_key::Algorithm;
    use ssh_key::private::Ed25519Keypair;
    use ssh_key::public::{DsaPublicKey, Ed25519PublicKey, RsaPublicKey, SkEd25519};
    use ssh_key::sha2::{Digest, Sha256};
    use ssh_key::{LineEnding, Mpint, PrivateKey, Signature, SigningKey};

    const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nA change\n";

    fn ring(key: &KeyData) -> KeyRing {
        KeyRing {
            keys: vec![RingKey {
                data: key.clone(),
                principal: "alice".into(),
                valid_after: None,
                valid_before: None,
            }],
        }
    }

    fn check(key: &KeyData, signature: Signature) -> Verdict {
        let pem = SshSig::new(key.clone(), NAMESPACE, HashAlg::Sha512, signature)
            .and_then(|s| s.to_pem(LineEnding::LF))
            .expect("encodes");
        verify(&SignatureHeader::One(pem), PAYLOAD, 0, &ring(key))
    }

    fn reason(verdict: Verdict) -> String {
        match verdict {
            Verdict::Unsigned { reason } => reason,
            signed => panic!("expected a refusal, got {signed:?}"),
        }
    }

    fn raw_sign(key: &impl SigningKey, message: &[u8]) -> Vec<u8> {
        key.try_sign(message).expect("signs").as_bytes().to_vec()
    }

    /// A signature as a FIDO security key makes it for an `sk-ssh-ed25519` key: over
    /// the application's and the message's hashes with the flags and counter between.
    fn security_key_signature(key: &Ed25519Keypair, flags: u8, payload: &[u8]) -> Signature {
        let signed = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, payload).expect("data");
        let counter = 7u32.to_be_bytes();
        let mut message = Sha256::digest(b"ssh:").to_vec();
        message.push(flags);
        message.extend(counter);
        message.extend(Sha256::digest(&signed));
        let mut bytes = raw_sign(&PrivateKey::from(key.clone()), &message);
        bytes.push(flags);
        bytes.extend(counter);
        Signature::new(Algorithm::SkEd25519, bytes).expect("signature")
    }

    /// Security-key signatures verify (ssh-key 0.6 handles both `sk-` types); like
    /// OpenSSH's `ssh-keygen -Y verify`, whether the key was touched does not matter.
    #[test]
    fn a_security_key_signature_verifies_over_its_content_only() {
        let keypair = Ed25519Keypair::from_seed(&[5; 32]);
        let key = KeyData::SkEd25519(SkEd25519::new(keypair.public, "ssh:"));
        for flags in [0x01, 0x00] {
            let verdict = check(&key, security_key_signature(&keypair, flags, PAYLOAD));
            assert_eq!(verdict.principal(), Some("alice"), "{flags}: {verdict:?}");
        }
        let other = reason(check(
            &key,
            security_key_signature(&keypair, 0x01, b"other"),
        ));
        assert!(
            other.contains("does not match the commit's content"),
            "{other}"
        );
    }

    fn rsa_key(bits: usize) -> KeyData {
        KeyData::Rsa(RsaPublicKey {
            e: Mpint::from_positive_bytes(&[1, 0, 1]).expect("e"),
            n: Mpint::from_positive_bytes(&vec![0xff; bits / 8]).expect("n"),
        })
    }

    #[test]
    fn a_signature_by_a_key_that_cannot_verify_is_unsupported_not_a_mismatch() {
        let rsa = rsa_key(1024);
        let sha512 = Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        };
        let found = reason(check(
            &rsa,
            Signature::new(sha512, vec![1; 128]).expect("sig"),
        ));
        assert!(
            found.starts_with("unsupported key type: key SHA256:")
                && found.ends_with(
                    " of `alice` is an RSA key of 1024 bits; RSA keys need 2048 to 4096 bits"
                ),
            "{found}"
        );
        let dsa = KeyData::Dsa(DsaPublicKey {
            p: Mpint::from_positive_bytes(&[0x7f; 128]).expect("p"),
            q: Mpint::from_positive_bytes(&[0x7f; 20]).expect("q"),
            g: Mpint::from_positive_bytes(&[2]).expect("g"),
            y: Mpint::from_positive_bytes(&[3]).expect("y"),
        });
        let found = reason(check(
            &dsa,
            Signature::new(Algorithm::Dsa, vec![1; 40]).expect("sig"),
        ));
        assert!(
            found.starts_with("unsupported key type: ") && found.contains("a DSA key"),
            "{found}"
        );
    }

    #[test]
    fn an_rsa_key_with_an_odd_exponent_or_size_cannot_verify() {
        assert_eq!(unsupported_key(&rsa_key(2048)), None);
        assert_eq!(unsupported_key(&rsa_key(4096)), None);
        let tiny_exponent = KeyData::Rsa(RsaPublicKey {
            e: Mpint::from_positive_bytes(&[1]).expect("e"),
            n: Mpint::from_positive_bytes(&[0xff; 256]).expect("n"),
        });
        assert_eq!(
            unsupported_key(&tiny_exponent).as_deref(),
            Some("an RSA key with an unusual public exponent")
        );
        let ed25519 = KeyData::Ed25519(Ed25519PublicKey([1; 32]));
        assert_eq!(unsupported_key(&ed25519), None);
    }

    /// ssh-key 0.6 does not decode an RSA signature made with SHA-1 (`ssh-rsa`) at all;
    /// the refusal says why instead of "malformed".
    #[test]
    fn an_rsa_signature_made_with_sha1_is_refused_as_too_weak() {
        let key = rsa_key(2048);
        let mut signature = Vec::new();
        "ssh-rsa".encode(&mut signature).expect("encodes");
        [1u8; 256]
            .as_slice()
            .encode(&mut signature)
            .expect("encodes");
        let mut blob = b"SSHSIG".to_vec();
        1u32.encode(&mut blob).expect("encodes");
        let key_blob = PublicKey::from(key.clone()).to_bytes().expect("encodes");
        key_blob.as_slice().encode(&mut blob).expect("encodes");
        NAMESPACE.encode(&mut blob).expect("encodes");
        [0u8; 0].as_slice().encode(&mut blob).expect("encodes");
        "sha512".encode(&mut blob).expect("encodes");
        signature.as_slice().encode(&mut blob).expect("encodes");
        let pem = ssh_encoding::pem::encode_string(
            "SSH SIGNATURE",
            ssh_encoding::pem::LineEnding::LF,
            &blob,
        )
        .expect("pem");
        assert!(SshSig::from_pem(&pem).is_err());
        let found = reason(verify(&SignatureHeader::One(pem), PAYLOAD, 0, &ring(&key)));
        assert!(
            found.starts_with("an RSA signature made with SHA-1 (`ssh-rsa`), which is too weak"),
            "{found}"
        );
        let garbage = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n";
        let found = reason(verify(
            &SignatureHeader::One(garbage.into()),
            PAYLOAD,
            0,
            &ring(&key),
        ));
        assert_eq!(found, "a malformed SSH signature");
    }
}
