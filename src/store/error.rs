use thiserror::Error;

use crate::schema::ResolveError;

/// Failures of the store layer, by kind. Constraint violations are surfaced
/// separately so the domain can turn them into SCIM `uniqueness` errors.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A filter the schemas accept but the store cannot turn into SQL.
    #[error("{0}")]
    UnsupportedFilter(String),
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("database error: {0}")]
    Database(#[source] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connection(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored row or document that cannot be read back: the service's fault, never
    /// the client's.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the transaction could not be committed: {0}")]
    Commit(String),
    #[error("the database task was cancelled")]
    Cancelled,
    /// No pooled connection became free in time (all busy, or the database is not
    /// reachable): a retry later may succeed.
    #[error("no database connection became free in time: {0}")]
    Unavailable(String),
    /// PostgreSQL cancelled a statement that ran past `statement_timeout`.
    #[error("a statement ran past the statement timeout")]
    StatementTimeout,
    /// The database went away: PostgreSQL refuses or dropped the connection, or the
    /// SQLite file cannot be written (disk full, I/O error, read-only). A retry
    /// once it is back may succeed.
    #[error("the database is unreachable or cannot be written: {0}")]
    Lost(String),
}

/// The kinds of database failure counted in `roster_db_errors_total`.
pub const DATABASE_ERROR_KINDS: [&str; 7] = [
    "unavailable",
    "lost",
    "statement_timeout",
    "database",
    "commit",
    "connection",
    "corrupt",
];

/// Counts a failure of the database by kind (`roster_db_errors_total`, one of
/// [`DATABASE_ERROR_KINDS`]); a unique violation is the client's conflict, not
/// counted.
pub(super) fn count_database_error(kind: &'static str) {
    metrics::counter!("roster_db_errors_total", "kind" => kind).increment(1);
}

impl StoreError {
    pub fn unavailable(err: r2d2::Error) -> Self {
        count_database_error("unavailable");
        StoreError::Unavailable(err.to_string())
    }

    pub(super) fn lost(reason: String) -> Self {
        count_database_error("lost");
        StoreError::Lost(reason)
    }
}

/// How SQLite words the failures of a file it cannot write (`sqlite3_errstr` of
/// SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY and SQLITE_CANTOPEN); diesel reports
/// them as an unknown kind with that message.
const SQLITE_UNWRITABLE_MESSAGES: [&str; 4] = [
    "database or disk is full",
    "disk I/O error",
    "attempt to write a readonly database",
    "unable to open database file",
];

/// Whether `err` says the database went away rather than that a statement failed.
pub(super) fn is_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => SQLITE_UNWRITABLE_MESSAGES
            .iter()
            .any(|message| info.message().starts_with(message)),
        _ => false,
    }
}

/// The message of PostgreSQL's `query_canceled` (SQLSTATE 57014) when
/// `statement_timeout` fires. diesel reports that SQLSTATE as an unknown kind and
/// does not expose the code, so the message is what tells it apart (the server's
/// `lc_messages` must stay English, PostgreSQL's default).
const STATEMENT_TIMEOUT_MESSAGE: &str = "canceling statement due to statement timeout";

impl From<diesel::result::Error> for StoreError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::UniqueViolation(info.message().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with(STATEMENT_TIMEOUT_MESSAGE) =>
            {
                count_database_error("statement_timeout");
                StoreError::StatementTimeout
            }
            lost if is_lost(&lost) => StoreError::lost(lost.to_string()),
            Error::DeserializationError(cause) => {
                count_database_error("corrupt");
                StoreError::Corrupt(cause.to_string())
            }
            other => {
                count_database_error("database");
                StoreError::Database(other)
            }
        }
    }
}

impl From<ResolveError> for StoreError {
    fn from(err: ResolveError) -> Self {
        StoreError::UnsupportedFilter(err.0)
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(err: r2d2::Error) -> Self {
        count_database_error("connection");
        StoreError::Connection(err.to_string())
    }
}
