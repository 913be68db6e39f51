//! The shape of the code, checked: data flows one way (source → trust → content → derive
//! → render → output → sync/serve), no modules import each other in a circle, and no
//! source file outgrows one responsibility. docs/architecture.md draws the same map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, earliest first. A module may use its own stage and earlier ones only.
const STAGES: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "values",
            "suggest",
            "lookalike",
            "yaml",
            "diag",
            "local",
            "memo",
            "timings",
            "defer",
        ],
    ),
    ("source", &["source"]),
    ("trust", &["trust"]),
    ("content", &["content"]),
    ("derive", &["derive", "flags"]),
    ("render", &["render"]),
    ("output", &["output", "intake"]),
    ("pipeline", &["pipeline"]),
    ("publish", &["serve", "sync", "notify", "dispatch"]),
    ("commands", &["cmd", "cli"]),
];

/// No source file is longer (test files apart).
const MAX_LINES: usize = 700;

fn stage_of(module: &str) -> Option<usize> {
    STAGES
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// A source file's module path under `src` (`content/load.rs` → `["content", "load"]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts
}

fn is_test_file(file: &Path) -> bool {
    file.file_name().is_some_and(|name| name == "tests.rs")
        || file.components().any(|c| c.as_os_str() == "tests")
}

/// The code of a file without comments and without its inline `mod tests`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first two segments of every path after `crate::`, braces expanded one level
/// (`crate::{a, b::c}` → `a`, `b::c`).
fn crate_paths(code: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `glassroom_crate::` or the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                found.extend(segments(item.trim()));
            }
        } else {
            found.extend(segments(rest));
        }
    }
    found
}

fn segments(path: &str) -> Option<(String, Option<String>)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    let first = ident(path);
    if first.is_empty() {
        return None;
    }
    let second = path[first.len()..]
        .strip_prefix("::")
        .map(ident)
        .filter(|s| !s.is_empty());
    Some((first, second))
}

/// `super::x` in a file directly inside a top-level module names its sibling `x`.
fn sibling_paths(code: &str) -> Vec<String> {
    code.split("super::")
        .skip(1)
        .filter_map(|rest| segments(rest).map(|(first, _)| first))
        .collect()
}

/// A circle in `graph`, if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        on_path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = on_path.iter().position(|n| n == node) {
            let mut circle = on_path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        on_path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, on_path, done) {
                return Some(circle);
            }
        }
        on_path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

struct Imports {
    /// Top-level module → top-level modules it uses.
    top: BTreeMap<String, BTreeSet<String>>,
    /// `a::b` → `a::c` uses within one top-level module.
    inner: BTreeMap<String, BTreeSet<String>>,
    /// Where each top-level use is made, for messages.
    sites: BTreeMap<(String, String), String>,
}

fn imports(src: &Path) -> Imports {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut imports = Imports {
        top: BTreeMap::new(),
        inner: BTreeMap::new(),
        sites: BTreeMap::new(),
    };
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let path = module_path(src, file);
        let Some(top) = path.first().filter(|t| *t != "main" && *t != "lib") else {
            continue;
        };
        let own = path.get(1).map(|second| format!("{top}::{second}"));
        let code = code_of(&std::fs::read_to_string(file).unwrap_or_default());
        for (first, second) in crate_paths(&code) {
            if &first != top {
                imports
                    .top
                    .entry(top.clone())
                    .or_default()
                    .insert(first.clone());
                imports
                    .sites
                    .entry((top.clone(), first))
                    .or_insert_with(|| file.display().to_string());
            } else if let (Some(own), Some(second)) = (&own, second) {
                let target = format!("{top}::{second}");
                if &target != own {
                    imports.inner.entry(own.clone()).or_default().insert(target);
                }
            }
        }
        if let (Some(own), 2) = (&own, path.len()) {
            for sibling in sibling_paths(&code) {
                let target = format!("{top}::{sibling}");
                if &target != own {
                    imports.inner.entry(own.clone()).or_default().insert(target);
                }
            }
        }
    }
    imports
}

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_belongs_to_a_stage_and_uses_only_its_own_and_earlier_ones() {
    let imports = imports(&source_dir());
    let mut wrong = Vec::new();
    for (from, targets) in &imports.top {
        let Some(from_stage) = stage_of(from) else {
            wrong.push(format!("module `{from}` is in no stage: add it to STAGES"));
            continue;
        };
        for to in targets {
            match stage_of(to) {
                None => wrong.push(format!("module `{to}` is in no stage: add it to STAGES")),
                Some(to_stage) if to_stage > from_stage => wrong.push(format!(
                    "{} ({}, stage {}) uses `crate::{to}` (stage {}), a later stage",
                    imports.sites[&(from.clone(), to.clone())],
                    from,
                    STAGES[from_stage].0,
                    STAGES[to_stage].0
                )),
                Some(_) => {}
            }
        }
    }
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let imports = imports(&source_dir());
    assert_eq!(find_circle(&imports.top), None, "top-level modules");
    assert_eq!(find_circle(&imports.inner), None, "modules within one");
}

#[test]
fn no_source_file_is_over_700_lines() {
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates"), &mut files);
    files.sort();
    let long: Vec<String> = files
        .iter()
        .filter(|file| !is_test_file(file))
        .filter_map(|file| {
            let lines = std::fs::read_to_string(file).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these along their seams (tests may move to a tests.rs beside them):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_imports_braces_and_circles() {
    let code =
        "use crate::{diag::Files, yaml};\nlet x = crate::values::Date::MIN;\n// crate::render\n";
    let found = crate_paths(&code_of(code));
    assert_eq!(
        found,
        [
            ("diag".to_owned(), None),
            ("yaml".to_owned(), None),
            ("values".to_owned(), None)
        ]
    );
    assert_eq!(
        crate_paths("crate::content::load::Kind"),
        [("content".to_owned(), Some("load".to_owned()))]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(
        find_circle(&graph),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}
