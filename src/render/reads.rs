//! What a page reads, declared once for each page ([`super::pages::Page::spec`]), and the
//! stamps made from that declaration: a group of pages is keyed again only when the
//! stamp of what it reads changed.
//!
//! Reading a join rather than the files it comes from means that, say, the host list is
//! not made again when a ticket's title changes, only when the tickets open on a host
//! do.

use super::Input;
use crate::content::Kind;
use crate::memo::{Stamp, Stamper};

/// Which alerts a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alerts {
    All,
    /// The alerts about subjects of one kind (`"certificate"`).
    Of(&'static str),
}

/// What a page reads (see the default theme's templates).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    /// "Now" (list pages show how far things are).
    pub now: bool,
    /// Kinds of file whose fields it shows.
    pub files: &'static [Kind],
    /// Kinds whose ids alone it counts.
    pub ids: &'static [Kind],
    /// Joins of the relations, by field name: which other documents it shows.
    pub relations: &'static [&'static str],
    /// Kinds whose files (not only ids) decide which documents a detail page reads.
    pub structure: &'static [Kind],
    pub alerts: Option<Alerts>,
    /// Procedures' states.
    pub statuses: bool,
    pub threads: bool,
    pub upcoming: bool,
    /// The ticket report.
    pub report: bool,
    pub ticket_groups: bool,
    /// The verified history (the audit trail and what is pending).
    pub trust: bool,
}

impl Reads {
    /// Reads the files of `files` and the joins `relations`.
    pub const fn files(files: &'static [Kind], relations: &'static [&'static str]) -> Self {
        Reads {
            now: false,
            files,
            ids: &[],
            relations,
            structure: &[],
            alerts: None,
            statuses: false,
            threads: false,
            upcoming: false,
            report: false,
            ticket_groups: false,
            trust: false,
        }
    }

    /// The stamp of everything a group of pages that reads this shows, besides what
    /// every page shows (`global`): a group whose stamp did not change has the same
    /// pages with the same keys.
    pub fn stamp(&self, input: &Input<'_>, global: &blake3::Hash, label: &str) -> Stamp {
        let mut stamp = Stamper::new(label);
        stamp.hash(global);
        if self.now {
            stamp.text(&input.now.to_string());
        }
        let content = &input.content.stamps;
        content.add(&mut stamp, self.files);
        for kind in self.ids {
            stamp.stamp(content.ids(*kind));
        }
        self.derived(input, &mut stamp);
        if self.trust {
            stamp.stamp(&input.trust_stamp);
        }
        stamp.finish()
    }

    /// The stamp of what decides which files the keys of detail pages that read this
    /// read, and of everything else they read but files: while it is unchanged, a page's
    /// key changes only if one of the files it read did. Files are known by id, so the
    /// stamp holds the content's generation.
    pub fn structure(&self, input: &Input<'_>, global: &blake3::Hash) -> Stamp {
        let content = input.content;
        let mut stamp = Stamper::new("structure");
        stamp.hash(global).text(&content.generation.to_string());
        // Pages that show "now" have keys made again whenever it changes.
        if self.now {
            stamp.text(&input.now.to_string());
        }
        for kind in self.files.iter().chain(self.ids) {
            stamp.stamp(content.stamps.ids(*kind));
        }
        content.stamps.add(&mut stamp, self.structure);
        self.derived(input, &mut stamp);
        stamp.finish()
    }

    /// The stamps of the derived parts it reads.
    fn derived(&self, input: &Input<'_>, stamp: &mut Stamper) {
        let derived = &input.derived.stamps;
        for name in self.relations {
            stamp.text(name).stamp(&derived.relation(name));
        }
        match self.alerts {
            Some(Alerts::All) => stamp.text("alerts").stamp(&derived.alerts),
            Some(Alerts::Of(kind)) => stamp.text(kind).stamp(&derived.alerts_of(kind)),
            None => stamp.text("no alerts"),
        };
        for (read, part) in [
            (self.statuses, &derived.procedures),
            (self.threads, &derived.threads),
            (self.upcoming, &derived.upcoming),
            (self.report, &derived.ticket_report),
            (self.ticket_groups, &derived.ticket_groups),
        ] {
            stamp.bytes(&[u8::from(read)]);
            if read {
                stamp.stamp(part);
            }
        }
    }
}
