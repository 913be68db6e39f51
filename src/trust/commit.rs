//! Raw commit objects, parsed by hand: the signature is taken only from a single
//! `gpgsig` header and the signed bytes are the object without that header, exactly as
//! git signs them. (libgit2's `extract_signature` also finds signature text inside the
//! message, so a commit git calls unsigned would pass; it is not used.)

/// What a commit says about itself, read from its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommit {
    pub tree: String,
    pub parents: Vec<String>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    pub signature: SignatureHeader,
    /// The bytes a signature covers: the object without its signature header.
    pub payload: Vec<u8>,
    pub message: String,
}

/// The signature header of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureHeader {
    None,
    /// The text of the one `gpgsig` header (armored signature).
    One(String),
    /// A signature layout we refuse, with the reason.
    Refused(String),
}

/// Why a commit object could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed commit object: {0}")]
pub struct Malformed(pub &'static str);

/// Parses a commit object's bytes (without the `commit <len>\0` prefix).
pub fn parse(object: &[u8]) -> Result<RawCommit, Malformed> {
    let split = find_header_end(object).ok_or(Malformed("no blank line after the headers"))?;
    let (head, message) = (&object[..split], &object[split..]);
    let mut tree = None;
    let mut parents = Vec::new();
    let mut time = None;
    let mut signatures: Vec<(String, String)> = Vec::new();
    let mut payload = Vec::with_capacity(object.len());
    let lines = split_lines_keep_newline(head);
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        // A header and its continuation lines (which start with a space).
        let mut end = index + 1;
        while end < lines.len() && lines[end].first() == Some(&b' ') {
            end += 1;
        }
        let text = String::from_utf8_lossy(line);
        let (name, value) = text.split_once(' ').unwrap_or((text.trim_end(), ""));
        let value = value.trim_end_matches('\n');
        match name {
            "gpgsig" | "gpgsig-sha256" => {
                let mut full = value.to_owned();
                for continuation in &lines[index + 1..end] {
                    full.push('\n');
                    let cont = String::from_utf8_lossy(continuation);
                    full.push_str(
                        cont.strip_prefix(' ')
                            .unwrap_or(&cont)
                            .trim_end_matches('\n'),
                    );
                }
                signatures.push((name.to_owned(), full));
                index = end;
                continue;
            }
            "tree" if tree.is_none() => tree = Some(value.to_owned()),
            "parent" => parents.push(value.to_owned()),
            "committer" if time.is_none() => time = Some(signature_time(value)?),
            _ => {}
        }
        for l in &lines[index..end] {
            payload.extend_from_slice(l);
        }
        index = end;
    }
    payload.extend_from_slice(message);
    let signature = match signatures.as_slice() {
        [] => SignatureHeader::None,
        [(name, text)] if name == "gpgsig" => SignatureHeader::One(text.clone()),
        [(_, _)] => SignatureHeader::Refused(
            "only a `gpgsig-sha256` header (SHA-256 object format is not supported)".into(),
        ),
        _ => SignatureHeader::Refused(format!(
            "{} signature headers; exactly one `gpgsig` is accepted",
            signatures.len()
        )),
    };
    let message = message.strip_prefix(b"\n").unwrap_or(message);
    Ok(RawCommit {
        tree: tree.ok_or(Malformed("no tree header"))?,
        parents,
        time: time.ok_or(Malformed("no committer header"))?,
        signature,
        payload,
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

/// Index of the blank line that ends the headers (the newline that starts the message).
fn find_header_end(object: &[u8]) -> Option<usize> {
    if object.first() == Some(&b'\n') {
        return Some(0);
    }
    object.windows(2).position(|w| w == b"\n\n").map(|i| i + 1)
}

fn split_lines_keep_newline(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|b| *b == b'\n').collect()
}

/// `Name <email> 1732000000 +0100` → 1732000000.
fn signature_time(value: &str) -> Result<i64, Malformed> {
    let after_email = value.rsplit_once('>').map_or(value, |(_, rest)| rest);
    after_email
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or(Malformed("committer line without a time"))
}

/// A trailer that asks glassroom to act on one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trailer {
    /// Approve the path at exactly this blob.
    Approve { path: String, blob: String },
    /// Record a review of the path at this blob.
    Review { path: String, blob: String },
    /// Unpublish the path.
    Revoke { path: String },
    /// Accept a head that does not descend from the last approved one.
    Reset { from: String },
}

/// The glassroom trailers of a message's last paragraph; malformed ones are returned as
/// problems to report.
pub fn trailers(message: &str) -> (Vec<Trailer>, Vec<String>) {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for line in last.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let parts: Vec<&str> = value.split_whitespace().collect();
        let trailer = match (key.trim(), parts.as_slice()) {
            ("Approve", [path, blob]) => Trailer::Approve {
                path: (*path).to_owned(),
                blob: (*blob).to_owned(),
            },
            ("Review", [path, blob]) => Trailer::Review {
                path: (*path).to_owned(),
                blob: (*blob).to_owned(),
            },
            ("Revoke", [path]) => Trailer::Revoke {
                path: (*path).to_owned(),
            },
            ("Reset", [from]) => Trailer::Reset {
                from: (*from).to_owned(),
            },
            ("Approve" | "Review" | "Revoke" | "Reset", _) => {
                problems.push(format!("malformed trailer `{}`", line.trim()));
                continue;
            }
            _ => continue,
        };
        found.push(trailer);
    }
    (found, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nauthor A <a@x> 1763800000 +0000\ncommitter A <a@x> 1763800001 +0100\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lHAAAAAQ==\n -----END SSH SIGNATURE-----\n\nSubject\n\nApprove: hosts/web1.yaml abc123\nRevoke: hosts/old.yaml\n";

    #[test]
    fn the_signature_comes_from_the_header_and_is_cut_from_the_payload() -> Result<(), Malformed> {
        let commit = parse(SIGNED.as_bytes())?;
        assert_eq!(commit.tree, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
        assert_eq!(commit.parents.len(), 1);
        assert_eq!(commit.time, 1_763_800_001);
        assert_eq!(
            commit.signature,
            SignatureHeader::One(
                "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----"
                    .into()
            )
        );
        let payload = String::from_utf8_lossy(&commit.payload);
        assert!(!payload.contains("gpgsig"));
        assert!(!payload.contains("SSH SIGNATURE"));
        assert!(payload.starts_with("tree 4b82"));
        assert!(payload.contains("+0100\n\nSubject\n"));
        Ok(())
    }

    #[test]
    fn a_signature_in_the_message_is_not_a_signature() -> Result<(), Malformed> {
        let text = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nSubject\n\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n";
        assert_eq!(parse(text.as_bytes())?.signature, SignatureHeader::None);
        Ok(())
    }

    #[test]
    fn two_signature_headers_are_refused() -> Result<(), Malformed> {
        let text = SIGNED.replace(
            "\n\nSubject",
            "\ngpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n x\n -----END SSH SIGNATURE-----\n\nSubject",
        );
        assert!(matches!(
            parse(text.as_bytes())?.signature,
            SignatureHeader::Refused(_)
        ));
        let doubled = SIGNED.replace(
            "\n\nSubject",
            "\ngpgsig -----BEGIN SSH SIGNATURE-----\n x\n -----END SSH SIGNATURE-----\n\nSubject",
        );
        assert!(matches!(
            parse(doubled.as_bytes())?.signature,
            SignatureHeader::Refused(_)
        ));
        Ok(())
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\n",
            b"tree x",
            b"tree x\n\n",
            b"\xff\xfe\n\n",
            b"committer\n\n",
        ] {
            let _ = parse(bytes);
        }
        assert!(parse(b"tree x\ncommitter A <a> 5 +0000\n\nm").is_ok());
    }

    #[test]
    fn trailers_come_from_the_last_paragraph() {
        let (found, problems) = trailers(
            "Subject\n\nApprove: a b\n\nApprove: hosts/web1.yaml abc\nReview: x y\nRevoke: z\nReset: 123\nApprove: broken\nSigned-off-by: A\n",
        );
        assert_eq!(
            found,
            vec![
                Trailer::Approve {
                    path: "hosts/web1.yaml".into(),
                    blob: "abc".into()
                },
                Trailer::Review {
                    path: "x".into(),
                    blob: "y".into()
                },
                Trailer::Revoke { path: "z".into() },
                Trailer::Reset { from: "123".into() },
            ]
        );
        assert_eq!(problems.len(), 1);
    }
}
