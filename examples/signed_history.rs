//! Generates a long signed history for benchmarks: `cargo run --release --example
//! signed_history -- DIR --commits 10000 [--append]`.
//!
//! The first commit holds a small valid repository whose policy lists the example key
//! `tests/fixtures/keys/alice`; every following commit changes one host file and is
//! signed in-process with that key (SSHSIG, namespace `git`), exactly as
//! `git commit -S` with `gpg.format=ssh` would sign it. With `--append` the commits go
//! on top of an existing history.

use std::path::{Path, PathBuf};
use std::time::Instant;

use git2::{Oid, Repository, Signature, Time};
use ssh_key::{HashAlg, LineEnding, PrivateKey};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: signed_history DIR --commits N [--append]")?,
    );
    let commits: usize = args
        .iter()
        .position(|a| a == "--commits")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let append = args.iter().any(|a| a == "--append");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let key = PrivateKey::read_openssh_file(&root.join("tests/fixtures/keys/alice"))?;

    let repo = if append {
        Repository::open(&dir)?
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        let repo = Repository::init(&dir)?;
        repo.set_head("refs/heads/main")?;
        initial_commit(&repo, root)?;
        repo
    };
    let started = Instant::now();
    let mut parent = repo.head()?.peel_to_commit()?;
    for n in 0..commits {
        let time = parent.time().seconds() + 60;
        let tree = with_file(
            &repo,
            &parent.tree()?,
            "hosts",
            "web1.yaml",
            format!("name: web1.example.org\nnotes: change {n} at {time}\n").as_bytes(),
        )?;
        let who = Signature::new("Alice", "alice@example.org", &Time::new(time, 0))?;
        let buffer =
            repo.commit_create_buffer(&who, &who, &format!("Change {n}"), &tree, &[&parent])?;
        let payload = buffer.as_str()?;
        let signature = key
            .sign("git", HashAlg::Sha512, payload.as_bytes())?
            .to_pem(LineEnding::LF)?;
        let id = repo.commit_signed(payload, &signature, Some("gpgsig"))?;
        repo.reference("refs/heads/main", id, true, "signed_history")?;
        parent = repo.find_commit(id)?;
    }
    println!(
        "{commits} signed commits in {:.2} s; head {}",
        started.elapsed().as_secs_f64(),
        parent.id()
    );
    Ok(())
}

fn initial_commit(repo: &Repository, root: &Path) -> Result<Oid, Error> {
    let mut index = repo.index()?;
    let base = root.join("tests/bad/base");
    for entry in walkdir::WalkDir::new(&base) {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(&base)?;
        let bytes = if relative == Path::new(".glassroom/policy.yaml") {
            let alice = std::fs::read_to_string(root.join("tests/fixtures/keys/alice.pub"))?;
            format!(
                "users:\n  alice: {{ keys: [\"{}\"] }}\ngrants:\n  /: {{ alice: admin }}\n",
                alice.trim()
            )
            .into_bytes()
        } else {
            std::fs::read(entry.path())?
        };
        let blob = repo.blob(&bytes)?;
        let path = relative.to_str().ok_or("path is not UTF-8")?;
        index.add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: bytes.len() as u32,
            id: blob,
            flags: path.len().min(0xfff) as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        })?;
    }
    let tree = repo.find_tree(index.write_tree()?)?;
    let who = Signature::new("Alice", "alice@example.org", &Time::new(1_761_955_200, 0))?;
    let id = repo.commit(Some("HEAD"), &who, &who, "Initial content", &tree, &[])?;
    repo.config()?
        .set_str("glassroom.trustRoot", &id.to_string())?;
    Ok(id)
}

/// `tree` with `dir/name` set to `content`.
fn with_file<'r>(
    repo: &'r Repository,
    tree: &git2::Tree<'_>,
    dir: &str,
    name: &str,
    content: &[u8],
) -> Result<git2::Tree<'r>, Error> {
    let blob = repo.blob(content)?;
    let sub = tree
        .get_name(dir)
        .ok_or("no such directory")?
        .to_object(repo)?
        .peel_to_tree()?;
    let mut sub_builder = repo.treebuilder(Some(&sub))?;
    sub_builder.insert(name, blob, 0o100644)?;
    let sub_id = sub_builder.write()?;
    let mut builder = repo.treebuilder(Some(tree))?;
    builder.insert(dir, sub_id, 0o040000)?;
    Ok(repo.find_tree(builder.write()?)?)
}
