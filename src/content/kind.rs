//! The kinds of file a repository holds, in one table: each kind's name, where its files
//! live, its model type, the field of [`Content`] that holds its documents, and the facts
//! the rest of `content` asks about it. Everything that differs by kind is generated from
//! the table (the [`Kind`] enum, [`Content`], the parsed document of any kind, the
//! per-kind dispatch), or asked of it through [`Kind`]'s methods and the [`Shelf`] of a
//! kind's documents. Outside this file, kinds are named only by what checks them: the
//! check groups of `validate/` (with the kinds each reads) and the references that
//! `left_out.rs` follows.
//!
//! A new kind is one entry here (with its page's template, for a kind with one file per
//! entity), its model type (`model.rs`), its checks (`validate/`, and its references in
//! `left_out.rs` if it has any) and its template. Later stages reach its typed
//! documents through [`Content::visit_entities`], not a `match` of their own.

use std::collections::{BTreeMap, BTreeSet};

use super::Document;
use super::model::*;
use super::people::{ChannelKind, Info, Person};
use super::shelf::{Head, Model, Shelf, Slot, head};
use crate::diag::{FileId, Files};
use crate::memo::Stamp;
use crate::trust::Policy;
use crate::trust::policy::POLICY_PATH;

/// The path of the site configuration.
pub const CONFIG_PATH: &str = "glassroom.yaml";

/// The directory of the logbook.
pub const LOGBOOK_DIR: &str = "logbook";

/// Where the files of a kind live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// One file at `path`, whose id is `id`.
    File {
        path: &'static str,
        id: &'static str,
    },
    /// One file per entity in `dir`, named `<id><extension>` (not nested).
    Dir {
        dir: &'static str,
        extension: &'static str,
    },
    /// One Markdown file per entity in `dir/YYYY/MM/`, named `<id>.md`.
    Months { dir: &'static str },
}

impl Place {
    /// The path an entity with `id` would have (with `YYYY/MM` for a dated one): what a
    /// dangling reference tells to create.
    pub fn path_of(self, id: &str) -> String {
        match self {
            Place::File { path, .. } => path.to_owned(),
            Place::Dir { dir, extension } => format!("{dir}/{id}{extension}"),
            Place::Months { dir } => format!("{dir}/YYYY/MM/{id}.md"),
        }
    }

    /// The directory of the files (none for a kind of one file): the directory of
    /// their pages too.
    pub const fn dir(self) -> &'static str {
        match self {
            Place::File { .. } => "",
            Place::Dir { dir, .. } | Place::Months { dir } => dir,
        }
    }

    /// Whether the files are Markdown with front matter (else YAML).
    pub fn is_markdown(self) -> bool {
        match self {
            Place::File { path, .. } => path.ends_with(".md"),
            Place::Dir { extension, .. } => extension == ".md",
            Place::Months { .. } => true,
        }
    }
}

/// Reads a document of a kind whose model type is `T`: parsing a file, or decoding a
/// stored document. [`Parsed::read`] picks `T` from the kind.
pub(super) trait Reader {
    type Error;
    fn read<T: Model>(self, kind: Kind) -> Result<Document<T>, Self::Error>;
}

/// Two fingerprints of every kind of file: of its files (paths and bytes), and of its
/// ids alone (which entities exist), for what depends only on that (the list of pages).
/// Computed in `stamps.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    pub(super) files: [Stamp; Kind::COUNT],
    pub(super) ids: [Stamp; Kind::COUNT],
}

impl Default for Stamps {
    fn default() -> Self {
        Self {
            files: [[0; 32]; Kind::COUNT],
            ids: [[0; 32]; Kind::COUNT],
        }
    }
}

/// The ids of every content file by kind, whether or not it parsed.
pub(super) type DeclaredIds = BTreeMap<Kind, BTreeSet<String>>;

/// The model type's binary form in the parsed-document store: `postcard`, or `none` for
/// a kind the store does not keep.
macro_rules! binary {
    ($model:ty, postcard $(, $($extra:item)*)?) => {
        impl Model for $model {
            fn encode(&self) -> Option<Vec<u8>> {
                postcard::to_stdvec(self).ok()
            }
            fn decode(bytes: &[u8]) -> Option<Self> {
                postcard::from_bytes(bytes).ok()
            }
            $($($extra)*)?
        }
    };
    ($model:ty, none $(, $($extra:item)*)?) => {
        impl Model for $model {
            fn encode(&self) -> Option<Vec<u8>> {
                None
            }
            fn decode(_: &[u8]) -> Option<Self> {
                None
            }
            $($($extra)*)?
        }
    };
}

