//! Rules for the text of users and groups, checked on the final attribute document of
//! every write (SCIM POST, PUT and PATCH, sign-up on sign-in), so that both stores
//! accept exactly the same strings:
//!
//! - no control characters (Unicode `Cc`: C0, DEL, C1) in any string; `addresses.formatted`,
//!   a mailing label (RFC 7643 §4.1.2), may hold line breaks and tabs;
//! - a `userName` holds no invisible characters either: format characters (`Cf`: zero-width
//!   spaces and joiners, bidi controls, soft hyphens, tags), line and paragraph separators,
//!   and the other default-ignorable code points (variation selectors, Hangul fillers);
//! - a string an index holds (userName, externalId, a group's displayName, the `value` of a
//!   user's multi-valued attributes) is at most [`MAX_INDEXED_CHARS`] characters and, case
//!   folded, [`MAX_INDEXED_BYTES`] bytes of UTF-8: a PostgreSQL B-tree entry holds at most
//!   about 2,700 bytes, and the look-up index puts ids beside the value;
//! - a multi-valued attribute holds at most [`MAX_VALUES`] values: each value of a user is a
//!   row of the look-up index, rewritten with every write of the user.

use serde_json::{Map, Value};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::casefold::fold;

/// Most characters in an indexed string.
pub const MAX_INDEXED_CHARS: usize = 1024;

/// Most bytes of UTF-8 in an indexed string once case-folded.
pub const MAX_INDEXED_BYTES: usize = 2048;

/// Most values in one multi-valued attribute.
pub const MAX_VALUES: usize = 10_000;

/// Why a string was refused; the message names the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("'{attribute}' is {length} characters long; the limit is {MAX_INDEXED_CHARS}")]
    TooManyCharacters { attribute: String, length: usize },
    #[error(
        "'{attribute}' is {length} bytes of UTF-8 once case-folded; the limit is {MAX_INDEXED_BYTES}"
    )]
    TooManyBytes { attribute: String, length: usize },
    #[error("'{attribute}' has {count} values; the limit is {MAX_VALUES}")]
    TooManyValues { attribute: String, count: usize },
    #[error("'{attribute}' contains the control character U+{code:04X} at character {position}")]
    Control {
        attribute: String,
        code: u32,
        position: usize,
    },
    #[error(
        "'{attribute}' {problem}; a userName may hold only the plain space U+0020, and not at its start or end"
    )]
    Spacing { attribute: String, problem: String },
    #[error(
        "'{attribute}' contains the invisible character U+{code:04X} at character {position}; \
         a userName may not hold format characters, zero-width spaces or joiners, or bidi controls"
    )]
    Invisible {
        attribute: String,
        code: u32,
        position: usize,
    },
}

