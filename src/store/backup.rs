//! Online backups of a SQLite store through SQLite's backup API.
//!
//! The copy is made page by page from one read transaction of a connection of its
//! own: in WAL mode readers do not block the running service's writer, and the copy
//! is the database as of one commit, with every page (row ids included) as it is.

use std::ffi::{CStr, CString, c_int};
use std::fs::OpenOptions;
use std::path::Path;
use std::ptr;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use libsqlite3_sys as ffi;

use super::StoreError;
use super::connection::sqlite_path;

/// How long opening the source waits for a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the copy is retried while the source is locked (SQLite's busy handler
/// covers opening, not the backup's steps).
const LOCKED_RETRIES: u32 = 100;

/// What a finished backup wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupReport {
    pub path: String,
    pub bytes: u64,
}

/// An open SQLite handle, closed on drop.
struct Handle(*mut ffi::sqlite3);

impl Handle {
    fn open(path: &Path, flags: c_int) -> Result<Handle, StoreError> {
        let name = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| StoreError::Connection("a path holds a NUL byte".into()))?;
        let mut db = ptr::null_mut();
        // SAFETY: `name` is a NUL-terminated string that outlives the call and `db`
        // a valid out-pointer; a handle returned even on failure is closed by Drop.
        let code = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
        let handle = Handle(db);
        if code != ffi::SQLITE_OK {
            return Err(StoreError::Connection(format!(
                "cannot open {}: {}",
                path.display(),
                handle.error_message(code)
            )));
        }
        let timeout_ms = c_int::try_from(BUSY_TIMEOUT.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_busy_timeout(handle.0, timeout_ms) };
        Ok(handle)
    }

    /// The handle's last error, or the generic text of `code`.
    fn error_message(&self, code: c_int) -> String {
        // SAFETY: sqlite3_errmsg accepts an open handle and returns a NUL-terminated
        // string owned by SQLite, valid until the next call on the handle;
        // sqlite3_errstr returns a static string.
        let text = unsafe {
            if self.0.is_null() {
                ffi::sqlite3_errstr(code)
            } else {
                ffi::sqlite3_errmsg(self.0)
            }
        };
        if text.is_null() {
            return format!("SQLite error {code}");
        }
        // SAFETY: non-null, NUL-terminated, see above.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from sqlite3_open_v2 (null is a no-op) and every
        // backup object on it has been finished.
        unsafe { ffi::sqlite3_close(self.0) };
    }
}

/// Copies the SQLite store at `database_url` into the new file `to`, which must not
/// exist yet; a failed copy leaves no file behind.
pub fn backup_sqlite(database_url: &str, to: &Path) -> Result<BackupReport, StoreError> {
    let source_path = sqlite_path(database_url);
    let source_path = Path::new(&source_path);
    if !source_path.is_file() {
        return Err(StoreError::Connection(format!(
            "there is no database file at {}",
            source_path.display()
        )));
    }
    // Claims the name: create_new fails if anything is there, even a file made a
    // moment ago by another backup.
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    // The copy holds what the store holds: readable by its owner only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(to)
        .map_err(|e| StoreError::Connection(format!("cannot create {}: {e}", to.display())))?;
    match copy_and_check(source_path, to) {
        Ok(bytes) => Ok(BackupReport {
            path: to.display().to_string(),
            bytes,
        }),
        Err(error) => {
            let _ = std::fs::remove_file(to);
            Err(error)
        }
    }
}

fn copy_and_check(source_path: &Path, to: &Path) -> Result<u64, StoreError> {
    {
        // Read-write without CREATE: a WAL database may need to write its index
        // file, and a missing source must not be created.
        let source = Handle::open(source_path, ffi::SQLITE_OPEN_READWRITE)?;
        let destination = Handle::open(to, ffi::SQLITE_OPEN_READWRITE)?;
        copy(&source, &destination)?;
    }
    // A copy that does not read back whole is no backup.
    let url = to.display().to_string();
    let mut copy =
        SqliteConnection::establish(&url).map_err(|e| StoreError::Connection(e.to_string()))?;
    let verdict: Vec<QuickCheck> = diesel::sql_query("PRAGMA quick_check").load(&mut copy)?;
    if verdict.len() != 1 || verdict[0].quick_check != "ok" {
        let problems: Vec<String> = verdict.into_iter().map(|row| row.quick_check).collect();
        return Err(StoreError::Corrupt(format!(
            "the copy fails SQLite's quick_check: {}",
            problems.join("; ")
        )));
    }
    drop(copy);
    std::fs::metadata(to)
        .map(|meta| meta.len())
        .map_err(|e| StoreError::Connection(format!("cannot read {}: {e}", to.display())))
}

#[derive(diesel::QueryableByName)]
struct QuickCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    quick_check: String,
}

/// Copies every page of `source`'s main database in one step, that is from one
/// read transaction; retries while the source is locked.
fn copy(source: &Handle, destination: &Handle) -> Result<(), StoreError> {
    let main = c"main";
    for _ in 0..=LOCKED_RETRIES {
        // SAFETY: both handles are open and distinct; the names are static C strings.
        let backup = unsafe {
            ffi::sqlite3_backup_init(destination.0, main.as_ptr(), source.0, main.as_ptr())
        };
        if backup.is_null() {
            return Err(StoreError::Connection(format!(
                "cannot start the backup: {}",
                destination.error_message(ffi::SQLITE_ERROR)
            )));
        }
        // SAFETY: `backup` is live until sqlite3_backup_finish, called right after.
        let step = unsafe { ffi::sqlite3_backup_step(backup, -1) };
        // SAFETY: as above; finish frees `backup`, which is not used again.
        let finish = unsafe { ffi::sqlite3_backup_finish(backup) };
        match step {
            ffi::SQLITE_DONE if finish == ffi::SQLITE_OK => return Ok(()),
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => {
                std::thread::sleep(Duration::from_millis(100));
            }
            code => {
                return Err(StoreError::Connection(format!(
                    "the backup failed: {}",
                    destination.error_message(if code == ffi::SQLITE_DONE {
                        finish
                    } else {
                        code
                    })
                )));
            }
        }
    }
    Err(StoreError::Unavailable(
        "the source database stayed locked; try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_source_or_a_taken_name_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let to = dir.path().join("copy.db");
        let missing = format!("sqlite://{}/none.db", dir.path().display());
        assert!(backup_sqlite(&missing, &to).is_err());
        assert!(!to.exists());
        assert!(
            !dir.path().join("none.db").exists(),
            "the source was created"
        );

        let source = dir.path().join("roster.db");
        crate::store::Store::connect(
            &format!("sqlite://{}", source.display()),
            crate::store::PoolSizes {
                readers: 1,
                lookups: 0,
            },
        )
        .expect("store opens");
        std::fs::write(&to, b"keep me").expect("writes");
        let url = format!("sqlite://{}", source.display());
        assert!(backup_sqlite(&url, &to).is_err());
        assert_eq!(std::fs::read(&to).expect("reads"), b"keep me");
        std::fs::remove_file(&to).expect("removes");
        let report = backup_sqlite(&url, &to).expect("backs up");
        assert!(report.bytes > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&to)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }
}
