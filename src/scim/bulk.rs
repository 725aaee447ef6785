//! Bulk requests (RFC 7644 §3.7): POST, PUT, PATCH and DELETE on Users and Groups in
//! one request. Operations run in an order that creates every resource before the
//! operations that name it by `bulkId`; each runs under its own savepoint through the
//! same domain functions as a single request (scope, validation, audit), so each is
//! atomic alone, while runs of consecutive operations share one transaction and one
//! commit.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::groups::{GroupRequest, group_input_from_body, patch_group, replacement};
use super::patch::{PatchOperation, parse_patch_request};
use super::users::{patch_user, user_input_from_body};
use super::{BaseUrl, ScimError, etag, version_from_etag};
use crate::domain::DomainError;
use crate::domain::groups;
use crate::domain::users::{self as users, UserInput};
use crate::store::{Conn, Scope, Store, StoreError, savepoint};
use crate::urn;

/// Limits of one bulk request (RFC 7644 §3.7.4), advertised in the
/// ServiceProviderConfig.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_bytes: usize,
}

/// Default of [`BulkLimits::max_operations`].
pub const DEFAULT_MAX_BULK_OPERATIONS: usize = 1000;
/// Default of [`BulkLimits::max_payload_bytes`]: 1,000 user creations of up to 4 KiB
/// each.
pub const DEFAULT_MAX_BULK_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

impl Default for BulkLimits {
    fn default() -> Self {
        BulkLimits {
            max_operations: DEFAULT_MAX_BULK_OPERATIONS,
            max_payload_bytes: DEFAULT_MAX_BULK_PAYLOAD_BYTES,
        }
    }
}

/// Operations per write transaction: one commit serves many, and single writes
/// queued behind a bulk request wait for a few hundred operations at most.
const OPERATIONS_PER_TRANSACTION: usize = 250;

const BULK_ID_PREFIX: &str = "bulkId:";

/// The refusal of a body larger than `limit` bytes.
pub fn payload_too_large(limit: usize) -> ScimError {
    ScimError::payload_too_large(format!(
        "the bulk request is larger than maxPayloadSize ({limit} bytes)"
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn parse(text: &str) -> Option<Method> {
        match text.to_ascii_uppercase().as_str() {
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The status a single request of this method answers on success.
    fn success(self) -> u16 {
        match self {
            Method::Post => 201,
            Method::Put | Method::Patch => 200,
            Method::Delete => 204,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "/Users",
            Kind::Group => "/Groups",
        }
    }
}

/// What an operation asks, once its method and path are understood.
#[derive(Debug, Clone)]
struct Target {
    method: Method,
    kind: Kind,
    /// The resource's id for PUT, PATCH and DELETE (maybe `bulkId:…`).
    id: Option<String>,
}

/// One operation of a bulk request.
#[derive(Debug)]
struct Operation {
    /// Its place in the request.
    index: usize,
    /// The method as sent, echoed in the response.
    method_text: String,
    bulk_id: Option<String>,
    /// `If-Match` of the operation.
    version: Option<String>,
    data: Value,
    target: Result<Target, ScimError>,
    /// The bulkIds the operation names, in its path or its data.
    references: BTreeSet<String>,
    /// Whether its references loop back to it: no order can run it.
    circular: bool,
}

/// A bulk request, read and ordered.
#[derive(Debug)]
pub struct BulkPlan {
    operations: Vec<Operation>,
    /// Indexes into `operations` in the order they run: each after the operations
    /// whose bulkIds it names, else in request order.
    order: Vec<usize>,
    fail_on_errors: Option<usize>,
}

impl BulkPlan {
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// Reads a BulkRequest message: the request as a whole is refused only when it is
/// no BulkRequest, holds more than `limits.max_operations` operations (413) or
/// repeats a bulkId; a bad operation is reported in its own place of the response.
pub fn parse_bulk_request(body: &Value, limits: BulkLimits) -> Result<BulkPlan, ScimError> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax(
            "a BulkRequest must be a JSON object",
        ));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let Some(Value::Array(operations)) = field("Operations") else {
        return Err(ScimError::invalid_syntax(
            "a BulkRequest needs 'Operations', an array of operations",
        ));
    };
    if operations.len() > limits.max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request holds {} operations, more than maxOperations ({})",
            operations.len(),
            limits.max_operations
        )));
    }
    let fail_on_errors = match field("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ScimError::invalid_value("failOnErrors must be a positive integer")
                })?,
        ),
    };
    let mut operations: Vec<Operation> = operations
        .iter()
        .enumerate()
        .map(|(index, operation)| read_operation(index, operation))
        .collect::<Result<_, _>>()?;
    let mut defined: HashMap<String, usize> = HashMap::new();
    for operation in &operations {
        if let Some(bulk_id) = &operation.bulk_id
            && defined.insert(bulk_id.clone(), operation.index).is_some()
        {
            return Err(ScimError::invalid_value(format!(
                "bulkId '{bulk_id}' names more than one operation; each must be unique"
            )));
        }
    }
    let order = run_order(&mut operations, &defined);
    Ok(BulkPlan {
        operations,
        order,
        fail_on_errors,
    })
}

