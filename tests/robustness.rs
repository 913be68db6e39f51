//! Nothing a file can contain makes glassroom panic: truncated and garbled copies of
//! every example file go through the loader and the validator.

use glassroom::content;
use glassroom::source::{Tree, read_dir};

use crate::support::root;

/// Deterministic variants of one file's bytes: truncations, flipped bytes, and
/// YAML-significant characters inserted at many places.
fn variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let len = bytes.len();
    for i in 0..=12 {
        out.push(bytes[..len * i / 12].to_vec());
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let inserts: [&[u8]; 14] = [
        b":",
        b"[",
        b"{",
        b"- ",
        b"\t",
        b"&a ",
        b"*a",
        b"!!binary ",
        b"\n---\n",
        b"\"",
        b"'",
        b"\xff\xfe",
        b"? ",
        b"<<: *a\n",
    ];
    for _ in 0..24 {
        if len == 0 {
            break;
        }
        let at = (next() as usize) % len;
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 1 << (next() % 8);
        out.push(flipped);
        let mut inserted = bytes.to_vec();
        let what = inserts[(next() as usize) % inserts.len()];
        inserted.splice(at..at, what.iter().copied());
        out.push(inserted);
    }
    // Lines shuffled out of order and indentation broken.
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.reverse();
    out.push(lines.join("\n").into_bytes());
    out.push(text.replace("  ", " ").into_bytes());
    out.push(text.replace(": ", ":").into_bytes());
    out
}

#[test]
fn garbled_example_files_never_panic() {
    let example = read_dir(&root().join("content-example")).expect("example readable");
    assert!(
        example.len() > 100,
        "the example has {} files",
        example.len()
    );
    let mut runs = 0;
    for (path, bytes) in example.iter() {
        for variant in variants(bytes) {
            // The file alone, so each parse is cheap...
            let mut single = Tree::new();
            single.insert(path, variant.clone());
            let loaded = content::load(&single);
            // ...and every diagnostic can be rendered.
            let _ = glassroom::diag::render::to_json(&loaded.content.files, &loaded.diagnostics);
            runs += 1;
        }
    }
    assert!(runs > 1000, "{runs} runs");
}

#[test]
fn a_wholly_garbled_repository_never_panics() {
    let example = read_dir(&root().join("content-example")).expect("example readable");
    for round in 0..6 {
        let mut tree = Tree::new();
        for (path, bytes) in example.iter() {
            let all = variants(bytes);
            let pick = (path.len() + round * 7) % all.len();
            tree.insert(path, all[pick].clone());
        }
        let loaded = content::load(&tree);
        let mut out = Vec::new();
        glassroom::diag::render::write_short(&mut out, &loaded.content.files, &loaded.diagnostics)
            .expect("render to memory");
        assert!(
            loaded.diagnostics.has_errors(),
            "round {round} found nothing wrong"
        );
    }
}
