//! Times in the bundle: `active_from` is UTC text with whole seconds
//! (`2026-12-01T06:00:00Z`), the same text glassroom writes for any instant.

use std::fmt;

use jiff::Timestamp;
use jiff::civil;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serializer, de};

/// `ts` as the bundle writes it: whole seconds, UTC.
pub(crate) struct Whole(pub(crate) Timestamp);

impl fmt::Display for Whole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole seconds: stable and readable, whatever the clock's precision.
        let seconds = Timestamp::from_second(self.0.as_second()).unwrap_or(self.0);
        seconds.fmt(f)
    }
}

/// Reads an instant as glassroom's content does: RFC 3339 with any offset, a date and
/// time without one (taken as UTC), or a bare date (midnight UTC). Bundles glassroom
/// wrote always hold the first form; the others are read for hand-written bundles.
pub(crate) fn parse(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let utc = |local: civil::DateTime| {
        TimeZone::UTC
            .to_timestamp(local)
            .map_err(|e| format!("invalid time `{text}`: {e}"))
    };
    if text.len() > 10 {
        let local = text.parse::<civil::DateTime>().map_err(|e| {
            format!(
                "invalid time `{text}`: {e}; write times as RFC 3339, e.g. 2026-11-20T03:00:00Z"
            )
        })?;
        return utc(local);
    }
    let date = text
        .parse::<civil::Date>()
        .map_err(|e| format!("invalid date `{text}`: {e}; write dates as YYYY-MM-DD"))?;
    utc(date.to_datetime(civil::Time::midnight()))
}

/// Serde for `Option<Timestamp>` fields: the text above in text formats; the exact
/// (seconds, nanoseconds) in binary ones, which carry no text and lose nothing.
pub(crate) mod optional {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(ts) if serializer.is_human_readable() => {
                serializer.serialize_some(&Whole(*ts).to_string())
            }
            Some(ts) => serializer.serialize_some(&(ts.as_second(), ts.subsec_nanosecond())),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        if !deserializer.is_human_readable() {
            return match Option::<(i64, i32)>::deserialize(deserializer)? {
                None => Ok(None),
                Some((seconds, nanoseconds)) => Timestamp::new(seconds, nanoseconds)
                    .map(Some)
                    .map_err(|_| de::Error::custom("not a valid instant")),
            };
        }
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).map_err(de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_like_content_and_write_whole_seconds() -> Result<(), String> {
        let z = parse("2026-11-20T03:00:00Z")?;
        assert_eq!(parse("2026-11-20T04:00:00+01:00")?, z);
        assert_eq!(parse("2026-11-20 03:00")?, z);
        assert_eq!(
            Whole(parse("2026-11-20")?).to_string(),
            "2026-11-20T00:00:00Z"
        );
        assert_eq!(
            Whole(parse("2026-11-20T03:00:00.25Z")?).to_string(),
            "2026-11-20T03:00:00Z"
        );
        assert!(parse("2026-11-20T25:00:00Z").is_err());
        assert!(parse("2026-02-30").is_err());
        Ok(())
    }
}
