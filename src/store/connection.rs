use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;
use super::health::{Health, PoolErrors};
use super::sqlite_writer::SqliteWriter;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A borrowed connection of either backend; repositories take `&mut Conn`.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Backend {
    /// The engine a database URL names: `postgres://` or `postgresql://` is
    /// PostgreSQL, anything else a SQLite file.
    pub fn of_url(database_url: &str) -> Backend {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

#[derive(Clone)]
enum Pools {
    Sqlite {
        pool: Pool<ConnectionManager<SqliteConnection>>,
        // Index look-ups run on the HTTP workers with connections of their own, whose
        // larger caches keep the index pages of recent look-ups: scans on the
        // blocking pool would evict them.
        // None for commands that serve no HTTP.
        lookups: Option<Pool<ConnectionManager<SqliteConnection>>>,
        // SQLite has one writer at a time: all writes queue for one thread, which
        // also spares them SQLite's sleep-based busy handler.
        writer: SqliteWriter,
    },
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// The connection pool and the entry points that run store code off the async executor.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// Whether PostgreSQL answers, or the SQLite file takes writes.
    health: Health,
    /// [`StoreTimeouts::checkout`].
    checkout_wait: Duration,
}

/// How many connections a store keeps open.
#[derive(Debug, Clone, Copy)]
pub struct PoolSizes {
    /// Connections for reads on the blocking pool (on PostgreSQL, for every read).
    pub readers: u32,
    /// SQLite only: connections for the index look-ups that run on the HTTP workers,
    /// best one per worker, so that each finds one idle; 0 opens none (look-ups then
    /// read off the blocking pool).
    pub lookups: u32,
}

/// How long store work may wait or run before it gives up.
#[derive(Debug, Clone, Copy)]
pub struct StoreTimeouts {
    /// Longest wait for a free pooled connection; past it the read or write fails
    /// with [`StoreError::Unavailable`]. While the database is lost the wait ends
    /// early, with [`StoreError::Lost`].
    pub checkout: Duration,
    /// PostgreSQL only: longest wait to open a connection (libpq's `connect_timeout`,
    /// whole seconds, at least 2) and longest time sent data may stay unacknowledged
    /// before the connection counts as dead (`tcp_user_timeout`). Settings of the
    /// same name in the database URL win.
    pub connect: Duration,
    /// PostgreSQL only: longest run of one statement (`statement_timeout`); past it
    /// PostgreSQL cancels the statement and the store returns
    /// [`StoreError::StatementTimeout`]. `None` lets statements run to their end, as
    /// migrations and CLI batch commands need.
    pub statement: Option<Duration>,
}

impl Default for StoreTimeouts {
    fn default() -> Self {
        StoreTimeouts {
            checkout: DEFAULT_CHECKOUT_TIMEOUT,
            connect: DEFAULT_CONNECT_TIMEOUT,
            statement: None,
        }
    }
}

/// Default of [`StoreTimeouts::checkout`].
const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`StoreTimeouts::connect`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a wait for a connection looks whether the database has been found lost
/// meanwhile.
const CHECKOUT_SLICE: Duration = Duration::from_millis(100);

/// Settings of each SQLite connection, with the page cache of its role.
#[derive(Debug)]
struct SqlitePragmas {
    cache_kib: u32,
}

impl SqlitePragmas {
    fn apply(
        conn: &mut SqliteConnection,
        cache_kib: u32,
        temp_store: &str,
    ) -> Result<(), diesel::result::Error> {
        conn.batch_execute(&format!(
            // busy_timeout first: switching a new file to WAL takes a lock that
            // other connections opening at the same moment must wait for.
            "PRAGMA busy_timeout = 10000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -{cache_kib};
             PRAGMA temp_store = {temp_store};"
        ))
    }
}

/// Session settings of each PostgreSQL connection: no JIT compilation, which is
/// worth it for analytics but costs seconds on the recursive group queries, whose
/// row estimates are huge; and, when set, a statement timeout, so that no request
/// holds a connection for long (PostgreSQL goes on with a statement after its
/// client has gone).
#[derive(Debug)]
struct PostgresSettings {
    statement_timeout: Option<Duration>,
}

impl PostgresSettings {
    fn apply(&self, conn: &mut PgConnection) -> Result<(), diesel::result::Error> {
        // 0 turns the timeout off; a timeout under 1 ms would round to that.
        let timeout_ms = self
            .statement_timeout
            .map_or(0, |timeout| timeout.as_millis().clamp(1, i32::MAX as u128));
        conn.batch_execute(&format!(
            "SET jit = off; SET statement_timeout = {timeout_ms}"
        ))
    }
}

/// Feeds a pool's checkout waits and timeouts to the metrics.
#[derive(Debug)]
struct PoolEvents {
    pool: &'static str,
}

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        metrics::histogram!("roster_db_pool_wait_seconds", "pool" => self.pool)
            .record(event.duration().as_secs_f64());
    }
}

