//! Lists of users and groups read for streaming: the page is found first (how many
//! match, which resources, in what order), then its resources are read in batches
//! of a bounded size and a group's members page by page, all from one snapshot of
//! the store, and handed over a bounded channel as they are read. However large the
//! resources and however many such lists run, each holds only a few batches in
//! memory.

use std::time::Duration;

use tokio::sync::mpsc::error::SendTimeoutError;
use tokio::sync::{mpsc, oneshot};

use super::DomainError;
use super::groups::{Group, Member, read_groups, read_member_pages};
pub use super::paging::ListQuery;
use super::paging::{Listed, PlannedPage, plan_page};
use super::users::{LookUp, User, UserPage, look_up_users, read_users};
use crate::store::Scope;
use crate::store::users::{CursorPosition, PlannedRow, UserWindow};
use crate::store::{Store, StoreError};

/// At most this many bytes of stored JSON are read in one batch (a single larger
/// resource is a batch of its own).
pub const BATCH_BYTES: i64 = 1024 * 1024;

/// At most this many resources are read in one batch.
pub const BATCH_ROWS: usize = 100;

/// How long a streamed read waits for its reader to take the next part: a client
/// that stops reading gives up its database connection and snapshot after this.
const STALLED_READER: Duration = Duration::from_secs(30);

/// A group list's query: the filter resolved against the Group schemas.
#[derive(Debug, Clone)]
pub struct GroupQuery {
    pub query: ListQuery,
    /// Whether the groups' members are listed.
    pub with_members: bool,
}

/// What a list holds, known before any resource is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListHead {
    /// How many resources match, over all pages.
    pub total: i64,
    /// How many resources this page holds.
    pub items: usize,
    /// Where the next page starts (cursor paging only).
    pub next: Option<CursorPosition>,
}

/// One part of a streamed list, in the list's order.
#[derive(Debug)]
pub enum ListPart {
    Users(Vec<User>),
    /// Groups shown without their members.
    Groups(Vec<Group>),
    /// A group (without its members) whose members follow, in `Members` parts ended
    /// by `MembersEnd`.
    GroupHead(Group),
    Members(Vec<Member>),
    MembersEnd,
    /// The list is complete: a stream that ends without it was cut short.
    End,
}

/// A list being read.
pub struct ListStream {
    pub head: ListHead,
    /// The list's parts; the reading stops when this receiver is dropped. An error
    /// ends it.
    pub parts: mpsc::Receiver<Result<ListPart, DomainError>>,
}

/// Lists the users matching `users`, then the groups matching `groups`, as one list:
/// with both, the groups' page follows the users' (an offset past the users skips
/// groups; the groups fill what room the users leave on the page).
pub async fn stream_list(
    store: &Store,
    scope: &Scope,
    users: Option<ListQuery>,
    groups: Option<GroupQuery>,
) -> Result<ListStream, DomainError> {
    let (head_sender, head) = oneshot::channel();
    let (part_sender, parts) = mpsc::channel(1);
    let scope = scope.clone();
    let failure = store.spawn_snapshot_read(move |conn| {
        let planned = (|| {
            let user_page = match &users {
                Some(query) => Some(plan_page(
                    conn,
                    &scope,
                    Listed::Users,
                    query.filter.as_ref(),
                    query.sort.as_ref(),
                    &query.window,
                )?),
                None => None,
            };
            let group_page = match &groups {
                Some(groups) => {
                    let window = following(&groups.query.window, user_page.as_ref());
                    let query = &groups.query;
                    let page = plan_page(
                        conn,
                        &scope,
                        Listed::Groups,
                        query.filter.as_ref(),
                        query.sort.as_ref(),
                        &window,
                    )?;
                    Some(page)
                }
                None => None,
            };
            Ok::<_, DomainError>((
                user_page.unwrap_or_default(),
                group_page.unwrap_or_default(),
            ))
        })();
        let (user_page, group_page) = match planned {
            Ok(pages) => pages,
            Err(error) => {
                let _ = head_sender.send(Err(error));
                return Ok(());
            }
        };
        let head = ListHead {
            total: user_page.total + group_page.total,
            items: user_page.rows.len() + group_page.rows.len(),
            next: user_page.next.clone().or_else(|| group_page.next.clone()),
        };
        if head_sender.send(Ok(head)).is_err() {
            return Ok(());
        }
        let with_members = groups.as_ref().is_some_and(|g| g.with_members);
        let send = |part| send_part(&part_sender, Ok(part));
        let read = (|| {
            for ids in batches(&user_page.rows) {
                if !send(ListPart::Users(read_users(conn, &scope, &ids)?)) {
                    return Ok(());
                }
            }
            for ids in batches(&group_page.rows) {
                let groups = read_groups(conn, &scope, &ids)?;
                if !with_members {
                    if !send(ListPart::Groups(groups)) {
                        return Ok(());
                    }
                    continue;
                }
                for group in groups {
                    let id = group.id.clone();
                    if !send(ListPart::GroupHead(group)) {
                        return Ok(());
                    }
                    let mut reading = true;
                    read_member_pages(conn, &scope, &id, |page| {
                        reading = send(ListPart::Members(page));
                        reading
                    })?;
                    if !reading || !send(ListPart::MembersEnd) {
                        return Ok(());
                    }
                }
            }
            send(ListPart::End);
            Ok::<_, DomainError>(())
        })();
        if let Err(error) = read {
            send_part(&part_sender, Err(error));
        }
        Ok(())
    });
    let head = match head.await {
        Ok(head) => head?,
        Err(_) => return Err(failure.await.unwrap_or(StoreError::Cancelled).into()),
    };
    Ok(ListStream { head, parts })
}

