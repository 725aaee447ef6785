//! Where a filter becomes SQL: a resolved filter translated into one SQL condition
//! with bound parameters, for SQLite or PostgreSQL. Every comparison is written to be
//! two-valued (never SQL NULL), so `not (…)` means exactly what the in-memory matcher
//! means. Multi-valued attributes become `EXISTS` over their rows.

use std::borrow::Cow;

use serde_json::Value;

use crate::filter::ast::CompareOp;
use crate::schema::matcher;
use crate::schema::resolve::{Location, ResolveError, Resolved, Target, TypedValue, ValueKind};
use crate::store::Backend;
use crate::store::columns::{MULTI_VALUED_ATTRIBUTES, USER_LOOKUP_COLUMNS};
use crate::store::scope::{and_member_visible, push_user_visible};
use crate::store::sql::{SqlBuilder, SqlParam};
use crate::urn;

/// How a user attribute is stored, for SQL.
#[derive(Debug, Clone)]
pub enum UserColumn {
    /// A column of `users u` (or `groups g`), or an expression over its row.
    Plain(Cow<'static, str>),
    /// Rows of `user_values v` for `attribute`; `column` is the sub-attribute's
    /// column, `None` when testing whole values.
    MultiValued {
        attribute: &'static str,
        column: Option<&'static str>,
    },
    /// A member inside the JSON text column `column`.
    FreeForm {
        column: &'static str,
        path: Vec<String>,
    },
    /// `User.groups`: the groups holding the user, directly or through nesting.
    UserGroups { sub_attribute: Option<&'static str> },
}

/// The users' columns with a trigram index, each with its column in SQLite's FTS5
/// index (`store::substring`); on PostgreSQL each has a `pg_trgm` index of its own,
/// as has every multi-valued attribute's `value_ci`.
pub const TRIGRAM_USER_COLUMNS: &[(&str, &str)] = &[
    ("u.user_name_ci", "user_name"),
    ("u.display_name_ci", "display_name"),
    ("u.name_formatted_ci", "name_formatted"),
    ("u.given_name_ci", "given_name"),
    ("u.family_name_ci", "family_name"),
    ("u.external_id", "external_id"),
];

/// Which resource's table a condition is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceTable {
    /// `users u`
    Users,
    /// `groups g`
    Groups,
}

/// The SQL home of a resolved group attribute.
pub fn group_column(target: &Target, _backend: Backend) -> Result<UserColumn, ResolveError> {
    let unsupported = |what: &str| {
        Err(ResolveError(format!(
            "filtering or sorting on '{what}' is not supported"
        )))
    };
    match &target.location {
        Location::Id => Ok(UserColumn::Plain("g.id".into())),
        Location::ExternalId => Ok(UserColumn::Plain("g.external_id".into())),
        Location::MetaCreated => Ok(UserColumn::Plain("g.created_at".into())),
        Location::MetaLastModified => Ok(UserColumn::Plain("g.last_modified".into())),
        Location::MetaResourceType => Ok(UserColumn::Plain("'Group'".into())),
        Location::Schemas => unsupported("schemas"),
        Location::FreeForm {
            schema,
            attribute,
            path,
        } if *schema == urn::ROSTER_GROUP && *attribute == "customData" => {
            Ok(UserColumn::FreeForm {
                column: "g.custom_data",
                path: path.clone(),
            })
        }
        Location::Attribute {
            schema,
            attribute,
            sub_attribute,
        } if *schema == urn::CORE_GROUP => match (*attribute, sub_attribute) {
            ("displayName", None) => Ok(UserColumn::Plain("g.display_name_ci".into())),
            ("members", sub) => {
                let column = match sub {
                    None => None,
                    Some(sub) => Some(group_member_column(sub).ok_or_else(|| {
                        ResolveError(format!("filtering on 'members.{sub}' is not supported"))
                    })?),
                };
                Ok(UserColumn::MultiValued {
                    attribute: "members",
                    column,
                })
            }
            (other, _) => unsupported(other),
        },
        Location::Attribute {
            schema, attribute, ..
        } if *schema == urn::ROSTER_GROUP && *attribute == "customData" => {
            Ok(UserColumn::FreeForm {
                column: "g.custom_data",
                path: Vec::new(),
            })
        }
        Location::Attribute { attribute, .. } => unsupported(attribute),
        Location::FreeForm { attribute, .. } => unsupported(attribute),
        Location::MetaLocation | Location::MetaVersion => {
            unsupported("meta.location / meta.version")
        }
        Location::Element { sub_attribute } => unsupported(sub_attribute),
    }
}

fn group_member_column(sub: &str) -> Option<&'static str> {
    match sub {
        "value" => Some("gm.member_id"),
        "type" => Some("lower(gm.member_type)"),
        _ => None,
    }
}

/// Whether the column a user sort orders by is never NULL (userName, id, the meta
/// times): its ORDER BY then needs no missing-values-last term, and an index on the
/// column gives the order without a sort.
pub fn user_sort_key_never_null(target: &Target, backend: Backend) -> bool {
    matches!(
        user_column(target, backend),
        Ok(UserColumn::Plain(column))
            if matches!(&*column, "u.user_name_ci" | "u.id" | "u.created_at" | "u.last_modified")
    )
}

