//! Every join between entities, computed once in linear passes so that rendering a page
//! never searches another kind's list (which would make the site quadratic to build).
//!
//! Every map has a key for each entity of the owning kind, with an empty list when
//! nothing refers to it, so templates can index any id without checking first.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::fields::{each, moment, name, reference, references};
use super::threads::chronological;
use crate::content::types::Date;
use crate::content::{Content, Document, Kind, LogEntry, Release};
use crate::memo::{Fields, Memo, Stamp};

/// Id → ids of related entities.
pub type Index = BTreeMap<String, Vec<String>>;

/// The joins the pages need, each list in the order it is shown. Each join is shared
/// with the memo that made it, and made again only when a kind it reads changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Relations {
    /// Host → services on it: the union of `service.hosts` and `host.services`, by id.
    pub services_by_host: Arc<Index>,
    /// Host → certificates installed on it, by id.
    pub certificates_by_host: Arc<Index>,
    /// Host → tickets that affect it, by id.
    pub tickets_by_host: Arc<Index>,
    /// Module → its releases, by date (actual, else planned; undated last) then id.
    pub releases_by_module: Arc<Index>,
    /// Module → its tickets, by id.
    pub tickets_by_module: Arc<Index>,
    /// Release → tickets fixed in it, by id.
    pub tickets_by_release: Arc<Index>,
    /// Site → its services, in start order (startup_rank, then id).
    pub services_by_site: Arc<Index>,
    /// Procedure → logbook entries recording it, newest first.
    pub entries_by_procedure: Arc<Index>,
    /// Procedure → certificates renewed by it, by id.
    pub certificates_by_procedure: Arc<Index>,
    /// Logbook entry → its direct replies, oldest first.
    pub replies: Arc<Index>,
    /// Host → its open (or in progress) tickets, by id: what the host pages and list
    /// show and count.
    pub open_tickets_by_host: Arc<Index>,
    /// Module → its open (or in progress) tickets, by id.
    pub open_tickets_by_module: Arc<Index>,
    /// Person → the open tickets assigned to them, by id.
    pub open_tickets_by_assignee: Arc<Index>,
    /// Person → the open tickets they reported, by id.
    pub open_tickets_by_reporter: Arc<Index>,
    /// Person → their latest logbook entries ([`RECENT_ENTRIES`] at most), newest first.
    pub entries_by_person: Arc<Index>,
}

/// How many of a person's logbook entries their page lists.
pub const RECENT_ENTRIES: usize = 20;

/// One join: its field name, the kinds whose ids it reads, the fields of documents it
/// reads, and how it is made.
pub struct Join {
    pub name: &'static str,
    pub reads: &'static [Kind],
    fields: fn(&Content, &mut Fields),
    make: fn(&Content) -> Index,
}

