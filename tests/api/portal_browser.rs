//! The Admin Portal in a real browser, as an administrator uses it, at 1280×800 and
//! at 390×844: each step is screenshotted, checked with axe-core and for console
//! errors (see `support/browser.rs`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::browser::{Browser, Window};
use crate::support::{Tenant, TestServer};

on_both_backends!(
    an_administrator_manages_a_user_from_sign_in_to_deletion,
    sign_in_refusals_and_ended_sessions_are_shown_in_plain_words,
);

/// Signs in at the portal's sign-in page as `tenant`'s Management Application.
async fn sign_in(browser: &Browser, server: &TestServer, tenant: &Tenant) {
    browser.goto(&format!("{}/admin", server.base)).await;
    browser.wait_for("#client_id").await;
    browser
        .fill("Client id", &tenant.credentials.client_id)
        .await;
    browser
        .fill("Client secret", &tenant.credentials.client_secret)
        .await;
    browser.click_on("Sign in").await;
    browser.wait_for("h1").await;
    browser
        .wait_for_text("Search by name, user name or email")
        .await;
}

async fn an_administrator_manages_a_user_from_sign_in_to_deletion(server: TestServer) {
    for window in [Window::Wide, Window::Narrow] {
        manage_a_user(&server, window).await;
    }
}

async fn manage_a_user(server: &TestServer, window: Window) {
    let tenant = server.tenant().await;
    let (app, _) = tenant.create_app("Payroll", false).await;
    let (_, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"}),
        )
        .await;
    for n in 0..5 {
        tenant
            .create_user(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("someone{n}@corp.example"),
            }))
            .await;
    }
    let test = format!("portal_{:?}", server.backend).to_lowercase();
    let browser = Browser::start(&test, window).await;
    sign_in(&browser, server, &tenant).await;
    browser.checkpoint("users").await;

    // Create a user.
    browser.click_on("New user").await;
    browser.wait_for_text("Create user").await;
    browser.checkpoint("new-user").await;
    browser
        .fill("User name *", "marie.curie@corp.example")
        .await;
    browser.fill("Given name", "Marie").await;
    browser.fill("Family name", "Curie").await;
    browser.fill("Email", "m.sklodowska@radium.example").await;
    browser.click_on("Create user").await;
    browser
        .wait_for_text("Marie Curie (marie.curie@corp.example)")
        .await;
    let user_url = browser.url().await;
    let id = user_url
        .rsplit('/')
        .next()
        .expect("the user's page")
        .to_owned();
    browser.checkpoint("user-created").await;

    // Find it by a fragment of its email, as the search box updates while typing.
    browser.goto(&format!("{}/admin/users", server.base)).await;
    browser
        .fill("Search by name, user name or email", "sklodow")
        .await;
    browser.wait_for_text("1 user matches").await;
    let rows = browser
        .script(
            "return document.querySelectorAll('#users-results tbody tr').length",
            Vec::new(),
        )
        .await;
    assert_eq!(rows, json!(1), "only Marie matches");
    assert!(
        browser.url().await.contains("q=sklodow"),
        "the URL keeps the search"
    );
    browser.checkpoint("search").await;
    browser.click_on("marie.curie@corp.example").await;
    browser.wait_for_text("customData").await;

    // customData: invalid JSON is refused in place, valid JSON is saved.
    browser
        .fill(
            "customData (a JSON object; empty removes it)",
            "{\"plan\": ",
        )
        .await;
    browser.wait_for_text("This is not valid JSON").await;
    let save = browser
        .wait_for("form[data-json-editor] button[type=submit]")
        .await;
    assert_eq!(
        save.attr("disabled").await.expect("attribute"),
        Some("true".to_owned()),
        "an invalid document cannot be saved"
    );
    browser.checkpoint("custom-data-invalid").await;
    browser
        .fill(
            "customData (a JSON object; empty removes it)",
            "{\"plan\": \"gold\", \"seats\": 3}",
        )
        .await;
    browser.click_on("Save customData").await;
    browser.wait_for_text("customData saved.").await;

    // Assign the application and add the user to the group.
    browser.fill("externalAccountId (optional)", "PAY-7").await;
    browser.click_on("Assign").await;
    browser.wait_for_text("Applications changed.").await;
    browser.fill("Add to group (its name)", "Engineering").await;
    browser.click_on("Add").await;
    browser.wait_for_text("Groups changed.").await;

    // Disable it.
    browser.click_on("Disable").await;
    browser.wait_for_text("Status changed.").await;
    browser.wait_for_text("disabled").await;
    browser.wait_for_text("user.assigned").await;
    browser.checkpoint("user-edited").await;

    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(user["active"], false);
    let roster = &user["urn:ietf:params:scim:schemas:extension:roster:2.0:User"];
    assert_eq!(roster["customData"], json!({"plan": "gold", "seats": 3}));
    assert_eq!(roster["apps"][0]["value"], app["id"]);
    assert_eq!(roster["apps"][0]["externalAccountId"], "PAY-7");
    assert_eq!(user["groups"][0]["value"], group["id"]);

    // Its audit history.
    browser.click_on("All events of this user").await;
    browser.wait_for_text("Audit log").await;
    browser.wait_for_text("user.created").await;
    browser.checkpoint("audit").await;

    // Delete it, after the confirmation.
    browser.goto(&user_url).await;
    browser.click_on("Delete").await;
    browser.wait_for_text("This cannot be undone.").await;
    browser.checkpoint("delete-confirmation").await;
    browser.click_on("Delete user").await;
    browser
        .wait_for_text("Search by name, user name or email")
        .await;
    let (status, _) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    // The other pages.
    for (path, text, name) in [
        ("/admin/groups", "New group", "groups"),
        (
            &format!("/admin/groups/{}", group["id"].as_str().expect("id")),
            "Add member",
            "group",
        ),
        ("/admin/apps", "New application", "apps"),
    ] {
        browser.goto(&format!("{}{path}", server.base)).await;
        browser.wait_for_text(text).await;
        browser.checkpoint(name).await;
    }
    browser.click_on("Sign out").await;
    browser.wait_for_text("You are signed out.").await;
}

