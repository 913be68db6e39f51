//! Value types every stage uses: calendar dates, instants, durations and byte sizes.
//!
//! Each parses from the text an operations engineer would write and rejects impossible
//! values (`2026-02-30`, `7x`) with a message that says what is accepted. They live
//! below every stage (not in `content`) so that `source`, `trust` and the rest can use
//! them without depending on the content model.

use std::fmt;
use std::str::FromStr;

use jiff::civil;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, SpanRelativeTo, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A calendar date (`2026-11-22`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub civil::Date);

impl Date {
    /// Midnight UTC at the start of this date.
    pub fn start(self) -> Moment {
        Moment(
            self.0
                .to_zoned(TimeZone::UTC)
                .map(|z| z.timestamp())
                .unwrap_or(Timestamp::UNIX_EPOCH),
        )
    }
}

impl FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.trim()
            .parse::<civil::Date>()
            .map(Date)
            .map_err(|e| format!("invalid date `{s}`: {e}; write dates as YYYY-MM-DD"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An instant in time. Written as RFC 3339 (`2026-11-20T03:00:00Z`, with any offset),
/// or without an offset (`2026-11-20 03:00`, taken as UTC), or as a bare date (midnight UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(pub Timestamp);

impl Moment {
    pub fn date(self) -> Date {
        Date(self.0.to_zoned(TimeZone::UTC).date())
    }

    pub fn seconds_until(self, later: Moment) -> i64 {
        later.0.as_second() - self.0.as_second()
    }

    pub fn plus(self, duration: Duration) -> Moment {
        Moment(self.0.checked_add(duration.0).unwrap_or(self.0))
    }

    /// As people read it on every page and in messages: `2026-10-31 15:30 UTC` (the one
    /// format; RFC 3339 is for files, feeds and the API).
    pub fn human(self) -> String {
        self.0.strftime("%Y-%m-%d %H:%M UTC").to_string()
    }
}

impl FromStr for Moment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(ts) = s.parse::<Timestamp>() {
            return Ok(Moment(ts));
        }
        if s.len() > 10 {
            let local = s.parse::<civil::DateTime>().map_err(|e| {
                format!(
                    "invalid time `{s}`: {e}; write times as RFC 3339, e.g. 2026-11-20T03:00:00Z"
                )
            })?;
            return local
                .to_zoned(TimeZone::UTC)
                .map(|z| Moment(z.timestamp()))
                .map_err(|e| format!("invalid time `{s}`: {e}"));
        }
        Ok(s.parse::<Date>()?.start())
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole seconds, UTC: stable and readable.
        let seconds = Timestamp::from_second(self.0.as_second()).unwrap_or(self.0);
        seconds.fmt(f)
    }
}

/// A fixed length of time, written like `30s`, `30m`, `12h`, `7d`, `2w` or `1d 12h`.
/// Days are 24 hours; months and years are refused because their length varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub SignedDuration);

impl Duration {
    pub const fn days(n: i64) -> Self {
        Duration(SignedDuration::from_secs(n * 86_400))
    }

    pub const fn minutes(n: i64) -> Self {
        Duration(SignedDuration::from_secs(n * 60))
    }

    pub const fn seconds(n: i64) -> Self {
        Duration(SignedDuration::from_secs(n))
    }

    pub fn as_seconds(self) -> i64 {
        self.0.as_secs()
    }
}

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write a duration like 30m, 12h, 7d or 2w";
        let span: jiff::Span = s
            .trim()
            .parse()
            .map_err(|_| format!("invalid duration `{s}`; {hint}"))?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(format!(
                "invalid duration `{s}`: months and years have no fixed length; {hint}"
            ));
        }
        let duration = span
            .to_duration(SpanRelativeTo::days_are_24_hours())
            .map_err(|e| format!("invalid duration `{s}`: {e}"))?;
        if duration.is_negative() || duration.is_zero() {
            return Err(format!(
                "invalid duration `{s}`: it must be longer than zero"
            ));
        }
        Ok(Duration(duration))
    }
}

/// Exactly, in the form it is written in (`1w`, `2d 4h`, `90s` → `1m 30s`): weeks only
/// when whole, so what is shown parses back to the same duration.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.as_secs().unsigned_abs(); // positive: parsing refuses others
        let weeks = match seconds % 604_800 {
            0 if seconds > 0 => Some(format!("{}w", seconds / 604_800)),
            _ => None,
        };
        let parts = weeks.map_or_else(|| units(seconds), |w| vec![w]);
        f.write_str(&parts.join(" "))
    }
}

/// The non-zero units of `seconds`, largest first (`93784` → `1d`, `2h`, `3m`, `4s`);
/// `0s` for zero.
fn units(mut seconds: u64) -> Vec<String> {
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds >= size {
            parts.push(format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds}s"));
    }
    parts
}

