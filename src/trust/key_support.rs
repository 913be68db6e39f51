//! Which SSH keys can be verified here, and why the others cannot: a fact of signature
//! verification that the policy checks when it lists a key (so neither of the two
//! modules imports the other for it).

use ssh_key::public::KeyData;

/// The RSA modulus sizes that verify here: shorter ones are too weak (and ssh-key refuses
/// under 2048 bits), longer ones exceed what the `rsa` crate accepts.
const RSA_BITS: std::ops::RangeInclusive<u64> = 2048..=4096;

/// The RSA public exponents the `rsa` crate accepts (`ssh-keygen` always uses 65537).
const RSA_EXPONENT: std::ops::RangeInclusive<u64> = 2..=(1 << 33) - 1;

/// Why signatures by `key` cannot be verified here, if they cannot: such a key is
/// refused in a policy and its signatures are reported as unsupported.
pub fn unsupported_key(key: &KeyData) -> Option<String> {
    match key {
        KeyData::Ed25519(_) => None,
        // Security keys: verified like `ssh-keygen -Y verify` does, whatever their
        // user-presence flag says.
        KeyData::SkEd25519(_) | KeyData::SkEcdsaSha2NistP256(_) => None,
        // P-256, P-384 and P-521, every curve OpenSSH has (P-521 through ssh-key's `p521`
        // feature, which Cargo.toml turns on).
        KeyData::Ecdsa(_) => None,
        KeyData::Rsa(rsa) => {
            let bits = mpint_bits(&rsa.n);
            let exponent = mpint_value(&rsa.e);
            if !RSA_BITS.contains(&bits) {
                Some(format!(
                    "an RSA key of {bits} bits; RSA keys need {} to {} bits",
                    RSA_BITS.start(),
                    RSA_BITS.end()
                ))
            } else if !exponent.is_some_and(|e| RSA_EXPONENT.contains(&e)) {
                Some("an RSA key with an unusual public exponent".to_owned())
            } else {
                None
            }
        }
        KeyData::Dsa(_) => Some("a DSA key (`ssh-dss`), which signs with SHA-1".to_owned()),
        other => Some(format!(
            "a `{}` key, which cannot be verified here",
            other.algorithm()
        )),
    }
}

/// The number of significant bits of a non-negative mpint (0 for a negative one).
fn mpint_bits(value: &ssh_key::Mpint) -> u64 {
    let bytes = value.as_positive_bytes().unwrap_or_default();
    match bytes.first() {
        Some(first) => bytes.len() as u64 * 8 - u64::from(first.leading_zeros()),
        None => 0,
    }
}

/// The value of a non-negative mpint that fits in 64 bits.
fn mpint_value(value: &ssh_key::Mpint) -> Option<u64> {
    let bytes = value.as_positive_bytes()?;
    (bytes.len() <= 8).then(|| bytes.iter().fold(0, |n, b| (n << 8) | u64::from(*b)))
}
