//! Remembering what a build computed, so that the next build in the same process (the
//! preview server, `serve --repo`, `sync --watch`) computes again only what changed.
//!
//! Every stage keeps its expensive results in [`Memo`] cells, each with the [`Stamp`] of
//! the inputs it was computed from: the fingerprints of the kinds of content it reads
//! (see `content::Stamps`), "now", the theme. A build asks a cell for the value of this
//! build's stamp; an equal stamp gives the remembered value, any other is computed again
//! (with the previous value at hand, for patching). Nothing ever compares values, so a
//! stamp must cover everything the computation reads: that is the one rule.
//!
//! A cell that is not keeping (a one-off build) remembers nothing.

use std::sync::{Arc, Mutex};

/// The fingerprint of everything a computation read.
pub type Stamp = [u8; 32];

/// Builds a [`Stamp`] from labelled parts; every part is length-prefixed, so different
/// sequences of parts never give the same bytes.
pub struct Stamper(blake3::Hasher);

impl Stamper {
    /// A stamp for the computation `label`, so two computations with the same inputs
    /// get different stamps.
    pub fn new(label: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        let mut stamper = Self(hasher);
        stamper.text(label);
        stamper
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    pub fn hash(&mut self, hash: &blake3::Hash) -> &mut Self {
        self.0.update(hash.as_bytes());
        self
    }

    pub fn stamp(&mut self, stamp: &Stamp) -> &mut Self {
        self.0.update(stamp);
        self
    }

    pub fn finish(&self) -> Stamp {
        *self.0.finalize().as_bytes()
    }
}

/// The fingerprint of a few fields of many documents, for a computation that reads only
/// those: a join of tickets by module is made again when a ticket's module changes, not
/// when its title does. Parts are written into one buffer, hashed once at the end
/// (many tiny hasher updates cost more than the hashing).
pub struct Fields(Vec<u8>);

impl Fields {
    pub fn new(label: &str) -> Self {
        let mut fields = Self(Vec::with_capacity(64 * 1024));
        fields.text(label);
        fields
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    /// An optional text: absent and empty differ.
    pub fn maybe(&mut self, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => {
                self.0.push(1);
                self.text(text)
            }
            None => {
                self.0.push(0);
                self
            }
        }
    }

    pub fn number(&mut self, number: i64) -> &mut Self {
        self.0.extend_from_slice(&number.to_le_bytes());
        self
    }

    pub fn stamp(&mut self, stamp: &Stamp) -> &mut Self {
        self.0.extend_from_slice(stamp);
        self
    }

    pub fn finish(&self) -> Stamp {
        *blake3::hash(&self.0).as_bytes()
    }
}

/// One remembered value and the stamp of the inputs it came from.
pub struct Memo<T> {
    keeping: bool,
    slot: Mutex<Option<(Stamp, Arc<T>)>>,
}

impl<T> Default for Memo<T> {
    /// A cell that remembers nothing.
    fn default() -> Self {
        Self {
            keeping: false,
            slot: Mutex::new(None),
        }
    }
}

/// What [`Memo::get`] gave.
pub struct Got<T> {
    pub value: Arc<T>,
    /// Computed by this call (the stamp differed, or nothing was remembered).
    pub fresh: bool,
}

impl<T: Send + Sync + 'static> Memo<T> {
    /// A cell that remembers the last value for the next build.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            slot: Mutex::new(None),
        }
    }

    /// Whether the cell remembers values at all.
    pub fn is_keeping(&self) -> bool {
        self.keeping
    }

    /// The value for `stamp`: the remembered one if it has that stamp, else `make`'s,
    /// which is told the previous value (if any) to patch instead of starting afresh.
    pub fn get(&self, stamp: Stamp, make: impl FnOnce(Option<&T>) -> T) -> Got<T> {
        if !self.keeping {
            return Got {
                value: Arc::new(make(None)),
                fresh: true,
            };
        }
        let previous = self.slot.lock().ok().and_then(|slot| slot.clone());
        if let Some((seen, value)) = &previous
            && *seen == stamp
        {
            return Got {
                value: Arc::clone(value),
                fresh: false,
            };
        }
        let value = Arc::new(make(previous.as_ref().map(|(_, v)| &**v)));
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((stamp, Arc::clone(&value)));
        }
        if let Some(previous) = previous {
            crate::defer::drop_later(previous.1);
        }
        Got { value, fresh: true }
    }

    /// Remembers `value` as the one for `stamp` (for a value made outside [`Memo::get`]).
    pub fn set(&self, stamp: Stamp, value: T) {
        if !self.keeping {
            return;
        }
        if let Ok(mut slot) = self.slot.lock()
            && let Some((_, old)) = slot.replace((stamp, Arc::new(value)))
        {
            crate::defer::drop_later(old);
        }
    }

    /// The remembered value and its stamp, if any.
    pub fn peek(&self) -> Option<(Stamp, Arc<T>)> {
        self.slot.lock().ok().and_then(|slot| slot.clone())
    }

    /// Forgets the remembered value.
    pub fn clear(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = None;
        }
    }
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stamp = self.slot.lock().ok().and_then(|slot| {
            slot.as_ref()
                .map(|(stamp, _)| blake3::Hash::from(*stamp).to_hex())
        });
        f.debug_struct("Memo")
            .field("keeping", &self.keeping)
            .field("stamp", &stamp.as_ref().map(|s| &s[..12]))
            .finish()
    }
}

