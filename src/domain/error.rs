use thiserror::Error;

use crate::store::StoreError;

/// Why a domain operation did not happen.
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for DomainError {
    fn from(err: diesel::result::Error) -> Self {
        DomainError::Store(err.into())
    }
}

impl From<crate::store::users::SearchError> for DomainError {
    fn from(err: crate::store::users::SearchError) -> Self {
        match err {
            crate::store::users::SearchError::Unsupported(e) => DomainError::InvalidFilter(e.0),
            crate::store::users::SearchError::Store(e) => DomainError::Store(e),
        }
    }
}
