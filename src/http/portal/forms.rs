//! What the portal's forms and lists share: SCIM filter text from a search box,
//! list links that keep their query, PATCH operations from edited fields, and an
//! API error placed next to the field it concerns.

use serde_json::{Value, json};

use super::error::PortalError;
use crate::filter::parse_filter;
use crate::scim::patch::{PatchOperation, parse_patch_request};
use crate::urn;

/// Longest text a search box takes.
pub const MAX_SEARCH_CHARS: usize = 200;

/// `text` as a SCIM filter string literal (JSON string syntax, RFC 7644 §3.4.2.2).
pub fn filter_literal(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The filter of a search box: `text` contained in any of `attributes`.
pub fn search_filter(attributes: &[&str], text: &str) -> String {
    let literal = filter_literal(text);
    attributes
        .iter()
        .map(|attribute| format!("{attribute} co {literal}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A search box's text and an advanced filter as one filter.
pub fn combined_filter(search: Option<String>, advanced: Option<&str>) -> Option<String> {
    match (search, advanced) {
        (None, None) => None,
        (Some(search), None) => Some(search),
        (None, Some(advanced)) => Some(advanced.to_owned()),
        (Some(search), Some(advanced)) => Some(format!("({search}) and ({advanced})")),
    }
}

/// Trimmed, non-empty, at most `max` characters.
pub fn given(text: &Option<String>, max: usize) -> Option<String> {
    let text = text.as_deref()?.trim();
    (!text.is_empty()).then(|| text.chars().take(max).collect())
}

/// A filter the parser refuses, shown with the place of the problem marked.
pub struct FilterProblem {
    pub before: String,
    pub at: String,
    pub after: String,
    pub message: String,
}

/// Where `filter` stops parsing, if it does.
pub fn filter_problem(filter: &str) -> Option<FilterProblem> {
    let error = parse_filter(filter.trim()).err()?;
    let text = filter.trim();
    let position = error.position.saturating_sub(1);
    let before: String = text.chars().take(position).collect();
    let at: String = text.chars().skip(position).take(1).collect();
    let after: String = text.chars().skip(position + 1).collect();
    Some(FilterProblem {
        before,
        at: if at.is_empty() { " ".into() } else { at },
        after,
        message: error.to_string(),
    })
}

/// A list link: `path` with `params` (empty ones left out).
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let present: Vec<(&str, &str)> = params
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .copied()
        .collect();
    if present.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(present).unwrap_or_default()
    )
}

/// Operations of a PatchOp message, checked by the same parser the API uses.
pub fn patch_operations(operations: Vec<Value>) -> Result<Vec<PatchOperation>, PortalError> {
    let body = json!({"schemas": [urn::PATCH_OP], "Operations": operations});
    Ok(parse_patch_request(&body, operations_limit())?)
}

fn operations_limit() -> usize {
    crate::scim::patch::DEFAULT_MAX_PATCH_OPERATIONS
}

/// An operation that sets `path` to `value`, or removes it when `value` is empty.
pub fn set_or_remove(path: &str, value: Option<Value>) -> Value {
    match value {
        Some(value) => json!({"op": "replace", "path": path, "value": value}),
        None => json!({"op": "remove", "path": path}),
    }
}

/// An error shown on a form: next to `field` when it names one of the form's.
#[derive(Debug, Default, Clone)]
pub struct FormError {
    pub field: Option<&'static str>,
    pub message: String,
}

impl FormError {
    /// Whether the message belongs next to `field`.
    pub fn is_for(&self, field: &str) -> bool {
        self.field == Some(field)
    }

    /// The message when it belongs to no field of the form.
    pub fn general(&self) -> Option<&str> {
        self.field.is_none().then_some(self.message.as_str())
    }
}

/// Places an API error next to the first of `fields` (form field, attribute name)
/// its detail names; a version conflict gets the words of a concurrent edit.
pub fn form_error(
    error: PortalError,
    fields: &[(&'static str, &str)],
) -> Result<FormError, PortalError> {
    let PortalError::Scim(scim) = error else {
        return Err(error);
    };
    if scim.status >= 500 || scim.status == 404 {
        return Err(PortalError::Scim(scim));
    }
    if scim.status == 412 {
        return Ok(FormError {
            field: None,
            message: "Someone else changed this user while you were editing: reload the page to see their change, then edit again."
                .into(),
        });
    }
    let field = fields
        .iter()
        .find(|(_, attribute)| scim.detail.contains(attribute))
        .map(|(field, _)| *field);
    Ok(FormError {
        field,
        message: scim.detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimError;

    #[test]
    fn search_text_becomes_an_or_of_quoted_co_filters() {
        assert_eq!(
            search_filter(&["userName", "emails.value"], "a\"b\\c"),
            r#"userName co "a\"b\\c" or emails.value co "a\"b\\c""#
        );
        let filter = search_filter(&["userName"], "x\" or id pr or \"");
        assert!(
            parse_filter(&filter).is_ok(),
            "quotes cannot end the literal"
        );
    }

    #[test]
    fn search_and_advanced_filters_combine_with_and() {
        assert_eq!(combined_filter(None, None), None);
        assert_eq!(
            combined_filter(Some("a pr".into()), Some("b pr or c pr")),
            Some("(a pr) and (b pr or c pr)".into())
        );
    }

    #[test]
    fn a_bad_filter_is_marked_where_it_stops() {
        let problem = filter_problem("userName eq").expect("a problem");
        assert_eq!(problem.before, "userName eq");
        assert_eq!(problem.at, " ");
        assert!(
            problem.message.contains("at character 12"),
            "{}",
            problem.message
        );
        let problem = filter_problem("userName xx \"é\"").expect("a problem");
        assert_eq!(
            format!("{}{}{}", problem.before, problem.at, problem.after),
            "userName xx \"é\""
        );
        assert!(filter_problem("userName eq \"x\"").is_none());
    }

    #[test]
    fn links_leave_out_empty_parameters_and_encode_the_rest() {
        assert_eq!(
            link("/admin/users", &[("q", ""), ("sort", "")]),
            "/admin/users"
        );
        assert_eq!(
            link("/admin/users", &[("q", "a&b c"), ("cursor", "")]),
            "/admin/users?q=a%26b+c"
        );
    }

    #[test]
    fn api_errors_land_next_to_the_field_they_name() {
        let error = PortalError::Scim(ScimError::uniqueness("userName 'x' is already taken"));
        let placed = form_error(error, &[("email", "emails"), ("user_name", "userName")])
            .expect("a form error");
        assert!(placed.is_for("user_name"));
        assert_eq!(placed.general(), None);
        let stale = form_error(PortalError::Scim(ScimError::precondition_failed("v1")), &[])
            .expect("a form error");
        assert!(
            stale
                .general()
                .expect("general")
                .contains("Someone else changed")
        );
        assert!(form_error(PortalError::Scim(ScimError::internal()), &[]).is_err());
    }
}
