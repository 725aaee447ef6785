//! Every route of the router, called by every kind of caller: what each may read and
//! change. The table below has one row per (method, route) of
//! `roster::http::route_table()`, no more and no fewer, so a route added without its
//! rows fails here.
//!
//! Each row calls its route on a small world: in the home tenant, the `target` user
//! (assigned to the apps `assigned` and `other`), the `neighbour` user (assigned to
//! the app `stranger`) and the group `team` holding both; in a foreign tenant, the
//! user `foreigner` in the group `foreign-team`. The callers are, in the order of each
//! row's expectations: no token, the foreign tenant's Management Application, the app
//! `stranger` (the target is not assigned to it), the app `assigned`, and the home
//! tenant's Management Application (`manager`). `stranger` and `assigned` are plain
//! applications, so their columns are also what a non-management app gets from `/v1`.
//!
//! What a response shows is written with the fixtures' names: a user as
//! `name{apps of its assignments the caller sees}`, a group as `name[members the
//! caller sees]`, an app by its name, a token by its app's name, audit events by the
//! resources they name, and an issued access token by the users that token lists. Both tenants are read back as
//! their Management Application after every call: a call expected to change nothing
//! must leave both exactly as they were, and one that changes something must leave
//! the other tenant as it was (the world is then built anew for the next call).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, read, scim_body};

on_both_backends!(
    service_routes_by_every_caller,
    user_routes_by_every_caller,
    group_search_and_discovery_routes_by_every_caller,
    portal_routes_by_every_caller,
);

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Caller {
    Anonymous,
    Foreign,
    Stranger,
    Assigned,
    Manager,
}

/// The callers in the order of a row's expectations.
const CALLERS: [Caller; 5] = [
    Caller::Anonymous,
    Caller::Foreign,
    Caller::Stranger,
    Caller::Assigned,
    Caller::Manager,
];

impl Caller {
    fn describe(self) -> &'static str {
        match self {
            Caller::Anonymous => "no token",
            Caller::Foreign => "another tenant's Management Application",
            Caller::Stranger => "an app the target is not assigned to",
            Caller::Assigned => "the app the target is assigned to",
            Caller::Manager => "the Management Application",
        }
    }
}

/// What one caller gets from one route.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// This status, and nothing changes.
    Answers(u16),
    /// 200 showing exactly these fixtures, and nothing changes.
    Shows(&'static [&'static str]),
    /// This status, and the row's change is made in the caller's tenant only.
    Changes(u16),
}

use Expect::{Answers, Changes, Shows};

struct Row {
    method: Method,
    route: &'static str,
    /// Per caller, in the order of [`CALLERS`].
    expect: [Expect; 5],
}

fn row(method: Method, route: &'static str, expect: [Expect; 5]) -> Row {
    Row {
        method,
        route,
        expect,
    }
}