/// Every join of [`Relations`], in field order.
pub const JOINS: [Join; 15] = [
    Join {
        name: "services_by_host",
        reads: &[Kind::Host, Kind::Service],
        fields: |content, f| {
            each(f, &content.hosts, |f, h| references(f, &h.services));
            each(f, &content.services, |f, s| references(f, &s.hosts));
        },
        make: services_by_host,
    },
    Join {
        name: "certificates_by_host",
        reads: &[Kind::Host, Kind::Certificate],
        fields: |content, f| each(f, &content.certificates, |f, c| references(f, &c.hosts)),
        make: |content| {
            join(
                &content.hosts,
                content.certificates.iter().flat_map(|c| {
                    c.data
                        .hosts
                        .iter()
                        .map(move |h| (h.as_str(), c.id.as_str()))
                }),
            )
        },
    },
    Join {
        name: "tickets_by_host",
        reads: &[Kind::Host, Kind::Ticket],
        fields: |content, f| each(f, &content.tickets, |f, t| references(f, &t.hosts)),
        make: |content| {
            join(
                &content.hosts,
                content.tickets.iter().flat_map(|t| {
                    t.data
                        .hosts
                        .iter()
                        .map(move |h| (h.as_str(), t.id.as_str()))
                }),
            )
        },
    },
    Join {
        name: "releases_by_module",
        reads: &[Kind::Module, Kind::Release],
        fields: |content, f| {
            each(f, &content.releases, |f, r| {
                f.text(&r.module.value);
                for date in [&r.actual, &r.planned] {
                    f.maybe(date.as_ref().map(|d| d.value.to_string()).as_deref());
                }
            })
        },
        make: releases_by_module,
    },
    Join {
        name: "tickets_by_module",
        reads: &[Kind::Module, Kind::Ticket],
        fields: |content, f| each(f, &content.tickets, |f, t| reference(f, t.module.as_ref())),
        make: |content| {
            join(
                &content.modules,
                content.tickets.iter().filter_map(|t| {
                    let module = t.data.module.as_ref()?;
                    Some((module.as_str(), t.id.as_str()))
                }),
            )
        },
    },
    Join {
        name: "tickets_by_release",
        reads: &[Kind::Release, Kind::Ticket],
        fields: |content, f| {
            each(f, &content.tickets, |f, t| {
                reference(f, t.fixed_in.as_ref())
            })
        },
        make: |content| {
            join(
                &content.releases,
                content.tickets.iter().filter_map(|t| {
                    let release = t.data.fixed_in.as_ref()?;
                    Some((release.as_str(), t.id.as_str()))
                }),
            )
        },
    },
    Join {
        name: "services_by_site",
        reads: &[Kind::Site, Kind::Service],
        fields: |content, f| {
            each(f, &content.services, |f, s| {
                f.text(&s.site.value).number(s.startup_rank);
            })
        },
        make: services_by_site,
    },
    Join {
        name: "entries_by_procedure",
        reads: &[Kind::Procedure, Kind::LogEntry],
        fields: |content, f| {
            each(f, &content.logbook, |f, e| {
                reference(f, e.procedure.as_ref());
                moment(f, &e.at.value);
            })
        },
        make: entries_by_procedure,
    },
    Join {
        name: "certificates_by_procedure",
        reads: &[Kind::Procedure, Kind::Certificate],
        fields: |content, f| {
            each(f, &content.certificates, |f, c| {
                reference(f, c.renewal_procedure.as_ref())
            })
        },
        make: |content| {
            join(
                &content.procedures,
                content.certificates.iter().filter_map(|c| {
                    let procedure = c.data.renewal_procedure.as_ref()?;
                    Some((procedure.as_str(), c.id.as_str()))
                }),
            )
        },
    },
    Join {
        name: "replies",
        reads: &[Kind::LogEntry],
        fields: |content, f| {
            each(f, &content.logbook, |f, e| {
                reference(f, e.reply_to.as_ref());
                moment(f, &e.at.value);
            })
        },
        make: replies,
    },
    Join {
        name: "open_tickets_by_host",
        reads: &[Kind::Host, Kind::Ticket],
        fields: |content, f| {
            each(f, &content.tickets, |f, t| {
                name(f, t.status.value);
                references(f, &t.hosts);
            })
        },
        make: |content| {
            join(
                &content.hosts,
                content
                    .tickets
                    .iter()
                    .filter(|t| t.data.status.value.is_open())
                    .flat_map(|t| {
                        t.data
                            .hosts
                            .iter()
                            .map(move |h| (h.as_str(), t.id.as_str()))
                    }),
            )
        },
    },
    Join {
        name: "open_tickets_by_module",
        reads: &[Kind::Module, Kind::Ticket],
        fields: |content, f| {
            each(f, &content.tickets, |f, t| {
                name(f, t.status.value);
                reference(f, t.module.as_ref());
            })
        },
        make: |content| {
            join(
                &content.modules,
                content
                    .tickets
                    .iter()
                    .filter(|t| t.data.status.value.is_open())
                    .filter_map(|t| {
                        let module = t.data.module.as_ref()?;
                        Some((module.as_str(), t.id.as_str()))
                    }),
            )
        },
    },
    Join {
        name: "open_tickets_by_assignee",
        reads: &[Kind::Person, Kind::Ticket],
        fields: |content, f| {
            each(f, &content.tickets, |f, t| {
                name(f, t.status.value);
                f.maybe(t.assignee.as_deref());
            })
        },
        make: |content| {
            people_join(
                content,
                content
                    .tickets
                    .iter()
                    .filter(|t| t.data.status.value.is_open())
                    .filter_map(|t| Some((t.data.assignee.as_deref()?, t.id.as_str()))),
            )
        },
    },
    Join {
        name: "open_tickets_by_reporter",
        reads: &[Kind::Person, Kind::Ticket],
        fields: |content, f| {
            each(f, &content.tickets, |f, t| {
                name(f, t.status.value);
                f.text(&t.reporter);
            })
        },
        make: |content| {
            people_join(
                content,
                content
                    .tickets
                    .iter()
                    .filter(|t| t.data.status.value.is_open())
                    .map(|t| (t.data.reporter.as_str(), t.id.as_str())),
            )
        },
    },
    Join {
        name: "entries_by_person",
        reads: &[Kind::Person, Kind::LogEntry],
        fields: |content, f| {
            each(f, &content.logbook, |f, e| {
                f.text(&e.by);
                moment(f, &e.at.value);
            })
        },
        make: entries_by_person,
    },
];

