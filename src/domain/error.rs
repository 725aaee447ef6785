use thiserror::Error;

use crate::store::StoreError;

/// Why a domain operation did not happen, by kind. The detail is what the client
/// is told; of a [`DomainError::Corrupt`] or a failing store, only the log learns
/// the cause.
#[derive(Debug, Error)]
pub enum DomainError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("the resource has changed since version {0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A stored document the domain cannot read (what and which): the service's
    /// fault, never the client's.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DomainError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UnsupportedFilter(detail) => DomainError::InvalidFilter(detail),
            other => DomainError::Store(other),
        }
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(err: diesel::result::Error) -> Self {
        DomainError::Store(err.into())
    }
}
