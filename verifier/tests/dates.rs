//! Calendar dates: strict parsing, round trips, and agreement with an independent day count.

use proptest::prelude::*;
use sagat_verifier::{date_from_unix, format_date, parse_date, year_of};

#[test]
fn known_dates() {
    assert_eq!(parse_date("1970-01-01").unwrap(), 0);
    assert_eq!(parse_date("1969-12-31").unwrap(), -1);
    assert_eq!(parse_date("2000-03-01").unwrap(), 11017);
    assert_eq!(parse_date("2024-02-29").unwrap(), 19782);
    assert_eq!(parse_date("0001-01-01").unwrap(), -719162);
    assert_eq!(parse_date("9999-12-31").unwrap(), 2932896);
    assert_eq!(format_date(19782), "2024-02-29");
    assert_eq!(year_of(parse_date("2023-12-31").unwrap()), 2023);
    assert_eq!(year_of(parse_date("2024-01-01").unwrap()), 2024);
    assert_eq!(date_from_unix(0), 0);
    assert_eq!(date_from_unix(-1), -1);
    assert_eq!(
        date_from_unix(1_700_000_000),
        parse_date("2023-11-14").unwrap()
    );
    assert_eq!(date_from_unix(86_399), 0);
    assert_eq!(date_from_unix(86_400), 1);
}

#[test]
fn invalid_dates_are_rejected() {
    for bad in [
        "2023-02-29",
        "1900-02-29",
        "2024-02-30",
        "2024-04-31",
        "2024-13-01",
        "2024-00-10",
        "2024-01-00",
        "2024-01-32",
        "0000-01-01",
        "2024-1-01",
        "2024-01-1",
        "24-01-01",
        "2024/01/01",
        "2024-01-01 ",
        " 2024-01-01",
        "2024-01-01T00:00",
        "+024-01-01",
        "２０２４-01-01",
        "",
        "abcd-ef-gh",
    ] {
        assert!(parse_date(bad).is_err(), "{bad:?} accepted");
    }
    assert!(parse_date("2000-02-29").is_ok(), "2000 is a leap year");
}

/// Days since 1970-01-01 by counting whole years and months: slow, obviously right.
fn slow_days(y: i32, m: u32, d: u32) -> i32 {
    let leap = |y: i32| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let year_len = |y: i32| if leap(y) { 366 } else { 365 };
    let mut days: i32 = 0;
    if y >= 1970 {
        for yy in 1970..y {
            days += year_len(yy);
        }
    } else {
        for yy in y..1970 {
            days -= year_len(yy);
        }
    }
    let months = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days + months[..(m - 1) as usize].iter().sum::<i32>() + d as i32 - 1
}

#[test]
fn every_day_from_1899_to_2101_round_trips_and_matches_a_slow_count() {
    let mut expected = parse_date("1899-01-01").unwrap();
    assert_eq!(expected, slow_days(1899, 1, 1));
    for y in 1899..=2101 {
        for m in 1..=12u32 {
            for d in 1..=31u32 {
                let text = format!("{y:04}-{m:02}-{d:02}");
                if let Ok(days) = parse_date(&text) {
                    assert_eq!(days, expected, "{text}");
                    assert_eq!(format_date(days), text);
                    assert_eq!(year_of(days), y);
                    expected += 1;
                }
            }
        }
    }
    assert_eq!(expected, slow_days(2102, 1, 1));
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(days in -719_162i32..=2_932_896) {
        prop_assert_eq!(parse_date(&format_date(days)).unwrap(), days);
    }

    #[test]
    fn unix_day_contains_the_timestamp(secs in -100_000_000_000i64..100_000_000_000) {
        let day = i64::from(date_from_unix(secs));
        prop_assert!(day * 86_400 <= secs && secs < (day + 1) * 86_400);
    }
}