fn read_operation(index: usize, value: &Value) -> Result<Operation, ScimError> {
    let Value::Object(fields) = value else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be a JSON object"
        )));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let text = |name: &str| field(name).and_then(Value::as_str).map(str::to_owned);
    let method_text = text("method").unwrap_or_default();
    let bulk_id = text("bulkId").filter(|id| !id.is_empty());
    let data = field("data").cloned().unwrap_or(Value::Null);
    let path = text("path");
    let target = match (Method::parse(&method_text), path) {
        (None, _) => Err(ScimError::invalid_value(format!(
            "method '{method_text}' is not one of POST, PUT, PATCH and DELETE"
        ))),
        (Some(_), None) => Err(ScimError::invalid_value(
            "the operation needs a 'path' such as /Users or /Users/{id}",
        )),
        (Some(method), Some(path)) => read_path(method, &path),
    }
    .and_then(|target| {
        if target.method != Method::Delete && !data.is_object() {
            return Err(ScimError::invalid_syntax(format!(
                "a {} operation needs 'data', a JSON object",
                target.method.as_str()
            )));
        }
        Ok(target)
    });
    let mut references = BTreeSet::new();
    if let Ok(Target { id: Some(id), .. }) = &target
        && let Some(bulk_id) = id.strip_prefix(BULK_ID_PREFIX)
    {
        references.insert(bulk_id.to_owned());
    }
    collect_references(&data, &mut references);
    Ok(Operation {
        index,
        method_text,
        bulk_id,
        version: text("version").map(|version| version_from_etag(&version)),
        data,
        target,
        references,
        circular: false,
    })
}

/// `/Users` for a POST, `/Users/{id}` for the other methods; likewise for Groups.
fn read_path(method: Method, path: &str) -> Result<Target, ScimError> {
    let trimmed = path.trim().trim_start_matches('/').trim_end_matches('/');
    let (collection, id) = match trimmed.split_once('/') {
        Some((collection, id)) => (collection, Some(id)),
        None => (trimmed, None),
    };
    let kind = if collection.eq_ignore_ascii_case("Users") {
        Kind::User
    } else if collection.eq_ignore_ascii_case("Groups") {
        Kind::Group
    } else {
        return Err(ScimError::invalid_value(format!(
            "path '{path}' names no resource type: Bulk serves /Users and /Groups"
        )));
    };
    match (method, id) {
        (Method::Post, None) => Ok(Target {
            method,
            kind,
            id: None,
        }),
        (Method::Post, Some(_)) => Err(ScimError::invalid_value(format!(
            "a POST's path names the resource type ({}), not a resource",
            kind.endpoint()
        ))),
        (_, Some(id)) if !id.is_empty() && !id.contains('/') => Ok(Target {
            method,
            kind,
            id: Some(id.to_owned()),
        }),
        _ => Err(ScimError::invalid_value(format!(
            "a {}'s path names one resource, such as {}/{{id}}",
            method.as_str(),
            kind.endpoint()
        ))),
    }
}

