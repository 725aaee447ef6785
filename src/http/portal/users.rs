//! The users pages: the searchable list, a user's page with its forms, creation,
//! and the changes a user's page makes (each a SCIM PATCH through the same engine
//! and version check as the API).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::routes::{Endpoint, Routes};
use super::error::PortalError;
use super::forms::{
    FilterProblem, FormError, MAX_SEARCH_CHARS, combined_filter, filter_problem, form_error, given,
    link, patch_operations, search_filter, set_or_remove,
};
use super::session::{Admin, AdminForm, CsrfOnly};
use super::views::{EventEntry, UserSummary, name_part, primary_value, text};
use super::{Chrome, ConfirmPage, ok_page, page, redirect};
use crate::domain::apps::list_applications;
use crate::domain::audit::{EventQuery, read_events};
use crate::domain::groups::{GroupUpdate, MemberChange, MemberKind, MemberRef, modify_group};
use crate::domain::listing::read_user_page;
use crate::domain::users::{self as domain, User};
use crate::schema::USER_RESOURCE;
use crate::scim::list::{ListRequest, PageLimits};
use crate::scim::users::{patch_user, user_input_from_body};
use crate::time::format_time;
use crate::urn;

/// Users on one page of the list.
const PAGE_SIZE: &str = "25";

/// What the search box looks in.
const SEARCHED: [&str; 5] = [
    "userName",
    "name.formatted",
    "name.givenName",
    "name.familyName",
    "emails.value",
];

/// The list's columns: heading, and the sortBy of those it sorts by (the ones an
/// index orders, so that a sorted page costs no more than an unsorted one).
const COLUMNS: [(&str, Option<&str>); 4] = [
    ("User name", Some("userName")),
    ("Name", None),
    ("Email", None),
    ("Last modified", Some("meta.lastModified")),
];

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/users").get(list_page).post(create))
        .add(Endpoint::new("/users/new").get(new_page))
        .add(
            Endpoint::new("/users/{id}")
                .get(user_page)
                .post(update_profile),
        )
        .add(Endpoint::new("/users/{id}/custom-data").post(update_custom_data))
        .add(Endpoint::new("/users/{id}/status").post(set_status))
        .add(
            Endpoint::new("/users/{id}/delete")
                .get(delete_page)
                .post(delete),
        )
        .add(Endpoint::new("/users/{id}/apps").post(assign_app))
        .add(Endpoint::new("/users/{id}/apps/remove").post(unassign_app))
        .add(Endpoint::new("/users/{id}/groups").post(add_to_group))
        .add(Endpoint::new("/users/{id}/groups/remove").post(remove_from_group));
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    q: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
    /// Only the results, for the search box's live update.
    partial: Option<String>,
}

struct SortHeading {
    label: &'static str,
    /// Where a click sorts by this column, if it sorts.
    link: Option<String>,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    state: &'static str,
}

#[derive(Template)]
#[template(path = "portal/users_results.html")]
struct UsersResults {
    users: Vec<UserSummary>,
    total: i64,
    headings: Vec<SortHeading>,
    next: Option<String>,
    first: Option<String>,
    searching: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    filter: String,
    sort: String,
    order: String,
    problem: Option<FilterProblem>,
    results: UsersResults,
}