/// The SQL home of a resolved user attribute.
pub fn user_column(target: &Target, backend: Backend) -> Result<UserColumn, ResolveError> {
    let unsupported = |what: String| {
        Err(ResolveError(format!(
            "filtering or sorting on '{what}' is not supported"
        )))
    };
    match &target.location {
        Location::Id => Ok(UserColumn::Plain("u.id".into())),
        Location::ExternalId => Ok(UserColumn::Plain("u.external_id".into())),
        Location::MetaCreated => Ok(UserColumn::Plain("u.created_at".into())),
        Location::MetaLastModified => Ok(UserColumn::Plain("u.last_modified".into())),
        Location::MetaResourceType => Ok(UserColumn::Plain("'User'".into())),
        Location::Schemas => unsupported("schemas".into()),
        Location::MetaLocation | Location::MetaVersion => {
            unsupported("meta.location / meta.version".into())
        }
        Location::Element { sub_attribute } => unsupported((*sub_attribute).into()),
        Location::FreeForm {
            schema,
            attribute,
            path,
        } if *schema == urn::ROSTER_USER && *attribute == "customData" => {
            Ok(UserColumn::FreeForm {
                column: "u.custom_data",
                path: path.clone(),
            })
        }
        Location::FreeForm { attribute, .. } => unsupported((*attribute).into()),
        Location::Attribute {
            schema,
            attribute,
            sub_attribute,
        } => {
            if *schema == urn::ROSTER_USER {
                return match (*attribute, sub_attribute) {
                    ("status", None) => Ok(UserColumn::Plain(
                        "(CASE WHEN u.active THEN u.status ELSE 'disabled' END)".into(),
                    )),
                    ("lastSignIn", None) => Ok(UserColumn::Plain("u.last_sign_in".into())),
                    ("birthday", None) => Ok(UserColumn::Plain(match backend {
                        Backend::Sqlite => "u.birthday".into(),
                        Backend::Postgres => "to_char(u.birthday, 'YYYY-MM-DD')".into(),
                    })),
                    ("customData", None) => Ok(UserColumn::FreeForm {
                        column: "u.custom_data",
                        path: Vec::new(),
                    }),
                    _ => unsupported(attribute.to_string()),
                };
            }
            if *schema == urn::CORE_USER && *attribute == "groups" {
                return Ok(UserColumn::UserGroups {
                    sub_attribute: *sub_attribute,
                });
            }
            if *schema == urn::CORE_USER && *attribute == "active" {
                return Ok(UserColumn::Plain("u.active".into()));
            }
            if let Some(&(multi, _)) = MULTI_VALUED_ATTRIBUTES
                .iter()
                .find(|(name, _)| name == attribute)
            {
                let column = match sub_attribute {
                    None => None,
                    Some(sub) => Some(value_column(multi, sub).ok_or_else(|| {
                        ResolveError(format!("filtering on '{attribute}.{sub}' is not supported"))
                    })?),
                };
                return Ok(UserColumn::MultiValued {
                    attribute: multi,
                    column,
                });
            }
            let core = *schema == urn::CORE_USER;
            let found = USER_LOOKUP_COLUMNS.iter().find(|(_, source)| {
                source.attribute == *attribute
                    && source.sub_attribute == *sub_attribute
                    && (if core {
                        source.schema.is_none()
                    } else {
                        source.schema == Some(*schema)
                    })
            });
            match found {
                Some((column, _)) => Ok(UserColumn::Plain(Cow::Borrowed(column))),
                None => unsupported(match sub_attribute {
                    Some(sub) => format!("{attribute}.{sub}"),
                    None => (*attribute).to_owned(),
                }),
            }
        }
    }
}

/// The indexed columns an equality look-up of users can go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedColumn {
    Id,
    ExternalId,
    UserName,
    /// The case-folded value of a multi-valued attribute (`emails.value`, …).
    Value,
}

impl IndexedColumn {
    fn of(target: &Target) -> Option<IndexedColumn> {
        match user_column(target, Backend::Sqlite).ok()? {
            UserColumn::Plain(column) => match column.as_ref() {
                "u.id" => Some(IndexedColumn::Id),
                "u.external_id" => Some(IndexedColumn::ExternalId),
                "u.user_name_ci" => Some(IndexedColumn::UserName),
                _ => None,
            },
            UserColumn::MultiValued {
                column: Some(VALUE_COLUMN),
                ..
            } => Some(IndexedColumn::Value),
            _ => None,
        }
    }
}

/// The column of `filter` when it is one equality of an indexed column with a text
/// literal (`userName eq "bjensen"`), the look-up identity providers send before
/// every change. Its condition's SQL text depends only on that column (the literal
/// and, for values, the attribute are bound), so such a search has one fixed text.
pub fn single_indexed_equality(filter: &Resolved) -> Option<IndexedColumn> {
    match filter {
        Resolved::Compare {
            target,
            op: CompareOp::Eq,
            value: TypedValue::Text(_),
        } => IndexedColumn::of(target),
        _ => None,
    }
}

