//! Substring filters (`co`, `sw`, `ew`) answered from trigram indexes.
//!
//! On SQLite, FTS5 tables with the `trigram` tokenizer (`user_search`, `group_search`)
//! hold the attributes people search by, in the form filters compare them: the
//! look-up columns, case-folded unless the attribute is `caseExact`, and a user's
//! emails one a line. Their rowid is the row's `search_key`, whose high bits are the
//! tenant's `search_prefix`, so that a tenant's rows are one rowid range. The store
//! writes them with every change of a user or group, in the same transaction.
//!
//! A trigram phrase query matches exactly the texts that hold the fragment, so a
//! search made only of such terms is counted from the index alone; any other search
//! reads its candidates' rows and applies the whole filter to them. Fragments of one
//! or two characters have no trigram: their searches read every row of the tenant.
//!
//! On PostgreSQL, `pg_trgm` GIN indexes on the same columns answer `LIKE`.

use diesel::sql_types::BigInt;

use super::sql::{SqlBuilder, SqlParam};
use super::{Backend, Conn, StoreError};
use crate::filter::ast::CompareOp;
use crate::schema::resolve::{Resolved, TypedValue};
use crate::store::dynamic::load_dynamic;
use crate::store::query::{ResourceTable, UserColumn, group_column, user_column};

/// Bits of a search key below the tenant's prefix: room for 2^40 rows a tenant.
const TENANT_SHIFT: u32 = 40;

/// Which FTS5 column holds each indexed user column (as the filter translator names it).
const USER_INDEXED_COLUMNS: &[(&str, &str)] = &[
    ("u.user_name_ci", "user_name"),
    ("u.display_name_ci", "display_name"),
    ("u.name_formatted_ci", "name_formatted"),
    ("u.given_name_ci", "given_name"),
    ("u.family_name_ci", "family_name"),
    ("u.external_id", "external_id"),
];

/// The multi-valued attribute whose values `user_search.emails` holds.
const INDEXED_VALUES: &str = "emails";
/// Between the values of `user_search.emails`: a fragment holding it is not looked
/// up in the index.
const VALUE_SEPARATOR: char = '\n';

/// A search's terms as an FTS5 query over the trigram index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTerms {
    /// The FTS5 query: its matches include every row the filter matches.
    pub query: String,
    /// The query's matches are exactly the filter's: the index alone counts them.
    pub exact: bool,
}

/// The trigram index query for `filter` over `table`, when the index can narrow it:
/// a substring term of three or more characters on an indexed attribute, or an `or`
/// of such terms, or an `and` with one.
pub fn indexed_terms(filter: &Resolved, table: ResourceTable) -> Option<IndexedTerms> {
    match filter {
        Resolved::Or(x, y) => {
            let (x, y) = (indexed_terms(x, table)?, indexed_terms(y, table)?);
            Some(IndexedTerms {
                query: format!("({}) OR ({})", x.query, y.query),
                exact: x.exact && y.exact,
            })
        }
        Resolved::And(x, y) => match (indexed_terms(x, table), indexed_terms(y, table)) {
            (Some(x), Some(y)) => Some(IndexedTerms {
                query: format!("({}) AND ({})", x.query, y.query),
                exact: x.exact && y.exact,
            }),
            (Some(one), None) | (None, Some(one)) => Some(IndexedTerms {
                query: one.query,
                exact: false,
            }),
            (None, None) => None,
        },
        Resolved::Compare {
            target,
            op: op @ (CompareOp::Co | CompareOp::Sw | CompareOp::Ew),
            value: TypedValue::Text(fragment),
        } if fragment.chars().count() >= 3 => {
            let column = match table {
                ResourceTable::Users => user_column(target, Backend::Sqlite).ok()?,
                ResourceTable::Groups => group_column(target, Backend::Sqlite).ok()?,
            };
            let (index_column, one_value) = match (&column, table) {
                (UserColumn::Plain(column), ResourceTable::Users) => (
                    USER_INDEXED_COLUMNS
                        .iter()
                        .find(|(sql, _)| sql == column)
                        .map(|(_, fts)| *fts)?,
                    true,
                ),
                (UserColumn::Plain(column), ResourceTable::Groups)
                    if column == "g.display_name_ci" =>
                {
                    ("display_name", true)
                }
                (
                    UserColumn::MultiValued {
                        attribute: INDEXED_VALUES,
                        column: Some("v.value_ci"),
                    },
                    ResourceTable::Users,
                ) if !fragment.contains(VALUE_SEPARATOR) => (INDEXED_VALUES, false),
                _ => return None,
            };
            let phrase = format!("\"{}\"", fragment.replace('"', "\"\""));
            // `^` anchors a phrase at the column's first trigram: a prefix of the
            // whole text, which is a value's prefix only where the column holds one.
            let (query, exact) = match op {
                CompareOp::Co => (format!("{index_column} : {phrase}"), true),
                CompareOp::Sw if one_value => (format!("{index_column} : ^ {phrase}"), true),
                _ => (format!("{index_column} : {phrase}"), false),
            };
            Some(IndexedTerms { query, exact })
        }
        _ => None,
    }
}

