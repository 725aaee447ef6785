//! Reading `TIMESTAMP` values back without a general-purpose date parser.
//!
//! diesel's SQLite reader tries its formats one by one with `parse_from_str`, which
//! parses the format string again for every value: a few per user, hundreds per list
//! page. Roster's own values all come in one fixed-width shape (with a space or a
//! `T` between date and time), so they are read digit by digit and handed to diesel
//! only when that fails.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;

/// A timestamp as Roster stores it, `2026-11-29 03:21:35.601` (how diesel writes one
/// into SQLite) or `2026-11-29T03:21:35.601` (how PostgreSQL's JSON functions write
/// one), with an optional fraction of one to nine digits; `None` for any other text.
pub fn parse_stored_timestamp(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    let (fixed, fraction) = bytes.split_at_checked(19)?;
    let separators_in_place = fixed[4] == b'-'
        && fixed[7] == b'-'
        && matches!(fixed[10], b' ' | b'T')
        && fixed[13] == b':'
        && fixed[16] == b':';
    if !separators_in_place {
        return None;
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(number(&fixed[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&fixed[5..7])?, number(&fixed[8..10])?)?.and_hms_nano_opt(
        number(&fixed[11..13])?,
        number(&fixed[14..16])?,
        number(&fixed[17..19])?,
        nanos,
    )
}

/// A `TIMESTAMP` column read through [`parse_stored_timestamp`]; use it as a field's
/// `#[diesel(deserialize_as = StoredTimestamp)]`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct StoredTimestamp(NaiveDateTime);

impl From<StoredTimestamp> for NaiveDateTime {
    fn from(value: StoredTimestamp) -> NaiveDateTime {
        value.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTimestamp {
    fn from_sql(
        mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(parsed) = parse_stored_timestamp(value.read_text()) {
            return Ok(StoredTimestamp(parsed));
        }
        // Anything else SQLite may hold (a Julian day number, a time zone suffix).
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTimestamp)
    }
}

impl FromSql<Timestamp, Pg> for StoredTimestamp {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        // PostgreSQL sends its binary form, which needs no text parsing.
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTimestamp)
    }
}

/// A nullable `TIMESTAMP` column read like [`StoredTimestamp`]; use it as a field's
/// `#[diesel(deserialize_as = OptionalStoredTimestamp)]`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct OptionalStoredTimestamp(Option<NaiveDateTime>);

impl From<OptionalStoredTimestamp> for Option<NaiveDateTime> {
    fn from(value: OptionalStoredTimestamp) -> Option<NaiveDateTime> {
        value.0
    }
}

impl<DB> FromSql<Nullable<Timestamp>, DB> for OptionalStoredTimestamp
where
    DB: diesel::backend::Backend,
    StoredTimestamp: FromSql<Timestamp, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        StoredTimestamp::from_sql(value).map(|time| OptionalStoredTimestamp(Some(time.0)))
    }

    fn from_nullable_sql(value: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(OptionalStoredTimestamp(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(millis: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_milli_opt(3, 21, 35, millis)
            .unwrap()
    }

    #[test]
    fn sqlite_text_with_fraction_parses() {
        assert_eq!(
            parse_stored_timestamp("2026-11-29 03:21:35.601"),
            Some(at(601))
        );
    }

    #[test]
    fn postgres_json_text_parses() {
        assert_eq!(
            parse_stored_timestamp("2026-11-29T03:21:35.601"),
            Some(at(601))
        );
    }

    #[test]
    fn text_without_fraction_parses() {
        assert_eq!(parse_stored_timestamp("2026-11-29 03:21:35"), Some(at(0)));
    }

    #[test]
    fn what_diesel_writes_reads_back_unchanged() {
        let written = at(601).format("%F %T%.f").to_string();
        assert_eq!(parse_stored_timestamp(&written), Some(at(601)));
    }

    #[test]
    fn every_fraction_length_diesel_may_write_parses_to_the_same_instant() {
        for text in [
            "2026-11-29 03:21:35.6",
            "2026-11-29 03:21:35.601",
            "2026-11-29 03:21:35.601000",
            "2026-11-29 03:21:35.601000000",
        ] {
            let expected = if text.len() == 21 { at(600) } else { at(601) };
            assert_eq!(parse_stored_timestamp(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn microseconds_are_kept() {
        let parsed = parse_stored_timestamp("2026-11-29 03:21:35.601234").unwrap();
        assert_eq!(parsed.and_utc().timestamp_subsec_micros(), 601_234);
    }

    #[test]
    fn other_shapes_are_left_to_diesel() {
        for text in [
            "2026-11-29 03:21:35+02:00",
            "2460643.5",
            "2026-11-29",
            "",
            "2026-13-29 03:21:35",
            "2026-02-30 03:21:35",
            "2026-11-29 24:00:00",
            "2026-11-29 03:21:35.",
            "2026-11-29 03:21:35.1234567890",
            "2026-11-29 03:21:3x",
            "2026/11/29 03:21:35",
            "+2026-11-29 03:21:35",
        ] {
            assert_eq!(parse_stored_timestamp(text), None, "{text}");
        }
    }
}
