//! Input validation: a client's resource JSON checked against the schema registry and
//! rewritten into canonical form (canonical attribute names and schema URNs, booleans
//! as booleans, multi-valued attributes as arrays, read-only attributes dropped).
//!
//! Client quirks are absorbed here, once, instead of in handlers: attribute names and
//! URNs in any case, `"True"`/`"False"` strings for booleans, a single object where an
//! array is expected, and a client-sent `id` or `meta`.

use serde_json::{Map, Value};

use super::error::ScimError;
use crate::schema::{
    AttributeDef, AttributeType, Mutability, ResourceTypeDef, SchemaDef, core_schema,
    extension_schema, find_extension, split_extension_path,
};

/// A validated resource body.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedResource {
    /// Core attributes at the top level, extension attributes under their URN.
    pub attributes: Map<String, Value>,
    /// The extension URNs the body named in `schemas` or used as keys.
    pub extensions: Vec<&'static str>,
}

/// Validates a whole resource body (POST or PUT) of `resource_type`.
pub fn normalize_resource(
    body: &Value,
    resource_type: &ResourceTypeDef,
) -> Result<NormalizedResource, ScimError> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut extensions = Vec::new();
    let mut attributes = Map::new();
    let core = core_schema(resource_type);

    for (key, value) in fields {
        if key.eq_ignore_ascii_case("schemas") {
            for urn in schema_list(value)? {
                if urn.eq_ignore_ascii_case(resource_type.core) {
                    continue;
                }
                let extension = find_extension(resource_type, urn).ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "unknown schema '{urn}' for a {} resource; known schemas are {}",
                        resource_type.name,
                        known_schemas(resource_type)
                    ))
                })?;
                push_unique(&mut extensions, extension);
            }
            continue;
        }
        if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("meta") {
            continue; // assigned by the server (RFC 7643 §3.1)
        }
        if key.eq_ignore_ascii_case("externalId") {
            match value {
                Value::Null => {}
                Value::String(text) => {
                    attributes.insert("externalId".into(), Value::String(text.clone()));
                }
                _ => return Err(ScimError::invalid_value("'externalId' must be a string")),
            }
            continue;
        }
        if let Some(extension) = find_extension(resource_type, key) {
            push_unique(&mut extensions, extension);
            let schema = extension_schema(extension);
            let Value::Object(extension_fields) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "'{extension}' must be a JSON object of that schema's attributes"
                )));
            };
            let target = extension_object(&mut attributes, extension);
            for (name, attribute_value) in extension_fields {
                if name.eq_ignore_ascii_case("schemas") {
                    continue; // some clients repeat the URN list inside the extension
                }
                put_attribute(target, schema, name, attribute_value, extension)?;
            }
            continue;
        }
        if let Some((extension, name)) = split_extension_path(resource_type, key) {
            // `urn:…:enterprise:2.0:User:employeeNumber` used as a key.
            push_unique(&mut extensions, extension);
            let schema = extension_schema(extension);
            let target = extension_object(&mut attributes, extension);
            put_attribute(target, schema, name, value, extension)?;
            continue;
        }
        // `get`: a key may hold a multi-byte character across byte 4.
        if key.len() > 4 && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            return Err(ScimError::invalid_value(format!(
                "unknown schema or attribute '{key}' for a {} resource; known schemas are {}",
                resource_type.name,
                known_schemas(resource_type)
            )));
        }
        put_attribute(&mut attributes, core, key, value, resource_type.name)?;
    }

    // An extension object left empty (all its values null) is not stored.
    attributes.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));

    check_required(&attributes, core, None)?;
    for extension in &extensions {
        if let Some(Value::Object(extension_attributes)) = attributes.get(*extension) {
            check_required(
                extension_attributes,
                extension_schema(extension),
                Some(extension),
            )?;
        }
    }
    Ok(NormalizedResource {
        attributes,
        extensions,
    })
}

/// Validates one attribute value against its definition. `Ok(None)` means the value
/// is unassigned (null, or an empty array or object).
pub fn normalize_value(
    definition: &AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if definition.multi_valued {
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single], // OneLogin sends one object where an array belongs
        };
        let mut normalized = Vec::with_capacity(elements.len());
        for element in elements {
            if let Some(v) = normalize_single(definition, element, path)? {
                normalized.push(v);
            }
        }
        if normalized.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Value::Array(normalized)));
    }
    if value.is_array() {
        return Err(ScimError::invalid_value(format!(
            "'{path}' is single-valued; an array is not allowed"
        )));
    }
    normalize_single(definition, value, path)
}

