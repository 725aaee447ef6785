//! The in-memory evaluator: does a resource's JSON representation satisfy a resolved
//! filter? Used for PATCH value filters and as the oracle the SQL translation is
//! tested against.

use std::cmp::Ordering;

use serde_json::Value;

use super::resolve::{Location, Resolved, Target, TypedValue, ValueKind, parse_date_time};
use crate::casefold::fold;
use crate::filter::ast::CompareOp;

/// True when `resource` (a full SCIM JSON representation) satisfies `filter`.
pub fn matches(filter: &Resolved, resource: &Value) -> bool {
    evaluate(filter, resource, None)
}

/// True when one value of a multi-valued attribute satisfies a value filter.
pub fn element_matches(filter: &Resolved, element: &Value) -> bool {
    evaluate(filter, &Value::Null, Some(element))
}

fn evaluate(filter: &Resolved, resource: &Value, element: Option<&Value>) -> bool {
    match filter {
        Resolved::And(a, b) => evaluate(a, resource, element) && evaluate(b, resource, element),
        Resolved::Or(a, b) => evaluate(a, resource, element) || evaluate(b, resource, element),
        Resolved::Not(inner) => !evaluate(inner, resource, element),
        Resolved::Present(target) if target.kind == ValueKind::FreeForm => {
            values_at(target, resource, element).into_iter().any(|v| {
                !matches!(v, Value::Null)
                    && v != ""
                    && v != &Value::Array(vec![])
                    && v != &Value::Object(Default::default())
            })
        }
        Resolved::Present(target) => values_at(target, resource, element)
            .into_iter()
            .any(is_present),
        Resolved::Compare { target, op, value } => values_at(target, resource, element)
            .into_iter()
            .any(|stored| compare(stored, *op, value, target.kind)),
        Resolved::ValuePath { target, filter } => node_at(target, resource)
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|item| evaluate(filter, resource, Some(item)))
            }),
    }
}

/// The attribute node a target names, before any sub-attribute is applied.
fn node_at<'v>(target: &Target, resource: &'v Value) -> Option<&'v Value> {
    match &target.location {
        Location::Attribute {
            schema, attribute, ..
        }
        | Location::FreeForm {
            schema, attribute, ..
        } => container(resource, schema)?.get(*attribute),
        _ => None,
    }
}

fn container<'v>(resource: &'v Value, schema: &str) -> Option<&'v Value> {
    if schema.starts_with("urn:ietf:params:scim:schemas:core:") {
        Some(resource)
    } else {
        resource.get(schema)
    }
}

/// Every value a target names: one for a single-valued attribute, one per value of a
/// multi-valued one.
fn values_at<'v>(
    target: &Target,
    resource: &'v Value,
    element: Option<&'v Value>,
) -> Vec<&'v Value> {
    let single = |v: Option<&'v Value>| v.into_iter().collect::<Vec<_>>();
    match &target.location {
        Location::Id => single(resource.get("id")),
        Location::Schemas => resource
            .get("schemas")
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default(),
        Location::ExternalId => single(resource.get("externalId")),
        Location::MetaCreated => single(resource.pointer("/meta/created")),
        Location::MetaLastModified => single(resource.pointer("/meta/lastModified")),
        Location::MetaResourceType => single(resource.pointer("/meta/resourceType")),
        Location::MetaLocation => single(resource.pointer("/meta/location")),
        Location::MetaVersion => single(resource.pointer("/meta/version")),
        Location::Element { sub_attribute } => single(element.and_then(|e| e.get(*sub_attribute))),
        Location::Attribute { sub_attribute, .. } => {
            let Some(node) = node_at(target, resource) else {
                return Vec::new();
            };
            let elements: Vec<&Value> = match node {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            match sub_attribute {
                Some(sub) => elements.into_iter().filter_map(|e| e.get(*sub)).collect(),
                None => elements,
            }
        }
        Location::FreeForm { path, .. } => {
            let mut node = node_at(target, resource);
            for key in path {
                node = node.and_then(|n| n.get(key));
            }
            match node {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(value) => vec![value],
                None => Vec::new(),
            }
        }
    }
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(fields) => fields.values().any(is_present),
        _ => true,
    }
}

