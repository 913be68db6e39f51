//! Running the real `glassroom` binary in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary under test.
pub fn glassroom() -> Command {
    Command::new(env!("CARGO_BIN_EXE_glassroom"))
}

/// The outcome of one run, with stdout and stderr as text.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `glassroom ARGS...` and captures everything.
pub fn run(args: &[&str]) -> Run {
    glassroom()
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the glassroom binary runs")
        .into()
}

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("readable test fixture");
        let relative = entry.path().strip_prefix(from).expect("inside the fixture");
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create directory");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