/// `GET /admin/users`.
async fn list_page(
    req: HttpRequest,
    admin: Admin,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let params = params.into_inner();
    let q = given(&params.q, MAX_SEARCH_CHARS);
    let advanced = given(&params.filter, 4000);
    let sort = params
        .sort
        .as_deref()
        .filter(|sort| COLUMNS.iter().any(|(_, name)| *name == Some(*sort)))
        .unwrap_or("")
        .to_owned();
    let descending = params.order.as_deref() == Some("descending");
    let order = if descending { "descending" } else { "" };
    let problem = advanced.as_deref().and_then(filter_problem);
    let mut results = UsersResults {
        users: Vec::new(),
        total: 0,
        headings: Vec::new(),
        next: None,
        first: None,
        searching: q.is_some() || advanced.is_some(),
        error: None,
    };
    let keep = |cursor: &str, sort: &str, order: &str| {
        link(
            "/admin/users",
            &[
                ("q", q.as_deref().unwrap_or("")),
                ("filter", advanced.as_deref().unwrap_or("")),
                ("sort", sort),
                ("order", order),
                ("cursor", cursor),
            ],
        )
    };
    results.headings = COLUMNS
        .iter()
        .map(|(label, name)| {
            let current = name.is_some_and(|name| sort == name);
            let next_order = if current && !descending {
                "descending"
            } else {
                ""
            };
            SortHeading {
                label,
                link: name.map(|name| keep("", name, next_order)),
                state: match (current, descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
    if problem.is_none() {
        let request = ListRequest {
            filter: combined_filter(
                q.as_deref().map(|q| search_filter(&SEARCHED, q)),
                advanced.as_deref(),
            ),
            sort_by: (!sort.is_empty()).then(|| sort.clone()),
            sort_order: descending.then(|| "descending".to_owned()),
            count: Some(PAGE_SIZE.to_owned()),
            cursor: Some(params.cursor.clone().unwrap_or_default()),
            ..ListRequest::default()
        };
        let limits = PageLimits {
            default_count: 25,
            max_count: 25,
        };
        match request.query(&USER_RESOURCE, limits) {
            Ok(query) => match read_user_page(&state.store, &admin.scope, query).await {
                Ok(found) => {
                    results.users = found.users.iter().map(UserSummary::of).collect();
                    results.total = found.total;
                    results.next = found
                        .next
                        .as_ref()
                        .map(|position| keep(&request.encode_cursor(position), &sort, order));
                }
                Err(error) => results.error = Some(shown_error(error.into())?),
            },
            Err(error) => results.error = Some(shown_error(PortalError::Scim(error))?),
        }
        if params.cursor.as_deref().is_some_and(|c| !c.is_empty()) {
            results.first = Some(keep("", &sort, order));
        }
    }
    if params.partial.is_some() {
        return Ok(ok_page(&results));
    }
    Ok(ok_page(&UsersPage {
        chrome: admin.chrome("users"),
        q: q.unwrap_or_default(),
        filter: advanced.unwrap_or_default(),
        sort,
        order: order.to_owned(),
        problem,
        results,
    }))
}

/// A client error's detail, to show in the page; a server error fails the page.
fn shown_error(error: PortalError) -> Result<String, PortalError> {
    match error {
        PortalError::Scim(scim) if scim.status < 500 => Ok(scim.detail),
        other => Err(other),
    }
}

/// The fields of the profile form, as entered.
#[derive(Deserialize, Default, Clone)]
pub struct ProfileForm {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    birthday: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    version: String,
}

/// Form field and the attribute names an API error about it mentions.
const PROFILE_FIELDS: [(&str, &str); 8] = [
    ("user_name", "userName"),
    ("email", "emails"),
    ("phone", "phoneNumbers"),
    ("birthday", "birthday"),
    ("external_id", "externalId"),
    ("given_name", "givenName"),
    ("family_name", "familyName"),
    ("display_name", "displayName"),
];

fn optional(text: &str) -> Option<Value> {
    let text = text.trim();
    (!text.is_empty()).then(|| Value::String(text.to_owned()))
}

impl ProfileForm {
    fn of(user: &User) -> ProfileForm {
        let attributes = user.attributes.to_map().unwrap_or_default();
        ProfileForm {
            user_name: text(&attributes, "userName"),
            given_name: name_part(&attributes, "givenName"),
            family_name: name_part(&attributes, "familyName"),
            display_name: text(&attributes, "displayName"),
            email: primary_value(&attributes, "emails"),
            phone: primary_value(&attributes, "phoneNumbers"),
            birthday: user.birthday.map(|b| b.to_string()).unwrap_or_default(),
            external_id: text(&attributes, "externalId"),
            version: user.version.to_string(),
        }
    }

    /// The new user this form describes, as a SCIM body.
    fn creation_body(&self) -> Value {
        let mut body = json!({
            "schemas": [urn::CORE_USER, urn::ROSTER_USER],
            "userName": self.user_name.trim(),
        });
        let mut name = Map::new();
        for (key, value) in [
            ("givenName", &self.given_name),
            ("familyName", &self.family_name),
        ] {
            if let Some(value) = optional(value) {
                name.insert(key.into(), value);
            }
        }
        if !name.is_empty() {
            body["name"] = Value::Object(name);
        }
        if let Some(display) = optional(&self.display_name) {
            body["displayName"] = display;
        }
        if let Some(email) = optional(&self.email) {
            body["emails"] = json!([{"value": email, "type": "work", "primary": true}]);
        }
        if let Some(phone) = optional(&self.phone) {
            body["phoneNumbers"] = json!([{"value": phone, "type": "work", "primary": true}]);
        }
        if let Some(external_id) = optional(&self.external_id) {
            body["externalId"] = external_id;
        }
        if let Some(birthday) = optional(&self.birthday) {
            body[urn::ROSTER_USER] = json!({ "birthday": birthday });
        }
        body
    }

    /// The operations that make `user` match this form: only what changed, so an
    /// email or phone number left alone keeps its type and the others.
    fn changes(&self, user: &User) -> Vec<Value> {
        let before = ProfileForm::of(user);
        let mut operations = Vec::new();
        let birthday = format!("{}:birthday", urn::ROSTER_USER);
        let fields = [
            (&before.user_name, &self.user_name, "userName"),
            (&before.given_name, &self.given_name, "name.givenName"),
            (&before.family_name, &self.family_name, "name.familyName"),
            (&before.display_name, &self.display_name, "displayName"),
            (&before.external_id, &self.external_id, "externalId"),
            (&before.birthday, &self.birthday, birthday.as_str()),
        ];
        for (was, now, path) in fields {
            if was != now.trim() {
                operations.push(set_or_remove(path, optional(now)));
            }
        }
        let attributes = user.attributes.to_map().unwrap_or_default();
        for (field, attribute, now) in [
            (&self.email, "emails", &before.email),
            (&self.phone, "phoneNumbers", &before.phone),
        ] {
            if now == field.trim() {
                continue;
            }
            operations.push(primary_change(&attributes, attribute, field.trim()));
        }
        operations
    }
}

/// Replaces the primary value of `attribute` with `value` (removes it when empty),
/// keeping the other values.
fn primary_change(attributes: &Map<String, Value>, attribute: &str, value: &str) -> Value {
    let mut values = match attributes.get(attribute) {
        Some(Value::Array(values)) => values.clone(),
        _ => Vec::new(),
    };
    let primary = values
        .iter()
        .position(|v| v.get("primary") == Some(&Value::Bool(true)))
        .or(if values.is_empty() { None } else { Some(0) });
    match (primary, value.is_empty()) {
        (Some(at), true) => {
            values.remove(at);
        }
        (Some(at), false) => values[at]["value"] = Value::String(value.to_owned()),
        (None, true) => {}
        (None, false) => values.push(json!({"value": value, "type": "work", "primary": true})),
    }
    if values.is_empty() {
        json!({"op": "remove", "path": attribute})
    } else {
        json!({"op": "replace", "path": attribute, "value": values})
    }
}

#[derive(Template)]
#[template(path = "portal/user_new.html")]
struct NewUserPage {
    chrome: Chrome,
    form: ProfileForm,
    error: FormError,
}

/// `GET /admin/users/new`.
async fn new_page(admin: Admin) -> HttpResponse {
    ok_page(&NewUserPage {
        chrome: admin.chrome("users"),
        form: ProfileForm::default(),
        error: FormError::default(),
    })
}

/// `POST /admin/users`.
async fn create(
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<ProfileForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let created = async {
        let input = user_input_from_body(&form.creation_body())?;
        Ok::<_, PortalError>(domain::create_user(&state.store, &admin.scope, input).await?)
    }
    .await;
    match created {
        Ok(user) => Ok(redirect(&format!("/admin/users/{}", user.id))),
        Err(error) => {
            let error = form_error(error, &PROFILE_FIELDS)?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewUserPage {
                    chrome: admin.chrome("users"),
                    form,
                    error,
                },
            ))
        }
    }
}

/// A group the user is in, as the user's page lists it.
struct GroupEntry {
    id: String,
    name: String,
    direct: bool,
}

/// An assignment, as the user's page lists it.
struct AssignmentEntry {
    app_id: String,
    app_name: String,
    external_account_id: String,
    custom_app_data: String,
    consents: String,
    assigned: String,
    last_sign_in: String,
}

struct SocialEntry {
    provider: String,
    subject: String,
    email: String,
    linked: String,
}

struct AppChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "portal/user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    title: String,
    status: &'static str,
    active: bool,
    created: String,
    modified: String,
    last_sign_in: String,
    version: i64,
    profile: ProfileForm,
    profile_error: FormError,
    custom_data: String,
    custom_data_error: FormError,
    apps: Vec<AssignmentEntry>,
    app_choices: Vec<AppChoice>,
    apps_error: FormError,
    social: Vec<SocialEntry>,
    groups: Vec<GroupEntry>,
    groups_error: FormError,
    events: Vec<EventEntry>,
    saved: Option<&'static str>,
}

fn pretty(value: Option<&Value>) -> String {
    value
        .filter(|value| !value.is_null())
        .map(|value| serde_json::to_string_pretty(value).unwrap_or_default())
        .unwrap_or_default()
}

/// What a user's page shows of `user`; the forms hold the user's current values.
async fn user_page_of(
    state: &super::super::AppState,
    admin: &Admin,
    user: User,
) -> Result<UserPage, PortalError> {
    let attributes = user.attributes.to_map().unwrap_or_default();
    let summary = UserSummary::of(&user);
    let custom_data = user
        .custom_data
        .as_ref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
    let applications = list_applications(&state.store, &admin.scope).await?;
    let assigned: Vec<&str> = user.apps.iter().map(|a| a.app_id.as_str()).collect();
    let events = read_events(
        &state.store,
        &admin.scope,
        EventQuery {
            resource_id: Some(user.id.clone()),
            ..EventQuery::default()
        },
        20,
    )
    .await?;
    let title = if summary.name.is_empty() {
        summary.user_name.clone()
    } else {
        format!("{} ({})", summary.name, summary.user_name)
    };
    Ok(UserPage {
        chrome: admin.chrome("users"),
        id: user.id.clone(),
        title,
        status: user.status.as_str(),
        active: attributes.get("active") != Some(&Value::Bool(false)),
        created: format_time(user.created),
        modified: format_time(user.last_modified),
        last_sign_in: user.last_sign_in.map(format_time).unwrap_or_default(),
        version: user.version,
        profile: ProfileForm::of(&user),
        profile_error: FormError::default(),
        custom_data: pretty(custom_data.as_ref()),
        custom_data_error: FormError::default(),
        apps: user
            .apps
            .iter()
            .map(|a| AssignmentEntry {
                app_id: a.app_id.clone(),
                app_name: a.app_name.clone(),
                external_account_id: a.external_account_id.clone().unwrap_or_default(),
                custom_app_data: pretty(a.custom_app_data.as_ref()),
                consents: pretty(a.consents.as_ref()),
                assigned: format_time(a.assigned_at),
                last_sign_in: a.last_sign_in.map(format_time).unwrap_or_default(),
            })
            .collect(),
        app_choices: applications
            .into_iter()
            .filter(|app| !app.management && !assigned.contains(&app.id.as_str()))
            .map(|app| AppChoice {
                id: app.id,
                name: app.name,
            })
            .collect(),
        apps_error: FormError::default(),
        social: user
            .social_accounts
            .iter()
            .map(|s| SocialEntry {
                provider: s.provider.clone(),
                subject: s.subject.clone(),
                email: s.email.clone().unwrap_or_default(),
                linked: format_time(s.linked_at),
            })
            .collect(),
        groups: user
            .groups
            .iter()
            .map(|g| GroupEntry {
                id: g.group_id.clone(),
                name: g.display.clone().unwrap_or_else(|| g.group_id.clone()),
                direct: g.direct,
            })
            .collect(),
        groups_error: FormError::default(),
        events: events.events.iter().map(EventEntry::of).collect(),
        saved: None,
    })
}

#[derive(Deserialize)]
struct SavedParam {
    saved: Option<String>,
}

/// `GET /admin/users/{id}`.
async fn user_page(
    req: HttpRequest,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<SavedParam>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let user = domain::get_user(&state.store, &admin.scope, id.into_inner()).await?;
    let mut shown = user_page_of(&state, &admin, user).await?;
    shown.saved = match query.saved.as_deref() {
        Some("profile") => Some("Profile saved."),
        Some("custom-data") => Some("customData saved."),
        Some("status") => Some("Status changed."),
        Some("apps") => Some("Applications changed."),
        Some("groups") => Some("Groups changed."),
        _ => None,
    };
    Ok(ok_page(&shown))
}

/// User `id`'s page again, `422`, with a refused change's message placed by `place`.
async fn refused_on_user_page(
    state: &super::super::AppState,
    admin: &Admin,
    id: String,
    place: impl FnOnce(&mut UserPage),
) -> Result<HttpResponse, PortalError> {
    let user = domain::get_user(&state.store, &admin.scope, id).await?;
    let mut shown = user_page_of(state, admin, user).await?;
    place(&mut shown);
    Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &shown))
}

