//! Sign-in records: an authentication flow tells Roster that a user signed in to an
//! application. Known users are recorded (and assigned, when the application allows
//! sign-up on sign-in); unknown ones are created under the same rule; social
//! accounts are linked; the answer carries the user's OpenID Connect claims.

use serde_json::{Map, Value, json};

use super::users::{User, UserInput, insert_new_user, load_user, record};
use super::{DomainError, now, record_event};
use crate::casefold::fold;
use crate::store::Scope;
use crate::store::assignments::{self as assignment_repo, SocialAccountRow};
use crate::store::tenants::{ApplicationRow, find_application};
use crate::store::users as user_repo;
use crate::store::{Conn, Store};
use crate::text_rules::check_controls;

/// Who signed in.
#[derive(Debug, Clone)]
pub enum SignInSubject {
    UserId(String),
    UserName(String),
    Email(String),
    Social(SocialProfile),
}

/// What a social identity provider said about the user.
#[derive(Debug, Clone, Default)]
pub struct SocialProfile {
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// The signed-in user and their claims.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub user: User,
    pub claims: Value,
}

/// A sign-in the rules refuse: answered with `error`, and recorded in the audit log
/// with `reason`.
struct Refusal {
    reason: &'static str,
    /// The user the sign-in named, when there is one.
    user_id: Option<String>,
    error: DomainError,
}

impl Refusal {
    fn new(reason: &'static str, user_id: Option<&str>, error: DomainError) -> Refusal {
        Refusal {
            reason,
            user_id: user_id.map(str::to_owned),
            error,
        }
    }
}

pub async fn record_sign_in(
    store: &Store,
    scope: &Scope,
    subject: SignInSubject,
) -> Result<SignIn, DomainError> {
    check_subject_text(&subject)?;
    let scope = scope.clone();
    // A refusal commits its audit event and then answers with its error.
    store
        .write(
            move |conn| -> Result<Result<SignIn, DomainError>, DomainError> {
                let app =
                    find_application(conn, &scope.tenant_id, &scope.app_id)?.ok_or_else(|| {
                        DomainError::Unauthorized("the token's application no longer exists".into())
                    })?;
                match sign_in(conn, &scope, &app, &subject)? {
                    Ok(signed_in) => Ok(Ok(signed_in)),
                    Err(refusal) => {
                        let detail = json!({"app": app.id, "reason": refusal.reason,
                            "signin": describe(&subject)});
                        match &refusal.user_id {
                            Some(user_id) => {
                                record(conn, &scope, "signin.refused", user_id, detail)?
                            }
                            None => record_event(
                                conn,
                                &scope,
                                "Application",
                                "signin.refused",
                                &app.id,
                                detail,
                            )?,
                        }
                        Ok(Err(refusal.error))
                    }
                }
            },
        )
        .await?
}

/// What a sign-in named, for the audit log: identifiers only.
fn describe(subject: &SignInSubject) -> Value {
    match subject {
        SignInSubject::UserId(id) => json!({"user_id": id}),
        SignInSubject::UserName(name) => json!({"user_name": name}),
        SignInSubject::Email(email) => json!({"email": email}),
        SignInSubject::Social(profile) => json!({
            "provider": profile.provider,
            "subject": profile.subject,
            "email_verified": profile.email_verified.unwrap_or(false),
        }),
    }
}

/// The answer to a sign-in that names no user the application may see or create.
fn no_such_user() -> DomainError {
    DomainError::NotFound(
        "no such user, and this application does not allow sign-up on sign-in".into(),
    )
}