/// A span of seconds for people, to compare at a glance: its two largest units, with
/// seconds only when it is under a minute (`93784` → `1d 2h`, `299` → `4m`, `-45` →
/// `-45s`). Every duration glassroom shows people (reports, sync status) is written by
/// this one rule.
pub fn human_span(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let mut parts = units(seconds.unsigned_abs());
    if parts.len() > 1 && parts.last().is_some_and(|unit| unit.ends_with('s')) {
        parts.pop();
    }
    parts.truncate(2);
    format!("{sign}{}", parts.join(" "))
}

/// How many characters of a commit id glassroom shows people: enough to tell commits of
/// one repository apart, short enough for a line of output.
pub const SHORT_ID_LEN: usize = 10;

/// The first [`SHORT_ID_LEN`] characters of a commit id (all of it when shorter). Every
/// commit id glassroom shows people, in messages, logbook notes and release names, is
/// cut by this one rule.
pub fn short_id(id: &str) -> &str {
    // By characters, not bytes: an id read from a file or an argument may be anything.
    id.char_indices()
        .nth(SHORT_ID_LEN)
        .map_or(id, |(end, _)| &id[..end])
}

/// A number of bytes, written like `1 MiB`, `512 KiB`, `2 MB`, `300 kB` or `4096` (bytes).
/// Shown in the largest binary unit it is a whole number of (`1 MiB`, `1536 KiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const fn kib(n: u64) -> Self {
        ByteSize(n * 1024)
    }

    pub const fn mib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024)
    }
}

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write a size like 1 MiB, 512 KiB, 2 MB or a number of bytes";
        let text = s.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("invalid size `{s}`; {hint}"))?;
        let unit = match unit.trim() {
            "" | "B" => 1,
            "kB" | "KB" => 1_000,
            "KiB" => 1 << 10,
            "MB" => 1_000_000,
            "MiB" => 1 << 20,
            "GB" => 1_000_000_000,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "invalid size `{s}`: unknown unit `{other}`; {hint}"
                ));
            }
        };
        let bytes = number
            .checked_mul(unit)
            .ok_or_else(|| format!("invalid size `{s}`: too large"))?;
        if bytes == 0 {
            return Err(format!("invalid size `{s}`: it must be larger than zero"));
        }
        Ok(ByteSize(bytes))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{} {unit}", self.0 / size);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return u64::deserialize(deserializer).map(ByteSize);
        }
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like 1 MiB, or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<ByteSize, E> {
                bytes.to_string().parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<ByteSize, E> {
                u64::try_from(bytes)
                    .map_err(|_| {
                        E::custom(format!(
                            "invalid size `{bytes}`: it must be larger than zero"
                        ))
                    })
                    .and_then(|bytes| self.visit_u64(bytes))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSize, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            self.0.serialize(serializer)
        }
    }
}

// Text formats (YAML in, JSON and templates out) carry these as the text an engineer
// writes. A binary format (the parsed-document cache) carries the exact value instead:
// the text form of a moment or a duration drops fractions of a second.
macro_rules! text_or_exact {
    ($($ty:ty => $exact:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if !deserializer.is_human_readable() {
                    let exact = <$exact>::deserialize(deserializer)?;
                    return Self::from_exact(exact).ok_or_else(|| {
                        de::Error::custom(concat!("not a valid ", stringify!($ty)))
                    });
                }
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(de::Error::custom)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(self)
                } else {
                    self.exact().serialize(serializer)
                }
            }
        }
    )*};
}
text_or_exact!(Date => (i16, i8, i8), Moment => (i64, i32), Duration => (i64, i32));

impl Date {
    fn exact(self) -> (i16, i8, i8) {
        (self.0.year(), self.0.month(), self.0.day())
    }
    fn from_exact((year, month, day): (i16, i8, i8)) -> Option<Self> {
        civil::Date::new(year, month, day).ok().map(Date)
    }
}

impl Moment {
    fn exact(self) -> (i64, i32) {
        (self.0.as_second(), self.0.subsec_nanosecond())
    }
    fn from_exact((seconds, nanoseconds): (i64, i32)) -> Option<Self> {
        Timestamp::new(seconds, nanoseconds).ok().map(Moment)
    }
}