/// The FTS5 table of `table`'s trigram index.
pub fn index_table(table: ResourceTable) -> &'static str {
    match table {
        ResourceTable::Users => "user_search",
        ResourceTable::Groups => "group_search",
    }
}

/// The first and last search key of a tenant's rows.
pub fn tenant_key_range(conn: &mut Conn, tenant_id: &str) -> Result<(i64, i64), StoreError> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT COALESCE(search_prefix, 0) AS value FROM tenants WHERE id = ");
    b.text(tenant_id);
    let rows: Vec<Int64Row> = load_dynamic(conn, &b)?;
    let prefix = rows.first().map_or(0, |row| row.value);
    Ok((prefix << TENANT_SHIFT, ((prefix + 1) << TENANT_SHIFT) - 1))
}

/// `s.rowid` within the tenant's key range, and the FTS5 query: the index's
/// candidates, from `{index_table} s`.
pub fn push_candidates(
    b: &mut SqlBuilder,
    table: ResourceTable,
    terms: &IndexedTerms,
    (first, last): (i64, i64),
) {
    b.push("s.").push(index_table(table)).push(" MATCH ");
    b.text(&terms.query);
    b.push(" AND s.rowid BETWEEN ");
    b.param(SqlParam::BigInt(first));
    b.push(" AND ");
    b.param(SqlParam::BigInt(last));
}

/// How many of a tenant's rows the index matches: the count of an exact query.
pub fn count_candidates(
    conn: &mut Conn,
    table: ResourceTable,
    terms: &IndexedTerms,
    range: (i64, i64),
) -> Result<i64, StoreError> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT COUNT(*) AS value FROM ")
        .push(index_table(table))
        .push(" s WHERE ");
    push_candidates(&mut b, table, terms, range);
    let rows: Vec<Int64Row> = load_dynamic(conn, &b)?;
    Ok(rows.first().map_or(0, |row| row.value))
}

#[derive(diesel::QueryableByName)]
struct Int64Row {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Gives a new tenant its search prefix (SQLite).
pub fn assign_tenant_prefix(conn: &mut Conn, tenant_id: &str) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(
        "UPDATE tenants SET search_prefix = \
         (SELECT COALESCE(MAX(search_prefix), 0) + 1 FROM tenants) WHERE id = ",
    );
    b.text(tenant_id);
    super::dynamic::execute_dynamic(conn, &b)?;
    Ok(())
}

/// The SQL that writes a row's index entry from its stored columns.
struct IndexedRow {
    resource: &'static str,
    index: &'static str,
    /// The FTS5 columns, and the SQL of each over the resource's row `r`.
    columns: &'static str,
    values: &'static str,
}

const USER_ROW: IndexedRow = IndexedRow {
    resource: "users",
    index: "user_search",
    columns: "user_name, display_name, name_formatted, given_name, family_name, external_id, emails",
    values: "r.user_name_ci, r.display_name_ci, r.name_formatted_ci, r.given_name_ci, \
             r.family_name_ci, r.external_id, (SELECT group_concat(v.value_ci, char(10)) \
             FROM user_values v WHERE v.user_id = r.id AND v.attribute = 'emails')",
};

const GROUP_ROW: IndexedRow = IndexedRow {
    resource: "groups",
    index: "group_search",
    columns: "display_name",
    values: "r.display_name_ci",
};

fn indexed_row(table: ResourceTable) -> &'static IndexedRow {
    match table {
        ResourceTable::Users => &USER_ROW,
        ResourceTable::Groups => &GROUP_ROW,
    }
}

