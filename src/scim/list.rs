//! List parameters and the ListResponse message (RFC 7644 §3.4.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::ScimError;
use super::projection::Projection;
use crate::domain::listing::ListQuery;
use crate::domain::users::{CursorPosition, UserSort, UserWindow};
use crate::filter::{parse_attr_path, parse_filter};
use crate::schema::ResourceTypeDef;
use crate::schema::{resolve, resolve_sort_path};
use crate::urn;

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

/// The query parameters of a list or `.search` request, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    /// `Some("")` asks for the first page of cursor paging (RFC 9865).
    pub cursor: Option<String>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

impl ListRequest {
    /// Reads a `POST …/.search` body (RFC 7644 §3.4.3).
    pub fn from_search_body(body: &Value) -> Result<ListRequest, ScimError> {
        let Value::Object(fields) = body else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let mut request = ListRequest::default();
        for (key, value) in fields {
            let text = || -> Result<Option<String>, ScimError> {
                match value {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    Value::Number(n) => Ok(Some(n.to_string())),
                    _ => Err(ScimError::invalid_value(format!(
                        "'{key}' must be a string or a number"
                    ))),
                }
            };
            let list = || -> Result<Vec<String>, ScimError> {
                match value {
                    Value::Null => Ok(Vec::new()),
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(items) => items
                        .iter()
                        .map(|item| {
                            item.as_str().map(str::to_owned).ok_or_else(|| {
                                ScimError::invalid_value(format!(
                                    "'{key}' must be an array of attribute names"
                                ))
                            })
                        })
                        .collect(),
                    _ => Err(ScimError::invalid_value(format!(
                        "'{key}' must be an array of attribute names"
                    ))),
                }
            };
            match key.to_ascii_lowercase().as_str() {
                "schemas" => {}
                "filter" => request.filter = text()?,
                "sortby" => request.sort_by = text()?,
                "sortorder" => request.sort_order = text()?,
                "startindex" => request.start_index = text()?,
                "count" => request.count = text()?,
                "cursor" => request.cursor = Some(text()?.unwrap_or_default()),
                "attributes" => request.attributes = list()?,
                "excludedattributes" => request.excluded_attributes = list()?,
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "'{other}' is not a SearchRequest attribute"
                    )));
                }
            }
        }
        Ok(request)
    }

    pub fn projection(&self, resource_type: &ResourceTypeDef) -> Projection {
        Projection::from_params(&self.attributes, &self.excluded_attributes, resource_type)
    }

    /// True when the client asked for cursor paging.
    pub fn uses_cursor(&self) -> bool {
        self.cursor.is_some()
    }

    /// Turns the request into a user query: the filter parsed and resolved, the sort
    /// resolved, and the page as an offset or a cursor position.
    pub fn query(
        &self,
        resource_type: &ResourceTypeDef,
        limits: PageLimits,
    ) -> Result<ListQuery, ScimError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let parsed = parse_filter(text).map_err(|e| {
                    ScimError::invalid_filter(format!("the filter is not valid: {e}"))
                })?;
                Some(resolve(&parsed, resource_type).map_err(|e| ScimError::invalid_filter(e.0))?)
            }
        };
        let sort = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let path = parse_attr_path(text).map_err(|e| {
                    ScimError::invalid_value(format!("sortBy is not an attribute path: {e}"))
                })?;
                let key = resolve_sort_path(&path, resource_type)
                    .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.0)))?;
                Some(UserSort {
                    key,
                    descending: self.descending()?,
                })
            }
        };
        let page = Page::from_params(self.start_index.as_deref(), self.count.as_deref(), limits)?;
        let window = match &self.cursor {
            None => UserWindow::Offset {
                offset: page.start_index - 1,
                limit: page.count,
            },
            Some(cursor) => UserWindow::After {
                position: self.decode_cursor(cursor)?,
                limit: page.count,
            },
        };
        Ok(ListQuery {
            filter,
            sort,
            window,
        })
    }

    fn descending(&self) -> Result<bool, ScimError> {
        match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some(order) if order.eq_ignore_ascii_case("ascending") => Ok(false),
            Some(order) if order.eq_ignore_ascii_case("descending") => Ok(true),
            Some(other) => Err(ScimError::invalid_value(format!(
                "sortOrder must be 'ascending' or 'descending', not '{other}'"
            ))),
        }
    }

    /// Ties a cursor to the query it pages through.
    fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [&self.filter, &self.sort_by, &self.sort_order] {
            hasher.update(part.as_deref().unwrap_or("").trim().as_bytes());
            hasher.update([0]);
        }
        hex::encode(&hasher.finalize()[..8])
    }

    /// The opaque `nextCursor` for a position (RFC 9865: URL-safe characters only).
    pub fn encode_cursor(&self, position: &CursorPosition) -> String {
        let token = json!({"k": position.key, "i": position.id, "q": self.fingerprint()});
        URL_SAFE_NO_PAD.encode(token.to_string())
    }

    fn decode_cursor(&self, cursor: &str) -> Result<Option<CursorPosition>, ScimError> {
        let cursor = cursor.trim();
        if cursor.is_empty() {
            return Ok(None);
        }
        let invalid =
            |why: &str| ScimError::invalid_cursor(format!("the cursor is not valid: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| invalid("it was not issued by this service"))?;
        let token: Value = serde_json::from_slice(&bytes)
            .map_err(|_| invalid("it was not issued by this service"))?;
        if token["q"].as_str() != Some(self.fingerprint().as_str()) {
            return Err(invalid(
                "it belongs to a query with another filter or sort order",
            ));
        }
        let id = token["i"]
            .as_str()
            .ok_or_else(|| invalid("it was not issued by this service"))?;
        // A stored id or key never holds NUL, and PostgreSQL refuses it as a parameter.
        if id.contains('\0') || token["k"].as_str().is_some_and(|key| key.contains('\0')) {
            return Err(invalid("it was not issued by this service"));
        }
        Ok(Some(CursorPosition {
            key: token["k"].as_str().map(str::to_owned),
            id: id.to_owned(),
        }))
    }
}

/// A ListResponse message (RFC 7644 §3.4.2).
pub fn list_response<T>(resources: Vec<T>, total: i64, start_index: i64) -> ListResponse<T> {
    ListResponse::new(resources, total, Some(start_index), None)
}

/// A ListResponse message of a cursor-paged query (RFC 9865).
pub fn cursor_list_response<T>(
    resources: Vec<T>,
    total: i64,
    next_cursor: Option<String>,
) -> ListResponse<T> {
    ListResponse::new(resources, total, None, next_cursor)
}

/// A ListResponse message, written by serde: the resources are serialized in
/// place, never copied into one JSON value first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    schemas: [&'static str; 1],
    total_results: i64,
    items_per_page: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<i64>,
    #[serde(rename = "Resources")]
    resources: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    fn new(
        resources: Vec<T>,
        total: i64,
        start_index: Option<i64>,
        next_cursor: Option<String>,
    ) -> Self {
        ListResponse {
            schemas: [urn::LIST_RESPONSE],
            total_results: total,
            items_per_page: resources.len(),
            start_index,
            resources,
            next_cursor,
        }
    }

    /// Appends the message's JSON text to `out`, each resource written by
    /// `write_resource`: for resources that write their own text rather than go
    /// through serde. The members and their order are those serde writes.
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        mut write_resource: impl FnMut(&T, &mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        let frame = ListFrame {
            total_results: self.total_results,
            items_per_page: self.items_per_page,
            start_index: self.start_index,
            next_cursor: self.next_cursor.as_deref(),
        };
        frame.write_head(out);
        for (i, resource) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_resource(resource, out)?;
        }
        frame.write_tail(out);
        Ok(())
    }
}

