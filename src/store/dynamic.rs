//! Hand-built SQL (filters, keyset pages, recursive group queries) run with its
//! bound parameters.
//!
//! Diesel prepares `sql_query` text afresh on every call, and parsing is the largest
//! cost of a point read on SQLite. Here a statement goes into the connection's
//! statement cache when its text (the query's shape: values are bound, never
//! inlined) is among the first [`MAX_CACHED_SHAPES`] shapes the process has seen, so
//! the common queries are parsed once per connection while clients that send
//! endless new filter shapes cannot grow the caches without bound.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::marker::PhantomData;
use std::sync::{LazyLock, Mutex};

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::{BigInt, Bool, Double, Text, Timestamp, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

use super::sql::{SqlBuilder, SqlParam};
use super::{Conn, StoreError};

/// How many distinct query shapes may be kept prepared on each connection.
const MAX_CACHED_SHAPES: usize = 512;

static ADMITTED_SHAPES: LazyLock<Mutex<HashSet<u64>>> =
    LazyLock::new(|| Mutex::new(HashSet::new()));

/// Whether statements of this text may stay prepared: shapes seen before always
/// may, new ones while there is room.
fn admit_shape(sql: &str) -> bool {
    let mut hasher = DefaultHasher::new();
    sql.hash(&mut hasher);
    let shape = hasher.finish();
    let mut admitted = ADMITTED_SHAPES.lock().unwrap_or_else(|e| e.into_inner());
    if admitted.contains(&shape) {
        return true;
    }
    if admitted.len() < MAX_CACHED_SHAPES {
        admitted.insert(shape);
        return true;
    }
    false
}

/// What diesel's statement cache knows a hand-built query by.
pub(crate) trait StatementShape: 'static {
    /// True when every query of this type has the same text on a given backend, so
    /// the type alone can key the cache; false keys it by the text.
    const FIXED_TEXT: bool;
}

/// Queries whose text varies: cached by their text.
pub(crate) struct VariableShape;

impl StatementShape for VariableShape {
    const FIXED_TEXT: bool = false;
}

/// A [`SqlBuilder`]'s query for diesel: diesel writes the placeholders itself, in
/// the builder's order, so the text (and so the cache key) is the builder's.
/// `Columns` is the SQL type of its rows: a tuple, read by position, or `Untyped`,
/// read by column name.
pub(crate) struct DynamicQuery<'a, Shape, Columns> {
    sql: &'a SqlBuilder,
    cacheable: bool,
    shape: PhantomData<(Shape, Columns)>,
}

impl<Shape: StatementShape, Columns> QueryId for DynamicQuery<'_, Shape, Columns> {
    type QueryId = Shape;
    const HAS_STATIC_QUERY_ID: bool = Shape::FIXED_TEXT;
}

impl<Shape, Columns> Query for DynamicQuery<'_, Shape, Columns> {
    type SqlType = Columns;
}

impl<C, Shape, Columns> RunQueryDsl<C> for DynamicQuery<'_, Shape, Columns> {}

