//! The Admin Portal at `/admin`: server-rendered askama pages (templates under
//! `templates/portal/`) with a little JavaScript of its own, every asset embedded in
//! the binary. The Management Application signs in with its client credentials and
//! then acts through the same domain functions and PATCH engine as the SCIM API.
//! Sessions and CSRF are in `session`, what a page shows in `pages`.

mod apps;
mod assets;
mod audit;
mod error;
mod forms;
mod groups;
mod session;
mod users;
mod views;

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use askama::Template;

use super::AppState;
use super::routes::{Endpoint, Routes};
pub use error::PortalError;
pub use session::SessionPolicy;

/// Where the portal is served.
pub const PORTAL_PATH: &str = "/admin";

/// Only the portal's own scripts and styles, no frames, forms post only to itself.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("").get(home))
        .add(Endpoint::new("/").get(home))
        .add(Endpoint::new("/assets/{name}").get(assets::asset))
        .add(
            Endpoint::new("/sign-in")
                .get(session::sign_in_page)
                .post(session::sign_in),
        )
        .add(Endpoint::new("/sign-out").post(session::sign_out));
    users::routes(r);
    groups::routes(r);
    apps::routes(r);
    r.add(Endpoint::new("/audit").get(audit::audit_page));
}

async fn home() -> HttpResponse {
    redirect("/admin/users")
}

/// A response with the headers every portal response carries.
fn portal_response(status: actix_web::http::StatusCode) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// `303 See Other` to `location`: after a form post, the browser loads the page.
fn redirect(location: &str) -> HttpResponse {
    portal_response(actix_web::http::StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A rendered page with `status`.
fn page(status: actix_web::http::StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => portal_response(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            tracing::error!(%error, "a portal page could not be rendered");
            portal_response(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown.")
        }
    }
}

/// A `200` page.
fn ok_page(template: &impl Template) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, template)
}

/// The service's state, which every worker holds.
fn state(req: &actix_web::HttpRequest) -> Result<actix_web::web::Data<AppState>, PortalError> {
    req.app_data::<actix_web::web::Data<AppState>>()
        .cloned()
        .ok_or(PortalError::Internal)
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    /// The navigation entry of this page.
    pub section: &'static str,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

/// A question before an action that cannot be undone, answered by a form post.
#[derive(Template)]
#[template(path = "portal/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub title: String,
    pub question: String,
    pub action: String,
    pub button: &'static str,
    pub back: String,
}