/// The keys of either map whose values differ (present in one only, or different), in
/// order: one walk of both sorted maps side by side.
pub fn differing_keys<'a, V: PartialEq>(
    left: &'a std::collections::BTreeMap<String, V>,
    right: &'a std::collections::BTreeMap<String, V>,
) -> Vec<&'a str> {
    differing(
        left.iter().map(|(k, v)| (k.as_str(), v)),
        right.iter().map(|(k, v)| (k.as_str(), v)),
        |l, r| l == r,
    )
}

/// The keys of two sequences sorted by key that are in one only, or in both with values
/// that are not `same`.
pub fn differing<'a, L, R>(
    left: impl Iterator<Item = (&'a str, L)>,
    right: impl Iterator<Item = (&'a str, R)>,
    same: impl Fn(&L, &R) -> bool,
) -> Vec<&'a str> {
    use std::cmp::Ordering;
    let (mut left, mut right) = (left.peekable(), right.peekable());
    let mut out = Vec::new();
    loop {
        let order = match (left.peek(), right.peek()) {
            (None, None) => return out,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((l, _)), Some((r, _))) => l.cmp(r),
        };
        match order {
            Ordering::Less => out.extend(left.next().map(|(key, _)| key)),
            Ordering::Greater => out.extend(right.next().map(|(key, _)| key)),
            Ordering::Equal => {
                if let (Some((key, l)), Some((_, r))) = (left.next(), right.next())
                    && !same(&l, &r)
                {
                    out.push(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(parts: &[&str]) -> Stamp {
        let mut s = Stamper::new("test");
        for part in parts {
            s.text(part);
        }
        s.finish()
    }

    #[test]
    fn parts_are_delimited() {
        assert_ne!(stamp(&["ab", "c"]), stamp(&["a", "bc"]));
        assert_ne!(stamp(&["a"]), stamp(&["a", ""]));
        assert_eq!(stamp(&["a", "b"]), stamp(&["a", "b"]));
        let mut other = Stamper::new("other");
        other.text("a");
        assert_ne!(other.finish(), stamp(&["a"]));
    }

    #[test]
    fn a_keeping_cell_computes_again_exactly_when_the_stamp_changes() {
        let memo = Memo::keeping();
        let calls = std::cell::Cell::new(0);
        let make = |previous: Option<&String>, text: &str| {
            calls.set(calls.get() + 1);
            format!("{}{text}", previous.map_or("", |p| p.as_str()))
        };
        let first = memo.get(stamp(&["1"]), |p| make(p, "a"));
        assert!(first.fresh);
        assert_eq!(*first.value, "a");
        let again = memo.get(stamp(&["1"]), |p| make(p, "b"));
        assert!(!again.fresh);
        assert_eq!(*again.value, "a");
        // A new stamp: computed again, with the previous value at hand.
        let next = memo.get(stamp(&["2"]), |p| make(p, "b"));
        assert!(next.fresh);
        assert_eq!(*next.value, "ab");
        assert_eq!(calls.get(), 2);
        memo.clear();
        assert!(memo.get(stamp(&["2"]), |p| make(p, "c")).fresh);
    }

    #[test]
    fn a_cell_that_does_not_keep_always_computes() {
        let memo: Memo<u32> = Memo::default();
        assert!(memo.get(stamp(&["1"]), |_| 1).fresh);
        let again = memo.get(stamp(&["1"]), |previous| {
            assert!(previous.is_none());
            2
        });
        assert!(again.fresh);
        assert_eq!(*again.value, 2);
        assert!(memo.peek().is_none());
    }

    #[test]
    fn differing_keys_are_those_of_one_map_only_or_with_another_value() {
        let map = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let left = map(&[("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]);
        let right = map(&[("b", "2"), ("c", "3"), ("d", "x"), ("f", "6")]);
        let paths: Vec<&str> = differing_keys(&left, &right);
        assert_eq!(paths, ["a", "c", "d", "e", "f"]);
        assert!(differing_keys(&left, &left).is_empty());
    }
}
