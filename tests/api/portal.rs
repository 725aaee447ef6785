//! The Admin Portal over plain HTTP: sessions, CSRF, security headers, tenant scope
//! and what its forms change, checked through the API. The browser flows are in
//! `portal_browser.rs`.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode, redirect};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Tenant, TestServer};

on_both_backends!(
    signing_in_opens_a_session_that_signing_out_ends,
    wrong_credentials_are_refused_in_plain_words_and_audited,
    forms_without_the_sessions_csrf_token_are_refused,
    every_portal_response_carries_the_security_headers,
    a_session_cookie_is_no_bearer_token,
    a_session_ends_at_its_lifetime,
    the_portal_shows_only_the_signed_in_tenant,
    the_user_forms_change_the_user_as_the_api_sees_it,
    stale_edits_are_caught_by_the_version,
    the_search_box_and_the_filter_box_find_users,
    group_members_are_paged_and_changed,
    applications_show_credentials_once,
    a_new_secret_or_a_new_sign_in_ends_the_old_sessions,
);

/// A browser-like client of the portal that keeps its session cookie itself.
struct Portal {
    base: String,
    client: reqwest::Client,
    session: Option<String>,
    csrf: String,
}

/// The value of cookie `name` that `response` sets, if it sets one.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let value = pair.split_once('=').map(|(_, v)| v).unwrap_or("");
            (value.to_owned(), attributes.to_owned())
        })
}

/// The first CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    html[start..].split('"').next().expect("a token").to_owned()
}

impl Portal {
    fn new(server: &TestServer) -> Portal {
        Portal {
            base: server.base.clone(),
            client: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            session: None,
            csrf: String::new(),
        }
    }