/// The members of a ListResponse around its `Resources`, for a list written out as
/// its resources are read: the text before the first resource and after the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListFrame<'a> {
    pub total_results: i64,
    pub items_per_page: usize,
    /// Index paging only.
    pub start_index: Option<i64>,
    /// Cursor paging only, when another page follows.
    pub next_cursor: Option<&'a str>,
}

impl ListFrame<'_> {
    /// Appends the text up to the opening of the `Resources` array.
    pub fn write_head(&self, out: &mut Vec<u8>) {
        // Writing numbers to memory cannot fail.
        out.extend_from_slice(b"{\"schemas\":[\"");
        out.extend_from_slice(urn::LIST_RESPONSE.as_bytes());
        out.extend_from_slice(b"\"],\"totalResults\":");
        let _ = serde_json::to_writer(&mut *out, &self.total_results);
        out.extend_from_slice(b",\"itemsPerPage\":");
        let _ = serde_json::to_writer(&mut *out, &self.items_per_page);
        if let Some(start_index) = self.start_index {
            out.extend_from_slice(b",\"startIndex\":");
            let _ = serde_json::to_writer(&mut *out, &start_index);
        }
        out.extend_from_slice(b",\"Resources\":[");
    }

    /// Appends the text from the closing of the `Resources` array to the end.
    pub fn write_tail(&self, out: &mut Vec<u8>) {
        out.push(b']');
        if let Some(next_cursor) = self.next_cursor {
            out.extend_from_slice(b",\"nextCursor\":");
            // Writing a string to memory cannot fail.
            let _ = serde_json::to_writer(&mut *out, next_cursor);
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER_RESOURCE;
    use crate::scim::ScimType;

    const LIMITS: PageLimits = PageLimits {
        default_count: 100,
        max_count: 1000,
    };

    #[test]
    fn a_written_list_response_is_byte_for_byte_what_serde_writes() {
        let resources = || vec![json!({"id": "a"}), json!({"id": "b\"c"})];
        for response in [
            list_response(resources(), 7, 3),
            list_response(Vec::new(), 0, 1),
            cursor_list_response(resources(), 9, Some("next+/=".into())),
            cursor_list_response(resources(), 2, None),
        ] {
            let mut out = Vec::new();
            response
                .write_json(&mut out, |value, out| serde_json::to_writer(out, value))
                .unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&response).unwrap()
            );
        }
    }

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

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_query() {
        let request = ListRequest {
            filter: Some("userName sw \"a\"".into()),
            cursor: Some(String::new()),
            ..Default::default()
        };
        let position = CursorPosition {
            key: None,
            id: "abc".into(),
        };
        let cursor = request.encode_cursor(&position);
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(request.decode_cursor(&cursor).unwrap(), Some(position));
        let other = ListRequest {
            filter: Some("userName sw \"b\"".into()),
            ..Default::default()
        };
        let err = other.decode_cursor(&cursor).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidCursor));
        assert!(request.decode_cursor("garbage!").is_err());
    }

    #[test]
    fn a_bad_filter_is_invalid_filter_with_its_position() {
        let request = ListRequest {
            filter: Some("userName eq".into()),
            ..Default::default()
        };
        let err = request.query(&USER_RESOURCE, LIMITS).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter));
        assert!(err.detail.contains("character"), "{}", err.detail);
    }

    #[test]
    fn search_body_reads_typed_values() {
        let request = ListRequest::from_search_body(&json!({
            "schemas": [urn::SEARCH_REQUEST], "filter": "title pr", "startIndex": 3, "count": 7,
            "attributes": ["userName"], "sortOrder": "descending"
        }))
        .unwrap();
        assert_eq!(request.start_index.as_deref(), Some("3"));
        assert_eq!(request.count.as_deref(), Some("7"));
        assert_eq!(request.attributes, ["userName"]);
        assert!(ListRequest::from_search_body(&json!({"bogus": 1})).is_err());
    }
}
