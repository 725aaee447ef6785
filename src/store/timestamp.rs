//! Reading `TIMESTAMP` values back without re-reading a format string each time.
//!
//! diesel's SQLite reader tries its formats one by one with `parse_from_str`, which
//! parses the format string again for every value: a few per user, hundreds per list
//! page. Roster's own values all come in one of two shapes, so they are parsed with a
//! fixed item list first and handed to diesel only when that fails.

use chrono::NaiveDateTime;
use chrono::format::{Fixed, Item, Numeric, Pad, Parsed, parse};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// `2026-11-29 03:21:35.601`: how diesel writes a timestamp into SQLite.
const SPACE_SEPARATED: &[Item<'static>] = &items(" ");
/// `2026-11-29T03:21:35.601`: how PostgreSQL's JSON functions write one.
const T_SEPARATED: &[Item<'static>] = &items("T");

const fn items(separator: &'static str) -> [Item<'static>; 12] {
    [
        Item::Numeric(Numeric::Year, Pad::Zero),
        Item::Literal("-"),
        Item::Numeric(Numeric::Month, Pad::Zero),
        Item::Literal("-"),
        Item::Numeric(Numeric::Day, Pad::Zero),
        Item::Literal(separator),
        Item::Numeric(Numeric::Hour, Pad::Zero),
        Item::Literal(":"),
        Item::Numeric(Numeric::Minute, Pad::Zero),
        Item::Literal(":"),
        Item::Numeric(Numeric::Second, Pad::Zero),
        // Optional `.fff…`.
        Item::Fixed(Fixed::Nanosecond),
    ]
}

/// A timestamp as Roster stores it, in either backend's text form; `None` for any
/// other text.
pub fn parse_stored_timestamp(text: &str) -> Option<NaiveDateTime> {
    let shape = match text.as_bytes().get(10) {
        Some(b' ') => SPACE_SEPARATED,
        Some(b'T') => T_SEPARATED,
        _ => return None,
    };
    let mut parsed = Parsed::new();
    parse(&mut parsed, text, shape.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
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
    fn other_shapes_are_left_to_diesel() {
        for text in [
            "2026-11-29 03:21:35+02:00",
            "2460643.5",
            "2026-11-29",
            "",
            "2026-13-29 03:21:35",
        ] {
            assert_eq!(parse_stored_timestamp(text), None, "{text}");
        }
    }
}
