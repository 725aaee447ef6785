//! Users: create, read, replace, delete and list, with uniqueness, versions, the
//! manager reference, lifecycle status and an audit event for every change.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::assignments::{
    self, AppAssignment, AppAssignmentInput, SocialAccount, serialize_limited,
};
use super::attributes::AttributeDocument;
use super::audit::{NewEvent, changed_attributes};
use super::modify::{check_version, modify_in_transaction, modify_with_retry};
use super::paging::{ListQuery, in_order};
use super::{DomainError, new_id, now};
use crate::auth::hash_password;
use crate::store::Scope;
use crate::store::query::is_user_index_lookup;
use crate::store::scope::{can_see_user, visible_users_among};
use crate::store::tenants::find_application;
use crate::store::users::{
    self as repo, NewUserRow, StoredExtras, UserChanges, UserLookupColumns, UserRow, UserSearch,
    value_rows,
};
pub use crate::store::users::{CursorPosition, UserKey, UserSort, UserWindow};
use crate::store::{Conn, Store, StoreError};
use crate::text_rules::check_user_document;
use crate::urn::{ENTERPRISE_USER, ROSTER_USER};

/// Lifecycle status of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Created by an administrator or API; never signed in to an assigned app.
    Pending,
    /// Signed in at least once.
    Active,
    /// `active` is false: sign-ins are refused.
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Pending => "pending",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
}

const STORED_PENDING: &str = "pending";

/// A user as the domain knows it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    /// Core and enterprise attributes, validated and in canonical form.
    pub attributes: AttributeDocument,
    pub status: UserStatus,
    /// As stored: written out as it is, parsed only by code that changes it.
    pub custom_data: Option<Box<RawValue>>,
    pub birthday: Option<NaiveDate>,
    pub last_sign_in: Option<NaiveDateTime>,
    pub created: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    pub version: i64,
    /// Assignments the caller may see: all for the Management Application, else
    /// only the caller's own.
    pub apps: Vec<AppAssignment>,
    pub social_accounts: Vec<SocialAccount>,
    /// The groups holding the user, directly or through nested groups.
    pub groups: Vec<crate::store::groups::GroupOfUser>,
}

/// Validated input for a create or replace.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    /// Core and enterprise attributes.
    pub attributes: Map<String, Value>,
    pub password: Option<String>,
    /// Roster extension fields; `None` when the request did not name the extension,
    /// in which case a replace keeps them as they were.
    pub roster: Option<RosterUserInput>,
}

/// The writable Roster extension fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RosterUserInput {
    pub custom_data: Option<Value>,
    pub birthday: Option<NaiveDate>,
    /// `None` leaves the assignments as they are.
    pub apps: Option<Vec<AppAssignmentInput>>,
}

/// One page of users.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    /// How many users match, over all pages.
    pub total: i64,
    /// Where the next page starts (cursor paging only).
    pub next: Option<CursorPosition>,
}

pub async fn create_user(
    store: &Store,
    scope: &Scope,
    input: UserInput,
) -> Result<User, DomainError> {
    let password_hash = hash_optional_password(input.password.clone()).await?;
    let scope = scope.clone();
    store
        .write(move |conn| create_user_in(conn, &scope, input, password_hash))
        .await
}

/// Creates a user inside the caller's transaction (`password_hash` made from
/// `input.password` beforehand) and reads it back as the caller sees it.
pub(crate) fn create_user_in(
    conn: &mut Conn,
    scope: &Scope,
    input: UserInput,
    password_hash: Option<String>,
) -> Result<User, DomainError> {
    let id = insert_new_user(conn, scope, input, password_hash)?;
    load_user(conn, scope, &id)
}

