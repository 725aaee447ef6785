//! The portal's one error type, and the page (or redirect) each error becomes.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::{page, portal_response};
use crate::domain::DomainError;
use crate::scim::ScimError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No session (`ended` when the browser had one that has ended): the browser
    /// goes to the sign-in page.
    #[error("sign in first")]
    SignInRequired { ended: bool },
    /// A state-changing form without the session's CSRF token.
    #[error("the form did not come from this session")]
    CsrfRejected,
    #[error("{0}")]
    BadRequest(String),
    #[error("the page could not be shown")]
    Internal,
    /// What the API would answer, in plain words.
    #[error(transparent)]
    Scim(#[from] ScimError),
}

impl From<DomainError> for PortalError {
    fn from(error: DomainError) -> Self {
        PortalError::Scim(error.into())
    }
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            PortalError::CsrfRejected => StatusCode::FORBIDDEN,
            PortalError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PortalError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            PortalError::Scim(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            PortalError::SignInRequired { ended } => {
                let location = if *ended {
                    "/admin/sign-in?ended=expired"
                } else {
                    "/admin/sign-in"
                };
                return portal_response(StatusCode::SEE_OTHER)
                    .insert_header((header::LOCATION, location))
                    .finish();
            }
            PortalError::CsrfRejected => (
                "Form refused",
                "This form did not come from your current session. Reload the page and try again."
                    .to_owned(),
            ),
            PortalError::BadRequest(detail) => ("Bad request", detail.clone()),
            PortalError::Internal => ("Something went wrong", self.to_string()),
            PortalError::Scim(error) => match error.status {
                404 => ("Not found", error.detail.clone()),
                412 => (
                    "Changed by someone else",
                    "Someone else changed this while you were editing. Reload the page to see the current version."
                        .to_owned(),
                ),
                status if status >= 500 => (
                    "Something went wrong",
                    format!("The service could not do this: {}", error.detail),
                ),
                _ => ("Not done", error.detail.clone()),
            },
        };
        page(
            self.status_code(),
            &ErrorPage {
                title,
                message: &message,
            },
        )
    }
}