/// Every route × every caller. The requests each row makes are in [`request`], the
/// changes a `Changes` expects in [`check_change`].
fn table() -> Vec<Row> {
    use Method as M;
    let public = [Answers(200); 5];
    let to_sign_in = [Answers(303); 5];
    let token_needed = [
        Answers(401),
        Answers(200),
        Answers(200),
        Answers(200),
        Answers(200),
    ];
    let managers_only_changes = |status| {
        [
            Answers(401),
            Answers(404),
            Answers(403),
            Answers(403),
            Changes(status),
        ]
    };
    vec![
        row(M::GET, "/healthz", public),
        row(M::GET, "/readyz", public),
        row(M::GET, "/metrics", public),
        row(M::GET, "/openapi.json", public),
        row(
            M::POST,
            "/oauth2/token",
            [
                Answers(401),
                Shows(&["foreigner"]),
                Shows(&["neighbour{stranger}"]),
                Shows(&["target{assigned}"]),
                Shows(&["neighbour{stranger}", "target{assigned,other}"]),
            ],
        ),
        // The management API: only the Management Application manages apps and
        // tokens; sign-ins are the apps'. The audit log shows an app the events
        // about the users assigned to it and its own actions.
        row(
            M::GET,
            "/v1/apps",
            [
                Answers(401),
                Shows(&["foreign-manager"]),
                Answers(403),
                Answers(403),
                Shows(&["assigned", "manager", "other", "stranger"]),
            ],
        ),
        row(
            M::POST,
            "/v1/apps",
            [
                Answers(401),
                Changes(201),
                Answers(403),
                Answers(403),
                Changes(201),
            ],
        ),
        row(
            M::GET,
            "/v1/apps/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(403),
                Answers(403),
                Shows(&["assigned"]),
            ],
        ),
        row(M::PATCH, "/v1/apps/{id}", managers_only_changes(200)),
        row(M::PUT, "/v1/apps/{id}", managers_only_changes(200)),
        row(M::DELETE, "/v1/apps/{id}", managers_only_changes(204)),
        row(
            M::POST,
            "/v1/apps/{id}/rotate-secret",
            managers_only_changes(200),
        ),
        row(
            M::GET,
            "/v1/tokens",
            [
                Answers(401),
                Shows(&["foreign-manager"]),
                Answers(403),
                Answers(403),
                Shows(&["assigned", "manager", "other", "stranger"]),
            ],
        ),
        row(M::POST, "/v1/tokens", managers_only_changes(201)),
        row(M::DELETE, "/v1/tokens/{id}", managers_only_changes(204)),
        row(
            M::POST,
            "/v1/signins",
            [
                Answers(401),
                Answers(404),
                Answers(404),
                Changes(200),
                // The Management Application is assigned to no user and does not
                // sign users up.
                Answers(404),
            ],
        ),
        row(
            M::GET,
            "/v1/audit-events",
            [
                Answers(401),
                Shows(&[]),
                Shows(&[]),
                Shows(&["target"]),
                Shows(&["target"]),
            ],
        ),
        // SCIM users: an app sees the users assigned to it, and of their
        // assignments only its own.
        row(
            M::GET,
            "/scim/v2/Users",
            [
                Answers(401),
                Shows(&["foreigner"]),
                Shows(&["neighbour{stranger}"]),
                Shows(&["target{assigned}"]),
                Shows(&["neighbour{stranger}", "target{assigned,other}"]),
            ],
        ),
        row(
            M::POST,
            "/scim/v2/Users",
            [
                Answers(401),
                Changes(201),
                Changes(201),
                Changes(201),
                Changes(201),
            ],
        ),
        row(
            M::POST,
            "/scim/v2/Users/.search",
            [
                Answers(401),
                Shows(&[]),
                Shows(&[]),
                Shows(&["target{assigned}"]),
                Shows(&["target{assigned,other}"]),
            ],
        ),
        row(
            M::GET,
            "/scim/v2/Users/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(404),
                Shows(&["target{assigned}"]),
                Shows(&["target{assigned,other}"]),
            ],
        ),
        row(
            M::PUT,
            "/scim/v2/Users/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(404),
                Changes(200),
                Changes(200),
            ],
        ),
        row(
            M::PATCH,
            "/scim/v2/Users/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(404),
                Changes(200),
                Changes(200),
            ],
        ),
        row(
            M::DELETE,
            "/scim/v2/Users/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(404),
                Changes(204),
                Changes(204),
            ],
        ),
        // SCIM groups: every app of the tenant sees its groups, with the members it
        // may see; it changes the members it sees, and the attributes only of groups
        // it created.
        row(
            M::GET,
            "/scim/v2/Groups",
            [
                Answers(401),
                Shows(&["foreign-team[foreigner]"]),
                Shows(&["team[neighbour]"]),
                Shows(&["team[target]"]),
                Shows(&["team[neighbour,target]"]),
            ],
        ),
        row(
            M::POST,
            "/scim/v2/Groups",
            [
                Answers(401),
                // A member the caller cannot see is refused like one that does not exist.
                Answers(400),
                Answers(400),
                Changes(201),
                Changes(201),
            ],
        ),
        row(
            M::POST,
            "/scim/v2/Groups/.search",
            [
                Answers(401),
                Shows(&[]),
                Shows(&[]),
                Shows(&["team[target]"]),
                Shows(&["team[neighbour,target]"]),
            ],
        ),
        row(
            M::GET,
            "/scim/v2/Groups/{id}",
            [
                Answers(401),
                Answers(404),
                Shows(&["team[neighbour]"]),
                Shows(&["team[target]"]),
                Shows(&["team[neighbour,target]"]),
            ],
        ),
        row(
            M::PUT,
            "/scim/v2/Groups/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(403),
                Answers(403),
                Changes(200),
            ],
        ),
        row(
            M::PATCH,
            "/scim/v2/Groups/{id}",
            [
                Answers(401),
                Answers(404),
                // Removing a member it cannot see leaves the group as it was.
                Shows(&["team[neighbour]"]),
                Changes(200),
                Changes(200),
            ],
        ),
        row(
            M::DELETE,
            "/scim/v2/Groups/{id}",
            [
                Answers(401),
                Answers(404),
                Answers(403),
                Answers(403),
                Changes(204),
            ],
        ),
        // Bulk answers 200 with each operation's outcome: a user the caller cannot
        // see is a 404 operation that changes nothing.
        row(
            M::POST,
            "/scim/v2/Bulk",
            [
                Answers(401),
                Answers(200),
                Answers(200),
                Changes(200),
                Changes(200),
            ],
        ),
        row(
            M::POST,
            "/scim/v2/.search",
            [
                Answers(401),
                Shows(&["foreign-team[foreigner]", "foreigner"]),
                Shows(&["neighbour{stranger}", "team[neighbour]"]),
                Shows(&["target{assigned}", "team[target]"]),
                Shows(&[
                    "neighbour{stranger}",
                    "target{assigned,other}",
                    "team[neighbour,target]",
                ]),
            ],
        ),
        row(M::GET, "/scim/v2/ServiceProviderConfig", token_needed),
        row(M::GET, "/scim/v2/ResourceTypes", token_needed),
        row(M::GET, "/scim/v2/ResourceTypes/{name}", token_needed),
        row(M::GET, "/scim/v2/Schemas", token_needed),
        row(M::GET, "/scim/v2/Schemas/{id}", token_needed),
        // The Admin Portal opens with a session cookie only: a bearer token of any
        // caller is sent to the sign-in page and changes nothing.
        row(M::GET, "/admin", to_sign_in),
        row(M::GET, "/admin/", to_sign_in),
        row(M::GET, "/admin/assets/{name}", public),
        row(M::GET, "/admin/sign-in", public),
        row(M::POST, "/admin/sign-in", public),
        row(M::POST, "/admin/sign-out", to_sign_in),
        row(M::GET, "/admin/users", to_sign_in),
        row(M::POST, "/admin/users", to_sign_in),
        row(M::GET, "/admin/users/new", to_sign_in),
        row(M::GET, "/admin/users/{id}", to_sign_in),
        row(M::POST, "/admin/users/{id}", to_sign_in),
        row(M::POST, "/admin/users/{id}/custom-data", to_sign_in),
        row(M::POST, "/admin/users/{id}/status", to_sign_in),
        row(M::GET, "/admin/users/{id}/delete", to_sign_in),
        row(M::POST, "/admin/users/{id}/delete", to_sign_in),
        row(M::POST, "/admin/users/{id}/apps", to_sign_in),
        row(M::POST, "/admin/users/{id}/apps/remove", to_sign_in),
        row(M::POST, "/admin/users/{id}/groups", to_sign_in),
        row(M::POST, "/admin/users/{id}/groups/remove", to_sign_in),
        row(M::GET, "/admin/groups", to_sign_in),
        row(M::POST, "/admin/groups", to_sign_in),
        row(M::GET, "/admin/groups/{id}", to_sign_in),
        row(M::POST, "/admin/groups/{id}", to_sign_in),
        row(M::GET, "/admin/groups/{id}/delete", to_sign_in),
        row(M::POST, "/admin/groups/{id}/delete", to_sign_in),
        row(M::POST, "/admin/groups/{id}/members", to_sign_in),
        row(M::POST, "/admin/groups/{id}/members/remove", to_sign_in),
        row(M::GET, "/admin/groups/{id}/candidates", to_sign_in),
        row(M::GET, "/admin/apps", to_sign_in),
        row(M::POST, "/admin/apps", to_sign_in),
        row(M::POST, "/admin/apps/{id}/rotate-secret", to_sign_in),
        row(M::POST, "/admin/apps/{id}/scim-token", to_sign_in),
        row(M::GET, "/admin/audit", to_sign_in),
    ]
}

