//! Keys (issue 19, class 7): a policy that lists a key under two users, or a key that
//! cannot verify, is never in force; P-521 and security keys verify as OpenSSH does.

use std::path::Path;

use super::{
    CHANGED_HOST, HOST, approved_blob, audit, blob_at, forge, last_event, pending_paths, policy,
    repository, with_signature,
};
use crate::support::{GitRepo, root};
use glassroom::trust::policy::{POLICY_PATH, Policy};
use glassroom::trust::{commit, signature};

fn fixture_key(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("tests/fixtures/keys/{name}.pub")))
        .expect("fixture key")
        .trim()
        .to_owned()
}

/// Makes a key pair with ssh-keygen at `private` and returns its public key line.
fn keygen(private: &Path, kind: &str, bits: Option<&str>) -> String {
    let mut args = vec!["-q", "-t", kind, "-N", "", "-C", "erin@example.org"];
    if let Some(bits) = bits {
        args.extend(["-b", bits]);
    }
    args.extend(["-f", private.to_str().expect("utf-8")]);
    let out = std::process::Command::new("ssh-keygen")
        .args(&args)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(private.with_extension("pub"))
        .expect("public key")
        .trim()
        .to_owned()
}

/// The test policy with erin, who signs everywhere with `key`.
fn policy_with_erin(key: &str) -> String {
    policy()
        .replace(
            "groups:",
            &format!("  erin: {{ keys: [\"{key}\"] }}\ngroups:"),
        )
        .replace("ops: sign,", "ops: sign, erin: sign,")
}

/// `git verify-commit` with erin's `keys` (and no one else's) as the allowed signers.
fn git_verifies(repo: &GitRepo, id: &str, keys: &[&str]) -> bool {
    let allowed = repo.path().join(".git/allowed_signers");
    let lines: String = keys
        .iter()
        .map(|key| format!("erin@example.org namespaces=\"git\" {key}\n"))
        .collect();
    std::fs::write(&allowed, lines).expect("allowed signers");
    super::git_verify_commit(repo, &allowed, id)
}

/// glassroom's signature verdict on commit `id` under `policy` alone.
fn verdict(repo: &GitRepo, id: &str, policy: &Policy) -> signature::Verdict {
    let raw = repo.git(&["cat-file", "commit", id]);
    let parsed = commit::parse(format!("{raw}\n").as_bytes()).expect("parses");
    let ring = signature::KeyRing::new(policy);
    signature::verify(&parsed.signature, &parsed.payload, parsed.time, &ring)
}

#[test]
fn attack_a_key_listed_under_two_users_never_takes_effect() {
    let repo = repository();
    let first_policy = blob_at(&repo, "HEAD", POLICY_PATH);
    // `aaron` sorts before `alice`: with the policy in force, alice's signatures would
    // be credited to him.
    let alice = fixture_key("alice");
    repo.write(
        POLICY_PATH,
        &policy().replace(
            "users:\n",
            &format!("users:\n  aaron: {{ keys: [\"{alice}\"] }}\n"),
        ),
    );
    repo.commit("Add aaron", Some("alice"));
    repo.write(HOST, CHANGED_HOST);
    repo.commit("Upgrade web1", Some("alice"));

    let report = audit(&repo);
    let (kind, reason) = last_event(&report, POLICY_PATH);
    assert_eq!(kind, "refused");
    assert!(
        reason.starts_with("the new policy is not usable (.glassroom/policy.yaml:3:")
            && reason.contains("this key is already listed for `aaron`")
            && reason.ends_with("the previous policy stays in effect"),
        "{reason}"
    );
    assert_eq!(approved_blob(&report, POLICY_PATH), Some(first_policy));
    let event = report["events"][HOST]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(event["kind"], "signed");
    assert_eq!(event["principal"], "alice", "{event:#}");
    assert_eq!(
        approved_blob(&report, HOST),
        Some(blob_at(&repo, "HEAD", HOST))
    );
    // The same from the trust cache the first run left.
    let again = audit(&repo);
    assert_eq!(again["approved"], report["approved"]);
    assert_eq!(again["events"], report["events"]);
}

