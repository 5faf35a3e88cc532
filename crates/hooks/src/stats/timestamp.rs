//! Kea's sample timestamp text, `YYYY-MM-DD HH:MM:SS.ffffff` (`isc::util::clockToText` with
//! microsecond precision).
//!
//! Kea formats in the server's local time zone; Nestor formats in UTC, which is the same on the
//! usual server (TZ unset or UTC) and never depends on a process-global time zone database.

/// Formats microseconds since the Unix epoch.
pub fn format_timestamp(unix_micros: i64) -> String {
    let secs = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{micros:06}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_kea() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00.000000");
        // `date -u -d @1795636612` = Wed Nov 25 19:56:52 UTC 2026.
        assert_eq!(
            format_timestamp(1_795_636_612_437_103),
            "2026-11-25 19:56:52.437103"
        );
        // Leap day and the end of a leap year.
        assert_eq!(
            format_timestamp(951_782_400_000_001),
            "2000-02-29 00:00:00.000001"
        );
        assert_eq!(
            format_timestamp(1_735_689_599_999_999),
            "2024-12-31 23:59:59.999999"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
    }
}
