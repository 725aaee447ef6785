//! Credentials kept out of logs: the values of credential-like query parameters
//! (`access_token`, `client_secret`, `code`, `password`, …) are replaced before a
//! request target is written anywhere.

use std::borrow::Cow;

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

/// Parameter names whose values are always credentials (compared ignoring case,
/// after percent-decoding).
const CREDENTIAL_NAMES: &[&str] = &[
    "code",
    "assertion",
    "client_assertion",
    "api_key",
    "apikey",
    "key",
    "sig",
    "signature",
    "authorization",
    "session",
    "otp",
];

/// Name endings that mark a credential: `token` covers `access_token`,
/// `refresh_token`, `id_token` and `token` itself.
const CREDENTIAL_SUFFIXES: &[&str] = &["token", "secret", "password", "passwd"];

/// `path?query` with the values of credential-like parameters replaced by
/// [`REDACTED`]; borrowed unchanged when there is nothing to hide.
pub fn redact_target(target: &str) -> Cow<'_, str> {
    match target.split_once('?') {
        Some((path, query)) => match redact_query(query) {
            Cow::Borrowed(_) => Cow::Borrowed(target),
            Cow::Owned(query) => Cow::Owned(format!("{path}?{query}")),
        },
        None => Cow::Borrowed(target),
    }
}

/// A query string (or form body) with the values of credential-like parameters
/// replaced by [`REDACTED`]. Parameters keep their order and raw spelling; a name
/// without `=` has no value to hide.
pub fn redact_query(query: &str) -> Cow<'_, str> {
    if !query.split('&').any(|pair| {
        pair.split_once('=')
            .is_some_and(|(name, _)| is_credential(name))
    }) {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential(name) => Cow::Owned(format!("{name}={REDACTED}")),
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

/// Whether a raw (possibly percent-encoded) parameter name names a credential.
fn is_credential(raw_name: &str) -> bool {
    let decoded: String = form_urlencoded::parse(raw_name.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default();
    let name = decoded.trim().to_ascii_lowercase();
    CREDENTIAL_NAMES.contains(&name.as_str())
        || CREDENTIAL_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_values_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_target("/scim/v2/Users?access_token=abc&filter=userName+eq+%22x%22"),
            "/scim/v2/Users?access_token=[redacted]&filter=userName+eq+%22x%22"
        );
        for name in [
            "client_secret",
            "code",
            "password",
            "token",
            "refresh_token",
            "id_token",
            "assertion",
            "client_assertion",
            "scim_token",
        ] {
            assert_eq!(
                redact_query(&format!("{name}=s3cret&count=5")),
                format!("{name}=[redacted]&count=5"),
                "{name}"
            );
        }
    }

    #[test]
    fn names_match_ignoring_case_and_percent_encoding() {
        assert_eq!(redact_query("ACCESS_TOKEN=abc"), "ACCESS_TOKEN=[redacted]");
        assert_eq!(
            redact_query("Client_Secret=abc"),
            "Client_Secret=[redacted]"
        );
        assert_eq!(
            redact_query("access%5Ftoken=abc"),
            "access%5Ftoken=[redacted]"
        );
        assert_eq!(redact_query("%70assword=abc"), "%70assword=[redacted]");
        assert_eq!(redact_query("pass+word=abc"), "pass+word=abc");
    }

    #[test]
    fn every_repetition_is_redacted() {
        assert_eq!(
            redact_query("token=a&count=1&token=b&TOKEN=c"),
            "token=[redacted]&count=1&token=[redacted]&TOKEN=[redacted]"
        );
    }

    #[test]
    fn values_that_contain_equals_signs_are_hidden_whole() {
        assert_eq!(
            redact_query("assertion=eyJ.a=b=c&x=1"),
            "assertion=[redacted]&x=1"
        );
    }

    #[test]
    fn nothing_to_hide_leaves_the_target_borrowed() {
        for target in [
            "/scim/v2/Users",
            "/scim/v2/Users?",
            "/scim/v2/Users?token",
            "/scim/v2/Users?filter=token+eq+%22x%22&count=1",
            "/scim/v2/Users?&&=x",
            "/scim/v2/Users?tokenizer=1",
        ] {
            assert!(
                matches!(redact_target(target), Cow::Borrowed(same) if same == target),
                "{target}"
            );
        }
    }

    #[test]
    fn empty_credential_values_are_marked_too() {
        assert_eq!(redact_query("code=&a=1"), "code=[redacted]&a=1");
    }
}
