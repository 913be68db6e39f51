//! A file's bytes as the server holds them: one buffer, or the parts a large file was
//! assembled from (the ticket API is four thousand items, each kept by the build), sent
//! one after the other, so a rebuild that changed one item never copies the other
//! twelve megabytes into a new buffer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use sha2::Digest;

/// The bytes of a file, in one or more parts.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    parts: Vec<Bytes>,
    len: usize,
}

impl Payload {
    /// A file made of `parts`, in order (empty parts are left out).
    pub fn from_parts(parts: Vec<Bytes>) -> Self {
        let parts: Vec<Bytes> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        let len = parts.iter().map(Bytes::len).sum();
        Self { parts, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// The bytes in one buffer (shared when there is one part).
    pub fn to_bytes(&self) -> Bytes {
        match self.parts.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            parts => {
                let mut out = Vec::with_capacity(self.len);
                for part in parts {
                    out.extend_from_slice(part);
                }
                Bytes::from(out)
            }
        }
    }

    /// The blake3 of the bytes.
    pub fn blake3(&self) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new();
        for part in &self.parts {
            hasher.update(part);
        }
        hasher.finalize()
    }

    /// The sha256 of the bytes, as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        let mut hasher = sha2::Sha256::new();
        for part in &self.parts {
            hasher.update(part);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether the bytes equal `other`'s; parts that are the same buffer are not compared
    /// byte by byte.
    pub fn same_bytes(&self, other: &Payload) -> bool {
        if self.len != other.len {
            return false;
        }
        let aligned = self.parts.len() == other.parts.len()
            && self
                .parts
                .iter()
                .zip(&other.parts)
                .all(|(a, b)| a.len() == b.len());
        if aligned {
            return self
                .parts
                .iter()
                .zip(&other.parts)
                .all(|(a, b)| a.as_ptr() == b.as_ptr() || a == b);
        }
        // Parts cut in different places: compare the bytes as they come.
        let mut left = self.parts.iter().flat_map(|p| p.iter());
        let mut right = other.parts.iter().flat_map(|p| p.iter());
        loop {
            match (left.next(), right.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a == b => {}
                _ => return false,
            }
        }
    }

    /// The bytes as the body of a response.
    pub fn body(&self) -> Body {
        Body::from_parts(self.parts.iter().cloned().collect())
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self::from_parts(vec![Bytes::from(bytes)])
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Self::from_parts(vec![bytes])
    }
}

/// A response body: its parts, sent in order, with its exact length known up front (so
/// hyper sends `Content-Length`, and nothing for `HEAD`).
#[derive(Debug, Default)]
pub struct Body {
    parts: VecDeque<Bytes>,
    left: u64,
}

impl Body {
    fn from_parts(parts: VecDeque<Bytes>) -> Self {
        let left = parts.iter().map(|p| p.len() as u64).sum();
        Self { parts, left }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::from_parts(VecDeque::from([bytes]))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Self::from(Bytes::from_static(text.as_bytes()))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.left = self.left.saturating_sub(part.len() as u64);
        }
        Poll::Ready(next.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_one_file() {
        let parts = Payload::from_parts(vec![
            Bytes::from_static(b"hello, "),
            Bytes::new(),
            Bytes::from_static(b"operations"),
        ]);
        let whole = Payload::from(b"hello, operations".to_vec());
        assert_eq!(parts.len(), 17);
        assert_eq!(parts.parts().len(), 2, "empty parts are left out");
        assert_eq!(parts.to_bytes(), whole.to_bytes());
        assert!(parts.same_bytes(&whole) && whole.same_bytes(&parts));
        assert_eq!(parts.blake3(), blake3::hash(b"hello, operations"));
        assert_eq!(
            parts.sha256_hex(),
            crate::flags::sha256_hex(b"hello, operations")
        );
        assert!(!parts.same_bytes(&Payload::from(b"hello, operation!".to_vec())));
        let cut = |a: &'static [u8], b: &'static [u8]| {
            Payload::from_parts(vec![Bytes::from_static(a), Bytes::from_static(b)])
        };
        assert!(cut(b"hello, op", b"erations").same_bytes(&parts));
        assert!(!cut(b"hello, ", b"operationz").same_bytes(&parts));
    }

    #[test]
    fn a_body_sends_every_part_in_order_with_its_length() {
        use http_body_util::BodyExt;
        let payload =
            Payload::from_parts(vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cde")]);
        let body = payload.body();
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(5));
        let collected = tokio::runtime::Builder::new_current_thread()
            .build()
            .ok()
            .map(|rt| rt.block_on(body.collect()));
        let bytes = collected.and_then(|c| c.ok()).map(|c| c.to_bytes());
        assert_eq!(bytes.as_deref(), Some(&b"abcde"[..]));
    }
}
