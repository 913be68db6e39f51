//! Writing a built site to disk: into a fresh directory beside the target, swapped into
//! place only once every file is written, so a failed build never leaves a half-new site.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// Marks a directory as glassroom output, so a build never replaces anything else.
pub const MARKER: &str = ".glassroom-site";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to replace {}: it is not empty and was not written by glassroom (no {MARKER} file)", path.display())]
    NotOurs { path: PathBuf },
    #[error("output path {} is not a valid place for a site: {reason}", path.display())]
    BadPath { path: PathBuf, reason: &'static str },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `files` (relative path → bytes) as the directory `target`, replacing what was
/// there. The new site is complete on disk before the old one is moved away.
pub fn write_site(target: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), OutputError> {
    let name = target.file_name().ok_or(OutputError::BadPath {
        path: target.to_path_buf(),
        reason: "it has no final component",
    })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_replaceable(target)?;
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.new-", name.to_string_lossy()))
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    write_all(staging.path(), files)?;
    std::fs::write(staging.path().join(MARKER), b"written by glassroom build\n")
        .map_err(io(staging.path()))?;

    let staged = staging.keep();
    if target.exists() {
        let old = tempfile::Builder::new()
            .prefix(&format!(".{}.old-", name.to_string_lossy()))
            .tempdir_in(&parent)
            .map_err(io(&parent))?
            .keep();
        // `old` is an empty directory; rename replaces it with the previous site.
        std::fs::rename(target, &old).map_err(io(target))?;
        std::fs::rename(&staged, target).map_err(io(target))?;
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    } else {
        std::fs::rename(&staged, target).map_err(io(target))?;
    }
    Ok(())
}

/// Only an absent or empty directory, or an earlier glassroom output, may be replaced.
fn check_replaceable(target: &Path) -> Result<(), OutputError> {
    if !target.exists() {
        return Ok(());
    }
    if !target.is_dir() {
        return Err(OutputError::NotOurs {
            path: target.to_path_buf(),
        });
    }
    let empty = std::fs::read_dir(target)
        .map_err(io(target))?
        .next()
        .is_none();
    if empty || target.join(MARKER).is_file() {
        Ok(())
    } else {
        Err(OutputError::NotOurs {
            path: target.to_path_buf(),
        })
    }
}

fn write_all(root: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), OutputError> {
    let dirs: std::collections::BTreeSet<PathBuf> = files
        .keys()
        .filter_map(|p| Path::new(p).parent().map(|d| root.join(d)))
        .collect();
    for dir in &dirs {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    files.par_iter().try_for_each(|(relative, bytes)| {
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "..")
        {
            return Err(OutputError::BadPath {
                path: PathBuf::from(relative),
                reason: "it leaves the output directory",
            });
        }
        let path = root.join(relative);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io(&path))?);
        file.write_all(bytes).map_err(io(&path))?;
        file.flush().map_err(io(&path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn replaces_a_previous_site_completely() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("public");
        write_site(
            &target,
            &site(&[("index.html", "one"), ("old/page.html", "x")]),
        )?;
        write_site(&target, &site(&[("index.html", "two")]))?;
        assert_eq!(std::fs::read_to_string(target.join("index.html"))?, "two");
        assert!(
            !target.join("old").exists(),
            "files of the previous build are gone"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())?.collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no staging or old directories left behind"
        );
        Ok(())
    }

    #[test]
    fn never_replaces_a_directory_it_did_not_write() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("precious.txt"), "keep me")?;
        let err = write_site(dir.path(), &site(&[("index.html", "x")]));
        assert!(matches!(err, Err(OutputError::NotOurs { .. })));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("precious.txt"))?,
            "keep me"
        );
        Ok(())
    }
}
