//! Fingerprints glassroom's own source and locked dependencies as
//! `GLASSROOM_SOURCE_HASH`. Caches that hold what this build parsed or rendered carry it,
//! so a different build of glassroom (a changed model, parser or renderer, even under the
//! same version number) never trusts them. Lists the default theme's templates for
//! `render/theme.rs` to compile in, so a new template is a new file and nothing else.

use std::path::{Path, PathBuf};

fn main() {
    // The flags crate holds types the parsed-document cache stores (flag values), so its
    // source counts as glassroom's own.
    const SOURCES: [&str; 2] = ["src", "crates/glassroom-flags/src"];
    for dir in SOURCES {
        println!("cargo:rerun-if-changed={dir}");
    }
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    let mut paths: Vec<PathBuf> = SOURCES
        .iter()
        .flat_map(walkdir::WalkDir::new)
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .collect();
    paths.sort();
    paths.push(PathBuf::from("Cargo.lock"));
    let mut hasher = blake3::Hasher::new();
    for path in &paths {
        add(&mut hasher, path.to_string_lossy().as_bytes());
        add(&mut hasher, &read(path));
    }
    println!(
        "cargo:rustc-env=GLASSROOM_SOURCE_HASH={}",
        hasher.finalize().to_hex()
    );
    default_templates();
}

/// `$OUT_DIR/default_templates.rs`: `&[(name, include_str!(path)), ...]` for every file of
/// `themes/default/templates/`, sorted by name.
fn default_templates() {
    const DIR: &str = "themes/default/templates";
    println!("cargo:rerun-if-changed={DIR}");
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(Path::new(&root).join(DIR))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    let entries: String = names
        .iter()
        .map(|name| {
            let path = Path::new(&root).join(DIR).join(name);
            format!("({name:?}, include_str!({:?})),\n", path.to_string_lossy())
        })
        .collect();
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    let written = std::fs::write(
        Path::new(&out).join("default_templates.rs"),
        format!("&[\n{entries}]\n"),
    );
    if let Err(err) = written {
        eprintln!("cannot write the list of default templates into {out}: {err}");
        std::process::exit(1);
    }
}

/// Length first, so two inputs can never run together into the same bytes.
fn add(hasher: &mut blake3::Hasher, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// A missing file (no `Cargo.lock` when built as a dependency) hashes as empty.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}