/// The page each entity of a kind has: its template and the section of the navigation
/// it belongs to. Declared here so that a kind's page is part of its entry; `render`
/// makes the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityPage {
    pub template: &'static str,
    pub section: &'static str,
}

/// What is made of the documents of one kind, whatever their model type: the way a
/// later stage reaches every kind of entity without a `match` over kinds of its own.
pub trait EntityVisitor<'a> {
    type Out;
    /// The documents of a kind with one file per entity: the `Vec` itself (not a
    /// slice), which a visitor can hand on as a trait object.
    #[allow(clippy::ptr_arg)]
    fn entities<T: serde::Serialize + Sync + 'a>(self, docs: &'a Vec<Document<T>>) -> Self::Out;
    /// A kind of one file (the configuration, the policy, the overrides).
    fn single_file(self) -> Self::Out;
}

/// One arm of [`Content::visit_entities`]: a `Vec` shelf holds entities, an `Option`
/// shelf one file.
macro_rules! visit_slot {
    (Vec, $docs:expr, $visitor:expr) => {
        $visitor.entities($docs)
    };
    (Option, $docs:expr, $visitor:expr) => {
        $visitor.single_file()
    };
}

macro_rules! kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident {
            name: $name:literal,
            noun: $noun:literal,
            field: $field:ident: $slot:ident<$model:ty>,
            place: $place:expr,
            summary: $summary:expr,
            governs: $governs:literal,
            stored: $stored:ident,
            page: $page:expr,
            $(model: { $($extra:item)* },)?
        }
    )*) => {
        /// The kinds of file a repository holds.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            pub const COUNT: usize = [$(Kind::$variant),*].len();

            /// Every kind, in declaration order.
            pub const ALL: [Kind; Kind::COUNT] = [$(Kind::$variant),*];

            /// The position of the kind in [`Kind::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }

            /// A name for labels and messages (plural, like the directory).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// One entity of the kind, in messages: "duplicate {noun} id", "unknown {noun}".
            pub const fn noun(self) -> &'static str {
                match self {
                    $(Kind::$variant => $noun,)*
                }
            }

            /// Where its files live.
            pub const fn place(self) -> Place {
                match self {
                    $(Kind::$variant => $place,)*
                }
            }

            /// Its label in the summary line (`checked 150 files: 8 hosts, ...`), if it
            /// has one there.
            pub const fn summary(self) -> Option<&'static str> {
                match self {
                    $(Kind::$variant => $summary,)*
                }
            }

            /// The page each of its entities has, if it has one (every kind with one
            /// file per entity).
            pub const fn page(self) -> Option<EntityPage> {
                match self {
                    $(Kind::$variant => $page,)*
                }
            }

            /// Whether every check reads it (the configuration and the policy): a change
            /// to it is never patched into the previous content, and it is never left
            /// out of the content.
            pub const fn governs(self) -> bool {
                match self {
                    $(Kind::$variant => $governs,)*
                }
            }
        }

        $(binary!($model, $stored $(, $($extra)*)?);)*

        /// Everything in a repository, each kind sorted by id.
        #[derive(Debug, Default)]
        pub struct Content {
            /// The text of every file read, for diagnostics and fingerprints.
            pub files: Files,
            $($(#[$doc])* pub $field: $slot<Document<$model>>,)*
            /// Fingerprints of every kind's files, for the memos of later stages.
            pub stamps: Stamps,
            /// Which numbering of files this content has: a load that numbers the files
            /// afresh takes a new generation, a load that patches the previous content
            /// keeps it (file ids of unchanged files stay what they were), so a memo that
            /// remembers file ids can tell whether they still mean the same files.
            pub generation: u64,
        }

        impl Content {
            /// The documents of `kind`.
            pub fn shelf(&self, kind: Kind) -> &dyn Shelf {
                match kind {
                    $(Kind::$variant => &self.$field,)*
                }
            }

            /// What `visitor` makes of the documents of `kind`: of the entities of a kind
            /// with one file per entity, typed; else of nothing.
            pub fn visit_entities<'a, V: EntityVisitor<'a>>(
                &'a self,
                kind: Kind,
                visitor: V,
            ) -> V::Out {
                match kind {
                    $(Kind::$variant => visit_slot!($slot, &self.$field, visitor),)*
                }
            }

            /// The documents of `kind`, to change.
            pub(super) fn shelf_mut(&mut self, kind: Kind) -> &mut dyn Shelf {
                match kind {
                    $(Kind::$variant => &mut self.$field,)*
                }
            }

            /// Adds a document while loading; [`Content::sort`] puts it in order.
            pub(super) fn push(&mut self, parsed: Parsed) {
                match parsed {
                    $(Parsed::$variant(doc) => Slot::push_loaded(&mut self.$field, doc),)*
                }
            }

            /// Puts a document in its place: instead of the one of the same path, or
            /// where it sorts.
            pub(super) fn put(&mut self, parsed: Parsed) {
                match parsed {
                    $(Parsed::$variant(doc) => Slot::put(&mut self.$field, doc),)*
                }
            }

            /// Every document, taken out of the content (whose files are left as they
            /// are).
            pub(super) fn drain_documents(&mut self, each: &mut dyn FnMut(Parsed)) {
                $(Slot::drain_into(std::mem::take(&mut self.$field), &mut |doc| {
                    each(Parsed::$variant(doc))
                });)*
            }
        }

        /// One parsed document of any kind, before it joins the rest.
        pub(super) enum Parsed {
            $($variant(Document<$model>),)*
        }

        impl Parsed {
            /// The document of `kind` that `reader` reads.
            pub(super) fn read<R: Reader>(kind: Kind, reader: R) -> Result<Self, R::Error> {
                Ok(match kind {
                    $(Kind::$variant => Parsed::$variant(reader.read::<$model>(kind)?),)*
                })
            }

            pub(super) fn head(&self) -> Head<'_> {
                match self {
                    $(Parsed::$variant(doc) => head(doc),)*
                }
            }

            /// The same document, as read from the file `file` (ids change when files
            /// come and go).
            pub(super) fn in_file(mut self, file: FileId) -> Self {
                match &mut self {
                    $(Parsed::$variant(doc) => doc.origin.file = file,)*
                }
                self
            }
        }
    };
}

