//! `POST /.search` at the service root (RFC 7644 §3.4.3): a search over every
//! resource type. Users are the only resource type so far, so it searches users.

use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::method_not_allowed;
use super::users::respond_with_users;
use crate::scim::ScimError;
use crate::scim::list::ListRequest;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.search")
            .route(web::post().to(search))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    respond_with_users(&req, &state, &principal, &request).await
}