/// True when every user `filter` can match is found by an equality look-up in one of
/// the users' indexes (id, userName, externalId, a multi-valued attribute's value),
/// so that a search with it reads a handful of rows however large the tenant is.
pub fn is_user_index_lookup(filter: &Resolved) -> bool {
    match filter {
        Resolved::And(left, right) => is_user_index_lookup(left) || is_user_index_lookup(right),
        Resolved::Compare {
            target,
            op: CompareOp::Eq,
            ..
        } => IndexedColumn::of(target).is_some(),
        Resolved::ValuePath { target, filter } => match filter.as_ref() {
            Resolved::Compare {
                target: element,
                op: CompareOp::Eq,
                ..
            } => {
                element.location
                    == (Location::Element {
                        sub_attribute: "value",
                    })
                    && matches!(
                        user_column(target, Backend::Sqlite),
                        Ok(UserColumn::MultiValued { attribute, .. })
                            if value_column(attribute, "value") == Some("v.value_ci")
                    )
            }
            _ => false,
        },
        _ => false,
    }
}

/// The `user_values` column of a sub-attribute.
fn value_column(attribute: &str, sub: &str) -> Option<&'static str> {
    let exact = MULTI_VALUED_ATTRIBUTES
        .iter()
        .any(|(name, exact)| *name == attribute && *exact);
    Some(match sub {
        "value" if exact => "v.value_exact",
        "value" => "v.value_ci",
        "display" => "v.display_ci",
        "type" => "v.type_ci",
        "primary" => "v.is_primary",
        "formatted" => "v.formatted_ci",
        "streetAddress" => "v.street_address_ci",
        "locality" => "v.locality_ci",
        "region" => "v.region_ci",
        "postalCode" => "v.postal_code_ci",
        "country" => "v.country_ci",
        _ => return None,
    })
}

/// Appends the SQL condition for `filter` over `users u` of tenant `tenant_id`;
/// with `app_id`, a reference to another user counts only if that application may
/// see the user.
pub fn push_user_condition(
    builder: &mut SqlBuilder,
    tenant_id: &str,
    app_id: Option<&str>,
    filter: &Resolved,
) -> Result<(), ResolveError> {
    Translator::of_users(tenant_id, app_id).condition(builder, filter)
}

/// [`push_user_condition`] for a search that reaches each user on its own (from an
/// index's candidates, or in order until a page is full): a multi-valued attribute is
/// tested on that user's rows, never by collecting every matching row of the tenant.
pub fn push_user_condition_per_row(
    builder: &mut SqlBuilder,
    tenant_id: &str,
    app_id: Option<&str>,
    filter: &Resolved,
) -> Result<(), ResolveError> {
    Translator {
        values_per_row: true,
        ..Translator::of_users(tenant_id, app_id)
    }
    .condition(builder, filter)
}

/// A filter that is one equality on a multi-valued attribute's value
/// (`emails.value eq "…"`). A search can read its users by joining from the matching
/// `user_values v` rows, rather than through `u.id IN (…)`, which SQLite first copies
/// into a temporary index.
pub struct ValueLookup<'f> {
    attribute: &'static str,
    value: &'f TypedValue,
}

/// The case-folded value column, which the `(tenant_id, attribute, value_ci)` index
/// covers.
const VALUE_COLUMN: &str = "v.value_ci";

impl<'f> ValueLookup<'f> {
    /// The look-up `filter` is, if it is one.
    pub fn of(filter: &'f Resolved, backend: Backend) -> Option<ValueLookup<'f>> {
        let Resolved::Compare {
            target,
            op: CompareOp::Eq,
            value,
        } = filter
        else {
            return None;
        };
        match user_column(target, backend) {
            Ok(UserColumn::MultiValued {
                attribute,
                column: Some(VALUE_COLUMN),
            }) => Some(ValueLookup { attribute, value }),
            _ => None,
        }
    }

    /// The condition on `user_values v` that selects the matching rows of tenant
    /// `tenant_id`; the same rows `u.id IN (…)` would select.
    pub fn push_condition(&self, b: &mut SqlBuilder, tenant_id: &str) {
        Translator::of_users(tenant_id, None).values_of(b, self.attribute);
        b.push(" AND ");
        value_compare(b, VALUE_COLUMN, CompareOp::Eq, self.value);
    }
}

/// Appends the SQL condition for `filter` over `groups g` of tenant `tenant_id`;
/// with `app_id`, a member counts only if that application may see it.
pub fn push_group_condition(
    builder: &mut SqlBuilder,
    tenant_id: &str,
    app_id: Option<&str>,
    filter: &Resolved,
) -> Result<(), ResolveError> {
    Translator {
        element: None,
        tenant_id,
        app_id,
        table: ResourceTable::Groups,
        values_per_row: false,
    }
    .condition(builder, filter)
}

/// When a resource carries a schema URN.
enum Carried {
    Always,
    /// When the stored JSON text column holds the URN as a key, or the extra
    /// condition holds.
    KeyIn(&'static str, Option<&'static str>),
}

#[derive(Clone, Copy)]
struct Translator<'t> {
    /// Inside a value filter: the multi-valued attribute whose row is `v`.
    element: Option<&'static str>,
    tenant_id: &'t str,
    /// A regular application's scope; `None` for the Management Application.
    app_id: Option<&'t str>,
    table: ResourceTable,
    /// Test a user's multi-valued attributes on its own rows (a correlated
    /// `EXISTS`) rather than as `u.id IN` the tenant's matching rows.
    values_per_row: bool,
}