#[test]
fn attack_an_rsa_1024_key_is_rejected_by_check_and_never_in_force() {
    let repo = repository();
    let erin = keygen(&repo.key("erin"), "rsa", Some("1024"));
    let text = policy_with_erin(&erin);
    repo.write(POLICY_PATH, &text);
    let line = text
        .lines()
        .position(|l| l.contains("erin: {"))
        .expect("erin's line")
        + 1;

    let check = repo.glassroom(&["check", "--worktree", repo.path_str()]);
    assert_eq!(check.code, Some(1), "{}{}", check.stdout, check.stderr);
    assert!(
        check.stderr.contains(&format!(".glassroom/policy.yaml:{line}:"))
            && check.stderr.contains(
                "unsupported key type: this is an RSA key of 1024 bits; RSA keys need 2048 to 4096 bits"
            ),
        "{}",
        check.stderr
    );

    let first_policy = blob_at(&repo, "HEAD", POLICY_PATH);
    repo.commit("Add erin", Some("alice"));
    repo.write(HOST, CHANGED_HOST);
    repo.commit("Upgrade web1", Some("erin"));
    let report = audit(&repo);
    let (kind, reason) = last_event(&report, POLICY_PATH);
    assert_eq!(kind, "refused");
    assert!(
        reason.contains(&format!(".glassroom/policy.yaml:{line}:"))
            && reason.contains("unsupported key type: this is an RSA key of 1024 bits"),
        "{reason}"
    );
    assert_eq!(approved_blob(&report, POLICY_PATH), Some(first_policy));
    assert!(pending_paths(&report).contains(&HOST.to_owned()));
    let strict = repo.glassroom(&["check", repo.path_str(), "--strict"]);
    assert_eq!(strict.code, Some(1), "{}{}", strict.stdout, strict.stderr);
}

/// A policy that still lists a key that cannot verify (one written before such keys were
/// refused) gets "unsupported key type" for its signatures, never "does not match".
#[test]
fn a_signature_by_a_key_that_cannot_verify_is_reported_as_unsupported() {
    let repo = repository();
    let erin = keygen(&repo.key("erin"), "rsa", Some("1024"));
    repo.write(HOST, CHANGED_HOST);
    let id = repo.commit("Upgrade web1", Some("erin"));
    let old_policy: Policy = glassroom::yaml::from_str(&policy_with_erin(&erin)).expect("parses");
    let signature::Verdict::Unsigned { reason } = verdict(&repo, &id, &old_policy) else {
        panic!("an RSA-1024 signature was accepted");
    };
    assert!(
        reason.starts_with("unsupported key type: key SHA256:")
            && reason.ends_with(
                " of `erin` is an RSA key of 1024 bits; RSA keys need 2048 to 4096 bits"
            ),
        "{reason}"
    );
}

#[test]
fn a_p521_signed_commit_is_verified_and_published() {
    let repo = repository();
    let erin = keygen(&repo.key("erin"), "ecdsa", Some("521"));
    assert!(erin.starts_with("ecdsa-sha2-nistp521 "), "{erin}");
    repo.write(POLICY_PATH, &policy_with_erin(&erin));
    repo.commit("Add erin", Some("alice"));
    repo.write(HOST, CHANGED_HOST);
    let id = repo.commit("Upgrade web1", Some("erin"));
    assert!(git_verifies(&repo, &id, &[&erin]), "git accepts it too");

    let report = audit(&repo);
    assert!(pending_paths(&report).is_empty(), "{:#}", report["pending"]);
    assert_eq!(
        approved_blob(&report, HOST),
        Some(blob_at(&repo, "HEAD", HOST))
    );
    let event = report["events"][HOST]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(event["kind"], "signed");
    assert_eq!(event["principal"], "erin");

    let out = repo.dir.path().join("public");
    let built = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    let page = std::fs::read_to_string(out.join("hosts/web1.html")).expect("host page");
    assert!(page.contains("Debian 13"));
}

/// The SSH wire encoding of a length-prefixed string.
fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(bytes.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    out.extend(bytes);
    out
}

fn raw_sign(key: &impl ssh_key::SigningKey, message: &[u8]) -> Vec<u8> {
    key.try_sign(message).expect("signs").as_bytes().to_vec()
}

