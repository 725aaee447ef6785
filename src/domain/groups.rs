//! Groups: tenant-level, with users and other groups as members. Membership is kept
//! as rows and changed in batches of rows, so a one-member change costs the same in a
//! group of ten and of a hundred thousand, and a change of N members costs N. Cycles of nested groups are refused; members
//! must be users or groups of the same tenant; an application's token sees, adds
//! and removes only the members in its scope, and changes the attributes of (or
//! deletes) only the groups it created.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use super::assignments::serialize_limited;
use super::audit::{NewEvent, changed_attributes, record, record_all};
use super::modify::{check_version, modify_in_transaction, modify_with_retry};
use super::paging::in_order;
use super::{DomainError, new_id, now};
use crate::casefold::fold;
use crate::store::Scope;
use crate::store::groups::{
    self as repo, GroupChanges, GroupRow, MemberDetail, MemberRow, MemberWindow, NewGroupRow,
};
use crate::store::{Conn, Store, StoreError};
use crate::text_rules::check_group_document;
use crate::urn::ROSTER_GROUP;

/// What kind of resource a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "User",
            MemberKind::Group => "Group",
        }
    }

    fn parse(text: &str) -> MemberKind {
        if text == "Group" {
            MemberKind::Group
        } else {
            MemberKind::User
        }
    }
}

/// A member as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub value: String,
    pub kind: MemberKind,
    pub display: Option<String>,
}

impl From<MemberDetail> for Member {
    fn from(detail: MemberDetail) -> Member {
        Member {
            value: detail.member_id,
            kind: MemberKind::parse(&detail.member_type),
            display: detail.display,
        }
    }
}

/// A member as a client names it: an id and, optionally, its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub value: String,
    pub kind: Option<MemberKind>,
}

/// A change to a group's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<MemberRef>),
}

/// A group as the domain knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    /// `displayName`, `externalId` and the Roster extension's `description`.
    pub attributes: Map<String, Value>,
    pub custom_data: Option<Value>,
    /// `None` when the caller asked not to load them.
    pub members: Option<Vec<Member>>,
    pub created: chrono::NaiveDateTime,
    pub last_modified: chrono::NaiveDateTime,
    pub version: i64,
}

/// A change to a group: new attributes (None keeps them), custom data (None keeps
/// it), and membership changes.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub attributes: Option<Map<String, Value>>,
    pub custom_data: Option<Option<Value>>,
    pub members: Vec<MemberChange>,
}

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("Group '{id}' not found"))
}

fn display_name(attributes: &Map<String, Value>) -> Result<String, DomainError> {
    attributes
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            DomainError::InvalidValue("the required attribute 'displayName' is missing".into())
        })
}

fn name_conflict(err: StoreError, name: &str) -> DomainError {
    match err {
        StoreError::UniqueViolation(_) => DomainError::Conflict(format!(
            "displayName '{name}' is already used by another group of this tenant"
        )),
        other => other.into(),
    }
}

pub async fn create_group(
    store: &Store,
    scope: &Scope,
    attributes: Map<String, Value>,
    custom_data: Option<Value>,
    members: Vec<MemberRef>,
) -> Result<Group, DomainError> {
    let scope = scope.clone();
    store
        .write(move |conn| create_group_in(conn, &scope, attributes, custom_data, members))
        .await
}

/// [`create_group`] inside the caller's transaction.
pub(crate) fn create_group_in(
    conn: &mut Conn,
    scope: &Scope,
    attributes: Map<String, Value>,
    custom_data: Option<Value>,
    members: Vec<MemberRef>,
) -> Result<Group, DomainError> {
    let name = display_name(&attributes)?;
    check_group_document(&attributes).map_err(|e| DomainError::InvalidValue(e.to_string()))?;
    let created = now();
    let row = NewGroupRow {
        id: new_id(),
        tenant_id: scope.tenant_id.to_string(),
        attributes: Value::Object(attributes.clone()).to_string(),
        custom_data: serialize_limited(custom_data.as_ref(), "customData")?,
        display_name_ci: fold(&name),
        external_id: attributes
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_at: created,
        last_modified: created,
        version: 1,
        created_by_app: (!scope.is_management()).then(|| scope.app_id.to_string()),
    };
    repo::insert_group(conn, &row).map_err(|e| name_conflict(e, &name))?;
    apply_member_changes(conn, scope, &row.id, &[MemberChange::Add(members)])?;
    record_group(conn, scope, "group.created", &row.id, &name, Vec::new())?;
    load_group(conn, scope, &row.id, true)
}

