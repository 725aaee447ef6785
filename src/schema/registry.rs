//! The schema registry: the JSON schema documents in `schemas/`, compiled into the
//! binary, parsed once, and used both to serve `/Schemas` and to validate input.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::urn;

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §2.2 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §2.2 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute definition of a schema document.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default = "default_mutability")]
    pub mutability: Mutability,
    #[serde(default = "default_returned")]
    pub returned: Returned,
    #[serde(default)]
    pub sub_attributes: Vec<AttributeDef>,
    #[serde(default)]
    pub canonical_values: Vec<String>,
}

fn default_mutability() -> Mutability {
    Mutability::ReadWrite
}

fn default_returned() -> Returned {
    Returned::Default
}

impl AttributeDef {
    /// The sub-attribute named `name`, matched case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// A complex attribute declared without sub-attributes holds any JSON object.
    pub fn is_free_form(&self) -> bool {
        self.kind == AttributeType::Complex && self.sub_attributes.is_empty()
    }
}

/// A schema document (RFC 7643 §7).
#[derive(Debug, Clone, Deserialize)]
pub struct SchemaDef {
    pub id: String,
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    /// The attribute named `name`, matched case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A resource type: its core schema and the extensions it may carry.
#[derive(Debug, Clone)]
pub struct ResourceTypeDef {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: &'static str,
    pub extensions: &'static [&'static str],
}

pub const USER_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "User",
    endpoint: "/Users",
    core: urn::CORE_USER,
    extensions: &[urn::ENTERPRISE_USER, urn::ROSTER_USER],
};

pub const GROUP_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "Group",
    endpoint: "/Groups",
    core: urn::CORE_GROUP,
    extensions: &[urn::ROSTER_GROUP],
};

/// The documents as shipped in `schemas/`.
const SCHEMA_DOCUMENTS: &[&str] = &[
    include_str!("../../schemas/user.json"),
    include_str!("../../schemas/group.json"),
    include_str!("../../schemas/enterprise-user.json"),
    include_str!("../../schemas/roster-user.json"),
    include_str!("../../schemas/roster-group.json"),
];
const RESOURCE_TYPES_DOCUMENT: &str = include_str!("../../schemas/resource-types.json");
const SERVICE_PROVIDER_CONFIG_DOCUMENT: &str =
    include_str!("../../schemas/service-provider-config.json");

/// All schemas, parsed, with the original documents kept for `/Schemas`.
pub struct SchemaRegistry {
    schemas: Vec<SchemaDef>,
    documents: Vec<Value>,
    resource_types: Value,
    service_provider_config: Value,
}

impl SchemaRegistry {
    #[allow(
        clippy::expect_used,
        reason = "the documents are compiled in: a broken one is a build defect, which \
                  every_shipped_schema_document_loads finds"
    )]
    fn load() -> SchemaRegistry {
        let mut schemas = Vec::new();
        let mut documents = Vec::new();
        for text in SCHEMA_DOCUMENTS {
            // The documents are part of the binary; a broken one is a build defect.
            let document: Value =
                serde_json::from_str(text).expect("schemas/*.json must be valid JSON");
            let schema: SchemaDef = serde_json::from_value(document.clone())
                .expect("schemas/*.json must be SCIM schema documents");
            schemas.push(schema);
            documents.push(document);
        }
        let resource_types = serde_json::from_str(RESOURCE_TYPES_DOCUMENT)
            .expect("schemas/resource-types.json must be a JSON array");
        let service_provider_config = serde_json::from_str(SERVICE_PROVIDER_CONFIG_DOCUMENT)
            .expect("schemas/service-provider-config.json must be valid JSON");
        SchemaRegistry {
            schemas,
            documents,
            resource_types,
            service_provider_config,
        }
    }

    /// Where the schema with this URN is, matched case-insensitively: a scan of a
    /// handful of URNs, which costs less than lowercasing and hashing the URN. The
    /// URN as written is tried first, as comparing exactly is the cheaper test.
    fn position(&self, urn: &str) -> Option<usize> {
        self.schemas
            .iter()
            .position(|schema| schema.id == urn)
            .or_else(|| {
                self.schemas
                    .iter()
                    .position(|schema| schema.id.eq_ignore_ascii_case(urn))
            })
    }

    /// The schema with this URN, matched case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.position(urn).map(|i| &self.schemas[i])
    }

    /// The schema documents as served by `/Schemas`, without `meta`.
    pub fn documents(&self) -> &[Value] {
        &self.documents
    }

    /// The schema document with this URN, matched case-insensitively.
    pub fn document(&self, urn: &str) -> Option<&Value> {
        self.position(urn).map(|i| &self.documents[i])
    }

    pub fn resource_types(&self) -> &[Value] {
        match &self.resource_types {
            Value::Array(items) => items,
            _ => &[],
        }
    }

    pub fn service_provider_config(&self) -> &Value {
        &self.service_provider_config
    }
}

