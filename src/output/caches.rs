//! Where `glassroom build` keeps its caches, and how they are sealed.
//!
//! A cache decides bytes of the site (a rendered body, a parsed document, a file of the
//! previous output linked into the new one), so it must never be a file a commit can
//! put there: the checkout is full of those, `.gitignore`d paths included (a commit can
//! add them all the same). So the caches of a git repository live in its git directory
//! (`<git dir>/glassroom/build/`), which git never checks out, and every cache file is
//! sealed with that directory's secret ([`LocalDir`]): one that glassroom did not write
//! on this machine does not unseal and is no cache at all. A file named with `--cache`
//! may lie anywhere; it is sealed the same way.
//!
//! A directory that is not a git repository is read as it is: whoever writes its files
//! decides the site anyway. Its caches must still not travel with it (a copied or
//! unpacked directory could bring caches that show something its files do not say), so
//! they live in the user's cache directory (`$XDG_CACHE_HOME/glassroom/`, else
//! `~/.cache/glassroom/`), under a secret of their own. Without either, or when the
//! place cannot be written, a build has no caches: it is slower, never different.

use std::path::{Path, PathBuf};

use crate::local::{Durability, LocalDir, absolute};

/// One cache file, sealed with the secret of a [`LocalDir`] for one purpose: reading
/// gives the bytes glassroom wrote there on this machine, or nothing.
#[derive(Debug, Clone)]
pub struct SealedFile {
    local: LocalDir,
    path: PathBuf,
    purpose: &'static str,
}

impl SealedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes written by [`SealedFile::write`]; `None` if there is no such file, or
    /// it is not sealed with this secret for this purpose.
    pub fn read(&self) -> Option<Unsealed> {
        let sealed = std::fs::read(&self.path).ok()?;
        let start = sealed.len() - self.local.unseal(self.purpose, &sealed)?.len();
        Some(Unsealed { sealed, start })
    }

    /// Writes `bytes` sealed, atomically.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        // Not fsynced: a cache only saves time, and these are rewritten on every build.
        crate::local::write_atomically(
            &self.path,
            &self.local.seal(self.purpose, bytes),
            Durability::RenameOnly,
        )
    }

    /// Removes the file, if it is there.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The content of a sealed file, read (without copying megabytes past the seal).
pub struct Unsealed {
    sealed: Vec<u8>,
    start: usize,
}

impl std::ops::Deref for Unsealed {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.sealed.get(self.start..).unwrap_or_default()
    }
}

/// The caches of building one repository into one output directory.
#[derive(Debug, Clone)]
pub struct BuildCaches {
    /// The previous output: each file's input key, bytes' hash and identity on disk.
    pub output: SealedFile,
    /// Markdown bodies rendered to sanitised HTML, by the blake3 of the body.
    pub markdown: SealedFile,
    /// Content files' parsed documents, by path and the blake3 of the bytes.
    pub parsed: SealedFile,
}

impl BuildCaches {
    /// The caches of building the repository (or directory) `repo` into `out`: in
    /// `<git dir>/glassroom/build/`, or the user's cache directory for a directory that
    /// is not a repository, named after the output's absolute path so that two outputs
    /// never share one; at `explicit` (`--cache FILE`: `FILE`, `FILE.markdown`,
    /// `FILE.parsed`) if given. `Err` says why there are none (a build goes on without).
    pub fn locate(repo: &Path, out: &Path, explicit: Option<&Path>) -> Result<Self, NoCaches> {
        let out = absolute(out);
        let (local, name) = match crate::source::git::open(repo) {
            Ok(git) => {
                let local = LocalDir::of_repository(&git)?;
                (local, short_hash(&[out.as_os_str()]))
            }
            Err(_) => {
                let home = user_cache_home().ok_or(NoCaches::NoHome)?;
                let local = LocalDir::open(&home.join("glassroom"))?;
                let name = short_hash(&[absolute(repo).as_os_str(), out.as_os_str()]);
                (local, name)
            }
        };
        let file = |path: PathBuf, purpose| SealedFile {
            local: local.clone(),
            path,
            purpose,
        };
        let base = match explicit {
            Some(path) => path.to_path_buf(),
            None => local.path("build").join(format!("{name}.json")),
        };
        Ok(Self {
            output: file(base.clone(), "build cache: output files"),
            markdown: file(
                base.with_extension("markdown"),
                "build cache: rendered markdown",
            ),
            parsed: file(
                base.with_extension("parsed"),
                "build cache: parsed documents",
            ),
        })
    }
}

/// Why a build has no caches (it goes on without them).
#[derive(Debug, thiserror::Error)]
pub enum NoCaches {
    #[error(
        "neither XDG_CACHE_HOME nor HOME is set to an absolute path, so there is no place for the caches of a directory that is not a git repository"
    )]
    NoHome,
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
}

/// `$XDG_CACHE_HOME`, else `$HOME/.cache`, when absolute (the XDG rule).
fn user_cache_home() -> Option<PathBuf> {
    let absolute = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))
}

/// 16 hex digits of the blake3 of `parts`: a file name no two outputs share.
fn short_hash(parts: &[&std::ffi::OsStr]) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        let bytes = part.as_encoded_bytes();
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().to_hex()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_keeps_its_caches_in_its_git_directory_sealed()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let repo = dir.path().join("repo");
        git2::Repository::init(&repo)?;
        let caches = BuildCaches::locate(&repo, &repo.join("public"), None)?;
        let git_dir = repo.join(".git/glassroom").canonicalize()?.join("build");
        for file in [&caches.output, &caches.markdown, &caches.parsed] {
            assert_eq!(file.path().parent(), Some(git_dir.as_path()));
        }
        // The same output however it is named; another output elsewhere.
        let again = BuildCaches::locate(&repo, &repo.join("./public"), None)?;
        assert_eq!(again.output.path(), caches.output.path());
        let other = BuildCaches::locate(&repo, &dir.path().join("site"), None)?;
        assert_ne!(other.output.path(), caches.output.path());

        caches.markdown.write(b"bodies")?;
        assert_eq!(caches.markdown.read().as_deref(), Some(&b"bodies"[..]));
        // Not for another purpose, and not once changed or written by anyone else.
        std::fs::copy(caches.markdown.path(), caches.parsed.path())?;
        assert!(caches.parsed.read().is_none());
        std::fs::write(caches.markdown.path(), b"bodies")?;
        assert!(caches.markdown.read().is_none());
        Ok(())
    }

    #[test]
    fn an_explicit_cache_file_is_sealed_too() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let repo = dir.path().join("repo");
        git2::Repository::init(&repo)?;
        let file = dir.path().join("cache.json");
        let caches = BuildCaches::locate(&repo, &repo.join("public"), Some(&file))?;
        assert_eq!(caches.output.path(), file);
        assert_eq!(caches.parsed.path(), dir.path().join("cache.parsed"));
        caches.output.write(b"{}")?;
        assert_ne!(std::fs::read(&file)?, b"{}", "sealed");
        assert_eq!(caches.output.read().as_deref(), Some(&b"{}"[..]));
        Ok(())
    }
}
