//! The SCIM protocol layer: resource JSON ⇄ domain types, input validation against
//! the schemas, the PATCH engine, projection, list parameters and responses, and
//! discovery documents.
//! Functions here are what HTTP handlers call; they return [`ScimError`] for
//! anything the client must be told.

pub mod bulk;
pub mod discovery;
mod error;
pub mod groups;
pub mod list;
pub mod patch;
pub mod projection;
pub mod users;
pub mod validate;

pub use crate::time::format_time;
pub use error::{ScimError, ScimType};

/// Where resources live, for `meta.location` and `Location` headers: the public
/// base URL of the SCIM API, without a trailing slash.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    /// The URL of the resource `id` under `endpoint` (`/Users`).
    pub fn resource(&self, endpoint: &str, id: &str) -> String {
        let mut url = String::with_capacity(self.0.len() + endpoint.len() + 1 + id.len());
        url.push_str(&self.0);
        url.push_str(endpoint);
        url.push('/');
        url.push_str(id);
        url
    }
}

/// The weak ETag of a resource version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version named by an `If-Match` / `If-None-Match` header value: `W/"3"`, `"3"`
/// or `*`.
pub fn version_from_etag(header: &str) -> String {
    let trimmed = header.trim();
    let without_weak = trimmed
        .strip_prefix("W/")
        .or_else(|| trimmed.strip_prefix("w/"))
        .unwrap_or(trimmed);
    without_weak.trim_matches('"').to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};

    use super::format_time;

    fn chrono_form(time: NaiveDateTime) -> String {
        time.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn at(year: i32, month: u32, day: u32, hms: (u32, u32, u32), nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_nano_opt(hms.0, hms.1, hms.2, nanos))
            .expect("a valid time")
    }

    #[test]
    fn times_are_written_with_milliseconds_and_a_z_offset() {
        let time = at(2026, 11, 29, (8, 5, 3), 123_456_789);
        assert_eq!(format_time(time), "2026-11-29T08:05:03.123Z");
    }

    #[test]
    fn times_are_written_as_chrono_writes_them_whatever_the_fields() {
        let samples = [
            at(0, 1, 1, (0, 0, 0), 0),
            at(999, 12, 31, (23, 59, 59), 999_999_999),
            at(1970, 1, 1, (0, 0, 0), 1_000_000),
            at(2024, 2, 29, (12, 30, 7), 999_999),
            at(9999, 12, 31, (23, 59, 59), 500_000_000),
            at(10_000, 1, 1, (0, 0, 0), 0),
            at(-1, 6, 15, (1, 2, 3), 4_000_000),
            at(2016, 12, 31, (23, 59, 59), 1_500_000_000),
        ];
        for time in samples {
            assert_eq!(format_time(time), chrono_form(time), "{time:?}");
        }
    }
}
