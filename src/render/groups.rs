//! The groups of pages ([`Page`]) of a build: which pages each has, their keys, and which
//! of them to render again.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::pages::{self, Page, PageFile};
use super::{Input, keys};
use crate::memo::{Memo, Stamp, Stamper};
use crate::trust::history::Trails;

/// Every group's state as the last build left it, with the group it is of.
pub struct Groups(Vec<(Page, Memo<Result<Group, String>>)>);

impl Default for Groups {
    fn default() -> Self {
        Self(
            Page::all()
                .into_iter()
                .map(|page| (page, Memo::default()))
                .collect(),
        )
    }
}

impl Groups {
    pub fn keeping() -> Self {
        Self(
            Page::all()
                .into_iter()
                .map(|page| (page, Memo::keeping()))
                .collect(),
        )
    }

    /// Forgets every group.
    pub fn clear(&self) {
        for (_, memo) in &self.0 {
            memo.clear();
        }
    }

    /// What each group renders in this build, in the order of [`Page::all`].
    pub fn plan(&self, input: &Input<'_>, global: Option<&blake3::Hash>) -> Vec<Planned> {
        self.0
            .par_iter()
            .map(|(page, memo)| plan_group(input, global, *page, memo))
            .collect()
    }
}

/// A group of pages as the last build made it: its pages and their keys (`None` for a
/// page rendered whenever its group changed).
pub struct Group {
    pages_stamp: Stamp,
    pub pages: Arc<Vec<PageFile>>,
    pub keys: Vec<Option<keys::Key>>,
    /// For detail pages: the files each page's key read, and the stamp of what decided
    /// which files those are ([`super::reads::Reads::structure`]): while it is unchanged, a page
    /// needs a new key only if one of its files changed.
    deps: Vec<keys::Deps>,
    structure: Stamp,
    /// For audit pages: the trails their keys were made from; while [`Group::structure`]
    /// is unchanged, a page needs a new key only if its trail changed.
    trails: Option<Trails>,
}

/// A group's keys, with what [`Group::deps`], [`Group::structure`] and [`Group::trails`]
/// record.
struct Keyed {
    keys: Vec<Option<keys::Key>>,
    deps: Vec<keys::Deps>,
    structure: Stamp,
    trails: Option<Trails>,
}

impl Keyed {
    fn plain(keys: Vec<Option<keys::Key>>) -> Self {
        Self {
            keys,
            deps: Vec::new(),
            structure: [0; 32],
            trails: None,
        }
    }
}

/// How a group's pages are keyed, given the group's previous state.
type MakeKeys<'a> = Box<dyn Fn(&[PageFile], Option<&Group>) -> Keyed + Sync + 'a>;

/// What became of one group in this build.
pub struct Planned {
    pub page: Page,
    pub group: Arc<Result<Group, String>>,
    /// Indices of the pages to hand to the sink; `None` for all of them.
    pub render: Option<Vec<usize>>,
    /// Ask the sink to reuse pages with a key before rendering them.
    pub offer: bool,
    pub removed: Vec<String>,
}

/// Makes the pages of a group.
type MakePages<'a> = Box<dyn Fn() -> tera::TeraResult<Vec<PageFile>> + Sync + 'a>;

/// The stamp of the page list of the group `page`, and how its pages are made (only on a
/// miss).
fn group_pages<'a>(input: &'a Input<'a>, page: Page) -> (Stamp, MakePages<'a>) {
    let content = input.content;
    match page {
        // A list's pages are the list and the further pages of its long tables: they
        // change with the tables' lengths.
        Page::List(list) => {
            let sizes = pages::table_sizes(input, list);
            let mut stamp = Stamper::new("list");
            stamp.text(&format!("{list:?}"));
            for (table, rows) in &sizes {
                stamp.text(table).text(&rows.to_string());
            }
            (
                stamp.finish(),
                Box::new(move || pages::list_pages(list, &sizes)),
            )
        }
        Page::Detail(kind) => {
            let mut stamp = Stamper::new("detail pages");
            stamp.text(kind.name()).stamp(content.stamps.ids(kind));
            (
                stamp.finish(),
                Box::new(move || Ok(pages::detail_pages(content, kind))),
            )
        }
        Page::Channel(kind) => {
            let mut stamp = Stamper::new("channel feeds");
            stamp.text(kind.name()).stamp(content.stamps.ids(kind));
            (
                stamp.finish(),
                Box::new(move || Ok(pages::channel_pages(content, kind))),
            )
        }
        Page::Inbox => {
            let mut stamp = Stamper::new("inboxes");
            stamp.stamp(content.stamps.ids(crate::content::Kind::Person));
            (
                stamp.finish(),
                Box::new(move || Ok(pages::inbox_pages(content))),
            )
        }
        Page::Months => {
            let mut stamp = Stamper::new("months");
            stamp.stamp(&input.derived.stamps.logbook);
            let logbook = Arc::clone(&input.derived.logbook);
            (
                stamp.finish(),
                Box::new(move || pages::month_pages(&logbook.months)),
            )
        }
        // The audit pages are one per file with a trail: they change with the set of
        // paths, not with each commit.
        Page::Audit => {
            let mut stamp = crate::memo::Fields::new("audit");
            if let Some(report) = input.trust {
                for path in super::data::audit_paths(report) {
                    stamp.text(path);
                }
            }
            (
                stamp.finish(),
                Box::new(move || pages::audit_pages(input.trust)),
            )
        }
    }
}