pub async fn get_group(
    store: &Store,
    scope: &Scope,
    id: String,
    with_members: bool,
) -> Result<Group, DomainError> {
    let scope = scope.clone();
    store
        .read(move |conn| load_group(conn, &scope, &id, with_members))
        .await
}

/// How many members one page of a streamed group carries.
const STREAMED_MEMBER_PAGE: i64 = 1000;

/// A group read for streaming: its attributes now, its members page by page after,
/// all from one snapshot of the store.
pub struct GroupStream {
    /// The group without its members.
    pub group: Group,
    /// The visible members in id order, one page per message; the reading stops
    /// when this receiver is dropped.
    pub member_pages: mpsc::Receiver<Result<Vec<Member>, DomainError>>,
}

/// Reads a group whose member list may be too big to hold in memory at once.
pub async fn stream_group(
    store: &Store,
    scope: &Scope,
    id: String,
) -> Result<GroupStream, DomainError> {
    let (head_sender, head) = oneshot::channel();
    let (page_sender, member_pages) = mpsc::channel(2);
    let scope = scope.clone();
    let failure = store.spawn_snapshot_read(move |conn| {
        let group = match load_group(conn, &scope, &id, false) {
            Ok(group) => group,
            Err(error) => {
                let _ = head_sender.send(Err(error));
                return Ok(());
            }
        };
        let group_id = group.id.clone();
        if head_sender.send(Ok(group)).is_err() {
            return Ok(());
        }
        let read = read_member_pages(conn, &scope, &group_id, |page| {
            page_sender.blocking_send(Ok(page)).is_ok()
        });
        if let Err(error) = read {
            let _ = page_sender.blocking_send(Err(error));
        }
        Ok(())
    });
    let group = match head.await {
        Ok(group) => group?,
        Err(_) => return Err(failure.await.unwrap_or(StoreError::Cancelled).into()),
    };
    Ok(GroupStream {
        group,
        member_pages,
    })
}

/// Read-modify-write of a group that loses no concurrent update (see
/// [`modify_with_retry`]): `change` turns the current group (without its members)
/// into an update.
pub async fn modify_group<F, E>(
    store: &Store,
    scope: &Scope,
    id: String,
    if_match: Option<String>,
    action: &'static str,
    change: F,
    with_members: bool,
) -> Result<Group, E>
where
    F: Fn(&Group) -> Result<GroupUpdate, E> + Send + Sync + 'static,
    E: From<DomainError> + Send + 'static,
{
    let strict_version = if_match.is_some();
    modify_with_retry(
        "Group",
        &id,
        if_match.as_deref(),
        || get_group(store, scope, id.clone(), false),
        |group| group.version,
        change,
        |expected, update: GroupUpdate| {
            // Membership-only changes commute: they need not find an unchanged version.
            let strict =
                strict_version || update.attributes.is_some() || update.custom_data.is_some();
            let (scope, id) = (scope.clone(), id.clone());
            store.write(move |conn| {
                write_group(
                    conn,
                    &scope,
                    &id,
                    strict.then_some(expected),
                    update,
                    action,
                    with_members,
                )
            })
        },
    )
    .await
}