/// How full one connection pool is.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    /// `readers`, `lookups` (SQLite) or `postgres`.
    pub pool: &'static str,
    pub max_size: u32,
    /// Connections open, idle or not.
    pub connections: u32,
    pub in_use: u32,
}

fn pool_state<C>(pool: &'static str, of: &Pool<ConnectionManager<C>>) -> PoolState
where
    C: diesel::r2d2::R2D2Connection + 'static,
{
    let state = of.state();
    PoolState {
        pool,
        max_size: of.max_size(),
        connections: state.connections,
        in_use: state.connections.saturating_sub(state.idle_connections),
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PostgresSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Page cache of each connection of the blocking pool, KiB. Its scans and list pages
/// read the users in order, and gain little from a cache larger than the index's
/// upper levels.
const READER_CACHE_KIB: u32 = 4 * 1024;
/// Page cache of each look-up connection, KiB: 4,096 pages keep the leaves of a few
/// thousand recently read users and their index entries.
const LOOKUP_CACHE_KIB: u32 = 16 * 1024;
/// Page cache of the writer, KiB: inserts touch index pages all over the file.
const WRITER_CACHE_KIB: u32 = 32 * 1024;
/// Readers sort and group in memory.
const READER_TEMP_STORE: &str = "MEMORY";
/// The writer keeps temporary data in files: every write runs under a savepoint, and
/// SQLite's in-memory statement journal is truncated by walking it from its start,
/// which made a large write quadratic (a 2,000-user seed batch took minutes). A file
/// journal starts in memory too and moves to a file past 64 KiB.
const WRITER_TEMP_STORE: &str = "FILE";

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        SqlitePragmas::apply(conn, self.cache_kib, READER_TEMP_STORE)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Store {
    /// Opens a pool for `database_url` (`sqlite://path`, a bare path, `:memory:` is not
    /// supported; or `postgres://…`) and runs the pending migrations, with the
    /// default [`StoreTimeouts`].
    pub fn connect(database_url: &str, sizes: PoolSizes) -> Result<Store, StoreError> {
        Self::connect_with_timeouts(database_url, sizes, StoreTimeouts::default())
    }

    /// [`Store::connect`] with `timeouts`. The migrations run without a statement
    /// timeout, on a connection of their own.
    pub fn connect_with_timeouts(
        database_url: &str,
        sizes: PoolSizes,
        timeouts: StoreTimeouts,
    ) -> Result<Store, StoreError> {
        let health = Health::default();
        let store = if Backend::of_url(database_url) == Backend::Postgres {
            let database_url = &postgres_url(database_url, timeouts.connect);
            let mut conn = PgConnection::establish(database_url)
                .map_err(|e| StoreError::Connection(e.to_string()))?;
            PostgresSettings {
                statement_timeout: None,
            }
            .apply(&mut conn)?;
            conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            super::refold::refold_if_needed(&mut Conn::Postgres(&mut conn))?;
            drop(conn);
            let manager = ConnectionManager::<PgConnection>::new(database_url);
            let pool = Pool::builder()
                .max_size(sizes.readers)
                .connection_timeout(timeouts.checkout)
                .connection_customizer(Box::new(PostgresSettings {
                    statement_timeout: timeouts.statement,
                }))
                .event_handler(Box::new(PoolEvents { pool: "postgres" }))
                .error_handler(Box::new(PoolErrors(health.clone())))
                .build(manager)?;
            Store {
                pools: Pools::Postgres(pool),
                health,
                checkout_wait: timeouts.checkout,
            }
        } else {
            let path = sqlite_path(database_url);
            let mut writer = SqliteConnection::establish(&path)
                .map_err(|e| StoreError::Connection(e.to_string()))?;
            SqlitePragmas::apply(&mut writer, WRITER_CACHE_KIB, WRITER_TEMP_STORE)?;
            migrate_sqlite(&mut writer)?;
            super::refold::refold_if_needed(&mut Conn::Sqlite(&mut writer))?;
            let sqlite_pool = |pool: &'static str, size: u32, cache_kib: u32| {
                Pool::builder()
                    .max_size(size.max(1))
                    .connection_timeout(timeouts.checkout)
                    // A file connection cannot drop the way a network one can: no
                    // validation query on every checkout.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas { cache_kib }))
                    .event_handler(Box::new(PoolEvents { pool }))
                    .build(ConnectionManager::<SqliteConnection>::new(path.as_str()))
            };
            Store {
                pools: Pools::Sqlite {
                    pool: sqlite_pool("readers", sizes.readers, READER_CACHE_KIB)?,
                    lookups: (sizes.lookups > 0)
                        .then(|| sqlite_pool("lookups", sizes.lookups, LOOKUP_CACHE_KIB))
                        .transpose()?,
                    writer: SqliteWriter::start(writer, health.clone())?,
                },
                health,
                checkout_wait: timeouts.checkout,
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// How full each connection pool is, for the metrics.
    pub fn pool_states(&self) -> Vec<PoolState> {
        match &self.pools {
            Pools::Sqlite { pool, lookups, .. } => std::iter::once(pool_state("readers", pool))
                .chain(lookups.iter().map(|lookups| pool_state("lookups", lookups)))
                .collect(),
            Pools::Postgres(pool) => vec![pool_state("postgres", pool)],
        }
    }

    /// SQLite: writes queued for the writer thread and not yet taken up.
    pub fn writer_queue_depth(&self) -> Option<usize> {
        match &self.pools {
            Pools::Sqlite { writer, .. } => Some(writer.queue_depth()),
            Pools::Postgres(_) => None,
        }
    }

    /// Runs `f` with a connection on the blocking pool: on SQLite inside one read
    /// transaction (one snapshot), on PostgreSQL statement by statement.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.read_blocking(f)).await
    }

    /// Runs `f`, a read that an index bounds to a handful of rows (one user by id, an
    /// equality on an indexed attribute). On SQLite it runs right here, on the calling
    /// async thread, when a look-up connection is idle: such a read costs a few
    /// microseconds of SQLite, less than handing it to a blocking thread and waking
    /// the caller again. Otherwise, and always on PostgreSQL (where each statement is
    /// a network round trip), it is a [`Store::read`].
    pub async fn read_indexed<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if let Pools::Sqlite {
            lookups: Some(lookups),
            ..
        } = &self.pools
            && let Some(mut conn) = lookups.try_get()
        {
            // A panic stays this request's error, as it would on a blocking thread (the
            // snapshot has already ended its transaction, so the connection is reusable).
            return catch_unwind(AssertUnwindSafe(|| read_sqlite_snapshot(&mut conn, f)))
                .unwrap_or_else(|_| Err(StoreError::Cancelled.into()));
        }
        self.read(f).await
    }

    /// Runs `f` in one write transaction: all of it commits, or nothing does. On
    /// SQLite it joins the writer's queue and may share its commit with other writes.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.pools {
            Pools::Sqlite { writer, .. } => delivered(|done| writer.submit(f, done)).await,
            Pools::Postgres(_) => {
                let store = self.clone();
                run_blocking(move || store.write_blocking(f)).await
            }
        }
    }

    /// Runs `f` in a write transaction of its own: all of it commits, or nothing does.
    /// Unlike [`Store::write`], on SQLite it shares no commit and runs under no
    /// savepoint, so a large write journals no page twice.
    pub async fn write_whole<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.pools {
            Pools::Sqlite { writer, .. } => delivered(|done| writer.submit_whole(f, done)).await,
            Pools::Postgres(_) => self.write(f).await,
        }
    }

    /// Starts `f` on the blocking pool inside one read-only snapshot transaction and
    /// returns without waiting for it: for reads that stream their result out over a
    /// channel while they run, and must see one consistent state throughout. The
    /// returned receiver gets the error that ended the read, if one did: a caller
    /// whose channel closes before `f` sent anything learns from it why (no free
    /// connection, for one).
    pub fn spawn_snapshot_read<F>(&self, f: F) -> tokio::sync::oneshot::Receiver<StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<(), StoreError> + Send + 'static,
    {
        let store = self.clone();
        let (failure_sender, failure) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let outcome = match &store.pools {
                // A deferred transaction holds one WAL snapshot from its first read.
                Pools::Sqlite { pool, .. } => store
                    .checkout(pool)
                    .and_then(|mut conn| read_sqlite_snapshot(&mut conn, f)),
                Pools::Postgres(pool) => store.checkout(pool).and_then(|mut conn| {
                    conn.build_transaction()
                        .read_only()
                        .repeatable_read()
                        .run(|c| f(&mut Conn::Postgres(c)))
                }),
            };
            if let Err(error) = outcome {
                tracing::warn!(%error, "streamed read ended early");
                let _ = failure_sender.send(error);
            }
        });
        failure
    }

    /// Blocking form of [`Store::read`], for the CLI and start-up.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E>,
        E: From<StoreError>,
    {
        match &self.pools {
            Pools::Sqlite { pool, .. } => read_sqlite_snapshot(&mut *self.checkout(pool)?, f),
            Pools::Postgres(pool) => {
                let mut conn = self.checkout(pool)?;
                f(&mut Conn::Postgres(&mut conn))
            }
        }
    }

    /// Blocking form of [`Store::write`], for the CLI and start-up.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E>,
        E: From<StoreError> + From<diesel::result::Error>,
    {
        match &self.pools {
            // Beside the writer thread (the CLI, set-up): SQLite's busy timeout
            // queues it behind the writer's transaction.
            Pools::Sqlite { pool, .. } => {
                let mut conn = self.checkout(pool)?;
                conn.immediate_transaction(|c| {
                    let written = f(&mut Conn::Sqlite(c))?;
                    super::substring::write_pending_entries(&mut Conn::Sqlite(c))?;
                    Ok(written)
                })
            }
            Pools::Postgres(pool) => {
                let mut conn = self.checkout(pool)?;
                conn.transaction(|c| f(&mut Conn::Postgres(c)))
            }
        }
    }

    /// Refreshes the query planner's statistics (after bulk loads).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            crate::with_conn!(conn, c => c.batch_execute("ANALYZE")).map_err(StoreError::from)
        })
        .await
    }

    /// True when a connection can be checked out and answers a trivial query, and,
    /// on SQLite, when the last write that failed for want of a writable file has
    /// been followed by one that committed: if none has, a write that changes
    /// nothing tries again.
    pub async fn is_ready(&self) -> bool {
        let answers = self
            .read(|conn| {
                let result = crate::with_conn!(conn, c => c.batch_execute("SELECT 1"));
                result.map_err(StoreError::from)
            })
            .await
            .is_ok();
        let unwritable = self.backend() == Backend::Sqlite && self.health.is_lost();
        if !answers || !unwritable {
            return answers;
        }
        // A new WAL frame of page 1: it fails as long as the file cannot grow.
        let probe = self
            .write(|conn| {
                let Conn::Sqlite(c) = conn else {
                    return Ok(());
                };
                let version = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "user_version FROM pragma_user_version",
                ))
                .get_result::<i32>(*c)?;
                c.batch_execute(&format!("PRAGMA user_version = {version}"))?;
                Ok::<_, StoreError>(())
            })
            .await;
        probe.is_ok()
    }

    /// A connection of `pool`, waiting at most the checkout timeout for one to be
    /// free. On PostgreSQL the wait ends as soon as the database is found lost.
    fn checkout<C>(
        &self,
        pool: &Pool<ConnectionManager<C>>,
    ) -> Result<PooledConnection<ConnectionManager<C>>, StoreError>
    where
        C: diesel::r2d2::R2D2Connection + 'static,
    {
        let health = matches!(self.pools, Pools::Postgres(_)).then_some(&self.health);
        let deadline = std::time::Instant::now() + self.checkout_wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match pool.get_timeout(left.min(CHECKOUT_SLICE)) {
                Ok(conn) => {
                    if let Some(health) = health {
                        health.mark_reachable();
                    }
                    return Ok(conn);
                }
                Err(error) if health.is_some_and(Health::is_lost) => {
                    return Err(StoreError::lost(error.to_string()));
                }
                Err(error) if std::time::Instant::now() >= deadline => {
                    metrics::counter!("roster_db_pool_timeouts_total", "pool" => pool_name(health))
                        .increment(1);
                    return Err(StoreError::unavailable(error));
                }
                Err(_) => {}
            }
        }
    }
}