fn route_key(method: &str, route: &str) -> String {
    format!("{method} {route}")
}

/// The table's rows are exactly the router's routes.
fn assert_table_covers_the_router() {
    let served: BTreeSet<String> = roster::http::route_table()
        .iter()
        .map(|(method, route)| route_key(method.as_str(), route))
        .collect();
    let mut rows = BTreeSet::new();
    for row in table() {
        let key = route_key(row.method.as_str(), row.route);
        assert!(rows.insert(key.clone()), "{key} has two rows in the table");
    }
    let missing: Vec<&String> = served.difference(&rows).collect();
    let extra: Vec<&String> = rows.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the access table must have one row per route of roster::http::route_table():\n\
         routes without rows: {missing:?}\nrows of routes the router does not serve: {extra:?}"
    );
}

#[test]
fn every_route_has_its_rows() {
    assert_table_covers_the_router();
}

/// The world the rows are called on.
struct World {
    base: String,
    client: reqwest::Client,
    /// Follows no redirect: a portal page's redirect is its answer.
    portal_client: reqwest::Client,
    home: Tenant,
    foreign: Tenant,
    /// Fixture label → id, and back; any other id reads as `new`.
    ids: HashMap<&'static str, String>,
    labels: HashMap<String, &'static str>,
    /// Bearer token of each caller but the anonymous one.
    tokens: HashMap<Caller, String>,
    /// Client credentials of each app: label, home tenant or not, id, secret.
    credentials: Vec<(&'static str, bool, String, String)>,
}

fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {resource}"))
        .to_owned()
}

