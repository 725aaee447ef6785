//! The mapping of a CSV import: which column fills which SCIM attribute.
//!
//! ```toml
//! [columns]
//! employee_id = "externalId"
//! login       = "userName"
//! first_name  = "name.givenName"
//! work_email  = "emails.work"          # a value of a multi-valued attribute, by type
//! street      = "addresses.work.streetAddress"
//! department  = "enterprise.department"
//! plan        = "customData.plan"      # a member of the Roster customData
//! active      = "active"               # true/false, yes/no, 1/0
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::urn;

/// Multi-valued attributes whose values a mapping names by type.
const TYPED_VALUES: [&str; 5] = ["emails", "phoneNumbers", "ims", "photos", "addresses"];

/// A CSV mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Column name → attribute.
    pub columns: BTreeMap<String, String>,
}

/// Where a column's value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    /// A core attribute, by its dotted path (`name.givenName`); `active` is a boolean.
    Core(Vec<String>),
    /// `value` (or the sub-attribute) of the value of `attribute` with this `type`.
    Typed {
        attribute: String,
        kind: String,
        sub: String,
    },
    /// An Enterprise User attribute, by its dotted path.
    Enterprise(Vec<String>),
    /// A member of the Roster `customData`, by its dotted path.
    CustomData(Vec<String>),
}

/// A checked mapping: for each column, where its value goes.
#[derive(Debug, Clone)]
pub struct Mapping {
    columns: Vec<(String, Destination)>,
}