/// The window of a list that follows a page of `before` in one list: past the
/// resources before it, with the room they leave.
fn following(window: &UserWindow, before: Option<&PlannedPage>) -> UserWindow {
    match (window, before) {
        (UserWindow::Offset { offset, limit }, Some(before)) => UserWindow::Offset {
            offset: (offset - before.total).max(0),
            limit: (limit - before.rows.len() as i64).max(0),
        },
        (window, _) => window.clone(),
    }
}

/// The ids of `rows` in batches of at most [`BATCH_ROWS`] resources and
/// [`BATCH_BYTES`] bytes (or one resource larger than that).
pub(crate) fn batches(rows: &[PlannedRow]) -> Vec<Vec<String>> {
    let mut batches = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    let mut bytes = 0;
    for row in rows {
        if !batch.is_empty() && (batch.len() == BATCH_ROWS || bytes + row.bytes > BATCH_BYTES) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(row.id.clone());
        bytes += row.bytes;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// Hands a part to the reader from a blocking thread; false when the reader is gone
/// or has not taken the previous part for [`STALLED_READER`].
pub(crate) fn send_part<T>(sender: &mpsc::Sender<T>, part: T) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return sender.blocking_send(part).is_ok();
    };
    match runtime.block_on(sender.send_timeout(part, STALLED_READER)) {
        Ok(()) => true,
        Err(SendTimeoutError::Timeout(_)) => {
            tracing::warn!(
                seconds = STALLED_READER.as_secs(),
                "a streamed list's reader took nothing for too long: the reading stops"
            );
            false
        }
        Err(SendTimeoutError::Closed(_)) => false,
    }
}

/// One page of users, read whole: for pages small enough to hold, such as the
/// Admin Portal's.
pub async fn read_user_page(
    store: &Store,
    scope: &Scope,
    query: ListQuery,
) -> Result<UserPage, DomainError> {
    let query = match look_up_users(store, scope, query).await? {
        LookUp::Page(page) => return Ok(page),
        LookUp::Unanswered(query) => query,
    };
    let mut list = stream_list(store, scope, Some(query), None).await?;
    let mut users = Vec::with_capacity(list.head.items);
    while let Some(part) = list.parts.recv().await {
        match part? {
            ListPart::Users(batch) => users.extend(batch),
            ListPart::End => {
                return Ok(UserPage {
                    users,
                    total: list.head.total,
                    next: list.head.next,
                });
            }
            _ => {}
        }
    }
    Err(StoreError::Cancelled.into())
}

/// One page of groups without their members, read whole.
pub async fn read_group_page(
    store: &Store,
    scope: &Scope,
    query: ListQuery,
) -> Result<(ListHead, Vec<Group>), DomainError> {
    let groups_query = GroupQuery {
        query,
        with_members: false,
    };
    let mut list = stream_list(store, scope, None, Some(groups_query)).await?;
    let mut groups = Vec::with_capacity(list.head.items);
    while let Some(part) = list.parts.recv().await {
        match part? {
            ListPart::Groups(batch) => groups.extend(batch),
            ListPart::End => return Ok((list.head, groups)),
            _ => {}
        }
    }
    Err(StoreError::Cancelled.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, bytes: i64) -> PlannedRow {
        PlannedRow {
            id: id.into(),
            position: CursorPosition {
                key: None,
                id: id.into(),
            },
            bytes,
        }
    }

    #[test]
    fn batches_hold_at_most_their_bytes_and_rows() {
        let half = BATCH_BYTES / 2;
        let rows = [
            row("a", half),
            row("b", half),
            row("c", 1),
            row("d", BATCH_BYTES * 3),
            row("e", 1),
        ];
        assert_eq!(
            batches(&rows),
            [vec!["a", "b"], vec!["c"], vec!["d"], vec!["e"]]
        );
        let small: Vec<PlannedRow> = (0..BATCH_ROWS * 2 + 1)
            .map(|n| row(&n.to_string(), 10))
            .collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [BATCH_ROWS, BATCH_ROWS, 1]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn a_following_page_starts_past_the_resources_before_it() {
        let before = PlannedPage {
            total: 5,
            next: None,
            rows: vec![row("a", 1), row("b", 1)],
        };
        let window = UserWindow::Offset {
            offset: 3,
            limit: 10,
        };
        assert!(matches!(
            following(&window, Some(&before)),
            UserWindow::Offset {
                offset: 0,
                limit: 8
            }
        ));
        let window = UserWindow::Offset {
            offset: 7,
            limit: 10,
        };
        let past_the_users = PlannedPage {
            total: 5,
            next: None,
            rows: Vec::new(),
        };
        assert!(matches!(
            following(&window, Some(&past_the_users)),
            UserWindow::Offset {
                offset: 2,
                limit: 10
            }
        ));
        assert!(matches!(
            following(&window, None),
            UserWindow::Offset {
                offset: 7,
                limit: 10
            }
        ));
    }
}
