//! Where PATCH is applied (RFC 7644 §3.5.2): a pure function from a resource's
//! attribute document and a list of operations to the new document.
//!
//! The document has the shape [`super::validate::normalize_resource`] produces: core
//! attributes at the top level and each extension's attributes under its URN. Every
//! operation is applied to a copy; the first error discards them all.
//!
//! Real clients' dialects are accepted here, once: operation names in any case,
//! operations without `path` whose value names attributes by dotted or URN-qualified
//! keys (Entra ID), read-only attributes repeated in such a value (Okta), `add` on
//! single-valued attributes, removal of multi-valued values named in `value`, and a
//! value-filter path that matches nothing creating the value it describes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::ScimError;
use super::validate::{check_single_primary, extension_object, normalize_value, several_primaries};
use crate::filter::ast::{CompValue, CompareOp, Filter};
use crate::filter::parse_patch_path;
use crate::schema::matcher::element_matches;
use crate::schema::{AttributeDef, Mutability, ResourceTypeDef, SchemaDef, common_attribute};
use crate::schema::{Resolved, resolve};
use crate::schema::{core_schema, extension_schema, find_extension, split_extension_path};

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// One operation of a PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Most operations one PatchOp request may carry unless configured otherwise. Each
/// operation may cost a pass over the attribute it targets, so their number is
/// bounded; one operation may still carry any number of values within the body limit.
pub const DEFAULT_MAX_PATCH_OPERATIONS: usize = 1000;

/// Reads a PatchOp message body (RFC 7644 §3.5.2) of at most `max_operations`
/// operations.
pub fn parse_patch_request(
    body: &Value,
    max_operations: usize,
) -> Result<Vec<PatchOperation>, ScimError> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax(
            "a PatchOp request must be a JSON object",
        ));
    };
    let operations = fields
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("Operations"))
        .map(|(_, value)| value)
        .ok_or_else(|| {
            ScimError::invalid_syntax("a PatchOp request needs an 'Operations' array")
        })?;
    let Value::Array(operations) = operations else {
        return Err(ScimError::invalid_syntax("'Operations' must be an array"));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax("'Operations' is empty"));
    }
    if operations.len() > max_operations {
        return Err(ScimError::invalid_value(format!(
            "'Operations' has {} operations; at most {max_operations} are accepted in one \
             request: split the change into several requests",
            operations.len()
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i, op))
        .collect()
}

fn parse_operation(index: usize, operation: &Value) -> Result<PatchOperation, ScimError> {
    let Value::Object(fields) = operation else {
        return Err(ScimError::invalid_syntax(format!(
            "operation {index} must be a JSON object"
        )));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let op = match field("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => PatchOpKind::Add,
        Some("remove") => PatchOpKind::Remove,
        Some("replace") => PatchOpKind::Replace,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "operation {index}: 'op' must be add, remove or replace, not '{other}'"
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(format!(
                "operation {index} has no 'op'"
            )));
        }
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(path.trim().to_owned()),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "operation {index}: 'path' must be a string"
            )));
        }
    };
    let value = field("value").cloned();
    if op != PatchOpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "operation {index} ({op:?}) needs a 'value'"
        )));
    }
    Ok(PatchOperation { op, path, value })
}

/// Applies `operations` in order to `document`, the attributes of the resource
/// whose `id` is `own_id`; returns the new document.
pub fn apply_patch(
    document: &Map<String, Value>,
    operations: &[PatchOperation],
    resource_type: &ResourceTypeDef,
    own_id: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut working = document.clone();
    let mut engine = PatchEngine {
        resource_type,
        own_id,
        open: Vec::new(),
        examined: 0,
    };
    for operation in operations {
        engine.apply(&mut working, operation)?;
    }
    engine.close(&mut working, |_| true);
    // Extension objects left empty are not kept.
    working.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    Ok(working)
}

/// A path resolved against the schemas.
struct Target {
    /// `None` for the core schema, else the extension URN.
    container: Option<&'static str>,
    attribute: &'static AttributeDef,
    filter: Option<Resolved>,
    /// The sub-attribute named after the attribute or after the value filter.
    sub_attribute: Option<&'static AttributeDef>,
    /// Members below a free-form attribute (`customData.plan.level`).
    free_form_path: Vec<String>,
    /// The filter as parsed, for creating the value it describes.
    raw_filter: Option<Filter>,
}

struct PatchEngine<'r> {
    resource_type: &'r ResourceTypeDef,
    /// The resource's `id`, which a value without `path` may repeat but not change.
    own_id: &'r str,
    /// Multi-valued attributes taken out of the document and indexed while `add`s
    /// of values go to them, so that N adds cost N, not N times the attribute's
    /// length. Any other operation on one puts it back first.
    open: Vec<OpenAttribute>,
    /// Values of multi-valued attributes that operations have gone through so far.
    examined: usize,
}

/// Most values of multi-valued attributes one PATCH request may go through. An
/// operation other than an add of values goes through all of the attribute's values
/// (a value filter tests each): this bounds what a request of many such operations
/// on a user of very many values costs. Users of ordinary size never come near it.
pub const MAX_VALUES_EXAMINED: usize = 1_000_000;

struct OpenAttribute {
    container: Option<&'static str>,
    attribute: &'static AttributeDef,
    values: MultiValues,
}

