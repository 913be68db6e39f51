//! What glassroom keeps on this machine about a repository: caches and trust state.
//!
//! Nothing a commit can write is trusted, so these files live where no commit can put
//! files: `<git dir>/glassroom/`, which git never checks out (or, for a directory that is
//! not a repository, a directory the caller chooses outside the content). Each file is
//! also *sealed*: it starts with a keyed blake3 of its purpose and bytes, under a secret
//! made on first use and kept only in that directory (`secret`, mode 0600). A file that
//! was not written here with that secret (copied in, edited, truncated, or written by a
//! commit through some path we did not foresee) fails to unseal and is not used.
//!
//! Caches must be safe to delete: the callers treat a missing or unsealable cache as
//! empty. State that decides verdicts (the pinned trust root, the last verified head)
//! is kept apart from caches and reported as damaged instead of silently dropped.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The first bytes of every sealed file, before the 32-byte seal.
const MAGIC: &[u8] = b"glassroom sealed v1\n";
const SECRET: &str = "secret";
const SEAL_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot use {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is damaged (it is not 32 bytes); remove it: caches are made again, and the trust root is pinned again on the next run",
        path.display()
    )]
    BadSecret { path: PathBuf },
    #[error("no random bytes for a new secret: {0}")]
    Random(String),
    #[error(
        "{} was not written by glassroom on this machine (its seal does not match); remove it if you trust this repository's directory, and glassroom starts that state over",
        path.display()
    )]
    Unsealed { path: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory of sealed files with its secret.
#[derive(Clone)]
pub struct LocalDir {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for LocalDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("LocalDir").field("dir", &self.dir).finish()
    }
}

impl LocalDir {
    /// `<git dir>/glassroom` of a repository.
    pub fn of_repository(repo: &git2::Repository) -> Result<Self, LocalError> {
        Self::open(&repo.path().join("glassroom"))
    }

    /// The directory `dir`, created if needed, with its secret (made on first use).
    pub fn open(dir: &Path) -> Result<Self, LocalError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key = secret(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a file of this directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `bytes` with a seal for `purpose` in front, as [`LocalDir::write`] stores them.
    pub fn seal(&self, purpose: &str, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + SEAL_LEN + bytes.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(self.mac(purpose, bytes).as_bytes());
        out.extend_from_slice(bytes);
        out
    }

    /// The bytes of a sealed file's content, if its seal for `purpose` holds.
    pub fn unseal<'b>(&self, purpose: &str, sealed: &'b [u8]) -> Option<&'b [u8]> {
        let rest = sealed.strip_prefix(MAGIC)?;
        if rest.len() < SEAL_LEN {
            return None;
        }
        let (seal, bytes) = rest.split_at(SEAL_LEN);
        let seal = blake3::Hash::from_bytes(seal.try_into().ok()?);
        // blake3's Hash compares in constant time.
        (seal == self.mac(purpose, bytes)).then_some(bytes)
    }

    fn mac(&self, purpose: &str, bytes: &[u8]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        // The purpose, length-prefixed, so a file of one kind never passes for another.
        hasher.update(&(purpose.len() as u64).to_le_bytes());
        hasher.update(purpose.as_bytes());
        hasher.update(bytes);
        hasher.finalize()
    }

    /// Reads the file `name` sealed for `purpose`: `Ok(None)` if there is none,
    /// [`LocalError::Unsealed`] if its seal does not hold.
    pub fn read(&self, name: &str, purpose: &str) -> Result<Option<Vec<u8>>, LocalError> {
        let path = self.path(name);
        let sealed = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io(&path)(err)),
        };
        match self.unseal(purpose, &sealed) {
            Some(bytes) => Ok(Some(bytes.to_vec())),
            None => Err(LocalError::Unsealed { path }),
        }
    }

    /// Reads a cache: anything that cannot be read or unsealed is no cache at all.
    pub fn read_cache(&self, name: &str, purpose: &str) -> Option<Vec<u8>> {
        self.read(name, purpose).ok().flatten()
    }

    /// Writes `bytes` sealed for `purpose` as the file `name`, atomically.
    pub fn write(&self, name: &str, purpose: &str, bytes: &[u8]) -> Result<(), LocalError> {
        let path = self.path(name);
        // Rename only, as the caches: a torn or lost file fails to unseal and is reported
        // or made again, never trusted.
        write_atomically(&path, &self.seal(purpose, bytes), Durability::RenameOnly)
            .map_err(io(&path))
    }

    /// Removes the file `name`, if it is there.
    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.path(name));
    }
}

