//! Resolution: a parsed filter checked against a resource type's schemas. Attribute
//! names get their canonical spelling, literals get the type of the attribute they
//! are compared with (case-folded where the attribute is case-insensitive), and
//! anything that cannot be evaluated is refused here, once, for both evaluators.

use chrono::{DateTime, NaiveDateTime};

use crate::casefold::fold;
use crate::filter::ast::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{AttributeDef, AttributeType, ResourceTypeDef, SchemaDef};
use crate::schema::{core_schema, extension_schema, find_extension};

/// Why a filter cannot be evaluated against a resource type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResolveError(pub String);

/// Where an attribute's values are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Id,
    /// `schemas`: the schema URNs the resource's representation lists.
    Schemas,
    ExternalId,
    MetaCreated,
    MetaLastModified,
    MetaResourceType,
    MetaLocation,
    MetaVersion,
    /// An attribute of a schema (core or extension), optionally one sub-attribute of it.
    Attribute {
        schema: &'static str,
        attribute: &'static str,
        sub_attribute: Option<&'static str>,
    },
    /// A member inside a free-form attribute such as `customData.plan`.
    FreeForm {
        schema: &'static str,
        attribute: &'static str,
        path: Vec<String>,
    },
    /// Inside a value filter: a sub-attribute of the value being tested.
    Element {
        sub_attribute: &'static str,
    },
}

/// What kind of values an attribute holds, which decides how it compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text {
        case_exact: bool,
    },
    Boolean,
    Number,
    DateTime,
    Complex,
    /// Free-form JSON: compared by the literal's own type, case-exact.
    FreeForm,
}

/// A resolved attribute reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub location: Location,
    pub kind: ValueKind,
    /// The attribute (not the sub-attribute) is multi-valued.
    pub multi_valued: bool,
}

/// A literal converted to the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// Already case-folded when the attribute is case-insensitive.
    Text(String),
    Bool(bool),
    Number(f64),
    DateTime(NaiveDateTime),
}

/// A filter ready for evaluation, in SQL or in memory.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    And(Box<Resolved>, Box<Resolved>),
    Or(Box<Resolved>, Box<Resolved>),
    Not(Box<Resolved>),
    Compare {
        target: Target,
        op: CompareOp,
        value: TypedValue,
    },
    Present(Target),
    /// Some value of the multi-valued `target` satisfies `filter`.
    ValuePath {
        target: Target,
        filter: Box<Resolved>,
    },
}

/// Resolves `filter` against `resource_type`.
pub fn resolve(filter: &Filter, resource_type: &ResourceTypeDef) -> Result<Resolved, ResolveError> {
    Resolver { resource_type }.filter(filter, None)
}

/// Resolves a lone attribute path.
pub fn resolve_path(
    path: &AttrPath,
    resource_type: &ResourceTypeDef,
) -> Result<Target, ResolveError> {
    Resolver { resource_type }.target(path, None)
}

/// Resolves a `sortBy` path: a multi-valued attribute sorts by its `value`
/// (RFC 7644 §3.4.2.3); complex attributes need a sub-attribute.
pub fn resolve_sort_path(
    path: &AttrPath,
    resource_type: &ResourceTypeDef,
) -> Result<Target, ResolveError> {
    let target = Resolver { resource_type }.comparable_target(path, None)?;
    if target.kind == ValueKind::Complex {
        return Err(ResolveError(format!(
            "'{path}' is complex: sort by one of its sub-attributes"
        )));
    }
    Ok(target)
}

struct Resolver<'r> {
    resource_type: &'r ResourceTypeDef,
}