fn secret_of(app: &Value) -> (String, String) {
    (
        app["client_id"].as_str().expect("client_id").to_owned(),
        app["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
    )
}

impl World {
    async fn build(server: &TestServer) -> World {
        let home = server.tenant().await;
        let foreign = server.tenant().await;
        let mut world = World {
            base: server.base.clone(),
            client: server.client.clone(),
            portal_client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            home: home.clone(),
            foreign: foreign.clone(),
            ids: HashMap::new(),
            labels: HashMap::new(),
            tokens: HashMap::new(),
            credentials: Vec::new(),
        };
        world
            .tokens
            .insert(Caller::Manager, home.token().to_owned());
        world
            .tokens
            .insert(Caller::Foreign, foreign.token().to_owned());
        let home_credentials = &home.credentials;
        world.credentials.push((
            "manager",
            true,
            home_credentials.client_id.clone(),
            home_credentials.client_secret.clone(),
        ));
        world.credentials.push((
            "foreign-manager",
            false,
            foreign.credentials.client_id.clone(),
            foreign.credentials.client_secret.clone(),
        ));
        for (label, tenant) in [("manager", &home), ("foreign-manager", &foreign)] {
            let (status, apps) = tenant
                .v1_as(tenant.token(), Method::GET, "/apps", None)
                .await;
            assert_eq!(status, StatusCode::OK, "{apps}");
            let management = apps["apps"]
                .as_array()
                .and_then(|apps| apps.iter().find(|app| app["management"] == true))
                .unwrap_or_else(|| panic!("no Management Application: {apps}"));
            world.name(label, id_of(management));
        }
        for (label, caller) in [
            ("assigned", Some(Caller::Assigned)),
            ("stranger", Some(Caller::Stranger)),
            ("other", None),
        ] {
            let (app, token) = home.create_app(label, false).await;
            let (client_id, secret) = secret_of(&app);
            world.credentials.push((label, true, client_id, secret));
            world.name(label, id_of(&app));
            if let Some(caller) = caller {
                world.tokens.insert(caller, token);
            }
        }
        let (status, tokens) = home.v1_as(home.token(), Method::GET, "/tokens", None).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let assigned_token = tokens["tokens"]
            .as_array()
            .and_then(|tokens| {
                tokens
                    .iter()
                    .find(|token| token["app_id"] == world.id("assigned"))
            })
            .unwrap_or_else(|| panic!("no token of the app assigned: {tokens}"));
        world.name("assigned-token", id_of(assigned_token));
        let apps = |labels: &[&str]| json!({ "apps": labels.iter().map(|l| json!({"value": world.id(l)})).collect::<Vec<_>>() });
        let target = UserBuilder::new("target")
            .roster(apps(&["assigned", "other"]))
            .build();
        let neighbour = UserBuilder::new("neighbour")
            .roster(apps(&["stranger"]))
            .build();
        let target = id_of(&home.create_user(&target).await);
        let neighbour = id_of(&home.create_user(&neighbour).await);
        let foreigner = id_of(
            &foreign
                .create_user(&UserBuilder::new("foreigner").build())
                .await,
        );
        world.name("target", target.clone());
        world.name("neighbour", neighbour.clone());
        world.name("foreigner", foreigner.clone());
        for (label, tenant, members) in [
            ("team", &home, vec![target, neighbour]),
            ("foreign-team", &foreign, vec![foreigner]),
        ] {
            let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
            let (status, group) = tenant
                .post(
                    "/Groups",
                    &json!({"schemas": [GROUP_SCHEMA], "displayName": label, "members": members}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{group}");
            world.name(label, id_of(&group));
        }
        world
    }

    fn name(&mut self, label: &'static str, id: String) {
        self.labels.insert(id.clone(), label);
        self.ids.insert(label, id);
    }

    fn id(&self, label: &str) -> &str {
        self.ids
            .get(label)
            .unwrap_or_else(|| panic!("no fixture {label}"))
    }

    fn label(&self, id: &str) -> String {
        self.labels
            .get(id)
            .map_or_else(|| "new".to_owned(), |label| (*label).to_owned())
    }

    /// The tenant `caller` belongs to (the home tenant for the anonymous caller).
    fn tenant_of(&self, caller: Caller) -> &Tenant {
        if caller == Caller::Foreign {
            &self.foreign
        } else {
            &self.home
        }
    }

    fn credentials_of(&self, caller: Caller) -> Option<(&str, &str)> {
        let label = match caller {
            Caller::Anonymous => return None,
            Caller::Foreign => "foreign-manager",
            Caller::Stranger => "stranger",
            Caller::Assigned => "assigned",
            Caller::Manager => "manager",
        };
        self.credentials
            .iter()
            .find(|(l, ..)| *l == label)
            .map(|(_, _, id, secret)| (id.as_str(), secret.as_str()))
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: &Body,
    ) -> (StatusCode, Value) {
        let client = if path.starts_with("/admin") {
            &self.portal_client
        } else {
            &self.client
        };
        let mut request = client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::Empty => request,
            Body::Json(body) if path.starts_with("/scim/v2") => scim_body(request, body),
            Body::Json(body) => request
                .header("Content-Type", "application/json")
                .body(body.to_string()),
            Body::Form(form) => request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.clone()),
        };
        let response = request.send().await.expect("request");
        let is_text = response
            .headers()
            .get("content-type")
            .is_some_and(|kind| kind.as_bytes().starts_with(b"text/"));
        if path.starts_with("/admin") {
            let status = response.status();
            return (
                status,
                Value::String(response.text().await.unwrap_or_default()),
            );
        }
        if is_text {
            let status = response.status();
            return (status, Value::String(response.text().await.expect("body")));
        }
        read(response).await
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        self.send(token, Method::GET, path, &Body::Empty).await
    }

    async fn token_request(&self, client_id: &str, secret: &str) -> (StatusCode, Value) {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            urlencode(client_id),
            urlencode(secret)
        );
        self.send(None, Method::POST, "/oauth2/token", &Body::Form(form))
            .await
    }

    /// A tenant as its Management Application reads it: users, groups, apps, and
    /// which apps' client credentials work.
    async fn snapshot(&self, home: bool) -> BTreeMap<String, Value> {
        let tenant = if home { &self.home } else { &self.foreign };
        let token = Some(tenant.token());
        let mut snapshot = BTreeMap::new();
        for path in [
            "/scim/v2/Users?count=1000",
            "/scim/v2/Groups?count=1000",
            "/v1/apps",
            "/v1/tokens",
        ] {
            let (status, mut answer) = self.send(token, Method::GET, path, &Body::Empty).await;
            // Every call records its token's use: that is no change a row makes.
            for listed in answer["tokens"].as_array_mut().into_iter().flatten() {
                listed["last_used"] = Value::Null;
            }
            snapshot.insert(path.to_owned(), json!([status.as_u16(), answer]));
        }
        for (label, in_home, client_id, secret) in &self.credentials {
            if *in_home == home {
                let (status, _) = self.token_request(client_id, secret).await;
                snapshot.insert(
                    format!("client credentials of {label}"),
                    json!(status.as_u16()),
                );
            }
        }
        snapshot
    }

    /// What a response shows, as sorted fixture names.
    async fn shows(&self, body: &Value) -> Vec<String> {
        let mut shown = if let Some(resources) = body["Resources"].as_array() {
            let mut shown: Vec<String> = resources.iter().map(|r| self.describe(r)).collect();
            if body["totalResults"] != resources.len() {
                shown.push(format!("totalResults={}", body["totalResults"]));
            }
            shown
        } else if let Some(token) = body["access_token"].as_str() {
            let (status, list) = self
                .send(Some(token), Method::GET, "/scim/v2/Users", &Body::Empty)
                .await;
            if status != StatusCode::OK {
                return vec![format!("the issued token lists users with {status}")];
            }
            Box::pin(self.shows(&list)).await
        } else if let Some(apps) = body["apps"].as_array() {
            apps.iter().map(|app| self.label(&id_of(app))).collect()
        } else if let Some(tokens) = body["tokens"].as_array() {
            tokens
                .iter()
                .map(|token| self.label(token["app_id"].as_str().unwrap_or_default()))
                .collect()
        } else if let Some(events) = body["events"].as_array() {
            let named: BTreeSet<String> = events
                .iter()
                .map(|event| self.label(event["resource_id"].as_str().unwrap_or_default()))
                .collect();
            named.into_iter().collect()
        } else if body["id"].is_string() {
            vec![self.describe(body)]
        } else {
            vec![format!("unexpected body {body}")]
        };
        shown.sort();
        shown
    }

    /// A user as `name{apps}`, a group as `name[members]`, anything else by name.
    fn describe(&self, resource: &Value) -> String {
        let name = self.label(&id_of(resource));
        let schemas = resource["schemas"].as_array().cloned().unwrap_or_default();
        let sorted = |values: Option<&Vec<Value>>| {
            let mut labels: Vec<String> = values
                .into_iter()
                .flatten()
                .map(|v| self.label(v["value"].as_str().unwrap_or_default()))
                .collect();
            labels.sort();
            labels.join(",")
        };
        if schemas.iter().any(|s| s == GROUP_SCHEMA) {
            format!("{name}[{}]", sorted(resource["members"].as_array()))
        } else if schemas.iter().any(|s| s == USER_SCHEMA) {
            let apps = sorted(resource[ROSTER]["apps"].as_array());
            if apps.is_empty() {
                name
            } else {
                format!("{name}{{{apps}}}")
            }
        } else {
            name
        }
    }
}

