//! A user's core and enterprise attributes as the store keeps them: one JSON object,
//! checked once when read and then kept as its text, so that a read can write the
//! attributes out without rebuilding them value by value. Callers that change the
//! attributes (PATCH, sign-in claims) parse them into a map.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::scim::urn::ENTERPRISE_USER;

/// A JSON object held as text, with the two facts Roster reads from it on every load,
/// taken in the same pass that proves the text one object.
#[derive(Clone)]
pub struct AttributeDocument {
    /// Proven one JSON object by the scan that read the flags.
    text: String,
    active: bool,
    enterprise: bool,
}

impl AttributeDocument {
    /// Checks that `text` is one JSON object; fails on anything else.
    pub fn from_text(text: String) -> Result<Self, serde_json::Error> {
        let (mut active, mut enterprise) = (true, false);
        for (key, value) in members_of(&text)? {
            match key.as_ref() {
                "active" => active = serde_json::from_str(value.get()).unwrap_or(true),
                ENTERPRISE_USER => enterprise = true,
                _ => {}
            }
        }
        Ok(AttributeDocument {
            text,
            active,
            enterprise,
        })
    }

    /// The document of an attribute map.
    pub fn from_map(map: Map<String, Value>) -> Self {
        let active = map.get("active").and_then(Value::as_bool).unwrap_or(true);
        let enterprise = map.contains_key(ENTERPRISE_USER);
        AttributeDocument {
            text: Value::Object(map).to_string(),
            active,
            enterprise,
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

    /// Whether the enterprise extension (RFC 7643 §4.3) holds any attribute.
    pub fn has_enterprise(&self) -> bool {
        self.enterprise
    }

    /// The top-level members in stored order, each value as its JSON text.
    pub fn members(&self) -> Result<Vec<(Cow<'_, str>, &RawValue)>, serde_json::Error> {
        members_of(&self.text)
    }
}

fn members_of(text: &str) -> Result<Vec<(Cow<'_, str>, &RawValue)>, serde_json::Error> {
    let Members(members) = serde_json::from_str(text)?;
    Ok(members)
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
        AttributeDocument::from_text(value.to_string()).unwrap()
    }

    #[test]
    fn text_that_is_not_an_object_is_refused() {
        for text in ["[1,2]", "\"userName\"", "{\"a\":", "", "null"] {
            assert!(
                AttributeDocument::from_text(text.to_owned()).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_user_without_active_is_active() {
        assert!(document(json!({"userName": "a"})).is_active());
        assert!(!document(json!({"userName": "a", "active": false})).is_active());
        assert!(document(json!({"userName": "a", "active": true})).is_active());
    }

    #[test]
    fn enterprise_is_seen_only_as_a_top_level_member() {
        assert!(
            document(json!({"userName": "a", ENTERPRISE_USER: {"department": "x"}}))
                .has_enterprise()
        );
        assert!(!document(json!({"userName": "a", "title": ENTERPRISE_USER})).has_enterprise());
        assert!(!document(json!({"name": {ENTERPRISE_USER: 1}})).has_enterprise());
    }

    #[test]
    fn members_keep_order_and_raw_values() {
        let doc = document(
            json!({"userName": "a", "name": {"givenName": "Ann"}, "emails": [{"value": "a@x"}]}),
        );
        let members = doc.members().unwrap();
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["userName", "name", "emails"]);
        assert_eq!(members[1].1.get(), r#"{"givenName":"Ann"}"#);
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let doc = AttributeDocument::from_text(r#"{"a\"b":1}"#.to_owned()).unwrap();
        assert_eq!(doc.members().unwrap()[0].0, "a\"b");
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