impl Resolver<'_> {
    fn filter(
        &self,
        filter: &Filter,
        element: Option<&'static AttributeDef>,
    ) -> Result<Resolved, ResolveError> {
        Ok(match filter {
            Filter::And(a, b) => Resolved::And(
                Box::new(self.filter(a, element)?),
                Box::new(self.filter(b, element)?),
            ),
            Filter::Or(a, b) => Resolved::Or(
                Box::new(self.filter(a, element)?),
                Box::new(self.filter(b, element)?),
            ),
            Filter::Not(inner) => Resolved::Not(Box::new(self.filter(inner, element)?)),
            Filter::Present(path) => Resolved::Present(self.target(path, element)?),
            Filter::Compare { path, op, value } => {
                let target = self.comparable_target(path, element)?;
                match (op, value) {
                    // `x eq null` asks for absence, `x ne null` for presence.
                    (CompareOp::Eq, CompValue::Null) => {
                        Resolved::Not(Box::new(Resolved::Present(target)))
                    }
                    (CompareOp::Ne, CompValue::Null) => Resolved::Present(target),
                    (_, CompValue::Null) => {
                        return Err(ResolveError(format!(
                            "'{path}' can only be compared with null using eq or ne"
                        )));
                    }
                    _ => {
                        let value = typed_value(path, &target, *op, value)?;
                        Resolved::Compare {
                            target,
                            op: *op,
                            value,
                        }
                    }
                }
            }
            Filter::ValuePath { path, filter } => {
                if element.is_some() {
                    return Err(ResolveError(
                        "a value filter cannot contain another value filter".into(),
                    ));
                }
                let (target, definition) = self.attribute(path)?;
                if path.sub_attribute.is_some() || definition.sub_attributes.is_empty() {
                    return Err(ResolveError(format!(
                        "'{path}' has no sub-attributes to filter with [ ]"
                    )));
                }
                let inner = self.filter(filter, Some(definition))?;
                Resolved::ValuePath {
                    target,
                    filter: Box::new(inner),
                }
            }
        })
    }

    /// Like [`Self::target`], but a multi-valued complex attribute named without a
    /// sub-attribute compares by its `value` (RFC 7644 §3.4.2.2: `emails co "example.com"`).
    fn comparable_target(
        &self,
        path: &AttrPath,
        element: Option<&'static AttributeDef>,
    ) -> Result<Target, ResolveError> {
        let target = self.target(path, element)?;
        if let (
            ValueKind::Complex,
            true,
            Location::Attribute {
                schema,
                attribute,
                sub_attribute: None,
            },
        ) = (target.kind, target.multi_valued, &target.location)
        {
            let (_, definition) = self.attribute(path)?;
            if let Some(value) = definition.sub_attribute("value") {
                return Ok(Target {
                    location: Location::Attribute {
                        schema,
                        attribute,
                        sub_attribute: Some(&value.name),
                    },
                    kind: kind_of(value),
                    multi_valued: true,
                });
            }
        }
        Ok(target)
    }

    /// The attribute `path` names, without its sub-attribute.
    fn attribute(&self, path: &AttrPath) -> Result<(Target, &'static AttributeDef), ResolveError> {
        let (schema_urn, schema) = self.schema_of(path)?;
        let definition = schema
            .attribute(&path.attribute)
            .ok_or_else(|| unknown(path))?;
        Ok((
            Target {
                location: Location::Attribute {
                    schema: schema_urn,
                    attribute: &definition.name,
                    sub_attribute: None,
                },
                kind: kind_of(definition),
                multi_valued: definition.multi_valued,
            },
            definition,
        ))
    }

    fn schema_of(
        &self,
        path: &AttrPath,
    ) -> Result<(&'static str, &'static SchemaDef), ResolveError> {
        match &path.uri {
            None => {
                let core = core_schema(self.resource_type);
                Ok((registry_id(core), core))
            }
            Some(uri) if uri.eq_ignore_ascii_case(self.resource_type.core) => {
                let core = core_schema(self.resource_type);
                Ok((registry_id(core), core))
            }
            Some(uri) => {
                let urn = find_extension(self.resource_type, uri).ok_or_else(|| {
                    ResolveError(format!(
                        "'{uri}' is not a schema of {} resources",
                        self.resource_type.name
                    ))
                })?;
                Ok((urn, extension_schema(urn)))
            }
        }
    }

    fn target(
        &self,
        path: &AttrPath,
        element: Option<&'static AttributeDef>,
    ) -> Result<Target, ResolveError> {
        if let Some(parent) = element {
            if path.uri.is_some() || path.sub_attribute.is_some() {
                return Err(ResolveError(format!(
                    "inside '{}[…]' name a sub-attribute of it, not '{path}'",
                    parent.name
                )));
            }
            let sub = parent.sub_attribute(&path.attribute).ok_or_else(|| {
                ResolveError(format!(
                    "'{}' has no sub-attribute '{}'",
                    parent.name, path.attribute
                ))
            })?;
            return Ok(Target {
                location: Location::Element {
                    sub_attribute: &sub.name,
                },
                kind: kind_of(sub),
                multi_valued: false,
            });
        }
        if (path.uri.is_none()
            || path
                .uri
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(self.resource_type.core)))
            && let Some(common) = common_attribute(path)
        {
            return common;
        }
        let (mut target, definition) = self.attribute(path)?;
        let Some(sub_name) = &path.sub_attribute else {
            return Ok(target);
        };
        let Location::Attribute {
            schema, attribute, ..
        } = target.location
        else {
            return Err(unknown(path));
        };
        if definition.is_free_form() {
            target.location = Location::FreeForm {
                schema,
                attribute,
                path: sub_name.split('.').map(str::to_owned).collect(),
            };
            target.kind = ValueKind::FreeForm;
            return Ok(target);
        }
        if sub_name.contains('.') {
            return Err(unknown(path));
        }
        let sub = definition
            .sub_attribute(sub_name)
            .ok_or_else(|| unknown(path))?;
        target.location = Location::Attribute {
            schema,
            attribute,
            sub_attribute: Some(&sub.name),
        };
        target.kind = kind_of(sub);
        Ok(target)
    }
}

