//! The store: diesel over SQLite (embedded default) or PostgreSQL, chosen by URL at run time.
//!
//! Owns the connection pools, the embedded migrations, and every SQL query (one
//! repository module per table family); `scope` applies the caller's `Scope` to
//! them and `query` turns a resolved filter into SQL. Everything here is synchronous; callers reach
//! it through [`Store::read`] and [`Store::write`], which run on the blocking pool.

mod connection;
mod dynamic;
mod error;
mod health;
pub mod schema;
mod sqlite_writer;

pub mod assignments;
pub mod audit;
pub mod backup;
pub mod columns;
pub mod groups;
pub mod query;
pub mod refold;
pub mod scope;
pub mod sql;
pub mod substring;
pub mod tenants;
pub mod timestamp;
pub mod users;

pub use connection::{Backend, Conn, PoolSizes, PoolState, Store, StoreTimeouts, savepoint};
pub use error::{DATABASE_ERROR_KINDS, StoreError};
pub use scope::Scope;

/// Runs the same block against whichever backend `conn` is, with `$c` bound to the
/// concrete diesel connection: one source text, compiled once per backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite(connection) => {
                let $c = &mut **connection;
                $body
            }
            $crate::store::Conn::Postgres(connection) => {
                let $c = &mut **connection;
                $body
            }
        }
    };
}

/// Ids bound in one statement's `IN` list: well under SQLite's limit of 32,766 bound
/// parameters (PostgreSQL binds the list as one array).
pub(crate) const IDS_PER_STATEMENT: usize = 5_000;
