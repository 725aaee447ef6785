//! The SCIM protocol layer: resource JSON ⇄ domain types, the schema registry,
//! input validation, list parameters and responses, and discovery documents.
//! Functions here are what HTTP handlers call; they return [`ScimError`] for
//! anything the client must be told.

pub mod discovery;
mod error;
pub mod groups;
pub mod list;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod urn;
pub mod users;
pub mod validate;

pub use error::{ScimError, ScimType};

use crate::domain::DomainError;

impl From<DomainError> for ScimError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(detail) => ScimError::not_found(detail),
            DomainError::Conflict(detail) => ScimError::uniqueness(detail),
            DomainError::InvalidValue(detail) => ScimError::invalid_value(detail),
            DomainError::InvalidFilter(detail) => ScimError::invalid_filter(detail),
            DomainError::PreconditionFailed(_) => ScimError::new(
                412,
                None,
                "the resource has changed: its version no longer matches If-Match",
            ),
            DomainError::Unauthorized(detail) => ScimError::new(401, None, detail),
            DomainError::Forbidden(detail) => ScimError::new(403, None, detail),
            DomainError::Store(store) => {
                tracing::error!(error = %store, "store failure");
                ScimError::new(500, None, "the service could not complete the request")
            }
        }
    }
}

/// Where resources live, for `meta.location` and `Location` headers: the public
/// base URL of the SCIM API, without a trailing slash.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    pub fn resource(&self, endpoint: &str, id: &str) -> String {
        format!("{}{endpoint}/{id}", self.0)
    }
}

/// Formats a stored UTC time as an RFC 3339 `dateTime` with a `Z` offset.
pub fn format_time(time: chrono::NaiveDateTime) -> String {
    time.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