fn registry_id(schema: &'static SchemaDef) -> &'static str {
    &schema.id
}

fn unknown(path: &AttrPath) -> ResolveError {
    ResolveError(format!("unknown attribute '{path}'"))
}

/// `id`, `externalId` and `meta.*` (RFC 7643 §3.1), common to every resource.
fn common_attribute(path: &AttrPath) -> Option<Result<Target, ResolveError>> {
    let text = |location| Target {
        location,
        kind: ValueKind::Text { case_exact: true },
        multi_valued: false,
    };
    let is = |name: &str, expected: &str| name.eq_ignore_ascii_case(expected);
    Some(Ok(
        match (path.attribute.as_str(), path.sub_attribute.as_deref()) {
            (a, None) if is(a, "id") => text(Location::Id),
            // RFC 7643 §3 gives `schemas` no caseExact of its own, so the §2.2
            // default holds: URNs compare case-insensitively, as validation reads them.
            (a, None) if is(a, "schemas") => Target {
                location: Location::Schemas,
                kind: ValueKind::Text { case_exact: false },
                multi_valued: true,
            },
            (a, None) if is(a, "externalId") => text(Location::ExternalId),
            (a, Some(s)) if is(a, "meta") && is(s, "created") => Target {
                location: Location::MetaCreated,
                kind: ValueKind::DateTime,
                multi_valued: false,
            },
            (a, Some(s)) if is(a, "meta") && is(s, "lastModified") => Target {
                location: Location::MetaLastModified,
                kind: ValueKind::DateTime,
                multi_valued: false,
            },
            (a, Some(s)) if is(a, "meta") && is(s, "resourceType") => {
                text(Location::MetaResourceType)
            }
            (a, Some(s)) if is(a, "meta") && is(s, "location") => text(Location::MetaLocation),
            (a, Some(s)) if is(a, "meta") && is(s, "version") => text(Location::MetaVersion),
            (a, _) if is(a, "meta") => return Some(Err(unknown(path))),
            _ => return None,
        },
    ))
}

fn kind_of(definition: &AttributeDef) -> ValueKind {
    match definition.kind {
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
            ValueKind::Text {
                case_exact: definition.case_exact,
            }
        }
        AttributeType::Boolean => ValueKind::Boolean,
        AttributeType::Integer | AttributeType::Decimal => ValueKind::Number,
        AttributeType::DateTime => ValueKind::DateTime,
        AttributeType::Complex if definition.is_free_form() => ValueKind::FreeForm,
        AttributeType::Complex => ValueKind::Complex,
    }
}

/// Parses an RFC 3339 `dateTime` into UTC.
pub fn parse_date_time(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.naive_utc())
}