/// The pool label of a checkout's pool: only PostgreSQL's pool watches health.
fn pool_name(health: Option<&Health>) -> &'static str {
    if health.is_some() {
        "postgres"
    } else {
        "readers"
    }
}

/// `database_url` with the connection timeouts libpq takes from it, unless it sets
/// them itself: no connection attempt or dead connection then blocks a request
/// past `connect`.
fn postgres_url(database_url: &str, connect: Duration) -> String {
    let seconds = connect.as_millis().div_ceil(1000).max(1);
    let settings = [
        ("connect_timeout", seconds.to_string()),
        ("tcp_user_timeout", connect.as_millis().max(1).to_string()),
        ("keepalives_idle", seconds.to_string()),
        ("keepalives_interval", "1".to_owned()),
    ];
    let mut url = database_url.to_owned();
    let query = database_url.split_once('?').map_or("", |(_, query)| query);
    for (name, value) in settings {
        let named = query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name));
        if !named {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{name}={value}"));
        }
    }
    url
}

/// Runs `f` under a savepoint of the caller's transaction: when it fails, its
/// changes roll back alone and the transaction goes on (one operation of a batch).
pub fn savepoint<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<StoreError>,
{
    match conn {
        Conn::Sqlite(c) => nested(&mut **c, |c| f(&mut Conn::Sqlite(c))),
        Conn::Postgres(c) => nested(&mut **c, |c| f(&mut Conn::Postgres(c))),
    }
}