impl Mapping {
    /// Reads a mapping file's text.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let file: MappingFile =
            toml::from_str(text).map_err(|e| format!("the mapping is not valid: {e}"))?;
        let columns = file
            .columns
            .into_iter()
            .map(|(column, target)| {
                destination(&target)
                    .map(|destination| (column.clone(), destination))
                    .map_err(|e| format!("column '{column}': {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if columns.is_empty() {
            return Err("the mapping names no columns".into());
        }
        Ok(Mapping { columns })
    }

    /// The mapped columns a CSV header lacks.
    pub fn missing_columns(&self, header: &[String]) -> Vec<String> {
        self.columns
            .iter()
            .filter(|(column, _)| !header.contains(column))
            .map(|(column, _)| column.clone())
            .collect()
    }

    /// The SCIM User document of one CSV record (`header` names its fields); empty
    /// cells set nothing.
    pub fn user_document(&self, header: &[String], fields: &[String]) -> Result<Value, String> {
        let mut document = Map::new();
        let mut typed: BTreeMap<(String, String), Map<String, Value>> = BTreeMap::new();
        for (column, destination) in &self.columns {
            let Some(cell) = header
                .iter()
                .position(|name| name == column)
                .and_then(|at| fields.get(at))
                .filter(|cell| !cell.is_empty())
            else {
                continue;
            };
            match destination {
                Destination::Core(path) if path.len() == 1 && path[0] == "active" => {
                    let active = boolean(cell)
                        .ok_or_else(|| format!("column '{column}': '{cell}' is no boolean"))?;
                    document.insert("active".into(), active.into());
                }
                Destination::Core(path) => set(&mut document, path, cell.as_str().into()),
                Destination::Typed {
                    attribute,
                    kind,
                    sub,
                } => {
                    typed
                        .entry((attribute.clone(), kind.clone()))
                        .or_default()
                        .insert(sub.clone(), cell.as_str().into());
                }
                Destination::Enterprise(path) => {
                    let path: Vec<String> = std::iter::once(urn::ENTERPRISE_USER.to_owned())
                        .chain(path.iter().cloned())
                        .collect();
                    set(&mut document, &path, cell.as_str().into());
                }
                Destination::CustomData(path) => {
                    let path: Vec<String> = [urn::ROSTER_USER, "customData"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(path.iter().cloned())
                        .collect();
                    set(&mut document, &path, cell.as_str().into());
                }
            }
        }
        for ((attribute, kind), mut value) in typed {
            value.insert("type".into(), kind.into());
            let values = document
                .entry(attribute)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = values {
                values.push(Value::Object(value));
            }
        }
        let mut schemas = vec![Value::from(urn::CORE_USER)];
        for extension in [urn::ENTERPRISE_USER, urn::ROSTER_USER] {
            if document.contains_key(extension) {
                schemas.push(extension.into());
            }
        }
        document.insert("schemas".into(), Value::Array(schemas));
        Ok(Value::Object(document))
    }
}

fn destination(target: &str) -> Result<Destination, String> {
    let parts: Vec<String> = target.split('.').map(str::to_owned).collect();
    if target.is_empty() || parts.iter().any(String::is_empty) {
        return Err(format!("'{target}' is no attribute path"));
    }
    let enterprise_prefix = format!("{}:", urn::ENTERPRISE_USER);
    if let Some(rest) = target.strip_prefix(&enterprise_prefix) {
        return Ok(Destination::Enterprise(
            rest.split('.').map(str::to_owned).collect(),
        ));
    }
    Ok(match parts[0].as_str() {
        "enterprise" if parts.len() > 1 => Destination::Enterprise(parts[1..].to_vec()),
        "customData" if parts.len() > 1 => Destination::CustomData(parts[1..].to_vec()),
        attribute if TYPED_VALUES.contains(&attribute) => {
            let (kind, sub) = match parts.len() {
                2 => (parts[1].clone(), "value".to_owned()),
                3 => (parts[1].clone(), parts[2].clone()),
                _ => {
                    return Err(format!(
                        "'{target}' names no value: write {attribute}.TYPE (e.g. {attribute}.work)"
                    ));
                }
            };
            Destination::Typed {
                attribute: attribute.to_owned(),
                kind,
                sub,
            }
        }
        _ => Destination::Core(parts),
    })
}

fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Sets `value` at the dotted `path` of `object`, making the objects on the way.
fn set(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPING: &str = r#"
        [columns]
        id = "externalId"
        login = "userName"
        first = "name.givenName"
        mail = "emails.work"
        city = "addresses.home.locality"
        dept = "enterprise.department"
        plan = "customData.plan"
        on = "active"
    "#;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn a_record_becomes_a_user_document() {
        let mapping = Mapping::parse(MAPPING).unwrap();
        let header = strings(&["id", "login", "first", "mail", "city", "dept", "plan", "on"]);
        let fields = strings(&[
            "E1",
            "ann",
            "Ann",
            "ann@x.test",
            "Oslo",
            "R&D",
            "gold",
            "no",
        ]);
        let document = mapping.user_document(&header, &fields).unwrap();
        assert_eq!(
            document,
            serde_json::json!({
                "externalId": "E1", "userName": "ann", "name": {"givenName": "Ann"},
                urn::ENTERPRISE_USER: {"department": "R&D"},
                urn::ROSTER_USER: {"customData": {"plan": "gold"}},
                "active": false,
                "addresses": [{"locality": "Oslo", "type": "home"}],
                "emails": [{"value": "ann@x.test", "type": "work"}],
                "schemas": [urn::CORE_USER, urn::ENTERPRISE_USER, urn::ROSTER_USER],
            })
        );
    }

    #[test]
    fn empty_cells_set_nothing_and_bad_booleans_are_refused() {
        let mapping = Mapping::parse(MAPPING).unwrap();
        let header = strings(&["id", "login", "on"]);
        let document = mapping
            .user_document(&header, &strings(&["E1", "ann", ""]))
            .unwrap();
        assert!(document.get("active").is_none());
        assert!(
            mapping
                .user_document(&header, &strings(&["E1", "ann", "maybe"]))
                .is_err()
        );
        assert_eq!(mapping.missing_columns(&header).len(), 5);
    }

    #[test]
    fn bad_mappings_are_refused() {
        assert!(Mapping::parse("[columns]\n").is_err());
        assert!(Mapping::parse("[columns]\na = \"emails\"\n").is_err());
        assert!(Mapping::parse("[columns]\na = \"name..x\"\n").is_err());
        assert!(Mapping::parse("columns = 3").is_err());
    }
}
