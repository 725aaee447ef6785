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

use super::health::Health;
use super::substring::write_pending_entries;
use super::{Conn, StoreError};

/// Most writes committed by one transaction.
const MAX_WRITES_PER_COMMIT: usize = 64;

/// A write: runs on the writer's connection and hands back whether it succeeded and
/// what to do once the commit's outcome is known.
type WriteJob = Box<dyn FnOnce(&mut SqliteConnection) -> (bool, Delivery) + Send>;
type Delivery = Box<dyn FnOnce(Option<&CommitFailure>) + Send>;

/// Why a transaction of the writer did not commit.
struct CommitFailure {
    message: String,
    /// The file cannot be written: full, an I/O error, read-only.
    lost: bool,
}

impl CommitFailure {
    fn of(error: &diesel::result::Error) -> Self {
        CommitFailure {
            message: error.to_string(),
            lost: super::error::is_lost(error),
        }
    }

    fn to_error(&self) -> StoreError {
        if self.lost {
            StoreError::Lost(self.message.clone())
        } else {
            StoreError::Commit(self.message.clone())
        }
    }
}
/// A write that runs in a transaction of its own and delivers its own result.
type WholeJob = Box<dyn FnOnce(&mut SqliteConnection, &Health) + Send>;

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
    pub(super) fn start(
        conn: SqliteConnection,
        health: Health,
    ) -> Result<SqliteWriter, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, &taken, &health))
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
            let succeeded = result.is_ok();
            let delivery: Delivery = Box::new(move |commit_error: Option<&CommitFailure>| {
                done(match commit_error {
                    Some(failure) => Err(failure.to_error().into()),
                    None => result,
                })
            });
            (succeeded, delivery)
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
        let job: WholeJob = Box::new(move |conn: &mut SqliteConnection, health: &Health| {
            // The transaction's own failure (BEGIN, COMMIT) is told apart from the
            // write's, to learn whether the file takes writes.
            let mut failure = None;
            let transaction = conn.immediate_transaction::<_, diesel::result::Error, _>(|c| {
                let written = catch_unwind(AssertUnwindSafe(|| f(&mut Conn::Sqlite(c))))
                    .unwrap_or_else(|_| {
                        tracing::error!("a write panicked; it was rolled back");
                        Err(StoreError::Cancelled.into())
                    })
                    .and_then(|written| {
                        write_pending_entries(&mut Conn::Sqlite(c))?;
                        Ok(written)
                    });
                written.map_err(|error| {
                    failure = Some(error);
                    diesel::result::Error::RollbackTransaction
                })
            });
            done(match (transaction, failure) {
                (Ok(written), _) => {
                    health.mark_reachable();
                    Ok(written)
                }
                (Err(_), Some(error)) => Err(error),
                (Err(error), None) => {
                    let failure = CommitFailure::of(&error);
                    if failure.lost {
                        health.mark_lost(&failure.message);
                    }
                    Err(StoreError::from(error).into())
                }
            });
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

fn run_writer(
    mut conn: SqliteConnection,
    queue: mpsc::Receiver<Job>,
    queued: &AtomicUsize,
    health: &Health,
) {
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
            commit_batch(&mut conn, batch, health);
        }
        if let Some(job) = whole {
            queued.fetch_sub(1, Ordering::Relaxed);
            job(&mut conn, health);
        }
    }
}

/// Runs `batch` in one transaction, each write under its own savepoint, and tells
/// each the commit's outcome. A commit that carried a successful write shows the
/// file takes writes; one that failed for want of a writable file shows it lost.
fn commit_batch(conn: &mut SqliteConnection, mut batch: Vec<WriteJob>, health: &Health) {
    let mut deliveries = Vec::with_capacity(batch.len());
    let mut wrote = false;
    let mut index_error = None;
    let committed = conn.immediate_transaction::<(), diesel::result::Error, _>(|c| {
        deliveries.extend(batch.drain(..).map(|job| {
            let (succeeded, delivery) = job(c);
            wrote |= succeeded;
            delivery
        }));
        write_pending_entries(&mut Conn::Sqlite(c)).map_err(|error| {
            index_error = Some(CommitFailure {
                message: error.to_string(),
                lost: matches!(error, StoreError::Lost(_)),
            });
            diesel::result::Error::RollbackTransaction
        })
    });
    let commit_error = index_error.or(committed.err().map(|e| CommitFailure::of(&e)));
    match &commit_error {
        Some(failure) => {
            if failure.lost {
                super::error::count_database_error("lost");
                health.mark_lost(&failure.message);
            } else {
                super::error::count_database_error("commit");
            }
            // Leave no half-open transaction behind for the next batch.
            let _ = conn.batch_execute("ROLLBACK");
        }
        None if wrote => health.mark_reachable(),
        None => {}
    }
    for deliver in deliveries {
        deliver(commit_error.as_ref());
    }
}