/// The stamp of everything the pages of the group `page` show, made from what it
/// declares it reads (`None` when it is not known, with a theme of the repository's own,
/// and they are rendered every time), and how their keys are made.
fn group_keys<'a>(
    input: &'a Input<'a>,
    global: Option<&'a blake3::Hash>,
    page: Page,
) -> (Option<Stamp>, MakeKeys<'a>) {
    let unkeyed = || -> MakeKeys<'a> {
        Box::new(|pages, _| Keyed::plain(pages.iter().map(|_| None).collect()))
    };
    let (Some(global), Some(spec)) = (global, page.spec()) else {
        return (None, unkeyed());
    };
    let reads = spec.reads;
    let stamp = reads.stamp(input, global, &format!("{page:?}"));
    // Each page of a list of pages is keyed by the group's stamp and its path.
    let by_path = move |pages: &[PageFile], _: Option<&Group>| {
        Keyed::plain(
            pages
                .iter()
                .map(|p| Some(keys::list_key(&stamp, &p.path)))
                .collect(),
        )
    };
    let make: MakeKeys<'a> = match page {
        Page::List(_) | Page::Months => Box::new(by_path),
        Page::Detail(_) | Page::Channel(_) | Page::Inbox => {
            Box::new(move |pages, previous| detail_keyed(input, global, page, pages, previous))
        }
        Page::Audit => Box::new(move |pages, previous| audit_keyed(input, global, pages, previous)),
    };
    (Some(stamp), make)
}

/// The keys of the audit pages: the previous group's, made again only for pages whose
/// trail changed, while the theme and the pending changes did not; else all made again.
fn audit_keyed(
    input: &Input<'_>,
    global: &blake3::Hash,
    pages: &[PageFile],
    previous: Option<&Group>,
) -> Keyed {
    let structure = keys::audit_structure(input, global);
    let since = previous
        .filter(|p| p.structure == structure && p.keys.len() == pages.len())
        .and_then(|p| Some((&p.keys, p.trails.as_ref()?)));
    let keys = match since {
        Some((kept, before)) => keys::audit_keys_since(input, global, pages, kept, before),
        None => keys::audit_keys(input, global, pages),
    };
    Keyed {
        keys,
        deps: Vec::new(),
        structure,
        trails: input.trust.map(|trust| Arc::clone(&trust.trails)),
    }
}

/// The keys of one kind's detail pages (or channel feeds, or the inboxes): the previous group's, made
/// again only for pages one of whose files changed, while what decides which files they
/// read did not; else all made again.
fn detail_keyed(
    input: &Input<'_>,
    global: &blake3::Hash,
    page: Page,
    pages: &[PageFile],
    previous: Option<&Group>,
) -> Keyed {
    let structure = page
        .spec()
        .map_or([0; 32], |spec| spec.reads.structure(input, global));
    let (key, count) = match page {
        Page::Channel(kind) => keys::channel_key_fn(input, global, kind),
        Page::Detail(kind) => keys::detail_key_fn(input, global, kind),
        Page::Inbox => keys::inbox_key_fn(input, global),
        Page::List(_) | Page::Months | Page::Audit => {
            let none: Box<dyn Fn(usize) -> (keys::Key, keys::Deps) + Sync> =
                Box::new(|_| ([0; 32], Vec::new()));
            (none, 0)
        }
    };
    let files = &input.content.files;
    let unchanged = |deps: &keys::Deps| {
        deps.iter()
            .all(|(file, hash)| files.hash(*file).as_ref() == Some(hash))
    };
    let patchable = previous.filter(|p| {
        p.structure == structure
            && p.keys.len() == count
            && p.deps.len() == count
            && pages.len() == count
    });
    let made: Vec<(Option<keys::Key>, keys::Deps)> = match patchable {
        Some(previous) => (0..count)
            .into_par_iter()
            .with_min_len(256)
            .map(|i| match (previous.keys.get(i), previous.deps.get(i)) {
                (Some(Some(kept)), Some(deps)) if unchanged(deps) => (Some(*kept), deps.clone()),
                _ => {
                    let (key, deps) = key(i);
                    (Some(key), deps)
                }
            })
            .collect(),
        None => (0..count)
            .into_par_iter()
            .map(|i| {
                let (key, deps) = key(i);
                (Some(key), deps)
            })
            .collect(),
    };
    let (keys, deps) = made.into_iter().unzip();
    Keyed {
        keys,
        deps,
        structure,
        trails: None,
    }
}

