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

use std::cell::RefCell;

use diesel::sql_types::BigInt;

use super::sql::{SqlBuilder, SqlParam};
use super::{Backend, Conn, StoreError};
use crate::filter::ast::CompareOp;
use crate::schema::resolve::{Resolved, TypedValue};
use crate::store::dynamic::load_dynamic;
use crate::store::query::{
    ResourceTable, TRIGRAM_USER_COLUMNS, UserColumn, group_column, user_column,
};

/// Bits of a search key below the tenant's prefix: room for 2^40 rows a tenant.
const TENANT_SHIFT: u32 = 40;

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
                    TRIGRAM_USER_COLUMNS
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
    b.push("SELECT search_prefix AS value FROM tenants WHERE id = ");
    b.text(tenant_id);
    let rows: Vec<OptionalInt64Row> = load_dynamic(conn, &b)?;
    match rows.first().map(|row| row.value) {
        Some(Some(prefix)) => Ok((prefix << TENANT_SHIFT, ((prefix + 1) << TENANT_SHIFT) - 1)),
        // A tenant without its prefix would share another's range: refuse.
        Some(None) => Err(StoreError::Corrupt(format!(
            "tenant {tenant_id} has no search prefix"
        ))),
        // No such tenant: an empty range.
        None => Ok((1, 0)),
    }
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

#[derive(diesel::QueryableByName)]
struct OptionalInt64Row {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    value: Option<i64>,
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

/// A row whose index entry is to be written before its transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    table: ResourceTable,
    key: i64,
    /// The row got its key in this transaction: it has no entry to replace.
    fresh: bool,
}

thread_local! {
    /// The index entries the transaction running on this thread has made stale.
    /// FTS5 writes its pending entries to a new segment whenever a statement opens
    /// a savepoint on it, which every write of the SQLite writer's group commit does:
    /// written row by row, the index would take a segment and a merge per write. So
    /// writes only note their rows here, and [`write_pending_entries`] rewrites the
    /// entries from the rows' committed-to-be state, in two statements, once every
    /// savepoint of the transaction has ended.
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

fn note_pending(pending: Pending) {
    PENDING.with(|list| list.borrow_mut().push(pending));
}

/// Notes that the index entry of a user or group must follow its stored row (SQLite),
/// giving the row its search key when it has none: the next key of its tenant's range.
pub fn index_row(
    conn: &mut Conn,
    table: ResourceTable,
    tenant_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    let row = indexed_row(table);
    let key = match stored_key(conn, row.resource, tenant_id, id)? {
        None => return Ok(()),
        Some(Some(key)) => {
            note_pending(Pending {
                table,
                key,
                fresh: false,
            });
            return Ok(());
        }
        Some(None) => {
            // The tenant's last key, read descending in the `search_key` index (a
            // tenant without a prefix is refused here: its row would have no range).
            let (first, last) = tenant_key_range(conn, tenant_id)?;
            let mut b = SqlBuilder::new(Backend::Sqlite);
            b.push(&format!(
                "SELECT search_key AS value FROM {} WHERE search_key BETWEEN ",
                row.resource
            ));
            b.param(SqlParam::BigInt(first));
            b.push(" AND ");
            b.param(SqlParam::BigInt(last));
            b.push(" ORDER BY search_key DESC LIMIT 1");
            let found: Vec<Int64Row> = load_dynamic(conn, &b)?;
            found.first().map_or(first, |row| row.value) + 1
        }
    };
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(&format!("UPDATE {} SET search_key = ", row.resource));
    b.param(SqlParam::BigInt(key));
    b.push(" WHERE id = ");
    b.text(id);
    super::dynamic::execute_dynamic(conn, &b)?;
    note_pending(Pending {
        table,
        key,
        fresh: true,
    });
    Ok(())
}

/// The search key of the tenant's user or group `id`: `None` when there is no such
/// row, `Some(None)` when it has none yet.
fn stored_key(
    conn: &mut Conn,
    resource: &str,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Option<i64>>, StoreError> {
    let mut b = SqlBuilder::new(Backend::Sqlite);
    b.push(&format!(
        "SELECT search_key AS value FROM {resource} WHERE id = "
    ));
    b.text(id);
    b.push(" AND tenant_id = ");
    b.text(tenant_id);
    let keys: Vec<OptionalInt64Row> = load_dynamic(conn, &b)?;
    Ok(keys.first().map(|row| row.value))
}

/// Notes that the index entry of a tenant's user or group about to be deleted must go
/// (SQLite).
pub fn unindex_row(
    conn: &mut Conn,
    table: ResourceTable,
    tenant_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    if let Some(Some(key)) = stored_key(conn, indexed_row(table).resource, tenant_id, id)? {
        note_pending(Pending {
            table,
            key,
            fresh: false,
        });
    }
    Ok(())
}

/// Rewrites the index entries of the rows this thread's transaction changed, from
/// their stored state: an entry for each row that exists, none for a row that is
/// gone (deleted, or its insert rolled back). Runs before the transaction commits,
/// outside every savepoint; a no-op on PostgreSQL.
pub fn write_pending_entries(conn: &mut Conn) -> Result<(), StoreError> {
    let mut pending = PENDING.with(|list| std::mem::take(&mut *list.borrow_mut()));
    if conn.backend() != Backend::Sqlite || pending.is_empty() {
        return Ok(());
    }
    pending.sort_unstable();
    pending.dedup_by(|a, b| {
        a.table == b.table && a.key == b.key && {
            b.fresh &= a.fresh;
            true
        }
    });
    for table in [ResourceTable::Users, ResourceTable::Groups] {
        let row = indexed_row(table);
        let of_table: Vec<&Pending> = pending.iter().filter(|p| p.table == table).collect();
        for chunk in of_table.chunks(super::IDS_PER_STATEMENT) {
            let stale: Vec<i64> = chunk.iter().filter(|p| !p.fresh).map(|p| p.key).collect();
            if !stale.is_empty() {
                let mut b = SqlBuilder::new(Backend::Sqlite);
                b.push(&format!("DELETE FROM {} WHERE rowid IN (", row.index));
                push_keys(&mut b, &stale);
                super::dynamic::execute_dynamic(conn, &b)?;
            }
            let mut b = SqlBuilder::new(Backend::Sqlite);
            b.push(&format!(
                "INSERT INTO {index} (rowid, {columns}) SELECT r.search_key, {values} \
                 FROM {resource} r WHERE r.search_key IN (",
                index = row.index,
                columns = row.columns,
                values = row.values,
                resource = row.resource,
            ));
            let keys: Vec<i64> = chunk.iter().map(|p| p.key).collect();
            push_keys(&mut b, &keys);
            super::dynamic::execute_dynamic(conn, &b)?;
        }
    }
    Ok(())
}

/// Merges each trigram index into one segment (SQLite): after a bulk load, whose
/// transactions each left a segment, a search reads one instead of dozens.
pub fn optimize_indexes(conn: &mut Conn) -> Result<(), StoreError> {
    if conn.backend() != Backend::Sqlite {
        return Ok(());
    }
    for table in [ResourceTable::Users, ResourceTable::Groups] {
        let index = indexed_row(table).index;
        let mut b = SqlBuilder::new(Backend::Sqlite);
        b.push(&format!(
            "INSERT INTO {index} ({index}) VALUES ('optimize')"
        ));
        super::dynamic::execute_dynamic(conn, &b)?;
    }
    Ok(())
}

/// `k1, k2, …)`: the keys bound, and the list closed.
fn push_keys(b: &mut SqlBuilder, keys: &[i64]) {
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.param(SqlParam::BigInt(*key));
    }
    b.push(")");
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