fn nested<C, T, E, F>(conn: &mut C, f: F) -> Result<T, E>
where
    C: Connection,
    F: FnOnce(&mut C) -> Result<T, E>,
    E: From<StoreError>,
{
    let mut failure = None;
    let outcome = conn.transaction::<T, diesel::result::Error, _>(|c| {
        f(c).map_err(|error| {
            failure = Some(error);
            diesel::result::Error::RollbackTransaction
        })
    });
    match (outcome, failure) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(error)) => Err(error),
        (Err(error), None) => Err(StoreError::from(error).into()),
    }
}

/// Runs the pending SQLite migrations, then refreshes the planner's statistics so
/// that selective indexes (externalId, emails) win over ordered scans.
pub(super) fn migrate_sqlite(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    conn.batch_execute("PRAGMA optimize = 0x10002;")
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// Runs `f` in one deferred SQLite transaction: all its statements read one WAL
/// snapshot, taken once instead of once per statement.
fn read_sqlite_snapshot<T, E, F>(conn: &mut SqliteConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<StoreError>,
{
    // BEGIN and COMMIT stay prepared on the connection (diesel's `transaction` parses
    // them anew each time, a tenth of a point read). Nothing to undo in a read: the
    // transaction ends with COMMIT whatever `f` did, a panic included, so that the
    // connection never goes back to the pool inside a transaction.
    PreparedStatement::<BeginDeferred>::run(conn).map_err(StoreError::from)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut Conn::Sqlite(conn))));
    let ended = PreparedStatement::<Commit>::run(conn);
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(result) => {
            ended.map_err(StoreError::from)?;
            result
        }
    }
}

