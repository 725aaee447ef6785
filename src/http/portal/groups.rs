//! The groups pages: list and search, create, a group's page with its members a
//! page at a time, rename, delete, and members added with a user picker.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::AppState;
use super::super::routes::{Endpoint, Routes};
use super::error::PortalError;
use super::forms::{
    FormError, MAX_SEARCH_CHARS, filter_literal, form_error, given, link, search_filter,
};
use super::session::{Admin, AdminForm, CsrfOnly};
use super::views::{EventEntry, UserSummary};
use super::{Chrome, ConfirmPage, ok_page, page, redirect};
use crate::domain::audit::{EventQuery, read_events};
use crate::domain::groups::{
    self as domain, GroupUpdate, MemberChange, MemberKind, MemberRef, member_page,
};
use crate::domain::listing::{read_group_page, read_user_page};
use crate::schema::{GROUP_RESOURCE, USER_RESOURCE};
use crate::scim::list::{ListRequest, PageLimits};

/// Groups, or members, on one page.
const PAGE_SIZE: i64 = 25;

const LIMITS: PageLimits = PageLimits {
    default_count: PAGE_SIZE,
    max_count: PAGE_SIZE,
};

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/groups").get(list_page).post(create))
        .add(Endpoint::new("/groups/{id}").get(group_page).post(rename))
        .add(
            Endpoint::new("/groups/{id}/delete")
                .get(delete_page)
                .post(delete),
        )
        .add(Endpoint::new("/groups/{id}/members").post(add_member))
        .add(Endpoint::new("/groups/{id}/members/remove").post(remove_member))
        .add(Endpoint::new("/groups/{id}/candidates").get(candidates));
}

/// The id of the group named `name` exactly, if the tenant has one.
pub async fn group_named(
    state: &AppState,
    admin: &Admin,
    name: &str,
) -> Result<Option<String>, PortalError> {
    let request = ListRequest {
        filter: Some(format!("displayName eq {}", filter_literal(name))),
        count: Some("1".into()),
        ..ListRequest::default()
    };
    let query = request.query(&GROUP_RESOURCE, LIMITS)?;
    let (_, groups) = read_group_page(&state.store, &admin.scope, query).await?;
    Ok(groups.into_iter().next().map(|group| group.id))
}

struct GroupSummary {
    id: String,
    name: String,
    description: String,
    modified: String,
}

