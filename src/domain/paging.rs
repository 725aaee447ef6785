//! Lists of users and groups, one path for both: the page is found first (how many
//! match, where the next page starts, which resources in what order) without
//! reading the resources, which are then read back by id in that order.

use super::DomainError;
use crate::schema::Resolved;
use crate::store::groups::{count_groups, plan_group_search};
use crate::store::users::{
    CursorPosition, PlannedRow, UserSearch, UserSort, UserWindow, count_matching_users,
    counts_first, plan_user_search,
};
use crate::store::{Conn, Scope, StoreError};

/// What a list or search asks for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Resolved>,
    pub sort: Option<UserSort>,
    pub window: UserWindow,
}

impl ListQuery {
    /// The `startIndex` of the page (RFC 7644 §3.4.2.4): 1-based, and 1 for a
    /// cursor page.
    pub fn start_index(&self) -> i64 {
        match &self.window {
            UserWindow::Offset { offset, .. } => offset + 1,
            UserWindow::After { .. } => 1,
        }
    }
}

/// Which resources a list is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listed {
    Users,
    Groups,
}

/// A page found but not read yet.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlannedPage {
    /// How many resources match, over all pages.
    pub total: i64,
    /// Where the next page starts (cursor paging only).
    pub next: Option<CursorPosition>,
    /// The page's resources, in order.
    pub rows: Vec<PlannedRow>,
}

/// Finds the `listed` resources of a page in `scope` without reading them: how many
/// match, where the next page starts, and the ids (with sizes) of the page's
/// resources in order.
pub(crate) fn plan_page(
    conn: &mut Conn,
    scope: &Scope,
    listed: Listed,
    filter: Option<&Resolved>,
    sort: Option<&UserSort>,
    window: &UserWindow,
) -> Result<PlannedPage, DomainError> {
    let count = |conn: &mut Conn| -> Result<i64, DomainError> {
        Ok(match listed {
            Listed::Users => count_matching_users(conn, scope, filter)?,
            Listed::Groups => count_groups(conn, scope, filter)?,
        })
    };
    let (fetched, wanted) = match window {
        UserWindow::Offset { limit, .. } | UserWindow::After { limit, .. } if *limit <= 0 => {
            return Ok(PlannedPage {
                total: count(conn)?,
                next: None,
                rows: Vec::new(),
            });
        }
        UserWindow::Offset { limit, .. } => (window.clone(), *limit),
        // One extra row tells whether another page follows.
        UserWindow::After { position, limit } => (
            UserWindow::After {
                position: position.clone(),
                limit: limit + 1,
            },
            *limit,
        ),
    };
    // A substring search's count comes from its index, and tells the search how to
    // find its page.
    let counted = match listed {
        Listed::Users if counts_first(conn.backend(), filter) => Some(count(conn)?),
        _ => None,
    };
    let mut rows = match listed {
        Listed::Users => {
            let search = UserSearch {
                scope,
                filter,
                sort,
                window: fetched,
                with_extras: false,
                matching: counted,
            };
            plan_user_search(conn, &search)?
        }
        Listed::Groups => plan_group_search(conn, scope, filter, sort, &fetched)?,
    };
    let more = rows.len() as i64 > wanted;
    // A first page that holds every match is its own count.
    let every_match = match window {
        UserWindow::Offset { offset, limit } => *offset == 0 && (rows.len() as i64) < *limit,
        UserWindow::After { position, .. } => position.is_none() && !more,
    };
    let total = match counted {
        Some(total) => total,
        None if every_match => rows.len() as i64,
        None => count(conn)?,
    };
    rows.truncate(usize::try_from(wanted).unwrap_or(0));
    let next = match (window, more) {
        (UserWindow::After { .. }, true) => rows.last().map(|row| row.position.clone()),
        _ => None,
    };
    Ok(PlannedPage { total, next, rows })
}

/// `rows` (read by id, in no order) in the order of `ids`; a missing row means the
/// snapshot changed under the read.
pub(crate) fn in_order<T>(
    ids: &[String],
    rows: Vec<T>,
    id_of: impl Fn(&T) -> &String,
) -> Result<Vec<T>, DomainError> {
    let mut by_id: std::collections::HashMap<String, T> = rows
        .into_iter()
        .map(|row| (id_of(&row).clone(), row))
        .collect();
    ids.iter()
        .map(|id| {
            by_id.remove(id).ok_or_else(|| {
                DomainError::Store(StoreError::Corrupt(format!(
                    "{id} was found by the list's search but not read"
                )))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn rows_read_by_id_come_back_in_the_search_order() {
        let ids = vec!["b".to_owned(), "a".to_owned()];
        let rows = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(in_order(&ids, rows, |r| r).unwrap(), ["b", "a"]);
        assert!(in_order(&ids, vec!["a".to_owned()], |r| r).is_err());
    }
}
