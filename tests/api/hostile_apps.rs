//! Callers that probe past their scope: social sign-ins that claim someone else's
//! address, applications that probe hidden members and managers through filters and
//! references, and applications that change groups they did not create.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error};

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

on_both_backends!(
    an_unverified_social_email_does_not_take_over_an_account,
    an_unverified_social_email_is_refused_where_sign_up_is_closed_and_audited,
    a_verified_social_email_links_the_existing_user_for_every_app,
    a_linked_subject_never_moves_to_another_user,
    member_filters_answer_as_if_hidden_members_did_not_exist,
    a_manager_the_app_cannot_see_is_refused_like_an_unknown_id,
    a_manager_the_app_cannot_see_reads_filters_and_sorts_like_none,
    an_app_changes_attributes_only_of_groups_it_created,
);

/// A regular application's id and a SCIM token of its own.
async fn app(tenant: &Tenant, name: &str, signup: bool) -> (String, String) {
    let (app, token) = tenant.create_app(name, signup).await;
    (app["id"].as_str().expect("app id").to_owned(), token)
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("an id").to_owned()
}

fn patch_ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

fn social(subject: &str, email: Option<&str>, verified: Option<bool>) -> Value {
    let mut profile = json!({"provider": "google", "subject": subject});
    if let Some(email) = email {
        profile["email"] = json!(email);
    }
    if let Some(verified) = verified {
        profile["email_verified"] = json!(verified);
    }
    json!({ "social": profile })
}

async fn sign_in(tenant: &Tenant, token: &str, body: Value) -> (StatusCode, Value) {
    tenant
        .v1_as(token, Method::POST, "/signins", Some(body))
        .await
}

