//! SQLite's single writer, with group commit.
//!
//! SQLite lets one transaction write at a time, and most of a small write's cost is
//! its commit (the WAL frames of every page it touched). So every write of a SQLite
//! store goes to one thread that owns a connection of its own, takes the writes
//! waiting in its queue and commits them together: each write runs under its own
//! savepoint, so a failing write rolls back alone, and none is answered before the
//! commit that makes it durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use super::substring::write_pending_entries;
use super::{Conn, StoreError};

/// Most writes committed by one transaction.
const MAX_WRITES_PER_COMMIT: usize = 64;

/// A write: runs on the writer's connection and hands back what to do once the
/// commit's outcome is known.
type WriteJob = Box<dyn FnOnce(&mut SqliteConnection) -> Delivery + Send>;
type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write that runs in a transaction of its own and delivers its own result.
type WholeJob = Box<dyn FnOnce(&mut SqliteConnection) + Send>;

enum Job {
    /// Shares a commit with the writes queued beside it, under a savepoint.
    Shared(WriteJob),
    /// Commits alone, without a savepoint.
    Whole(WholeJob),
}

/// The queue of the writer thread; dropping the last handle stops the thread.
#[derive(Clone)]
pub(super) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// Writes sent and not yet taken up by the writer thread.
    queued: Arc<AtomicUsize>,
}

impl SqliteWriter {
    /// Starts the writer thread on `conn`.
    pub(super) fn start(conn: SqliteConnection) -> Result<SqliteWriter, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, &taken))
            .map_err(|e| StoreError::Connection(format!("cannot start the writer: {e}")))?;
        Ok(SqliteWriter { jobs, queued })
    }

    /// Writes waiting for the writer thread.
    pub(super) fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Queues `f`; `done` receives its result once its transaction has committed
    /// (or the commit's error), and is dropped uncalled if the writer has stopped.
    pub(super) fn submit<T, E, F>(&self, f: F, done: impl FnOnce(Result<T, E>) + Send + 'static)
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let job: WriteJob = Box::new(move |conn: &mut SqliteConnection| {
            let result = run_in_savepoint(conn, f);
            Box::new(move |commit_error: Option<&str>| {
                done(match commit_error {
                    Some(error) => Err(StoreError::Commit(error.to_owned()).into()),
                    None => result,
                })
            })
        });
        // If the writer is gone the job is dropped unrun, and the caller's wait for
        // `done` ends in an error.
        self.send(Job::Shared(job));
    }

    /// Queues `f` to run in a transaction of its own, without the savepoint a
    /// shared write runs under (a large write that journals no page twice): it
    /// commits if `f` succeeds and rolls back whole if it fails. `done` receives its
    /// result once the transaction has ended.
    pub(super) fn submit_whole<T, E, F>(
        &self,
        f: F,
        done: impl FnOnce(Result<T, E>) + Send + 'static,
    ) where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let job: WholeJob = Box::new(move |conn: &mut SqliteConnection| {
            let result = conn.immediate_transaction(|c| {
                let written = catch_unwind(AssertUnwindSafe(|| f(&mut Conn::Sqlite(c))))
                    .unwrap_or_else(|_| {
                        tracing::error!("a write panicked; it was rolled back");
                        Err(StoreError::Cancelled.into())
                    })?;
                write_pending_entries(&mut Conn::Sqlite(c))?;
                Ok(written)
            });
            done(result);
        });
        self.send(Job::Whole(job));
    }

    /// Sends `job` to the writer thread, counted in the queue's depth.
    fn send(&self, job: Job) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Runs one write under its own savepoint: its changes stay only if it succeeds.
fn run_in_savepoint<T, E, F>(conn: &mut SqliteConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<StoreError> + From<diesel::result::Error>,
{
    let mut result = None;
    let savepoint = conn.transaction::<(), diesel::result::Error, _>(|c| {
        let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut Conn::Sqlite(c))));
        let failed = !matches!(outcome, Ok(Ok(_)));
        result = Some(outcome);
        if failed {
            Err(diesel::result::Error::RollbackTransaction)
        } else {
            Ok(())
        }
    });
    match (result, savepoint) {
        (Some(Ok(Ok(value))), Ok(())) => Ok(value),
        (Some(Ok(Err(error))), _) => Err(error),
        (Some(Err(_panic)), _) => {
            tracing::error!("a write panicked; it was rolled back");
            Err(StoreError::Cancelled.into())
        }
        (_, Err(error)) => Err(error.into()),
        (None, Ok(())) => Err(StoreError::Cancelled.into()),
    }
}

fn run_writer(mut conn: SqliteConnection, queue: mpsc::Receiver<Job>, queued: &AtomicUsize) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::new();
        let mut whole = None;
        match first {
            Job::Shared(job) => batch.push(job),
            Job::Whole(job) => whole = Some(job),
        }
        while whole.is_none() && batch.len() < MAX_WRITES_PER_COMMIT {
            match queue.try_recv() {
                Ok(Job::Shared(job)) => batch.push(job),
                Ok(Job::Whole(job)) => whole = Some(job),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            queued.fetch_sub(batch.len(), Ordering::Relaxed);
            metrics::histogram!("roster_sqlite_writer_batch_size").record(batch.len() as f64);
            commit_batch(&mut conn, batch);
        }
        if let Some(job) = whole {
            queued.fetch_sub(1, Ordering::Relaxed);
            job(&mut conn);
        }
    }
}

/// Runs `batch` in one transaction, each write under its own savepoint, and tells
/// each the commit's outcome.
fn commit_batch(conn: &mut SqliteConnection, mut batch: Vec<WriteJob>) {
    let mut deliveries = Vec::with_capacity(batch.len());
    let mut index_error = None;
    let committed = conn.immediate_transaction::<(), diesel::result::Error, _>(|c| {
        deliveries.extend(batch.drain(..).map(|job| job(c)));
        write_pending_entries(&mut Conn::Sqlite(c)).map_err(|error| {
            index_error = Some(error.to_string());
            diesel::result::Error::RollbackTransaction
        })
    });
    let commit_error = index_error.or(committed.err().map(|e| e.to_string()));
    if commit_error.is_some() {
        super::error::count_database_error("commit");
        // Leave no half-open transaction behind for the next batch.
        let _ = conn.batch_execute("ROLLBACK");
    }
    for deliver in deliveries {
        deliver(commit_error.as_deref());
    }
}
