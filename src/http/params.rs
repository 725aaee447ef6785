use actix_web::HttpRequest;

use crate::scim::{BaseUrl, ScimError};

use super::AppState;

/// Query parameters, looked up by name ignoring case (clients vary).
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn from_request(req: &HttpRequest) -> Result<QueryParams, ScimError> {
        serde_urlencoded::from_str(req.query_string())
            .map(QueryParams)
            .map_err(|e| ScimError::invalid_value(format!("the query string cannot be read: {e}")))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The SCIM base URL as this request reached it.
pub fn base_url(req: &HttpRequest, state: &AppState) -> BaseUrl {
    match &state.settings.public_url {
        Some(public) => BaseUrl(format!("{}/scim/v2", public.trim_end_matches('/'))),
        None => {
            let info = req.connection_info();
            BaseUrl(format!("{}://{}/scim/v2", info.scheme(), info.host()))
        }
    }
}

/// The version an `If-Match` header names, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(crate::scim::version_from_etag)
}