/// Computes every join.
pub fn relations(content: &Content) -> Relations {
    let memos: [Memo<(Arc<Index>, Stamp)>; JOINS.len()] = Default::default();
    relations_with(content, &memos).0
}

/// Computes every join whose kinds changed since `memos` last saw them, in parallel, with
/// the fingerprint of each join's value by name.
pub fn relations_with(
    content: &Content,
    memos: &[Memo<(Arc<Index>, Stamp)>; JOINS.len()],
) -> (Relations, BTreeMap<&'static str, Stamp>) {
    use rayon::prelude::*;
    let made: Vec<Arc<(Arc<Index>, Stamp)>> = JOINS
        .par_iter()
        .zip(memos.par_iter())
        .map(|(join, memo)| {
            let mut fields = Fields::new(join.name);
            for kind in join.reads {
                fields.stamp(content.stamps.ids(*kind));
            }
            (join.fields)(content, &mut fields);
            memo.get(fields.finish(), |_| {
                let index = (join.make)(content);
                let stamp = super::value_stamp(&index);
                (Arc::new(index), stamp)
            })
            .value
        })
        .collect();
    let stamps = JOINS
        .iter()
        .zip(&made)
        .map(|(join, made)| (join.name, made.1))
        .collect();
    let take = |i: usize| made.get(i).map(|m| Arc::clone(&m.0)).unwrap_or_default();
    let relations = Relations {
        services_by_host: take(0),
        certificates_by_host: take(1),
        tickets_by_host: take(2),
        releases_by_module: take(3),
        tickets_by_module: take(4),
        tickets_by_release: take(5),
        services_by_site: take(6),
        entries_by_procedure: take(7),
        certificates_by_procedure: take(8),
        replies: take(9),
        open_tickets_by_host: take(10),
        open_tickets_by_module: take(11),
        open_tickets_by_assignee: take(12),
        open_tickets_by_reporter: take(13),
        entries_by_person: take(14),
    };
    (relations, stamps)
}

/// An index with a key for every owner and the given (owner, member) pairs, each list
/// sorted by id and without duplicates.
fn join<'a, T>(owners: &[Document<T>], pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Index {
    let mut index = keys(owners);
    for (owner, member) in pairs {
        index
            .entry(owner.to_owned())
            .or_default()
            .push(member.to_owned());
    }
    for members in index.values_mut() {
        members.sort();
        members.dedup();
    }
    index
}

fn keys<T>(owners: &[Document<T>]) -> Index {
    owners.iter().map(|d| (d.id.clone(), Vec::new())).collect()
}

/// Both directions are written in the content (and validation checks they agree); the
/// union shows a service even where only one side names it.
fn services_by_host(content: &Content) -> Index {
    let from_services = content.services.iter().flat_map(|s| {
        s.data
            .hosts
            .iter()
            .map(move |h| (h.as_str(), s.id.as_str()))
    });
    let from_hosts = content.hosts.iter().flat_map(|h| {
        h.data
            .services
            .iter()
            .map(move |s| (h.id.as_str(), s.as_str()))
    });
    join(&content.hosts, from_services.chain(from_hosts))
}

fn releases_by_module(content: &Content) -> Index {
    let mut index = keys(&content.modules);
    let mut releases: Vec<&Document<Release>> = content.releases.iter().collect();
    releases.sort_by_key(|r| (release_date(r).is_none(), release_date(r), r.id.as_str()));
    for release in releases {
        index
            .entry(release.data.module.value.clone())
            .or_default()
            .push(release.id.clone());
    }
    index
}