/// Decides what the group `page` renders: nothing when its stamp is the one of the output
/// the caller holds, else its pages whose keys changed (or all of them).
fn plan_group(
    input: &Input<'_>,
    global: Option<&blake3::Hash>,
    page: Page,
    memo: &Memo<Result<Group, String>>,
) -> Planned {
    let (pages_stamp, make_pages) = group_pages(input, page);
    let (keys_stamp, make_keys) = group_keys(input, global, page);
    let mut stamp = Stamper::new("group");
    stamp.stamp(&pages_stamp);
    // A group whose pages have no known inputs is never the same as before.
    let unknown = keys_stamp.is_none();
    if let Some(keys_stamp) = &keys_stamp {
        stamp.stamp(keys_stamp);
    } else {
        stamp.text(&input.now.to_string());
    }
    let mut changes: Option<(Vec<usize>, Vec<String>)> = None;
    let got = memo.get(stamp.finish(), |previous| {
        let previous = previous.and_then(|p| p.as_ref().ok());
        let pages = match previous.filter(|p| p.pages_stamp == pages_stamp) {
            Some(previous) => Arc::clone(&previous.pages),
            None => Arc::new(make_pages().map_err(|err| err.to_string())?),
        };
        let keyed = make_keys(&pages, previous.filter(|p| p.pages_stamp == pages_stamp));
        if let Some(previous) = previous {
            changes = Some(compare(previous, &pages, &keyed.keys));
        }
        Ok(Group {
            pages_stamp,
            pages,
            keys: keyed.keys,
            deps: keyed.deps,
            structure: keyed.structure,
            trails: keyed.trails,
        })
    });
    let incremental = input.memos.keeping && !input.complete;
    let (render, removed) = match (got.fresh, changes) {
        (false, _) if incremental && !unknown => (Some(Vec::new()), Vec::new()),
        (true, Some((render, removed))) if incremental => (Some(render), removed),
        _ => (None, Vec::new()),
    };
    Planned {
        page,
        group: got.value,
        render,
        offer: !incremental,
        removed,
    }
}

/// The pages of a group to render again, by index, and the paths it no longer has,
/// against its previous state.
fn compare(
    previous: &Group,
    pages: &Arc<Vec<PageFile>>,
    keys: &[Option<keys::Key>],
) -> (Vec<usize>, Vec<String>) {
    let same_pages = Arc::ptr_eq(&previous.pages, pages)
        || previous.pages.len() == pages.len()
            && previous
                .pages
                .iter()
                .zip(pages.iter())
                .all(|(a, b)| a.path == b.path);
    let render: Vec<usize> = if same_pages {
        (0..pages.len())
            .filter(|&i| keys[i].is_none() || previous.keys.get(i) != Some(&keys[i]))
            .collect()
    } else {
        let before: HashMap<&str, &Option<keys::Key>> = previous
            .pages
            .iter()
            .zip(&previous.keys)
            .map(|(page, key)| (page.path.as_str(), key))
            .collect();
        (0..pages.len())
            .filter(|&i| keys[i].is_none() || before.get(pages[i].path.as_str()) != Some(&&keys[i]))
            .collect()
    };
    let removed = if same_pages {
        Vec::new()
    } else {
        let now: std::collections::HashSet<&str> = pages.iter().map(|p| p.path.as_str()).collect();
        previous
            .pages
            .iter()
            .filter(|p| !now.contains(p.path.as_str()))
            .map(|p| p.path.clone())
            .collect()
    };
    (render, removed)
}