impl<'t> Translator<'t> {
    fn of_users(tenant_id: &'t str, app_id: Option<&'t str>) -> Self {
        Translator {
            element: None,
            tenant_id,
            app_id,
            table: ResourceTable::Users,
            values_per_row: false,
        }
    }

    fn condition(&self, b: &mut SqlBuilder, filter: &Resolved) -> Result<(), ResolveError> {
        match filter {
            Resolved::Or(..) if self.unites_trigram_terms(b.backend(), filter) => {
                b.push("u.id IN (");
                self.trigram_union(b, filter)?;
                b.push(")");
            }
            Resolved::And(x, y) | Resolved::Or(x, y) => {
                let joiner = if matches!(filter, Resolved::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                b.push("(");
                self.condition(b, x)?;
                b.push(joiner);
                self.condition(b, y)?;
                b.push(")");
            }
            Resolved::Not(inner) => {
                b.push("(NOT ");
                self.condition(b, inner)?;
                b.push(")");
            }
            Resolved::Present(target) if target.location == Location::Schemas => {
                self.schemas(b, |_| true);
            }
            Resolved::Compare { target, op, value } if target.location == Location::Schemas => {
                self.schemas(b, |urn| {
                    matcher::compare(&Value::from(urn), *op, value, target.kind)
                });
            }
            Resolved::Present(target) => {
                self.in_reference_scope(b, target, |b| self.present(b, target))?
            }
            Resolved::Compare { target, op, value } => {
                self.in_reference_scope(b, target, |b| self.compare(b, target, *op, value))?
            }
            Resolved::ValuePath { target, filter } => {
                let UserColumn::MultiValued { attribute, .. } =
                    self.resource_column(target, b.backend())?
                else {
                    return Err(ResolveError(
                        "value filters apply to multi-valued attributes".into(),
                    ));
                };
                self.open_values(b, attribute);
                b.push(" AND ");
                Translator {
                    element: Some(attribute),
                    ..*self
                }
                .condition(b, filter)?;
                b.push(")");
            }
        }
        Ok(())
    }

    /// Whether `filter` is an `or` of substring terms that PostgreSQL's trigram indexes
    /// answer, one a multi-valued attribute's (what a search box sends): PostgreSQL
    /// cannot combine `u.id IN (…)` with other terms' indexes and would scan the
    /// users, so each term is looked up on its own and their users united.
    fn unites_trigram_terms(&self, backend: Backend, filter: &Resolved) -> bool {
        fn terms(t: &Translator, filter: &Resolved, multi_valued: &mut bool) -> bool {
            match filter {
                Resolved::Or(x, y) => terms(t, x, multi_valued) && terms(t, y, multi_valued),
                Resolved::Compare {
                    target,
                    op: CompareOp::Co | CompareOp::Sw | CompareOp::Ew,
                    value: TypedValue::Text(fragment),
                } if fragment.chars().count() >= 3 => {
                    match user_column(target, Backend::Postgres) {
                        Ok(UserColumn::Plain(column)) => {
                            TRIGRAM_USER_COLUMNS.iter().any(|(sql, _)| *sql == column)
                        }
                        Ok(UserColumn::MultiValued {
                            column: Some(VALUE_COLUMN),
                            ..
                        }) => {
                            *multi_valued = true;
                            t.element.is_none()
                        }
                        _ => false,
                    }
                }
                _ => false,
            }
        }
        let mut multi_valued = false;
        backend == Backend::Postgres
            && self.table == ResourceTable::Users
            && self.element.is_none()
            && !self.values_per_row
            && terms(self, filter, &mut multi_valued)
            && multi_valued
    }

    /// The users of each term of [`Self::unites_trigram_terms`]'s `or`, united:
    /// `SELECT u.id FROM users u WHERE … UNION SELECT v.user_id FROM user_values v …`.
    fn trigram_union(&self, b: &mut SqlBuilder, filter: &Resolved) -> Result<(), ResolveError> {
        match filter {
            Resolved::Or(x, y) => {
                self.trigram_union(b, x)?;
                b.push(" UNION ");
                self.trigram_union(b, y)
            }
            Resolved::Compare { target, op, value } => {
                match self.column(target, b.backend())? {
                    UserColumn::MultiValued {
                        attribute,
                        column: Some(column),
                    } => {
                        b.push("SELECT v.user_id FROM user_values v WHERE ");
                        self.values_of(b, attribute);
                        b.push(" AND ");
                        value_compare(b, column, *op, value);
                    }
                    _ => {
                        b.push("SELECT u.id FROM users u WHERE u.tenant_id = ");
                        b.text(self.tenant_id);
                        b.push(" AND ");
                        self.compare(b, target, *op, value)?;
                    }
                }
                Ok(())
            }
            _ => Err(ResolveError("not a union of substring terms".into())),
        }
    }

    /// Writes a condition on `target` with `write`; in an application's scope, a
    /// condition on the manager holds only if the application may see that user.
    fn in_reference_scope(
        &self,
        b: &mut SqlBuilder,
        target: &Target,
        write: impl FnOnce(&mut SqlBuilder) -> Result<(), ResolveError>,
    ) -> Result<(), ResolveError> {
        match self.app_id {
            Some(app_id)
                if self.table == ResourceTable::Users
                    && self.element.is_none()
                    && is_manager(target) =>
            {
                b.push("(");
                push_user_visible(b, app_id, "u.manager_value_ci");
                b.push(" AND ");
                write(b)?;
                b.push(")");
                Ok(())
            }
            _ => write(b),
        }
    }

    fn column(&self, target: &Target, backend: Backend) -> Result<UserColumn, ResolveError> {
        match (&target.location, self.element) {
            (Location::Element { sub_attribute }, Some(attribute)) => {
                let column = match self.table {
                    ResourceTable::Users => value_column(attribute, sub_attribute),
                    ResourceTable::Groups => group_member_column(sub_attribute),
                };
                let column = column.ok_or_else(|| {
                    ResolveError(format!(
                        "filtering on '{attribute}.{sub_attribute}' is not supported"
                    ))
                })?;
                Ok(UserColumn::Plain(Cow::Borrowed(column)))
            }
            _ => self.resource_column(target, backend),
        }
    }

    fn resource_column(
        &self,
        target: &Target,
        backend: Backend,
    ) -> Result<UserColumn, ResolveError> {
        match self.table {
            ResourceTable::Users => user_column(target, backend),
            ResourceTable::Groups => group_column(target, backend),
        }
    }

    fn present(&self, b: &mut SqlBuilder, target: &Target) -> Result<(), ResolveError> {
        if target.kind == ValueKind::Complex && !target.multi_valued {
            return self.complex_present(b, target);
        }
        match self.column(target, b.backend())? {
            UserColumn::Plain(column) => {
                b.push(&format!("({column} IS NOT NULL"));
                if matches!(target.kind, ValueKind::Text { .. }) {
                    b.push(&format!(" AND {column} <> ''"));
                }
                b.push(")");
            }
            UserColumn::MultiValued { attribute, column } => {
                self.open_values(b, attribute);
                if let Some(column) = column {
                    b.push(&format!(" AND {column} IS NOT NULL"));
                    if column != "v.is_primary" {
                        b.push(&format!(" AND {column} <> ''"));
                    }
                }
                b.push(")");
            }
            UserColumn::UserGroups { .. } => {
                b.push("u.id IN (SELECT gm.member_id FROM group_members gm WHERE gm.tenant_id = ");
                b.text(self.tenant_id);
                b.push(")");
            }
            UserColumn::FreeForm { column, path } => {
                free_form_elements(b, column, &path);
                match b.backend() {
                    Backend::Sqlite => b.push(
                        " j.type <> 'null' AND NOT (j.type = 'text' AND j.atom = '') \
                         AND NOT (j.type IN ('object', 'array') AND j.value IN ('{}', '[]')))",
                    ),
                    Backend::Postgres => b.push(
                        " jsonb_typeof(j.value) <> 'null' AND j.value NOT IN ('\"\"'::jsonb, '{}'::jsonb, '[]'::jsonb))",
                    ),
                };
            }
        }
        Ok(())
    }

    /// A condition on `schemas`: the resource carries one of the URNs that `wanted`
    /// selects, each URN tested as the matcher tests a stored value. A resource
    /// carries the URNs its representation lists (`scim::users`, `scim::groups`).
    fn schemas(&self, b: &mut SqlBuilder, wanted: impl Fn(&str) -> bool) {
        let carried: &[(&str, Carried)] = match self.table {
            ResourceTable::Users => &[
                (urn::CORE_USER, Carried::Always),
                (urn::ROSTER_USER, Carried::Always),
                (urn::ENTERPRISE_USER, Carried::KeyIn("u.attributes", None)),
            ],
            ResourceTable::Groups => &[
                (urn::CORE_GROUP, Carried::Always),
                (
                    urn::ROSTER_GROUP,
                    Carried::KeyIn("g.attributes", Some("g.custom_data IS NOT NULL")),
                ),
            ],
        };
        let selected: Vec<&(&str, Carried)> =
            carried.iter().filter(|(urn, _)| wanted(urn)).collect();
        if selected.is_empty() {
            b.push("(1 = 0)");
            return;
        }
        if selected.iter().any(|(_, c)| matches!(c, Carried::Always)) {
            b.push("(1 = 1)");
            return;
        }
        b.push("(");
        for (i, (urn, carried)) in selected.iter().enumerate() {
            let Carried::KeyIn(document, also) = carried else {
                continue;
            };
            if i > 0 {
                b.push(" OR ");
            }
            if let Some(also) = also {
                b.push(&format!("{also} OR "));
            }
            // As `AttributeDocument::has_enterprise` reads it: the URN quoted and
            // followed by a colon can only be the top-level key.
            match b.backend() {
                Backend::Sqlite => b.push(&format!("instr({document}, ")),
                Backend::Postgres => b.push(&format!("strpos({document}, ")),
            };
            b.text(&format!("\"{urn}\":")).push(") > 0");
        }
        b.push(")");
    }

    /// `u.id IN (SELECT v.user_id FROM user_values v WHERE …` — uncorrelated, so the
    /// `(tenant_id, attribute, value_ci)` index answers look-ups such as
    /// `emails.value eq` — or, testing each user on its own rows, `EXISTS (…`; the
    /// caller adds conditions and the closing parenthesis.
    fn open_values(&self, b: &mut SqlBuilder, attribute: &str) {
        if self.table == ResourceTable::Groups {
            b.push("g.id IN (SELECT gm.group_id FROM group_members gm WHERE gm.tenant_id = ");
            b.text(self.tenant_id);
            and_member_visible(b, self.app_id);
            return;
        }
        if self.values_per_row {
            b.push("EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attribute = ");
            b.text(attribute);
            return;
        }
        b.push("u.id IN (SELECT v.user_id FROM user_values v WHERE ");
        self.values_of(b, attribute);
    }

    /// `v.tenant_id = … AND v.attribute = …`: the rows of `user_values v` that hold
    /// the tenant's values of `attribute`.
    fn values_of(&self, b: &mut SqlBuilder, attribute: &str) {
        b.push("v.tenant_id = ");
        b.text(self.tenant_id);
        b.push(" AND v.attribute = ");
        b.text(attribute);
    }

    /// `name pr` and the like: any sub-attribute column holds a value.
    fn complex_present(&self, b: &mut SqlBuilder, target: &Target) -> Result<(), ResolveError> {
        let Location::Attribute {
            schema, attribute, ..
        } = &target.location
        else {
            return Err(ResolveError(
                "presence of this attribute cannot be tested".into(),
            ));
        };
        let core = *schema == urn::CORE_USER;
        let columns: Vec<&str> = USER_LOOKUP_COLUMNS
            .iter()
            .filter(|(_, source)| {
                source.attribute == *attribute
                    && source.sub_attribute.is_some()
                    && (if core {
                        source.schema.is_none()
                    } else {
                        source.schema == Some(*schema)
                    })
            })
            .map(|(column, _)| *column)
            .collect();
        if columns.is_empty() {
            return Err(ResolveError(format!(
                "presence of '{attribute}' cannot be tested"
            )));
        }
        b.push("(");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                b.push(" OR ");
            }
            b.push(&format!("({column} IS NOT NULL AND {column} <> '')"));
        }
        b.push(")");
        Ok(())
    }

    fn compare(
        &self,
        b: &mut SqlBuilder,
        target: &Target,
        op: CompareOp,
        value: &TypedValue,
    ) -> Result<(), ResolveError> {
        match self.column(target, b.backend())? {
            UserColumn::Plain(column) => {
                b.push(&format!("({column} IS NOT NULL AND "));
                compare_expression(b, &column, op, value);
                b.push(")");
            }
            UserColumn::MultiValued { attribute, column } => {
                let column = column.ok_or_else(|| {
                    ResolveError(format!("compare a sub-attribute of '{attribute}'"))
                })?;
                self.open_values(b, attribute);
                b.push(" AND ");
                value_compare(b, column, op, value);
                b.push(")");
            }
            UserColumn::FreeForm { column, path } => {
                free_form_elements(b, column, &path);
                b.push(" ");
                free_form_compare(b, op, value);
                b.push(")");
            }
            UserColumn::UserGroups { sub_attribute } => {
                // `groups.value eq "g"`: the user is among g's members, or its nested
                // groups' members, walked down from g.
                let (CompareOp::Eq, TypedValue::Text(group_id), None | Some("value")) =
                    (op, value, sub_attribute)
                else {
                    return Err(ResolveError(
                        "only 'groups.value eq \"…\"' and 'groups pr' are supported on groups"
                            .into(),
                    ));
                };
                if b.backend() == Backend::Postgres {
                    // The walk follows group edges only, and the user's own rows
                    // decide: walking users too made the set so large in the
                    // planner's estimate that PostgreSQL scanned it once per user and
                    // per `or` term instead of hashing it. The seed matches the
                    // recursive term's COLLATE "C".
                    b.push("EXISTS (WITH RECURSIVE d(id) AS (SELECT ");
                    b.text(group_id);
                    b.push(
                        "::text COLLATE \"C\" UNION SELECT gm.member_id FROM group_members gm \
                         JOIN d ON gm.group_id = d.id WHERE gm.member_type = 'Group') \
                         SELECT 1 FROM d JOIN group_members m ON m.group_id = d.id \
                         WHERE m.member_id = u.id)",
                    );
                    return Ok(());
                }
                b.push("u.id IN (WITH RECURSIVE d(id) AS (SELECT ");
                b.text(group_id);
                b.push(
                    " UNION SELECT gm.member_id FROM group_members gm JOIN d ON gm.group_id = d.id) SELECT id FROM d)",
                );
            }
        }
        Ok(())
    }
}

