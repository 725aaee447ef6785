//! `roster import`: users from an HR export or a migration, as newline-delimited SCIM
//! User JSON or as CSV with a [`Mapping`]. Each user is matched by externalId (or
//! userName) and created, or updated with what the file says (a PATCH `replace` of
//! the attributes the record names), through the machinery of `/Bulk` and so through
//! the same domain functions as the API. A record that would change nothing is not
//! written, so that running the same file twice changes nothing the second time.

pub mod mapping;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::casefold::fold;
use crate::domain::audit::changed_attributes;
use crate::domain::users::{self, User, UserKey};
use crate::scim::bulk::{BulkContext, BulkLimits, parse_bulk_request, run_bulk};
use crate::scim::patch::parse_patch_request;
use crate::scim::users::{patch_user, user_input_from_body};
use crate::scim::{BaseUrl, etag};
use crate::store::{Scope, Store};
use crate::urn;

pub use mapping::Mapping;

/// How many differences a summary shows.
const SAMPLES: usize = 10;

/// One record of the file: a line of NDJSON or a CSV record.
#[derive(Debug)]
pub struct Record {
    /// Where it starts in the file, from 1.
    pub line: u64,
    /// The record as it was read: the line's text, or the CSV record's columns.
    pub raw: Value,
    /// The SCIM User document it holds, or why it holds none.
    pub document: Result<Value, String>,
}

/// The records of a newline-delimited JSON file; blank lines are skipped.
pub fn ndjson_records(reader: impl Read + 'static) -> impl Iterator<Item = Record> {
    BufReader::new(reader)
        .split(b'\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let line_number = index as u64 + 1;
            let bytes = match line {
                Ok(bytes) => bytes,
                Err(error) => {
                    return Some(Record {
                        line: line_number,
                        raw: Value::Null,
                        document: Err(format!("the line cannot be read: {error}")),
                    });
                }
            };
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            if text.is_empty() {
                return None;
            }
            let document = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(document)) => Ok(Value::Object(document)),
                Ok(_) => Err("the line is no JSON object".to_owned()),
                Err(error) => Err(format!("the line is not valid JSON: {error}")),
            };
            Some(Record {
                line: line_number,
                raw: Value::String(text),
                document,
            })
        })
}

/// The records of a CSV file with a header row, turned into documents by `mapping`.
pub fn csv_records(
    reader: impl Read + 'static,
    mapping: Mapping,
) -> Result<impl Iterator<Item = Record>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the CSV header cannot be read: {e}"))?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    let missing = mapping.missing_columns(&header);
    if !missing.is_empty() {
        return Err(format!(
            "the CSV has no column {} that the mapping names",
            missing.join(", ")
        ));
    }
    Ok(reader.into_records().map(move |record| match record {
        Ok(record) => {
            let fields: Vec<String> = record.iter().map(str::to_owned).collect();
            let raw: Map<String, Value> = header
                .iter()
                .cloned()
                .zip(fields.iter().cloned().map(Value::from))
                .collect();
            Record {
                line: record.position().map_or(0, |p| p.line()),
                raw: Value::Object(raw),
                document: mapping.user_document(&header, &fields),
            }
        }
        Err(error) => Record {
            line: error.position().map_or(0, |p| p.line()),
            raw: Value::Null,
            document: Err(format!("the record cannot be read: {error}")),
        },
    }))
}

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// What matches a record with a user.
    pub key: UserKey,
    /// Report what would happen, and write nothing.
    pub dry_run: bool,
    /// Records read, looked up and written together.
    pub batch: usize,
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub line: u64,
    pub reason: String,
    pub record: Value,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// The first differences: the records created and the attributes updated.
    pub samples: Vec<String>,
}

/// A record ready to be written.
struct Candidate {
    line: u64,
    raw: Value,
    document: Value,
    key: String,
}