impl PatchEngine<'_> {
    fn apply(
        &mut self,
        doc: &mut Map<String, Value>,
        operation: &PatchOperation,
    ) -> Result<(), ScimError> {
        if let Some(extension) = operation
            .path
            .as_deref()
            .and_then(|p| find_extension(self.resource_type, p))
        {
            return self.apply_to_extension(doc, operation, extension);
        }
        match &operation.path {
            Some(path) => {
                let target = self.resolve_target(path)?;
                self.apply_step(doc, operation.op, target, operation.value.as_ref(), path)
            }
            None => self.apply_without_path(doc, operation),
        }
    }

    /// Applies one operation to a resolved target.
    fn apply_step(
        &mut self,
        doc: &mut Map<String, Value>,
        op: PatchOpKind,
        target: Target,
        value: Option<&Value>,
        path: &str,
    ) -> Result<(), ScimError> {
        let plain_add = op == PatchOpKind::Add
            && target.attribute.multi_valued
            && target.filter.is_none()
            && target.sub_attribute.is_none()
            && target.free_form_path.is_empty();
        let already_open = self.open.iter().any(|open| {
            open.container == target.container && std::ptr::eq(open.attribute, target.attribute)
        });
        if target.attribute.multi_valued && target.free_form_path.is_empty() && !already_open {
            self.examine(doc, &target)?;
        }
        match value {
            Some(value) if plain_add => {
                check_mutability(&target, path)?;
                let definition = target.attribute;
                let normalized = normalize_value(definition, value, &definition.name)?;
                let values = self.open_values(doc, target.container, definition);
                values.add(normalized, &definition.name)
            }
            _ => {
                self.close(doc, |open| {
                    open.container == target.container
                        && std::ptr::eq(open.attribute, target.attribute)
                });
                self.apply_at(doc, op, &target, value, path)
            }
        }
    }

    /// Counts the values of the target's attribute as gone through; refuses the
    /// request when it goes through more than [`MAX_VALUES_EXAMINED`].
    fn examine(&mut self, doc: &Map<String, Value>, target: &Target) -> Result<(), ScimError> {
        let container = match target.container {
            Some(urn) => doc.get(urn).and_then(Value::as_object),
            None => Some(doc),
        };
        let stored = container
            .and_then(|fields| fields.get(&target.attribute.name))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        self.examined = self.examined.saturating_add(stored);
        if self.examined > MAX_VALUES_EXAMINED {
            return Err(ScimError::invalid_value(format!(
                "the operations go through the {stored} values of '{}' again and again: \
                 more than {MAX_VALUES_EXAMINED} values in all; send fewer operations \
                 per request",
                target.attribute.name
            )));
        }
        Ok(())
    }

    /// The indexed values of a multi-valued attribute, taken out of the document.
    fn open_values(
        &mut self,
        doc: &mut Map<String, Value>,
        container: Option<&'static str>,
        attribute: &'static AttributeDef,
    ) -> &mut MultiValues {
        let position = self.open.iter().position(|open| {
            open.container == container && std::ptr::eq(open.attribute, attribute)
        });
        let position = position.unwrap_or_else(|| {
            let items = match container_mut(doc, container).remove(&attribute.name) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            self.open.push(OpenAttribute {
                container,
                attribute,
                values: MultiValues::new(items),
            });
            self.open.len() - 1
        });
        &mut self.open[position].values
    }

    /// Puts the open attributes that `which` selects back into the document.
    fn close(&mut self, doc: &mut Map<String, Value>, which: impl Fn(&OpenAttribute) -> bool) {
        let (closing, open): (Vec<_>, Vec<_>) = self.open.drain(..).partition(|o| which(o));
        self.open = open;
        for attribute in closing {
            let items = attribute.values.items;
            let container = container_mut(doc, attribute.container);
            if items.is_empty() {
                container.remove(&attribute.attribute.name);
            } else {
                container.insert(attribute.attribute.name.clone(), Value::Array(items));
            }
        }
    }

    /// RFC 7644 §3.5.2.1/.3: without `path`, the value is an object of attributes.
    fn apply_without_path(
        &mut self,
        doc: &mut Map<String, Value>,
        operation: &PatchOperation,
    ) -> Result<(), ScimError> {
        if operation.op == PatchOpKind::Remove {
            return Err(ScimError::no_target("a remove operation needs a 'path'"));
        }
        let Some(Value::Object(fields)) = &operation.value else {
            return Err(ScimError::invalid_value(
                "without a 'path', the value must be a JSON object of attributes",
            ));
        };
        for (key, value) in fields {
            if key.eq_ignore_ascii_case("id") {
                // RFC 7643 §3.1: `id` is readOnly and caseExact. Okta repeats the
                // resource's own id; any other id is an attempt to change it.
                match value {
                    Value::Null => continue,
                    Value::String(id) if id == self.own_id => continue,
                    _ => {
                        return Err(ScimError::mutability(
                            "'id' is read-only: a value may repeat it, not change it",
                        ));
                    }
                }
            }
            if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
                continue; // clients repeat these; they are the server's
            }
            if let Some(extension) = find_extension(self.resource_type, key) {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "'{key}' must be an object of that schema's attributes"
                    )));
                };
                for (name, inner_value) in inner {
                    let path = format!("{extension}:{name}");
                    self.apply_key(doc, operation.op, &path, inner_value)?;
                }
                continue;
            }
            self.apply_key(doc, operation.op, key, value)?;
        }
        Ok(())
    }

    /// A path naming a whole extension: its value is an object of that extension's
    /// attributes.
    fn apply_to_extension(
        &mut self,
        doc: &mut Map<String, Value>,
        operation: &PatchOperation,
        extension: &'static str,
    ) -> Result<(), ScimError> {
        match (operation.op, &operation.value) {
            (PatchOpKind::Remove, _) => {
                self.close(doc, |open| open.container == Some(extension));
                doc.remove(extension);
                Ok(())
            }
            (op, Some(Value::Object(fields))) => {
                if op == PatchOpKind::Replace {
                    self.close(doc, |open| open.container == Some(extension));
                    doc.remove(extension);
                }
                for (name, value) in fields {
                    if name.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    self.apply_key(doc, PatchOpKind::Add, &format!("{extension}:{name}"), value)?;
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "the value for '{extension}' must be an object of its attributes"
            ))),
        }
    }

    fn apply_key(
        &mut self,
        doc: &mut Map<String, Value>,
        op: PatchOpKind,
        key: &str,
        value: &Value,
    ) -> Result<(), ScimError> {
        let target = self.resolve_target(key)?;
        if target.attribute.mutability == Mutability::ReadOnly {
            return Ok(()); // e.g. Okta repeats the group's id in the value
        }
        self.apply_step(doc, op, target, Some(value), key)
    }

    fn resolve_target(&self, path: &str) -> Result<Target, ScimError> {
        let parsed = parse_patch_path(path)
            .map_err(|e| ScimError::invalid_path(format!("the path '{path}' is not valid: {e}")))?;
        let attribute_path = &parsed.attribute;
        let (container, schema): (Option<&'static str>, &'static SchemaDef) = match &attribute_path
            .uri
        {
            None => (None, core_schema(self.resource_type)),
            Some(uri) if uri.eq_ignore_ascii_case(self.resource_type.core) => {
                (None, core_schema(self.resource_type))
            }
            Some(uri) => {
                let urn = find_extension(self.resource_type, uri)
                    .or_else(|| split_extension_path(self.resource_type, uri).map(|(urn, _)| urn))
                    .ok_or_else(|| {
                        ScimError::invalid_path(format!(
                            "'{uri}' is not a schema of {} resources",
                            self.resource_type.name
                        ))
                    })?;
                (Some(urn), extension_schema(urn))
            }
        };
        let attribute = schema
            .attribute(&attribute_path.attribute)
            .or_else(|| {
                container
                    .is_none()
                    .then(|| common_attribute(&attribute_path.attribute))
                    .flatten()
            })
            .ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "unknown attribute '{attribute_path}' in the path '{path}'"
                ))
            })?;
        let mut sub_name = attribute_path.sub_attribute.clone();
        if parsed.sub_attribute.is_some() {
            if sub_name.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "the path '{path}' names two sub-attributes"
                )));
            }
            sub_name = parsed.sub_attribute.clone();
        }
        let mut free_form_path = Vec::new();
        let sub_attribute = match sub_name {
            None => None,
            Some(name) if attribute.is_free_form() => {
                free_form_path = name.split('.').map(str::to_owned).collect();
                None
            }
            Some(name) => Some(attribute.sub_attribute(&name).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "'{}' has no sub-attribute '{name}'",
                    attribute.name
                ))
            })?),
        };
        let filter = match &parsed.value_filter {
            None => None,
            Some(inner) => {
                if !attribute.multi_valued {
                    return Err(ScimError::invalid_path(format!(
                        "'{}' is single-valued: a value filter does not apply",
                        attribute.name
                    )));
                }
                let value_path = Filter::ValuePath {
                    path: attribute_path.clone(),
                    filter: Box::new(inner.clone()),
                };
                match resolve(&value_path, self.resource_type) {
                    Ok(Resolved::ValuePath { filter, .. }) => Some(*filter),
                    Ok(_) => {
                        return Err(ScimError::invalid_path(format!(
                            "the path '{path}' is not a value filter"
                        )));
                    }
                    Err(e) => {
                        return Err(ScimError::invalid_path(format!(
                            "the path '{path}': {}",
                            e.0
                        )));
                    }
                }
            }
        };
        Ok(Target {
            container,
            attribute,
            filter,
            sub_attribute,
            free_form_path,
            raw_filter: parsed.value_filter,
        })
    }

    fn apply_at(
        &self,
        doc: &mut Map<String, Value>,
        op: PatchOpKind,
        target: &Target,
        value: Option<&Value>,
        path: &str,
    ) -> Result<(), ScimError> {
        check_mutability(target, path)?;
        let container = container_mut(doc, target.container);
        let name = target.attribute.name.as_str();
        if !target.free_form_path.is_empty() {
            return apply_free_form(container, name, &target.free_form_path, op, value, path);
        }
        match (target.attribute.multi_valued, &target.filter) {
            (true, Some(filter)) => self.apply_filtered(container, op, target, filter, value, path),
            (true, None) => apply_multi_valued(container, op, target, value, path),
            (false, _) => apply_single_valued(container, op, target, value, path),
        }
    }

    /// `attr[filter]` and `attr[filter].sub`.
    fn apply_filtered(
        &self,
        container: &mut Map<String, Value>,
        op: PatchOpKind,
        target: &Target,
        filter: &Resolved,
        value: Option<&Value>,
        path: &str,
    ) -> Result<(), ScimError> {
        let name = target.attribute.name.as_str();
        let mut items = match container.remove(name) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let matching: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| element_matches(filter, item))
            .map(|(i, _)| i)
            .collect();
        let result = (|| -> Result<(), ScimError> {
            match op {
                PatchOpKind::Remove => {
                    match target.sub_attribute {
                        Some(sub) => {
                            for &i in &matching {
                                if let Value::Object(fields) = &mut items[i] {
                                    fields.remove(&sub.name);
                                }
                            }
                        }
                        None => {
                            let mut removed = vec![false; items.len()];
                            for &i in &matching {
                                removed[i] = true;
                            }
                            let mut index = 0;
                            items.retain(|_| {
                                let keep = !removed[index];
                                index += 1;
                                keep
                            });
                        }
                    }
                    Ok(())
                }
                PatchOpKind::Add | PatchOpKind::Replace => {
                    let value = value.ok_or_else(|| {
                        ScimError::invalid_syntax("the operation needs a 'value'")
                    })?;
                    if matching.is_empty() {
                        // Entra ID sets `emails[type eq "work"].value` on users without a
                        // work email: create the value the filter describes.
                        let created = target
                            .raw_filter
                            .as_ref()
                            .and_then(described_value)
                            .ok_or_else(|| {
                                ScimError::no_target(format!("no value matches the path '{path}'"))
                            })?;
                        items.push(Value::Object(created));
                        let last = items.len() - 1;
                        if set_in_element(&mut items[last], target, value, path)? {
                            clear_other_primaries(&mut items, &[last]);
                        }
                        return Ok(());
                    }
                    let mut made_primary = false;
                    for &i in &matching {
                        made_primary |= set_in_element(&mut items[i], target, value, path)?;
                    }
                    if made_primary {
                        clear_other_primaries(&mut items, &matching);
                    }
                    Ok(())
                }
            }
        })();
        result?;
        items.retain(|item| !matches!(item, Value::Object(m) if m.is_empty()));
        finish_multi_valued(container, target.attribute, items)
    }
}