/// Applies `operations` to user `id` at `version`; on a client error, the user's
/// page again with the message placed by `place`.
async fn patch_and_show(
    req: &HttpRequest,
    admin: &Admin,
    id: String,
    version: Option<&str>,
    operations: Vec<Value>,
    saved: &str,
    place: impl FnOnce(&mut UserPage, FormError),
) -> Result<HttpResponse, PortalError> {
    let state = super::state(req)?;
    let applied = async {
        let operations = patch_operations(operations)?;
        let if_match = version.filter(|v| !v.is_empty()).map(str::to_owned);
        domain::modify_user(
            &state.store,
            &admin.scope,
            id.clone(),
            if_match,
            "user.patched",
            move |current| patch_user(current, &operations),
        )
        .await
        .map_err(PortalError::Scim)
    }
    .await;
    match applied {
        Ok(_) => Ok(redirect(&format!("/admin/users/{id}?saved={saved}"))),
        Err(error) => {
            let error = form_error(error, &PROFILE_FIELDS)?;
            refused_on_user_page(&state, admin, id, |shown| place(shown, error)).await
        }
    }
}

/// `POST /admin/users/{id}`: the profile form.
async fn update_profile(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<ProfileForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let id = id.into_inner();
    let user = domain::get_user(&state.store, &admin.scope, id.clone()).await?;
    let operations = form.changes(&user);
    if operations.is_empty() {
        return Ok(redirect(&format!("/admin/users/{id}")));
    }
    let version = form.version.clone();
    patch_and_show(
        &req,
        &admin,
        id,
        Some(&version),
        operations,
        "profile",
        move |shown, error| {
            shown.profile = form;
            shown.profile_error = error;
        },
    )
    .await
}

