//! SQL text built at run time with bound parameters, numbered for the backend.

use chrono::NaiveDateTime;

use super::Backend;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Bool(bool),
    Float(f64),
    BigInt(i64),
    Timestamp(NaiveDateTime),
}

/// SQL text with its parameters, placeholders numbered for the backend.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    backend: Backend,
    pub sql: String,
    pub params: Vec<SqlParam>,
    /// Where in `sql` each parameter's placeholder stands.
    placeholders: Vec<std::ops::Range<usize>>,
}

impl SqlBuilder {
    pub fn new(backend: Backend) -> Self {
        // A search with its extras is about 900 bytes of text: one allocation, not
        // a doubling from a few bytes.
        SqlBuilder {
            backend,
            sql: String::with_capacity(1024),
            params: Vec::with_capacity(8),
            placeholders: Vec::with_capacity(8),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `param`.
    pub fn param(&mut self, param: SqlParam) -> &mut Self {
        self.params.push(param);
        let start = self.sql.len();
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.params.len().to_string());
            }
        }
        self.placeholders.push(start..self.sql.len());
        self
    }

    /// The SQL between placeholders, each piece followed by the parameter bound
    /// there (the last piece by none): for drivers that write placeholders themselves.
    pub fn pieces(&self) -> impl Iterator<Item = (&str, Option<&SqlParam>)> {
        let mut from = 0;
        let mut params = self.params.iter().zip(&self.placeholders);
        std::iter::from_fn(move || {
            if from > self.sql.len() {
                return None;
            }
            match params.next() {
                Some((param, at)) => {
                    let piece = &self.sql[from..at.start];
                    from = at.end;
                    Some((piece, Some(param)))
                }
                None => {
                    let piece = &self.sql[from..];
                    from = self.sql.len() + 1;
                    Some((piece, None))
                }
            }
        })
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.param(SqlParam::Text(text.to_owned()))
    }
}