kinds! {
    /// `glassroom.yaml`.
    Config {
        name: "config",
        noun: "configuration",
        field: config: Option<SiteConfig>,
        place: Place::File { path: CONFIG_PATH, id: "glassroom" },
        summary: None,
        governs: true,
        stored: postcard,
        page: None,
    }
    /// `.glassroom/policy.yaml` (its keys have no binary form: always parsed).
    Policy {
        name: "policy",
        noun: "policy",
        field: policy: Option<Policy>,
        place: Place::File { path: POLICY_PATH, id: "policy" },
        summary: None,
        governs: true,
        stored: none,
        page: None,
    }
    Host {
        name: "hosts",
        noun: "host",
        field: hosts: Vec<Host>,
        place: Place::Dir { dir: "hosts", extension: ".yaml" },
        summary: Some("hosts"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "host.html", section: "hosts" }),
    }
    Certificate {
        name: "certificates",
        noun: "certificate",
        field: certificates: Vec<Certificate>,
        place: Place::Dir { dir: "certificates", extension: ".yaml" },
        summary: Some("certificates"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "certificate.html", section: "certificates" }),
    }
    Domain {
        name: "domains",
        noun: "domain",
        field: domains: Vec<Domain>,
        place: Place::Dir { dir: "domains", extension: ".yaml" },
        summary: Some("domains"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "domain.html", section: "domains" }),
    }
    Module {
        name: "modules",
        noun: "module",
        field: modules: Vec<Module>,
        place: Place::Dir { dir: "modules", extension: ".yaml" },
        summary: Some("modules"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "module.html", section: "modules" }),
    }
    Release {
        name: "releases",
        noun: "release",
        field: releases: Vec<Release>,
        place: Place::Dir { dir: "releases", extension: ".yaml" },
        summary: Some("releases"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "release.html", section: "releases" }),
    }
    Procedure {
        name: "procedures",
        noun: "procedure",
        field: procedures: Vec<Procedure>,
        place: Place::Dir { dir: "procedures", extension: ".md" },
        summary: Some("procedures"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "procedure.html", section: "procedures" }),
    }
    LogEntry {
        name: "logbook",
        noun: "logbook entry",
        field: logbook: Vec<LogEntry>,
        place: Place::Months { dir: LOGBOOK_DIR },
        summary: Some("logbook entries"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "entry.html", section: "logbook" }),
    }
    Ticket {
        name: "tickets",
        noun: "ticket",
        field: tickets: Vec<Ticket>,
        place: Place::Dir { dir: "tickets", extension: ".md" },
        summary: Some("tickets"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "ticket.html", section: "tickets" }),
    }
    Site {
        name: "sites",
        noun: "site",
        field: sites: Vec<Site>,
        place: Place::Dir { dir: "sites", extension: ".yaml" },
        summary: Some("sites"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "site.html", section: "sites" }),
    }
    Service {
        name: "services",
        noun: "service",
        field: services: Vec<Service>,
        place: Place::Dir { dir: "services", extension: ".yaml" },
        summary: Some("services"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "service.html", section: "sites" }),
    }
    Feature {
        name: "features",
        noun: "feature",
        field: features: Vec<Feature>,
        place: Place::Dir { dir: "flags/features", extension: ".yaml" },
        summary: Some("flag features"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "feature.html", section: "flags" }),
    }
    AccountSet {
        name: "account_sets",
        noun: "account set",
        field: account_sets: Vec<AccountSet>,
        place: Place::Dir { dir: "flags/account_sets", extension: ".yaml" },
        summary: Some("account sets"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "account_set.html", section: "flags" }),
    }
    /// `flags/overrides.yaml`: counted by its (account, feature) values.
    Overrides {
        name: "overrides",
        noun: "overrides",
        field: overrides: Option<Overrides>,
        place: Place::File { path: "flags/overrides.yaml", id: "overrides" },
        summary: Some("overrides"),
        governs: false,
        stored: postcard,
        page: None,
        model: {
            fn entries(&self) -> usize {
                self.values().map(BTreeMap::len).sum()
            }
        },
    }
    News {
        name: "news",
        noun: "news item",
        field: news: Vec<News>,
        place: Place::Dir { dir: "news", extension: ".md" },
        summary: Some("news items"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "news_item.html", section: "news" }),
    }
    /// `people/<id>.yaml`.
    Person {
        name: "people",
        noun: "person",
        field: people: Vec<Person>,
        place: Place::Dir { dir: "people", extension: ".yaml" },
        summary: Some("people"),
        governs: false,
        stored: postcard,
        page: Some(EntityPage { template: "person.html", section: "people" }),
    }
    /// `info.md`: the info page (`info.html`), a page of its own rather than an entity's.
    Info {
        name: "info",
        noun: "info page",
        field: info: Option<Info>,
        place: Place::File { path: "info.md", id: "info" },
        summary: None,
        governs: false,
        stored: postcard,
        page: None,
    }
}