/// The directory's secret, made on first use: 32 random bytes, readable by the owner
/// only. Two processes making it at once agree on one (the first link wins).
fn secret(dir: &Path) -> Result<[u8; 32], LocalError> {
    let path = dir.join(SECRET);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes
                .try_into()
                .map_err(|_| LocalError::BadSecret { path: path.clone() });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(&path)(err)),
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|err| LocalError::Random(err.to_string()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".secret-");
    owner_only(&mut builder);
    let mut temporary = builder.tempfile_in(dir).map_err(io(dir))?;
    temporary.write_all(&key).map_err(io(&path))?;
    temporary.as_file().sync_all().map_err(io(&path))?;
    match std::fs::hard_link(temporary.path(), &path) {
        Ok(()) => Ok(key),
        // Another process made it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path)
            .map_err(io(&path))?
            .try_into()
            .map_err(|_| LocalError::BadSecret { path }),
        Err(err) => Err(io(&path)(err)),
    }
}

/// Owner-only permissions for the secret (elsewhere the directory's own protect it).
fn owner_only(builder: &mut tempfile::Builder<'_, '_>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = builder;
}

/// How far [`write_atomically`] goes before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The file is fsynced before the rename and its directory after it: the new file
    /// survives a crash of the machine. For state the next run acts on.
    Durable,
    /// Renamed into place whole but not fsynced: after a crash of the machine the old
    /// file (or none) may be back. For caches, which only save time, and for records of
    /// running processes, which do not outlive the machine either.
    RenameOnly,
}

/// Writes `bytes` to `path` through a temporary file beside it (creating the directory):
/// a reader sees the old file or the new one, never a part. Every file glassroom
/// replaces whole is written by this one function.
pub fn write_atomically(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // Beside the target, so the rename stays within one file system.
    let mut temporary = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    temporary.write_all(bytes)?;
    if durability == Durability::Durable {
        temporary.as_file().sync_all()?;
    }
    temporary.persist(path).map_err(|err| err.error)?;
    if durability == Durability::Durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsync of a directory, so a rename or a new entry in it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// `path` made absolute with symbolic links resolved as far as it exists: the one name
/// of a place, whichever way it was written (`public`, `./public`, `/repo/public`).
pub fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |dir, part| dir.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_reads_back_and_anything_else_does_not()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let local = LocalDir::open(dir.path())?;
        local.write("state.json", "state", b"{\"a\":1}")?;
        assert_eq!(
            local.read("state.json", "state")?.as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(local.read("missing", "state")?, None);
        // Another purpose, a changed byte, a truncated file, a file written by hand.
        assert!(local.read("state.json", "cache").is_err());
        let path = local.path("state.json");
        let mut bytes = std::fs::read(&path)?;
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes)?;
        assert!(local.read("state.json", "state").is_err());
        std::fs::write(&path, &bytes[..MAGIC.len() + 3])?;
        assert!(local.read("state.json", "state").is_err());
        std::fs::write(&path, b"{\"a\":1}")?;
        assert!(local.read("state.json", "state").is_err());
        assert_eq!(local.read_cache("state.json", "state"), None);
        Ok(())
    }

    #[test]
    fn the_secret_is_made_once_kept_private_and_differs_between_directories()
    -> Result<(), Box<dyn std::error::Error>> {
        let (one, two) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let first = LocalDir::open(one.path())?;
        let again = LocalDir::open(one.path())?;
        let other = LocalDir::open(two.path())?;
        assert_eq!(first.key, again.key);
        assert_ne!(first.key, other.key);
        let sealed = first.seal("x", b"bytes");
        assert_eq!(again.unseal("x", &sealed), Some(&b"bytes"[..]));
        assert_eq!(other.unseal("x", &sealed), None, "a copy from elsewhere");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(one.path().join(SECRET))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(one.path().join(SECRET), b"short")?;
        assert!(matches!(
            LocalDir::open(one.path()),
            Err(LocalError::BadSecret { .. })
        ));
        Ok(())
    }

    #[test]
    fn atomic_writes_replace_the_file_whole_and_leave_nothing_beside_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("new/state.json");
        for (bytes, durability) in [
            (&b"first"[..], Durability::Durable),
            (b"second", Durability::RenameOnly),
        ] {
            write_atomically(&path, bytes, durability)?;
            assert_eq!(std::fs::read(&path)?, bytes);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path().join("new"))?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names, ["state.json"], "no temporary file left behind");
        Ok(())
    }

    #[test]
    fn absolute_resolves_what_exists_and_keeps_the_rest() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let real = dir.path().canonicalize()?;
        std::os::unix::fs::symlink(&real, real.join("link"))?;
        assert_eq!(
            absolute(&real.join("link/new/site")),
            real.join("new").join("site")
        );
        Ok(())
    }
}