/// When a release shipped, or else when it is planned to.
fn release_date(release: &Document<Release>) -> Option<Date> {
    let data = &release.data;
    data.actual
        .as_ref()
        .or(data.planned.as_ref())
        .map(|d| d.value)
}

fn services_by_site(content: &Content) -> Index {
    let mut index = keys(&content.sites);
    let mut services: Vec<_> = content.services.iter().collect();
    services.sort_by_key(|s| (s.data.startup_rank, s.id.as_str()));
    for service in services {
        index
            .entry(service.data.site.value.clone())
            .or_default()
            .push(service.id.clone());
    }
    index
}

/// The logbook, newest first. Each join that lists entries sorts on its own: joins run in
/// parallel and are remembered apart, so one whose kinds did not change is not redone.
fn entries_newest_first(content: &Content) -> Vec<&Document<LogEntry>> {
    let mut entries: Vec<&Document<LogEntry>> = content.logbook.iter().collect();
    entries.sort_by(|a, b| chronological(b, a));
    entries
}

fn entries_by_procedure(content: &Content) -> Index {
    let mut index = keys(&content.procedures);
    for entry in entries_newest_first(content) {
        if let Some(procedure) = &entry.data.procedure {
            index
                .entry(procedure.value.clone())
                .or_default()
                .push(entry.id.clone());
        }
    }
    index
}

/// An index with a key for every person and the given (person, member) pairs whose
/// person has a file (a name without one is reported by validation, not listed).
fn people_join<'a>(content: &Content, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Index {
    let people: std::collections::BTreeSet<&str> =
        content.people.iter().map(|p| p.id.as_str()).collect();
    let mut index = join(&content.people, pairs);
    index.retain(|person, _| people.contains(person.as_str()));
    index
}

fn entries_by_person(content: &Content) -> Index {
    let mut index = keys(&content.people);
    for entry in entries_newest_first(content) {
        if let Some(listed) = index.get_mut(entry.data.by.as_str())
            && listed.len() < RECENT_ENTRIES
        {
            listed.push(entry.id.clone());
        }
    }
    index
}

