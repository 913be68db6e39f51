//! Times in the state file: milliseconds in memory, RFC 3339 text on disk (readable by
//! people who open the file).

use serde::{Deserialize, Deserializer, Serializer, de};

/// Milliseconds since the Unix epoch (or a span of them).
pub type Millis = i64;

/// `2026-11-23T10:04:12.345Z`.
pub fn format(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Whole seconds, for people: `2026-11-23 10:04:12Z`.
pub fn human(ms: Millis) -> String {
    jiff::Timestamp::from_second(ms.div_euclid(1000))
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// A duration in milliseconds (saturating).
pub fn millis(duration: std::time::Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A duration for people: `4m`, `1h 20m`, `45s` (the rule every duration shown follows,
/// [`crate::values::human_span`]), or `350 ms` under a second.
pub fn span(ms: Millis) -> String {
    match ms.unsigned_abs() < 1000 {
        true => format!("{ms} ms"),
        false => crate::values::human_span(ms / 1000),
    }
}

fn parse(text: &str) -> Result<Millis, String> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("invalid time `{text}`: {e}"))
}

pub fn serialize<S: Serializer>(ms: &Millis, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*ms))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Millis, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(de::Error::custom)
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Option<Millis>, serializer: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => serializer.serialize_some(&super::format(*ms)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Millis>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse(&text).map_err(de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_people_write_them() {
        assert_eq!(span(350), "350 ms");
        assert_eq!(span(299_000), "4m");
        assert_eq!(span(4_800_000), "1h 20m");
        assert_eq!(span(-5_000), "-5s");
    }

    #[test]
    fn times_round_trip() -> Result<(), String> {
        let ms = 1_795_000_000_123;
        assert_eq!(parse(&format(ms))?, ms);
        Ok(())
    }
}
