//! Times on the wire: the RFC 3339 form every timestamp is shown in.

/// Formats a stored UTC time as an RFC 3339 `dateTime` with milliseconds and a `Z`
/// offset: `2026-11-29T08:15:00.123Z`. Written digit by digit (chrono's general
/// formatter was a measurable part of rendering a user); years outside 0–9999 and
/// leap seconds, which need chrono's other forms, go through chrono.
pub fn format_time(time: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&time.year()) || nanos >= 1_000_000_000 {
        return time
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    }
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let fields = [
        (0..4, time.year() as u32),
        (5..7, time.month()),
        (8..10, time.day()),
        (11..13, time.hour()),
        (14..16, time.minute()),
        (17..19, time.second()),
        (20..23, nanos / 1_000_000),
    ];
    for (digits, mut value) in fields {
        for digit in text[digits].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    // Every byte written is an ASCII digit or one of the template's.
    text.iter().map(|&byte| char::from(byte)).collect()
}
