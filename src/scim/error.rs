use thiserror::Error;

use crate::domain::DomainError;
use crate::store::StoreError;

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865 §2.1.
    InvalidCursor,
}

impl ScimType {
    /// Every value, for the API description.
    pub const ALL: [ScimType; 11] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
        ScimType::InvalidCursor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// A protocol-level error: what the client sent cannot be accepted. Becomes a SCIM
/// Error response at the HTTP edge.
#[derive(Debug, Clone, Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    /// The only place a status is written as a number: every error has a named
    /// constructor below.
    fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// RFC 9865 §2.1: a `cursor` this service did not issue for this query.
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidCursor, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 401: no credentials, or credentials that name no caller.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412: an `If-Match` version that is no longer the resource's.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// 409 without a `scimType`: a conflict that is no uniqueness clash (circular
    /// bulkId references).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, None, detail)
    }

    /// The SCIM Error message of this error (RFC 7644 §3.12).
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [crate::urn::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.as_str().into();
        }
        body
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// 500 whose detail says nothing of the cause: the caller logs the cause.
    pub fn internal() -> Self {
        Self::internal_with("the service could not complete the request")
    }

    /// 500 with a detail that reveals nothing internal.
    pub fn internal_with(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// 503: a passing state (busy or lost database); the response asks the client to
    /// retry.
    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, None, detail)
    }
}

/// The one translation of domain failures into what the client is told. Every kind
/// is named, so that a new kind needs a decision here. The service's own failures
/// are logged with their cause, and the client learns only that they happened.
impl From<DomainError> for ScimError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound(detail) => ScimError::not_found(detail),
            DomainError::Conflict(detail) => ScimError::uniqueness(detail),
            DomainError::InvalidValue(detail) => ScimError::invalid_value(detail),
            DomainError::InvalidFilter(detail) => ScimError::invalid_filter(detail),
            DomainError::PreconditionFailed(_) => ScimError::precondition_failed(
                "the resource has changed: its version no longer matches If-Match",
            ),
            DomainError::Unauthorized(detail) => ScimError::unauthorized(detail),
            DomainError::Forbidden(detail) => ScimError::forbidden(detail),
            DomainError::Corrupt(what) => {
                tracing::error!(%what, "stored data is corrupt");
                ScimError::internal()
            }
            DomainError::Store(store) => store_failure(store),
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        store_failure(err)
    }
}

fn store_failure(err: StoreError) -> ScimError {
    match err {
        StoreError::UnsupportedFilter(detail) => ScimError::invalid_filter(detail),
        StoreError::StatementTimeout => {
            tracing::warn!("a request ran past the statement timeout");
            ScimError::service_unavailable(
                "the request took too long and was stopped; narrow it (a smaller page, \
                 a simpler filter) or retry later",
            )
        }
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, "no database connection became free in time");
            ScimError::service_unavailable(
                "the service is busy: no database connection became free in time; retry later",
            )
        }
        StoreError::Lost(reason) => {
            tracing::warn!(%reason, "the database is unreachable or cannot be written");
            ScimError::service_unavailable(
                "the database is unreachable or cannot be written; retry later",
            )
        }
        StoreError::Corrupt(what) => {
            tracing::error!(%what, "stored data is corrupt");
            ScimError::internal()
        }
        err @ (StoreError::UniqueViolation(_)
        | StoreError::Database(_)
        | StoreError::Connection(_)
        | StoreError::Migration(_)
        | StoreError::Commit(_)
        | StoreError::Cancelled) => {
            tracing::error!(error = %err, "store failure");
            ScimError::internal()
        }
    }
}