enum Body {
    Empty,
    Json(Value),
    Form(String),
}

/// A portal route's request: the fixtures' ids in its path, and for a post a form
/// that would change them, with a guessed CSRF token.
fn portal_request(world: &World, method: &Method, route: &str) -> (String, Body) {
    let id = if route.starts_with("/admin/groups") {
        world.id("team")
    } else if route.starts_with("/admin/apps") {
        world.id("assigned")
    } else {
        world.id("target")
    };
    let path = route.replace("{id}", id).replace("{name}", "portal.css");
    if method == Method::POST {
        let form = format!(
            "csrf=0123456789abcdef&user_name=probe&name=probe&active=false&version=1&\
             custom_data=%7B%7D&app_id={}&group_id={}&member_id={id}&member=probe",
            world.id("assigned"),
            world.id("team"),
        );
        return (path, Body::Form(form));
    }
    (path, Body::Empty)
}

/// The request a row makes of `caller`: its path (ids and query filled in) and body.
fn request(world: &World, caller: Caller, method: &Method, route: &str) -> (String, Body) {
    let target = world.id("target");
    let team = world.id("team");
    let on = |id: &str| route.replace("{id}", id);
    let patch = |operation: Value| json!({"schemas": [PATCH_OP], "Operations": [operation]});
    if route.starts_with("/admin") {
        return portal_request(world, method, route);
    }
    match (method.as_str(), route) {
        (
            "GET",
            "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/v1/apps" | "/v1/tokens"
            | "/scim/v2/Users" | "/scim/v2/Groups",
        ) => (route.to_owned(), Body::Empty),
        ("POST", "/oauth2/token") => {
            let mut form = "grant_type=client_credentials".to_owned();
            if let Some((id, secret)) = world.credentials_of(caller) {
                form += &format!(
                    "&client_id={}&client_secret={}",
                    urlencode(id),
                    urlencode(secret)
                );
            }
            (route.to_owned(), Body::Form(form))
        }
        ("POST", "/v1/apps") => (route.to_owned(), Body::Json(json!({"name": "probe-app"}))),
        ("GET" | "DELETE", "/v1/apps/{id}") | ("POST", "/v1/apps/{id}/rotate-secret") => {
            (on(world.id("assigned")), Body::Empty)
        }
        ("PATCH" | "PUT", "/v1/apps/{id}") => (
            on(world.id("assigned")),
            Body::Json(json!({"name": "renamed"})),
        ),
        ("POST", "/v1/tokens") => (
            route.to_owned(),
            Body::Json(json!({"app_id": world.id("assigned")})),
        ),
        ("DELETE", "/v1/tokens/{id}") => (on(world.id("assigned-token")), Body::Empty),
        ("POST", "/v1/signins") => (route.to_owned(), Body::Json(json!({"user_id": target}))),
        ("GET", "/v1/audit-events") => (format!("{route}?resource_id={target}"), Body::Empty),
        ("POST", "/scim/v2/Users") => (
            route.to_owned(),
            Body::Json(UserBuilder::new("probe-user").build()),
        ),
        ("POST", "/scim/v2/Users/.search") => (
            route.to_owned(),
            Body::Json(json!({"schemas": [SEARCH], "filter": "userName eq \"target\""})),
        ),
        ("GET" | "DELETE", "/scim/v2/Users/{id}") => (on(target), Body::Empty),
        ("PUT", "/scim/v2/Users/{id}") => (
            on(target),
            Body::Json(
                UserBuilder::new("target")
                    .with("displayName", json!("probe"))
                    .build(),
            ),
        ),
        ("PATCH", "/scim/v2/Users/{id}") => (
            on(target),
            Body::Json(patch(
                json!({"op": "replace", "path": "displayName", "value": "probe"}),
            )),
        ),
        ("POST", "/scim/v2/Groups") => (
            route.to_owned(),
            Body::Json(
                json!({"schemas": [GROUP_SCHEMA], "displayName": "probe-group",
                "members": [{"value": target}]}),
            ),
        ),
        ("POST", "/scim/v2/Groups/.search") => (
            route.to_owned(),
            Body::Json(
                json!({"schemas": [SEARCH], "filter": format!("members.value eq \"{target}\"")}),
            ),
        ),
        ("GET" | "DELETE", "/scim/v2/Groups/{id}") => (on(team), Body::Empty),
        ("PUT", "/scim/v2/Groups/{id}") => (
            on(team),
            Body::Json(json!({"schemas": [GROUP_SCHEMA], "displayName": "renamed",
                "members": [{"value": target}, {"value": world.id("neighbour")}]})),
        ),
        ("PATCH", "/scim/v2/Groups/{id}") => (
            on(team),
            Body::Json(patch(
                json!({"op": "remove", "path": format!("members[value eq \"{target}\"]")}),
            )),
        ),
        ("POST", "/scim/v2/Bulk") => (
            route.to_owned(),
            Body::Json(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [{"method": "PATCH", "path": format!("/Users/{target}"),
                    "data": {"schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": "displayName", "value": "probe"}]}}],
            })),
        ),
        ("POST", "/scim/v2/.search") => {
            (route.to_owned(), Body::Json(json!({"schemas": [SEARCH]})))
        }
        (
            "GET",
            "/scim/v2/ServiceProviderConfig" | "/scim/v2/ResourceTypes" | "/scim/v2/Schemas",
        ) => (route.to_owned(), Body::Empty),
        ("GET", "/scim/v2/ResourceTypes/{name}") => (route.replace("{name}", "User"), Body::Empty),
        ("GET", "/scim/v2/Schemas/{id}") => (on(USER_SCHEMA), Body::Empty),
        (method, route) => panic!("no request for {method} {route}: add it to request()"),
    }
}

