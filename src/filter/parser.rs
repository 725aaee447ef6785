//! The filter grammar of RFC 7644 §3.4.2.2, parsed with nom.
//!
//! Precedence is `not` > `and` > `or`; parentheses group. Keywords, operators and
//! literals are case-insensitive. Nesting (parentheses, `not`, value paths) is capped
//! at [`MAX_DEPTH`] and the number of terms at [`MAX_TERMS`], so hostile input cannot
//! exhaust the stack.

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace0, multispace1};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};
use std::cell::Cell;

use super::ast::{AttrPath, CompValue, CompareOp, Filter};

/// Deepest nesting of parentheses, `not` and value filters accepted.
pub const MAX_DEPTH: usize = 64;

/// Most terms (comparisons and presence tests) accepted in one filter or PATCH path.
///
/// `and`/`or` chains make a left-deep tree: resolution, SQL building, the in-memory
/// matcher and even dropping the tree recurse once per term, and SQLite refuses SQL
/// expressions nested deeper than 1000. Real clients send a handful of terms (an
/// identity provider's look-up is one or two, a `members` sync a few dozen); 200 keeps
/// every recursion (plus [`MAX_DEPTH`] levels of nesting) far from both limits. The
/// parser counts terms as it reads them and stops at the first one over the limit.
pub const MAX_TERMS: usize = 200;

/// Where and why a filter could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {position}")]
pub struct FilterError {
    /// 1-based character position of the problem in the filter text.
    pub position: usize,
    pub message: String,
}

type Step<'a, T> = Result<(&'a str, T), FilterError>;
type NomResult<'a, T> = IResult<&'a str, T>;

/// Parses a whole filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let parser = FilterParser::new(input);
    let start = skip_space(input);
    if start.is_empty() {
        return Err(parser.error(start, "the filter is empty"));
    }
    let (rest, filter) = parser.or_expression(start, 0, false)?;
    let rest = skip_space(rest);
    if !rest.is_empty() {
        return Err(parser.error(rest, "expected 'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

/// Parses a lone attribute path (as in `sortBy` or `attributes`).
pub fn parse_attr_path(input: &str) -> Result<AttrPath, FilterError> {
    let parser = FilterParser::new(input);
    let start = skip_space(input);
    let (rest, path) = parser.attr_path(start)?;
    if !skip_space(rest).is_empty() {
        return Err(parser.error(rest, "unexpected text after the attribute path"));
    }
    Ok(path)
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath`, or `valuePath` with an optional
/// `.subAttr` after the closing bracket.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attribute: AttrPath,
    pub value_filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attribute: Option<String>,
}

/// Parses a PATCH operation's `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    let parser = FilterParser::new(input);
    let start = skip_space(input);
    if start.is_empty() {
        return Err(parser.error(start, "the path is empty"));
    }
    let (rest, attribute) = parser.attr_path(start)?;
    let (rest, value_filter, sub_attribute) = if let Some(inner) = rest.strip_prefix('[') {
        let (rest, filter) = parser.or_expression(inner, 1, true)?;
        let rest = parser.expect(
            skip_space(rest),
            ']',
            "expected ']' to close the value filter",
        )?;
        let (rest, sub) = parser.sub_after_bracket(rest)?;
        (rest, Some(filter), sub)
    } else {
        (rest, None, None)
    };
    if !skip_space(rest).is_empty() {
        return Err(parser.error(rest, "unexpected text in the path"));
    }
    Ok(PatchPath {
        attribute,
        value_filter,
        sub_attribute,
    })
}

struct FilterParser<'a> {
    input: &'a str,
    /// Terms read so far, checked against [`MAX_TERMS`].
    terms: Cell<usize>,
}

impl<'a> FilterParser<'a> {
    fn new(input: &'a str) -> Self {
        FilterParser {
            input,
            terms: Cell::new(0),
        }
    }
}

fn skip_space(i: &str) -> &str {
    i.trim_start_matches([' ', '\t', '\n', '\r'])
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$'
}

fn is_path_char(c: char) -> bool {
    is_name_char(c) || c == ':' || c == '.'
}

/// A keyword (`and`, `or`, `not`, `pr`, operators) not running on into a name.
fn keyword<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = nom::error::Error<&'a str>> {
    move |i: &'a str| -> NomResult<'a, &'a str> {
        let (rest, matched) = tag_no_case(word).parse(i)?;
        if rest.starts_with(is_name_char) {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Tag,
            )));
        }
        Ok((rest, matched))
    }
}