/// [`modify_group`] inside the caller's transaction.
pub(crate) fn modify_group_in<F, E>(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    if_match: Option<&str>,
    action: &str,
    change: F,
    with_members: bool,
) -> Result<Group, E>
where
    F: Fn(&Group) -> Result<GroupUpdate, E>,
    E: From<DomainError>,
{
    modify_in_transaction(
        conn,
        "Group",
        id,
        if_match,
        |conn| load_group(conn, scope, id, false),
        |group| group.version,
        change,
        |conn, expected, update: GroupUpdate| {
            // Membership-only changes commute: they need not find an unchanged version.
            let strict =
                if_match.is_some() || update.attributes.is_some() || update.custom_data.is_some();
            let expected = strict.then_some(expected);
            write_group(conn, scope, id, expected, update, action, with_members)
        },
    )
}

fn write_group(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    expected_version: Option<i64>,
    update: GroupUpdate,
    action: &str,
    with_members: bool,
) -> Result<Option<Group>, DomainError> {
    let current = repo::find_group(conn, &scope.tenant_id, id)?.ok_or_else(|| not_found(id))?;
    // `None`: the change commutes with any other, whatever the version now.
    if expected_version.is_some_and(|expected| current.version != expected) {
        return Ok(None);
    }
    let current_attributes: Map<String, Value> = serde_json::from_str(&current.attributes)
        .map_err(|_| DomainError::Corrupt(format!("attributes of group {id}")))?;
    let attributes = update
        .attributes
        .unwrap_or_else(|| current_attributes.clone());
    let custom_data = match update.custom_data {
        Some(data) => serialize_limited(data.as_ref(), "customData")?,
        None => current.custom_data.clone(),
    };
    let custom_data_changed = custom_data != current.custom_data;
    let attributes_changed = attributes != current_attributes || custom_data_changed;
    if attributes_changed && !created_by_caller(conn, scope, id)? {
        return Err(DomainError::Forbidden(format!(
            "Group '{id}' was not created by this application: it may change only the group's members"
        )));
    }
    let members_changed = apply_member_changes(conn, scope, id, &update.members)?;
    if !attributes_changed && !members_changed {
        return load_group(conn, scope, id, with_members).map(Some);
    }
    let name = display_name(&attributes)?;
    check_group_document(&attributes).map_err(|e| DomainError::InvalidValue(e.to_string()))?;
    let changes = GroupChanges {
        attributes: Value::Object(attributes.clone()).to_string(),
        custom_data,
        display_name_ci: fold(&name),
        external_id: attributes
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        last_modified: now(),
        version: current.version + 1,
    };
    if !repo::update_group(conn, &scope.tenant_id, id, current.version, &changes)
        .map_err(|e| name_conflict(e, &name))?
    {
        return Ok(None);
    }
    let changed = group_changes(
        &current_attributes,
        &attributes,
        custom_data_changed,
        members_changed,
    );
    record_group(conn, scope, action, id, &name, changed)?;
    load_group(conn, scope, id, with_members).map(Some)
}

pub async fn delete_group(
    store: &Store,
    scope: &Scope,
    id: String,
    if_match: Option<String>,
) -> Result<(), DomainError> {
    let scope = scope.clone();
    store
        .write(move |conn| delete_group_in(conn, &scope, &id, if_match.as_deref()))
        .await
}