/// Whether one stored value compares with `literal` as `op` asks, for an attribute
/// of `kind`.
pub fn compare(stored: &Value, op: CompareOp, literal: &TypedValue, kind: ValueKind) -> bool {
    match literal {
        TypedValue::Text(expected) => {
            let Some(actual) = stored.as_str() else {
                return false;
            };
            let actual = match kind {
                ValueKind::Text { case_exact: false } => fold(actual),
                _ => actual.to_owned(),
            };
            match op {
                CompareOp::Co => actual.contains(expected.as_str()),
                CompareOp::Sw => actual.starts_with(expected.as_str()),
                CompareOp::Ew => actual.ends_with(expected.as_str()),
                _ => ordered(actual.as_str().cmp(expected.as_str()), op),
            }
        }
        TypedValue::Bool(expected) => stored
            .as_bool()
            .is_some_and(|actual| ordered(actual.cmp(expected), op)),
        TypedValue::Number(expected) => stored
            .as_f64()
            .and_then(|actual| actual.partial_cmp(expected))
            .is_some_and(|ordering| ordered(ordering, op)),
        TypedValue::DateTime(expected) => stored
            .as_str()
            .and_then(parse_date_time)
            .is_some_and(|actual| ordered(actual.cmp(expected), op)),
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::USER_RESOURCE;
    use crate::schema::resolve;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223",
            "externalId": "Ext-1",
            "userName": "BJensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984", "manager": {"value": "26118915"}
            },
            "urn:ietf:params:scim:schemas:extension:roster:2.0:User": {
                "customData": {"plan": "gold", "seats": 5, "beta": true, "tags": ["a", "b"]}
            },
            "meta": {"created": "2026-01-01T00:00:00Z", "lastModified": "2026-06-01T12:00:00.500Z", "resourceType": "User"}
        })
    }

    fn check(text: &str) -> bool {
        let resolved = resolve(&parse_filter(text).unwrap(), &USER_RESOURCE)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        matches(&resolved, &user())
    }

    #[test]
    fn case_insensitive_attributes_match_in_any_case() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#));
        assert!(check(r#"name.familyName sw "JEN""#));
    }

    #[test]
    fn case_exact_attributes_match_exactly() {
        assert!(check(r#"externalId eq "Ext-1""#));
        assert!(!check(r#"externalId eq "ext-1""#));
        assert!(check(r#"id eq "2819c223""#));
    }

    #[test]
    fn substring_operators_work() {
        assert!(check(r#"userName co "@EXAMPLE""#));
        assert!(check(r#"userName ew ".com""#));
        assert!(!check(r#"userName sw "example""#));
    }

    #[test]
    fn ordering_compares_strings_and_times() {
        assert!(check(r#"userName gt "a""#));
        assert!(check(r#"meta.lastModified gt "2026-06-01T12:00:00Z""#));
        assert!(!check(r#"meta.lastModified gt "2026-06-01T12:00:00.500Z""#));
        assert!(check(
            r#"meta.lastModified ge "2026-06-01T14:00:00.500+02:00""#
        ));
        assert!(check(r#"meta.created lt "2026-01-01T00:00:01Z""#));
    }

    #[test]
    fn multi_valued_attributes_match_if_any_value_matches() {
        assert!(check(r#"emails.value eq "babs@jensen.org""#));
        assert!(check(r#"emails co "jensen.org""#));
        assert!(check(r#"emails.type eq "home""#));
        assert!(check(r#"emails.primary eq true"#));
    }

    #[test]
    fn value_filters_test_one_value_at_a_time() {
        assert!(check(
            r#"emails[type eq "work" and value co "example.com"]"#
        ));
        assert!(!check(
            r#"emails[type eq "home" and value co "example.com"]"#
        ));
        assert!(check(
            r#"emails[type eq "work"].value eq "bjensen@example.com""#
        ));
        assert!(check(r#"emails[not (type eq "work")]"#));
    }

    #[test]
    fn presence_ignores_empty_values() {
        assert!(check("name.givenName pr"));
        assert!(!check("title pr"));
        assert!(!check("nickName pr"));
        assert!(check("emails pr"));
        assert!(check("name pr"));
        assert!(check("title eq null"));
        assert!(!check("userName eq null"));
    }

    #[test]
    fn absent_attributes_match_no_comparison() {
        assert!(!check(r#"nickName eq "x""#));
        assert!(!check(r#"nickName ne "x""#));
        assert!(check(r#"not (nickName eq "x")"#));
    }

    #[test]
    fn booleans_and_logic_compose() {
        assert!(check("active eq true"));
        assert!(!check("active eq false"));
        assert!(check(
            r#"active eq true and (title pr or name.givenName eq "barbara")"#
        ));
        assert!(!check(r#"not (active eq true)"#));
    }

    #[test]
    fn extension_and_custom_data_paths_match() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert!(check(&format!("{enterprise}:employeeNumber eq \"701984\"")));
        assert!(check(&format!(
            "{enterprise}:manager.value eq \"26118915\""
        )));
        let roster = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
        assert!(check(&format!("{roster}:customData.plan eq \"gold\"")));
        assert!(!check(&format!("{roster}:customData.plan eq \"Gold\"")));
        assert!(check(&format!("{roster}:customData.seats ge 5")));
        assert!(check(&format!("{roster}:customData.beta eq true")));
        assert!(check(&format!("{roster}:customData.tags eq \"b\"")));
        assert!(!check(&format!("{roster}:customData.missing pr")));
    }
}