fn replies(content: &Content) -> Index {
    let mut index = keys(&content.logbook);
    let mut entries: Vec<&Document<LogEntry>> = content.logbook.iter().collect();
    entries.sort_by(|a, b| chronological(a, b));
    for entry in entries {
        if let Some(parent) = &entry.data.reply_to {
            index
                .entry(parent.value.clone())
                .or_default()
                .push(entry.id.clone());
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn sample() -> Content {
        content(&[
            ("hosts/web1.yaml", "services: [nginx]\n"),
            ("hosts/web2.yaml", "services: []\n"),
            ("hosts/db1.yaml", "services: [postgres]\n"),
            ("hosts/spare.yaml", "{}\n"),
            ("sites/shop.yaml", "title: Shop\nupdate: all-at-once\n"),
            ("sites/empty.yaml", "title: Empty\nupdate: all-at-once\n"),
            (
                "services/nginx.yaml",
                "site: shop\nhosts: [web1, web2]\nstartup_rank: 20\n",
            ),
            (
                "services/app.yaml",
                "site: shop\nhosts: [web1]\nstartup_rank: 20\n",
            ),
            (
                "services/postgres.yaml",
                "site: shop\nhosts: [db1]\nstartup_rank: 10\n",
            ),
            (
                "certificates/www.yaml",
                "common_name: www\nnot_after: 2027-01-01\nhosts: [web2, web1]\nrenewal_procedure: renew\n",
            ),
            (
                "certificates/api.yaml",
                "common_name: api\nnot_after: 2027-01-01\nhosts: [web1]\nrenewal_procedure: renew\n",
            ),
            ("procedures/renew.md", "---\ntitle: Renew\n---\n"),
            ("procedures/idle.md", "---\ntitle: Idle\n---\n"),
            ("modules/shop.yaml", "kind: custom\n"),
            ("modules/lib.yaml", "kind: packaged\n"),
            (
                "releases/shop-1.yaml",
                "module: shop\nversion: \"1\"\nstatus: released\nplanned: 2026-01-01\nactual: 2026-03-01\n",
            ),
            (
                "releases/shop-2.yaml",
                "module: shop\nversion: \"2\"\nstatus: planned\nplanned: 2026-02-01\n",
            ),
            (
                "releases/shop-0.yaml",
                "module: shop\nversion: \"0\"\nstatus: planned\n",
            ),
            (
                "tickets/t2.md",
                "---\ntitle: T2\nkind: bug\nmodule: shop\npriority: low\nstatus: closed\nreporter: bob\nopened: 2026-01-01T00:00:00Z\nclosed: 2026-02-01T00:00:00Z\nfixed_in: shop-2\nhosts: [web1, db1]\n---\n",
            ),
            (
                "tickets/t1.md",
                "---\ntitle: T1\nkind: bug\nmodule: shop\npriority: low\nstatus: open\nreporter: bob\nopened: 2026-01-01T00:00:00Z\nhosts: [web1]\n---\n",
            ),
            (
                "logbook/2026/11/r1.md",
                "---\nat: 2026-11-01T00:00:00Z\nby: bob\nprocedure: renew\n---\n",
            ),
            (
                "logbook/2026/11/r2.md",
                "---\nat: 2026-11-10T00:00:00Z\nby: bob\nprocedure: renew\n---\n",
            ),
            (
                "logbook/2026/11/z-reply.md",
                "---\nat: 2026-11-02T00:00:00Z\nby: bob\ndisposition: info\nreply_to: r1\n---\n",
            ),
            (
                "logbook/2026/11/a-reply.md",
                "---\nat: 2026-11-03T00:00:00Z\nby: bob\ndisposition: end\nreply_to: r1\n---\n",
            ),
        ])
    }

    #[test]
    fn services_by_host_is_the_union_of_both_directions() {
        let relations = relations(&sample());
        assert_eq!(relations.services_by_host["web1"], ids(&["app", "nginx"]));
        assert_eq!(relations.services_by_host["web2"], ids(&["nginx"]));
        assert_eq!(relations.services_by_host["db1"], ids(&["postgres"]));
        assert_eq!(relations.services_by_host["spare"], ids(&[]));
    }

    #[test]
    fn host_joins() {
        let relations = relations(&sample());
        assert_eq!(relations.certificates_by_host["web1"], ids(&["api", "www"]));
        assert_eq!(relations.certificates_by_host["web2"], ids(&["www"]));
        assert_eq!(relations.certificates_by_host["db1"], ids(&[]));
        assert_eq!(relations.tickets_by_host["web1"], ids(&["t1", "t2"]));
        assert_eq!(relations.tickets_by_host["db1"], ids(&["t2"]));
        assert_eq!(relations.open_tickets_by_host["web1"], ids(&["t1"]));
        assert_eq!(relations.open_tickets_by_host["db1"], ids(&[]));
    }

    #[test]
    fn module_and_release_joins() {
        let relations = relations(&sample());
        assert_eq!(
            relations.releases_by_module["shop"],
            ids(&["shop-2", "shop-1", "shop-0"])
        );
        assert_eq!(relations.releases_by_module["lib"], ids(&[]));
        assert_eq!(relations.tickets_by_module["shop"], ids(&["t1", "t2"]));
        assert_eq!(relations.open_tickets_by_module["shop"], ids(&["t1"]));
        assert_eq!(relations.open_tickets_by_module["lib"], ids(&[]));
        assert_eq!(relations.tickets_by_release["shop-2"], ids(&["t2"]));
        assert_eq!(relations.tickets_by_release["shop-1"], ids(&[]));
    }

    #[test]
    fn services_by_site_are_in_start_order() {
        let relations = relations(&sample());
        assert_eq!(
            relations.services_by_site["shop"],
            ids(&["postgres", "app", "nginx"])
        );
        assert_eq!(relations.services_by_site["empty"], ids(&[]));
    }

    #[test]
    fn procedure_and_logbook_joins() {
        let relations = relations(&sample());
        assert_eq!(relations.entries_by_procedure["renew"], ids(&["r2", "r1"]));
        assert_eq!(relations.entries_by_procedure["idle"], ids(&[]));
        assert_eq!(
            relations.certificates_by_procedure["renew"],
            ids(&["api", "www"])
        );
        assert_eq!(relations.replies["r1"], ids(&["z-reply", "a-reply"]));
        assert_eq!(relations.replies["r2"], ids(&[]));
        assert_eq!(relations.replies.len(), 4);
    }
}
