//! Synthetic data for load tests: `roster seed` fills a tenant with realistic users
//! (names, emails, phones, enterprise data, custom data, app assignments) and groups,
//! in large transactions that bypass the HTTP layer but not the store's rules.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{DomainError, new_id, now};
use crate::auth::{generate_secret, hash_token};
use crate::store::Store;
use crate::store::assignments::{AssignmentRow, upsert_assignment};
use crate::store::groups::{MemberRow, NewGroupRow, add_members, insert_group};
use crate::store::substring::optimize_indexes;
use crate::store::tenants::{self as tenant_repo, ApplicationRow};
use crate::store::users::{NewUserRow, UserLookupColumns, insert_user, value_rows};

/// What to create.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub tenant: String,
    pub users: u64,
    pub groups: u64,
    pub max_group_size: u64,
    pub seed: u64,
}

/// What was created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedReport {
    pub tenant_id: String,
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub seconds: f64,
}

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "José",
    "Zoë",
    "Aiko",
    "Chen",
    "Fatima",
    "Olga",
    "Lars",
    "Ingrid",
    "Mateo",
    "Amara",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Rodríguez",
    "Martínez",
    "Nguyễn",
    "Müller",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Johansson",
    "Rossi",
    "Dubois",
    "Novak",
    "Haddad",
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Engineering",
    "Support",
    "Finance",
    "Marketing",
    "Operations",
    "Legal",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Consultant",
    "Designer",
    "Intern",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "corp.test", "mail.test"];
const BATCH: u64 = 2_000;

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// The attribute document of synthetic user number `n`.
pub fn synthetic_user(rng: &mut StdRng, n: u64) -> Value {
    let given = pick(rng, GIVEN);
    let family = pick(rng, FAMILY);
    let domain = pick(rng, DOMAINS);
    let login = format!("{}.{}.{n}", given.to_lowercase(), family.to_lowercase());
    json!({
        "userName": format!("{login}@{domain}"),
        "externalId": format!("ext-{n:08}"),
        "name": {"givenName": given, "familyName": family, "formatted": format!("{given} {family}")},
        "displayName": format!("{given} {family}"),
        "title": pick(rng, TITLES),
        "active": rng.random_bool(0.95),
        "emails": [
            {"value": format!("{login}@{domain}"), "type": "work", "primary": true},
            {"value": format!("{login}@home.test"), "type": "home"}
        ],
        "phoneNumbers": [{"value": format!("+1 555 {:07}", n % 10_000_000), "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{n}"),
            "department": pick(rng, DEPARTMENTS),
            "costCenter": format!("CC-{}", rng.random_range(100..999)),
        }
    })
}

/// Seeds a tenant (created when missing) with users and groups.
pub async fn seed(store: &Store, plan: SeedPlan) -> Result<SeedReport, DomainError> {
    let started = std::time::Instant::now();
    let tenant_name = plan.tenant.clone();
    let (tenant_id, app_id) = store
        .write(move |conn| {
            let tenant = match tenant_repo::find_tenant_by_name(conn, &tenant_name)? {
                Some(tenant) => tenant,
                None => {
                    super::tenants::create_tenant(conn, &tenant_name)?;
                    tenant_repo::find_tenant_by_name(conn, &tenant_name)?
                        .ok_or_else(|| DomainError::NotFound("tenant vanished".into()))?
                }
            };
            let app = ApplicationRow {
                id: new_id(),
                tenant_id: tenant.id.clone(),
                name: format!("Seeded app {}", &new_id()[24..]),
                client_id: generate_secret("rcl_"),
                client_secret_hash: hash_token(&generate_secret("rcs_")),
                is_management: false,
                allow_signup_on_signin: true,
                created_at: now(),
            };
            tenant_repo::insert_application(conn, &app)?;
            Ok::<_, DomainError>((tenant.id, app.id))
        })
        .await?;

    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut user_ids: Vec<String> = Vec::with_capacity(plan.users as usize);
    let mut created = 0;
    while created < plan.users {
        let count = BATCH.min(plan.users - created);
        let mut batch = Vec::with_capacity(count as usize);
        for n in created..created + count {
            let doc = synthetic_user(&mut rng, n);
            let custom = json!({"plan": pick(&mut rng, &["free", "pro", "enterprise"]), "seats": rng.random_range(1..50)});
            let assigned = rng.random_bool(0.5);
            batch.push((doc, custom, assigned));
        }
        let tenant = tenant_id.clone();
        let app = app_id.clone();
        let ids = store
            .write(move |conn| {
                let at = now();
                let mut ids = Vec::with_capacity(batch.len());
                for (doc, custom, assigned) in batch {
                    let id = new_id();
                    let row = NewUserRow {
                        id: id.clone(),
                        tenant_id: tenant.clone(),
                        attributes: doc.to_string(),
                        password_hash: None,
                        status: "pending".into(),
                        custom_data: Some(custom.to_string()),
                        birthday: None,
                        created_at: at,
                        last_modified: at,
                        version: 1,
                        lookup: UserLookupColumns::from_attributes(&doc),
                    };
                    insert_user(conn, &row, &value_rows(&tenant, &id, &doc))?;
                    if assigned {
                        upsert_assignment(
                            conn,
                            &AssignmentRow {
                                user_id: id.clone(),
                                app_id: app.clone(),
                                tenant_id: tenant.clone(),
                                external_account_id: None,
                                custom_app_data: None,
                                consents: None,
                                assigned_at: at,
                                last_sign_in: None,
                            },
                        )?;
                    }
                    ids.push(id);
                }
                Ok::<_, DomainError>(ids)
            })
            .await?;
        user_ids.extend(ids);
        created += count;
    }

    let mut memberships = 0;
    for g in 0..plan.groups {
        let size = if plan.max_group_size == 0 || user_ids.is_empty() {
            0
        } else {
            rng.random_range(1..=plan.max_group_size.min(user_ids.len() as u64))
        };
        let start = rng.random_range(0..user_ids.len().max(1));
        let members: Vec<String> = (0..size as usize)
            .map(|i| user_ids[(start + i) % user_ids.len()].clone())
            .collect();
        memberships += members.len() as u64;
        let tenant = tenant_id.clone();
        let name = format!("Seeded group {g} {}", &new_id()[24..]);
        store
            .write(move |conn| {
                let at = now();
                let id = new_id();
                insert_group(
                    conn,
                    &NewGroupRow {
                        id: id.clone(),
                        tenant_id: tenant.clone(),
                        attributes: json!({"displayName": name}).to_string(),
                        custom_data: None,
                        display_name_ci: crate::casefold::fold(&name),
                        external_id: None,
                        created_at: at,
                        last_modified: at,
                        version: 1,
                        created_by_app: None,
                    },
                )?;
                let rows: Vec<MemberRow> = members
                    .into_iter()
                    .map(|member_id| MemberRow {
                        group_id: id.clone(),
                        member_id,
                        member_type: "User".into(),
                        tenant_id: tenant.clone(),
                    })
                    .collect();
                add_members(conn, &rows)?;
                Ok::<_, DomainError>(())
            })
            .await?;
    }
    store
        .write(|conn| Ok::<_, DomainError>(optimize_indexes(conn)?))
        .await?;
    store.analyze().await?;
    Ok(SeedReport {
        tenant_id,
        users: plan.users,
        groups: plan.groups,
        memberships,
        seconds: started.elapsed().as_secs_f64(),
    })
}