macro_rules! dynamic_query_fragment {
    ($db:ty) => {
        impl<Shape, Columns> QueryFragment<$db> for DynamicQuery<'_, Shape, Columns> {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                if !self.cacheable {
                    out.unsafe_to_cache_prepared();
                }
                for (piece, param) in self.sql.pieces() {
                    out.push_sql(piece);
                    match param {
                        None => {}
                        Some(SqlParam::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                        Some(SqlParam::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                        Some(SqlParam::Float(v)) => out.push_bind_param::<Double, _>(v)?,
                        Some(SqlParam::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                        Some(SqlParam::Timestamp(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                    }
                }
                Ok(())
            }
        }
    };
}

dynamic_query_fragment!(Sqlite);
dynamic_query_fragment!(Pg);

/// Runs hand-built SQL with its bound parameters; `Row` is read by column name.
pub(crate) fn load_dynamic<Row>(conn: &mut Conn, sql: &SqlBuilder) -> Result<Vec<Row>, StoreError>
where
    Row: QueryableByName<Sqlite> + QueryableByName<Pg> + 'static,
{
    let cacheable = admit_shape(&sql.sql);
    load_query::<VariableShape, Untyped, Row>(conn, sql, cacheable)
}

/// Runs hand-built SQL whose columns have the SQL types `Columns`, reading `Row` by
/// position: for wide rows read on every request, where finding each field's column
/// by name (diesel compares it with every column's) is a measurable cost.
pub(crate) fn load_dynamic_columns<Columns, Row>(
    conn: &mut Conn,
    sql: &SqlBuilder,
) -> Result<Vec<Row>, StoreError>
where
    for<'q> DynamicQuery<'q, VariableShape, Columns>:
        LoadQuery<'q, SqliteConnection, Row> + LoadQuery<'q, PgConnection, Row>,
{
    let cacheable = admit_shape(&sql.sql);
    load_query::<VariableShape, Columns, Row>(conn, sql, cacheable)
}

/// Runs hand-built SQL whose text is always the same for `Shape` on a backend, like
/// [`load_dynamic_columns`]: its prepared statement is found by type, without writing
/// and hashing the text, which is a measurable part of a point read.
pub(crate) fn load_fixed<Shape: StatementShape, Columns, Row>(
    conn: &mut Conn,
    sql: &SqlBuilder,
) -> Result<Vec<Row>, StoreError>
where
    for<'q> DynamicQuery<'q, Shape, Columns>:
        LoadQuery<'q, SqliteConnection, Row> + LoadQuery<'q, PgConnection, Row>,
{
    debug_assert!(Shape::FIXED_TEXT);
    #[cfg(debug_assertions)]
    assert_one_text_per_shape::<Shape>(conn.backend(), &sql.sql);
    load_query::<Shape, Columns, Row>(conn, sql, true)
}

/// In debug builds (the tests), fails when two texts claim the same fixed shape on a
/// backend: the cache would run the first one's statement for the second.
#[cfg(debug_assertions)]
fn assert_one_text_per_shape<Shape: 'static>(backend: super::Backend, sql: &str) {
    use std::any::TypeId;
    use std::collections::HashMap;
    static TEXTS: LazyLock<Mutex<HashMap<(TypeId, super::Backend), String>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    let first = texts
        .entry((TypeId::of::<Shape>(), backend))
        .or_insert_with(|| sql.to_owned());
    assert_eq!(
        first.as_str(),
        sql,
        "two texts for the fixed shape {}",
        std::any::type_name::<Shape>()
    );
}

/// Runs a hand-built statement that returns no rows; returns how many rows it changed.
pub(crate) fn execute_dynamic(conn: &mut Conn, sql: &SqlBuilder) -> Result<usize, StoreError> {
    let query = || DynamicQuery::<VariableShape, Untyped> {
        sql,
        cacheable: admit_shape(&sql.sql),
        shape: PhantomData,
    };
    Ok(match conn {
        Conn::Sqlite(c) => query().execute(&mut **c)?,
        Conn::Postgres(c) => query().execute(&mut **c)?,
    })
}

fn load_query<Shape, Columns, Row>(
    conn: &mut Conn,
    sql: &SqlBuilder,
    cacheable: bool,
) -> Result<Vec<Row>, StoreError>
where
    for<'q> DynamicQuery<'q, Shape, Columns>:
        LoadQuery<'q, SqliteConnection, Row> + LoadQuery<'q, PgConnection, Row>,
{
    let query = || DynamicQuery::<Shape, Columns> {
        sql,
        cacheable,
        shape: PhantomData,
    };
    Ok(match conn {
        Conn::Sqlite(c) => query().load::<Row>(&mut **c)?,
        Conn::Postgres(c) => query().load::<Row>(&mut **c)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_seen_before_stay_admitted_and_new_ones_stop_at_the_limit() {
        let unique = |n: usize| format!("SELECT {n} /* shapes test {} */", std::process::id());
        assert!(admit_shape(&unique(0)));
        for n in 1..=MAX_CACHED_SHAPES {
            admit_shape(&unique(n));
        }
        assert!(
            admit_shape(&unique(0)),
            "a shape admitted once stays admitted"
        );
        assert!(!admit_shape(&unique(MAX_CACHED_SHAPES + 1)));
        assert!(ADMITTED_SHAPES.lock().unwrap().len() <= MAX_CACHED_SHAPES);
    }
}
