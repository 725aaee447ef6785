//! Scope: what a bearer token may reach, and the one place the store applies it.
//!
//! A token belongs to one tenant and one application. The Management Application's
//! tokens reach the whole tenant; any other application's reach only the users
//! assigned to it (a `user_apps` row), every group, and of a group's members only
//! the groups and those users. A user out of reach is answered exactly like one
//! that does not exist: every read, filter, count, sort and write over users,
//! members, managers, assignments and audit events goes through the functions below.

use std::collections::HashSet;
use std::sync::Arc;

use diesel::prelude::*;

use super::schema::user_apps;
use super::sql::SqlBuilder;
use super::{Conn, StoreError};
use crate::with_conn;

/// The tenant and reach of a request, from its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: Arc<str>,
    /// The application the token was issued to.
    pub app_id: Arc<str>,
    reach: Reach,
    /// The request being served (its `X-Request-Id`), which audit events name.
    pub request_id: Option<Arc<str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The Management Application: every resource of the tenant.
    Tenant,
    /// Any other application: the users assigned to it.
    AssignedUsers,
}

impl Scope {
    /// The scope of a token of `app_id`, the tenant's Management Application when
    /// `is_management`.
    pub fn new(tenant_id: Arc<str>, app_id: Arc<str>, is_management: bool) -> Scope {
        let reach = if is_management {
            Reach::Tenant
        } else {
            Reach::AssignedUsers
        };
        Scope {
            tenant_id,
            app_id,
            reach,
            request_id: None,
        }
    }

    /// This scope serving the request `request_id`.
    pub fn for_request(self, request_id: &str) -> Scope {
        Scope {
            request_id: Some(request_id.into()),
            ..self
        }
    }

    /// Whether the token manages the whole tenant.
    pub fn is_management(&self) -> bool {
        self.reach == Reach::Tenant
    }

    /// The application whose assigned users bound this scope; `None` when it reaches
    /// the whole tenant.
    pub fn limiting_app(&self) -> Option<&str> {
        match self.reach {
            Reach::Tenant => None,
            Reach::AssignedUsers => Some(&self.app_id),
        }
    }
}

/// The SQL condition that the user whose id is the expression `user_id` is assigned
/// to application `app_id`. The only SQL definition of a visible user: point reads,
/// member lists, member and manager filters and sorts all use it (searches use its
/// set form, [`and_searched_user_visible`]).
pub fn push_user_visible(b: &mut SqlBuilder, app_id: &str, user_id: &str) {
    b.push("EXISTS (SELECT 1 FROM user_apps ua WHERE ua.user_id = ");
    b.push(user_id);
    b.push(" AND ua.app_id = ");
    b.text(app_id);
    b.push(")");
}

/// Appends ` AND` the condition that the user whose id is `user_id` is within the
/// reach of `app` (a scope's [`Scope::limiting_app`]); nothing for the whole tenant.
pub fn and_user_visible(b: &mut SqlBuilder, app: Option<&str>, user_id: &str) {
    if let Some(app_id) = app {
        b.push(" AND ");
        push_user_visible(b, app_id, user_id);
    }
}

/// Appends ` AND` the condition that the user `u` of a search is within the reach
/// of `app`: the same definition as [`push_user_visible`], written as the set of the
/// application's assigned users, which the planner can start a search from.
pub fn and_searched_user_visible(b: &mut SqlBuilder, app: Option<&str>) {
    if let Some(app_id) = app {
        b.push(" AND u.id IN (SELECT ua.user_id FROM user_apps ua WHERE ua.app_id = ");
        b.text(app_id);
        b.push(")");
    }
}

/// Appends ` AND` the condition that the member row `gm` is within the reach of
/// `app`: a group, or a visible user.
pub fn and_member_visible(b: &mut SqlBuilder, app: Option<&str>) {
    if let Some(app_id) = app {
        b.push(" AND (gm.member_type = 'Group' OR ");
        push_user_visible(b, app_id, "gm.member_id");
        b.push(")");
    }
}

/// Appends ` AND` the condition that the audit event `e` is within the reach of `app`:
/// the application's own actions, and events about the users assigned to it;
/// nothing for the whole tenant.
pub fn and_event_visible(b: &mut SqlBuilder, app: Option<&str>) {
    if let Some(app_id) = app {
        b.push(" AND (e.actor = ");
        b.text(app_id);
        b.push(" OR (e.resource_type = 'User' AND ");
        push_user_visible(b, app_id, "e.resource_id");
        b.push("))");
    }
}

/// Whether the user `user_id` of the scope's tenant is within its reach (the
/// caller has checked that the user exists in the tenant).
pub fn can_see_user(conn: &mut Conn, scope: &Scope, user_id: &str) -> Result<bool, StoreError> {
    let Some(app_id) = scope.limiting_app() else {
        return Ok(true);
    };
    let found: Option<String> = with_conn!(conn, c => user_apps::table
        .filter(user_apps::user_id.eq(user_id))
        .filter(user_apps::app_id.eq(app_id))
        .select(user_apps::user_id)
        .first(c)
        .optional())?;
    Ok(found.is_some())
}

/// The ids among `user_ids` (users of the scope's tenant) within its reach.
pub fn visible_users_among(
    conn: &mut Conn,
    scope: &Scope,
    user_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let Some(app_id) = scope.limiting_app() else {
        return Ok(user_ids.to_vec());
    };
    let mut found = Vec::new();
    for chunk in user_ids.chunks(super::IDS_PER_STATEMENT) {
        let part: Vec<String> = with_conn!(conn, c => user_apps::table
            .filter(user_apps::app_id.eq(app_id))
            .filter(user_apps::user_id.eq_any(chunk))
            .select(user_apps::user_id)
            .load(c))?;
        found.extend(part);
    }
    Ok(found)
}

/// The ids among `members` (an id and its member type, `User` or `Group`) within
/// the scope's reach: every group, and the visible users.
pub fn visible_members_among(
    conn: &mut Conn,
    scope: &Scope,
    members: &[(String, &str)],
) -> Result<HashSet<String>, StoreError> {
    let (groups, users): (Vec<_>, Vec<_>) = members
        .iter()
        .partition(|(_, member_type)| *member_type == "Group");
    let users: Vec<String> = users.into_iter().map(|(id, _)| id.clone()).collect();
    let mut visible: HashSet<String> = visible_users_among(conn, scope, &users)?
        .into_iter()
        .collect();
    visible.extend(groups.into_iter().map(|(id, _)| id.clone()));
    Ok(visible)
}
