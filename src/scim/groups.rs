//! The SCIM Group resource: request bodies into domain input, groups into JSON, and
//! PATCH split into attribute changes (applied to the document) and membership
//! changes (applied row by row).

use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::patch::{PatchOpKind, PatchOperation, apply_patch};
use super::projection::Projection;
use super::validate::normalize_resource;
use super::{BaseUrl, etag, format_time};
use crate::domain::groups::{Group, GroupUpdate, Member, MemberChange, MemberKind, MemberRef};
use crate::filter::ast::{CompValue, CompareOp, Filter};
use crate::filter::parse_patch_path;
use crate::schema::GROUP_RESOURCE;
use crate::urn;

/// A validated POST or PUT body of a Group.
#[derive(Debug, Clone)]
pub struct GroupRequest {
    /// `displayName`, `externalId` and the Roster extension's `description`.
    pub attributes: Map<String, Value>,
    /// Whether the body named the Roster extension (a PUT without it keeps it).
    pub roster_named: bool,
    pub custom_data: Option<Value>,
    pub members: Vec<MemberRef>,
}

/// Validates a POST or PUT body of a Group.
pub fn group_input_from_body(body: &Value) -> Result<GroupRequest, ScimError> {
    let normalized = normalize_resource(body, &GROUP_RESOURCE)?;
    let mut attributes = normalized.attributes;
    let members = match attributes.remove("members") {
        Some(value) => member_refs(&value)?,
        None => Vec::new(),
    };
    let mut custom_data = None;
    if let Some(Value::Object(mut roster)) = attributes.remove(urn::ROSTER_GROUP) {
        custom_data = roster.remove("customData");
        if !roster.is_empty() {
            attributes.insert(urn::ROSTER_GROUP.into(), Value::Object(roster));
        }
    }
    Ok(GroupRequest {
        attributes,
        roster_named: normalized.extensions.contains(&urn::ROSTER_GROUP),
        custom_data,
        members,
    })
}

/// Member references from a `members` value: `[{"value": id, "type": "User"}]`.
fn member_refs(value: &Value) -> Result<Vec<MemberRef>, ScimError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    items
        .into_iter()
        .map(|item| {
            let id = item.get("value").and_then(Value::as_str).ok_or_else(|| {
                ScimError::invalid_value("each member needs the id of a user or group as 'value'")
            })?;
            let kind = match item.get("type").and_then(Value::as_str) {
                Some(t) if t.eq_ignore_ascii_case("user") => Some(MemberKind::User),
                Some(t) if t.eq_ignore_ascii_case("group") => Some(MemberKind::Group),
                Some(other) => {
                    return Err(ScimError::invalid_value(format!(
                        "member type must be 'User' or 'Group', not '{other}'"
                    )));
                }
                None => None,
            };
            Ok(MemberRef {
                value: id.to_owned(),
                kind,
            })
        })
        .collect()
}

/// The group's document as PATCH sees it (members aside).
fn patch_document(group: &Group) -> Map<String, Value> {
    let mut document = group.attributes.clone();
    if let Some(custom_data) = &group.custom_data {
        let roster = document
            .entry(urn::ROSTER_GROUP.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(roster) = roster {
            roster.insert("customData".into(), custom_data.clone());
        }
    }
    document
}

/// Turns PATCH operations on a group into an update: membership operations become
/// row changes, the rest is applied to the group's document.
pub fn patch_group(group: &Group, operations: &[PatchOperation]) -> Result<GroupUpdate, ScimError> {
    let mut member_changes = Vec::new();
    let mut document_operations = Vec::new();
    for operation in operations {
        match &operation.path {
            Some(path) if targets_members(path) => {
                member_changes.extend(member_operation(operation, path)?)
            }
            Some(_) => document_operations.push(operation.clone()),
            None => {
                let Some(Value::Object(fields)) = &operation.value else {
                    document_operations.push(operation.clone());
                    continue;
                };
                let mut rest = fields.clone();
                let members_key = fields
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case("members"))
                    .cloned();
                if let Some(key) = members_key {
                    let refs = member_refs(&rest.remove(&key).unwrap_or(Value::Null))?;
                    member_changes.push(match operation.op {
                        PatchOpKind::Replace => MemberChange::Replace(refs),
                        _ => MemberChange::Add(refs),
                    });
                }
                if !rest.is_empty() {
                    document_operations.push(PatchOperation {
                        op: operation.op,
                        path: None,
                        value: Some(Value::Object(rest)),
                    });
                }
            }
        }
    }
    if document_operations.is_empty() {
        // Membership only: no document to rewrite, so concurrent changes commute.
        return Ok(GroupUpdate {
            attributes: None,
            custom_data: None,
            members: member_changes,
        });
    }
    let mut patched = apply_patch(
        &patch_document(group),
        &document_operations,
        &GROUP_RESOURCE,
        &group.id,
    )?;
    let schemas: Vec<Value> = [urn::CORE_GROUP, urn::ROSTER_GROUP]
        .into_iter()
        .map(Value::from)
        .collect();
    patched.insert("schemas".into(), Value::Array(schemas));
    let request = group_input_from_body(&Value::Object(patched))?;
    Ok(GroupUpdate {
        attributes: Some(request.attributes),
        custom_data: Some(request.custom_data),
        members: member_changes,
    })
}

