//! A user's core and enterprise attributes as the store keeps them: one JSON object,
//! kept as its text, so that a read can write the attributes out without rebuilding
//! them value by value. A read parses the text once, when it writes it out; callers
//! that change the attributes (PATCH, sign-in claims) parse it into a map.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::scim::urn::ENTERPRISE_USER;

/// A JSON object held as text, with `active`, which Roster reads on every load, kept
/// beside it (the store keeps it in a column of its own).
#[derive(Clone)]
pub struct AttributeDocument {
    text: String,
    active: bool,
}

impl AttributeDocument {
    /// A document as the store returns it, with its stored `active` flag. The text is
    /// proven one JSON object when it is read ([`Self::members`], [`Self::to_map`]).
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

    /// The top-level members in stored order, each value as its JSON text; fails
    /// unless the text is one JSON object.
    pub fn members(&self) -> Result<DocumentMembers<'_>, serde_json::Error> {
        let Members(members) = serde_json::from_str(&self.text)?;
        Ok(DocumentMembers(members))
    }
}

/// The top-level members of an [`AttributeDocument`], borrowing from its text.
pub struct DocumentMembers<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> DocumentMembers<'a> {
    /// Whether the enterprise extension (RFC 7643 §4.3) holds any attribute.
    pub fn has_enterprise(&self) -> bool {
        self.0.iter().any(|(key, _)| key == ENTERPRISE_USER)
    }

    /// Each member's key and JSON text, in stored order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.0.iter().map(|(key, value)| (key.as_ref(), *value))
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

/// The members of an object, borrowing from its text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(16);
                while let Some(Key(key)) = map.next_key()? {
                    members.push((key, map.next_value::<&RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(value: Value) -> AttributeDocument {
        AttributeDocument::from_stored(value.to_string(), true)
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        for text in ["[1,2]", "\"userName\"", "{\"a\":", "", "null"] {
            let doc = AttributeDocument::from_stored(text.to_owned(), true);
            assert!(doc.members().is_err(), "{text}");
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
    fn enterprise_is_seen_only_as_a_top_level_member() {
        let has_enterprise = |value: Value| document(value).members().unwrap().has_enterprise();
        assert!(has_enterprise(
            json!({"userName": "a", ENTERPRISE_USER: {"department": "x"}})
        ));
        assert!(!has_enterprise(
            json!({"userName": "a", "title": ENTERPRISE_USER})
        ));
        assert!(!has_enterprise(json!({"name": {ENTERPRISE_USER: 1}})));
    }

    #[test]
    fn members_keep_order_and_raw_values() {
        let doc = document(
            json!({"userName": "a", "name": {"givenName": "Ann"}, "emails": [{"value": "a@x"}]}),
        );
        let members = doc.members().unwrap();
        let keys: Vec<&str> = members.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["userName", "name", "emails"]);
        assert_eq!(
            members.iter().nth(1).unwrap().1.get(),
            r#"{"givenName":"Ann"}"#
        );
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let doc = AttributeDocument::from_stored(r#"{"a\"b":1}"#.to_owned(), true);
        assert_eq!(doc.members().unwrap().iter().next().unwrap().0, "a\"b");
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
        assert!(doc.members().unwrap().has_enterprise());
    }
}