/// The comparison of a `user_values` column with a typed literal.
fn value_compare(b: &mut SqlBuilder, column: &str, op: CompareOp, value: &TypedValue) {
    b.push(column).push(" IS NOT NULL AND ");
    compare_expression(b, column, op, value);
}

/// The comparison of a non-null column with a typed literal.
fn compare_expression(b: &mut SqlBuilder, column: &str, op: CompareOp, value: &TypedValue) {
    match (op, value) {
        (CompareOp::Co, TypedValue::Text(text)) => match b.backend() {
            Backend::Sqlite => {
                b.push(&format!("instr({column}, "));
                b.text(text).push(") > 0");
            }
            Backend::Postgres => {
                b.push(&format!("{column} LIKE "));
                b.text(&format!("%{}%", escape_like(text)))
                    .push(" ESCAPE '\\'");
            }
        },
        (CompareOp::Sw, TypedValue::Text(text)) => {
            // A range both backends answer from a B-tree index. U+10FFFF is a
            // noncharacter, so no stored text continues a prefix with it.
            b.push(&format!("{column} >= "));
            b.text(text);
            b.push(&format!(" AND {column} < "));
            b.text(&format!("{text}\u{10FFFF}"));
        }
        (CompareOp::Ew, TypedValue::Text(text)) => {
            if text.is_empty() {
                b.push("1 = 1");
                return;
            }
            let length = text.chars().count() as i64;
            match b.backend() {
                Backend::Sqlite => {
                    b.push(&format!("substr({column}, "));
                    b.param(SqlParam::BigInt(-length)).push(") = ");
                    b.text(text);
                }
                // LIKE, so that the trigram index can answer it.
                Backend::Postgres => {
                    b.push(&format!("{column} LIKE "));
                    b.text(&format!("%{}", escape_like(text)))
                        .push(" ESCAPE '\\'");
                }
            }
        }
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, _) => {
            b.push("1 = 0");
        }
        _ => {
            let param = match value {
                TypedValue::Text(text) => SqlParam::Text(text.clone()),
                TypedValue::Bool(flag) => SqlParam::Bool(*flag),
                TypedValue::Number(number) => SqlParam::Float(*number),
                TypedValue::DateTime(time) => SqlParam::Timestamp(*time),
            };
            b.push(column)
                .push(" ")
                .push(comparison_symbol(op))
                .push(" ")
                .param(param);
        }
    }
}