    /// Signs in with `client_id` and `secret`; the response to the sign-in post.
    async fn sign_in_with(&mut self, client_id: &str, secret: &str) -> reqwest::Response {
        let page = self
            .client
            .get(format!("{}/admin/sign-in", self.base))
            .send()
            .await
            .expect("sign-in page");
        let (form_cookie, _) = set_cookie(&page, "roster_sign_in").expect("a sign-in cookie");
        let csrf = csrf_of(&page.text().await.expect("html"));
        let response = self
            .client
            .post(format!("{}/admin/sign-in", self.base))
            .header("Cookie", format!("roster_sign_in={form_cookie}"))
            .form(&[
                ("client_id", client_id),
                ("client_secret", secret),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .expect("sign-in post");
        if let Some((session, _)) = set_cookie(&response, "roster_session") {
            self.session = Some(session);
        }
        response
    }

    async fn signed_in(server: &TestServer, tenant: &Tenant) -> Portal {
        let mut portal = Portal::new(server);
        let response = portal
            .sign_in_with(
                &tenant.credentials.client_id,
                &tenant.credentials.client_secret,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (status, html) = portal.get("/admin/users").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        portal.csrf = csrf_of(&html);
        portal
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.session {
            Some(session) => request.header("Cookie", format!("roster_session={session}")),
            None => request,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.request(Method::GET, path).send().await.expect("get");
        (response.status(), response.text().await.expect("html"))
    }

    /// Posts a form with the session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        self.request(Method::POST, path)
            .form(&fields)
            .send()
            .await
            .expect("post")
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn new_user(tenant: &Tenant, user_name: &str, email: &str) -> String {
    let user = tenant
        .create_user(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": email, "type": "work", "primary": true}],
        }))
        .await;
    user["id"].as_str().expect("id").to_owned()
}

async fn signing_in_opens_a_session_that_signing_out_ends(server: TestServer) {
    let tenant = server.tenant().await;
    new_user(&tenant, "grace@example.com", "grace@example.com").await;
    let mut portal = Portal::new(&server);
    let response = portal
        .request(Method::GET, "/admin/users")
        .send()
        .await
        .expect("get");
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "no session, no page"
    );
    assert_eq!(location(&response), "/admin/sign-in", "nothing ended yet");
    let response = portal
        .sign_in_with(
            &tenant.credentials.client_id,
            &tenant.credentials.client_secret,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/users");
    let (_, attributes) = set_cookie(&response, "roster_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    let (status, html) = portal.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("grace@example.com"), "{html}");
    portal.csrf = csrf_of(&html);
    let response = portal.post("/admin/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, attributes) = set_cookie(&response, "roster_session").expect("the cookie is cleared");
    assert!(attributes.contains("Max-Age=0"), "{attributes}");
    // The server ended the session: the old cookie opens nothing.
    let response = portal
        .request(Method::GET, "/admin/users")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/admin/sign-in"));
}

async fn wrong_credentials_are_refused_in_plain_words_and_audited(server: TestServer) {
    let tenant = server.tenant().await;
    let mut portal = Portal::new(&server);
    let response = portal
        .sign_in_with(&tenant.credentials.client_id, "rcs_wrong-secret")
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the sign-in page again");
    assert!(portal.session.is_none());
    let html = response.text().await.expect("html");
    assert!(
        html.contains("The client id or the client secret is wrong."),
        "{html}"
    );
    assert!(
        !html.contains("rcs_wrong-secret"),
        "the secret is not echoed"
    );
    // An application that is not the Management Application cannot sign in.
    let (app, _) = tenant.create_app("Payroll", false).await;
    let (status, rotated) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            &format!("/apps/{}/rotate-secret", app["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let response = portal
        .sign_in_with(
            rotated["client_id"].as_str().expect("client id"),
            rotated["client_secret"].as_str().expect("secret"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(portal.session.is_none());
    assert!(response.text().await.expect("html").contains("is wrong"));
    let (status, events) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            "/audit-events?action=auth.failed",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let reasons: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["detail"]["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        ["not the Management Application", "wrong client secret"]
    );
}

async fn forms_without_the_sessions_csrf_token_are_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let mut portal = Portal::signed_in(&server, &tenant).await;
    let other = Portal::signed_in(&server, &tenant).await;
    assert_ne!(portal.csrf, other.csrf, "each session has its own token");
    for csrf in ["", other.csrf.as_str(), "0123456789abcdef0123456789abcdef"] {
        let response = portal
            .request(Method::POST, "/admin/users")
            .form(&[("user_name", "forged@example.com"), ("csrf", csrf)])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    let (_, list) = tenant
        .get("/Users?filter=userName%20eq%20%22forged@example.com%22")
        .await;
    assert_eq!(list["totalResults"], 0, "no forged form changed anything");
    // A page of another origin of the same site is refused, token or not.
    let response = portal
        .request(Method::POST, "/admin/users")
        .header("Sec-Fetch-Site", "same-site")
        .form(&[("user_name", "sibling@example.com"), ("csrf", &portal.csrf)])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // The sign-in form needs the token of its own cookie too.
    let response = portal
        .client
        .post(format!("{}/admin/sign-in", portal.base))
        .form(&[
            ("client_id", tenant.credentials.client_id.as_str()),
            ("client_secret", tenant.credentials.client_secret.as_str()),
            ("csrf", "guessed"),
        ])
        .send()
        .await
        .expect("post");
    assert!(set_cookie(&response, "roster_session").is_none());
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("The sign-in form has expired")
    );
    // With the token, the same form works.
    let response = portal
        .post("/admin/users", &[("user_name", "real@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    portal.session = None;
}

async fn every_portal_response_carries_the_security_headers(server: TestServer) {
    let tenant = server.tenant().await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let anonymous = Portal::new(&server);
    let responses = [
        anonymous.request(Method::GET, "/admin/sign-in"),
        anonymous.request(Method::GET, "/admin/users"),
        portal.request(Method::GET, "/admin/users"),
        portal.request(Method::GET, "/admin/users/no-such-user"),
        portal.request(Method::GET, "/admin/assets/portal.js"),
        portal.request(Method::GET, "/admin/audit"),
    ];
    for request in responses {
        let response = request.send().await.expect("response");
        let csp = response
            .headers()
            .get(CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{}: {csp}",
            response.url()
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }
    let (status, html) = portal.get("/admin/users/no-such-user").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Not found"), "{html}");
}

async fn a_session_cookie_is_no_bearer_token(server: TestServer) {
    let tenant = server.tenant().await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let session = portal.session.clone().expect("session");
    let (status, body) = tenant.scim_as(&session, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, tokens) = tenant
        .v1_as(tenant.token(), Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        tokens["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .all(|token| token["kind"] != "portal"),
        "sessions are not listed as tokens: {tokens}"
    );
}

async fn a_session_ends_at_its_lifetime(server: TestServer) {
    use diesel::RunQueryDsl;
    let tenant = server.tenant().await;
    let portal = Portal::signed_in(&server, &tenant).await;
    server
        .store
        .write_blocking(|conn| {
            roster::with_conn!(conn, c => diesel::sql_query(
                "UPDATE api_tokens SET expires_at = created_at WHERE kind = 'portal'"
            )
            .execute(c))
            .map_err(roster::store::StoreError::from)
        })
        .expect("sessions aged");
    let response = portal
        .request(Method::GET, "/admin/users")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/sign-in?ended=expired");
    let response = portal.post("/admin/users", &[("user_name", "late")]).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "no write after the end"
    );
    let (_, list) = tenant.get("/Users?filter=userName%20eq%20%22late%22").await;
    assert_eq!(list["totalResults"], 0);
}

async fn the_portal_shows_only_the_signed_in_tenant(server: TestServer) {
    let tenant = server.tenant().await;
    let other = server.tenant().await;
    new_user(&tenant, "mine@example.com", "mine@example.com").await;
    let theirs = new_user(&other, "theirs@example.com", "theirs@example.com").await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let (_, html) = portal.get("/admin/users?q=example").await;
    assert!(
        html.contains("mine@example.com") && !html.contains("theirs@"),
        "{html}"
    );
    let (status, _) = portal.get(&format!("/admin/users/{theirs}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = portal
        .post(
            &format!("/admin/users/{theirs}/status"),
            &[("active", "false"), ("version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, user) = other.get(&format!("/Users/{theirs}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(
        user["active"], false,
        "the other tenant's user is untouched"
    );
}

async fn the_user_forms_change_the_user_as_the_api_sees_it(server: TestServer) {
    let tenant = server.tenant().await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let response = portal
        .post(
            "/admin/users",
            &[
                ("user_name", "new.user@example.com"),
                ("given_name", "New"),
                ("family_name", "User"),
                ("email", "new.user@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = location(&response)
        .strip_prefix("/admin/users/")
        .expect("the user's page")
        .to_owned();
    // A duplicate userName is refused next to the field.
    let response = portal
        .post("/admin/users", &[("user_name", "NEW.user@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(html.contains("id=\"user_name-error\""), "{html}");

    let response = portal
        .post(
            &format!("/admin/users/{id}/custom-data"),
            &[("custom_data", "{\"plan\": "), ("version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("not valid JSON")
    );
    let response = portal
        .post(
            &format!("/admin/users/{id}/custom-data"),
            &[("custom_data", "{\"plan\": \"gold\"}"), ("version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    let roster = &user["urn:ietf:params:scim:schemas:extension:roster:2.0:User"];
    assert_eq!(roster["customData"], json!({"plan": "gold"}));

    let version = user["meta"]["version"]
        .as_str()
        .expect("version")
        .trim_start_matches("W/\"")
        .trim_end_matches('"')
        .to_owned();
    let response = portal
        .post(
            &format!("/admin/users/{id}/status"),
            &[("active", "false"), ("version", &version)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(user["active"], false);

    let (app, _) = tenant.create_app("Payroll", false).await;
    let app_id = app["id"].as_str().expect("app id");
    let response = portal
        .post(
            &format!("/admin/users/{id}/apps"),
            &[("app_id", app_id), ("external_account_id", "E-42")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Finance"}),
        )
        .await;
    let response = portal
        .post(
            &format!("/admin/users/{id}/groups"),
            &[("group", "Finance")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = portal
        .post(&format!("/admin/users/{id}/groups"), &[("group", "Nope")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("No group is named")
    );
    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    let apps = &user["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["apps"];
    assert_eq!(apps[0]["value"], app_id);
    assert_eq!(apps[0]["externalAccountId"], "E-42");
    assert_eq!(user["groups"][0]["value"], group["id"]);

    let (status, html) = portal.get(&format!("/admin/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "Payroll",
        "E-42",
        "Finance",
        "&#34;plan&#34;",
        "disabled",
        "user.patched",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    let response = portal.post(&format!("/admin/users/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn stale_edits_are_caught_by_the_version(server: TestServer) {
    let tenant = server.tenant().await;
    let id = new_user(&tenant, "ver@example.com", "ver@example.com").await;
    let portal = Portal::signed_in(&server, &tenant).await;
    // Someone else changes the user after the form was shown at version 1.
    let (status, _) = tenant
        .scim_as(
            tenant.token(),
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Theirs"}],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = portal
        .post(
            &format!("/admin/users/{id}"),
            &[
                ("user_name", "ver@example.com"),
                ("given_name", "Mine"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(html.contains("Someone else changed this user"), "{html}");
    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(user["displayName"], "Theirs");
    assert_eq!(
        user["name"]["givenName"], "Ada",
        "the stale edit wrote nothing"
    );
}

async fn the_search_box_and_the_filter_box_find_users(server: TestServer) {
    let tenant = server.tenant().await;
    for n in 0..30 {
        new_user(
            &tenant,
            &format!("person{n:02}@corp.example"),
            &format!("p{n:02}.mail@corp.example"),
        )
        .await;
    }
    new_user(&tenant, "zed@example.org", "needle.x@example.org").await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let (status, html) = portal.get("/admin/users?q=edle.x&partial=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("zed@example.org") && !html.contains("person"),
        "{html}"
    );
    assert!(html.contains("1 user"), "{html}");
    assert!(
        !html.contains("<html"),
        "the live search gets the results alone"
    );
    // 31 users, 25 a page: the second page holds the other six.
    let (_, first) = portal.get("/admin/users?sort=userName").await;
    assert!(first.contains("31 users"), "{first}");
    let marker = "href=\"/admin/users?sort=userName&#38;cursor=";
    let start = first
        .find(marker)
        .unwrap_or_else(|| panic!("a next page link in {first}"))
        + "href=\"".len();
    let next = first[start..]
        .split('"')
        .next()
        .expect("link")
        .replace("&#38;", "&");
    let (_, second) = portal.get(&next).await;
    let rows = |html: &str| html.matches("<tr>").count() - 1;
    assert_eq!(rows(&first), 25);
    assert_eq!(rows(&second), 6);
    assert!(
        second.contains("zed@example.org") && second.contains("person29"),
        "{second}"
    );
    // A bad filter is shown at its position, and nothing is listed.
    let (status, html) = portal.get("/admin/users?filter=userName%20eq").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("at character 12"), "{html}");
    assert!(html.contains("<mark>"), "{html}");
    let (_, html) = portal
        .get("/admin/users?filter=nosuch%20eq%20%22x%22")
        .await;
    assert!(
        html.contains("nosuch"),
        "an unknown attribute is named: {html}"
    );
}

async fn group_members_are_paged_and_changed(server: TestServer) {
    let tenant = server.tenant().await;
    let mut members = Vec::new();
    for n in 0..30 {
        members.push(json!({"value": new_user(&tenant, &format!("m{n:02}"), &format!("m{n:02}@x.example")).await}));
    }
    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Big", "members": members}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().expect("id");
    let portal = Portal::signed_in(&server, &tenant).await;
    let (_, first) = portal.get(&format!("/admin/groups/{id}")).await;
    let removable = |html: &str| html.matches("name=\"member_id\"").count();
    assert_eq!(removable(&first), 25);
    let marker = format!("href=\"/admin/groups/{id}?after=");
    let start = first.find(&marker).expect("a next page") + "href=\"".len();
    let next = first[start..].split('"').next().expect("link").to_owned();
    let (_, second) = portal.get(&next).await;
    assert_eq!(removable(&second), 5);
    let response = portal
        .post(
            &format!("/admin/groups/{id}/members"),
            &[("member", "nobody")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    new_user(&tenant, "late.joiner", "late@x.example").await;
    let response = portal
        .post(
            &format!("/admin/groups/{id}/members"),
            &[("member", "late.joiner")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, candidates) = portal
        .get(&format!("/admin/groups/{id}/candidates?q=late"))
        .await;
    assert!(
        candidates.contains("<option value=\"late.joiner\">"),
        "{candidates}"
    );
    let (_, group) = tenant.get(&format!("/Groups/{id}")).await;
    assert_eq!(group["members"].as_array().expect("members").len(), 31);
    let response = portal
        .post(
            &format!("/admin/groups/{id}"),
            &[("name", "Bigger"), ("version", "1")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a stale rename is refused"
    );
    let (_, group) = tenant.get(&format!("/Groups/{id}")).await;
    assert_eq!(group["displayName"], "Big");
}

async fn applications_show_credentials_once(server: TestServer) {
    let tenant = server.tenant().await;
    let portal = Portal::signed_in(&server, &tenant).await;
    let response = portal
        .post(
            "/admin/apps",
            &[("name", "HR feed"), ("allow_signup_on_signin", "on")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let html = response.text().await.expect("html");
    assert!(html.contains("rcs_"), "the new secret is shown once");
    let (_, apps) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps", None)
        .await;
    let app = apps["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|app| app["name"] == "HR feed")
        .expect("created")
        .clone();
    assert_eq!(app["allow_signup_on_signin"], true);
    let (_, listed) = portal.get("/admin/apps").await;
    assert!(!listed.contains("rcs_"), "and only once");
    let id = app["id"].as_str().expect("id");
    let response = portal
        .post(&format!("/admin/apps/{id}/scim-token"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    let start = html.find("value=\"rst_").expect("the token") + "value=\"".len();
    let token: String = html[start..].split('"').next().expect("token").to_owned();
    assert!(
        html.contains(&format!("value=\"{}/scim/v2\"", server.base)),
        "{html}"
    );
    assert!(html.contains("Entra ID") && html.contains("Okta"));
    let (status, _) = tenant.scim_as(&token, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK, "the shown token works");
}

async fn a_new_secret_or_a_new_sign_in_ends_the_old_sessions(server: TestServer) {
    let tenant = server.tenant().await;
    let stolen = Portal::signed_in(&server, &tenant).await;
    let mut mine = Portal::signed_in(&server, &tenant).await;
    // Signing in again in the same browser ends that browser's previous session.
    let previous = mine.session.clone().expect("session");
    let response = mine
        .client
        .get(format!("{}/admin/sign-in", mine.base))
        .send()
        .await
        .expect("page");
    let (form_cookie, _) = set_cookie(&response, "roster_sign_in").expect("cookie");
    let csrf = csrf_of(&response.text().await.expect("html"));
    let response = mine
        .client
        .post(format!("{}/admin/sign-in", mine.base))
        .header(
            "Cookie",
            format!("roster_sign_in={form_cookie}; roster_session={previous}"),
        )
        .form(&[
            ("client_id", tenant.credentials.client_id.as_str()),
            ("client_secret", tenant.credentials.client_secret.as_str()),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("sign in");
    let (fresh, _) = set_cookie(&response, "roster_session").expect("a new session");
    assert_ne!(fresh, previous);
    let (status, _) = mine.get("/admin/users").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the previous session is over"
    );
    mine.session = Some(fresh);
    let (status, html) = mine.get("/admin/apps").await;
    assert_eq!(status, StatusCode::OK);
    mine.csrf = csrf_of(&html);
    // A new secret for the Management Application ends every session the old one
    // opened: a stolen secret's session with it.
    let (_, apps) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps", None)
        .await;
    let management = apps["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|app| app["management"] == true)
        .expect("the Management Application")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let response = mine
        .post(&format!("/admin/apps/{management}/rotate-secret"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = stolen.get("/admin/users").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}
