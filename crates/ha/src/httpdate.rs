//! RFC 1123 dates (`Wed, 25 Nov 2026 18:49:49 GMT`), as Kea's `ha-heartbeat` answer carries
//! them in `date-time` (reference 1.11, 1.12) and as HTTP `Date` headers show them.
//!
//! Only the RFC 1123 form is produced and accepted: it is the one Kea writes
//! (`HttpDateTime::rfc1123Format`). Parsing checks every field, so a malformed partner answer is
//! an error, not a wild clock skew.

/// Why a `date-time` string is not an RFC 1123 date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not an RFC 1123 date (expected like 'Wed, 25 Nov 2026 18:49:49 GMT')")]
pub struct BadDate {
    /// The text received.
    pub text: String,
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats Unix seconds as RFC 1123.
pub fn format(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let month_name = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses an RFC 1123 date into Unix seconds. The weekday must be a day name but is not
/// cross-checked (Kea's parser does not either).
pub fn parse(text: &str) -> Result<i64, BadDate> {
    let bad = || BadDate {
        text: text.to_owned(),
    };
    let rest = text.trim();
    let (weekday, rest) = rest.split_once(", ").ok_or_else(bad)?;
    if !DAYS.contains(&weekday) {
        return Err(bad());
    }
    let mut parts = rest.split(' ');
    let (Some(day), Some(month), Some(year), Some(time), Some("GMT"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let number = |s: &str, digits: usize| -> Result<i64, BadDate> {
        if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let day = number(day, 2)?;
    let year = number(year, 4)?;
    let month = MONTHS
        .iter()
        .position(|m| *m == month)
        .and_then(|i| i64::try_from(i + 1).ok())
        .ok_or_else(bad)?;
    let mut hms = time.split(':');
    let (Some(h), Some(m), Some(s), None) = (hms.next(), hms.next(), hms.next(), hms.next()) else {
        return Err(bad());
    };
    let (h, m, s) = (number(h, 2)?, number(m, 2)?, number(s, 2)?);
    let month_days = match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) || h > 23 || m > 59 || s > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_the_capture_dates() {
        // From capture-hs.http.txt: the heartbeat answer and the HTTP Date header agree.
        let t = parse("Wed, 25 Nov 2026 19:28:56 GMT").unwrap();
        assert_eq!(format(t), "Wed, 25 Nov 2026 19:28:56 GMT");
        // 2026-11-25 is day 20_782 since the epoch.
        assert_eq!(t, 20_782 * 86_400 + 19 * 3600 + 28 * 60 + 56);
        assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        for t in [0, 86_399, 951_782_400, 1_795_638_557, 4_102_444_800] {
            assert_eq!(parse(&format(t)).unwrap(), t);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            "",
            "Wed, 25 Nov 2026 19:28:56",
            "Wed, 25 Nov 2026 19:28:56 UTC",
            "Xyz, 25 Nov 2026 19:28:56 GMT",
            "Wed, 31 Nov 2026 19:28:56 GMT",
            "Wed, 29 Feb 2026 19:28:56 GMT",
            "Wed, 25 Foo 2026 19:28:56 GMT",
            "Wed, 25 Nov 2026 24:00:00 GMT",
            "Wed, 5 Nov 2026 19:28:56 GMT",
            "Wed, 25 Nov 2026 19:28 GMT",
            "Wed, 25 Nov 2026 19:28:56 GMT extra",
            "Wednesday, 25-Nov-26 19:28:56 GMT",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