impl Duration {
    fn exact(self) -> (i64, i32) {
        (self.0.as_secs(), self.0.subsec_nanos())
    }
    fn from_exact((seconds, nanoseconds): (i64, i32)) -> Option<Self> {
        SignedDuration::from_secs(seconds)
            .checked_add(SignedDuration::from_nanos(i64::from(nanoseconds)))
            .map(Duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn short_ids_are_the_first_ten_characters() {
        assert_eq!(
            short_id("0123456789abcdef0123456789abcdef01234567"),
            "0123456789"
        );
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id(""), "");
        // Never cut inside a character.
        assert_eq!(short_id("ééééééééééé"), "éééééééééé");
    }

    #[test]
    fn dates_reject_impossible_days() {
        assert!("2026-02-28".parse::<Date>().is_ok());
        let err = "2026-02-30".parse::<Date>().err().unwrap_or_default();
        assert!(err.contains("invalid date `2026-02-30`"), "{err}");
        assert!("2026-13-01".parse::<Date>().is_err());
        assert!("yesterday".parse::<Date>().is_err());
    }

    #[test]
    fn moments_accept_rfc3339_local_and_dates() -> Result<(), String> {
        let z: Moment = "2026-11-20T03:00:00Z".parse()?;
        let offset: Moment = "2026-11-20T04:00:00+01:00".parse()?;
        let local: Moment = "2026-11-20 03:00".parse()?;
        assert_eq!(z, offset);
        assert_eq!(z, local);
        let date: Moment = "2026-11-20".parse()?;
        assert_eq!(date.to_string(), "2026-11-20T00:00:00Z");
        assert!("2026-11-20T25:00:00Z".parse::<Moment>().is_err());
        Ok(())
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() -> Result<(), String> {
        assert_eq!("1 MiB".parse::<ByteSize>()?, ByteSize::mib(1));
        assert_eq!("512KiB".parse::<ByteSize>()?, ByteSize::kib(512));
        assert_eq!("2 MB".parse::<ByteSize>()?, ByteSize(2_000_000));
        assert_eq!("4096".parse::<ByteSize>()?, ByteSize(4096));
        assert_eq!(ByteSize::mib(1).to_string(), "1 MiB");
        assert_eq!(ByteSize::kib(1536).to_string(), "1536 KiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 bytes");
        for bad in ["", "0", "1 TB", "1.5 MiB", "-1", "99999999999999999999 GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
        let parsed: BTreeMap<String, ByteSize> =
            crate::yaml::from_str("a: 1 MiB\nb: 2048\n").map_err(|e| e.message)?;
        assert_eq!(parsed["a"], ByteSize::mib(1));
        assert_eq!(parsed["b"], ByteSize(2048));
        Ok(())
    }

    #[test]
    fn spans_read_as_their_two_largest_units() {
        assert_eq!(human_span(93_784), "1d 2h");
        assert_eq!(human_span(86_400 + 5), "1d");
        assert_eq!(human_span(299), "4m");
        assert_eq!(human_span(59), "59s");
        assert_eq!(human_span(3_661), "1h 1m");
        assert_eq!(human_span(0), "0s");
        assert_eq!(human_span(-45), "-45s");
        assert_eq!(human_span(i64::MIN).chars().next(), Some('-'));
    }

    #[test]
    fn durations_are_fixed_lengths() -> Result<(), String> {
        assert_eq!("7d".parse::<Duration>()?, Duration::days(7));
        assert_eq!("2w".parse::<Duration>()?, Duration::days(14));
        assert_eq!("30m".parse::<Duration>()?, Duration::minutes(30));
        assert_eq!("1s".parse::<Duration>()?, Duration::seconds(1));
        assert_eq!("5s".parse::<Duration>()?.to_string(), "5s");
        assert_eq!("1m 30s".parse::<Duration>()?.as_seconds(), 90);
        assert_eq!("1d 12h".parse::<Duration>()?.as_seconds(), 36 * 3600);
        assert_eq!("1d 12h".parse::<Duration>()?.to_string(), "1d 12h");
        assert_eq!(Duration::days(14).to_string(), "2w");
        assert!("1mo".parse::<Duration>().is_err());
        assert!("7x".parse::<Duration>().is_err());
        assert!("0d".parse::<Duration>().is_err());
        assert!("".parse::<Duration>().is_err());
        Ok(())
    }

    #[test]
    fn text_formats_carry_what_is_written_and_binary_ones_the_exact_value()
    -> Result<(), Box<dyn std::error::Error>> {
        let moment: Moment = "2026-11-20T03:00:00.25Z".parse()?;
        let duration: Duration = "1.5s".parse()?;
        let date: Date = "2026-02-28".parse()?;
        assert_eq!(serde_json::to_string(&moment)?, r#""2026-11-20T03:00:00Z""#);
        assert_eq!(serde_json::to_string(&duration)?, r#""1s""#);
        assert_eq!(serde_json::to_string(&date)?, r#""2026-02-28""#);
        let back: (Moment, Duration, Date) =
            postcard::from_bytes(&postcard::to_stdvec(&(moment, duration, date))?)?;
        assert_eq!(back, (moment, duration, date), "fractions of a second too");
        // Values no parse gives are refused, not made up.
        assert!(
            postcard::from_bytes::<Date>(&postcard::to_stdvec(&(2026i16, 2i8, 30i8))?).is_err()
        );
        assert!(
            postcard::from_bytes::<Duration>(&postcard::to_stdvec(&(i64::MAX, i32::MAX))?).is_err()
        );
        Ok(())
    }
}
