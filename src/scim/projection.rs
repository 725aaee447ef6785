//! Projection (RFC 7644 §3.4.2.5): `attributes` and `excludedAttributes` applied to a
//! rendered resource. Pure functions over JSON; `id` and `schemas` (returned
//! "always") are always kept.

use serde_json::{Map, Value};

use crate::filter::parse_attr_path;
use crate::schema::ResourceTypeDef;
use crate::schema::find_extension;
use crate::schema::resolve::Location;
use crate::schema::resolve_path;

/// One attribute reference of an `attributes` / `excludedAttributes` list, resolved
/// to where it lives in a rendered resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedPath {
    /// `None` for top-level keys, else the extension URN holding the attribute.
    container: Option<&'static str>,
    /// Top-level key (or key inside the extension); `None` means the whole extension.
    attribute: Option<String>,
    sub_attribute: Option<String>,
}

/// What to return of each resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// Everything returned by default.
    #[default]
    Default,
    /// Only these (plus `id` and `schemas`).
    Only(Vec<ProjectedPath>),
    /// Everything returned by default except these.
    Except(Vec<ProjectedPath>),
}

impl Projection {
    /// Builds a projection from the comma-separated parameter values. Names are
    /// matched case-insensitively; unknown names select nothing.
    pub fn from_params(
        attributes: &[String],
        excluded: &[String],
        resource_type: &ResourceTypeDef,
    ) -> Projection {
        let parse = |lists: &[String]| -> Vec<ProjectedPath> {
            lists
                .iter()
                .flat_map(|list| list.split(','))
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .filter_map(|name| projected_path(name, resource_type))
                .collect()
        };
        let only = parse(attributes);
        if !attributes.iter().all(|a| a.trim().is_empty()) {
            return Projection::Only(only);
        }
        let except = parse(excluded);
        if except.is_empty() {
            Projection::Default
        } else {
            Projection::Except(except)
        }
    }

    /// True when the projection returns everything returned by default.
    pub fn is_default(&self) -> bool {
        matches!(self, Projection::Default)
    }

    /// True when `attribute` (a top-level key) may be left out of the result, so a
    /// caller can skip the work of producing it.
    pub fn excludes(&self, attribute: &str) -> bool {
        match self {
            Projection::Default => false,
            Projection::Only(paths) => !paths
                .iter()
                .any(|p| p.container.is_none() && p.attribute.as_deref() == Some(attribute)),
            Projection::Except(paths) => paths.iter().any(|p| {
                p.container.is_none()
                    && p.attribute.as_deref() == Some(attribute)
                    && p.sub_attribute.is_none()
            }),
        }
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(source) = resource else {
            return resource;
        };
        match self {
            Projection::Default => Value::Object(source),
            Projection::Only(paths) => {
                let mut out = Map::new();
                for key in ["schemas", "id"] {
                    if let Some(v) = source.get(key) {
                        out.insert(key.to_owned(), v.clone());
                    }
                }
                for path in paths {
                    copy_path(&source, &mut out, path);
                }
                Value::Object(out)
            }
            Projection::Except(paths) => {
                let mut out = source;
                for path in paths {
                    remove_path(&mut out, path);
                }
                Value::Object(out)
            }
        }
    }
}

fn projected_path(name: &str, resource_type: &ResourceTypeDef) -> Option<ProjectedPath> {
    if let Some(urn) = find_extension(resource_type, name) {
        return Some(ProjectedPath {
            container: Some(urn),
            attribute: None,
            sub_attribute: None,
        });
    }
    let path = parse_attr_path(name).ok()?;
    if path.uri.is_none() && path.attribute.eq_ignore_ascii_case("meta") {
        return Some(ProjectedPath {
            container: None,
            attribute: Some("meta".into()),
            sub_attribute: path.sub_attribute.map(|sub| canonical_meta(&sub)),
        });
    }
    let target = resolve_path(&path, resource_type).ok()?;
    let top = |name: &str| {
        Some(ProjectedPath {
            container: None,
            attribute: Some(name.into()),
            sub_attribute: None,
        })
    };
    match target.location {
        Location::Id => top("id"),
        Location::ExternalId => top("externalId"),
        Location::Attribute {
            schema,
            attribute,
            sub_attribute,
        } => Some(ProjectedPath {
            container: (schema != resource_type.core).then_some(schema),
            attribute: Some(attribute.to_owned()),
            sub_attribute: sub_attribute.map(str::to_owned),
        }),
        Location::FreeForm {
            schema,
            attribute,
            path,
        } => Some(ProjectedPath {
            container: (schema != resource_type.core).then_some(schema),
            attribute: Some(attribute.to_owned()),
            sub_attribute: Some(path.join(".")),
        }),
        _ => None,
    }
}

fn canonical_meta(sub: &str) -> String {
    [
        "resourceType",
        "created",
        "lastModified",
        "location",
        "version",
    ]
    .into_iter()
    .find(|known| known.eq_ignore_ascii_case(sub))
    .unwrap_or(sub)
    .to_owned()
}

fn copy_path(source: &Map<String, Value>, out: &mut Map<String, Value>, path: &ProjectedPath) {
    let (from, to) = match path.container {
        Some(urn) => {
            let Some(Value::Object(from)) = source.get(urn) else {
                return;
            };
            let Some(attribute) = &path.attribute else {
                out.insert(urn.to_owned(), Value::Object(from.clone()));
                return;
            };
            let slot = out
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(to) = slot else { return };
            copy_attribute(from, to, attribute, path.sub_attribute.as_deref());
            return;
        }
        None => (source, out),
    };
    if let Some(attribute) = &path.attribute {
        copy_attribute(from, to, attribute, path.sub_attribute.as_deref());
    }
}