/// Checks that the change a row makes happened, as the caller's tenant's Management
/// Application (and the caller) see it afterwards.
async fn check_change(
    world: &World,
    caller: Caller,
    method: &Method,
    route: &str,
    body: &Value,
) -> Result<(), String> {
    let tenant = world.tenant_of(caller);
    let manager = Some(tenant.token());
    let own = world.tokens.get(&caller).map(String::as_str);
    let target = format!("/scim/v2/Users/{}", world.id("target"));
    let team = format!("/scim/v2/Groups/{}", world.id("team"));
    let assigned_app = format!("/v1/apps/{}", world.id("assigned"));
    let expect = |holds: bool, what: String| if holds { Ok(()) } else { Err(what) };
    match (method.as_str(), route) {
        ("POST", "/v1/apps") => {
            let (_, apps) = world.get(manager, "/v1/apps").await;
            let listed = apps["apps"]
                .as_array()
                .is_some_and(|apps| apps.iter().any(|app| app["id"] == body["id"]));
            expect(listed, format!("the new app is not listed: {apps}"))
        }
        ("PATCH" | "PUT", "/v1/apps/{id}") => {
            let (_, app) = world.get(manager, &assigned_app).await;
            expect(app["name"] == "renamed", format!("not renamed: {app}"))
        }
        ("DELETE", "/v1/apps/{id}") => {
            let (status, app) = world.get(manager, &assigned_app).await;
            expect(
                status == StatusCode::NOT_FOUND,
                format!("still there: {app}"),
            )?;
            let assigned = world.tokens.get(&Caller::Assigned).map(String::as_str);
            let (status, _) = world.get(assigned, &target).await;
            expect(
                status == StatusCode::UNAUTHORIZED,
                format!("the deleted app's token still works: {status}"),
            )?;
            let (_, user) = world.get(manager, &target).await;
            let shows = world.shows(&user).await;
            expect(
                shows == ["target{other}"],
                format!("the target's assignments after the app is gone: {shows:?}"),
            )
        }
        ("POST", "/v1/apps/{id}/rotate-secret") => {
            let (id, old) = world.credentials_of(Caller::Assigned).expect("credentials");
            let (old_status, _) = world.token_request(id, old).await;
            let new = body["client_secret"].as_str().unwrap_or_default();
            let (new_status, _) = world.token_request(id, new).await;
            expect(
                old_status == StatusCode::UNAUTHORIZED && new_status == StatusCode::OK,
                format!("old secret answers {old_status}, new one {new_status}"),
            )
        }
        ("POST", "/v1/tokens") => {
            let token = body["scim_token"].as_str();
            let (status, user) = world.get(token, &target).await;
            let shows = world.shows(&user).await;
            expect(
                status == StatusCode::OK && shows == ["target{assigned}"],
                format!("the new token reads the target with {status}: {shows:?}"),
            )
        }
        ("DELETE", "/v1/tokens/{id}") => {
            let assigned = world.tokens.get(&Caller::Assigned).map(String::as_str);
            let (status, _) = world.get(assigned, &target).await;
            expect(
                status == StatusCode::UNAUTHORIZED,
                format!("the revoked token still answers {status}"),
            )?;
            let (_, tokens) = world.get(manager, "/v1/tokens").await;
            let shows = world.shows(&tokens).await;
            expect(
                shows == ["manager", "other", "stranger"],
                format!("tokens after the revocation: {shows:?}"),
            )
        }
        ("POST", "/v1/signins") => {
            let answered = world.shows(&body["user"]).await;
            expect(
                answered == ["target{assigned}"],
                format!("the sign-in answers with {answered:?}"),
            )?;
            let (_, user) = world.get(manager, &target).await;
            expect(
                user[ROSTER]["status"] == "active" && user[ROSTER]["lastSignIn"].is_string(),
                format!("not signed in: {user}"),
            )
        }
        ("POST", "/scim/v2/Users") => {
            let path = format!("/scim/v2/Users/{}", id_of(body));
            let (status, _) = world.get(own, &path).await;
            expect(
                status == StatusCode::OK,
                format!("the caller reads it with {status}"),
            )?;
            let (_, user) = world.get(manager, &path).await;
            let shows = world.shows(&user).await;
            let expected = match caller {
                Caller::Stranger => "new{stranger}",
                Caller::Assigned => "new{assigned}",
                _ => "new",
            };
            expect(
                shows == [expected],
                format!("the new user reads {shows:?}, expected {expected}"),
            )
        }
        ("PUT" | "PATCH", "/scim/v2/Users/{id}") | ("POST", "/scim/v2/Bulk") => {
            let (_, user) = world.get(manager, &target).await;
            expect(
                user["displayName"] == "probe",
                format!("not changed: {user}"),
            )
        }
        ("DELETE", "/scim/v2/Users/{id}") => {
            let (status, user) = world.get(manager, &target).await;
            if caller == Caller::Manager {
                let (_, group) = world.get(manager, &team).await;
                let shows = world.shows(&group).await;
                expect(
                    status == StatusCode::NOT_FOUND && shows == ["team[neighbour]"],
                    format!("the target reads {status}; {shows:?}"),
                )
            } else {
                // An app's DELETE unassigns the user; the identity stays for `other`.
                let shows = world.shows(&user).await;
                let (own_status, _) = world.get(own, &target).await;
                expect(
                    shows == ["target{other}"] && own_status == StatusCode::NOT_FOUND,
                    format!("{shows:?}; the caller reads it with {own_status}"),
                )
            }
        }
        ("POST", "/scim/v2/Groups") => {
            let path = format!("/scim/v2/Groups/{}", id_of(body));
            let (_, group) = world.get(own, &path).await;
            let shows = world.shows(&group).await;
            expect(
                shows == ["new[target]"],
                format!("the caller reads {shows:?}"),
            )
        }
        ("PUT", "/scim/v2/Groups/{id}") => {
            let (_, group) = world.get(manager, &team).await;
            expect(
                group["displayName"] == "renamed",
                format!("not renamed: {group}"),
            )
        }
        ("PATCH", "/scim/v2/Groups/{id}") => {
            let (_, group) = world.get(manager, &team).await;
            let shows = world.shows(&group).await;
            expect(shows == ["team[neighbour]"], format!("{shows:?}"))
        }
        ("DELETE", "/scim/v2/Groups/{id}") => {
            let (status, _) = world.get(manager, &team).await;
            expect(
                status == StatusCode::NOT_FOUND,
                format!("the group reads {status}"),
            )
        }
        (method, route) => panic!("no change check for {method} {route}: add it to check_change()"),
    }
}