#[derive(Deserialize)]
struct CustomDataForm {
    #[serde(default)]
    custom_data: String,
    #[serde(default)]
    version: String,
}

/// `POST /admin/users/{id}/custom-data`: valid JSON object, or empty to remove.
async fn update_custom_data(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<CustomDataForm>,
) -> Result<HttpResponse, PortalError> {
    let path = format!("{}:customData", urn::ROSTER_USER);
    let text = form.custom_data.trim();
    let parsed = if text.is_empty() {
        Ok(None)
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => Ok(Some(Value::Object(object))),
            Ok(_) => Err("customData must be a JSON object ({ … }).".to_owned()),
            Err(error) => Err(format!("This is not valid JSON: {error}.")),
        }
    };
    let entered = form.custom_data.clone();
    let value = match parsed {
        Ok(value) => value,
        Err(message) => {
            let state = super::state(&req)?;
            return refused_on_user_page(&state, &admin, id.into_inner(), |shown| {
                shown.custom_data = entered;
                shown.custom_data_error = FormError {
                    field: Some("custom_data"),
                    message,
                };
            })
            .await;
        }
    };
    patch_and_show(
        &req,
        &admin,
        id.into_inner(),
        Some(&form.version),
        vec![set_or_remove(&path, value)],
        "custom-data",
        move |shown, mut error| {
            shown.custom_data = entered;
            error.field = Some("custom_data");
            shown.custom_data_error = error;
        },
    )
    .await
}