/// The common attributes every resource has (RFC 7643 §3.1), as definitions, for
/// code that handles attributes by their definition.
pub fn common_attribute(name: &str) -> Option<&'static AttributeDef> {
    static COMMON: OnceLock<Vec<AttributeDef>> = OnceLock::new();
    let common = COMMON.get_or_init(|| {
        let definition = |name: &str, kind: AttributeType, mutability: Mutability| AttributeDef {
            name: name.to_owned(),
            kind,
            multi_valued: false,
            required: false,
            case_exact: true,
            mutability,
            returned: Returned::Default,
            sub_attributes: Vec::new(),
            canonical_values: Vec::new(),
        };
        vec![
            definition("id", AttributeType::String, Mutability::ReadOnly),
            definition("externalId", AttributeType::String, Mutability::ReadWrite),
            definition("meta", AttributeType::Complex, Mutability::ReadOnly),
        ]
    });
    common.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The process-wide registry, loaded on first use.
pub fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(SchemaRegistry::load)
}

/// The extension URN of `resource_type` equal to `key`, ignoring case.
pub fn find_extension(resource_type: &ResourceTypeDef, key: &str) -> Option<&'static str> {
    resource_type
        .extensions
        .iter()
        .copied()
        .find(|urn| urn.eq_ignore_ascii_case(key))
}

/// Splits `urn:…:Ext:attr` into the extension URN and the attribute name.
pub fn split_extension_path<'k>(
    resource_type: &ResourceTypeDef,
    key: &'k str,
) -> Option<(&'static str, &'k str)> {
    resource_type.extensions.iter().copied().find_map(|urn| {
        let prefix = key.get(..urn.len())?;
        let rest = key.get(urn.len()..)?;
        if prefix.eq_ignore_ascii_case(urn) {
            rest.strip_prefix(':')
                .filter(|name| !name.is_empty())
                .map(|name| (urn, name))
        } else {
            None
        }
    })
}

#[allow(
    clippy::expect_used,
    reason = "resource types are constants naming shipped schemas, which \
              every_shipped_schema_document_loads finds"
)]
pub fn core_schema(resource_type: &ResourceTypeDef) -> &'static SchemaDef {
    // The resource types are constants naming shipped schemas (checked by tests).
    registry()
        .schema(resource_type.core)
        .expect("core schema of a resource type is shipped")
}

#[allow(
    clippy::expect_used,
    reason = "callers pass an extension of a resource type, a constant naming a shipped \
              schema, which every_shipped_schema_document_loads finds"
)]
pub fn extension_schema(urn: &str) -> &'static SchemaDef {
    registry()
        .schema(urn)
        .expect("extension schema of a resource type is shipped")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_schema_document_loads() {
        let registry = registry();
        for urn in [
            urn::CORE_USER,
            urn::CORE_GROUP,
            urn::ENTERPRISE_USER,
            urn::ROSTER_USER,
            urn::ROSTER_GROUP,
        ] {
            assert!(registry.schema(urn).is_some(), "{urn} missing");
        }
    }

    #[test]
    fn schema_urns_and_attribute_names_match_case_insensitively() {
        let user = registry()
            .schema("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER")
            .expect("core user schema");
        assert_eq!(
            user.attribute("USERNAME").map(|a| a.name.as_str()),
            Some("userName")
        );
        let emails = user.attribute("emails").expect("emails");
        assert_eq!(
            emails.sub_attribute("VALUE").map(|a| a.name.as_str()),
            Some("value")
        );
    }

    #[test]
    fn every_resource_type_names_known_schemas() {
        let registry = registry();
        for resource_type in registry.resource_types() {
            let core = resource_type["schema"].as_str().unwrap_or_default();
            assert!(registry.schema(core).is_some(), "unknown schema {core}");
            for extension in resource_type["schemaExtensions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let urn = extension["schema"].as_str().unwrap_or_default();
                assert!(registry.schema(urn).is_some(), "unknown extension {urn}");
            }
        }
    }
}