fn check_mutability(target: &Target, path: &str) -> Result<(), ScimError> {
    let read_only = target.attribute.mutability == Mutability::ReadOnly
        || target
            .sub_attribute
            .is_some_and(|sub| sub.mutability == Mutability::ReadOnly);
    if read_only {
        return Err(ScimError::mutability(format!("'{path}' is read-only")));
    }
    Ok(())
}

fn container_mut<'d>(
    doc: &'d mut Map<String, Value>,
    container: Option<&str>,
) -> &'d mut Map<String, Value> {
    match container {
        Some(urn) => extension_object(doc, urn),
        None => doc,
    }
}

fn apply_single_valued(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    target: &Target,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    let definition = target.attribute;
    let name = definition.name.as_str();
    match (op, target.sub_attribute) {
        (PatchOpKind::Remove, None) => {
            // RFC 7644 §3.5.2.2: removing a required attribute is a mutability error.
            if definition.required {
                return Err(ScimError::mutability(format!(
                    "'{path}' is required and cannot be removed"
                )));
            }
            container.remove(name);
        }
        (PatchOpKind::Remove, Some(sub)) => {
            if let Some(Value::Object(fields)) = container.get_mut(name) {
                fields.remove(&sub.name);
                if fields.is_empty() {
                    container.remove(name);
                }
            }
        }
        (_, Some(sub)) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            let normalized = normalize_value(sub, value, &format!("{name}.{}", sub.name))?;
            let slot = container
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(fields) = slot {
                match normalized {
                    Some(v) => {
                        fields.insert(sub.name.clone(), v);
                    }
                    None => {
                        fields.remove(&sub.name);
                    }
                }
                if fields.is_empty() {
                    container.remove(name);
                }
            }
        }
        (_, None) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            let normalized = normalize_value(definition, value, name)?;
            check_immutable(definition, container.get(name), normalized.as_ref(), path)?;
            match normalized {
                // RFC 7644 §3.5.2.1/.3: sub-attributes not given are left unchanged.
                Some(Value::Object(new_fields))
                    if !definition.is_free_form() || op == PatchOpKind::Add =>
                {
                    let slot = container
                        .entry(name.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    if let Value::Object(fields) = slot {
                        for (key, v) in new_fields {
                            fields.insert(key, v);
                        }
                    }
                }
                Some(v) => {
                    container.insert(name.to_owned(), v);
                }
                None => {
                    if definition.required {
                        return Err(ScimError::invalid_value(format!(
                            "'{path}' is required and cannot be emptied"
                        )));
                    }
                    container.remove(name);
                }
            }
        }
    }
    Ok(())
}

