//! Request ids: every response carries `X-Request-Id`, the client's own when it sent
//! a sane one (so a proxy's or client's id follows the request through), a new
//! UUIDv7 otherwise. The access log and every log line of the request name it.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent id taken as it is.
const MAX_CLIENT_ID: usize = 128;

/// The id of the request being served, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether a client-sent id may be echoed and logged: short, visible ASCII
/// without spaces or quotes, so it cannot forge or split a log line.
fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// A new UUIDv7, its random bits from the thread's generator rather than a system
/// call per request.
fn new_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut text).to_owned()
}

/// The middleware: names the request, serves it inside a span carrying the id,
/// and puts the id on the response (errors included).
pub async fn tag_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_sane(value))
        .map_or_else(new_id, str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.call(req).instrument(span).await?;
    if let Some(header) = header {
        response.headers_mut().insert(X_REQUEST_ID, header);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn new_ids_are_distinct_version_7_uuids() {
        let (a, b) = (super::new_id(), super::new_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }

    #[test]
    fn only_short_visible_ids_are_taken_from_clients() {
        for id in [
            "abc-123",
            "0194f2a0-7c1e-7b7e-9d1a-3c2b1a0f9e8d",
            "trace:1/2",
        ] {
            assert!(is_sane(id), "{id}");
        }
        let long = "a".repeat(129);
        for id in ["", "a b", "a\"b", "a\nb", "é", long.as_str()] {
            assert!(!is_sane(id), "{id:?}");
        }
    }
}
