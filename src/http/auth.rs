//! The bearer-token extractor: every `/scim/v2` request names its tenant and scope
//! by its token.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::AppState;
use super::access_log::AuthenticatedTenant;
use super::request_id::RequestId;
use crate::domain::tenants::authenticate_bearer;
use crate::scim::ScimError;
use crate::store::Scope;

/// The authenticated caller of a request.
pub struct Caller(pub Scope);

impl FromRequest for Caller {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ScimError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        let names_a_resource = !has_encoded_control(req.path());
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ScimError::internal_with("service state missing"))?;
            let token = token?;
            let scope =
                authenticate_bearer(&state.store, &state.tokens, token, request_id.as_deref())
                    .await?;
            req.extensions_mut()
                .insert(AuthenticatedTenant(scope.tenant_id.clone()));
            if !names_a_resource {
                return Err(ScimError::not_found(
                    "no resource has an id with a control character",
                ));
            }
            Ok(Caller(match request_id {
                Some(id) => scope.for_request(&id),
                None => scope,
            }))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ScimError> {
    let unauthorized = |detail: &str| ScimError::unauthorized(detail);
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("an Authorization: Bearer token is required"))?;
    let value = header
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not valid text"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        ));
    }
    Ok(token.trim().to_owned())
}

/// Whether a request path holds a percent-encoded control character (`%00`–`%1F`,
/// `%7F`). No id holds one, and PostgreSQL refuses NUL in a parameter: such a path
/// names no resource. Every resource route authenticates through [`Caller`].
fn has_encoded_control(path: &str) -> bool {
    let bytes = path.as_bytes();
    memchr::memchr_iter(b'%', bytes).any(|at| {
        matches!(
            (bytes.get(at + 1), bytes.get(at + 2)),
            (Some(b'0' | b'1'), Some(c)) if c.is_ascii_hexdigit()
        ) || matches!(
            (bytes.get(at + 1), bytes.get(at + 2)),
            (Some(b'7'), Some(b'f' | b'F'))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::has_encoded_control;

    #[test]
    fn encoded_control_characters_are_found_in_paths() {
        for path in ["/scim/v2/Users/a%00b", "/Users/%1f", "/x/%7F", "/x/%0A%20"] {
            assert!(has_encoded_control(path), "{path}");
        }
        for path in [
            "/scim/v2/Users/01a2-b",
            "/x/%20y",
            "/x/%41",
            "/x/%",
            "/x/%0",
            "/x/%2F",
        ] {
            assert!(!has_encoded_control(path), "{path}");
        }
    }
}
