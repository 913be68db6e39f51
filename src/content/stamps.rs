//! Fingerprints of the content, kind by kind: what the memos of later stages are keyed by
//! (see [`crate::memo`]). A computation that reads the hosts and the services has a stamp
//! made of their two fingerprints, and is done again only when one of them changes.

use super::Content;
use super::kind::{Kind, Stamps};
use crate::memo::{Fields, Stamp, Stamper};

impl Stamps {
    /// The fingerprints of every kind of `content`.
    pub fn of(content: &Content) -> Self {
        let mut stamps = Self::default();
        stamps.refresh(content, &Kind::ALL);
        stamps
    }

    /// Computes the fingerprints of `kinds` again (the others are known unchanged).
    pub fn refresh(&mut self, content: &Content, kinds: &[Kind]) {
        use rayon::prelude::*;
        let fresh: Vec<(Kind, Stamp, Stamp)> = kinds
            .par_iter()
            .map(|&kind| {
                let (files, ids) = kind_stamps(content, kind);
                (kind, files, ids)
            })
            .collect();
        for (kind, files, ids) in fresh {
            self.files[kind.index()] = files;
            self.ids[kind.index()] = ids;
        }
    }

    /// The fingerprint of the files of `kind`: their paths and their bytes.
    pub fn files(&self, kind: Kind) -> &Stamp {
        &self.files[kind.index()]
    }

    /// The fingerprint of the ids of `kind`: which entities exist.
    pub fn ids(&self, kind: Kind) -> &Stamp {
        &self.ids[kind.index()]
    }

    /// Adds the file fingerprints of `kinds` to `stamper`.
    pub fn add(&self, stamper: &mut Stamper, kinds: &[Kind]) {
        for kind in kinds {
            stamper.stamp(self.files(*kind));
        }
    }
}

fn kind_stamps(content: &Content, kind: Kind) -> (Stamp, Stamp) {
    let docs = content.shelf(kind);
    let mut files = Fields::new(kind.name());
    let mut ids = Fields::new(kind.name());
    for doc in (0..docs.len()).filter_map(|i| docs.head(i)) {
        files.text(doc.path);
        let hash = content
            .files
            .hash(doc.file())
            .unwrap_or_else(|| blake3::hash(content.files.text(doc.file()).as_bytes()));
        files.stamp(hash.as_bytes());
        ids.text(doc.path);
    }
    (files.finish(), ids.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Tree;

    fn load(files: &[(&str, &str)]) -> Content {
        let mut tree = Tree::new();
        for (path, text) in files {
            tree.insert(*path, *text);
        }
        crate::content::load(&tree).content
    }

    #[test]
    fn a_kind_s_stamps_change_with_its_files_and_ids_only() {
        let base = [
            ("glassroom.yaml", "title: T\n"),
            ("hosts/a.yaml", "os: linux\n"),
            ("hosts/b.yaml", "os: bsd\n"),
            ("modules/m.yaml", "kind: custom\n"),
        ];
        let stamps = Stamps::of(&load(&base));
        let mut edited = base;
        edited[1] = ("hosts/a.yaml", "os: plan9\n");
        let after = Stamps::of(&load(&edited));
        assert_ne!(after.files(Kind::Host), stamps.files(Kind::Host));
        assert_eq!(after.ids(Kind::Host), stamps.ids(Kind::Host));
        assert_eq!(after.files(Kind::Module), stamps.files(Kind::Module));
        assert_eq!(after.files(Kind::Config), stamps.files(Kind::Config));
        let fewer = Stamps::of(&load(&[base[0], base[1], base[3]]));
        assert_ne!(fewer.ids(Kind::Host), stamps.ids(Kind::Host));
        // Refreshing one kind gives what computing all of them gives.
        let content = load(&edited);
        let mut refreshed = stamps;
        refreshed.refresh(&content, &[Kind::Host]);
        assert_eq!(refreshed, Stamps::of(&content));
    }
}