fn copy_attribute(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
    attribute: &str,
    sub: Option<&str>,
) {
    let Some(value) = from.get(attribute) else {
        return;
    };
    let Some(sub) = sub else {
        to.insert(attribute.to_owned(), value.clone());
        return;
    };
    match value {
        Value::Array(items) => {
            let slot = to
                .entry(attribute.to_owned())
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(targets) = slot {
                for (item, target) in items.iter().zip(targets.iter_mut()) {
                    if let (Some(v), Value::Object(target)) = (item.get(sub), target) {
                        target.insert(sub.to_owned(), v.clone());
                    }
                }
                targets.retain(|t| t.as_object().is_none_or(|m| !m.is_empty()));
                if targets.is_empty() {
                    to.remove(attribute);
                }
            }
        }
        Value::Object(fields) => {
            let Some(v) = lookup_dotted(fields, sub) else {
                return;
            };
            let slot = to
                .entry(attribute.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(target) = slot {
                target.insert(
                    sub.split('.').next().unwrap_or(sub).to_owned(),
                    nest(sub, v),
                );
            }
        }
        _ => {}
    }
}

/// The value at a dotted path inside an object (`limits.seats`).
fn lookup_dotted<'v>(fields: &'v Map<String, Value>, dotted: &str) -> Option<&'v Value> {
    let mut parts = dotted.split('.');
    let mut current = fields.get(parts.next()?)?;
    for part in parts {
        current = current.get(part)?;
    }
    Some(current)
}

/// `a.b.c` and a value → the value wrapped as `{b: {c: value}}` below `a`.
fn nest(dotted: &str, value: &Value) -> Value {
    let mut parts: Vec<&str> = dotted.split('.').skip(1).collect();
    let mut current = value.clone();
    while let Some(part) = parts.pop() {
        let mut map = Map::new();
        map.insert(part.to_owned(), current);
        current = Value::Object(map);
    }
    current
}

fn remove_path(out: &mut Map<String, Value>, path: &ProjectedPath) {
    let target = match path.container {
        Some(urn) => {
            let Some(attribute) = &path.attribute else {
                out.remove(urn);
                return;
            };
            let Some(Value::Object(inner)) = out.get_mut(urn) else {
                return;
            };
            remove_attribute(inner, attribute, path.sub_attribute.as_deref());
            return;
        }
        None => out,
    };
    if let Some(attribute) = &path.attribute {
        if attribute == "id" {
            return; // returned "always"
        }
        remove_attribute(target, attribute, path.sub_attribute.as_deref());
    }
}

fn remove_attribute(map: &mut Map<String, Value>, attribute: &str, sub: Option<&str>) {
    let Some(sub) = sub else {
        map.remove(attribute);
        return;
    };
    match map.get_mut(attribute) {
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                if let Value::Object(fields) = item {
                    fields.remove(sub);
                }
            }
        }
        Some(Value::Object(fields)) => {
            fields.remove(sub);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER_RESOURCE;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "1", "userName": "bjensen", "displayName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENTERPRISE: {"employeeNumber": "7", "department": "Tours"},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        })
    }

    fn project(attributes: &str, excluded: &str) -> Value {
        Projection::from_params(
            &[attributes.to_owned()],
            &[excluded.to_owned()],
            &USER_RESOURCE,
        )
        .apply(user())
    }

    #[test]
    fn attributes_returns_exactly_those_plus_id_and_schemas() {
        let out = project("userName,name.givenName", "");
        assert_eq!(
            out,
            json!({
                "schemas": user()["schemas"], "id": "1", "userName": "bjensen", "name": {"givenName": "Barbara"}
            })
        );
    }

    #[test]
    fn attribute_names_match_case_insensitively() {
        let out = project("USERNAME,Emails.Value", "");
        assert_eq!(out["userName"], "bjensen");
        assert_eq!(out["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
    }

    #[test]
    fn extension_urn_selects_the_whole_extension_and_urn_paths_one_attribute() {
        let out = project(ENTERPRISE, "");
        assert_eq!(out[ENTERPRISE], user()[ENTERPRISE]);
        let out = project(&format!("{ENTERPRISE}:department"), "");
        assert_eq!(out[ENTERPRISE], json!({"department": "Tours"}));
    }

    #[test]
    fn excluded_attributes_are_removed_but_id_stays() {
        let out = project("", "emails,name.familyName,id,meta");
        assert!(out.get("emails").is_none() && out.get("meta").is_none());
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        assert_eq!(out["id"], "1");
    }

    #[test]
    fn unknown_names_select_nothing() {
        let out = project("shoeSize", "");
        assert_eq!(out, json!({"schemas": user()["schemas"], "id": "1"}));
    }

    #[test]
    fn meta_and_its_sub_attributes_can_be_asked_for() {
        assert_eq!(
            project("meta.VERSION", "")["meta"],
            json!({"version": "W/\"1\""})
        );
        assert_eq!(project("meta", "")["meta"], user()["meta"]);
    }

    #[test]
    fn excludes_reports_skippable_top_level_attributes() {
        let only = Projection::from_params(&["userName".into()], &[], &USER_RESOURCE);
        assert!(only.excludes("emails") && !only.excludes("userName"));
        let except = Projection::from_params(&[], &["emails".into()], &USER_RESOURCE);
        assert!(except.excludes("emails") && !except.excludes("userName"));
    }
}