fn targets_members(path: &str) -> bool {
    // `get`: a path may hold a multi-byte character across either boundary.
    let core_prefix = format!("{}:", urn::CORE_GROUP);
    let local = match (path.get(..core_prefix.len()), path.get(core_prefix.len()..)) {
        (Some(prefix), Some(rest))
            if !rest.is_empty() && prefix.eq_ignore_ascii_case(&core_prefix) =>
        {
            rest
        }
        _ => path,
    };
    match (local.get(..7), local.get(7..)) {
        (Some(name), Some(rest)) => {
            name.eq_ignore_ascii_case("members")
                && !rest.starts_with(|c: char| c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

fn member_operation(
    operation: &PatchOperation,
    path: &str,
) -> Result<Vec<MemberChange>, ScimError> {
    let parsed = parse_patch_path(path)
        .map_err(|e| ScimError::invalid_path(format!("the path '{path}' is not valid: {e}")))?;
    if parsed.attribute.sub_attribute.is_some() || parsed.sub_attribute.is_some() {
        return Err(ScimError::mutability(
            "member sub-attributes are immutable: add or remove whole members",
        ));
    }
    let named = match &parsed.value_filter {
        None => None,
        Some(filter) => Some(filtered_member_ids(filter).ok_or_else(|| {
            ScimError::invalid_path("a members filter must be value eq \"id\" (joined with or)")
        })?),
    };
    let refs = || member_refs(operation.value.as_ref().unwrap_or(&Value::Null));
    Ok(match (operation.op, named) {
        (PatchOpKind::Add, None) => vec![MemberChange::Add(refs()?)],
        (PatchOpKind::Replace, None) => vec![MemberChange::Replace(refs()?)],
        (PatchOpKind::Remove, None) => match &operation.value {
            // Entra ID: remove the members listed in the value.
            Some(value) if !value.is_null() => vec![MemberChange::Remove(
                refs()?.into_iter().map(|r| r.value).collect(),
            )],
            _ => vec![MemberChange::RemoveAll],
        },
        (PatchOpKind::Remove, Some(ids)) => vec![MemberChange::Remove(ids)],
        (PatchOpKind::Add | PatchOpKind::Replace, Some(ids)) => {
            vec![MemberChange::Remove(ids), MemberChange::Add(refs()?)]
        }
    })
}

/// `value eq "a" or value eq "b"` → the ids named.
fn filtered_member_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Or(a, b) => {
            let mut ids = filtered_member_ids(a)?;
            ids.extend(filtered_member_ids(b)?);
            Some(ids)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.attribute.eq_ignore_ascii_case("value") && path.sub_attribute.is_none() => {
            Some(vec![id.clone()])
        }
        _ => None,
    }
}

/// The JSON representation of a group.
/// One entry of a group's `members`.
pub fn render_member(member: &Member, base: &BaseUrl) -> Value {
    let endpoint = if member.kind == MemberKind::Group {
        "/Groups"
    } else {
        "/Users"
    };
    let mut entry = json!({
        "value": member.value,
        "type": member.kind.as_str(),
        "$ref": base.resource(endpoint, &member.value),
    });
    if let Some(display) = &member.display {
        entry["display"] = display.clone().into();
    }
    entry
}

/// One member entry as the projection shows it (`attributes=members.value` keeps
/// only the value), or `None` when nothing of it is returned.
pub fn project_member(projection: &Projection, entry: Value) -> Option<Value> {
    if *projection == Projection::Default {
        return Some(entry);
    }
    let projected = projection.apply(json!({ "members": [entry] }));
    match projected.get("members")?.get(0)? {
        Value::Object(fields) if fields.is_empty() => None,
        kept => Some(kept.clone()),
    }
}

/// A group rendered without members, split around the place its `members` array
/// goes: the text before the first member and the text after the last. Lets a
/// huge member list be written out page by page.
pub fn members_envelope(group_without_members: &Value) -> (String, &'static str) {
    let text = group_without_members.to_string();
    let open = text.strip_suffix('}').unwrap_or(&text);
    let separator = if open.ends_with('{') { "" } else { "," };
    (format!("{open}{separator}\"members\":["), "]}")
}

pub fn render_group(group: &Group, base: &BaseUrl) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::from(urn::CORE_GROUP)];
    let mut roster = match group.attributes.get(urn::ROSTER_GROUP) {
        Some(Value::Object(fields)) => fields.clone(),
        _ => Map::new(),
    };
    if let Some(custom_data) = &group.custom_data {
        roster.insert("customData".into(), custom_data.clone());
    }
    if !roster.is_empty() {
        schemas.push(urn::ROSTER_GROUP.into());
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), group.id.clone().into());
    for (key, value) in &group.attributes {
        if key != urn::ROSTER_GROUP {
            out.insert(key.clone(), value.clone());
        }
    }
    if let Some(members) = &group.members {
        let members: Vec<Value> = members.iter().map(|m| render_member(m, base)).collect();
        out.insert("members".into(), Value::Array(members));
    }
    if !roster.is_empty() {
        out.insert(urn::ROSTER_GROUP.into(), Value::Object(roster));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": format_time(group.created),
            "lastModified": format_time(group.last_modified),
            "location": base.resource(GROUP_RESOURCE.endpoint, &group.id),
            "version": etag(group.version),
        }),
    );
    Value::Object(out)
}

/// The update a PUT of a group makes: a PUT that does not name the Roster
/// extension keeps it, as identity providers know nothing of it.
pub fn replacement(current: &Group, request: &GroupRequest) -> GroupUpdate {
    let mut attributes = request.attributes.clone();
    if !request.roster_named
        && let Some(roster) = current.attributes.get(urn::ROSTER_GROUP)
    {
        attributes.insert(urn::ROSTER_GROUP.into(), roster.clone());
    }
    GroupUpdate {
        attributes: Some(attributes),
        custom_data: request.roster_named.then(|| request.custom_data.clone()),
        members: vec![MemberChange::Replace(request.members.clone())],
    }
}