/// The bulkIds named by `bulkId:…` strings anywhere in `value`.
fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            if let Some(bulk_id) = text.strip_prefix(BULK_ID_PREFIX) {
                out.insert(bulk_id.to_owned());
            }
        }
        Value::Array(values) => values.iter().for_each(|v| collect_references(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// The order operations run in: each after the operations defining the bulkIds it
/// names, otherwise as early as its place in the request allows. Operations whose
/// references form a cycle (or wait on one) are marked `circular` and come last.
fn run_order(operations: &mut [Operation], defined: &HashMap<String, usize>) -> Vec<usize> {
    let mut waiting_on = vec![0usize; operations.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
    for operation in operations.iter() {
        for reference in &operation.references {
            if let Some(&definer) = defined.get(reference) {
                waiting_on[operation.index] += 1;
                dependents[definer].push(operation.index);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..operations.len())
        .filter(|&index| waiting_on[index] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(operations.len());
    while let Some(Reverse(index)) = ready.pop() {
        order.push(index);
        for &dependent in &dependents[index] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.push(Reverse(dependent));
            }
        }
    }
    for (index, waiting) in waiting_on.iter().enumerate() {
        if *waiting > 0 {
            operations[index].circular = true;
            order.push(index);
        }
    }
    order
}

/// The caller and where its resources live.
pub struct BulkContext {
    pub store: Store,
    pub scope: Scope,
    pub base: BaseUrl,
    pub max_patch_operations: usize,
}

/// An operation read into domain input before any transaction: what it needs from
/// other operations (their ids) is filled in when it runs.
#[derive(Clone)]
enum Prepared {
    CreateUser(UserInput),
    ReplaceUser(UserInput),
    PatchUser(Vec<PatchOperation>),
    CreateGroup(GroupRequest),
    ReplaceGroup(GroupRequest),
    PatchGroup(Vec<PatchOperation>),
    Delete,
    /// A PATCH that names bulkIds: read once they are resolved.
    PatchLater,
}

/// An operation ready to run.
struct Step {
    operation: Operation,
    prepared: Result<Prepared, ScimError>,
    /// The hash of the password a POST or PUT of a user sets, made beforehand.
    password_hash: Option<String>,
}

/// A resource an operation wrote.
struct Done {
    id: String,
    version: Option<i64>,
}

/// What one operation came to.
struct Outcome {
    index: usize,
    method_text: String,
    bulk_id: Option<String>,
    kind: Option<Kind>,
    /// The id of the resource, once known.
    id: Option<String>,
    version: Option<i64>,
    result: Result<u16, ScimError>,
}

/// Runs a bulk request and returns its BulkResponse: the outcome of every operation
/// that ran, in request order; with `failOnErrors`, the operations after the last
/// error it allows do not run and are left out.
pub async fn run_bulk(context: BulkContext, plan: BulkPlan) -> Result<Value, ScimError> {
    let max_patch_operations = context.max_patch_operations;
    let mut steps = tokio::task::spawn_blocking(move || prepare(plan, max_patch_operations))
        .await
        .map_err(|_| ScimError::internal_with("the request was cancelled"))?;
    hash_passwords(&mut steps.steps).await?;
    let fail_on_errors = steps.fail_on_errors.unwrap_or(usize::MAX);
    let mut outcomes = Vec::with_capacity(steps.steps.len());
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut errors = 0usize;
    let mut remaining = steps.steps.into_iter().peekable();
    while remaining.peek().is_some() && errors < fail_on_errors {
        let chunk: Vec<Step> = remaining
            .by_ref()
            .take(OPERATIONS_PER_TRANSACTION)
            .collect();
        let described: Vec<Outcome> = chunk.iter().map(|step| pending(&step.operation)).collect();
        let chunk = Arc::new(chunk);
        // Most chunks fail nowhere: run them whole, without a savepoint, and only a
        // chunk that meets a failure again with a savepoint per run of successes.
        let (scope, known, steps) = (context.scope.clone(), ids.clone(), chunk.clone());
        let whole = context
            .store
            .write_whole(move |conn| run_whole(conn, &scope, &steps, known))
            .await;
        if let Ok((whole_outcomes, whole_ids)) = whole {
            ids = whole_ids;
            outcomes.extend(whole_outcomes);
            continue;
        }
        let (scope, known) = (context.scope.clone(), ids.clone());
        let ran = context
            .store
            .write(move |conn| {
                Ok::<_, DomainError>(run_chunk(
                    conn,
                    &scope,
                    &chunk,
                    known,
                    errors,
                    fail_on_errors,
                ))
            })
            .await;
        match ran {
            Ok(chunk) => {
                errors = chunk.errors;
                ids = chunk.ids;
                outcomes.extend(chunk.outcomes);
            }
            Err(error) => {
                // Nothing of the transaction stayed: every operation of it failed.
                let error = ScimError::from(error);
                for mut outcome in described {
                    if errors >= fail_on_errors {
                        break;
                    }
                    errors += 1;
                    outcome.result = Err(error.clone());
                    outcomes.push(outcome);
                }
            }
        }
    }
    outcomes.sort_by_key(|outcome| outcome.index);
    let operations: Vec<Value> = outcomes
        .into_iter()
        .map(|outcome| render_outcome(outcome, &context.base))
        .collect();
    Ok(serde_json::json!({
        "schemas": [urn::BULK_RESPONSE],
        "Operations": operations,
    }))
}

struct PreparedPlan {
    steps: Vec<Step>,
    fail_on_errors: Option<usize>,
}

/// Reads each operation's data into domain input, in run order (CPU work, done
/// before any transaction).
fn prepare(plan: BulkPlan, max_patch_operations: usize) -> PreparedPlan {
    let BulkPlan {
        operations,
        order,
        fail_on_errors,
    } = plan;
    let mut slots: Vec<Option<Operation>> = operations.into_iter().map(Some).collect();
    let steps = order
        .into_iter()
        .filter_map(|index| slots.get_mut(index).and_then(Option::take))
        .map(|operation| {
            let prepared = match &operation.target {
                Ok(target) => read_data(
                    target,
                    &operation.data,
                    &operation.references,
                    max_patch_operations,
                ),
                Err(error) => Err(error.clone()),
            };
            Step {
                operation,
                prepared,
                password_hash: None,
            }
        })
        .collect();
    PreparedPlan {
        steps,
        fail_on_errors,
    }
}

fn read_data(
    target: &Target,
    data: &Value,
    references: &BTreeSet<String>,
    max_patch_operations: usize,
) -> Result<Prepared, ScimError> {
    Ok(match (target.kind, target.method) {
        (Kind::User, Method::Post) => Prepared::CreateUser(user_input_from_body(data)?),
        (Kind::User, Method::Put) => Prepared::ReplaceUser(user_input_from_body(data)?),
        (Kind::Group, Method::Post) => Prepared::CreateGroup(group_input_from_body(data)?),
        (Kind::Group, Method::Put) => Prepared::ReplaceGroup(group_input_from_body(data)?),
        (_, Method::Patch) if !references.is_empty() => {
            // Checked now, read again once the bulkIds are resolved.
            parse_patch_request(data, max_patch_operations)?;
            Prepared::PatchLater
        }
        (Kind::User, Method::Patch) => {
            Prepared::PatchUser(parse_patch_request(data, max_patch_operations)?)
        }
        (Kind::Group, Method::Patch) => {
            Prepared::PatchGroup(parse_patch_request(data, max_patch_operations)?)
        }
        (_, Method::Delete) => Prepared::Delete,
    })
}

/// Hashes the passwords that POSTs and PUTs of users set, side by side on blocking
/// threads, before any transaction (Argon2 is slow on purpose).
async fn hash_passwords(steps: &mut [Step]) -> Result<(), ScimError> {
    let pending: Vec<_> = steps
        .iter()
        .enumerate()
        .filter_map(|(at, step)| match &step.prepared {
            Ok(Prepared::CreateUser(input) | Prepared::ReplaceUser(input)) => {
                input.password.clone().map(|password| (at, password))
            }
            _ => None,
        })
        .collect();
    let hashed =
        futures_util::future::join_all(pending.into_iter().map(|(at, password)| async move {
            (at, users::hash_optional_password(Some(password)).await)
        }))
        .await;
    for (at, hash) in hashed {
        match hash {
            Ok(hash) => steps[at].password_hash = hash,
            Err(error) => steps[at].prepared = Err(error.into()),
        }
    }
    Ok(())
}

/// The outcome of an operation before it ran.
fn pending(operation: &Operation) -> Outcome {
    let target = operation.target.as_ref().ok();
    Outcome {
        index: operation.index,
        method_text: target.map_or_else(
            || operation.method_text.clone(),
            |target| target.method.as_str().to_owned(),
        ),
        bulk_id: operation.bulk_id.clone(),
        kind: target.map(|target| target.kind),
        id: target
            .and_then(|target| target.id.clone())
            .filter(|id| !id.starts_with(BULK_ID_PREFIX)),
        version: None,
        result: Ok(0),
    }
}

struct ChunkOutcome {
    outcomes: Vec<Outcome>,
    ids: HashMap<String, String>,
    errors: usize,
}

/// Runs `chunk` inside the caller's transaction until `fail_on_errors` errors in all.
///
/// Each operation is atomic on its own, yet a savepoint per operation would cost
/// more than the operation (SQLite journals every page anew under each savepoint,
/// and its full-text index flushes at each). So operations run under one savepoint
/// per run of successes: when operation `k` fails, the run is rolled back, the
/// operations before `k` run again under a new savepoint, and `k` is reported with
/// the error it met, in the very state it meets again.
fn run_chunk(
    conn: &mut Conn,
    scope: &Scope,
    chunk: &[Step],
    mut ids: HashMap<String, String>,
    mut errors: usize,
    fail_on_errors: usize,
) -> ChunkOutcome {
    let mut outcomes = Vec::with_capacity(chunk.len());
    let mut start = 0;
    let mut end = chunk.len();
    // The first failure met at `end`, reported once the run before it is redone.
    let mut failure: Option<(usize, ScimError)> = None;
    while start < chunk.len() && errors < fail_on_errors {
        let mut run_ids = ids.clone();
        let run = savepoint(conn, |conn| {
            let mut done = Vec::with_capacity(end - start);
            for (at, step) in chunk.iter().enumerate().take(end).skip(start) {
                let written = run_step(conn, scope, step, &run_ids)
                    .map_err(|error| RunFailure::Operation(at, error))?;
                remember(step, &written, &mut run_ids);
                done.push(written);
            }
            Ok(done)
        });
        match run {
            Ok(done) => {
                ids = run_ids;
                for (step, written) in chunk[start..end].iter().zip(done) {
                    outcomes.push(succeeded(&step.operation, written));
                }
                start = end;
                if let Some((at, error)) = failure.take() {
                    errors += 1;
                    outcomes.push(failed(&chunk[at].operation, error, &ids));
                    start = at + 1;
                }
                end = chunk.len();
            }
            Err(RunFailure::Operation(at, error)) if at > start => {
                failure = Some((at, error));
                end = at;
            }
            Err(failure_at_start) => {
                let error = match failure_at_start {
                    RunFailure::Operation(_, error) => error,
                    RunFailure::Store(error) => ScimError::from(error),
                };
                errors += 1;
                outcomes.push(failed(&chunk[start].operation, error, &ids));
                start += 1;
                end = chunk.len();
                failure = None;
            }
        }
    }
    ChunkOutcome {
        outcomes,
        ids,
        errors,
    }
}

/// Runs every operation of `chunk` in the caller's transaction, stopping at the
/// first failure (the caller then rolls the transaction back whole).
fn run_whole(
    conn: &mut Conn,
    scope: &Scope,
    chunk: &[Step],
    mut ids: HashMap<String, String>,
) -> Result<(Vec<Outcome>, HashMap<String, String>), RunFailure> {
    let mut outcomes = Vec::with_capacity(chunk.len());
    for (at, step) in chunk.iter().enumerate() {
        let written =
            run_step(conn, scope, step, &ids).map_err(|error| RunFailure::Operation(at, error))?;
        remember(step, &written, &mut ids);
        outcomes.push(succeeded(&step.operation, written));
    }
    Ok((outcomes, ids))
}

/// Notes the id a POST with a bulkId created, for the operations that name it.
fn remember(step: &Step, written: &Done, ids: &mut HashMap<String, String>) {
    if let (Some(bulk_id), Ok(target)) = (&step.operation.bulk_id, &step.operation.target)
        && target.method == Method::Post
    {
        ids.insert(bulk_id.clone(), written.id.clone());
    }
}

/// Why a run of operations was rolled back.
enum RunFailure {
    /// The operation at this place of the chunk failed.
    Operation(usize, ScimError),
    /// The savepoint itself failed.
    Store(StoreError),
}

impl From<StoreError> for RunFailure {
    fn from(error: StoreError) -> Self {
        RunFailure::Store(error)
    }
}

impl From<diesel::result::Error> for RunFailure {
    fn from(error: diesel::result::Error) -> Self {
        RunFailure::Store(error.into())
    }
}

fn succeeded(operation: &Operation, written: Done) -> Outcome {
    let method = operation.target.as_ref().map_or(Method::Post, |t| t.method);
    Outcome {
        id: Some(written.id),
        version: written.version,
        result: Ok(method.success()),
        ..pending(operation)
    }
}

fn failed(operation: &Operation, error: ScimError, ids: &HashMap<String, String>) -> Outcome {
    let mut outcome = pending(operation);
    if let Some(Ok(id)) = operation
        .target
        .as_ref()
        .ok()
        .and_then(|target| target.id.as_deref())
        .map(|id| resolve(id, ids))
    {
        outcome.id = Some(id);
    }
    outcome.result = Err(error);
    outcome
}

/// The id `text` stands for: itself, or the id of the resource created by the
/// operation whose bulkId it names.
fn resolve(text: &str, ids: &HashMap<String, String>) -> Result<String, ScimError> {
    match text.strip_prefix(BULK_ID_PREFIX) {
        None => Ok(text.to_owned()),
        Some(bulk_id) => ids.get(bulk_id).cloned().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "'{text}' names no resource: no POST of this request with bulkId '{bulk_id}' succeeded before"
            ))
        }),
    }
}

