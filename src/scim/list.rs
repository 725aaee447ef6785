//! List parameters and the ListResponse message (RFC 7644 §3.4.2).

use serde_json::{Value, json};

use super::error::ScimError;
use super::urn;

/// The page a client asked for, with the server's bounds applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based index of the first result.
    pub start_index: i64,
    pub count: i64,
}

/// Paging limits from configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default_count: i64,
    pub max_count: i64,
}

impl Page {
    /// Reads `startIndex` and `count` (RFC 7644 §3.4.2.4): a `startIndex` below 1 is
    /// read as 1, a negative `count` as 0, and `count` is capped at the maximum.
    pub fn from_params(
        start_index: Option<&str>,
        count: Option<&str>,
        limits: PageLimits,
    ) -> Result<Page, ScimError> {
        let start_index = parse_integer("startIndex", start_index)?
            .unwrap_or(1)
            .max(1);
        let count = parse_integer("count", count)?
            .unwrap_or(limits.default_count)
            .clamp(0, limits.max_count);
        Ok(Page { start_index, count })
    }
}

fn parse_integer(name: &str, value: Option<&str>) -> Result<Option<i64>, ScimError> {
    match value {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
            ScimError::invalid_value(format!("'{name}' must be an integer, not '{text}'"))
        }),
    }
}

/// A ListResponse message.
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default_count: 100,
        max_count: 1000,
    };

    #[test]
    fn defaults_apply_when_parameters_are_absent() {
        assert_eq!(
            Page::from_params(None, None, LIMITS).unwrap(),
            Page {
                start_index: 1,
                count: 100
            }
        );
    }

    #[test]
    fn start_index_below_one_reads_as_one_and_negative_count_as_zero() {
        let page = Page::from_params(Some("-5"), Some("-1"), LIMITS).unwrap();
        assert_eq!(
            page,
            Page {
                start_index: 1,
                count: 0
            }
        );
    }

    #[test]
    fn count_is_capped_at_the_maximum() {
        assert_eq!(
            Page::from_params(None, Some("5000"), LIMITS).unwrap().count,
            1000
        );
    }

    #[test]
    fn non_integer_parameters_are_invalid_values() {
        let err = Page::from_params(Some("abc"), None, LIMITS).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("startIndex"));
    }
}