/// Where an attribute sits in a document: `["emails", "value"]`.
pub type AttributePath<'a> = &'a [&'a str];

/// The indexed strings of a user document.
pub const USER_INDEXED: &[AttributePath<'static>] = &[
    &["userName"],
    &["externalId"],
    &["emails", "value"],
    &["phoneNumbers", "value"],
    &["ims", "value"],
    &["photos", "value"],
    &["entitlements", "value"],
    &["roles", "value"],
];

/// The indexed strings of a group document.
pub const GROUP_INDEXED: &[AttributePath<'static>] = &[&["displayName"], &["externalId"]];

/// The strings where line breaks and tabs belong.
const MULTI_LINE: &[AttributePath<'static>] = &[&["addresses", "formatted"]];

/// The strings that name a user, held to the stricter userName rule.
const USER_NAMES: &[AttributePath<'static>] = &[&["userName"]];

/// Checks every string of a user's attribute document.
pub fn check_user_document(doc: &Map<String, Value>) -> Result<(), TextError> {
    check_document(doc, USER_INDEXED, USER_NAMES)
}

/// Checks every string of a group's attribute document.
pub fn check_group_document(doc: &Map<String, Value>) -> Result<(), TextError> {
    check_document(doc, GROUP_INDEXED, &[])
}

fn check_document(
    doc: &Map<String, Value>,
    indexed: &[AttributePath<'_>],
    names: &[AttributePath<'_>],
) -> Result<(), TextError> {
    let mut path = Vec::with_capacity(4);
    for (key, value) in doc {
        path.push(key.as_str());
        check_value(value, &mut path, indexed, names)?;
        path.pop();
    }
    Ok(())
}

/// Attribute documents are schema-shaped (an extension holds a complex attribute at
/// most), so this recursion is a few levels deep.
fn check_value<'d>(
    value: &'d Value,
    path: &mut Vec<&'d str>,
    indexed: &[AttributePath<'_>],
    names: &[AttributePath<'_>],
) -> Result<(), TextError> {
    match value {
        Value::String(text) => {
            let attribute = || display_path(path);
            let is = |list: &[AttributePath<'_>]| list.contains(&path.as_slice());
            if is(names) {
                check_user_name_characters(text, attribute)?;
            } else {
                check_controls(text, is(MULTI_LINE), attribute)?;
            }
            if is(indexed) {
                check_indexed_length(text, attribute)?;
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_VALUES {
                return Err(TextError::TooManyValues {
                    attribute: display_path(path),
                    count: items.len(),
                });
            }
            for item in items {
                check_value(item, path, indexed, names)?;
            }
        }
        Value::Object(fields) => {
            for (key, field) in fields {
                path.push(key.as_str());
                check_value(field, path, indexed, names)?;
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// `emails.value`, or `urn:…:enterprise:2.0:User:manager.value` under an extension.
fn display_path(path: &[&str]) -> String {
    let mut out = String::new();
    for (index, part) in path.iter().enumerate() {
        if index > 0 {
            out.push(if index == 1 && path[0].starts_with("urn:") {
                ':'
            } else {
                '.'
            });
        }
        out.push_str(part);
    }
    out
}

/// Refuses control characters; `multi_line` lets line breaks and tabs through.
pub fn check_controls(
    text: &str,
    multi_line: bool,
    attribute: impl FnOnce() -> String,
) -> Result<(), TextError> {
    let allowed = |c: char| multi_line && matches!(c, '\n' | '\r' | '\t');
    match text
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        None => Ok(()),
        Some((index, c)) => Err(TextError::Control {
            attribute: attribute(),
            code: u32::from(c),
            position: index + 1,
        }),
    }
}

/// Refuses control and invisible characters in a userName.
pub fn check_user_name_characters(
    text: &str,
    attribute: impl FnOnce() -> String,
) -> Result<(), TextError> {
    if text.trim() != text {
        return Err(TextError::Spacing {
            attribute: attribute(),
            problem: "begins or ends with white space".into(),
        });
    }
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    match text
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() || is_invisible(c) || is_look_alike_space(c))
    {
        None => Ok(()),
        Some((index, c)) if is_look_alike_space(c) => Err(TextError::Spacing {
            attribute: attribute(),
            problem: format!(
                "contains the space character U+{:04X} at character {}",
                u32::from(c),
                index + 1
            ),
        }),
        Some((index, c)) if c.is_control() => Err(TextError::Control {
            attribute: attribute(),
            code: u32::from(c),
            position: index + 1,
        }),
        Some((index, c)) => Err(TextError::Invisible {
            attribute: attribute(),
            code: u32::from(c),
            position: index + 1,
        }),
    }
}

/// Refuses an indexed string over [`MAX_INDEXED_CHARS`] or [`MAX_INDEXED_BYTES`].
pub fn check_indexed_length(
    text: &str,
    attribute: impl FnOnce() -> String,
) -> Result<(), TextError> {
    // Case folding keeps ASCII's length, and a character is at least one byte.
    if text.len() <= MAX_INDEXED_CHARS {
        return Ok(());
    }
    let length = text.chars().count();
    if length > MAX_INDEXED_CHARS {
        return Err(TextError::TooManyCharacters {
            attribute: attribute(),
            length,
        });
    }
    let length = fold(text).len();
    if length > MAX_INDEXED_BYTES {
        return Err(TextError::TooManyBytes {
            attribute: attribute(),
            length,
        });
    }
    Ok(())
}

/// A space that looks like U+0020 but compares differently (no-break, en, em, thin
/// spaces…); the ideographic space is narrowed to U+0020 by the fold's width mapping.
fn is_look_alike_space(c: char) -> bool {
    c != ' ' && c != '\u{3000}' && c.general_category() == GeneralCategory::SpaceSeparator
}

/// A character that takes no visible space: `Cf`, line and paragraph separators, and
/// the default-ignorable code points of other categories (Unicode's
/// DerivedCoreProperties.txt, Default_Ignorable_Code_Point).
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(doc: Value) -> Result<(), TextError> {
        check_user_document(doc.as_object().expect("object"))
    }

    #[test]
    fn plain_documents_pass() {
        assert_eq!(
            user(json!({
                "userName": "josé.müller@example.com",
                "name": {"givenName": "José", "familyName": "Müller"},
                "emails": [{"value": "jose@example.com", "type": "work"}],
                "addresses": [{"formatted": "1 Main St\nSpringfield\tUSA"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                    {"manager": {"value": "m"}},
                "displayName": "Ali\u{200D}ce 👩‍💻"
            })),
            Ok(())
        );
    }

    #[test]
    fn multi_valued_attributes_hold_at_most_the_limit_of_values() {
        let emails = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"value": format!("u{i}@example.com")}))
                .collect()
        };
        assert_eq!(
            user(json!({"userName": "a", "emails": emails(MAX_VALUES)})),
            Ok(())
        );
        let err =
            user(json!({"userName": "a", "emails": emails(MAX_VALUES + 1)})).expect_err("refused");
        assert_eq!(
            err,
            TextError::TooManyValues {
                attribute: "emails".into(),
                count: MAX_VALUES + 1
            }
        );
        assert!(err.to_string().contains("the limit is 10000"), "{err}");
    }

    #[test]
    fn control_characters_are_refused_with_the_attribute_named() {
        for (doc, attribute) in [
            (json!({"userName": "a\u{0}b"}), "userName"),
            (json!({"userName": "a", "title": "x\ny"}), "title"),
            (
                json!({"userName": "a", "emails": [{"value": "a\u{7f}@x"}]}),
                "emails.value",
            ),
            (
                json!({"userName": "a", "name": {"givenName": "\u{85}"}}),
                "name.givenName",
            ),
            (
                json!({"userName": "a", "urn:x:User": {"manager": {"value": "\u{1b}"}}}),
                "urn:x:User:manager.value",
            ),
            (
                json!({"userName": "a", "addresses": [{"locality": "a\nb"}]}),
                "addresses.locality",
            ),
            (
                json!({"userName": "a", "addresses": [{"formatted": "a\u{0}"}]}),
                "addresses.formatted",
            ),
        ] {
            let err = user(doc.clone()).expect_err("refused");
            assert!(matches!(err, TextError::Control { .. }), "{doc}: {err}");
            assert!(err.to_string().contains(&format!("'{attribute}'")), "{err}");
        }
    }

    #[test]
    fn user_names_hold_plain_spaces_only_and_not_at_their_ends() {
        for name in [
            "bob ",
            " bob",
            "   ",
            "bo\u{A0}b",
            "bob\u{2009}x",
            "\u{3000}bob",
        ] {
            let err = user(json!({"userName": name})).expect_err(name);
            assert!(matches!(err, TextError::Spacing { .. }), "{name:?}: {err}");
            assert!(err.to_string().contains("'userName'"), "{err}");
        }
        assert_eq!(user(json!({"userName": "Bob Smith"})), Ok(()));
        assert_eq!(user(json!({"userName": "ボブ\u{3000}スミス"})), Ok(()));
        assert_eq!(
            user(json!({"userName": "a", "displayName": " Bob\u{A0}"})),
            Ok(())
        );
    }

    #[test]
    fn invisible_characters_are_refused_in_user_names_only() {
        for name in [
            "ali\u{200B}ce",
            "ali\u{200C}ce",
            "ali\u{200D}ce",
            "\u{202E}ecila",
            "ali\u{2066}ce",
            "alice\u{FEFF}",
            "ali\u{AD}ce",
            "ali\u{2060}ce",
            "alice\u{FE0F}",
            "\u{3164}alice",
            "ali\u{2028}ce",
            "alice\u{E0041}",
        ] {
            let err = user(json!({"userName": name})).expect_err(name);
            assert!(
                matches!(err, TextError::Invisible { .. }),
                "{name:?}: {err}"
            );
            assert!(err.to_string().contains("'userName'"), "{err}");
            assert_eq!(user(json!({"userName": "a", "displayName": name})), Ok(()));
        }
    }

    #[test]
    fn indexed_strings_are_limited_in_characters_and_folded_bytes() {
        let at_limit = "a".repeat(MAX_INDEXED_CHARS);
        let accented_at_limit = "é".repeat(MAX_INDEXED_CHARS);
        assert_eq!(user(json!({"userName": at_limit})), Ok(()));
        assert_eq!(user(json!({"userName": accented_at_limit})), Ok(()));
        assert_eq!(
            user(json!({"userName": "a", "title": "a".repeat(10_000)})),
            Ok(())
        );
        let long = "a".repeat(MAX_INDEXED_CHARS + 1);
        for doc in [
            json!({"userName": long}),
            json!({"userName": "a", "externalId": long}),
            json!({"userName": "a", "emails": [{"value": long}]}),
            json!({"userName": "a", "roles": [{"value": long}]}),
        ] {
            assert!(
                matches!(user(doc.clone()), Err(TextError::TooManyCharacters { .. })),
                "{doc}"
            );
        }
        let wide = "😀".repeat(MAX_INDEXED_BYTES / 4 + 1);
        assert!(matches!(
            user(json!({"userName": wide})),
            Err(TextError::TooManyBytes { .. })
        ));
        let group = |doc: Value| check_group_document(doc.as_object().expect("object"));
        assert!(group(json!({"displayName": long})).is_err());
        assert!(group(json!({"displayName": "g", "externalId": long})).is_err());
        assert_eq!(group(json!({"displayName": "g\u{200B}"})), Ok(()));
    }
}