/// Writes the index entry of a user or group from its stored row (SQLite): gives
/// the row its search key when it has none, then replaces its entry.
pub fn index_row(conn: &mut Conn, table: ResourceTable, id: &str) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    let row = indexed_row(table);
    // The next key of the tenant: its prefix's range holds only its rows. The last
    // key is one seek down the index (MAX over the range would read all of it).
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(&format!(
        "UPDATE {resource} SET search_key = (\
         WITH p(first) AS (SELECT search_prefix << {TENANT_SHIFT} FROM tenants \
         WHERE id = {resource}.tenant_id) \
         SELECT COALESCE((SELECT k.search_key FROM {resource} k \
         WHERE k.search_key BETWEEN p.first AND p.first + {span} \
         ORDER BY k.search_key DESC LIMIT 1), p.first) + 1 FROM p) \
         WHERE id = ",
        resource = row.resource,
        span = (1_i64 << TENANT_SHIFT) - 1,
    ));
    b.text(id);
    b.push(" AND search_key IS NULL");
    super::dynamic::execute_dynamic(conn, &b)?;
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(&format!(
        "INSERT OR REPLACE INTO {index} (rowid, {columns}) SELECT r.search_key, {values} \
         FROM {resource} r WHERE r.id = ",
        index = row.index,
        columns = row.columns,
        values = row.values,
        resource = row.resource,
    ));
    b.text(id);
    super::dynamic::execute_dynamic(conn, &b)?;
    Ok(())
}

/// Removes the index entry of a tenant's user or group about to be deleted (SQLite).
pub fn unindex_row(
    conn: &mut Conn,
    table: ResourceTable,
    tenant_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    let row = indexed_row(table);
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(&format!(
        "DELETE FROM {index} WHERE rowid = (SELECT search_key FROM {resource} WHERE id = ",
        index = row.index,
        resource = row.resource,
    ));
    b.text(id);
    b.push(" AND tenant_id = ");
    b.text(tenant_id);
    b.push(")");
    super::dynamic::execute_dynamic(conn, &b)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::USER_RESOURCE;
    use crate::schema::resolve;

    fn terms(filter: &str) -> Option<IndexedTerms> {
        let resolved = resolve(&parse_filter(filter).unwrap(), &USER_RESOURCE).unwrap();
        indexed_terms(&resolved, ResourceTable::Users)
    }

    #[test]
    fn substring_terms_on_indexed_attributes_become_phrase_queries() {
        let co = terms("userName co \"Smith\"").unwrap();
        assert_eq!(co.query, "user_name : \"smith\"");
        assert!(co.exact);
        let sw = terms("name.familyName sw \"smi\"").unwrap();
        assert_eq!(sw.query, "family_name : ^ \"smi\"");
        assert!(sw.exact);
        let ew = terms("externalId ew \"X-1\"").unwrap();
        assert_eq!(ew.query, "external_id : \"X-1\"");
        assert!(!ew.exact);
    }

    #[test]
    fn emails_are_looked_up_as_one_text_but_only_contains_is_exact() {
        assert!(terms("emails.value co \"@corp\"").unwrap().exact);
        assert!(!terms("emails.value sw \"ann\"").unwrap().exact);
        assert!(!terms("emails.value ew \".org\"").unwrap().exact);
        assert_eq!(terms("emails.value co \"a\\nb\"").map(|t| t.query), None);
        assert_eq!(terms("emails.type co \"work\""), None);
    }

    #[test]
    fn short_fragments_and_unindexed_attributes_have_no_terms() {
        assert_eq!(terms("userName co \"sm\""), None);
        assert_eq!(terms("title co \"engineer\""), None);
        assert_eq!(terms("userName eq \"smith\""), None);
        assert_eq!(terms("not (userName co \"smith\")"), None);
    }

    #[test]
    fn quotes_in_the_fragment_are_doubled() {
        assert_eq!(
            terms("userName co \"a\\\"b\"").unwrap().query,
            "user_name : \"a\"\"b\""
        );
    }

    #[test]
    fn or_needs_both_sides_and_and_needs_one() {
        let or = terms("userName co \"smi\" or emails.value co \"smi\"").unwrap();
        assert_eq!(or.query, "(user_name : \"smi\") OR (emails : \"smi\")");
        assert!(or.exact);
        assert_eq!(terms("userName co \"smi\" or title co \"smi\""), None);
        let and = terms("userName co \"smi\" and active eq true").unwrap();
        assert_eq!(and.query, "user_name : \"smi\"");
        assert!(!and.exact);
        let both = terms("userName co \"smi\" and displayName co \"ann\"").unwrap();
        assert!(both.exact);
    }
}