/// Inserts a user inside the caller's transaction and returns its id. A user
/// created through an application's token is assigned to that application.
pub(crate) fn insert_new_user(
    conn: &mut Conn,
    scope: &Scope,
    input: UserInput,
    password_hash: Option<String>,
) -> Result<String, DomainError> {
    let mut attributes = input.attributes;
    check_user_document(&attributes).map_err(|e| DomainError::InvalidValue(e.to_string()))?;
    resolve_manager(conn, scope, None, None, &mut attributes)?;
    let roster = input.roster.unwrap_or_default();
    let custom_data = serialize_limited(roster.custom_data.as_ref(), "customData")?;
    let created = now();
    let id = new_id();
    let doc = Value::Object(attributes);
    let row = NewUserRow {
        id: id.clone(),
        tenant_id: scope.tenant_id.to_string(),
        attributes: doc.to_string(),
        password_hash,
        status: STORED_PENDING.to_owned(),
        custom_data,
        birthday: roster.birthday,
        created_at: created,
        last_modified: created,
        version: 1,
        lookup: UserLookupColumns::from_attributes(&doc),
    };
    let values = value_rows(&scope.tenant_id, &id, &doc);
    repo::insert_user(conn, &row, &values).map_err(|e| user_name_conflict(e, &doc))?;
    if !scope.is_management() {
        // A token another instance still holds in its cache may outlive its application.
        if find_application(conn, &scope.tenant_id, &scope.app_id)?.is_none() {
            return Err(DomainError::Unauthorized(
                "the token's application no longer exists".into(),
            ));
        }
        assignments::assign(conn, scope, &id, &scope.app_id, created)?;
    }
    if let Some(apps) = &roster.apps {
        assignments::apply_app_inputs(conn, scope, &id, apps, created)?;
    }
    record(
        conn,
        scope,
        "user.created",
        &id,
        json!({"userName": doc["userName"]}),
    )?;
    Ok(id)
}

/// The user `id` as `scope` sees it, inside the caller's transaction.
pub(crate) fn load_user(conn: &mut Conn, scope: &Scope, id: &str) -> Result<User, DomainError> {
    let (row, extras) =
        repo::find_user_with_extras(conn, scope, id)?.ok_or_else(|| not_found(id))?;
    let mut users = users_with_extras(conn, scope, vec![(row, extras)])?;
    users.pop().ok_or_else(|| not_found(id))
}

pub async fn get_user(store: &Store, scope: &Scope, id: String) -> Result<User, DomainError> {
    let scope = scope.clone();
    store
        .read_indexed(move |conn| load_user(conn, &scope, &id))
        .await
}

/// Replaces a user's attributes (RFC 7644 §3.5.1). `if_match` is the version the
/// client last saw, when it sent one.
pub async fn replace_user(
    store: &Store,
    scope: &Scope,
    id: String,
    input: UserInput,
    if_match: Option<String>,
) -> Result<User, DomainError> {
    modify_user(store, scope, id, if_match, "user.replaced", move |_| {
        Ok::<_, DomainError>(input.clone())
    })
    .await
}

/// Read-modify-write of one user without losing concurrent updates (see
/// [`modify_with_retry`]): `modify` turns the current user into the new input. Slow
/// work (password hashing) happens outside any transaction.
pub async fn modify_user<F, E>(
    store: &Store,
    scope: &Scope,
    id: String,
    if_match: Option<String>,
    action: &'static str,
    modify: F,
) -> Result<User, E>
where
    F: Fn(&User) -> Result<UserInput, E> + Send + Sync + 'static,
    E: From<DomainError> + Send + 'static,
{
    modify_with_retry(
        "User",
        &id,
        if_match.as_deref(),
        || get_user(store, scope, id.clone()),
        |user| user.version,
        modify,
        |expected, input: UserInput| {
            let (scope, id) = (scope.clone(), id.clone());
            async move {
                let password_hash = hash_optional_password(input.password.clone()).await?;
                store
                    .write(move |conn| {
                        write_user(conn, &scope, &id, expected, input, password_hash, action)
                    })
                    .await
            }
        },
    )
    .await
}