/// Imports `records` into the tenant of `scope`: `refused` receives every record
/// that is not imported, `progress` the number of records gone through so far.
pub async fn import(
    store: &Store,
    scope: &Scope,
    records: impl Iterator<Item = Record>,
    options: ImportOptions,
    mut refused: impl FnMut(Refusal) -> Result<(), String>,
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary, String> {
    let mut summary = ImportSummary::default();
    // The first line of each key: a key twice in a file is refused the second time.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut records = records.peekable();
    let mut done = 0u64;
    while records.peek().is_some() {
        let batch: Vec<Record> = records.by_ref().take(options.batch.max(1)).collect();
        done += batch.len() as u64;
        let mut candidates = Vec::with_capacity(batch.len());
        for record in batch {
            match candidate(record, options.key, &mut seen) {
                Ok(candidate) => candidates.push(candidate),
                Err(refusal) => {
                    summary.refused += 1;
                    refused(refusal)?;
                }
            }
        }
        write_batch(
            store,
            scope,
            candidates,
            options,
            &mut summary,
            &mut refused,
        )
        .await?;
        progress(done);
    }
    Ok(summary)
}

/// Reads and checks a record: a valid User with a key seen nowhere before.
fn candidate(
    record: Record,
    key: UserKey,
    seen: &mut HashMap<String, u64>,
) -> Result<Candidate, Refusal> {
    let Record {
        line,
        raw,
        document,
    } = record;
    let refuse = |reason: String, raw: Value| Refusal {
        line,
        reason,
        record: raw,
    };
    let document = match document {
        Ok(document) => document,
        Err(reason) => return Err(refuse(reason, raw)),
    };
    let input = match user_input_from_body(&document) {
        Ok(input) => input,
        Err(error) => return Err(refuse(error.detail, raw)),
    };
    let key_name = key_attribute(key);
    let Some(value) = input.attributes.get(key_name).and_then(Value::as_str) else {
        return Err(refuse(
            format!("the record has no {key_name} to match it by"),
            raw,
        ));
    };
    let folded = folded_key(key, value);
    if let Some(first) = seen.get(&folded) {
        return Err(refuse(
            format!("the record repeats the {key_name} '{value}' of line {first}"),
            raw,
        ));
    }
    seen.insert(folded, line);
    Ok(Candidate {
        line,
        raw,
        key: value.to_owned(),
        document,
    })
}

fn key_attribute(key: UserKey) -> &'static str {
    match key {
        UserKey::ExternalId => "externalId",
        UserKey::UserName => "userName",
    }
}

/// A key as the store compares it: userName ignoring case, externalId exactly.
fn folded_key(key: UserKey, value: &str) -> String {
    match key {
        UserKey::ExternalId => value.to_owned(),
        UserKey::UserName => fold(value),
    }
}

