//! A page of users or groups found but not read yet, and reading it back in order.

use super::DomainError;
use crate::store::StoreError;
use crate::store::users::{CursorPosition, PlannedRow};

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