/// [`modify_user`] inside the caller's transaction: reads the user, turns it into
/// the new input with `modify` and writes it, with the same checks and audit event.
/// `password_hash` is the hash of the password the input sets, made beforehand; a
/// password that only `modify` brings is refused.
pub(crate) fn modify_user_in<F, E>(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    if_match: Option<&str>,
    action: &str,
    password_hash: Option<String>,
    modify: F,
) -> Result<User, E>
where
    F: Fn(&User) -> Result<UserInput, E>,
    E: From<DomainError>,
{
    modify_in_transaction(
        conn,
        "User",
        id,
        if_match,
        |conn| load_user(conn, scope, id),
        |user| user.version,
        modify,
        |conn, expected, input: UserInput| {
            // Hashing is slow on purpose: inside the caller's transaction it would hold
            // SQLite's one writer for every password a request sets.
            let hash = match (&password_hash, &input.password) {
                (Some(hash), _) => Some(hash.clone()),
                (None, Some(_)) => {
                    return Err(DomainError::InvalidValue(
                        "a PATCH inside /Bulk cannot set a password: send it as its own \
                         PATCH, or as a PUT in /Bulk"
                            .into(),
                    ));
                }
                (None, None) => None,
            };
            write_user(conn, scope, id, expected, input, hash, action)
        },
    )
}

/// Writes `input` over the user if it is still at `expected_version`; `None` when it
/// is not.
fn write_user(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    input: UserInput,
    password_hash: Option<String>,
    action: &str,
) -> Result<Option<User>, DomainError> {
    let current = visible_user(conn, scope, id)?;
    if current.version != expected_version {
        return Ok(None);
    }
    let mut attributes = input.attributes;
    check_user_document(&attributes).map_err(|e| DomainError::InvalidValue(e.to_string()))?;
    let current_attributes = serde_json::from_str::<Map<String, Value>>(&current.attributes)
        .map_err(|_| corrupt_attributes(id))?;
    let current_manager = manager_id(&current_attributes);
    keep_unseen_manager(conn, scope, &current_attributes, &mut attributes)?;
    resolve_manager(
        conn,
        scope,
        Some(id),
        current_manager.as_deref(),
        &mut attributes,
    )?;
    let (custom_data, birthday) = match &input.roster {
        Some(roster) => (
            serialize_limited(roster.custom_data.as_ref(), "customData")?,
            roster.birthday,
        ),
        None => (current.custom_data.clone(), current.birthday),
    };
    let apps_changed = match input.roster.as_ref().and_then(|r| r.apps.as_ref()) {
        Some(apps) => assignments::apply_app_inputs(conn, scope, id, apps, now())?,
        None => false,
    };
    let mut changed = changed_attributes(&current_attributes, &attributes);
    changed.extend(
        [
            (custom_data != current.custom_data, "customData"),
            (birthday != current.birthday, "birthday"),
            (apps_changed, "apps"),
        ]
        .into_iter()
        .filter(|(differs, _)| *differs)
        .map(|(_, name)| format!("{ROSTER_USER}:{name}")),
    );
    if password_hash.is_some() {
        changed.push("password".to_owned());
    }
    changed.sort();
    let doc = Value::Object(attributes);
    let unchanged = password_hash.is_none()
        && !apps_changed
        && custom_data == current.custom_data
        && birthday == current.birthday
        && serde_json::from_str::<Value>(&current.attributes)
            .ok()
            .as_ref()
            == Some(&doc);
    if unchanged {
        return load_user(conn, scope, id).map(Some);
    }
    let changes = UserChanges {
        attributes: doc.to_string(),
        status: current.status.clone(),
        custom_data,
        birthday,
        last_modified: now(),
        version: current.version + 1,
        lookup: UserLookupColumns::from_attributes(&doc),
    };
    let values = value_rows(&scope.tenant_id, id, &doc);
    let written = repo::update_user(
        conn,
        &scope.tenant_id,
        id,
        current.version,
        &changes,
        &values,
    )
    .map_err(|e| user_name_conflict(e, &doc))?;
    if !written {
        return Ok(None);
    }
    if let Some(hash) = &password_hash {
        repo::set_password_hash(conn, &scope.tenant_id, id, Some(hash))?;
    }
    super::audit::record(
        conn,
        NewEvent::by(scope, "User", action, id)
            .changed(changed)
            .detail(json!({"userName": doc["userName"]})),
    )?;
    load_user(conn, scope, id).map(Some)
}