fn comparison_symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `EXISTS (SELECT 1 FROM <the JSON values at path> j WHERE` — an array at the path
/// yields each element, anything else itself; the caller closes the parenthesis.
fn free_form_elements(b: &mut SqlBuilder, column: &str, path: &[String]) {
    match b.backend() {
        Backend::Sqlite => {
            let json_path = sqlite_json_path(path);
            b.push(&format!(
                "EXISTS (SELECT 1 FROM json_each(CASE json_type({column}, "
            ));
            b.text(&json_path);
            b.push(&format!(") WHEN 'array' THEN json_extract({column}, "));
            b.text(&json_path);
            b.push(&format!(") ELSE json_array(json_extract({column}, "));
            b.text(&json_path);
            b.push(")) END) j WHERE");
        }
        Backend::Postgres => {
            let array_path = postgres_json_path(path);
            b.push(&format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(({column})::jsonb #> "
            ));
            b.text(&array_path);
            b.push(&format!(
                "::text[]) WHEN 'array' THEN ({column})::jsonb #> "
            ));
            b.text(&array_path);
            b.push(&format!(
                "::text[] ELSE jsonb_build_array(({column})::jsonb #> "
            ));
            b.text(&array_path);
            b.push("::text[]) END) j(value) WHERE");
        }
    }
}