/// `value` with every `bulkId:…` string replaced by the id it stands for.
fn substitute(value: &Value, ids: &HashMap<String, String>) -> Result<Value, ScimError> {
    Ok(match value {
        Value::String(text) if text.starts_with(BULK_ID_PREFIX) => {
            Value::String(resolve(text, ids)?)
        }
        Value::Array(values) => Value::Array(
            values
                .iter()
                .map(|v| substitute(v, ids))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, v)| Ok((key.clone(), substitute(v, ids)?)))
                .collect::<Result<Map<_, _>, ScimError>>()?,
        ),
        other => other.clone(),
    })
}

/// Runs one operation through the domain functions of single requests.
fn run_step(
    conn: &mut Conn,
    scope: &Scope,
    step: &Step,
    ids: &HashMap<String, String>,
) -> Result<Done, ScimError> {
    let Step {
        operation,
        prepared,
        password_hash,
    } = step;
    let password_hash = password_hash.clone();
    if operation.circular {
        let names: Vec<&str> = operation.references.iter().map(String::as_str).collect();
        return Err(ScimError::conflict(format!(
            "the bulkIds this operation names ({}) lead back to it: no order of the operations resolves them",
            names.join(", ")
        )));
    }
    let target = operation.target.clone()?;
    let mut prepared = prepared.clone()?;
    if !operation.references.is_empty() {
        // Read again with the ids of the resources created meanwhile.
        let data = substitute(&operation.data, ids)?;
        prepared = match prepared {
            Prepared::CreateUser(_) => Prepared::CreateUser(user_input_from_body(&data)?),
            Prepared::ReplaceUser(_) => Prepared::ReplaceUser(user_input_from_body(&data)?),
            Prepared::CreateGroup(_) => Prepared::CreateGroup(group_input_from_body(&data)?),
            Prepared::ReplaceGroup(_) => Prepared::ReplaceGroup(group_input_from_body(&data)?),
            Prepared::PatchLater => {
                let operations = parse_patch_request(&data, usize::MAX)?;
                match target.kind {
                    Kind::User => Prepared::PatchUser(operations),
                    Kind::Group => Prepared::PatchGroup(operations),
                }
            }
            other => other,
        };
    }
    let id = target
        .id
        .as_deref()
        .map(|id| resolve(id, ids))
        .transpose()?;
    let id = || id.clone().unwrap_or_default();
    let version = operation.version.as_deref();
    let done = |id: String, version: i64| Done {
        id,
        version: Some(version),
    };
    Ok(match prepared {
        Prepared::CreateUser(input) => {
            let id = users::insert_new_user(conn, scope, input, password_hash)?;
            done(id, 1)
        }
        Prepared::ReplaceUser(input) => {
            let user = users::modify_user_in(
                conn,
                scope,
                &id(),
                version,
                "user.replaced",
                password_hash,
                |_| Ok::<_, ScimError>(input.clone()),
            )?;
            done(user.id, user.version)
        }
        Prepared::PatchUser(operations) => {
            let user = users::modify_user_in(
                conn,
                scope,
                &id(),
                version,
                "user.patched",
                None,
                |current| patch_user(current, &operations),
            )?;
            done(user.id, user.version)
        }
        Prepared::CreateGroup(request) => {
            let group = groups::create_group_in(
                conn,
                scope,
                request.attributes,
                request.custom_data,
                request.members,
            )?;
            done(group.id, group.version)
        }
        Prepared::ReplaceGroup(request) => {
            let group = groups::modify_group_in(
                conn,
                scope,
                &id(),
                version,
                "group.replaced",
                |current| Ok::<_, ScimError>(replacement(current, &request)),
                false,
            )?;
            done(group.id, group.version)
        }
        Prepared::PatchGroup(operations) => {
            let group = groups::modify_group_in(
                conn,
                scope,
                &id(),
                version,
                "group.patched",
                |current| patch_group(current, &operations),
                false,
            )?;
            done(group.id, group.version)
        }
        Prepared::Delete => {
            match target.kind {
                Kind::User => users::delete_user_in(conn, scope, &id(), version)?,
                Kind::Group => groups::delete_group_in(conn, scope, &id(), version)?,
            }
            Done {
                id: id(),
                version: None,
            }
        }
        Prepared::PatchLater => return Err(ScimError::internal()),
    })
}

fn render_outcome(outcome: Outcome, base: &BaseUrl) -> Value {
    let mut entry = Map::new();
    entry.insert("method".into(), outcome.method_text.into());
    if let Some(bulk_id) = outcome.bulk_id {
        entry.insert("bulkId".into(), bulk_id.into());
    }
    if let (Some(kind), Some(id)) = (outcome.kind, &outcome.id) {
        entry.insert("location".into(), base.resource(kind.endpoint(), id).into());
    }
    if let Some(version) = outcome.version {
        entry.insert("version".into(), etag(version).into());
    }
    match outcome.result {
        Ok(status) => {
            entry.insert("status".into(), status.to_string().into());
        }
        Err(error) => {
            entry.insert("status".into(), error.status.to_string().into());
            entry.insert("response".into(), error.to_json());
        }
    }
    Value::Object(entry)
}