#[derive(Deserialize)]
struct StatusForm {
    active: String,
    #[serde(default)]
    version: String,
}

/// `POST /admin/users/{id}/status`: enable or disable.
async fn set_status(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<StatusForm>,
) -> Result<HttpResponse, PortalError> {
    let active = form.active == "true";
    patch_and_show(
        &req,
        &admin,
        id.into_inner(),
        Some(&form.version),
        vec![json!({"op": "replace", "path": "active", "value": active})],
        "status",
        |shown, error| shown.profile_error = error,
    )
    .await
}

/// `GET /admin/users/{id}/delete`: asks first.
async fn delete_page(
    req: HttpRequest,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let user = domain::get_user(&state.store, &admin.scope, id.into_inner()).await?;
    let summary = UserSummary::of(&user);
    Ok(ok_page(&ConfirmPage {
        chrome: admin.chrome("users"),
        title: format!("Delete {}", summary.user_name),
        question: format!(
            "Delete the user {}? Their assignments, group memberships and application data go with them. This cannot be undone.",
            summary.user_name
        ),
        action: format!("/admin/users/{}/delete", user.id),
        button: "Delete user",
        back: format!("/admin/users/{}", user.id),
    }))
}

/// `POST /admin/users/{id}/delete`.
async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    domain::delete_user(&state.store, &admin.scope, id.into_inner(), None).await?;
    Ok(redirect("/admin/users?deleted=1"))
}