fn normalize_single(
    definition: &AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    let wrong_type = |expected: &str| {
        ScimError::invalid_value(format!(
            "'{path}' must be {expected}, not {}",
            json_type_name(value)
        ))
    };
    let normalized = match definition.kind {
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            Value::String(_) => value.clone(),
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("a string")),
        },
        AttributeType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Value::Bool(false),
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("a boolean")),
        },
        AttributeType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("an integer")),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => value.clone(),
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("a number")),
        },
        AttributeType::DateTime => match value {
            Value::String(text) => {
                if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                    return Err(ScimError::invalid_value(format!(
                        "'{path}' must be an xsd:dateTime such as 2026-01-31T12:00:00Z, not '{text}'"
                    )));
                }
                value.clone()
            }
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("a dateTime string")),
        },
        AttributeType::Complex => match value {
            // Entra ID sends the enterprise `manager` as a bare id: read it as `{"value": …}`.
            Value::String(text) if definition.sub_attribute("value").is_some() => {
                let mut wrapped = Map::new();
                wrapped.insert("value".into(), Value::String(text.clone()));
                return normalize_single(definition, &Value::Object(wrapped), path);
            }
            // Free-form data is kept as given, an empty object included.
            Value::Object(_) if definition.is_free_form() => value.clone(),
            Value::Object(fields) => {
                let mut out = Value::Object(Map::new());
                for (name, sub_value) in fields {
                    let Some(sub) = definition.sub_attribute(name) else {
                        return Err(ScimError::invalid_value(format!(
                            "'{path}' has no sub-attribute '{name}'; its sub-attributes are {}",
                            definition
                                .sub_attributes
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    };
                    if sub.mutability == Mutability::ReadOnly {
                        continue;
                    }
                    let sub_path = format!("{path}.{}", sub.name);
                    if let Some(v) = normalize_value(sub, sub_value, &sub_path)? {
                        out[sub.name.as_str()] = v;
                    }
                }
                if out.as_object().is_some_and(Map::is_empty) {
                    return Ok(None);
                }
                for sub in &definition.sub_attributes {
                    if sub.required
                        && sub.mutability != Mutability::ReadOnly
                        && out.get(&sub.name).is_none()
                    {
                        return Err(ScimError::invalid_value(format!(
                            "'{path}.{}' is required",
                            sub.name
                        )));
                    }
                }
                out
            }
            Value::Null => return Ok(None),
            _ => return Err(wrong_type("a JSON object")),
        },
    };
    Ok(Some(normalized))
}

/// Puts `name: value`, validated against `schema`, into the object `target`.
fn put_attribute(
    target: &mut Map<String, Value>,
    schema: &SchemaDef,
    name: &str,
    value: &Value,
    owner: &str,
) -> Result<(), ScimError> {
    let Some(definition) = schema.attribute(name) else {
        return Err(ScimError::invalid_value(format!(
            "unknown attribute '{name}' in {owner}"
        )));
    };
    if definition.mutability == Mutability::ReadOnly {
        return Ok(()); // RFC 7644 §3.3: read-only values sent by a client are ignored
    }
    if let Some(v) = normalize_value(definition, value, &definition.name)? {
        if definition.multi_valued {
            check_single_primary(&definition.name, &v)?;
        }
        target.insert(definition.name.clone(), v);
    }
    Ok(())
}

/// The object under `urn` in `attributes`, created empty if absent.
pub(crate) fn extension_object<'m>(
    attributes: &'m mut Map<String, Value>,
    urn: &str,
) -> &'m mut Map<String, Value> {
    let slot = attributes
        .entry(urn.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("slot was just made an object"),
    }
}

/// RFC 7643 §2.4: `primary: true` appears at most once in a multi-valued attribute.
pub fn check_single_primary(name: &str, values: &Value) -> Result<(), ScimError> {
    let primaries = values
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
                .count()
        })
        .unwrap_or(0);
    if primaries > 1 {
        return Err(several_primaries(name, primaries));
    }
    Ok(())
}

/// The error for a multi-valued attribute with `count` (more than one) primary values.
pub fn several_primaries(name: &str, count: usize) -> ScimError {
    ScimError::invalid_value(format!(
        "'{name}' has {count} values marked primary; at most one may be"
    ))
}

fn check_required(
    attributes: &Map<String, Value>,
    schema: &SchemaDef,
    extension: Option<&str>,
) -> Result<(), ScimError> {
    for definition in &schema.attributes {
        if definition.required
            && definition.mutability != Mutability::ReadOnly
            && !attributes.contains_key(&definition.name)
        {
            let name = match extension {
                Some(urn) => format!("{urn}:{}", definition.name),
                None => definition.name.clone(),
            };
            return Err(ScimError::invalid_value(format!(
                "the required attribute '{name}' is missing"
            )));
        }
    }
    Ok(())
}

fn schema_list(value: &Value) -> Result<Vec<&str>, ScimError> {
    let invalid = || ScimError::invalid_syntax("'schemas' must be an array of schema URNs");
    let Value::Array(items) = value else {
        return Err(invalid());
    };
    items
        .iter()
        .map(|item| item.as_str().ok_or_else(invalid))
        .collect()
}