pub async fn delete_user(
    store: &Store,
    scope: &Scope,
    id: String,
    if_match: Option<String>,
) -> Result<(), DomainError> {
    let scope = scope.clone();
    store
        .write(move |conn| delete_user_in(conn, &scope, &id, if_match.as_deref()))
        .await
}

/// [`delete_user`] inside the caller's transaction.
pub(crate) fn delete_user_in(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), DomainError> {
    let current = visible_user(conn, scope, id)?;
    check_version(if_match, current.version)?;
    let user_name = serde_json::from_str::<Value>(&current.attributes)
        .ok()
        .and_then(|doc| doc.get("userName").cloned())
        .unwrap_or(Value::Null);
    if !scope.is_management() {
        // An application's DELETE removes the user from that application; the
        // identity goes only with its last assignment.
        crate::store::assignments::delete_assignment(conn, id, &scope.app_id)?;
        record(
            conn,
            scope,
            "user.unassigned",
            id,
            json!({"userName": user_name, "app": &*scope.app_id}),
        )?;
        if crate::store::assignments::count_assignments(conn, id)? > 0 {
            return Ok(());
        }
    }
    crate::store::groups::remove_member_everywhere(conn, &scope.tenant_id, id)?;
    repo::delete_user(conn, &scope.tenant_id, id)?;
    record(
        conn,
        scope,
        "user.deleted",
        id,
        json!({"userName": user_name}),
    )
}

/// How many users an equality look-up on an indexed attribute answers with in one
/// piece; a look-up that finds more is listed as a stream, like any other list.
const WHOLE_LOOKUP_USERS: i64 = 4;

/// The answer of [`look_up_users`].
#[derive(Debug)]
pub enum LookUp {
    /// The whole page: a few users.
    Page(UserPage),
    /// The query, given back: it is no look-up on an index, or finds more users than
    /// one piece holds. [`super::listing::stream_list`] lists it.
    Unanswered(ListQuery),
}

/// Answers an equality look-up on an indexed attribute (`userName eq "x"`, the
/// common request of provisioning clients) in one piece, reading at most
/// [`WHOLE_LOOKUP_USERS`] users, so that it costs no more than a look-up and
/// memory stays bounded however many users match.
pub async fn look_up_users(
    store: &Store,
    scope: &Scope,
    query: ListQuery,
) -> Result<LookUp, DomainError> {
    if !query.filter.as_ref().is_some_and(is_user_index_lookup) {
        return Ok(LookUp::Unanswered(query));
    }
    let scope = scope.clone();
    let search = move |conn: &mut Conn| {
        let (window, wanted) = match &query.window {
            UserWindow::Offset { limit, .. } | UserWindow::After { limit, .. } if *limit <= 0 => {
                let total = repo::count_matching_users(conn, &scope, query.filter.as_ref())?;
                return Ok(LookUp::Page(UserPage {
                    users: Vec::new(),
                    total,
                    next: None,
                }));
            }
            // One row past the most answered whole tells that the page holds more.
            UserWindow::Offset { offset, limit } => (
                UserWindow::Offset {
                    offset: *offset,
                    limit: (*limit).min(WHOLE_LOOKUP_USERS + 1),
                },
                *limit,
            ),
            // One extra row tells whether another page follows.
            UserWindow::After { position, limit } => (
                UserWindow::After {
                    position: position.clone(),
                    limit: (*limit).min(WHOLE_LOOKUP_USERS) + 1,
                },
                *limit,
            ),
        };
        let search = UserSearch {
            scope: &scope,
            filter: query.filter.as_ref(),
            sort: query.sort.as_ref(),
            window,
            with_extras: true,
            matching: None,
        };
        let mut rows = repo::search_users(conn, &search)?;
        if wanted > WHOLE_LOOKUP_USERS && rows.len() as i64 > WHOLE_LOOKUP_USERS {
            return Ok(LookUp::Unanswered(query));
        }
        let more = rows.len() as i64 > wanted;
        // A first page that holds every match is its own count: a look-up by userName
        // or email needs no second pass over its matches.
        let every_match = match &query.window {
            UserWindow::Offset { offset, limit } => *offset == 0 && (rows.len() as i64) < *limit,
            UserWindow::After { position, .. } => position.is_none() && !more,
        };
        let total = if every_match {
            rows.len() as i64
        } else {
            repo::count_matching_users(conn, &scope, query.filter.as_ref())?
        };
        rows.truncate(usize::try_from(wanted).unwrap_or(0));
        let next = match (&query.window, more) {
            (UserWindow::After { .. }, true) => rows.last().map(|hit| hit.position.clone()),
            _ => None,
        };
        let (rows, extras): (Vec<UserRow>, Vec<Option<StoredExtras>>) =
            rows.into_iter().map(|hit| (hit.user, hit.extras)).unzip();
        let users = match extras.into_iter().collect::<Option<Vec<_>>>() {
            Some(extras) => {
                users_with_extras(conn, &scope, rows.into_iter().zip(extras).collect())?
            }
            None => users_from_rows(conn, &scope, rows)?,
        };
        Ok(LookUp::Page(UserPage { users, total, next }))
    };
    store.read_indexed(search).await
}