/// Looks the candidates' users up, leaves out those that would not change, and
/// creates or updates the others through one bulk run.
async fn write_batch(
    store: &Store,
    scope: &Scope,
    candidates: Vec<Candidate>,
    options: ImportOptions,
    summary: &mut ImportSummary,
    refused: &mut impl FnMut(Refusal) -> Result<(), String>,
) -> Result<(), String> {
    if candidates.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = candidates.iter().map(|c| c.key.clone()).collect();
    let existing = users::find_users_by_key(store, scope, options.key, keys)
        .await
        .map_err(|e| format!("the users cannot be read: {e}"))?;
    let mut by_key: HashMap<String, User> = HashMap::new();
    for user in existing {
        let attributes = user.attributes.to_map().unwrap_or_default();
        if let Some(value) = attributes
            .get(key_attribute(options.key))
            .and_then(Value::as_str)
        {
            by_key.insert(folded_key(options.key, value), user);
        }
    }
    let mut operations = Vec::new();
    let mut planned = Vec::new();
    for candidate in candidates {
        let current = by_key.get(&folded_key(options.key, &candidate.key));
        let operation = match current {
            None => {
                sample(
                    summary,
                    format!("line {} ({}): new user", candidate.line, candidate.key),
                );
                json!({"method": "POST", "path": "/Users", "data": candidate.document})
            }
            Some(user) => match update(user, &candidate) {
                Err(reason) => {
                    summary.refused += 1;
                    refused(Refusal {
                        line: candidate.line,
                        reason,
                        record: candidate.raw,
                    })?;
                    continue;
                }
                Ok(None) => {
                    summary.unchanged += 1;
                    continue;
                }
                Ok(Some((patch, changed))) => {
                    sample(
                        summary,
                        format!(
                            "line {} ({}): {}",
                            candidate.line,
                            candidate.key,
                            changed.join(", ")
                        ),
                    );
                    json!({"method": "PATCH", "path": format!("/Users/{}", user.id),
                           "version": etag(user.version), "data": patch})
                }
            },
        };
        let mut operation = operation;
        operation["bulkId"] = operations.len().to_string().into();
        operations.push(operation);
        planned.push(candidate);
    }
    if options.dry_run {
        for operation in &operations {
            match operation["method"].as_str() {
                Some("POST") => summary.created += 1,
                _ => summary.updated += 1,
            }
        }
        return Ok(());
    }
    if operations.is_empty() {
        return Ok(());
    }
    let limits = BulkLimits {
        max_operations: operations.len(),
        max_payload_bytes: usize::MAX,
    };
    let plan =
        parse_bulk_request(&json!({"Operations": operations}), limits).map_err(|e| e.detail)?;
    let context = BulkContext {
        store: store.clone(),
        scope: scope.clone(),
        base: BaseUrl(String::new()),
        max_patch_operations: 1,
    };
    let response = run_bulk(context, plan).await.map_err(|e| e.detail)?;
    let outcomes = response["Operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (candidate, outcome) in planned.into_iter().zip(outcomes) {
        match outcome["status"].as_str() {
            Some("201") => summary.created += 1,
            Some("200") => summary.updated += 1,
            _ => {
                summary.refused += 1;
                let reason = outcome["response"]["detail"]
                    .as_str()
                    .unwrap_or("the record was not written")
                    .to_owned();
                refused(Refusal {
                    line: candidate.line,
                    reason,
                    record: candidate.raw,
                })?;
            }
        }
    }
    Ok(())
}

fn sample(summary: &mut ImportSummary, text: String) {
    if summary.samples.len() < SAMPLES {
        summary.samples.push(text);
    }
}

/// The PATCH that brings `user` to what the record says, and the names of what it
/// changes; `None` when it changes nothing. Passwords are set only on creation:
/// a stored one cannot be compared.
fn update(user: &User, candidate: &Candidate) -> Result<Option<(Value, Vec<String>)>, String> {
    let mut value = match &candidate.document {
        Value::Object(document) => document.clone(),
        _ => Map::new(),
    };
    for name in ["schemas", "id", "meta", "password"] {
        value.remove(name);
    }
    // customData members the record names replace the stored ones; the others stay.
    let stored_custom_data: Option<Value> = user
        .custom_data
        .as_ref()
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    if let (Some(Value::Object(stored)), Some(Value::Object(roster))) =
        (&stored_custom_data, value.get_mut(urn::ROSTER_USER))
        && let Some(Value::Object(named)) = roster.get("customData")
    {
        let mut merged = stored.clone();
        merged.extend(named.clone());
        roster.insert("customData".into(), Value::Object(merged));
    }
    let patch =
        json!({"schemas": [urn::PATCH_OP], "Operations": [{"op": "replace", "value": value}]});
    let operations = parse_patch_request(&patch, 1).map_err(|e| e.detail)?;
    let patched = patch_user(user, &operations).map_err(|e| e.detail)?;
    let current = user
        .attributes
        .to_map()
        .map_err(|_| "the stored user cannot be read".to_owned())?;
    let mut changed = changed_attributes(&current, &patched.attributes);
    if let Some(roster) = &patched.roster {
        if roster.custom_data != stored_custom_data {
            changed.push("customData".into());
        }
        if roster.birthday != user.birthday {
            changed.push("birthday".into());
        }
    }
    Ok((!changed.is_empty()).then_some((patch, changed)))
}

/// The number of lines of the file at `path`, for a progress bar.
pub fn count_lines(path: &Path) -> u64 {
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    let mut reader = BufReader::new(file);
    let mut lines = 0;
    loop {
        let Ok(buffer) = reader.fill_buf() else {
            return lines;
        };
        if buffer.is_empty() {
            return lines;
        }
        lines += memchr::memchr_iter(b'\n', buffer).count() as u64;
        let length = buffer.len();
        reader.consume(length);
    }
}