#[derive(Deserialize)]
struct AssignForm {
    app_id: String,
    #[serde(default)]
    external_account_id: String,
}

fn apps_path() -> String {
    format!("{}:apps", urn::ROSTER_USER)
}

/// `POST /admin/users/{id}/apps`: assigns an application.
async fn assign_app(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<AssignForm>,
) -> Result<HttpResponse, PortalError> {
    let mut entry = json!({"value": form.app_id});
    if let Some(external) = optional(&form.external_account_id) {
        entry["externalAccountId"] = external;
    }
    patch_and_show(
        &req,
        &admin,
        id.into_inner(),
        None,
        vec![json!({"op": "add", "path": apps_path(), "value": [entry]})],
        "apps",
        |shown, mut error| {
            error.field = Some("apps");
            shown.apps_error = error;
        },
    )
    .await
}

#[derive(Deserialize)]
struct UnassignForm {
    app_id: String,
}

/// `POST /admin/users/{id}/apps/remove`.
async fn unassign_app(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<UnassignForm>,
) -> Result<HttpResponse, PortalError> {
    let path = format!(
        "{}[value eq {}]",
        apps_path(),
        super::forms::filter_literal(&form.app_id)
    );
    patch_and_show(
        &req,
        &admin,
        id.into_inner(),
        None,
        vec![json!({"op": "remove", "path": path})],
        "apps",
        |shown, mut error| {
            error.field = Some("apps");
            shown.apps_error = error;
        },
    )
    .await
}

#[derive(Deserialize)]
struct GroupForm {
    #[serde(default)]
    group: String,
    #[serde(default)]
    group_id: String,
}

/// Changes user `user_id`'s membership of a group; on a client error, the user's
/// page with the message at the groups.
async fn change_membership(
    req: &HttpRequest,
    admin: &Admin,
    user_id: String,
    group_id: Result<String, String>,
    change: MemberChange,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(req)?;
    let outcome = match group_id {
        Ok(group_id) => modify_group(
            &state.store,
            &admin.scope,
            group_id,
            None,
            "group.patched",
            move |_| {
                Ok::<_, crate::domain::DomainError>(GroupUpdate {
                    members: vec![change.clone()],
                    ..GroupUpdate::default()
                })
            },
            false,
        )
        .await
        .map(|_| ())
        .map_err(|e| PortalError::from(e).to_string()),
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => Ok(redirect(&format!("/admin/users/{user_id}?saved=groups"))),
        Err(message) => {
            refused_on_user_page(&state, admin, user_id, |shown| {
                shown.groups_error = FormError {
                    field: Some("groups"),
                    message,
                };
            })
            .await
        }
    }
}

/// `POST /admin/users/{id}/groups`: adds the user to the group named.
async fn add_to_group(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<GroupForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let user_id = id.into_inner();
    let name = form.group.trim().to_owned();
    let group_id = if name.is_empty() {
        Err("Enter the name of a group.".to_owned())
    } else {
        super::groups::group_named(&state, &admin, &name)
            .await?
            .ok_or_else(|| format!("No group is named '{name}'."))
    };
    let change = MemberChange::Add(vec![MemberRef {
        value: user_id.clone(),
        kind: Some(MemberKind::User),
    }]);
    change_membership(&req, &admin, user_id, group_id, change).await
}

/// `POST /admin/users/{id}/groups/remove`: removes the user from a group it is
/// directly in.
async fn remove_from_group(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, form }: AdminForm<GroupForm>,
) -> Result<HttpResponse, PortalError> {
    let user_id = id.into_inner();
    let change = MemberChange::Remove(vec![user_id.clone()]);
    change_membership(&req, &admin, user_id, Ok(form.group_id), change).await
}