/// The users with these ids, in this order, as the caller sees them.
pub(crate) fn read_users(
    conn: &mut Conn,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<User>, DomainError> {
    let rows = repo::users_by_ids(conn, &scope.tenant_id, ids)?;
    let rows = in_order(ids, rows, |row| &row.id)?;
    users_from_rows(conn, scope, rows)
}

/// The users whose `key` (externalId, or userName ignoring case) is one of `values`,
/// as the caller sees them.
pub async fn find_users_by_key(
    store: &Store,
    scope: &Scope,
    key: UserKey,
    values: Vec<String>,
) -> Result<Vec<User>, DomainError> {
    let scope = scope.clone();
    store
        .read(move |conn| {
            let mut rows = repo::users_by_key(conn, &scope.tenant_id, key, &values)?;
            if !scope.is_management() {
                let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
                let visible: std::collections::HashSet<String> =
                    visible_users_among(conn, &scope, &ids)?
                        .into_iter()
                        .collect();
                rows.retain(|row| visible.contains(&row.id));
            }
            users_from_rows(conn, &scope, rows)
        })
        .await
}

/// The id the enterprise `manager` of a user's attributes names, if any.
fn manager_id(attributes: &Map<String, Value>) -> Option<String> {
    attributes
        .get(ENTERPRISE_USER)?
        .get("manager")?
        .get("value")?
        .as_str()
        .map(str::to_owned)
}

/// Keeps the stored manager through an application's change that names none when
/// the application cannot see that manager: it was never shown the manager, so
/// leaving it out removes nothing.
fn keep_unseen_manager(
    conn: &mut Conn,
    scope: &Scope,
    current: &Map<String, Value>,
    attributes: &mut Map<String, Value>,
) -> Result<(), DomainError> {
    if scope.is_management() || manager_id(attributes).is_some() {
        return Ok(());
    }
    let (Some(manager), Some(stored)) = (
        manager_id(current),
        current.get(ENTERPRISE_USER).and_then(|e| e.get("manager")),
    ) else {
        return Ok(());
    };
    if can_see_user(conn, scope, &manager)? {
        return Ok(());
    }
    let enterprise = attributes
        .entry(ENTERPRISE_USER)
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(fields) = enterprise {
        fields.insert("manager".into(), stored.clone());
    }
    Ok(())
}

/// The enterprise `manager` must name a user of the same tenant (and not the user
/// itself) that the caller may see: for an application, a user assigned to it,
/// unless the manager is the one the user already has. A user the caller cannot
/// see is refused exactly like one that does not exist. The read-only
/// `displayName` is filled in from that user.
fn resolve_manager(
    conn: &mut Conn,
    scope: &Scope,
    self_id: Option<&str>,
    current_manager: Option<&str>,
    attributes: &mut Map<String, Value>,
) -> Result<(), DomainError> {
    let Some(manager) = attributes
        .get_mut(ENTERPRISE_USER)
        .and_then(|enterprise| enterprise.get_mut("manager"))
    else {
        return Ok(());
    };
    let Some(manager_id) = manager
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    if Some(manager_id.as_str()) == self_id {
        return Err(DomainError::InvalidValue(
            "a user cannot be their own manager".into(),
        ));
    }
    let unknown = || {
        DomainError::InvalidValue(format!(
            "manager '{manager_id}' is not a user of this tenant"
        ))
    };
    let manager_row = repo::find_user(conn, &scope.tenant_id, &manager_id)?.ok_or_else(unknown)?;
    let kept = current_manager == Some(manager_id.as_str());
    if !kept && !can_see_user(conn, scope, &manager_id)? {
        return Err(unknown());
    }
    let display_name = serde_json::from_str::<Map<String, Value>>(&manager_row.attributes)
        .map_err(|_| corrupt_attributes(&manager_id))?
        .remove("displayName");
    if let (Some(display_name), Value::Object(fields)) = (display_name, manager) {
        fields.insert("displayName".into(), display_name);
    }
    Ok(())
}

pub(crate) async fn hash_optional_password(
    password: Option<String>,
) -> Result<Option<String>, DomainError> {
    let Some(password) = password else {
        return Ok(None);
    };
    // Argon2 is deliberately slow: keep it off the async executor and outside any
    // write transaction.
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| DomainError::Store(StoreError::Cancelled))?
        .map(Some)
        .map_err(|e| DomainError::InvalidValue(format!("the password cannot be hashed: {e}")))
}

