//! Time arithmetic the derive rules share, kept here rather than on the content types
//! because only derive needs it.

use jiff::Span;

use crate::content::types::{Date, Duration, Moment};

/// `moment - duration`, saturating at the moment itself when out of range (a date near
/// year 9999 is not worth an error: no rule can fire that far away).
pub fn minus(moment: Moment, duration: Duration) -> Moment {
    Moment(moment.0.checked_sub(duration.0).unwrap_or(moment.0))
}

/// Whole calendar days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    from.start().seconds_until(to.start()).div_euclid(86_400)
}

/// The same day one calendar year earlier (29 February becomes 28 February).
pub fn year_before(date: Date) -> Date {
    Date(date.0.checked_sub(Span::new().years(1)).unwrap_or(date.0))
}

/// "today", "tomorrow", "in 4 days", "yesterday", "3 days ago": how far `days` is from now.
pub fn relative_days(days: i64) -> String {
    match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        n if n > 1 => format!("in {n} days"),
        n => format!("{} days ago", -n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::at;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn minus_subtracts_durations() {
        assert_eq!(
            minus(at("2026-11-22T00:00:00Z"), Duration::days(7)),
            at("2026-11-15T00:00:00Z")
        );
    }

    #[test]
    fn days_between_counts_calendar_days() {
        assert_eq!(days_between(date("2026-11-22"), date("2026-11-26")), 4);
        assert_eq!(days_between(date("2026-11-22"), date("2026-11-15")), -7);
        assert_eq!(days_between(date("2026-11-22"), date("2026-11-22")), 0);
        assert_eq!(days_between(date("2026-12-31"), date("2027-01-01")), 1);
    }

    #[test]
    fn year_before_is_calendar_aware() {
        assert_eq!(year_before(date("2026-12-01")), date("2025-12-01"));
        assert_eq!(year_before(date("2028-02-29")), date("2027-02-28"));
    }

    #[test]
    fn relative_days_read_naturally() {
        assert_eq!(relative_days(0), "today");
        assert_eq!(relative_days(1), "tomorrow");
        assert_eq!(relative_days(4), "in 4 days");
        assert_eq!(relative_days(-1), "yesterday");
        assert_eq!(relative_days(-7), "7 days ago");
    }
}