fn group_name(attributes: &Map<String, Value>) -> String {
    attributes
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    cursor: Option<String>,
    partial: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/groups_results.html")]
struct GroupsResults {
    groups: Vec<GroupSummary>,
    total: i64,
    next: Option<String>,
    first: Option<String>,
    searching: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    q: String,
    results: GroupsResults,
    new_name: String,
    error: FormError,
}

async fn groups_results(
    state: &AppState,
    admin: &Admin,
    params: &ListParams,
) -> Result<GroupsResults, PortalError> {
    let q = given(&params.q, MAX_SEARCH_CHARS);
    let request = ListRequest {
        filter: q.as_deref().map(|q| search_filter(&["displayName"], q)),
        sort_by: Some("displayName".into()),
        count: Some(PAGE_SIZE.to_string()),
        cursor: Some(params.cursor.clone().unwrap_or_default()),
        ..ListRequest::default()
    };
    let keep = |cursor: &str| {
        link(
            "/admin/groups",
            &[("q", q.as_deref().unwrap_or("")), ("cursor", cursor)],
        )
    };
    let mut results = GroupsResults {
        groups: Vec::new(),
        total: 0,
        next: None,
        first: params
            .cursor
            .as_deref()
            .is_some_and(|c| !c.is_empty())
            .then(|| keep("")),
        searching: q.is_some(),
        error: None,
    };
    let found = async {
        let query = request.query(&GROUP_RESOURCE, LIMITS)?;
        Ok::<_, PortalError>(read_group_page(&state.store, &admin.scope, query).await?)
    }
    .await;
    match found {
        Ok((head, groups)) => {
            results.total = head.total;
            results.next = head
                .next
                .as_ref()
                .map(|position| keep(&request.encode_cursor(position)));
            results.groups = groups
                .iter()
                .map(|group| GroupSummary {
                    id: group.id.clone(),
                    name: group_name(&group.attributes),
                    description: group
                        .attributes
                        .get(crate::urn::ROSTER_GROUP)
                        .and_then(|extension| extension.get("description"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    modified: crate::time::format_time(group.last_modified),
                })
                .collect();
        }
        Err(PortalError::Scim(error)) if error.status < 500 => results.error = Some(error.detail),
        Err(other) => return Err(other),
    }
    Ok(results)
}

/// `GET /admin/groups`.
async fn list_page(
    req: HttpRequest,
    admin: Admin,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let results = groups_results(&state, &admin, &params).await?;
    if params.partial.is_some() {
        return Ok(ok_page(&results));
    }
    Ok(ok_page(&GroupsPage {
        chrome: admin.chrome("groups"),
        q: given(&params.q, MAX_SEARCH_CHARS).unwrap_or_default(),
        results,
        new_name: String::new(),
        error: FormError::default(),
    }))
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
}

/// `POST /admin/groups`: creates a group.
async fn create(
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<NameForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let mut attributes = Map::new();
    attributes.insert("displayName".into(), Value::String(form.name.trim().into()));
    let created = domain::create_group(&state.store, &admin.scope, attributes, None, Vec::new())
        .await
        .map_err(PortalError::from);
    match created {
        Ok(group) => Ok(redirect(&format!("/admin/groups/{}", group.id))),
        Err(error) => {
            let error = form_error(error, &[("name", "displayName")])?;
            let params = ListParams {
                q: None,
                cursor: None,
                partial: None,
            };
            let results = groups_results(&state, &admin, &params).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &GroupsPage {
                    chrome: admin.chrome("groups"),
                    q: String::new(),
                    results,
                    new_name: form.name,
                    error,
                },
            ))
        }
    }
}

struct MemberEntry {
    id: String,
    name: String,
    is_group: bool,
    link: String,
}

#[derive(Template)]
#[template(path = "portal/group.html")]
struct GroupPage {
    chrome: Chrome,
    id: String,
    name: String,
    version: i64,
    created: String,
    modified: String,
    members: Vec<MemberEntry>,
    next: Option<String>,
    first: Option<String>,
    name_error: FormError,
    members_error: FormError,
    events: Vec<EventEntry>,
    saved: bool,
}

#[derive(Deserialize)]
struct GroupParams {
    after: Option<String>,
    saved: Option<String>,
}

async fn group_page_of(
    state: &AppState,
    admin: &Admin,
    id: String,
    after: Option<String>,
) -> Result<GroupPage, PortalError> {
    let group = domain::get_group(&state.store, &admin.scope, id.clone(), false).await?;
    let after = after.filter(|after| !after.is_empty());
    let (members, more) = member_page(
        &state.store,
        &admin.scope,
        id.clone(),
        after.clone(),
        PAGE_SIZE,
    )
    .await?;
    let events = read_events(
        &state.store,
        &admin.scope,
        EventQuery {
            resource_id: Some(id.clone()),
            ..EventQuery::default()
        },
        20,
    )
    .await?;
    let next = more
        .then(|| members.last())
        .flatten()
        .map(|last| link(&format!("/admin/groups/{id}"), &[("after", &last.value)]));
    Ok(GroupPage {
        chrome: admin.chrome("groups"),
        name: group_name(&group.attributes),
        version: group.version,
        created: crate::time::format_time(group.created),
        modified: crate::time::format_time(group.last_modified),
        members: members
            .into_iter()
            .map(|member| {
                let is_group = member.kind == MemberKind::Group;
                let section = if is_group { "groups" } else { "users" };
                MemberEntry {
                    link: format!("/admin/{section}/{}", member.value),
                    name: member.display.unwrap_or_else(|| member.value.clone()),
                    id: member.value,
                    is_group,
                }
            })
            .collect(),
        next,
        first: after.map(|_| format!("/admin/groups/{id}")),
        name_error: FormError::default(),
        members_error: FormError::default(),
        events: events.events.iter().map(EventEntry::of).collect(),
        saved: false,
        id,
    })
}

/// `GET /admin/groups/{id}`.
async fn group_page(
    req: HttpRequest,
    admin: Admin,
    id: web::Path<String>,
    params: web::Query<GroupParams>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let params = params.into_inner();
    let mut shown = group_page_of(&state, &admin, id.into_inner(), params.after).await?;
    shown.saved = params.saved.is_some();
    Ok(ok_page(&shown))
}

/// Applies `update` to group `id`; on a client error, the group's page again with
/// the message placed by `place`.
async fn change_group(
    req: &HttpRequest,
    admin: &Admin,
    id: String,
    if_match: Option<String>,
    update: GroupUpdate,
    place: impl FnOnce(&mut GroupPage, FormError),
) -> Result<HttpResponse, PortalError> {
    let state = super::state(req)?;
    let changed = domain::modify_group(
        &state.store,
        &admin.scope,
        id.clone(),
        if_match,
        "group.patched",
        move |_| Ok::<_, crate::domain::DomainError>(update.clone()),
        false,
    )
    .await
    .map_err(PortalError::from);
    match changed {
        Ok(_) => Ok(redirect(&format!("/admin/groups/{id}?saved=1"))),
        Err(error) => {
            let error = form_error(error, &[("name", "displayName")])?;
            let mut shown = group_page_of(&state, admin, id, None).await?;
            place(&mut shown, error);
            Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &shown))
        }
    }
}