/// [`delete_group`] inside the caller's transaction.
pub(crate) fn delete_group_in(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), DomainError> {
    let current = repo::find_group(conn, &scope.tenant_id, id)?.ok_or_else(|| not_found(id))?;
    check_version(if_match, current.version)?;
    if !created_by_caller(conn, scope, id)? {
        return Err(DomainError::Forbidden(format!(
            "Group '{id}' was not created by this application: only the Management Application or the group's creator deletes it"
        )));
    }
    repo::remove_member_everywhere(conn, &scope.tenant_id, id)?;
    repo::delete_group(conn, &scope.tenant_id, id)?;
    let name = serde_json::from_str::<Value>(&current.attributes)
        .ok()
        .and_then(|a| {
            a.get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    record_group(conn, scope, "group.deleted", id, &name, Vec::new())
}

/// The groups with these ids, in this order, without their members.
pub(crate) fn read_groups(
    conn: &mut Conn,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<Group>, DomainError> {
    let rows = repo::groups_by_ids(conn, &scope.tenant_id, ids)?;
    in_order(ids, rows, |row| &row.id)?
        .into_iter()
        .map(|row| group_from_row(conn, scope, row, false))
        .collect()
}

/// The members of a group the caller may see, page by page in id order: `send`
/// takes each page and answers whether to go on.
pub(crate) fn read_member_pages(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    mut send: impl FnMut(Vec<Member>) -> bool,
) -> Result<(), DomainError> {
    let mut after: Option<String> = None;
    loop {
        let window = MemberWindow {
            after: after.as_deref(),
            limit: Some(STREAMED_MEMBER_PAGE),
        };
        let rows = repo::member_details(conn, scope, group_id, window)?;
        let last_page = (rows.len() as i64) < STREAMED_MEMBER_PAGE;
        after = rows.last().map(|row| row.member_id.clone());
        let page = rows.into_iter().map(Member::from).collect();
        if !send(page) || last_page {
            return Ok(());
        }
    }
}

/// The group `id` with its members when asked (those the caller may see).
pub(crate) fn load_group(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    with_members: bool,
) -> Result<Group, DomainError> {
    let row = repo::find_group(conn, &scope.tenant_id, id)?.ok_or_else(|| not_found(id))?;
    group_from_row(conn, scope, row, with_members)
}

fn group_from_row(
    conn: &mut Conn,
    scope: &Scope,
    row: GroupRow,
    with_members: bool,
) -> Result<Group, DomainError> {
    let corrupt = || DomainError::Corrupt(format!("attributes of group {}", row.id));
    let attributes = match serde_json::from_str::<Value>(&row.attributes) {
        Ok(Value::Object(map)) => map,
        _ => return Err(corrupt()),
    };
    let custom_data = row
        .custom_data
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|_| corrupt())?;
    let members = if with_members {
        Some(
            repo::member_details(conn, scope, &row.id, MemberWindow::default())?
                .into_iter()
                .map(Member::from)
                .collect(),
        )
    } else {
        None
    };
    Ok(Group {
        id: row.id,
        attributes,
        custom_data,
        members,
        created: row.created_at,
        last_modified: row.last_modified,
        version: row.version,
    })
}

/// Whether the caller may change the group's attributes and delete it: the
/// Management Application may, another application only if it created the group.
fn created_by_caller(conn: &mut Conn, scope: &Scope, id: &str) -> Result<bool, DomainError> {
    if scope.is_management() {
        return Ok(true);
    }
    let creator = repo::group_creator(conn, &scope.tenant_id, id)?.ok_or_else(|| not_found(id))?;
    Ok(creator.as_deref() == Some(&*scope.app_id))
}

/// The ids among `members` that the caller may see (and so add or remove).
fn visible_members(
    conn: &mut Conn,
    scope: &Scope,
    members: Vec<(String, MemberKind)>,
) -> Result<HashSet<String>, DomainError> {
    let members: Vec<(String, &str)> = members
        .into_iter()
        .map(|(id, kind)| (id, kind.as_str()))
        .collect();
    Ok(crate::store::scope::visible_members_among(
        conn, scope, &members,
    )?)
}

/// Checks members and resolves their kinds: each must be a user or group of the
/// tenant (in the caller's scope), and no group may contain itself.
fn resolve_members(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    refs: &[MemberRef],
) -> Result<Vec<MemberRow>, DomainError> {
    // The first reference to an id says its kind.
    let mut wanted: HashMap<&str, Option<MemberKind>> = HashMap::with_capacity(refs.len());
    let mut ids: Vec<String> = Vec::with_capacity(refs.len());
    for r in refs {
        if let Entry::Vacant(entry) = wanted.entry(r.value.as_str()) {
            entry.insert(r.kind);
            ids.push(r.value.clone());
        }
    }
    let users: HashSet<String> = repo::existing_users(conn, &scope.tenant_id, &ids)?
        .into_iter()
        .collect();
    let groups: HashSet<String> = repo::existing_groups(conn, &scope.tenant_id, &ids)?
        .into_iter()
        .collect();
    let kinds: Vec<Option<MemberKind>> = ids
        .iter()
        .map(
            |id| match (wanted[id.as_str()], users.contains(id), groups.contains(id)) {
                (Some(MemberKind::User) | None, true, _) => Some(MemberKind::User),
                (Some(MemberKind::Group) | None, _, true) => Some(MemberKind::Group),
                _ => None,
            },
        )
        .collect();
    let found: Vec<(String, MemberKind)> = ids
        .iter()
        .zip(&kinds)
        .filter_map(|(id, kind)| kind.map(|kind| (id.clone(), kind)))
        .collect();
    let visible = visible_members(conn, scope, found)?;
    let mut rows = Vec::with_capacity(ids.len());
    let mut ancestors: Option<HashSet<String>> = None;
    for (id, kind) in ids.into_iter().zip(kinds) {
        let Some(kind) = kind.filter(|_| visible.contains(&id)) else {
            return Err(DomainError::InvalidValue(format!(
                "members: '{id}' is not a user or group of this tenant"
            )));
        };
        if kind == MemberKind::Group {
            let ancestors = match &mut ancestors {
                Some(set) => set,
                None => ancestors.insert(repo::ancestors(conn, group_id)?.into_iter().collect()),
            };
            if id == group_id || ancestors.contains(&id) {
                return Err(DomainError::InvalidValue(format!(
                    "members: adding group '{id}' would make the group contain itself"
                )));
            }
        }
        rows.push(MemberRow {
            group_id: group_id.to_owned(),
            member_id: id,
            member_type: kind.as_str().to_owned(),
            tenant_id: scope.tenant_id.to_string(),
        });
    }
    Ok(rows)
}

/// Consecutive adds, and consecutive removes, as one change each: a PATCH of many
/// one-member operations costs a few statements per chunk of members, not per member.
fn coalesced(changes: &[MemberChange]) -> Vec<MemberChange> {
    let mut out: Vec<MemberChange> = Vec::with_capacity(changes.len());
    for change in changes {
        match (out.last_mut(), change) {
            (Some(MemberChange::Add(all)), MemberChange::Add(more)) => {
                all.extend(more.iter().cloned())
            }
            (Some(MemberChange::Remove(all)), MemberChange::Remove(more)) => {
                all.extend(more.iter().cloned())
            }
            _ => out.push(change.clone()),
        }
    }
    out
}

/// Applies membership changes in batches of rows, recording an event for each member
/// added or removed; returns whether anything changed.
fn apply_member_changes(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    changes: &[MemberChange],
) -> Result<bool, DomainError> {
    let mut changed = false;
    for change in coalesced(changes) {
        let (added, removed) = match change {
            MemberChange::Add(refs) => {
                if refs.is_empty() {
                    continue;
                }
                let rows = resolve_members(conn, scope, group_id, &refs)?;
                (add_new_members(conn, group_id, rows)?, Vec::new())
            }
            MemberChange::Remove(ids) => {
                let present = repo::present_member_rows(conn, group_id, &ids)?;
                (
                    Vec::new(),
                    remove_visible_members(conn, scope, group_id, present)?,
                )
            }
            MemberChange::RemoveAll => {
                let present = repo::member_rows(conn, group_id)?;
                (
                    Vec::new(),
                    remove_visible_members(conn, scope, group_id, present)?,
                )
            }
            MemberChange::Replace(refs) => {
                let rows = resolve_members(conn, scope, group_id, &refs)?;
                let wanted: HashSet<&str> = rows.iter().map(|r| r.member_id.as_str()).collect();
                let stale: Vec<MemberRow> = repo::member_rows(conn, group_id)?
                    .into_iter()
                    .filter(|row| !wanted.contains(row.member_id.as_str()))
                    .collect();
                let removed = remove_visible_members(conn, scope, group_id, stale)?;
                (add_new_members(conn, group_id, rows)?, removed)
            }
        };
        changed |= !added.is_empty() || !removed.is_empty();
        record_members(conn, scope, group_id, "group.member_added", &added)?;
        record_members(conn, scope, group_id, "group.member_removed", &removed)?;
    }
    Ok(changed)
}

/// Adds the rows not yet in the group; returns those it added.
fn add_new_members(
    conn: &mut Conn,
    group_id: &str,
    rows: Vec<MemberRow>,
) -> Result<Vec<MemberRow>, DomainError> {
    let ids: Vec<String> = rows.iter().map(|row| row.member_id.clone()).collect();
    let present: HashSet<String> = repo::present_member_rows(conn, group_id, &ids)?
        .into_iter()
        .map(|row| row.member_id)
        .collect();
    let mut seen = HashSet::new();
    let new: Vec<MemberRow> = rows
        .into_iter()
        .filter(|row| !present.contains(&row.member_id) && seen.insert(row.member_id.clone()))
        .collect();
    repo::add_members(conn, &new)?;
    Ok(new)
}

/// Removes those of `present` (rows of the group) that the caller may see; returns
/// them.
fn remove_visible_members(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    present: Vec<MemberRow>,
) -> Result<Vec<MemberRow>, DomainError> {
    let visible: HashSet<String> = if scope.is_management() {
        present.iter().map(|row| row.member_id.clone()).collect()
    } else {
        visible_rows(conn, scope, present.clone())?
            .into_iter()
            .collect()
    };
    let removed: Vec<MemberRow> = present
        .into_iter()
        .filter(|row| visible.contains(&row.member_id))
        .collect();
    let ids: Vec<String> = removed.iter().map(|row| row.member_id.clone()).collect();
    repo::remove_members(conn, group_id, &ids)?;
    Ok(removed)
}

/// One event per member, about the member (a user's history shows its groups), with
/// the group in its detail.
fn record_members(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    action: &str,
    members: &[MemberRow],
) -> Result<(), DomainError> {
    record_all(
        conn,
        members.iter().map(|member| {
            NewEvent::by(scope, &member.member_type, action, &member.member_id)
                .detail(json!({"group": group_id}))
        }),
    )
}

/// The ids of the member rows the caller may see.
fn visible_rows(
    conn: &mut Conn,
    scope: &Scope,
    rows: Vec<MemberRow>,
) -> Result<Vec<String>, DomainError> {
    let members: Vec<(String, MemberKind)> = rows
        .into_iter()
        .map(|row| (row.member_id, MemberKind::parse(&row.member_type)))
        .collect();
    let ids: Vec<String> = members.iter().map(|(id, _)| id.clone()).collect();
    let visible = visible_members(conn, scope, members)?;
    Ok(ids.into_iter().filter(|id| visible.contains(id)).collect())
}

fn record_group(
    conn: &mut Conn,
    scope: &Scope,
    action: &str,
    id: &str,
    name: &str,
    changed: Vec<String>,
) -> Result<(), DomainError> {
    record(
        conn,
        NewEvent::by(scope, "Group", action, id)
            .changed(changed)
            .detail(json!({"displayName": name})),
    )
}

/// The names of what an update of a group changed.
fn group_changes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    custom_data_changed: bool,
    members_changed: bool,
) -> Vec<String> {
    let mut changed = changed_attributes(before, after);
    if custom_data_changed {
        changed.push(format!("{ROSTER_GROUP}:customData"));
    }
    if members_changed {
        changed.push("members".to_owned());
    }
    changed.sort();
    changed
}

/// One page of a group's members the caller may see, in id order after `after`:
/// at most `limit`, and whether more follow.
pub async fn member_page(
    store: &Store,
    scope: &Scope,
    group_id: String,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<Member>, bool), DomainError> {
    let scope = scope.clone();
    store
        .read(move |conn| {
            let window = MemberWindow {
                after: after.as_deref(),
                limit: Some(limit + 1),
            };
            let mut rows = repo::member_details(conn, &scope, &group_id, window)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(usize::try_from(limit).unwrap_or(0));
            Ok((rows.into_iter().map(Member::from).collect(), more))
        })
        .await
}