fn check_immutable(
    definition: &AttributeDef,
    current: Option<&Value>,
    new: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    if definition.mutability == Mutability::Immutable
        && let Some(current) = current
        && new != Some(current)
    {
        return Err(ScimError::mutability(format!(
            "'{path}' is immutable once set"
        )));
    }
    Ok(())
}

fn apply_multi_valued(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    target: &Target,
    value: Option<&Value>,
    path: &str,
) -> Result<(), ScimError> {
    let definition = target.attribute;
    let name = definition.name.as_str();
    let mut items = match container.remove(name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    match (op, target.sub_attribute) {
        (PatchOpKind::Remove, None) => match value {
            // `{"op":"remove","path":"members","value":[{"value":"u1"}]}` (Entra ID):
            // remove the values named, not all of them.
            Some(named) if !named.is_null() => {
                let named =
                    normalize_value(definition, named, name)?.unwrap_or(Value::Array(Vec::new()));
                let named = named.as_array().map(Vec::as_slice).unwrap_or_default();
                remove_described(&mut items, named);
            }
            _ => items.clear(),
        },
        (PatchOpKind::Remove, Some(sub)) => {
            for item in &mut items {
                if let Value::Object(fields) = item {
                    fields.remove(&sub.name);
                }
            }
            items.retain(|item| !matches!(item, Value::Object(m) if m.is_empty()));
        }
        (_, Some(sub)) => {
            // `emails.type` without a filter: set it on every value.
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            if items.is_empty() {
                return Err(ScimError::no_target(format!(
                    "'{name}' has no values to set '{}' on",
                    sub.name
                )));
            }
            for item in &mut items {
                set_in_element(item, target, value, path)?;
            }
        }
        (PatchOpKind::Add, None) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            let mut values = MultiValues::new(items);
            values.add(normalize_value(definition, value, name)?, name)?;
            items = values.items;
        }
        (PatchOpKind::Replace, None) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            items = normalize_value(definition, value, name)?
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
        }
    }
    finish_multi_valued(container, definition, items)
}

fn finish_multi_valued(
    container: &mut Map<String, Value>,
    definition: &AttributeDef,
    items: Vec<Value>,
) -> Result<(), ScimError> {
    if items.is_empty() {
        container.remove(&definition.name);
        return Ok(());
    }
    let value = Value::Array(items);
    check_single_primary(&definition.name, &value)?;
    container.insert(definition.name.clone(), value);
    Ok(())
}

/// Sets the sub-attribute, or merges the given sub-attributes (those not given are
/// left unchanged, RFC 7644 §3.5.2.3), on one value of a multi-valued attribute.
/// True when it sets `primary` to true.
fn set_in_element(
    element: &mut Value,
    target: &Target,
    value: &Value,
    path: &str,
) -> Result<bool, ScimError> {
    let definition = target.attribute;
    let name = definition.name.as_str();
    let Value::Object(fields) = element else {
        return Err(ScimError::no_target(format!(
            "'{path}' does not name a complex value"
        )));
    };
    match target.sub_attribute {
        Some(sub) => {
            let normalized = normalize_value(sub, value, &format!("{name}.{}", sub.name))?;
            let made_primary = sub.name == "primary" && normalized == Some(Value::Bool(true));
            match normalized {
                Some(v) => {
                    fields.insert(sub.name.clone(), v);
                }
                None => {
                    fields.remove(&sub.name);
                }
            }
            Ok(made_primary)
        }
        None => {
            let single = match value {
                Value::Array(items) if items.len() == 1 => &items[0],
                other => other,
            };
            let Some(Value::Object(new_fields)) = normalize_element(definition, single, name)?
            else {
                return Err(ScimError::invalid_value(format!(
                    "'{path}' needs an object of sub-attributes"
                )));
            };
            let made_primary = new_fields.get("primary") == Some(&Value::Bool(true));
            for (key, v) in new_fields {
                fields.insert(key, v);
            }
            Ok(made_primary)
        }
    }
}

/// RFC 7644 §3.5.2: setting `primary` to true on the values at `chosen` (positions
/// in ascending order) sets it to false on every other value of the attribute.
fn clear_other_primaries(items: &mut [Value], chosen: &[usize]) {
    for (index, item) in items.iter_mut().enumerate() {
        if chosen.binary_search(&index).is_err() {
            clear_primary(item);
        }
    }
}

/// Normalizes one value of a multi-valued attribute.
fn normalize_element(
    definition: &AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    Ok(normalize_value(definition, value, path)?
        .and_then(|v| v.as_array().and_then(|a| a.first().cloned())))
}

/// The values of a multi-valued attribute, indexed so that adding one costs the same
/// however many there are.
struct MultiValues {
    items: Vec<Value>,
    /// Positions in `items` by [`identity_key`].
    by_identity: HashMap<String, Vec<usize>>,
    /// Positions of the values marked primary.
    primaries: HashSet<usize>,
}

impl MultiValues {
    fn new(items: Vec<Value>) -> MultiValues {
        let mut by_identity: HashMap<String, Vec<usize>> = HashMap::with_capacity(items.len());
        let mut primaries = HashSet::new();
        for (index, item) in items.iter().enumerate() {
            by_identity
                .entry(identity_key(item))
                .or_default()
                .push(index);
            if is_primary(item) {
                primaries.insert(index);
            }
        }
        MultiValues {
            items,
            by_identity,
            primaries,
        }
    }