/// `SP ("and" | "or") SP`, with `(` allowed straight after the keyword.
fn logical<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = (), Error = nom::error::Error<&'a str>> {
    move |i: &'a str| -> NomResult<'a, ()> {
        let (rest, _) = (multispace1, keyword(word)).parse(i)?;
        if !(rest.starts_with('(') || rest.starts_with(char::is_whitespace)) {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Space,
            )));
        }
        Ok((rest, ()))
    }
}

impl<'a> FilterParser<'a> {
    fn error(&self, at: &str, message: impl Into<String>) -> FilterError {
        let offset = self.input.len().saturating_sub(at.len());
        let position = self
            .input
            .get(..offset)
            .map_or(offset, |s| s.chars().count())
            + 1;
        let near: String = at.chars().take(20).collect();
        let mut message = message.into();
        if near.is_empty() {
            message.push_str(" (at the end of the filter)");
        } else {
            message.push_str(&format!(" (near '{near}')"));
        }
        FilterError { position, message }
    }

    fn expect(&self, i: &'a str, c: char, message: &str) -> Result<&'a str, FilterError> {
        i.strip_prefix(c).ok_or_else(|| self.error(i, message))
    }

    fn too_deep(&self, i: &str, depth: usize) -> Result<(), FilterError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(
                i,
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// Counts one more term at `i`, refusing the one past [`MAX_TERMS`].
    fn count_term(&self, i: &str) -> Result<(), FilterError> {
        let terms = self.terms.get() + 1;
        if terms > MAX_TERMS {
            return Err(self.error(
                i,
                format!("the filter has more than {MAX_TERMS} terms (comparisons and 'pr' tests)"),
            ));
        }
        self.terms.set(terms);
        Ok(())
    }

    fn or_expression(&self, i: &'a str, depth: usize, in_value: bool) -> Step<'a, Filter> {
        let (mut i, mut left) = self.and_expression(i, depth, in_value)?;
        while let Ok((rest, ())) = logical("or").parse(i) {
            let (rest, right) = self.and_expression(rest, depth, in_value)?;
            left = Filter::Or(Box::new(left), Box::new(right));
            i = rest;
        }
        Ok((i, left))
    }

    fn and_expression(&self, i: &'a str, depth: usize, in_value: bool) -> Step<'a, Filter> {
        let (mut i, mut left) = self.unary(i, depth, in_value)?;
        while let Ok((rest, ())) = logical("and").parse(i) {
            let (rest, right) = self.unary(rest, depth, in_value)?;
            left = Filter::And(Box::new(left), Box::new(right));
            i = rest;
        }
        Ok((i, left))
    }

    fn unary(&self, i: &'a str, depth: usize, in_value: bool) -> Step<'a, Filter> {
        let i = skip_space(i);
        if let Ok((rest, _)) = (keyword("not"), multispace0, char('(')).parse(i) {
            self.too_deep(i, depth)?;
            let (rest, inner) = self.or_expression(rest, depth + 1, in_value)?;
            let rest = self.expect(skip_space(rest), ')', "expected ')' to close 'not ('")?;
            return Ok((rest, Filter::Not(Box::new(inner))));
        }
        if let Some(rest) = i.strip_prefix('(') {
            self.too_deep(i, depth)?;
            let (rest, inner) = self.or_expression(rest, depth + 1, in_value)?;
            let rest = self.expect(skip_space(rest), ')', "expected ')' to close '('")?;
            return Ok((rest, inner));
        }
        self.attribute_expression(i, depth, in_value)
    }

    fn attribute_expression(&self, i: &'a str, depth: usize, in_value: bool) -> Step<'a, Filter> {
        let (rest, path) = self.attr_path(i)?;
        if let Some(inner_start) = rest.strip_prefix('[') {
            if in_value {
                return Err(self.error(rest, "a value filter cannot contain another value filter"));
            }
            self.too_deep(rest, depth)?;
            let (after, inner) = self.or_expression(inner_start, depth + 1, true)?;
            let after = self.expect(
                skip_space(after),
                ']',
                "expected ']' to close the value filter",
            )?;
            let (after, sub) = self.sub_after_bracket(after)?;
            let Some(sub) = sub else {
                return Ok((
                    after,
                    Filter::ValuePath {
                        path,
                        filter: Box::new(inner),
                    },
                ));
            };
            // `emails[type eq "work"].value eq "x"` (sent by Entra ID) reads as
            // `emails[type eq "work" and value eq "x"]`.
            let (after, condition) = self.condition(after, AttrPath::new(&sub))?;
            let combined = Filter::And(Box::new(inner), Box::new(condition));
            return Ok((
                after,
                Filter::ValuePath {
                    path,
                    filter: Box::new(combined),
                },
            ));
        }
        self.condition(rest, path)
    }

    /// `SP "pr"` or `SP compareOp SP compValue` after an attribute path.
    fn condition(&self, i: &'a str, path: AttrPath) -> Step<'a, Filter> {
        self.count_term(i)?;
        let Ok((rest, _)) = multispace1::<&str, nom::error::Error<&str>>(i) else {
            return Err(self.error(i, format!("expected an operator after '{path}'")));
        };
        let Ok((after_op, word)) =
            take_while1::<_, &str, nom::error::Error<&str>>(|c: char| c.is_ascii_alphabetic())
                .parse(rest)
        else {
            return Err(self.error(rest, format!("expected an operator after '{path}'")));
        };
        if after_op.starts_with(is_name_char) {
            return Err(self.error(
                rest,
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)",
            ));
        }
        if word.eq_ignore_ascii_case("pr") {
            return Ok((after_op, Filter::Present(path)));
        }
        let op = CompareOp::from_keyword(word).ok_or_else(|| {
            self.error(
                rest,
                format!(
                    "unknown operator '{word}'; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr"
                ),
            )
        })?;
        let Ok((value_start, _)) = multispace1::<&str, nom::error::Error<&str>>(after_op) else {
            return Err(self.error(after_op, format!("expected a value after '{word}'")));
        };
        let (rest, value) = self.comp_value(value_start)?;
        Ok((rest, Filter::Compare { path, op, value }))
    }

    fn sub_after_bracket(&self, i: &'a str) -> Step<'a, Option<String>> {
        let Some(rest) = i.strip_prefix('.') else {
            return Ok((i, None));
        };
        let (rest, name) = take_while::<_, &str, nom::error::Error<&str>>(is_name_char)
            .parse(rest)
            .unwrap_or((rest, ""));
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$') {
            return Err(self.error(rest, "expected a sub-attribute name after ']'."));
        }
        Ok((rest, Some(name.to_owned())))
    }

    fn attr_path(&self, i: &'a str) -> Step<'a, AttrPath> {
        let Ok((rest, token)) =
            take_while1::<_, &str, nom::error::Error<&str>>(is_path_char).parse(i)
        else {
            return Err(self.error(i, "expected an attribute name"));
        };
        let (uri, local) = if token.len() > 4 && token[..4].eq_ignore_ascii_case("urn:") {
            match token.rfind(':') {
                Some(colon) if colon + 1 < token.len() => {
                    (Some(token[..colon].to_owned()), &token[colon + 1..])
                }
                _ => return Err(self.error(i, "expected an attribute name after the schema URN")),
            }
        } else {
            (None, token)
        };
        let (attribute, sub_attribute) = match local.split_once('.') {
            Some((attribute, sub)) => (attribute, Some(sub)),
            None => (local, None),
        };
        let valid_name = |name: &str| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$')
                && name.chars().all(is_name_char)
        };
        if !valid_name(attribute)
            || sub_attribute.is_some_and(|sub| !sub.split('.').all(valid_name))
        {
            return Err(self.error(i, format!("'{token}' is not a valid attribute path")));
        }
        // Free-form members (`customData.a.b`) nest no deeper than their data may.
        if sub_attribute.is_some_and(|sub| sub.split('.').count() > MAX_DEPTH) {
            return Err(self.error(
                i,
                format!("the attribute path has more than {MAX_DEPTH} dotted parts"),
            ));
        }
        Ok((
            rest,
            AttrPath {
                uri,
                attribute: attribute.to_owned(),
                sub_attribute: sub_attribute.map(str::to_owned),
            },
        ))
    }

    fn comp_value(&self, i: &'a str) -> Step<'a, CompValue> {
        if i.starts_with('"') {
            return self.string_literal(i);
        }
        for (word, value) in [
            ("true", CompValue::Bool(true)),
            ("false", CompValue::Bool(false)),
            ("null", CompValue::Null),
        ] {
            if let Ok((rest, _)) = keyword(word).parse(i) {
                return Ok((rest, value));
            }
        }
        let number: NomResult<'a, &'a str> = recognize((
            opt(char('-')),
            digit1,
            opt(pair(char('.'), digit1)),
            opt((
                alt((char('e'), char('E'))),
                opt(alt((tag("+"), tag("-")))),
                digit1,
            )),
        ))
        .parse(i);
        if let Ok((rest, text)) = number
            && !rest.starts_with(is_name_char)
            && let Ok(number) = serde_json::from_str::<serde_json::Number>(text)
        {
            return Ok((rest, CompValue::Number(number)));
        }
        Err(self.error(
            i,
            "expected a value: a \"quoted string\", a number, true, false or null",
        ))
    }

    fn string_literal(&self, i: &'a str) -> Step<'a, CompValue> {
        let mut escaped = false;
        for (offset, c) in i.char_indices().skip(1) {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    let literal = &i[..=offset];
                    let text: String = serde_json::from_str(literal)
                        .map_err(|e| self.error(i, format!("invalid string literal: {e}")))?;
                    // No stored string holds NUL, and PostgreSQL refuses it as a parameter.
                    if text.contains('\0') {
                        return Err(self.error(i, "a string cannot contain the character U+0000"));
                    }
                    return Ok((&i[offset + 1..], CompValue::String(text)));
                }
                _ => {}
            }
        }
        Err(self.error(i, "the string is not closed with '\"'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Number;

    fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare { path, op, value }
    }

    fn s(text: &str) -> CompValue {
        CompValue::String(text.to_owned())
    }

    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }

    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }

    fn parse(text: &str) -> Filter {
        parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_comparison_operator_parses() {
        for (word, op) in [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ] {
            assert_eq!(
                parse(&format!("title {word} \"x\"")),
                cmp(AttrPath::new("title"), op, s("x"))
            );
        }
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        assert_eq!(
            parse("userName EQ \"a\" AND title Pr"),
            and(
                cmp(AttrPath::new("userName"), CompareOp::Eq, s("a")),
                Filter::Present(AttrPath::new("title"))
            )
        );
        assert_eq!(
            parse("active eq TRUE"),
            cmp(
                AttrPath::new("active"),
                CompareOp::Eq,
                CompValue::Bool(true)
            )
        );
        assert_eq!(
            parse("NOT (title pr)"),
            Filter::Not(Box::new(Filter::Present(AttrPath::new("title"))))
        );
    }

    #[test]
    fn present_parses() {
        assert_eq!(parse("title pr"), Filter::Present(AttrPath::new("title")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let a = || cmp(AttrPath::new("a"), CompareOp::Eq, s("1"));
        let b = || cmp(AttrPath::new("b"), CompareOp::Eq, s("2"));
        let c = || cmp(AttrPath::new("c"), CompareOp::Eq, s("3"));
        assert_eq!(
            parse(r#"a eq "1" or b eq "2" and c eq "3""#),
            or(a(), and(b(), c()))
        );
        assert_eq!(
            parse(r#"a eq "1" and b eq "2" or c eq "3""#),
            or(and(a(), b()), c())
        );
        assert_eq!(
            parse(r#"(a eq "1" or b eq "2") and c eq "3""#),
            and(or(a(), b()), c())
        );
    }

    #[test]
    fn logical_operators_are_left_associative() {
        let x = |n: &str| cmp(AttrPath::new(n), CompareOp::Eq, s(n));
        assert_eq!(
            parse(r#"a eq "a" or b eq "b" or c eq "c""#),
            or(or(x("a"), x("b")), x("c"))
        );
    }

    #[test]
    fn not_applies_to_its_parenthesised_filter_only() {
        let a = cmp(AttrPath::new("a"), CompareOp::Eq, s("1"));
        let b = Filter::Present(AttrPath::new("b"));
        assert_eq!(
            parse(r#"not (a eq "1") and b pr"#),
            and(Filter::Not(Box::new(a)), b)
        );
        assert!(matches!(parse("not(b pr)"), Filter::Not(_)));
    }

    #[test]
    fn sub_attributes_and_urn_paths_parse() {
        assert_eq!(
            parse(r#"name.familyName co "O'Malley""#),
            cmp(
                AttrPath::with_sub("name", "familyName"),
                CompareOp::Co,
                s("O'Malley")
            )
        );
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(
            parse(&format!("{urn}:employeeNumber eq \"701984\"")),
            cmp(
                AttrPath {
                    uri: Some(urn.into()),
                    attribute: "employeeNumber".into(),
                    sub_attribute: None
                },
                CompareOp::Eq,
                s("701984")
            )
        );
        assert_eq!(
            parse(&format!("{urn}:manager.value eq \"26118915\"")),
            cmp(
                AttrPath {
                    uri: Some(urn.into()),
                    attribute: "manager".into(),
                    sub_attribute: Some("value".into())
                },
                CompareOp::Eq,
                s("26118915")
            )
        );
    }

    #[test]
    fn value_paths_parse_with_logical_inner_filters() {
        let expected = Filter::ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(and(
                cmp(AttrPath::new("type"), CompareOp::Eq, s("work")),
                cmp(AttrPath::new("value"), CompareOp::Co, s("@example.com")),
            )),
        };
        assert_eq!(
            parse(r#"emails[type eq "work" and value co "@example.com"]"#),
            expected
        );
        assert_eq!(
            parse(
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#
            ),
            and(
                cmp(AttrPath::new("userType"), CompareOp::Eq, s("Employee")),
                expected
            )
        );
    }

    #[test]
    fn value_path_followed_by_sub_attribute_comparison_reads_as_one_value_filter() {
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "a@b.c""#),
            Filter::ValuePath {
                path: AttrPath::new("emails"),
                filter: Box::new(and(
                    cmp(AttrPath::new("type"), CompareOp::Eq, s("work")),
                    cmp(AttrPath::new("value"), CompareOp::Eq, s("a@b.c")),
                )),
            }
        );
    }

    #[test]
    fn literals_of_every_type_parse() {
        assert_eq!(
            parse("a eq null"),
            cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Null)
        );
        assert_eq!(
            parse("a eq false"),
            cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Bool(false))
        );
        for number in ["0", "-12", "3.25", "1e3", "-2.5E-2"] {
            assert_eq!(
                parse(&format!("a gt {number}")),
                cmp(
                    AttrPath::new("a"),
                    CompareOp::Gt,
                    CompValue::Number(number.parse::<Number>().unwrap())
                )
            );
        }
        assert_eq!(
            parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
            cmp(
                AttrPath::with_sub("meta", "lastModified"),
                CompareOp::Gt,
                s("2011-05-13T04:42:34Z")
            )
        );
    }

    #[test]
    fn string_escapes_are_json_escapes() {
        assert_eq!(
            parse(r#"displayName eq "say \"hi\" \\ \u00e9\n""#),
            cmp(
                AttrPath::new("displayName"),
                CompareOp::Eq,
                s("say \"hi\" \\ é\n")
            )
        );
        assert_eq!(
            parse(r#"a eq "and or not""#),
            cmp(AttrPath::new("a"), CompareOp::Eq, s("and or not"))
        );
        assert_eq!(
            parse(r#"a eq "ünïcödé""#),
            cmp(AttrPath::new("a"), CompareOp::Eq, s("ünïcödé"))
        );
    }

    #[test]
    fn extra_whitespace_is_tolerated() {
        assert_eq!(
            parse("  title   pr  "),
            Filter::Present(AttrPath::new("title"))
        );
        assert!(parse_filter("a pr   and   ( b pr )").is_ok());
    }

    #[test]
    fn attribute_names_that_start_with_keywords_are_names() {
        assert_eq!(parse("order pr"), Filter::Present(AttrPath::new("order")));
        assert_eq!(
            parse("notes pr and android pr"),
            and(
                Filter::Present(AttrPath::new("notes")),
                Filter::Present(AttrPath::new("android"))
            )
        );
    }

    fn error_of(text: &str) -> FilterError {
        parse_filter(text).expect_err(text)
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = error_of(r#"userName eq"#);
        assert!(
            err.message.contains("value") || err.message.contains("operator"),
            "{err}"
        );
        let err = error_of(r#"userName zz "x""#);
        assert_eq!(err.position, 10);
        assert!(err.message.contains("unknown operator 'zz'"));
        let err = error_of(r#"userName eq "x" and"#);
        assert!(err.position >= 16, "{err}");
        let err = error_of(r#"userName eq "unterminated"#);
        assert_eq!(err.position, 13);
        assert!(err.message.contains("not closed"));
    }

    #[test]
    fn malformed_filters_are_rejected() {
        for text in [
            "",
            "   ",
            "userName",
            "userName eq",
            "eq \"x\"",
            "userName eq x",
            "userName eq \"x\" extra",
            "(userName pr",
            "userName pr)",
            "not userName pr",
            "emails[type eq \"work\"",
            "emails[type[value pr]]",
            "a eq \"x\" and and b pr",
            "a eq \"x\" or",
            "1abc pr",
            "a..b pr",
            "urn:foo: pr",
            "a eq 01x",
            "a eq \"bad \\q escape\"",
            "a eq tru",
            "a eq \"nul \\u0000\"",
        ] {
            assert!(parse_filter(text).is_err(), "accepted: {text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = error_of(&deep);
        assert!(err.message.contains("nests deeper"));
        let nots = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
        assert!(parse_filter(&nots).is_err());
        let fine = format!(
            "{}a pr{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_filter(&fine).is_ok());
    }

    fn chain(terms: usize, joiner: &str) -> String {
        (0..terms)
            .map(|n| format!("emails.value co \"{n}\""))
            .collect::<Vec<_>>()
            .join(joiner)
    }

    fn count_terms(filter: &Filter) -> usize {
        match filter {
            Filter::And(a, b) | Filter::Or(a, b) => count_terms(a) + count_terms(b),
            Filter::Not(inner) | Filter::ValuePath { filter: inner, .. } => count_terms(inner),
            Filter::Compare { .. } | Filter::Present(_) => 1,
        }
    }

    #[test]
    fn a_filter_at_the_term_limit_parses() {
        for joiner in [" and ", " or "] {
            let filter = parse(&chain(MAX_TERMS, joiner));
            assert_eq!(count_terms(&filter), MAX_TERMS);
        }
    }

    #[test]
    fn a_filter_past_the_term_limit_is_refused_with_the_limit_named() {
        for terms in [MAX_TERMS + 1, 3_000, 100_000] {
            for joiner in [" and ", " or "] {
                let err = error_of(&chain(terms, joiner));
                assert!(
                    err.message
                        .contains(&format!("more than {MAX_TERMS} terms")),
                    "{err}"
                );
            }
        }
        let in_value_paths = (0..=MAX_TERMS / 2)
            .map(|n| format!("emails[type eq \"w\"].value eq \"{n}\""))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(error_of(&in_value_paths).message.contains("terms"));
    }

    #[test]
    fn patch_path_value_filters_share_the_term_limit() {
        let at_limit = format!("emails[{}]", chain(MAX_TERMS, " or "));
        assert!(parse_patch_path(&at_limit).is_ok());
        let past = format!("emails[{}].value", chain(5_000, " or "));
        let err = parse_patch_path(&past).expect_err("past the limit");
        assert!(err.message.contains(&format!("{MAX_TERMS} terms")), "{err}");
    }

    #[test]
    fn attribute_paths_past_the_depth_limit_are_refused() {
        let path = |parts: usize| format!("customData.{}", vec!["a"; parts].join("."));
        assert!(parse_attr_path(&path(MAX_DEPTH)).is_ok());
        for parts in [MAX_DEPTH + 1, 10_000] {
            let err = parse_attr_path(&path(parts)).expect_err("too many parts");
            assert!(err.message.contains("dotted parts"), "{err}");
            assert!(parse_patch_path(&path(parts)).is_err());
            assert!(parse_filter(&format!("{} pr", path(parts))).is_err());
        }
    }

    #[test]
    fn patch_paths_parse() {
        assert_eq!(
            parse_patch_path("members").unwrap(),
            PatchPath {
                attribute: AttrPath::new("members"),
                value_filter: None,
                sub_attribute: None
            }
        );
        let path = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(path.attribute, AttrPath::new("emails"));
        assert_eq!(
            path.value_filter,
            Some(cmp(AttrPath::new("type"), CompareOp::Eq, s("work")))
        );
        assert_eq!(path.sub_attribute.as_deref(), Some("value"));
        assert!(parse_patch_path(r#"members[value eq "2819c223"]"#).is_ok());
        assert!(parse_patch_path("name.givenName").is_ok());
        assert!(parse_patch_path("emails[").is_err());
        assert!(parse_patch_path("").is_err());
    }

    #[test]
    fn display_round_trips_through_the_parser() {
        for text in [
            r#"userName eq "bjensen" and (title pr or not (emails[type eq "work"]))"#,
            r#"a gt 5 or b le -1.5 and c eq null"#,
        ] {
            let once = parse(text);
            assert_eq!(parse(&once.to_string()), once);
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Fragments that make hostile inputs likely to reach deep parser states.
    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("userName".to_owned()),
            Just("emails".to_owned()),
            Just(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
                    .to_owned()
            ),
            Just(" eq ".to_owned()),
            Just(" and ".to_owned()),
            Just(" or ".to_owned()),
            Just("not".to_owned()),
            Just(" pr".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(".".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\"x\\u00e9\"".to_owned()),
            Just("-1.5e3".to_owned()),
            Just("true".to_owned()),
            Just(" ".to_owned()),
            "[a-zA-Z$:._-]{1,6}".prop_map(|s| s),
            any::<char>().prop_map(|c| c.to_string()),
        ];
        prop::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse_filter(&text);
            let _ = parse_patch_path(&text);
            let _ = parse_attr_path(&text);
        }

        /// Long and deep mixes of `and`, `or`, `not` and parentheses either parse
        /// within the limits or are refused; they never overflow the stack.
        #[test]
        fn long_and_deep_filters_stay_within_the_limits(
            shape in prop::collection::vec((0usize..4, 0usize..3, any::<bool>()), 1..600)
        ) {
            let mut text = String::new();
            let mut open = 0usize;
            for (index, (opens, closes, use_and)) in shape.iter().enumerate() {
                if index > 0 {
                    text.push_str(if *use_and { " and " } else { " or " });
                }
                for level in 0..*opens {
                    text.push_str(if level % 2 == 0 { "not (" } else { "(" });
                }
                open += opens;
                text.push_str("title pr");
                let closing = (*closes).min(open);
                text.push_str(&")".repeat(closing));
                open -= closing;
            }
            text.push_str(&")".repeat(open));
            match parse_filter(&text) {
                Ok(filter) => {
                    prop_assert!(shape.len() <= MAX_TERMS);
                    prop_assert_eq!(filter.to_string().matches("title pr").count(), shape.len());
                }
                Err(err) => prop_assert!(
                    shape.len() > MAX_TERMS || err.message.contains("nests deeper"),
                    "{}", err
                ),
            }
        }

        #[test]
        fn token_soup_never_panics_and_errors_point_inside_the_input(text in token_soup()) {
            match parse_filter(&text) {
                Ok(filter) => prop_assert_eq!(parse_filter(&filter.to_string()).ok(), Some(filter)),
                Err(err) => prop_assert!(err.position >= 1 && err.position <= text.chars().count() + 1),
            }
            let _ = parse_patch_path(&text);
        }
    }
}