/// An SSH signature over `payload` as a FIDO security key makes it for the `sk-…` key
/// `public`, with the flags byte `flags`, signed by `private` (the key pair the security
/// key would hold). Written byte by byte (PROTOCOL.sshsig, PROTOCOL.u2f) so that OpenSSH
/// can be the judge of the format.
fn security_key_signature(
    private: &ssh_key::PrivateKey,
    public: &ssh_key::public::KeyData,
    flags: u8,
    payload: &[u8],
) -> String {
    use ssh_key::sha2::{Digest, Sha256};
    let counter = 1u32.to_be_bytes();
    let signed = ssh_key::SshSig::signed_data("git", ssh_key::HashAlg::Sha512, payload)
        .expect("signed data");
    let mut message = Sha256::digest(b"ssh:").to_vec();
    message.push(flags);
    message.extend(counter);
    message.extend(Sha256::digest(&signed));
    let mut blob = string(public.algorithm().as_str().as_bytes());
    blob.extend(string(&raw_sign(private, &message)));
    blob.push(flags);
    blob.extend(counter);
    let key_blob = ssh_key::PublicKey::from(public.clone())
        .to_bytes()
        .expect("key blob");
    let mut sshsig = b"SSHSIG".to_vec();
    sshsig.extend(1u32.to_be_bytes());
    sshsig.extend(string(&key_blob));
    sshsig.extend(string(b"git"));
    sshsig.extend(string(b""));
    sshsig.extend(string(b"sha512"));
    sshsig.extend(string(&blob));
    // Wrapped at 70 columns as ssh-keygen does (ssh-key reads no other width).
    use ssh_encoding::base64::{Base64, Encoding};
    let body = Base64::encode_string(&sshsig);
    let mut pem = String::from("-----BEGIN SSH SIGNATURE-----\n");
    for chunk in body.as_bytes().chunks(70) {
        pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END SSH SIGNATURE-----\n");
    pem
}

/// A fresh key the `ssh-key` crate can read back. It refuses about one ECDSA private
/// key in a hundred (a private scalar whose mpint encoding is not 32 bytes), which is
/// not what these tests are about, so such a key is simply made again.
fn readable_key(file: &Path, kind: &str, bits: Option<&str>) -> ssh_key::PrivateKey {
    let mut last = None;
    for _ in 0..20 {
        let _ = std::fs::remove_file(file);
        let _ = std::fs::remove_file(file.with_extension("pub"));
        keygen(file, kind, bits);
        match ssh_key::PrivateKey::read_openssh_file(file) {
            Ok(key) => return key,
            Err(err) => last = Some(err),
        }
    }
    panic!("ssh-key cannot read a {kind} key made by ssh-keygen: {last:?}")
}

/// Security keys (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`)
/// verify as OpenSSH verifies them for `git verify-commit`: a valid signature counts
/// whether or not the key was touched (its user-presence flag), a tampered one does not.
#[test]
fn security_key_signatures_agree_with_git_verify_commit() {
    use ssh_key::public::{KeyData, SkEcdsaSha2NistP256, SkEd25519};
    let repo = repository();
    let dir = tempfile::tempdir().expect("tmp");
    let mut keys = Vec::new();
    for (kind, bits) in [("ed25519", None), ("ecdsa", Some("256"))] {
        let file = dir.path().join(kind);
        let private = readable_key(&file, kind, bits);
        let public = match private.public_key().key_data() {
            KeyData::Ed25519(key) => KeyData::SkEd25519(SkEd25519::new(*key, "ssh:")),
            KeyData::Ecdsa(ssh_key::public::EcdsaPublicKey::NistP256(point)) => {
                KeyData::SkEcdsaSha2NistP256(SkEcdsaSha2NistP256::new(*point, "ssh:"))
            }
            other => panic!("unexpected key {other:?}"),
        };
        let line = ssh_key::PublicKey::new(public.clone(), "erin@example.org")
            .to_openssh()
            .expect("openssh line");
        keys.push((private, public, line));
    }
    let lines: Vec<&str> = keys.iter().map(|(_, _, line)| line.as_str()).collect();
    assert!(lines[0].starts_with("sk-ssh-ed25519@openssh.com "));
    assert!(lines[1].starts_with("sk-ecdsa-sha2-nistp256@openssh.com "));
    let text = policy().replace(
        "groups:",
        &format!(
            "  erin: {{ keys: [\"{}\", \"{}\"] }}\ngroups:",
            lines[0], lines[1]
        ),
    );
    let policy = Policy::usable(&text).expect("a policy with security keys is usable");

    repo.write(HOST, CHANGED_HOST);
    repo.commit("Upgrade web1", None);
    let raw = repo.git(&["cat-file", "commit", "HEAD"]) + "\n";
    for (private, public, _) in &keys {
        for (flags, content) in [(0x01, raw.as_str()), (0x00, raw.as_str()), (0x01, "x")] {
            let sig = security_key_signature(private, public, flags, content.as_bytes());
            let id = forge(&repo, &with_signature(&raw, Some(&sig)));
            let valid = content == raw;
            let case = format!(
                "{} with flags {flags:#04x}, valid {valid}",
                public.algorithm()
            );
            assert_eq!(git_verifies(&repo, &id, &lines), valid, "git: {case}");
            match verdict(&repo, &id, &policy) {
                signature::Verdict::Signed { principal, .. } => {
                    assert!(valid, "{case} accepted");
                    assert_eq!(principal, "erin");
                }
                signature::Verdict::Unsigned { reason } => {
                    assert!(!valid, "{case} refused: {reason}");
                    assert!(reason.contains("does not match"), "{case}: {reason}");
                }
            }
        }
    }
}