/// A fixed SQL statement that stays in the connection's statement cache. Each is a
/// type of its own ([`FixedSql`]), so the cache finds it by type id instead of
/// building and hashing its text on every use.
struct PreparedStatement<S>(std::marker::PhantomData<S>);

/// The text of a [`PreparedStatement`].
trait FixedSql: 'static {
    const SQL: &'static str;
}

/// `BEGIN DEFERRED`: the snapshot starts at the first read.
struct BeginDeferred;

impl FixedSql for BeginDeferred {
    const SQL: &'static str = "BEGIN DEFERRED";
}

struct Commit;

impl FixedSql for Commit {
    const SQL: &'static str = "COMMIT";
}

impl<S: FixedSql> PreparedStatement<S> {
    fn run(conn: &mut SqliteConnection) -> diesel::QueryResult<usize> {
        PreparedStatement::<S>(std::marker::PhantomData).execute(conn)
    }
}

impl<S: FixedSql> diesel::query_builder::QueryId for PreparedStatement<S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: FixedSql> diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
    for PreparedStatement<S>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(S::SQL);
        Ok(())
    }
}

impl<S: FixedSql> RunQueryDsl<SqliteConnection> for PreparedStatement<S> {}

/// The result a write hands to the callback `submit` gives it, once it is known.
async fn delivered<T, E>(submit: impl FnOnce(Box<dyn FnOnce(Result<T, E>) + Send>)) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::oneshot::channel();
    submit(Box::new(move |result| {
        let _ = sender.send(result);
    }));
    receiver
        .await
        .unwrap_or_else(|_| Err(StoreError::Cancelled.into()))
}

