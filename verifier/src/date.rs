//! Calendar dates as events carry them: `YYYY-MM-DD` in the proleptic Gregorian calendar
//! (ISO 8601 calendar date, extended format), counted internally as days since 1970-01-01.
//!
//! Why our own ~40 lines and not a date crate: the verifier's dependency list is its audit
//! surface, and the conversion below is the well-known civil-from-days algorithm (Howard Hinnant,
//! "chrono-Compatible Low-Level Date Algorithms"), exhaustively checked by the tests.

use crate::Error;

/// 0001-01-01, the first day [`parse_date`] accepts, as days since 1970-01-01.
pub(crate) const FIRST_DAY: i32 = -719_162;
/// 9999-12-31, the last day [`parse_date`] accepts.
pub(crate) const LAST_DAY: i32 = 2_932_896;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (years 0001-9999).
///
/// Strict: exactly ten characters, ASCII digits and `-` only, a real month and a real day of that
/// month (`2023-02-29` is rejected, `2024-02-29` accepted).
pub fn parse_date(s: &str) -> Result<i32, Error> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(Error::Date(format!("{s:?} is not of the form YYYY-MM-DD")));
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |n, c| n * 10 + u32::from(c - b'0'))
    };
    let (year, month, day) = (num(0..4) as i32, num(5..7), num(8..10));
    if year == 0 {
        return Err(Error::Date(format!("{s:?}: year 0000 is out of range")));
    }
    if !(1..=12).contains(&month) {
        return Err(Error::Date(format!("{s:?}: month {month} does not exist")));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(Error::Date(format!(
            "{s:?}: day {day} does not exist in {year:04}-{month:02}"
        )));
    }
    Ok(days_from_civil(year, month, day))
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD`. Meaningful for years 0001-9999 (the range
/// [`parse_date`] accepts); outside it the year is printed as a plain signed number.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    // Written digit by digit: this runs for every date of every credential verified.
    let mut out = String::with_capacity(10);
    for (n, width) in [(y as u32, 4), (m, 2), (d, 2)] {
        if width == 2 {
            out.push('-');
        }
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
        }
    }
    out
}

/// The UTC calendar day containing the Unix timestamp `secs`, as days since 1970-01-01.
/// Saturates at the ends of the `i32` range.
pub fn date_from_unix(secs: i64) -> i32 {
    let days = secs.div_euclid(86_400);
    i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
}

/// The calendar year of a day count.
pub fn year_of(days: i32) -> i32 {
    civil_from_days(days).0
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

// Eras of 400 years (146097 days) starting on March 1st, so the leap day is the era's last day.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_day_bound_what_parse_date_accepts() {
        assert_eq!(parse_date("0001-01-01").unwrap(), FIRST_DAY);
        assert_eq!(parse_date("9999-12-31").unwrap(), LAST_DAY);
        for days in [FIRST_DAY - 1, LAST_DAY + 1, i32::MIN, i32::MAX] {
            assert!(parse_date(&format_date(days)).is_err(), "{days}");
        }
        assert_eq!(format_date(FIRST_DAY), "0001-01-01");
        assert_eq!(format_date(0), "1970-01-01");
    }
}
