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
    const SCIM_PATH: &str = "/scim/v2";
    if let Some(public) = &state.settings.public_url {
        return BaseUrl(format!("{}{SCIM_PATH}", public.trim_end_matches('/')));
    }
    let info;
    let (scheme, host) = match direct_scheme_and_host(req) {
        Some(direct) => direct,
        None => {
            info = req.connection_info();
            (info.scheme(), info.host())
        }
    };
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + SCIM_PATH.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    url.push_str(SCIM_PATH);
    BaseUrl(url)
}

/// The scheme and host of a request that names no proxy headers, as actix-web's
/// `ConnectionInfo` would find them, without building one (it also formats the
/// peer's address, a measurable part of a look-up). `None` when proxy headers
/// (`Forwarded`, `X-Forwarded-Proto`, `X-Forwarded-Host`) need its full reading.
fn direct_scheme_and_host(req: &HttpRequest) -> Option<(&str, &str)> {
    use actix_web::http::header::{self, FORWARDED, X_FORWARDED_HOST, X_FORWARDED_PROTO};
    let headers = req.headers();
    if [FORWARDED, X_FORWARDED_PROTO, X_FORWARDED_HOST]
        .iter()
        .any(|name| headers.contains_key(name))
    {
        return None;
    }
    let scheme = req
        .uri()
        .scheme_str()
        .unwrap_or(if req.app_config().secure() {
            "https"
        } else {
            "http"
        });
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
        .unwrap_or_else(|| req.app_config().host());
    Some((scheme, host))
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