impl From<ChannelKind> for Kind {
    fn from(kind: ChannelKind) -> Kind {
        match kind {
            ChannelKind::Host => Kind::Host,
            ChannelKind::Certificate => Kind::Certificate,
            ChannelKind::Domain => Kind::Domain,
            ChannelKind::Module => Kind::Module,
            ChannelKind::Release => Kind::Release,
            ChannelKind::Ticket => Kind::Ticket,
            ChannelKind::Site => Kind::Site,
            ChannelKind::Service => Kind::Service,
            ChannelKind::Procedure => Kind::Procedure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::classify;
    use crate::content::classify::Classified;

    #[test]
    fn every_kind_s_files_classify_as_that_kind() {
        for kind in Kind::ALL {
            let (path, id) = match kind.place() {
                Place::File { path, id } => (path.to_owned(), id),
                Place::Dir { .. } => (kind.place().path_of("x-1"), "x-1"),
                Place::Months { dir } => (format!("{dir}/2026/11/x-1.md"), "x-1"),
            };
            assert_eq!(
                classify(&path),
                Classified::Content(kind, id.to_owned()),
                "{path}"
            );
        }
    }

    #[test]
    fn every_kind_with_one_file_per_entity_and_only_those_have_a_page_each() {
        struct IsEntities;
        impl EntityVisitor<'_> for IsEntities {
            type Out = bool;
            fn entities<T>(self, _: &Vec<Document<T>>) -> bool {
                true
            }
            fn single_file(self) -> bool {
                false
            }
        }
        let content = Content::default();
        for kind in Kind::ALL {
            let per_entity = !matches!(kind.place(), Place::File { .. });
            assert_eq!(kind.page().is_some(), per_entity, "{kind:?}");
            assert_eq!(
                content.visit_entities(kind, IsEntities),
                per_entity,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn channel_kinds_are_the_kinds_entries_are_about_with_their_nouns_and_dirs() {
        let kinds = ChannelKind::ALL.map(Kind::from);
        assert_eq!(kinds, crate::content::logbook::ABOUT_KINDS);
        for channel in ChannelKind::ALL {
            let kind = Kind::from(channel);
            assert_eq!(channel.noun(), kind.noun());
            assert_eq!(channel.dir(), kind.place().dir());
        }
    }

    #[test]
    fn names_and_places_are_unique() {
        for (i, a) in Kind::ALL.iter().enumerate() {
            assert_eq!(a.index(), i);
            for b in &Kind::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
                assert_ne!(a.noun(), b.noun());
                assert_ne!(a.place(), b.place());
            }
        }
    }
}
