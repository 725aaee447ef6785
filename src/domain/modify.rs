//! Optimistic read-modify-write, shared by users and groups: read the resource,
//! turn it into a change, and write the change only if nobody changed the resource
//! meanwhile; otherwise read again and redo it, or, when the client sent
//! `If-Match`, refuse with 412.

use std::future::Future;
use std::sync::Arc;

use super::DomainError;
use crate::store::Conn;

/// How many times a change is redone on a newer version before giving up.
const ATTEMPTS: usize = 20;

/// Refuses a write whose `If-Match` names another version than `current`.
pub(crate) fn check_version(if_match: Option<&str>, current: i64) -> Result<(), DomainError> {
    match if_match {
        Some(expected) if expected != "*" && expected != current.to_string() => {
            Err(DomainError::PreconditionFailed(expected.to_owned()))
        }
        _ => Ok(()),
    }
}

/// Reads the resource (`kind` `id`) with `read`, turns it into a change with `change` (on a
/// blocking thread: a PATCH engine over a big document is CPU work), and writes the
/// change with `write`, given the version the change was made from. `write`
/// returns `None` when the resource is no longer at that version.
pub(crate) async fn modify_with_retry<R, C, O, E, Read, ReadFuture, Change, Write, WriteFuture>(
    kind: &str,
    id: &str,
    if_match: Option<&str>,
    read: Read,
    version_of: fn(&R) -> i64,
    change: Change,
    write: Write,
) -> Result<O, E>
where
    R: Send + 'static,
    C: Send + 'static,
    E: From<DomainError> + Send + 'static,
    Read: Fn() -> ReadFuture,
    ReadFuture: Future<Output = Result<R, DomainError>>,
    Change: Fn(&R) -> Result<C, E> + Send + Sync + 'static,
    Write: Fn(i64, C) -> WriteFuture,
    WriteFuture: Future<Output = Result<Option<O>, DomainError>>,
{
    let change = Arc::new(change);
    for _ in 0..ATTEMPTS {
        let current = read().await?;
        let expected = version_of(&current);
        check_version(if_match, expected)?;
        let change = Arc::clone(&change);
        let computed = tokio::task::spawn_blocking(move || change(&current)).await;
        let update = match computed {
            Ok(update) => update?,
            Err(_) => return Err(DomainError::Store(crate::store::StoreError::Cancelled).into()),
        };
        match write(expected, update).await? {
            Some(written) => return Ok(written),
            None if if_match.is_some() => {
                return Err(DomainError::PreconditionFailed(expected.to_string()).into());
            }
            None => continue,
        }
    }
    Err(gave_up(kind, id).into())
}

/// [`modify_with_retry`] inside the caller's transaction (a bulk operation): `read`,
/// `change` and `write` all run on `conn`, and a write that finds the resource
/// changed by a concurrent transaction is redone on the new version.
#[allow(clippy::too_many_arguments)]
pub(crate) fn modify_in_transaction<R, C, O, E>(
    conn: &mut Conn,
    kind: &str,
    id: &str,
    if_match: Option<&str>,
    read: impl Fn(&mut Conn) -> Result<R, DomainError>,
    version_of: fn(&R) -> i64,
    change: impl Fn(&R) -> Result<C, E>,
    write: impl Fn(&mut Conn, i64, C) -> Result<Option<O>, DomainError>,
) -> Result<O, E>
where
    E: From<DomainError>,
{
    for _ in 0..ATTEMPTS {
        let current = read(conn)?;
        let expected = version_of(&current);
        check_version(if_match, expected)?;
        let update = change(&current)?;
        match write(conn, expected, update)? {
            Some(written) => return Ok(written),
            None if if_match.is_some() => {
                return Err(DomainError::PreconditionFailed(expected.to_string()).into());
            }
            None => continue,
        }
    }
    Err(gave_up(kind, id).into())
}

fn gave_up(kind: &str, id: &str) -> DomainError {
    DomainError::Conflict(format!(
        "{kind} '{id}' is being changed by others; try again"
    ))
}