/// At most 300 characters of `text`.
fn clipped(text: String) -> String {
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// A snapshot's part in fixture names: `[status, body]` as the resources it lists
/// (users and groups with their versions, apps with their names).
fn summary(world: &World, part: &Value) -> String {
    let (status, body) = (&part[0], &part[1]);
    if let Some(resources) = body["Resources"].as_array() {
        let shown: Vec<String> = resources
            .iter()
            .map(|r| format!("{} {}", world.describe(r), r["meta"]["version"]))
            .collect();
        format!("{status} {shown:?}")
    } else if let Some(apps) = body["apps"].as_array() {
        let shown: Vec<String> = apps
            .iter()
            .map(|app| format!("{} named {}", world.label(&id_of(app)), app["name"]))
            .collect();
        format!("{status} {shown:?}")
    } else {
        clipped(part.to_string())
    }
}

/// How a tenant's snapshot changed.
fn differences(
    world: &World,
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<String> {
    before
        .iter()
        .filter(|(part, value)| after.get(*part) != Some(value))
        .map(|(part, value)| {
            let now = after.get(part).unwrap_or(&Value::Null);
            let (was, is) = (summary(world, value), summary(world, now));
            if was == is {
                // The change is in a field the summary leaves out.
                format!(
                    "{part} was {}, is {}",
                    clipped(value.to_string()),
                    clipped(now.to_string())
                )
            } else {
                format!("{part} was {was}, is {is}")
            }
        })
        .collect()
}

/// Which test calls a route: three tests share the table, to run side by side.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Service,
    Users,
    OtherScim,
    Portal,
}

fn section(route: &str) -> Section {
    if route.starts_with("/admin") {
        Section::Portal
    } else if route.starts_with("/scim/v2/Users") {
        Section::Users
    } else if route.starts_with("/scim/v2") {
        Section::OtherScim
    } else {
        Section::Service
    }
}

async fn portal_routes_by_every_caller(server: TestServer) {
    every_caller_on(server, Section::Portal).await;
}

async fn service_routes_by_every_caller(server: TestServer) {
    every_caller_on(server, Section::Service).await;
}

async fn user_routes_by_every_caller(server: TestServer) {
    every_caller_on(server, Section::Users).await;
}

async fn group_search_and_discovery_routes_by_every_caller(server: TestServer) {
    every_caller_on(server, Section::OtherScim).await;
}

/// Calls each route of `section` as each caller, on one world until a call changes
/// it, and reports every cell that differs from the table.
async fn every_caller_on(server: TestServer, section_to_call: Section) {
    assert_table_covers_the_router();
    let mut failures = Vec::new();
    let mut cells = 0;
    let mut world = World::build(&server).await;
    let mut before = (world.snapshot(true).await, world.snapshot(false).await);
    for row in table()
        .into_iter()
        .filter(|row| section(row.route) == section_to_call)
    {
        for (caller, expect) in CALLERS.into_iter().zip(row.expect) {
            cells += 1;
            let cell = format!("{} {} by {}", row.method, row.route, caller.describe());
            let (path, body) = request(&world, caller, &row.method, row.route);
            // The token endpoint takes client credentials, not a bearer token.
            let token = match body {
                Body::Form(_) => None,
                _ => world.tokens.get(&caller).map(String::as_str),
            };
            let (status, answer) = world.send(token, row.method.clone(), &path, &body).await;
            let expected_status = match expect {
                Answers(status) | Changes(status) => status,
                Shows(_) => 200,
            };
            if status.as_u16() != expected_status {
                failures.push(format!(
                    "{cell}: expected {expected_status}, got {status}: {}",
                    clipped(answer.to_string())
                ));
            } else if let Shows(expected) = expect {
                let shown = world.shows(&answer).await;
                if shown != expected {
                    failures.push(format!(
                        "{cell}: expected to show {expected:?}, shows {shown:?}"
                    ));
                }
            } else if matches!(expect, Changes(_))
                && let Err(problem) =
                    check_change(&world, caller, &row.method, row.route, &answer).await
            {
                failures.push(format!("{cell}: the change is not as expected: {problem}"));
            }
            let after = (world.snapshot(true).await, world.snapshot(false).await);
            let home_changes = differences(&world, &before.0, &after.0);
            let foreign_changes = differences(&world, &before.1, &after.1);
            let may_change = matches!(expect, Changes(_));
            let (own, other) = if caller == Caller::Foreign {
                (&foreign_changes, &home_changes)
            } else {
                (&home_changes, &foreign_changes)
            };
            if !other.is_empty() {
                failures.push(format!("{cell}: the other tenant changed: {other:?}"));
            }
            if !may_change && !own.is_empty() {
                failures.push(format!("{cell}: expected no change, but: {own:?}"));
            }
            if may_change || !home_changes.is_empty() || !foreign_changes.is_empty() {
                world = World::build(&server).await;
                before = (world.snapshot(true).await, world.snapshot(false).await);
            } else {
                before = after;
            }
        }
    }
    assert!(cells > 0, "no rows in this section");
    assert!(
        failures.is_empty(),
        "{} of {cells} route × caller cells differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