fn sign_in(
    conn: &mut Conn,
    scope: &Scope,
    app: &ApplicationRow,
    subject: &SignInSubject,
) -> Result<Result<SignIn, Refusal>, DomainError> {
    let at = now();
    let user_id = match find_subject(conn, &scope.tenant_id, subject)? {
        Some(found) => {
            let row = found.user;
            let assigned = assignment_repo::find_assignment(conn, &row.id, &app.id)?.is_some();
            // A user this application cannot see and may not sign up is answered like
            // one that does not exist; the audit log keeps the real reason.
            if !assigned && !app.allow_signup_on_signin {
                return Ok(Err(Refusal::new(
                    "not_assigned",
                    Some(&row.id),
                    no_such_user(),
                )));
            }
            let active = serde_json::from_str::<Map<String, Value>>(&row.attributes)
                .map_err(|_| super::users::corrupt_attributes(&row.id))?
                .get("active")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if !active {
                return Ok(Err(Refusal::new(
                    "user_disabled",
                    Some(&row.id),
                    DomainError::Forbidden("the user is disabled; sign-in refused".into()),
                )));
            }
            if !assigned {
                super::assignments::assign(conn, scope, &row.id, &app.id, at)?;
            }
            if let (SignInSubject::Social(profile), false) = (subject, found.linked) {
                link_social(conn, scope, &app.id, &row.id, profile, "verified_email", at)?;
            }
            row.id
        }
        None => {
            if !app.allow_signup_on_signin {
                return Ok(Err(Refusal::new("unknown_user", None, no_such_user())));
            }
            let input = match new_user_input(conn, &scope.tenant_id, subject)? {
                Ok(input) => input,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let user_id = insert_new_user(conn, scope, input, None)?;
            if let SignInSubject::Social(profile) = subject {
                link_social(conn, scope, &app.id, &user_id, profile, "sign_up", at)?;
            }
            user_id
        }
    };
    user_repo::record_sign_in(conn, &scope.tenant_id, &user_id, at)?;
    assignment_repo::touch_assignment(conn, &user_id, &app.id, at)?;
    let provider = match subject {
        SignInSubject::Social(profile) => Some(profile.provider.as_str()),
        _ => None,
    };
    record(
        conn,
        scope,
        "user.signed_in",
        &user_id,
        json!({"app": app.id, "provider": provider}),
    )?;
    let user = load_user(conn, scope, &user_id)?;
    let verified_email = match subject {
        SignInSubject::Social(profile) if profile.email_verified == Some(true) => {
            profile.email.as_deref()
        }
        _ => None,
    };
    let claims = oidc_claims(&user, verified_email)?;
    Ok(Ok(SignIn { user, claims }))
}

/// The user a sign-in names, and whether it came through a linked social account.
struct FoundUser {
    user: user_repo::UserRow,
    linked: bool,
}

/// The user a sign-in names. A social account is found by its link; failing that,
/// by its email only when the provider asserts it is verified, so that nobody
/// takes over an account by claiming its address.
fn find_subject(
    conn: &mut Conn,
    tenant_id: &str,
    subject: &SignInSubject,
) -> Result<Option<FoundUser>, DomainError> {
    let unlinked = |user: Option<user_repo::UserRow>| {
        user.map(|user| FoundUser {
            user,
            linked: false,
        })
    };
    Ok(match subject {
        SignInSubject::UserId(id) => unlinked(user_repo::find_user(conn, tenant_id, id)?),
        SignInSubject::UserName(name) => {
            unlinked(user_repo::find_user_by_user_name(conn, tenant_id, name)?)
        }
        SignInSubject::Email(email) => unlinked(
            user_repo::find_users_by_email(conn, tenant_id, email)?
                .into_iter()
                .next(),
        ),
        SignInSubject::Social(profile) => {
            match assignment_repo::find_social_account(
                conn,
                tenant_id,
                &profile.provider,
                &profile.subject,
            )? {
                Some(account) => user_repo::find_user(conn, tenant_id, &account.user_id)?
                    .map(|user| FoundUser { user, linked: true }),
                None => match (&profile.email, profile.email_verified) {
                    (Some(email), Some(true)) => unlinked(
                        user_repo::find_users_by_email(conn, tenant_id, email)?
                            .into_iter()
                            .next(),
                    ),
                    _ => None,
                },
            }
        }
    })
}

/// Links a social account to a user. A provider's subject belongs to at most one
/// user of a tenant and is never moved to another.
fn link_social(
    conn: &mut Conn,
    scope: &Scope,
    app_id: &str,
    user_id: &str,
    profile: &SocialProfile,
    through: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), DomainError> {
    let tenant_id = &scope.tenant_id;
    if let Some(account) =
        assignment_repo::find_social_account(conn, tenant_id, &profile.provider, &profile.subject)?
    {
        if account.user_id == user_id {
            return Ok(());
        }
        return Err(DomainError::Conflict(
            "this social account is linked to another user".into(),
        ));
    }
    assignment_repo::insert_social_account(
        conn,
        &SocialAccountRow {
            user_id: user_id.to_owned(),
            tenant_id: tenant_id.to_string(),
            provider: profile.provider.clone(),
            subject: profile.subject.clone(),
            email: profile.email.clone(),
            linked_at: at,
        },
    )?;
    record(
        conn,
        scope,
        "user.social_linked",
        user_id,
        json!({"app": app_id, "provider": profile.provider, "subject": profile.subject,
            "email_verified": profile.email_verified.unwrap_or(false), "through": through}),
    )
}

/// Refuses control characters in the strings that name the user, before any look-up
/// (PostgreSQL refuses NUL in a parameter); the created user's own attributes are
/// checked like any other user's.
fn check_subject_text(subject: &SignInSubject) -> Result<(), DomainError> {
    let named: Vec<(&str, &str)> = match subject {
        SignInSubject::UserId(id) => vec![("user_id", id)],
        SignInSubject::UserName(name) => vec![("user_name", name)],
        SignInSubject::Email(email) => vec![("email", email)],
        SignInSubject::Social(profile) => [
            ("social.provider", Some(&profile.provider)),
            ("social.subject", Some(&profile.subject)),
            ("social.email", profile.email.as_ref()),
        ]
        .into_iter()
        .filter_map(|(field, text)| text.map(|text| (field, text.as_str())))
        .collect(),
    };
    for (field, text) in named {
        check_controls(text, false, || field.to_owned())
            .map_err(|e| DomainError::InvalidValue(e.to_string()))?;
    }
    Ok(())
}

/// The user a sign-up on sign-in creates. A social sign-up takes the email as its
/// userName and address only when the provider asserts it is verified; otherwise
/// (or when that userName is taken) the userName is `provider:subject` and the
/// address stays on the social account alone, so an unverified address never
/// becomes an identity that finds the user.
fn new_user_input(
    conn: &mut Conn,
    tenant_id: &str,
    subject: &SignInSubject,
) -> Result<Result<UserInput, Refusal>, DomainError> {
    let mut attributes = Map::new();
    let (user_name, email) = match subject {
        SignInSubject::UserId(_) => {
            return Ok(Err(Refusal::new(
                "unknown_user",
                None,
                DomainError::NotFound("no user has this id".into()),
            )));
        }
        SignInSubject::UserName(name) => (name.clone(), None),
        SignInSubject::Email(email) => (email.clone(), Some(email.clone())),
        SignInSubject::Social(profile) => {
            let mut name = Map::new();
            if let Some(given) = &profile.given_name {
                name.insert("givenName".into(), given.clone().into());
            }
            if let Some(family) = &profile.family_name {
                name.insert("familyName".into(), family.clone().into());
            }
            if !name.is_empty() {
                attributes.insert("name".into(), Value::Object(name));
            }
            if let Some(display) = &profile.name {
                attributes.insert("displayName".into(), display.clone().into());
            }
            if let Some(picture) = &profile.picture {
                attributes.insert(
                    "photos".into(),
                    json!([{"value": picture, "type": "photo"}]),
                );
            }
            let verified_email = profile
                .email
                .clone()
                .filter(|_| profile.email_verified == Some(true));
            let candidates = verified_email
                .iter()
                .cloned()
                .chain([format!("{}:{}", profile.provider, profile.subject)]);
            let mut free = None;
            for candidate in candidates {
                if user_repo::find_user_by_user_name(conn, tenant_id, &candidate)?.is_none() {
                    free = Some(candidate);
                    break;
                }
            }
            let Some(user_name) = free else {
                return Ok(Err(Refusal::new(
                    "user_name_taken",
                    None,
                    DomainError::Conflict(
                        "the social account's userName is already used by another user".into(),
                    ),
                )));
            };
            (user_name, verified_email)
        }
    };
    if user_name.trim().is_empty() {
        return Err(DomainError::InvalidValue(
            "the sign-in names no user".into(),
        ));
    }
    attributes.insert("userName".into(), user_name.into());
    if let Some(email) = email {
        attributes.insert("emails".into(), json!([{"value": email, "primary": true}]));
    }
    Ok(Ok(UserInput {
        attributes,
        password: None,
        roster: None,
    }))
}

/// The user's identity as the standard claims of an OpenID Connect ID token
/// (OpenID Connect Core 1.0 §5.1). `email_verified` is true when the claimed email
/// is `verified_email`, the one the identity provider asserted as verified.
pub fn oidc_claims(user: &User, verified_email: Option<&str>) -> Result<Value, DomainError> {
    let attributes = user
        .attributes
        .to_map()
        .map_err(|_| super::users::corrupt_attributes(&user.id))?;
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let primary_of = |name: &str| -> Option<String> {
        let values = attributes.get(name)?.as_array()?;
        let chosen = values
            .iter()
            .find(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| values.first())?;
        text(chosen.get("value"))
    };
    let name = attributes.get("name");
    let given = text(name.and_then(|n| n.get("givenName")));
    let family = text(name.and_then(|n| n.get("familyName")));
    let full_name = text(attributes.get("displayName"))
        .or_else(|| text(name.and_then(|n| n.get("formatted"))))
        .or_else(|| match (&given, &family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            _ => None,
        });
    let mut claims = Map::new();
    claims.insert("sub".into(), user.id.clone().into());
    claims.insert(
        "preferred_username".into(),
        attributes.get("userName").cloned().unwrap_or(Value::Null),
    );
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            claims.insert(key.into(), value.into());
        }
    };
    put("name", full_name);
    put("given_name", given);
    put("family_name", family);
    put("middle_name", text(name.and_then(|n| n.get("middleName"))));
    put("nickname", text(attributes.get("nickName")));
    put("profile", text(attributes.get("profileUrl")));
    put("picture", primary_of("photos"));
    put("email", primary_of("emails"));
    put("phone_number", primary_of("phoneNumbers"));
    put("locale", text(attributes.get("locale")));
    put("zoneinfo", text(attributes.get("timezone")));
    put(
        "birthdate",
        user.birthday.map(|b| b.format("%Y-%m-%d").to_string()),
    );
    if let Some(email) = claims.get("email").and_then(Value::as_str) {
        let verified = verified_email.is_some_and(|v| fold(v) == fold(email));
        claims.insert("email_verified".into(), verified.into());
    }
    if claims.contains_key("phone_number") {
        claims.insert("phone_number_verified".into(), false.into());
    }
    claims.insert(
        "updated_at".into(),
        user.last_modified.and_utc().timestamp().into(),
    );
    let groups = user
        .groups
        .iter()
        .map(|g| Value::from(g.display.clone().unwrap_or_else(|| g.group_id.clone())))
        .collect();
    claims.insert("groups".into(), Value::Array(groups));
    claims.insert("roster_status".into(), user.status.as_str().into());
    Ok(Value::Object(claims))
}
