//! Builders for test data.

use serde_json::{Value, json};

/// A SCIM User body.
pub struct UserBuilder {
    body: Value,
}

impl UserBuilder {
    pub fn new(user_name: &str) -> Self {
        UserBuilder {
            body: json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
            }),
        }
    }

    pub fn with(mut self, attribute: &str, value: Value) -> Self {
        self.body[attribute] = value;
        self
    }

    pub fn name(self, given: &str, family: &str) -> Self {
        self.with("name", json!({"givenName": given, "familyName": family}))
    }

    pub fn email(mut self, address: &str, kind: &str) -> Self {
        let emails = self.body["emails"].as_array().cloned().unwrap_or_default();
        let mut emails = emails;
        emails.push(json!({"value": address, "type": kind, "primary": emails.is_empty()}));
        self.body["emails"] = Value::Array(emails);
        self
    }

    pub fn schema(mut self, urn: &str) -> Self {
        if let Some(schemas) = self.body["schemas"].as_array_mut() {
            schemas.push(urn.into());
        }
        self
    }

    /// Adds the enterprise extension with these attributes.
    pub fn enterprise(self, attributes: Value) -> Self {
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        self.schema(urn).with(urn, attributes)
    }

    /// Adds the Roster extension with these attributes.
    pub fn roster(self, attributes: Value) -> Self {
        let urn = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
        self.schema(urn).with(urn, attributes)
    }

    pub fn build(self) -> Value {
        self.body
    }
}
