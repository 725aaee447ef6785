use std::borrow::Cow;

use actix_web::HttpRequest;

use crate::scim::BaseUrl;
use crate::scim::list::ListRequest;

use super::AppState;
use super::proxy::is_valid_host;

/// Query parameters in their order, looked up by name ignoring case (clients vary);
/// borrowed from the query string unless percent-decoding changed them.
pub struct QueryParams<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> QueryParams<'a> {
    /// Reads the query string as `application/x-www-form-urlencoded`: `+` is a space,
    /// and bytes that are not UTF-8 after decoding become U+FFFD.
    pub fn from_request(req: &'a HttpRequest) -> QueryParams<'a> {
        QueryParams(form_urlencoded::parse(req.query_string().as_bytes()).collect())
    }

    /// Where the first parameter called `name` is.
    fn position(&self, name: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(key, _)| key.eq_ignore_ascii_case(name))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|at| self.0[at].1.as_ref())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> {
        self.0
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    /// The parameters' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_ref())
    }

    /// Takes out the first value of `name`, leaving the others in order.
    fn take(&mut self, name: &str) -> Option<String> {
        let at = self.position(name)?;
        Some(self.0.remove(at).1.into_owned())
    }

    /// The list and projection parameters of RFC 7644 §3.4.2 and RFC 9865.
    pub fn list_request(mut self) -> ListRequest {
        ListRequest {
            filter: self.take("filter"),
            sort_by: self.take("sortBy"),
            sort_order: self.take("sortOrder"),
            start_index: self.take("startIndex"),
            count: self.take("count"),
            cursor: self.take("cursor"),
            attributes: self.take("attributes").into_iter().collect(),
            excluded_attributes: self.take("excludedAttributes").into_iter().collect(),
        }
    }
}

/// The SCIM base URL as this request reached it: `--public-url` when set; else the
/// scheme and host a trusted proxy forwarded; else the request's own Host header
/// when it is a well-formed `host[:port]`, and the listening address when not.
pub fn base_url(req: &HttpRequest, state: &AppState) -> BaseUrl {
    const SCIM_PATH: &str = "/scim/v2";
    if let Some(public) = &state.settings.public_url {
        return BaseUrl(format!("{}{SCIM_PATH}", public.trim_end_matches('/')));
    }
    let info;
    let (mut scheme, mut host) = direct_scheme_and_host(req);
    if has_proxy_headers(req) && state.settings.trusted_proxies.sent(req) {
        info = req.connection_info();
        if info.scheme().eq_ignore_ascii_case("https") {
            scheme = "https";
        } else if info.scheme().eq_ignore_ascii_case("http") {
            scheme = "http";
        }
        host = info.host();
    }
    if !is_valid_host(host) {
        host = req.app_config().host();
    }
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + SCIM_PATH.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    url.push_str(SCIM_PATH);
    BaseUrl(url)
}

/// Whether the request names a proxy's view of it (`Forwarded`, `X-Forwarded-Proto`,
/// `X-Forwarded-Host`), which actix-web's `ConnectionInfo` reads.
fn has_proxy_headers(req: &HttpRequest) -> bool {
    use actix_web::http::header::{FORWARDED, X_FORWARDED_HOST, X_FORWARDED_PROTO};
    let headers = req.headers();
    [FORWARDED, X_FORWARDED_PROTO, X_FORWARDED_HOST]
        .iter()
        .any(|name| headers.contains_key(name))
}

/// The scheme and host of a request as it reached this server, read without building
/// actix-web's `ConnectionInfo` (which also formats the peer's address, a measurable
/// part of a look-up).
fn direct_scheme_and_host(req: &HttpRequest) -> (&'static str, &str) {
    use actix_web::http::header;
    let scheme = match req.uri().scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        Some(_) => "http",
        None if req.app_config().secure() => "https",
        None => "http",
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
        .unwrap_or_else(|| req.app_config().host());
    (scheme, host)
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

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn query_parameters_are_decoded_and_found_ignoring_case() {
        let req = TestRequest::with_uri("/Users?FILTER=userName+eq+%22a%C3%A9%22&Count=5")
            .to_http_request();
        let params = QueryParams::from_request(&req);
        assert_eq!(params.get("filter"), Some("userName eq \"aé\""));
        assert_eq!(params.get("count"), Some("5"));
        assert_eq!(params.get("startIndex"), None);
    }

    #[test]
    fn a_repeated_parameter_counts_by_its_first_value() {
        let req = TestRequest::with_uri("/Users?count=5&sortBy=userName&count=7&filter=x")
            .to_http_request();
        let request = QueryParams::from_request(&req).list_request();
        assert_eq!(request.count.as_deref(), Some("5"));
        assert_eq!(request.sort_by.as_deref(), Some("userName"));
        assert_eq!(request.filter.as_deref(), Some("x"));
        assert_eq!(request.cursor, None);
    }

    #[test]
    fn undecodable_bytes_become_replacement_characters() {
        let req = TestRequest::with_uri("/Users?filter=%FF").to_http_request();
        assert_eq!(
            QueryParams::from_request(&req).get("filter"),
            Some("\u{FFFD}")
        );
    }
}
