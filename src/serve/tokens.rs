//! Bearer tokens, kept only as their sha256 (`sha256:<64 hex>` in `glassroom.yaml`), so
//! the repository never holds a secret: robots posting to the logbook and applications
//! asking the OFREP endpoints authenticate with them.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `name: sha256:<hex>` as `glassroom.yaml` lists tokens.
pub type TokenList =
    std::collections::BTreeMap<crate::yaml::Spanned<String>, crate::yaml::Spanned<String>>;

/// Who holds which token, as the sha256 of each.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    entries: Vec<(String, [u8; 32])>,
}

impl Tokens {
    /// Tokens from `name → sha256:<hex>` pairs; a malformed digest is skipped (`check`
    /// reports it, and a token nobody can match grants nothing).
    pub fn from_digests<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Tokens {
        Tokens {
            entries: pairs
                .into_iter()
                .filter_map(|(name, digest)| Some((name.to_owned(), parse_digest(digest)?)))
                .collect(),
        }
    }

    /// The tokens one list of `glassroom.yaml`'s `serve:` gives (`logbook_tokens`,
    /// `ofrep_tokens`); none without a configuration.
    pub fn listed(
        content: &crate::content::Content,
        list: impl Fn(&crate::content::ServeConfig) -> &TokenList,
    ) -> Tokens {
        content
            .config
            .as_ref()
            .map(|config| {
                Tokens::from_digests(
                    list(&config.data.serve)
                        .iter()
                        .map(|(name, hash)| (name.as_str(), hash.as_str())),
                )
            })
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name whose token this is. Every digest is compared, in constant time, whatever
    /// matched before, so the time taken tells nothing about the tokens.
    pub fn authenticate(&self, token: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (name, candidate) in &self.entries {
            if bool::from(candidate.ct_eq(&digest)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// `sha256:<64 hex>` → bytes.
pub fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(token: &str) -> String {
        let bytes: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        format!(
            "sha256:{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    #[test]
    fn a_token_is_known_by_its_digest_only() {
        let backup = digest_of("s3cret");
        let tokens = Tokens::from_digests([("backup-bot", backup.as_str()), ("bad", "sha256:zz")]);
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens.authenticate("s3cret"), Some("backup-bot"));
        assert_eq!(tokens.authenticate("s3cre"), None);
        assert_eq!(tokens.authenticate(""), None);
    }

    #[test]
    fn digests_parse_only_in_the_stored_form() {
        let hex = "73834e02c0411ea0596b57366c1ba56d16d436381beabcba1b0eb2d9532b3947";
        assert!(parse_digest(&format!("sha256:{hex}")).is_some());
        assert!(parse_digest(hex).is_none());
        assert!(parse_digest("sha256:abc").is_none());
        assert!(parse_digest(&format!("sha256:{}", "g".repeat(64))).is_none());
        assert!(parse_digest(&format!("sha256:{}é", &hex[..62])).is_none());
    }

    #[test]
    fn bearer_takes_the_scheme_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
