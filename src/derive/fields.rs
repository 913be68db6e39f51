//! The fields each derived part reads, as fingerprints ([`Fields`]): a part is derived
//! again only when one of them changed, not whenever a file of its kind did.

use crate::content::types::Moment;
use crate::content::{Document, Ref};
use crate::memo::Fields;

/// Writes `write`'s fields of every document of `docs`, each after its id.
pub fn each<T>(fields: &mut Fields, docs: &[Document<T>], write: impl Fn(&mut Fields, &T)) {
    fields.number(docs.len() as i64);
    for doc in docs {
        fields.text(&doc.id);
        write(fields, &doc.data);
    }
}

pub fn moment(fields: &mut Fields, moment: &Moment) {
    fields
        .number(moment.0.as_second())
        .number(i64::from(moment.0.subsec_nanosecond()));
}

pub fn maybe_moment(fields: &mut Fields, moment: Option<&Moment>) {
    match moment {
        Some(moment) => {
            fields.number(1);
            self::moment(fields, moment);
        }
        None => {
            fields.number(0);
        }
    }
}

pub fn reference(fields: &mut Fields, reference: Option<&Ref>) {
    fields.maybe(reference.map(|r| r.value.as_str()));
}

pub fn references(fields: &mut Fields, references: &[Ref]) {
    fields.number(references.len() as i64);
    for reference in references {
        fields.text(&reference.value);
    }
}

/// A value of an enum of names (a status, a priority), by its place in the enum.
pub fn name<T: Copy + Into<i64>>(fields: &mut Fields, value: T) {
    fields.number(value.into());
}
