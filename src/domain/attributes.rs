//! A user's core and enterprise attributes as the store keeps them: one JSON object,
//! kept as its text, so that a read writes the attributes out by copying the text
//! rather than rebuilding them value by value. Callers that change the attributes
//! (PATCH, sign-in claims) parse it into a map.
//!
//! The text is only ever serde_json's compact writing of a validated document, and a
//! read relies on that: a key is written as it is (the schemas' names need no
//! escapes), and no object but the top-level one may hold a key named like a schema.

use std::fmt;
use std::sync::LazyLock;

use memchr::memmem;
use serde_json::{Map, Value};

/// The enterprise extension's key as the stored text writes it.
const ENTERPRISE_KEY: &str = "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":";

/// A JSON object held as text, with `active`, which Roster reads on every load, kept
/// beside it (the store keeps it in a column of its own).
#[derive(Clone)]
pub struct AttributeDocument {
    text: String,
    active: bool,
}

impl AttributeDocument {
    /// A document as the store returns it, with its stored `active` flag.
    pub fn from_stored(text: String, active: bool) -> Self {
        AttributeDocument { text, active }
    }

    /// The document of an attribute map.
    pub fn from_map(map: Map<String, Value>) -> Self {
        let active = map.get("active").and_then(Value::as_bool).unwrap_or(true);
        AttributeDocument {
            text: Value::Object(map).to_string(),
            active,
        }
    }

    /// The attributes as a map, for code that reads or changes values.
    pub fn to_map(&self) -> Result<Map<String, Value>, serde_json::Error> {
        serde_json::from_str(&self.text)
    }

    /// `active` as stored; a user without it is active (RFC 7643 §4.1.1 leaves the
    /// default to the service).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The object's members as JSON text, without the braces around them
    /// (`"userName":"a","active":true`); `None` unless the text is braced.
    pub fn members_text(&self) -> Option<&str> {
        Some(
            self.text
                .trim()
                .strip_prefix('{')?
                .strip_suffix('}')?
                .trim(),
        )
    }

    /// Whether the enterprise extension (RFC 7643 §4.3) is present. Its URN, quoted
    /// and followed by a colon, can only be the top-level key: no other object may
    /// hold that key, and the quotes of a string holding the URN are escaped.
    pub fn has_enterprise(&self) -> bool {
        static FINDER: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new(ENTERPRISE_KEY));
        FINDER.find(self.text.as_bytes()).is_some()
    }
}

impl AttributeDocument {
    /// Whether the document may name a manager: false only when it surely does not,
    /// so that most reads need not parse it to find out.
    pub fn may_have_manager(&self) -> bool {
        static FINDER: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new("\"manager\":"));
        self.has_enterprise() && FINDER.find(self.text.as_bytes()).is_some()
    }
}

impl PartialEq for AttributeDocument {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for AttributeDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urn::ENTERPRISE_USER;
    use serde_json::json;

    fn document(value: Value) -> AttributeDocument {
        AttributeDocument::from_stored(value.to_string(), true)
    }

    #[test]
    fn members_text_is_the_text_inside_the_braces() {
        let doc = document(json!({"userName": "a", "name": {"givenName": "Ann"}}));
        assert_eq!(
            doc.members_text(),
            Some(r#""userName":"a","name":{"givenName":"Ann"}"#)
        );
        assert_eq!(document(json!({})).members_text(), Some(""));
    }

    #[test]
    fn text_that_is_not_braced_has_no_members() {
        for text in ["[1,2]", "\"userName\"", "{\"a\":1", "", "null"] {
            let doc = AttributeDocument::from_stored(text.to_owned(), true);
            assert_eq!(doc.members_text(), None, "{text}");
            assert!(doc.to_map().is_err(), "{text}");
        }
    }

    #[test]
    fn a_map_without_active_is_active() {
        let active = |value: Value| {
            AttributeDocument::from_map(value.as_object().cloned().unwrap()).is_active()
        };
        assert!(active(json!({"userName": "a"})));
        assert!(!active(json!({"userName": "a", "active": false})));
        assert!(active(json!({"userName": "a", "active": true})));
    }

    #[test]
    fn the_enterprise_key_is_the_urn_quoted() {
        assert_eq!(ENTERPRISE_KEY, format!("\"{ENTERPRISE_USER}\":"));
    }

    #[test]
    fn enterprise_is_seen_as_a_member_not_as_a_value() {
        let has_enterprise = |value: Value| document(value).has_enterprise();
        assert!(has_enterprise(
            json!({"userName": "a", ENTERPRISE_USER: {"department": "x"}})
        ));
        assert!(has_enterprise(
            json!({ENTERPRISE_USER: {}, "userName": "a"})
        ));
        assert!(!has_enterprise(json!({"userName": "a"})));
        assert!(!has_enterprise(
            json!({"userName": "a", "title": ENTERPRISE_USER})
        ));
        assert!(!has_enterprise(
            json!({"userName": "a", "title": format!("\"{ENTERPRISE_USER}\":")})
        ));
    }

    #[test]
    fn a_manager_may_be_named_only_with_the_enterprise_extension() {
        let may = |value: Value| document(value).may_have_manager();
        assert!(may(
            json!({"userName": "a", ENTERPRISE_USER: {"manager": {"value": "m"}}})
        ));
        assert!(!may(
            json!({"userName": "a", ENTERPRISE_USER: {"department": "x"}})
        ));
        assert!(!may(json!({"userName": "a", "title": "manager"})));
    }

    #[test]
    fn a_map_round_trips() {
        let map = json!({"userName": "a", "active": false, ENTERPRISE_USER: {}})
            .as_object()
            .cloned()
            .unwrap();
        let doc = AttributeDocument::from_map(map.clone());
        assert_eq!(doc.to_map().unwrap(), map);
        assert!(!doc.is_active());
        assert!(doc.has_enterprise());
    }
}