    /// Adds normalized values: one that is already there is merged into it, which
    /// changes nothing when they are equal (RFC 7644 §3.5.2.1). A value given as
    /// primary becomes the only primary (RFC 7644 §3.5.2); giving two is refused, as
    /// RFC 7643 §2.4 allows one.
    fn add(&mut self, normalized: Option<Value>, name: &str) -> Result<(), ScimError> {
        let new_items = match normalized {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let given = new_items.iter().filter(|item| is_primary(item)).count();
        if given > 1 {
            return Err(several_primaries(name, given));
        }
        for new_item in new_items {
            let key = identity_key(&new_item);
            let existing = self.by_identity.get(&key).and_then(|positions| {
                positions
                    .iter()
                    .copied()
                    .find(|&i| same_value(&self.items[i], &new_item))
            });
            match existing {
                Some(index) => {
                    merge_into(&mut self.items[index], &new_item);
                    if is_primary(&new_item) {
                        self.make_sole_primary(index);
                    } else if !is_primary(&self.items[index]) {
                        self.primaries.remove(&index);
                    }
                }
                None => {
                    let index = self.items.len();
                    let primary = is_primary(&new_item);
                    self.by_identity.entry(key).or_default().push(index);
                    self.items.push(new_item);
                    if primary {
                        self.make_sole_primary(index);
                    }
                }
            }
        }
        Ok(())
    }

    /// Marks the value at `index` the only primary one.
    fn make_sole_primary(&mut self, index: usize) {
        for &old in &self.primaries {
            if old != index {
                clear_primary(&mut self.items[old]);
            }
        }
        self.primaries.clear();
        self.primaries.insert(index);
    }
}

/// A key equal for any two values that [`same_value`] finds the same: their
/// `value`, or, lacking one, everything but `primary` and `display`.
fn identity_key(item: &Value) -> String {
    let mut key = String::new();
    match item.get("value") {
        Some(value) => {
            key.push('v');
            write_canonical(value, &mut key);
        }
        None => {
            key.push('w');
            write_canonical(&strip_flags(item), &mut key);
        }
    }
    key
}

/// Writes `value` as JSON with object members in name order, so that equal values
/// give equal text whatever order their members came in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort();
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                write_canonical(&fields[name.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Two values are the same value when their `value`s are equal and their `type`s do
/// not differ (or, lacking a `value`, everything but `primary` and `display` is).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => {
            let types_agree = match (a.get("type"), b.get("type")) {
                (Some(s), Some(t)) => s == t,
                _ => true,
            };
            x == y && types_agree
        }
        _ => strip_flags(a) == strip_flags(b),
    }
}