fn free_form_compare(b: &mut SqlBuilder, op: CompareOp, value: &TypedValue) {
    let sqlite = b.backend() == Backend::Sqlite;
    match value {
        TypedValue::Text(_) => {
            let atom = if sqlite {
                "j.atom"
            } else {
                "(j.value #>> '{}') COLLATE \"C\""
            };
            b.push(if sqlite {
                "j.type = 'text' AND "
            } else {
                "jsonb_typeof(j.value) = 'string' AND "
            });
            compare_expression(b, atom, op, value);
        }
        TypedValue::Number(_) => {
            let atom = if sqlite {
                "j.atom"
            } else {
                "(j.value #>> '{}')::float8"
            };
            b.push(if sqlite {
                "j.type IN ('integer', 'real') AND "
            } else {
                "jsonb_typeof(j.value) = 'number' AND "
            });
            compare_expression(b, atom, op, value);
        }
        TypedValue::Bool(flag) => {
            let expected = if *flag { "true" } else { "false" };
            let equal = op == CompareOp::Eq;
            if sqlite {
                b.push(&format!(
                    "j.type IN ('true', 'false') AND (j.type {} '{expected}')",
                    if equal { "=" } else { "<>" }
                ));
            } else {
                b.push(&format!(
                    "jsonb_typeof(j.value) = 'boolean' AND ((j.value #>> '{{}}') {} '{expected}')",
                    if equal { "=" } else { "<>" }
                ));
            }
        }
        TypedValue::DateTime(_) => {
            b.push("1 = 0");
        }
    }
}