async fn sign_in_refusals_and_ended_sessions_are_shown_in_plain_words(server: TestServer) {
    for window in [Window::Wide, Window::Narrow] {
        refusals(&server, window).await;
    }
}

async fn refusals(server: &TestServer, window: Window) {
    use diesel::RunQueryDsl;
    let tenant = server.tenant().await;
    let test = format!("portal_{:?}", server.backend).to_lowercase();
    let browser = Browser::start(&test, window).await;

    // A wrong secret.
    browser
        .goto(&format!("{}/admin/sign-in", server.base))
        .await;
    browser
        .fill("Client id", &tenant.credentials.client_id)
        .await;
    browser.fill("Client secret", "rcs_not-the-secret").await;
    browser.click_on("Sign in").await;
    browser
        .wait_for_text("The client id or the client secret is wrong.")
        .await;
    browser.checkpoint("wrong-secret").await;

    // A form posted without the session's CSRF token is refused.
    sign_in(&browser, server, &tenant).await;
    browser.click_on("New user").await;
    browser.fill("User name *", "csrf.victim").await;
    browser
        .script(
            "document.querySelector('form[action=\"/admin/users\"] input[name=csrf]').remove()",
            Vec::new(),
        )
        .await;
    browser.click_on("Create user").await;
    browser.wait_for_text("Form refused").await;
    browser.screenshot("csrf-refused").await;
    // The refusal is a 403, which the browser logs; nothing else is logged.
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|error| error.contains("403")),
        "{errors:?}"
    );
    let (_, list) = tenant
        .get("/Users?filter=userName%20eq%20%22csrf.victim%22")
        .await;
    assert_eq!(list["totalResults"], 0);

    // An ended session sends the next page to the sign-in page.
    server
        .store
        .write_blocking(|conn| {
            roster::with_conn!(conn, c => diesel::sql_query(
                "UPDATE api_tokens SET expires_at = created_at WHERE kind = 'portal'"
            )
            .execute(c))
            .map_err(roster::store::StoreError::from)
        })
        .expect("sessions end");
    browser.goto(&format!("{}/admin/groups", server.base)).await;
    browser
        .wait_for_text("Your session has ended. Sign in again.")
        .await;
    browser.checkpoint("session-ended").await;
    let (status, events) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            "/audit-events?action=auth.failed",
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        events["events"][0]["detail"]["reason"],
        Value::from("wrong client secret")
    );
}