fn user_name_conflict(err: StoreError, doc: &Value) -> DomainError {
    match err {
        StoreError::UniqueViolation(_) => DomainError::Conflict(format!(
            "userName '{}' is already in use in this tenant",
            doc["userName"].as_str().unwrap_or_default()
        )),
        other => other.into(),
    }
}

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("User '{id}' not found"))
}

pub(crate) fn corrupt_attributes(id: &str) -> DomainError {
    DomainError::Corrupt(format!(
        "stored attributes of user {id} are not a JSON object"
    ))
}

pub(crate) fn record(
    conn: &mut Conn,
    scope: &Scope,
    action: &str,
    resource_id: &str,
    detail: Value,
) -> Result<(), DomainError> {
    super::record_event(conn, scope, "User", action, resource_id, detail)
}

fn user_from_row(row: UserRow) -> Result<User, DomainError> {
    let corrupt = |what: &str| {
        DomainError::Corrupt(format!(
            "stored {what} of user {} is not valid JSON",
            row.id
        ))
    };
    let custom_data = match row.custom_data {
        Some(text) => Some(RawValue::from_string(text).map_err(|_| corrupt("customData"))?),
        None => None,
    };
    let attributes = AttributeDocument::from_stored(row.attributes, row.active);
    let status = if !attributes.is_active() {
        UserStatus::Disabled
    } else if row.status == STORED_PENDING {
        UserStatus::Pending
    } else {
        UserStatus::Active
    };
    Ok(User {
        id: row.id,
        attributes,
        status,
        custom_data,
        birthday: row.birthday,
        last_sign_in: row.last_sign_in,
        created: row.created_at,
        last_modified: row.last_modified,
        version: row.version,
        apps: Vec::new(),
        social_accounts: Vec::new(),
        groups: Vec::new(),
    })
}