fn typed_value(
    path: &AttrPath,
    target: &Target,
    op: CompareOp,
    value: &CompValue,
) -> Result<TypedValue, ResolveError> {
    let refuse = |why: &str| Err(ResolveError(format!("'{path}' {why}")));
    match target.kind {
        ValueKind::Complex => {
            refuse("is complex: compare one of its sub-attributes, e.g. name.givenName")
        }
        ValueKind::Text { case_exact } => match value {
            CompValue::String(text) => Ok(TypedValue::Text(if case_exact {
                text.clone()
            } else {
                fold(text)
            })),
            _ => refuse("is a string: compare it with a \"quoted string\""),
        },
        ValueKind::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return refuse("is a boolean: only eq and ne apply");
            }
            match value {
                CompValue::Bool(b) => Ok(TypedValue::Bool(*b)),
                CompValue::String(text) if text.eq_ignore_ascii_case("true") => {
                    Ok(TypedValue::Bool(true))
                }
                CompValue::String(text) if text.eq_ignore_ascii_case("false") => {
                    Ok(TypedValue::Bool(false))
                }
                _ => refuse("is a boolean: compare it with true or false"),
            }
        }
        ValueKind::Number => {
            if op.is_substring() {
                return refuse("is a number: co, sw and ew apply to strings");
            }
            match value {
                CompValue::Number(n) => n
                    .as_f64()
                    .map(TypedValue::Number)
                    .ok_or_else(|| ResolveError(format!("'{n}' is not a usable number"))),
                _ => refuse("is a number: compare it with a number"),
            }
        }
        ValueKind::DateTime => {
            if op.is_substring() {
                return refuse("is a dateTime: co, sw and ew apply to strings");
            }
            match value {
                CompValue::String(text) => parse_date_time(text).map(TypedValue::DateTime).ok_or_else(|| {
                    ResolveError(format!("'{path}' is a dateTime: '{text}' is not one (use e.g. 2026-01-31T12:00:00Z)"))
                }),
                _ => refuse("is a dateTime: compare it with a quoted dateTime such as \"2026-01-31T12:00:00Z\""),
            }
        }
        ValueKind::FreeForm => match value {
            CompValue::String(text) => Ok(TypedValue::Text(text.clone())),
            CompValue::Number(n) if !op.is_substring() => n
                .as_f64()
                .map(TypedValue::Number)
                .ok_or_else(|| ResolveError(format!("'{n}' is not a usable number"))),
            CompValue::Bool(b) if op == CompareOp::Eq || op == CompareOp::Ne => {
                Ok(TypedValue::Bool(*b))
            }
            _ => refuse("cannot be compared that way"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::USER_RESOURCE;
    use crate::urn;

    fn resolved(text: &str) -> Result<Resolved, ResolveError> {
        resolve(&parse_filter(text).unwrap(), &USER_RESOURCE)
    }

    #[test]
    fn attribute_names_resolve_to_canonical_spelling_and_fold_literals() {
        let Resolved::Compare { target, value, .. } = resolved(r#"USERNAME eq "BJensen""#).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            target.location,
            Location::Attribute {
                schema: urn::CORE_USER,
                attribute: "userName",
                sub_attribute: None
            }
        );
        assert_eq!(value, TypedValue::Text("bjensen".into()));
    }

    #[test]
    fn case_exact_attributes_keep_the_literal() {
        let Resolved::Compare { value, target, .. } = resolved(r#"externalId eq "AbC""#).unwrap()
        else {
            panic!()
        };
        assert_eq!(target.location, Location::ExternalId);
        assert_eq!(value, TypedValue::Text("AbC".into()));
    }

    #[test]
    fn extension_paths_resolve_case_insensitively() {
        let filter =
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.VALUE eq \"x\"";
        let Resolved::Compare { target, .. } = resolved(filter).unwrap() else {
            panic!()
        };
        assert_eq!(
            target.location,
            Location::Attribute {
                schema: urn::ENTERPRISE_USER,
                attribute: "manager",
                sub_attribute: Some("value")
            }
        );
    }

    #[test]
    fn custom_data_members_are_free_form() {
        let filter = format!("{}:customData.plan eq \"Gold\"", urn::ROSTER_USER);
        let Resolved::Compare { target, value, .. } = resolved(&filter).unwrap() else {
            panic!()
        };
        assert_eq!(target.kind, ValueKind::FreeForm);
        assert_eq!(value, TypedValue::Text("Gold".into()));
    }

    #[test]
    fn unknown_attributes_and_schemas_are_refused() {
        for filter in [
            "shoeSize eq \"44\"",
            "name.nickname eq \"x\"",
            "urn:example:unknown:attr eq \"x\"",
            "emails[kind eq \"work\"]",
            "meta.owner eq \"x\"",
        ] {
            assert!(resolved(filter).is_err(), "{filter}");
        }
    }

    #[test]
    fn literals_must_fit_the_attribute_type() {
        assert!(resolved("userName eq 5").is_err());
        assert!(resolved("active gt true").is_err());
        assert!(resolved("meta.created gt \"yesterday\"").is_err());
        assert!(resolved("meta.created co \"2020\"").is_err());
        assert!(resolved("name eq \"x\"").is_err());
        assert!(resolved("userName gt null").is_err());
        assert!(resolved("active eq \"True\"").is_ok());
    }

    #[test]
    fn null_comparisons_become_presence_tests() {
        assert!(
            matches!(resolved("title eq null").unwrap(), Resolved::Not(inner) if matches!(*inner, Resolved::Present(_)))
        );
        assert!(matches!(
            resolved("title ne null").unwrap(),
            Resolved::Present(_)
        ));
    }

    #[test]
    fn schemas_is_a_case_insensitive_multi_valued_string() {
        let filter = format!("SCHEMAS eq \"{}\"", urn::ENTERPRISE_USER.to_uppercase());
        let Resolved::Compare { target, value, .. } = resolved(&filter).unwrap() else {
            panic!()
        };
        assert_eq!(target.location, Location::Schemas);
        assert!(target.multi_valued);
        assert_eq!(value, TypedValue::Text(urn::ENTERPRISE_USER.to_lowercase()));
        assert!(resolved("schemas.value eq \"x\"").is_err());
    }

    #[test]
    fn date_times_are_compared_as_instants() {
        let Resolved::Compare { value, .. } =
            resolved(r#"meta.lastModified gt "2026-01-01T02:00:00+02:00""#).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            value,
            TypedValue::DateTime(parse_date_time("2026-01-01T00:00:00Z").unwrap())
        );
    }
}
