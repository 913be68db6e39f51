//! The outputs other than pages: each feed, the calendar, the static files and each API
//! file, each made again only when the stamp of its inputs changes.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{API_FILES, Failure, File, Input, Sink, data, feeds, keys, sink_error, theme};
use crate::memo::{Stamp, Stamper};

/// The outputs other than pages: each feed, the calendar, the static files and each API
/// file, made again only when the stamp of their inputs changes.
pub(super) const OUTPUTS: usize = feeds::FEEDS.len() + 2 + API_FILES.len();

/// One output other than a page: the stamp of its inputs, its key and path when it is one
/// keyed file (an API file, which a sink may reuse), and how it is made.
struct Out<'m> {
    stamp: Stamp,
    keyed: Option<(keys::Key, String)>,
    make: MakeFiles<'m>,
}

/// How an output's files are made.
type MakeFiles<'m> = Box<dyn Fn() -> Result<Vec<(String, File)>, Failure> + Sync + 'm>;

/// The feeds, the calendar, the static files and the API: each made when the stamp of
/// its inputs changed (or whenever the sink needs every file). Returns the paths of the
/// previous output that are gone.
pub(super) fn render_outputs(
    input: &Input<'_>,
    theme: &theme::Theme,
    theme_stamp: Stamp,
    global: Option<&blake3::Hash>,
    refused_statics: &BTreeMap<String, String>,
    sink: &dyn Sink,
) -> Result<Vec<String>, Failure> {
    let incremental = input.memos.keeping && !input.complete;
    let now = input.now.to_string();
    let global_hash = global
        .copied()
        .unwrap_or_else(|| blake3::hash(&theme_stamp));
    let mut outputs: Vec<Out<'_>> = Vec::new();
    for name in feeds::FEEDS {
        let (kinds, alerts) = feeds::feed_reads(name);
        let mut stamp = Stamper::new("feed");
        stamp.text(name).stamp(&theme_stamp).text(&now);
        input.content.stamps.add(&mut stamp, kinds);
        if alerts {
            // An alert's date comes from its subject's file, its procedure's state or
            // the history's pending changes (see `derive::alerts::started`).
            stamp
                .stamp(&input.derived.stamps.alerts)
                .stamp(&input.derived.stamps.procedures)
                .stamp(&input.trust_stamp);
        }
        outputs.push(Out {
            stamp: stamp.finish(),
            keyed: None,
            make: Box::new(move || {
                let feed = feeds::atom_feed(input, name);
                let xml = feeds::render_feed(theme, &feed)?;
                Ok(vec![(feed.path, File::Whole(xml))])
            }),
        });
    }
    let mut calendar = Stamper::new("calendar");
    calendar.stamp(&input.derived.stamps.upcoming).text(&now);
    input
        .content
        .stamps
        .add(&mut calendar, &[crate::content::Kind::Config]);
    outputs.push(Out {
        stamp: calendar.finish(),
        keyed: None,
        make: Box::new(|| {
            Ok(vec![(
                "calendar.ics".to_owned(),
                File::Whole(feeds::calendar(input).into_bytes()),
            )])
        }),
    });
    let mut statics = Stamper::new("static files");
    statics.stamp(&theme_stamp);
    for path in refused_statics.keys() {
        statics.text(path);
    }
    outputs.push(Out {
        stamp: statics.finish(),
        keyed: None,
        make: Box::new(|| {
            Ok(theme
                .static_files
                .iter()
                .filter(|(path, _)| !refused_statics.contains_key(*path))
                .map(|(path, bytes)| (path.clone(), File::Whole(bytes.clone())))
                .collect())
        }),
    });
    for file in API_FILES {
        let key = keys::api_key(input, &global_hash, file);
        if file == super::ApiFile::Plans {
            // A file per site: made again whenever one of them changes.
            outputs.push(Out {
                stamp: key,
                keyed: None,
                make: Box::new(move || Ok(data::plans_files(input))),
            });
            continue;
        }
        outputs.push(Out {
            stamp: key,
            keyed: Some((key, file.path())),
            make: Box::new(move || {
                Ok(vec![(
                    file.path(),
                    data::api_file(input, &input.memos.values, file),
                )])
            }),
        });
    }
    let removed: Vec<Vec<String>> = outputs
        .par_iter()
        .zip(input.memos.outputs.par_iter())
        .map(|(out, memo)| {
            let previous = memo.peek();
            if incremental
                && previous
                    .as_ref()
                    .is_some_and(|(seen, _)| *seen == out.stamp)
            {
                return Ok(Vec::new());
            }
            if !incremental
                && let Some((key, path)) = &out.keyed
                && sink.reuse(path, key)
            {
                memo.set(out.stamp, vec![path.clone()]);
                return Ok(Vec::new());
            }
            let files = (out.make)()?;
            let paths: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
            for (path, file) in files {
                let key = out.keyed.as_ref().map(|(key, _)| key);
                file.put(sink, &path, key)
                    .map_err(|err| Failure::Output(Box::new(sink_error(&path, err))))?;
            }
            let gone = match previous {
                Some((_, before)) if incremental => before
                    .iter()
                    .filter(|path| !paths.contains(path))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            memo.set(out.stamp, paths);
            Ok(gone)
        })
        .collect::<Result<_, Failure>>()?;
    Ok(removed.into_iter().flatten().collect())
}
