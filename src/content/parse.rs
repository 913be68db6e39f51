//! Parsing one content file into its kind's document: YAML, or Markdown with YAML front
//! matter, with every error pointed at where it is in the file.

use super::Document;
use super::kind::{Kind, Parsed, Reader};
use super::shelf::Model;
use crate::diag::{Diagnostic, FileId, Location, Origin};
use crate::yaml;

/// One file to parse.
pub(super) struct Job<'a> {
    pub file: FileId,
    pub kind: Kind,
    pub id: String,
    pub path: &'a str,
    /// The text, if it can be parsed (it decoded as UTF-8).
    pub text: Option<&'a str>,
}

/// Parses `text`, the file of `job`, into its kind's document.
pub(super) fn parse_job(job: &Job<'_>, text: &str) -> Result<Parsed, Box<Diagnostic>> {
    Parsed::read(job.kind, Parse { job, text })
}

/// A [`Reader`] that parses a file.
struct Parse<'j, 'a> {
    job: &'j Job<'a>,
    text: &'j str,
}

impl Reader for Parse<'_, '_> {
    type Error = Box<Diagnostic>;

    fn read<T: Model>(self, kind: Kind) -> Result<Document<T>, Self::Error> {
        if kind.place().is_markdown() {
            parse_markdown(self.job, self.text)
        } else {
            parse_yaml(self.job, self.text)
        }
    }
}

fn parse_yaml<T: Model>(job: &Job<'_>, text: &str) -> Result<Document<T>, Box<Diagnostic>> {
    let origin = Origin {
        file: job.file,
        offset: 0,
    };
    let data = parse_with_origin(text, origin)?;
    Ok(Document {
        id: job.id.clone(),
        path: job.path.to_owned(),
        origin,
        body: String::new(),
        data,
    })
}

fn parse_markdown<T: Model>(job: &Job<'_>, text: &str) -> Result<Document<T>, Box<Diagnostic>> {
    let front = yaml::split_front_matter(text).map_err(|err| {
        Box::new(
            Diagnostic::error("front-matter", err.message)
                .at(Location::new(job.file, err.span))
                .with_help(err.help),
        )
    })?;
    let origin = Origin {
        file: job.file,
        offset: front.yaml_offset,
    };
    let data = parse_with_origin(front.yaml, origin)?;
    Ok(Document {
        id: job.id.clone(),
        path: job.path.to_owned(),
        origin,
        body: front.body.to_owned(),
        data,
    })
}

fn parse_with_origin<T: Model>(text: &str, origin: Origin) -> Result<T, Box<Diagnostic>> {
    yaml::from_str(text).map_err(|err| {
        let mut diagnostic = Diagnostic::error(err.code, err.message).at(origin.at(&err.span));
        diagnostic.help = err.help;
        Box::new(diagnostic)
    })
}