/// The user `id` if the caller may see it; a foreign or unassigned id is as
/// missing as one that does not exist.
fn visible_user(conn: &mut Conn, scope: &Scope, id: &str) -> Result<UserRow, DomainError> {
    let row = repo::find_user(conn, &scope.tenant_id, id)?.ok_or_else(|| not_found(id))?;
    if !can_see_user(conn, scope, id)? {
        return Err(not_found(id));
    }
    Ok(row)
}

/// Users read with their [`StoredExtras`]; only the nesting of those in some group
/// takes another query.
fn users_with_extras(
    conn: &mut Conn,
    scope: &Scope,
    rows: Vec<(UserRow, StoredExtras)>,
) -> Result<Vec<User>, DomainError> {
    let grouped: Vec<String> = rows
        .iter()
        .filter(|(_, extras)| extras.grouped)
        .map(|(row, _)| row.id.clone())
        .collect();
    let mut groups = if grouped.is_empty() {
        Default::default()
    } else {
        crate::store::groups::groups_of_members(conn, &grouped)?
    };
    let mut users = rows
        .into_iter()
        .map(|(row, extras)| {
            let mut user = user_from_row(row)?;
            (user.apps, user.social_accounts) = assignments::extras_from_stored(&user.id, &extras)?;
            user.groups = groups.remove(&user.id).unwrap_or_default();
            Ok(user)
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    hide_unseen_managers(conn, scope, &mut users)?;
    Ok(users)
}

/// Users with their assignments and social accounts, loaded for the whole batch.
fn users_from_rows(
    conn: &mut Conn,
    scope: &Scope,
    rows: Vec<UserRow>,
) -> Result<Vec<User>, DomainError> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let (mut apps, mut socials) = assignments::extras_of(conn, scope, &ids)?;
    let mut groups = crate::store::groups::groups_of_users(conn, &ids)?;
    let mut users = rows
        .into_iter()
        .map(|row| {
            let mut user = user_from_row(row)?;
            user.apps = apps.remove(&user.id).unwrap_or_default();
            user.social_accounts = socials.remove(&user.id).unwrap_or_default();
            user.groups = groups.remove(&user.id).unwrap_or_default();
            Ok(user)
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    hide_unseen_managers(conn, scope, &mut users)?;
    Ok(users)
}

/// Leaves out, for an application, the enterprise `manager` of users whose manager
/// it cannot see: a reference the caller cannot see reads like a missing one.
fn hide_unseen_managers(
    conn: &mut Conn,
    scope: &Scope,
    users: &mut [User],
) -> Result<(), DomainError> {
    if scope.is_management() {
        return Ok(());
    }
    let mut managed = Vec::new();
    for (index, user) in users.iter().enumerate() {
        if !user.attributes.may_have_manager() {
            continue;
        }
        let attributes = user
            .attributes
            .to_map()
            .map_err(|_| corrupt_attributes(&user.id))?;
        if let Some(manager) = manager_id(&attributes) {
            managed.push((index, attributes, manager));
        }
    }
    if managed.is_empty() {
        return Ok(());
    }
    let managers: Vec<String> = managed.iter().map(|(_, _, m)| m.clone()).collect();
    let visible: std::collections::HashSet<String> = visible_users_among(conn, scope, &managers)?
        .into_iter()
        .collect();
    for (index, mut attributes, manager) in managed {
        if visible.contains(&manager) {
            continue;
        }
        remove_manager(&mut attributes);
        let user = &mut users[index];
        user.attributes = AttributeDocument::from_stored(
            Value::Object(attributes).to_string(),
            user.attributes.is_active(),
        );
    }
    Ok(())
}

/// Removes the enterprise `manager`, and the extension with it when nothing else
/// is left in it.
fn remove_manager(attributes: &mut Map<String, Value>) {
    if let Some(Value::Object(enterprise)) = attributes.get_mut(ENTERPRISE_USER) {
        enterprise.remove("manager");
        if enterprise.is_empty() {
            attributes.remove(ENTERPRISE_USER);
        }
    }
}