/// Whether `target` is the enterprise `manager`: a reference to another user.
fn is_manager(target: &Target) -> bool {
    matches!(&target.location, Location::Attribute { schema, attribute, .. }
        if *schema == urn::ENTERPRISE_USER && *attribute == "manager")
}

/// How many leading characters of a free-form (`customData`) value a sort compares.
pub const FREE_FORM_SORT_KEY_CHARS: usize = 256;

/// The sort key expression over either resource table, in the scope of
/// application `app_id` when given.
pub fn push_sort_key(
    b: &mut SqlBuilder,
    table: ResourceTable,
    app_id: Option<&str>,
    target: &Target,
) -> Result<(), ResolveError> {
    let column = match table {
        ResourceTable::Users => user_column(target, b.backend())?,
        ResourceTable::Groups => group_column(target, b.backend())?,
    };
    match column {
        UserColumn::UserGroups { .. } => {
            return Err(ResolveError("sorting by groups is not supported".into()));
        }
        UserColumn::MultiValued { .. } if table == ResourceTable::Groups => {
            return Err(ResolveError("sorting by members is not supported".into()));
        }
        UserColumn::Plain(column) => match app_id {
            Some(app_id) if table == ResourceTable::Users && is_manager(target) => {
                b.push("(CASE WHEN ");
                push_user_visible(b, app_id, "u.manager_value_ci");
                b.push(&format!(" THEN {column} END)"));
            }
            _ => {
                b.push(&column);
            }
        },
        UserColumn::MultiValued { attribute, column } => {
            let column = column.unwrap_or("v.value_ci");
            b.push(&format!(
                "(SELECT {column} FROM user_values v WHERE v.user_id = u.id AND v.attribute = "
            ));
            b.text(attribute);
            b.push(" ORDER BY v.is_primary DESC, v.position LIMIT 1)");
        }
        // Only the first characters of a free-form value sort (ids break ties), so that
        // a large member never reaches the sorter, the planning rows or a cursor whole.
        UserColumn::FreeForm { column, path } => match b.backend() {
            Backend::Sqlite => {
                let json_path = sqlite_json_path(&path);
                b.push(&format!("substr(CAST(json_extract({column}, "));
                b.text(&json_path)
                    .push(&format!(") AS TEXT), 1, {FREE_FORM_SORT_KEY_CHARS})"));
            }
            Backend::Postgres => {
                let array_path = postgres_json_path(&path);
                b.push(&format!("(substr(({column})::jsonb #>> "));
                b.text(&array_path).push(&format!(
                    "::text[], 1, {FREE_FORM_SORT_KEY_CHARS}) COLLATE \"C\")"
                ));
            }
        },
    }
    Ok(())
}

/// `customData.a.b` as an SQLite JSON path: `$."a"."b"`.
fn sqlite_json_path(path: &[String]) -> String {
    std::iter::once("$".to_owned())
        .chain(path.iter().map(|key| format!(".\"{key}\"")))
        .collect()
}

/// `customData.a.b` as a PostgreSQL text-array path: `{"a","b"}`.
fn postgres_json_path(path: &[String]) -> String {
    let keys: Vec<String> = path.iter().map(|key| format!("\"{key}\"")).collect();
    format!("{{{}}}", keys.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::USER_RESOURCE;
    use crate::schema::resolve;

    fn index_lookup(filter: &str) -> bool {
        let parsed = parse_filter(filter).expect("filter parses");
        is_user_index_lookup(&resolve(&parsed, &USER_RESOURCE).expect("filter resolves"))
    }

    #[test]
    fn equality_on_an_indexed_attribute_is_an_index_lookup() {
        assert!(index_lookup(r#"userName eq "a@b.test""#));
        assert!(index_lookup(r#"externalId eq "e-1""#));
        assert!(index_lookup(r#"id eq "x""#));
        assert!(index_lookup(r#"emails.value eq "a@b.test""#));
        assert!(index_lookup(r#"emails[value eq "a@b.test"]"#));
        assert!(index_lookup(r#"phoneNumbers.value eq "+1 555""#));
    }

    #[test]
    fn an_and_is_an_index_lookup_when_either_side_is() {
        assert!(index_lookup(r#"userName eq "a" and title co "x""#));
        assert!(index_lookup(r#"title co "x" and emails.value eq "a""#));
        assert!(!index_lookup(r#"title co "x" and displayName sw "y""#));
    }

    #[test]
    fn other_filters_are_not_index_lookups() {
        assert!(!index_lookup(r#"userName co "a""#));
        assert!(!index_lookup(r#"userName sw "a""#));
        assert!(!index_lookup(r#"title eq "x""#));
        assert!(!index_lookup(r#"userName eq "a" or userName eq "b""#));
        assert!(!index_lookup(r#"not (userName eq "a")"#));
        assert!(!index_lookup(r#"emails.type eq "work""#));
        assert!(!index_lookup(r#"emails[type eq "work"]"#));
        assert!(!index_lookup(r#"x509Certificates.value eq "MIIB""#));
        assert!(!index_lookup("userName pr"));
    }
}
