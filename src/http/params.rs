use actix_web::HttpRequest;

use crate::scim::list::ListRequest;
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

impl QueryParams {
    /// The list and projection parameters of RFC 7644 §3.4.2 and RFC 9865.
    pub fn list_request(&self) -> ListRequest {
        let owned = |name: &str| self.get(name).map(str::to_owned);
        ListRequest {
            filter: owned("filter"),
            sort_by: owned("sortBy"),
            sort_order: owned("sortOrder"),
            start_index: owned("startIndex"),
            count: owned("count"),
            cursor: owned("cursor"),
            attributes: owned("attributes").into_iter().collect(),
            excluded_attributes: owned("excludedAttributes").into_iter().collect(),
        }
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

/// `304 Not Modified` when `If-None-Match` names the current version (RFC 7644 §3.14).
pub fn not_modified(req: &HttpRequest, version: i64) -> Option<actix_web::HttpResponse> {
    let header = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)?
        .to_str()
        .ok()?;
    let current = version.to_string();
    let matches = header
        .split(',')
        .map(crate::scim::version_from_etag)
        .any(|tag| tag == "*" || tag == current);
    matches.then(|| {
        actix_web::HttpResponse::NotModified()
            .insert_header((actix_web::http::header::ETAG, crate::scim::etag(version)))
            .finish()
    })
}