fn strip_flags(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(k, _)| *k != "primary" && *k != "display")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Removes from `items` every value that one of `named` describes (see
/// [`describes`]), in one pass over `items` per set of sub-attribute names used.
fn remove_described(items: &mut Vec<Value>, named: &[Value]) {
    // Named objects grouped by the sub-attributes they give: an item is described
    // when its values of those sub-attributes are among the group's.
    let mut by_names: HashMap<Vec<String>, HashSet<Vec<String>>> = HashMap::new();
    let mut whole: HashSet<String> = HashSet::new();
    for value in named {
        match value {
            Value::Object(wanted) => {
                let mut names: Vec<String> = wanted.keys().cloned().collect();
                names.sort();
                let described = names.iter().map(|n| comparison_key(&wanted[n.as_str()]));
                let described = described.collect();
                by_names.entry(names).or_default().insert(described);
            }
            other => {
                let mut key = String::new();
                write_canonical(other, &mut key);
                whole.insert(key);
            }
        }
    }
    items.retain(|item| {
        if !whole.is_empty() {
            let mut key = String::new();
            write_canonical(item, &mut key);
            if whole.contains(&key) {
                return false;
            }
        }
        let Value::Object(fields) = item else {
            return true;
        };
        !by_names.iter().any(|(names, described)| {
            let values: Option<Vec<String>> = names
                .iter()
                .map(|n| fields.get(n.as_str()).map(comparison_key))
                .collect();
            values.is_some_and(|values| described.contains(&values))
        })
    })
}

/// Equal for two sub-attribute values exactly when [`describes`] finds them equal:
/// strings ignoring ASCII case, anything else as JSON.
fn comparison_key(value: &Value) -> String {
    match value {
        Value::String(text) => format!("s{}", text.to_ascii_lowercase()),
        other => {
            let mut key = String::from("j");
            write_canonical(other, &mut key);
            key
        }
    }
}

/// Whether the value `named` in a remove describes `item`: every sub-attribute it
/// gives is equal (strings compared ignoring case).
#[cfg(test)]
fn describes(named: &Value, item: &Value) -> bool {
    match (named, item) {
        (Value::Object(wanted), Value::Object(fields)) => {
            wanted.iter().all(|(k, v)| match (v, fields.get(k)) {
                (Value::String(a), Some(Value::String(b))) => a.eq_ignore_ascii_case(b),
                (a, Some(b)) => a == b,
                (_, None) => false,
            })
        }
        (a, b) => a == b,
    }
}

fn merge_into(existing: &mut Value, new: &Value) {
    if let (Value::Object(fields), Value::Object(new_fields)) = (existing, new) {
        for (k, v) in new_fields {
            fields.insert(k.clone(), v.clone());
        }
    }
}

fn is_primary(value: &Value) -> bool {
    value.get("primary").and_then(Value::as_bool) == Some(true)
}

fn clear_primary(item: &mut Value) {
    if let Value::Object(fields) = item
        && fields.get("primary").and_then(Value::as_bool) == Some(true)
    {
        fields.insert("primary".into(), Value::Bool(false));
    }
}

/// The value a filter of `eq` comparisons joined by `and` describes
/// (`type eq "work"` → `{"type": "work"}`).
fn described_value(filter: &Filter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    collect_equalities(filter, &mut out)?;
    Some(out)
}

fn collect_equalities(filter: &Filter, out: &mut Map<String, Value>) -> Option<()> {
    match filter {
        Filter::And(a, b) => {
            collect_equalities(a, out)?;
            collect_equalities(b, out)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub_attribute.is_none() => {
            let value = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            out.insert(path.attribute.clone(), value);
            Some(())
        }
        _ => None,
    }
}

/// `customData.plan.level`: set or remove a member inside a free-form object.
fn apply_free_form(
    container: &mut Map<String, Value>,
    name: &str,
    path: &[String],
    op: PatchOpKind,
    value: Option<&Value>,
    full_path: &str,
) -> Result<(), ScimError> {
    let mut node = container
        .entry(name.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    let (last, parents) = path
        .split_last()
        .ok_or_else(|| ScimError::invalid_path(format!("'{full_path}' is empty")))?;
    for key in parents {
        if !node.is_object() {
            if op == PatchOpKind::Remove {
                return Ok(());
            }
            *node = Value::Object(Map::new());
        }
        let Value::Object(fields) = node else {
            unreachable!("node was just made an object")
        };
        node = fields
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(fields) = node else {
        unreachable!("node was just made an object")
    };
    match op {
        PatchOpKind::Remove => {
            fields.remove(last);
        }
        PatchOpKind::Add | PatchOpKind::Replace => {
            let value =
                value.ok_or_else(|| ScimError::invalid_syntax("the operation needs a 'value'"))?;
            fields.insert(last.clone(), value.clone());
        }
    }
    if container
        .get(name)
        .is_some_and(|v| matches!(v, Value::Object(m) if m.is_empty()))
    {
        container.remove(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER_RESOURCE;
    use crate::scim::ScimType;
    use crate::urn::{ENTERPRISE_USER, ROSTER_USER};
    use serde_json::json;

    const OWN_ID: &str = "2819c223-7f76-453a-919d-413861904646";

    fn doc() -> Map<String, Value> {
        json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "Guide",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            ENTERPRISE_USER: {"employeeNumber": "701984"}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn patch(operations: Value) -> Result<Map<String, Value>, ScimError> {
        let operations = parse_patch_request(
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations
            }),
            DEFAULT_MAX_PATCH_OPERATIONS,
        )?;
        apply_patch(&doc(), &operations, &USER_RESOURCE, OWN_ID)
    }

    fn error_type(operations: Value) -> Option<&'static str> {
        patch(operations)
            .err()
            .and_then(|e| e.scim_type)
            .map(ScimType::as_str)
    }

    #[test]
    fn add_appends_to_a_multi_valued_attribute() {
        let out = patch(json!([{"op": "add", "path": "emails", "value": [{"value": "new@x.org", "type": "other"}]}])).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 3);
        assert_eq!(out["emails"][2]["value"], "new@x.org");
    }

    #[test]
    fn add_of_an_existing_value_adds_no_duplicate() {
        let out = patch(json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}])).unwrap();
        assert_eq!(out["emails"], doc()["emails"]);
    }

    #[test]
    fn add_of_a_new_primary_value_clears_the_old_primary() {
        let out = patch(json!([{"op": "add", "path": "emails", "value": {"value": "p@x.org", "primary": true}}])).unwrap();
        let primaries: Vec<&Value> = out["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .collect();
        assert_eq!(primaries.len(), 1);
        assert_eq!(primaries[0]["value"], "p@x.org");
    }

    #[test]
    fn add_without_path_merges_attributes() {
        let out = patch(
            json!([{"op": "add", "value": {"nickName": "Babs", "name": {"middleName": "J"}}}]),
        )
        .unwrap();
        assert_eq!(out["nickName"], "Babs");
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"})
        );
    }

    #[test]
    fn add_on_a_single_valued_attribute_replaces_it() {
        let out = patch(json!([{"op": "Add", "path": "active", "value": "False"}])).unwrap();
        assert_eq!(out["active"], false);
    }

    #[test]
    fn replace_without_path_accepts_dotted_and_urn_keys() {
        let out = patch(json!([{"op": "Replace", "value": {
            "name.givenName": "Kkom",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
            "active": "True"
        }}]))
        .unwrap();
        assert_eq!(out["name"]["givenName"], "Kkom");
        assert_eq!(out["name"]["familyName"], "Jensen");
        assert_eq!(out[ENTERPRISE_USER]["employeeNumber"], "Aklq");
        assert_eq!(out["active"], true);
    }

    #[test]
    fn replace_without_path_ignores_read_only_id_and_schemas() {
        let out = patch(
            json!([{"op": "replace", "value": {"id": OWN_ID, "schemas": [], "displayName": "B"}}]),
        )
        .unwrap();
        assert_eq!(out["displayName"], "B");
        assert!(out.get("id").is_none());
    }

    #[test]
    fn replace_of_a_multi_valued_attribute_replaces_all_values() {
        let out =
            patch(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.org"}]}]))
                .unwrap();
        assert_eq!(out["emails"], json!([{"value": "only@x.org"}]));
    }

    #[test]
    fn replace_with_a_value_filter_changes_only_matching_values() {
        let out = patch(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x.org"}])).unwrap();
        assert_eq!(out["emails"][0]["value"], "w@x.org");
        assert_eq!(out["emails"][1]["value"], "babs@jensen.org");
    }

    #[test]
    fn replace_with_a_value_filter_matching_nothing_creates_the_described_value() {
        let out = patch(json!([{"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"}])).unwrap();
        assert_eq!(
            out["phoneNumbers"],
            json!([{"type": "mobile", "value": "555"}])
        );
    }

    #[test]
    fn replace_with_a_complex_filter_matching_nothing_is_no_target() {
        assert_eq!(
            error_type(
                json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "x"}])
            ),
            Some("noTarget")
        );
    }

    #[test]
    fn replace_of_a_sub_attribute_keeps_its_siblings() {
        let out =
            patch(json!([{"op": "replace", "path": "name.familyName", "value": "Doe"}])).unwrap();
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Doe"})
        );
    }

    #[test]
    fn replace_of_a_complex_attribute_merges_sub_attributes() {
        let out = patch(json!([{"op": "replace", "path": "name", "value": {"familyName": "Doe"}}]))
            .unwrap();
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Doe"})
        );
    }

    #[test]
    fn remove_without_value_removes_all_values() {
        let out = patch(json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(out.get("emails").is_none());
    }

    #[test]
    fn remove_with_value_filter_removes_only_matching_values() {
        let out = patch(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
        );
    }

    #[test]
    fn remove_with_values_in_value_removes_those_values() {
        let out = patch(
            json!([{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
        )
        .unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn remove_of_a_sub_attribute_and_a_simple_attribute() {
        let out = patch(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "title"},
            {"op": "remove", "path": "emails[type eq \"work\"].primary"}
        ]))
        .unwrap();
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
        assert!(out.get("title").is_none());
        assert!(out["emails"][0].get("primary").is_none());
    }

    #[test]
    fn remove_without_path_is_no_target() {
        assert_eq!(error_type(json!([{"op": "remove"}])), Some("noTarget"));
    }

    #[test]
    fn removing_a_required_attribute_is_a_mutability_error() {
        assert_eq!(
            error_type(json!([{"op": "remove", "path": "userName"}])),
            Some("mutability")
        );
        let path = format!("{}:userName", crate::urn::CORE_USER);
        assert_eq!(
            error_type(json!([{"op": "remove", "path": path}])),
            Some("mutability")
        );
        let group = json!({"displayName": "Admins"});
        let operations = parse_patch_request(
            &json!({"Operations": [{"op": "remove", "path": "displayName"}]}),
            DEFAULT_MAX_PATCH_OPERATIONS,
        )
        .unwrap();
        let err = apply_patch(
            group.as_object().unwrap(),
            &operations,
            &crate::schema::GROUP_RESOURCE,
            OWN_ID,
        )
        .unwrap_err();
        assert_eq!(err.scim_type.map(ScimType::as_str), Some("mutability"));
    }

    #[test]
    fn a_value_without_path_may_repeat_the_own_id_but_not_change_it() {
        let out =
            patch(json!([{"op": "replace", "value": {"id": OWN_ID, "title": "Chief"}}])).unwrap();
        assert_eq!(out["title"], "Chief");
        assert!(out.get("id").is_none());
        for other in [json!("another-id"), json!(OWN_ID.to_uppercase()), json!(7)] {
            for op in ["add", "replace"] {
                assert_eq!(
                    error_type(json!([{"op": op, "value": {"id": other, "title": "Chief"}}])),
                    Some("mutability"),
                    "{op} {other}"
                );
            }
        }
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "id", "value": OWN_ID}])),
            Some("mutability")
        );
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "id", "value": "another-id"}])),
            Some("mutability")
        );
    }

    fn primary_values(out: &Map<String, Value>) -> Vec<&Value> {
        out["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .map(|e| &e["value"])
            .collect()
    }

    #[test]
    fn setting_primary_by_a_value_filter_clears_the_other_primary() {
        for op in ["add", "replace"] {
            let out = patch(json!([
                {"op": op, "path": "emails[type eq \"home\"].primary", "value": true}
            ]))
            .unwrap();
            assert_eq!(
                primary_values(&out),
                vec![&json!("babs@jensen.org")],
                "{op}"
            );
            assert_eq!(out["emails"][0]["primary"], false, "{op}");
        }
        let out = patch(json!([
            {"op": "replace", "path": "emails[type eq \"home\"]", "value": {"primary": true}}
        ]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("babs@jensen.org")]);
        // A filter that matches nothing creates the primary value it describes.
        let out = patch(json!([
            {"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x.org"},
            {"op": "replace", "path": "emails[type eq \"other\"].primary", "value": "True"}
        ]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("o@x.org")]);
        // Setting primary to false leaves the others as they are.
        let out = patch(json!([
            {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": false}
        ]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("bjensen@example.com")]);
        // Two values cannot both be made primary.
        assert_eq!(
            error_type(json!([
                {"op": "replace", "path": "emails[value ew \"m\" or value ew \"g\"].primary", "value": true}
            ])),
            Some("invalidValue")
        );
    }

    #[test]
    fn a_primary_value_without_path_becomes_the_only_primary() {
        let out = patch(json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home", "primary": true}]
        }}]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("babs@jensen.org")]);
        assert_eq!(out["emails"].as_array().unwrap().len(), 2);
        let out = patch(json!([{"op": "add", "value": {
            "emails": [{"value": "new@x.org", "primary": true}]
        }}]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("new@x.org")]);
        // One value given with two primaries is refused (RFC 7643 §2.4).
        assert_eq!(
            error_type(json!([{"op": "add", "value": {"emails": [
                {"value": "a@x.org", "primary": true}, {"value": "b@x.org", "primary": true}
            ]}}])),
            Some("invalidValue")
        );
        assert_eq!(
            error_type(json!([{"op": "replace", "value": {"emails": [
                {"value": "a@x.org", "primary": true}, {"value": "b@x.org", "primary": true}
            ]}}])),
            Some("invalidValue")
        );
    }

    #[test]
    fn unknown_attributes_in_paths_are_invalid_path() {
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "shoeSize", "value": 1}])),
            Some("invalidPath")
        );
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "name.nick", "value": "x"}])),
            Some("invalidPath")
        );
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            Some("invalidPath")
        );
    }

    #[test]
    fn writing_read_only_attributes_is_a_mutability_error() {
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "groups", "value": []}])),
            Some("mutability")
        );
        let status = format!("{ROSTER_USER}:status");
        assert_eq!(
            error_type(json!([{"op": "replace", "path": status, "value": "active"}])),
            Some("mutability")
        );
    }

    #[test]
    fn wrong_value_types_are_invalid_value() {
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            Some("invalidValue")
        );
        assert_eq!(
            error_type(json!([{"op": "replace", "path": "userName", "value": 5}])),
            Some("invalidValue")
        );
    }

    #[test]
    fn malformed_requests_are_invalid_syntax() {
        assert!(
            parse_patch_request(&json!({"Operations": []}), DEFAULT_MAX_PATCH_OPERATIONS).is_err()
        );
        assert!(
            parse_patch_request(
                &json!({"Operations": [{"op": "move", "path": "x"}]}),
                DEFAULT_MAX_PATCH_OPERATIONS
            )
            .is_err()
        );
        assert!(
            parse_patch_request(
                &json!({"Operations": [{"op": "add", "path": "title"}]}),
                DEFAULT_MAX_PATCH_OPERATIONS
            )
            .is_err()
        );
        assert!(parse_patch_request(&json!({}), DEFAULT_MAX_PATCH_OPERATIONS).is_err());
    }

    #[test]
    fn one_failing_operation_applies_none() {
        let result = patch(json!([
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "bogus", "value": 1}
        ]));
        assert!(result.is_err());
    }

    #[test]
    fn enterprise_manager_as_a_bare_string_is_its_value() {
        let path = format!("{ENTERPRISE_USER}:manager");
        let out = patch(json!([{"op": "Add", "path": path, "value": "271"}])).unwrap();
        assert_eq!(out[ENTERPRISE_USER]["manager"], json!({"value": "271"}));
    }

    #[test]
    fn custom_data_members_are_set_and_removed() {
        let path = format!("{ROSTER_USER}:customData.plan");
        let out = patch(json!([{"op": "add", "path": path, "value": "gold"}])).unwrap();
        assert_eq!(out[ROSTER_USER]["customData"], json!({"plan": "gold"}));
        let operations = parse_patch_request(
            &json!({"Operations": [{"op": "remove", "path": path}]}),
            DEFAULT_MAX_PATCH_OPERATIONS,
        )
        .unwrap();
        let removed = apply_patch(&out, &operations, &USER_RESOURCE, OWN_ID).unwrap();
        assert!(removed.get(ROSTER_USER).is_none());
    }

    #[test]
    fn the_rfc_examples_apply() {
        // RFC 7644 §3.5.2.1: add a member-like value; §3.5.2.2: remove by filter;
        // §3.5.2.3: replace a complex value by filter.
        let out = patch(json!([
            {"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickName": "Babs"}},
            {"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"},
            {"op": "replace", "path": "emails[type eq \"home\"]", "value": {"type": "home", "value": "home@jensen.org"}}
        ]))
        .unwrap();
        assert_eq!(out["nickName"], "Babs");
        assert_eq!(
            out["emails"],
            json!([{"value": "home@jensen.org", "type": "home"}])
        );
    }

    #[test]
    fn more_operations_than_the_limit_are_refused_with_the_limit_named() {
        let operation = json!({"op": "add", "path": "title", "value": "x"});
        let body = json!({"Operations": vec![operation; 4]});
        let error = parse_patch_request(&body, 3).unwrap_err();
        assert_eq!(error.scim_type.map(ScimType::as_str), Some("invalidValue"));
        assert!(error.detail.contains("at most 3"), "{}", error.detail);
        assert_eq!(parse_patch_request(&body, 4).unwrap().len(), 4);
    }

    #[test]
    fn many_adds_give_each_distinct_value_once_in_order() {
        let mut operations: Vec<Value> = (0..300)
            .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("u{i}@x.org")}]}))
            .collect();
        // Repeats, an existing value, and adds to another attribute in between.
        operations.push(json!({"op": "add", "path": "emails", "value": [{"value": "u7@x.org"}]}));
        operations.push(json!({"op": "add", "path": "phoneNumbers", "value": [{"value": "555"}]}));
        operations.push(json!({"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home", "display": "B"}]}}));
        operations.push(json!({"op": "add", "path": "emails", "value": [{"value": "u299@x.org"}]}));
        let out = patch(Value::Array(operations)).unwrap();
        let emails = out["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 302);
        assert_eq!(
            emails[1],
            json!({"value": "babs@jensen.org", "type": "home", "display": "B"})
        );
        assert_eq!(emails[2]["value"], "u0@x.org");
        assert_eq!(emails[301]["value"], "u299@x.org");
        assert_eq!(out["phoneNumbers"], json!([{"value": "555"}]));
    }

    #[test]
    fn an_add_after_a_filtered_change_sees_that_change() {
        let out = patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@x.org", "type": "other"}]},
            {"op": "remove", "path": "emails[value eq \"a@x.org\"]"},
            {"op": "add", "path": "emails", "value": [{"value": "a@x.org", "type": "other"}]},
            {"op": "replace", "path": "emails[value eq \"a@x.org\"].type", "value": "work"}
        ]))
        .unwrap();
        let emails = out["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 3);
        assert_eq!(emails[2], json!({"value": "a@x.org", "type": "work"}));
    }

    #[test]
    fn each_add_of_a_primary_value_leaves_one_primary() {
        let out = patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "p1@x.org", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "p2@x.org", "primary": true}]}
        ]))
        .unwrap();
        let primaries: Vec<&Value> = out["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .map(|e| &e["value"])
            .collect();
        assert_eq!(primaries, vec![&json!("p2@x.org")]);
        // Marking an existing value primary clears the other primary too.
        let out = patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home", "primary": true}]}
        ]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("babs@jensen.org")]);
        let out = patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "p3@x.org", "primary": true}]}
        ]))
        .unwrap();
        assert_eq!(primary_values(&out), vec![&json!("p3@x.org")]);
    }

    #[test]
    fn removing_named_values_matches_describes() {
        let items: Vec<Value> = vec![
            json!({"value": "A@x.org", "type": "work"}),
            json!({"value": "a@x.org", "type": "home"}),
            json!({"value": "b@x.org", "type": "work", "primary": true}),
            json!({"type": "work"}),
            json!({"value": 5}),
            json!("plain"),
        ];
        let nameds: Vec<Vec<Value>> = vec![
            vec![json!({"value": "a@X.org"})],
            vec![json!({"value": "a@x.org", "type": "WORK"})],
            vec![json!({"type": "work"})],
            vec![json!({})],
            vec![json!({"value": 5}), json!("plain")],
            vec![
                json!({"value": "b@x.org", "primary": true}),
                json!({"value": "zz"}),
            ],
            vec![json!({"primary": false})],
        ];
        for named in nameds {
            let mut expected = items.clone();
            expected.retain(|item| !named.iter().any(|n| describes(n, item)));
            let mut got = items.clone();
            remove_described(&mut got, &named);
            assert_eq!(got, expected, "named {named:?}");
        }
    }

    #[test]
    fn operations_going_through_too_many_values_are_refused() {
        let emails: Vec<Value> = (0..20_000)
            .map(|i| json!({"value": format!("e{i}@x.org")}))
            .collect();
        let document = json!({"userName": "big", "emails": emails})
            .as_object()
            .cloned()
            .unwrap();
        let filtered = |count: usize| {
            let operations: Vec<Value> = (0..count)
                .map(
                    |i| json!({"op": "remove", "path": format!("emails[value eq \"e{i}@x.org\"]")}),
                )
                .collect();
            let operations = parse_patch_request(
                &json!({"Operations": operations}),
                DEFAULT_MAX_PATCH_OPERATIONS,
            )
            .unwrap();
            apply_patch(&document, &operations, &USER_RESOURCE, OWN_ID)
        };
        let allowed = MAX_VALUES_EXAMINED / 20_000;
        let out = filtered(allowed).unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 20_000 - allowed);
        let error = filtered(allowed + 1).unwrap_err();
        assert_eq!(error.scim_type.map(ScimType::as_str), Some("invalidValue"));
        assert!(error.detail.contains("'emails'"), "{}", error.detail);
        // Adds to an attribute already open cost nothing more.
        let adds: Vec<Value> = (0..DEFAULT_MAX_PATCH_OPERATIONS)
            .map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("n{i}@x.org")}]}))
            .collect();
        let operations =
            parse_patch_request(&json!({"Operations": adds}), DEFAULT_MAX_PATCH_OPERATIONS)
                .unwrap();
        let out = apply_patch(&document, &operations, &USER_RESOURCE, OWN_ID).unwrap();
        assert_eq!(
            out["emails"].as_array().unwrap().len(),
            20_000 + DEFAULT_MAX_PATCH_OPERATIONS
        );
    }
}
