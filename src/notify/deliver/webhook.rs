//! The webhook channel: a JSON POST over HTTP/1.1 (hyper's client), signed with
//! HMAC-SHA256 of the body when a secret is configured
//! (`X-Glassroom-Signature: sha256=<hex>`), carrying the event's stable id in
//! `X-Glassroom-Event` so a receiver can drop a duplicate. Any 2xx status is delivered.
//!
//! Only `http://` URLs are supported for now: `https://` needs a TLS connector
//! (hyper-rustls or the like), which is not among the dependencies yet.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// HMAC-SHA256 (RFC 2104) of `message` with `key`, in lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner);
    outer
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSTs `body` to `url`.
pub fn post(
    url: &str,
    body: &[u8],
    event: &str,
    secret: Option<&str>,
    timeout: Duration,
) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|err| format!("webhook URL {url} is not a URL: {err}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "webhook URL {url}: only http:// is supported yet (https needs a TLS connector)"
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("webhook URL {url} has no host"))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let mut request = http::Request::post(path)
        .header(
            http::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("X-Glassroom-Event", event);
    if let Some(secret) = secret {
        request = request.header(
            "X-Glassroom-Signature",
            format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body)),
        );
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|err| format!("cannot make the request: {err}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the HTTP client: {err}"))?;
    runtime.block_on(async move {
        let exchange = async {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|err| format!("cannot connect to {host}:{port}: {err}"))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|err| format!("HTTP handshake with {host}:{port}: {err}"))?;
            tokio::spawn(connection);
            let response = sender
                .send_request(request)
                .await
                .map_err(|err| format!("POST {url}: {err}"))?;
            match response.status() {
                status if status.is_success() => Ok(()),
                status => Err(format!("POST {url}: {status}")),
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("POST {url}: no answer within {}s", timeout.as_secs()))?
    })
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