async fn audit_of(tenant: &Tenant, resource_id: &str) -> Vec<Value> {
    let (status, body) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            &format!("/audit-events?resource_id={resource_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

/// The victim: a user of the tenant with this address as userName and email.
async fn victim(tenant: &Tenant, email: &str) -> Value {
    tenant
        .create_user(&UserBuilder::new(email).email(email, "work").build())
        .await
}

async fn an_unverified_social_email_does_not_take_over_an_account(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, open) = app(&tenant, "Open", true).await;
    let victim = victim(&tenant, "victim@x.org").await;
    for (subject, verified) in [("attacker-1", Some(false)), ("attacker-2", None)] {
        let (status, signed_in) = sign_in(
            &tenant,
            &open,
            social(subject, Some("VICTIM@x.org"), verified),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{signed_in}");
        let user = &signed_in["user"];
        assert_ne!(user["id"], victim["id"], "{signed_in}");
        assert_eq!(user["userName"], format!("google:{subject}"));
        assert!(user.get("emails").is_none(), "{user}");
        assert!(signed_in["claims"].get("email").is_none(), "{signed_in}");
        let (_, again) = sign_in(&tenant, &open, social(subject, None, None)).await;
        assert_eq!(
            again["user"]["id"], user["id"],
            "the subject finds its own user"
        );
    }
    let (_, victim_now) = tenant.get(&format!("/Users/{}", id_of(&victim))).await;
    assert!(
        victim_now[ROSTER].get("socialAccounts").is_none(),
        "nothing is linked to the victim: {victim_now}"
    );
    let (_, by_email) = sign_in(&tenant, &open, json!({"email": "victim@x.org"})).await;
    assert_eq!(
        by_email["user"]["id"], victim["id"],
        "an unverified address never becomes an identity that finds another user"
    );
}

async fn an_unverified_social_email_is_refused_where_sign_up_is_closed_and_audited(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    let (closed_id, closed) = app(&tenant, "Closed", false).await;
    let victim = victim(&tenant, "boss@x.org").await;
    let (status, _) = tenant
        .scim_as(
            tenant.token(),
            Method::PATCH,
            &format!("/Users/{}", id_of(&victim)),
            Some(patch_ops(
                json!([{"op": "add", "path": format!("{ROSTER}:apps"),
            "value": [{"value": closed_id}]}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = sign_in(
        &tenant,
        &closed,
        social("attacker", Some("boss@x.org"), Some(false)),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    let (_, victim_now) = tenant.get(&format!("/Users/{}", id_of(&victim))).await;
    assert!(
        victim_now[ROSTER].get("socialAccounts").is_none(),
        "{victim_now}"
    );
    let refusals: Vec<Value> = audit_of(&tenant, &closed_id)
        .await
        .into_iter()
        .filter(|e| e["action"] == "signin.refused")
        .collect();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["detail"]["reason"], "unknown_user");
    assert_eq!(refusals[0]["detail"]["signin"]["subject"], "attacker");
    assert_eq!(refusals[0]["detail"]["signin"]["email_verified"], false);
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 1, "no user was created");
}

async fn a_verified_social_email_links_the_existing_user_for_every_app(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, first) = app(&tenant, "First", true).await;
    let (_, second) = app(&tenant, "Second", true).await;
    let owner = victim(&tenant, "owner@x.org").await;
    let (status, signed_in) = sign_in(
        &tenant,
        &first,
        social("owner-sub", Some("Owner@X.org"), Some(true)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"]["id"], owner["id"]);
    assert_eq!(signed_in["claims"]["email_verified"], true);
    assert_eq!(
        signed_in["user"][ROSTER]["socialAccounts"][0]["subject"],
        "owner-sub"
    );
    let (status, later) = sign_in(&tenant, &second, social("owner-sub", None, None)).await;
    assert_eq!(status, StatusCode::OK, "{later}");
    assert_eq!(later["user"]["id"], owner["id"]);
    assert_eq!(
        later["claims"]["email_verified"], false,
        "nobody verified the address in this sign-in"
    );
    let events = audit_of(&tenant, &id_of(&owner)).await;
    let linked: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "user.social_linked")
        .collect();
    assert_eq!(linked.len(), 1, "{:?}", actions(&events));
    assert_eq!(linked[0]["detail"]["provider"], "google");
    assert_eq!(linked[0]["detail"]["through"], "verified_email");
}

async fn a_linked_subject_never_moves_to_another_user(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, open) = app(&tenant, "Open", true).await;
    let first = victim(&tenant, "first@x.org").await;
    let second = victim(&tenant, "second@x.org").await;
    let (_, signed_in) = sign_in(
        &tenant,
        &open,
        social("shared", Some("first@x.org"), Some(true)),
    )
    .await;
    assert_eq!(signed_in["user"]["id"], first["id"]);
    let (status, again) = sign_in(
        &tenant,
        &open,
        social("shared", Some("second@x.org"), Some(true)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["user"]["id"], first["id"], "the link decides");
    let (_, second_now) = tenant.get(&format!("/Users/{}", id_of(&second))).await;
    assert!(
        second_now[ROSTER].get("socialAccounts").is_none(),
        "{second_now}"
    );
    let (_, first_now) = tenant.get(&format!("/Users/{}", id_of(&first))).await;
    assert_eq!(
        first_now[ROSTER]["socialAccounts"].as_array().map(Vec::len),
        Some(1)
    );
}

/// How many resources `token` finds with `filter` on `/Groups`, `/Groups/.search`
/// and the root `/.search`, each asked for a count only; all three must agree.
async fn total_found(tenant: &Tenant, token: &str, filter: &str) -> i64 {
    let (status, listed) = tenant
        .scim_as(
            token,
            Method::GET,
            &format!("/Groups?count=0&filter={}", urlencode(filter)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {listed}");
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": filter, "count": 0});
    let (status, searched) = tenant
        .scim_as(token, Method::POST, "/Groups/.search", Some(search.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {searched}");
    let (status, root) = tenant
        .scim_as(token, Method::POST, "/.search", Some(search))
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {root}");
    let total = listed["totalResults"].as_i64().unwrap();
    assert_eq!(searched["totalResults"], total, "{filter}");
    assert_eq!(root["totalResults"], total, "{filter}");
    total
}

async fn member_filters_answer_as_if_hidden_members_did_not_exist(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Narrow", false).await;
    let hidden = id_of(
        &tenant
            .create_user(&UserBuilder::new("hidden").build())
            .await,
    );
    let (_, visible) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("visible").build()),
        )
        .await;
    let visible = id_of(&visible);
    let group = |name: &str, members: &[&str]| {
        json!({"schemas": [GROUP_SCHEMA], "displayName": name,
            "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()})
    };
    for (name, members) in [
        ("Both", vec![hidden.as_str(), visible.as_str()]),
        ("Hidden only", vec![hidden.as_str()]),
        ("Visible only", vec![visible.as_str()]),
    ] {
        let (status, created) = tenant.post("/Groups", &group(name, &members)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let probes = [
        format!("members.value eq \"{hidden}\""),
        format!("members.value sw \"{}\"", &hidden[..4]),
        format!("members.value co \"{}\"", &hidden[10..16]),
        format!("members.value ew \"{}\"", &hidden[30..]),
        format!("members[value sw \"{}\"]", &hidden[..6]),
        format!("members[value eq \"{hidden}\" and type eq \"User\"]"),
        format!("not (members.value eq \"{hidden}\")"),
        "members pr".to_owned(),
        "members.value pr".to_owned(),
        "members.type eq \"User\"".to_owned(),
        "not (members pr)".to_owned(),
    ];
    let mut while_hidden = Vec::new();
    for probe in &probes {
        while_hidden.push(total_found(&tenant, &token, probe).await);
    }
    let unknown = "0b9e7a0c-52b1-4a4f-9d8e-1c2d3e4f5a6b";
    let mut refusals = Vec::new();
    for member in [hidden.as_str(), unknown] {
        let (status, body) = tenant
            .scim_as(
                &token,
                Method::POST,
                "/Groups",
                Some(group(&format!("Probe {member}"), &[member])),
            )
            .await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
        refusals.push(detail_without(&body, member));
    }
    assert_eq!(
        refusals[0], refusals[1],
        "hidden and unknown members answer alike"
    );
    let management_sees = total_found(&tenant, tenant.token(), &probes[1]).await;
    assert!(
        management_sees >= 2,
        "the probe finds the member when in scope"
    );
    assert_eq!(
        tenant.delete(&format!("/Users/{hidden}")).await,
        StatusCode::NO_CONTENT
    );
    for (probe, seen) in probes.iter().zip(while_hidden) {
        assert_eq!(
            total_found(&tenant, &token, probe).await,
            seen,
            "{probe}: a hidden member is answered like a missing one"
        );
    }
}

/// A detail with the id it names taken out, to compare two answers' texts.
fn detail_without(body: &Value, id: &str) -> String {
    body["detail"]
        .as_str()
        .unwrap_or_default()
        .replace(id, "<id>")
}

async fn a_manager_the_app_cannot_see_is_refused_like_an_unknown_id(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Narrow", false).await;
    let boss = tenant
        .create_user(
            &UserBuilder::new("boss")
                .with("displayName", json!("Secret Boss"))
                .build(),
        )
        .await;
    let boss = id_of(&boss);
    let unknown = "0b9e7a0c-52b1-4a4f-9d8e-1c2d3e4f5a6b";
    let (_, peer) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("peer").build()),
        )
        .await;
    let (_, user) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("worker").build()),
        )
        .await;
    let path = format!("/Users/{}", id_of(&user));
    let set_manager = |manager: &str| {
        patch_ops(
            json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"),
            "value": {"value": manager}}]),
        )
    };
    let mut answers = Vec::new();
    for manager in [boss.as_str(), unknown] {
        let (status, body) = tenant
            .scim_as(&token, Method::PATCH, &path, Some(set_manager(manager)))
            .await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
        let (created_status, created) = tenant
            .scim_as(
                &token,
                Method::POST,
                "/Users",
                Some(
                    UserBuilder::new(&format!("new-{manager}"))
                        .enterprise(json!({"manager": {"value": manager}}))
                        .build(),
                ),
            )
            .await;
        answers.push((
            status,
            detail_without(&body, manager),
            created_status,
            detail_without(&created, manager),
        ));
    }
    assert_eq!(answers[0], answers[1], "hidden and unknown answer alike");
    assert_eq!(answers[0].2, StatusCode::BAD_REQUEST);

    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &path,
            Some(set_manager(&id_of(&peer))),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a manager in scope is accepted: {body}"
    );
    assert_eq!(body[ENTERPRISE]["manager"]["value"], peer["id"]);

    // A manager the Management Application set stays through the app's other changes.
    let (status, _) = tenant
        .scim_as(
            tenant.token(),
            Method::PATCH,
            &path,
            Some(set_manager(&boss)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &path,
            Some(patch_ops(
                json!([{"op": "replace", "path": "title", "value": "Lead"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, stored) = tenant.get(&path).await;
    assert_eq!(stored[ENTERPRISE]["manager"]["value"], boss.as_str());
    assert_eq!(stored["title"], "Lead");
}

/// The users `token` finds with `filter` (ids in the order returned) and how many
/// it is told there are.
async fn users_found(tenant: &Tenant, token: &str, query: &str) -> (Vec<String>, i64) {
    let (status, page) = tenant
        .scim_as(token, Method::GET, &format!("/Users?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    let ids = page["Resources"]
        .as_array()
        .map(|r| r.iter().map(id_of).collect())
        .unwrap_or_default();
    (ids, page["totalResults"].as_i64().unwrap())
}

async fn a_manager_the_app_cannot_see_reads_filters_and_sorts_like_none(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Narrow", false).await;
    let boss = tenant
        .create_user(
            &UserBuilder::new("boss")
                .with("displayName", json!("Secret Boss"))
                .build(),
        )
        .await;
    let boss = id_of(&boss);
    let create = |name: &str, manager: Option<&str>| {
        let mut user = UserBuilder::new(name);
        if let Some(manager) = manager {
            user = user.enterprise(json!({"manager": {"value": manager}, "department": "R&D"}));
        }
        user.build()
    };
    let (_, peer) = tenant
        .scim_as(&token, Method::POST, "/Users", Some(create("peer", None)))
        .await;
    let peer = id_of(&peer);
    let (_, subordinate) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(create("subordinate", Some(&peer))),
        )
        .await;
    let subordinate = id_of(&subordinate);
    let (_, worker) = tenant
        .scim_as(&token, Method::POST, "/Users", Some(create("worker", None)))
        .await;
    let worker = id_of(&worker);
    let path = format!("/Users/{worker}");
    let (status, _) = tenant
        .scim_as(
            tenant.token(),
            Method::PUT,
            &path,
            Some(create("worker", Some(&boss))),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, seen) = tenant.scim_as(&token, Method::GET, &path, None).await;
    assert!(seen[ENTERPRISE].get("manager").is_none(), "{seen}");
    assert_eq!(seen[ENTERPRISE]["department"], "R&D");
    assert!(!seen.to_string().contains("Secret Boss"), "{seen}");
    let (_, listed) = tenant
        .scim_as(
            &token,
            Method::GET,
            &format!("/Users?filter={}", urlencode("userName eq \"worker\"")),
            None,
        )
        .await;
    assert!(
        listed["Resources"][0][ENTERPRISE].get("manager").is_none(),
        "{listed}"
    );
    let (_, page) = tenant
        .scim_as(&token, Method::GET, "/Users?count=10", None)
        .await;
    assert!(!page.to_string().contains(&boss), "{page}");
    let (_, subordinate_seen) = tenant
        .scim_as(&token, Method::GET, &format!("/Users/{subordinate}"), None)
        .await;
    assert_eq!(
        subordinate_seen[ENTERPRISE]["manager"]["value"],
        peer.as_str(),
        "a manager in scope shows"
    );

    let manager = format!("{ENTERPRISE}:manager");
    for probe in [
        format!("{manager}.value eq \"{boss}\""),
        format!("{manager}.value sw \"{}\"", &boss[..20]),
        format!("{manager}.displayName eq \"Secret Boss\""),
        format!("{manager}.displayName co \"Secret\""),
        format!("{manager}.value pr and userName eq \"worker\""),
        format!("{manager} pr and userName eq \"worker\""),
    ] {
        let query = format!("count=0&filter={}", urlencode(&probe));
        assert_eq!(users_found(&tenant, &token, &query).await.1, 0, "{probe}");
        assert_eq!(
            users_found(&tenant, tenant.token(), &query).await.1,
            1,
            "{probe} finds the worker when in scope"
        );
    }
    let query = format!("filter={}", urlencode(&format!("not ({manager}.value pr)")));
    let (mut without, _) = users_found(&tenant, &token, &query).await;
    without.sort();
    let mut expected = vec![peer.clone(), worker.clone()];
    expected.sort();
    assert_eq!(without, expected);

    // Missing values sort last: a hidden manager's id takes no place in the order.
    let sorted = format!("sortBy={}", urlencode(&format!("{manager}.value")));
    let (order, _) = users_found(&tenant, &token, &sorted).await;
    assert_eq!(order[0], subordinate, "{order:?}");
    let (cursor_order, _) =
        users_found(&tenant, &token, &format!("{sorted}&count=1&cursor=")).await;
    assert_eq!(cursor_order, [subordinate.as_str()]);

    // The application's replace, without the manager it never saw, keeps it.
    let mut replacement = seen.clone();
    replacement["title"] = json!("Lead");
    let (status, replaced) = tenant
        .scim_as(&token, Method::PUT, &path, Some(replacement))
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert!(replaced[ENTERPRISE].get("manager").is_none(), "{replaced}");
    let (_, stored) = tenant.get(&path).await;
    assert_eq!(stored[ENTERPRISE]["manager"]["value"], boss.as_str());
    assert_eq!(stored[ENTERPRISE]["manager"]["displayName"], "Secret Boss");
    assert_eq!(stored["title"], "Lead");
}

async fn an_app_changes_attributes_only_of_groups_it_created(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Maker", false).await;
    let (_, other) = app(&tenant, "Other", false).await;
    let (_, member) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("member").build()),
        )
        .await;
    let group = |name: &str, members: &[&Value]| {
        json!({"schemas": [GROUP_SCHEMA], "displayName": name,
            "members": members.iter().map(|m| json!({"value": m["id"]})).collect::<Vec<_>>()})
    };
    let (status, managed) = tenant.post("/Groups", &group("Managed", &[])).await;
    assert_eq!(status, StatusCode::CREATED);
    let managed_path = format!("/Groups/{}", id_of(&managed));
    let rename =
        |name: &str| patch_ops(json!([{"op": "replace", "path": "displayName", "value": name}]));

    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &managed_path,
            Some(rename("Taken over")),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PUT,
            &managed_path,
            Some(group("Taken over", &[&member])),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &managed_path,
            Some(patch_ops(
                json!([{"op": "add", "path": "externalId", "value": "x-1"}]),
            )),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .scim_as(&token, Method::DELETE, &managed_path, None)
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (_, unchanged) = tenant.get(&managed_path).await;
    assert_eq!(unchanged["displayName"], "Managed");
    assert!(unchanged.get("externalId").is_none(), "{unchanged}");
    assert_eq!(
        unchanged
            .get("members")
            .map_or(0, |m| m.as_array().unwrap().len()),
        0,
        "a refused PUT applies none of its member changes"
    );

    // Its own users' memberships stay the application's to change.
    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &managed_path,
            Some(patch_ops(json!([{"op": "add", "path": "members",
            "value": [{"value": member["id"]}]}]))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = tenant
        .scim_as(
            &token,
            Method::PUT,
            &managed_path,
            Some(group("Managed", &[])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty())
    );

    let (status, own) = tenant
        .scim_as(&token, Method::POST, "/Groups", Some(group("Own", &[])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own_path = format!("/Groups/{}", id_of(&own));
    let (status, body) = tenant
        .scim_as(&other, Method::PATCH, &own_path, Some(rename("Mine")))
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .scim_as(&other, Method::DELETE, &own_path, None)
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .scim_as(&token, Method::PATCH, &own_path, Some(rename("Own 2")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "Own 2");
    let (status, body) = tenant
        .scim_as(
            tenant.token(),
            Method::PATCH,
            &own_path,
            Some(rename("Own 3")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the Management Application changes any group: {body}"
    );
    let (status, _) = tenant
        .scim_as(&token, Method::DELETE, &own_path, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = tenant.get(&own_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