async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Cancelled.into()),
    }
}

/// `sqlite://roster.db`, `sqlite:roster.db` and `roster.db` all name the file `roster.db`.
pub(super) fn sqlite_path(url: &str) -> String {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_store(dir: &tempfile::TempDir, readers: u32, lookups: u32) -> Store {
        Store::connect(
            &format!("sqlite://{}/roster.db", dir.path().display()),
            PoolSizes { readers, lookups },
        )
        .expect("store opens")
    }

    fn select_one(conn: &mut Conn) -> Result<i32, StoreError> {
        crate::with_conn!(conn, c => c.batch_execute("SELECT 1"))?;
        Ok(1)
    }

    /// Runs a read on `run` that holds its connection until the returned sender
    /// fires; returns once the read has its connection.
    async fn hold_a_connection<F>(run: F) -> std::sync::mpsc::Sender<()>
    where
        F: FnOnce(Box<dyn FnOnce(&mut Conn) -> Result<(), StoreError> + Send>) + Send + 'static,
    {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (held, holding) = tokio::sync::oneshot::channel();
        run(Box::new(move |_conn| {
            let _ = held.send(());
            let _ = released.recv();
            Ok(())
        }));
        holding.await.expect("the connection is held");
        release
    }

    #[tokio::test]
    async fn an_indexed_read_runs_when_a_connection_is_idle() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = sqlite_store(&dir, 2, 2);
        assert_eq!(store.read_indexed(select_one).await.expect("read"), 1);
    }

    #[tokio::test]
    async fn an_indexed_read_without_look_up_connections_reads_off_the_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = sqlite_store(&dir, 1, 0);
        assert_eq!(store.read_indexed(select_one).await.expect("read"), 1);
    }

    #[tokio::test]
    async fn a_panicking_indexed_read_is_an_error_and_the_store_keeps_serving() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = sqlite_store(&dir, 1, 1);
        let outcome: Result<i32, StoreError> =
            store.read_indexed(|_conn| panic!("a bug in a read")).await;
        assert!(matches!(outcome, Err(StoreError::Cancelled)), "{outcome:?}");
        assert_eq!(store.read_indexed(select_one).await.expect("read"), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_indexed_read_does_not_wait_for_the_blocking_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = sqlite_store(&dir, 1, 1);
        let reader = store.clone();
        let release = hold_a_connection(move |f| {
            tokio::spawn(async move { reader.read(f).await });
        })
        .await;
        let indexed = tokio::time::timeout(Duration::from_secs(5), store.read_indexed(select_one))
            .await
            .expect("the look-up connection is idle, so the read does not wait");
        assert_eq!(indexed.expect("read"), 1);
        release.send(()).expect("holder waits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_indexed_read_waits_for_a_connection_when_none_is_idle() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = sqlite_store(&dir, 1, 1);
        let (reader, looker) = (store.clone(), store.clone());
        let release_reader = hold_a_connection(move |f| {
            tokio::spawn(async move { reader.read(f).await });
        })
        .await;
        // An inline read blocks its own thread: run it on one of its own.
        let release_lookup = hold_a_connection(move |f| {
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                runtime.block_on(looker.read_indexed(f))
            });
        })
        .await;
        let indexed = tokio::spawn({
            let store = store.clone();
            async move { store.read_indexed(select_one).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !indexed.is_finished(),
            "no connection was idle: the read must wait on the blocking pool"
        );
        release_reader.send(()).expect("holder waits");
        assert_eq!(indexed.await.expect("joins").expect("read"), 1);
        release_lookup.send(()).expect("holder waits");
    }

    /// The schema text of SQLite table `name`.
    fn table_sql(conn: &mut SqliteConnection, name: &str) -> String {
        #[derive(diesel::QueryableByName)]
        struct Sql {
            #[diesel(sql_type = diesel::sql_types::Text)]
            sql: String,
        }
        diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result::<Sql>(conn)
            .expect("table exists")
            .sql
    }

    fn assignment_rows(conn: &mut SqliteConnection) -> Vec<(String, String, Option<String>)> {
        use crate::store::schema::user_apps::dsl::*;
        use diesel::QueryDsl;
        user_apps
            .select((user_id, app_id, custom_app_data))
            .order((user_id, app_id))
            .load(conn)
            .expect("assignments load")
    }

    /// Reverts migrations, latest first, up to and including the one `name` starts.
    fn revert_through(conn: &mut SqliteConnection, name: &str) {
        loop {
            let reverted = conn
                .revert_last_migration(SQLITE_MIGRATIONS)
                .expect("reverts")
                .to_string()
                .replace('-', "");
            if name.replace('-', "").starts_with(&reverted) {
                return;
            }
        }
    }

    const CLUSTERING: &str = "2026-11-29-000002_user_apps_clustered";

    #[test]
    fn clustering_user_apps_keeps_every_assignment_both_ways() {
        let mut conn = SqliteConnection::establish(":memory:").expect("opens");
        migrate_sqlite(&mut conn).expect("migrates");
        assert!(table_sql(&mut conn, "user_apps").ends_with("WITHOUT ROWID"));
        revert_through(&mut conn, CLUSTERING);
        // With foreign keys off, the rows need no parents.
        conn.batch_execute(
            "PRAGMA foreign_keys = OFF; \
             INSERT INTO user_apps (user_id, app_id, tenant_id, custom_app_data, assigned_at) \
             VALUES ('u2', 'a1', 't', NULL, '2026-11-29 10:00:00'), \
                    ('u1', 'a2', 't', '{\"seat\":1}', '2026-11-29 10:00:00'), \
                    ('u1', 'a1', 't', NULL, '2026-11-29 10:00:00')",
        )
        .expect("inserts");
        let before = assignment_rows(&mut conn);
        assert_eq!(before.len(), 3);

        migrate_sqlite(&mut conn).expect("migrates again");
        assert!(table_sql(&mut conn, "user_apps").ends_with("WITHOUT ROWID"));
        assert_eq!(assignment_rows(&mut conn), before);

        revert_through(&mut conn, CLUSTERING);
        assert!(!table_sql(&mut conn, "user_apps").contains("WITHOUT ROWID"));
        assert_eq!(assignment_rows(&mut conn), before);
    }
}