/// `POST /admin/groups/{id}`: renames the group.
async fn rename(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<NameForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let id = id.into_inner();
    let group = domain::get_group(&state.store, &admin.scope, id.clone(), false).await?;
    let mut attributes = group.attributes.clone();
    attributes.insert("displayName".into(), Value::String(form.name.trim().into()));
    let update = GroupUpdate {
        attributes: Some(attributes),
        ..GroupUpdate::default()
    };
    let if_match = Some(form.version.trim().to_owned());
    change_group(&req, &admin, id, if_match, update, |shown, error| {
        shown.name_error = FormError {
            field: Some("name"),
            ..error
        };
    })
    .await
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    member: String,
}

/// `POST /admin/groups/{id}/members`: adds a user, named by id or userName.
async fn add_member(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<MemberForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let named = form.member.trim().to_owned();
    let request = ListRequest {
        filter: Some(format!(
            "userName eq {} or id eq {}",
            filter_literal(&named),
            filter_literal(&named)
        )),
        count: Some("1".into()),
        ..ListRequest::default()
    };
    let query = request.query(&USER_RESOURCE, LIMITS)?;
    let found = read_user_page(&state.store, &admin.scope, query).await?;
    let Some(user) = found.users.first() else {
        let mut shown = group_page_of(&state, &admin, id.into_inner(), None).await?;
        shown.members_error = FormError {
            field: Some("member"),
            message: format!("No user has the user name or id '{named}'."),
        };
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &shown));
    };
    let update = GroupUpdate {
        members: vec![MemberChange::Add(vec![MemberRef {
            value: user.id.clone(),
            kind: Some(MemberKind::User),
        }])],
        ..GroupUpdate::default()
    };
    change_group(
        &req,
        &admin,
        id.into_inner(),
        None,
        update,
        |shown, error| {
            shown.members_error = FormError {
                field: Some("member"),
                ..error
            };
        },
    )
    .await
}

#[derive(Deserialize)]
struct RemoveMemberForm {
    member_id: String,
}

/// `POST /admin/groups/{id}/members/remove`.
async fn remove_member(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<RemoveMemberForm>,
) -> Result<HttpResponse, PortalError> {
    let update = GroupUpdate {
        members: vec![MemberChange::Remove(vec![form.member_id])],
        ..GroupUpdate::default()
    };
    change_group(
        &req,
        &admin,
        id.into_inner(),
        None,
        update,
        |shown, error| {
            shown.members_error = error;
        },
    )
    .await
}

#[derive(Deserialize)]
struct CandidateParams {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/candidates.html")]
struct Candidates {
    users: Vec<UserSummary>,
}

/// `GET /admin/groups/{id}/candidates?q=`: users the member picker offers.
async fn candidates(
    req: HttpRequest,
    admin: Admin,
    params: web::Query<CandidateParams>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let Some(q) = given(&params.q, MAX_SEARCH_CHARS) else {
        return Ok(ok_page(&Candidates { users: Vec::new() }));
    };
    let request = ListRequest {
        filter: Some(search_filter(
            &["userName", "name.formatted", "emails.value"],
            &q,
        )),
        count: Some("8".into()),
        ..ListRequest::default()
    };
    let query = request.query(&USER_RESOURCE, LIMITS)?;
    let found = read_user_page(&state.store, &admin.scope, query).await?;
    Ok(ok_page(&Candidates {
        users: found.users.iter().map(UserSummary::of).collect(),
    }))
}

/// `GET /admin/groups/{id}/delete`: asks first.
async fn delete_page(
    req: HttpRequest,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let group = domain::get_group(&state.store, &admin.scope, id.into_inner(), false).await?;
    let name = group_name(&group.attributes);
    Ok(ok_page(&ConfirmPage {
        chrome: admin.chrome("groups"),
        title: format!("Delete {name}"),
        question: format!(
            "Delete the group {name}? Its members stay; only the group and its memberships go. This cannot be undone."
        ),
        action: format!("/admin/groups/{}/delete", group.id),
        button: "Delete group",
        back: format!("/admin/groups/{}", group.id),
    }))
}

/// `POST /admin/groups/{id}/delete`.
async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    domain::delete_group(&state.store, &admin.scope, id.into_inner(), None).await?;
    Ok(redirect("/admin/groups"))
}