fn known_schemas(resource_type: &ResourceTypeDef) -> String {
    std::iter::once(resource_type.core)
        .chain(resource_type.extensions.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

fn push_unique(list: &mut Vec<&'static str>, urn: &'static str) {
    if !list.contains(&urn) {
        list.push(urn);
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER_RESOURCE;
    use crate::urn;
    use serde_json::json;

    fn normalize(body: Value) -> Result<Map<String, Value>, ScimError> {
        normalize_resource(&body, &USER_RESOURCE).map(|r| r.attributes)
    }

    #[test]
    fn attribute_names_in_any_case_become_canonical() {
        let attrs =
            normalize(json!({"UserName": "bjensen", "NAME": {"GIVENNAME": "Barbara"}})).unwrap();
        assert_eq!(attrs["userName"], "bjensen");
        assert_eq!(attrs["name"]["givenName"], "Barbara");
    }

    #[test]
    fn boolean_strings_become_booleans() {
        let attrs = normalize(json!({"userName": "a", "active": "False"})).unwrap();
        assert_eq!(attrs["active"], false);
    }

    #[test]
    fn single_object_for_multi_valued_attribute_becomes_array() {
        let attrs = normalize(json!({"userName": "a", "emails": {"value": "a@b.c"}})).unwrap();
        assert_eq!(attrs["emails"], json!([{"value": "a@b.c"}]));
    }

    #[test]
    fn missing_user_name_is_invalid_value() {
        let err = normalize(json!({"displayName": "x"})).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("userName"), "{}", err.detail);
    }

    #[test]
    fn unknown_attribute_is_rejected_with_its_name() {
        let err = normalize(json!({"userName": "a", "favouriteColour": "red"})).unwrap_err();
        assert!(err.detail.contains("favouriteColour"));
    }

    /// The stored text relies on this to find the enterprise extension by its key.
    #[test]
    fn a_schema_urn_is_refused_below_the_top_level() {
        let nested = [
            json!({"userName": "a", "name": {urn::ENTERPRISE_USER: {}}}),
            json!({"userName": "a", "emails": [{"value": "a@x", urn::ENTERPRISE_USER: {}}]}),
            json!({"userName": "a", urn::ENTERPRISE_USER: {"manager": {urn::ENTERPRISE_USER: {}}}}),
        ];
        for body in nested {
            assert!(normalize(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn unknown_schema_urn_is_rejected() {
        let err =
            normalize(json!({"schemas": [urn::CORE_USER, "urn:example:unknown"], "userName": "a"}))
                .unwrap_err();
        assert!(err.detail.contains("urn:example:unknown"));
    }

    #[test]
    fn wrong_type_names_the_attribute_and_the_expected_type() {
        let err = normalize(json!({"userName": 42})).unwrap_err();
        assert!(
            err.detail.contains("'userName' must be a string"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn read_only_and_server_attributes_are_dropped() {
        let attrs = normalize(json!({
            "userName": "a", "id": "x", "meta": {"created": "x"},
            "groups": [{"value": "g"}]
        }))
        .unwrap();
        assert!(
            !attrs.contains_key("id")
                && !attrs.contains_key("meta")
                && !attrs.contains_key("groups")
        );
    }

    #[test]
    fn extension_attributes_land_under_canonical_urn() {
        let attrs = normalize(json!({
            "userName": "a",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"EmployeeNumber": "7"}
        }))
        .unwrap();
        assert_eq!(attrs[urn::ENTERPRISE_USER]["employeeNumber"], "7");
    }

    #[test]
    fn extension_attribute_path_as_key_is_accepted() {
        let key = format!("{}:department", urn::ENTERPRISE_USER);
        let attrs = normalize(json!({"userName": "a", key: "Sales"})).unwrap();
        assert_eq!(attrs[urn::ENTERPRISE_USER]["department"], "Sales");
    }

    #[test]
    fn two_primary_values_are_rejected() {
        let err = normalize(json!({"userName": "a", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}
        ]}))
        .unwrap_err();
        assert!(err.detail.contains("primary"));
    }

    #[test]
    fn invalid_date_time_is_rejected() {
        let definition: AttributeDef =
            serde_json::from_value(json!({"name": "when", "type": "dateTime"})).unwrap();
        let err = normalize_value(&definition, &json!("yesterday"), "when").unwrap_err();
        assert!(err.detail.contains("dateTime"), "{}", err.detail);
        assert!(
            normalize_value(&definition, &json!("2026-01-31T12:00:00Z"), "when")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_bare_string_for_a_complex_attribute_with_value_becomes_its_value() {
        let attrs =
            normalize(json!({"userName": "a", urn::ENTERPRISE_USER: {"manager": "271"}})).unwrap();
        assert_eq!(
            attrs[urn::ENTERPRISE_USER]["manager"],
            json!({"value": "271"})
        );
    }

    #[test]
    fn null_and_empty_values_are_unassigned() {
        let attrs =
            normalize(json!({"userName": "a", "title": null, "roles": [], "name": {}})).unwrap();
        assert!(
            !attrs.contains_key("title")
                && !attrs.contains_key("roles")
                && !attrs.contains_key("name")
        );
    }
}
