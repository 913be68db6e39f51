//! The webhook channel: a JSON POST, signed with
//! HMAC-SHA256 of the body when a secret is configured
//! (`X-Glassroom-Signature: sha256=<hex>`), carrying the event's stable id in
//! `X-Glassroom-Event` so a receiver can drop a duplicate. Any 2xx status is delivered.
//! `ureq` with rustls carries it, so `https://` URLs (Slack, Mattermost) work as
//! `http://` ones do.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// HMAC-SHA256 (RFC 2104) of `message` with `key`, in lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSTs `body` to `url` (http or https).
pub fn post(
    url: &str,
    body: &[u8],
    event: &str,
    secret: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("glassroom/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Glassroom-Event", event);
    if let Some(secret) = secret {
        request = request.header(
            "X-Glassroom-Signature",
            format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body)),
        );
    }
    let response = request
        .send(body)
        .map_err(|err| format!("POST {url}: {err}"))?;
    match response.status() {
        status if status.is_success() => Ok(()),
        status => Err(format!("POST {url}: {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than a block.
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
