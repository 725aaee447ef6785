//! The load benchmark: starts `roster serve` (release build) on a seeded SQLite or
//! PostgreSQL store, drives HTTP load from many concurrent connections for a fixed
//! time per scenario, and prints requests per second, p50 / p99 latency and the
//! server's peak memory.
//!
//! ```sh
//! cargo bench --bench load -- --users 1000000 --seconds 10 --connections 32
//! cargo bench --bench load -- --database-url postgres://postgres@127.0.0.1/roster_bench
//! ```
//!
//! `--only NAME[,NAME…]` runs only the scenarios whose names contain one of the parts.
//! `ROSTER_BENCH_BIN=path` runs another build of `roster` against the same store.
//!
//! The seeded store is kept (under target/bench/) and reused by later runs with the
//! same user count.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Seeds a tenant, starts the release build of `roster serve` on it and measures each
/// scenario: requests per second, p50 / p99 latency, CPU time per request, peak memory.
#[derive(Parser)]
#[command(
    name = "load",
    bin_name = "cargo bench --bench load --",
    after_help = "ROSTER_BENCH_BIN=path runs another build of roster against the same store."
)]
struct Options {
    /// Users in the seeded tenant (a seeded store is kept and reused per count).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    users: u64,
    /// Measured seconds of each scenario.
    #[arg(long, value_name = "N", default_value_t = 10)]
    seconds: u64,
    /// Untimed seconds of each scenario before its measured ones.
    #[arg(long, value_name = "N", default_value_t = 1)]
    warmup: u64,
    /// Concurrent keep-alive connections driving the load.
    #[arg(long, value_name = "N", default_value_t = 32)]
    connections: usize,
    /// Run on this PostgreSQL database (postgres://…) instead of a SQLite file.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Users the import comparison loads through `/Bulk` (0: none).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    import_users: usize,
    /// Users the import comparison loads by single POSTs, to compare with.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    import_single_users: usize,
    /// Operations in each `/Bulk` request of the import comparison.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    import_batch: usize,
    /// Concurrent connections sending the import's `/Bulk` requests.
    #[arg(long, value_name = "N", default_value_t = 4)]
    import_connections: usize,
    /// Run only the scenarios whose names contain one of the comma-separated parts.
    #[arg(long, value_name = "NAME[,NAME…]")]
    only: Option<String>,
    /// `cargo bench` passes `--bench` to every benchmark binary.
    #[arg(long = "bench", hide = true)]
    _cargo_bench: bool,
}

impl Options {
    /// True when `--only` names a part of `scenario` (or is absent); `--only a,b`
    /// runs the scenarios matching either, in the usual order.
    fn wants(&self, scenario: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|part| scenario.contains(part)))
    }
}

/// The `roster` this benchmark runs: this build's, or the one `ROSTER_BENCH_BIN` names,
/// to compare two builds on the same seeded store.
fn roster_binary() -> String {
    std::env::var("ROSTER_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_roster").to_owned())
}

fn roster(args: &[&str]) -> String {
    let output = Command::new(roster_binary())
        .args(args)
        .env("ROSTER_LOG", "warn")
        .output()
        .expect("roster runs");
    assert!(
        output.status.success(),
        "roster {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The peak resident memory of a process so far, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(roster_binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .env("ROSTER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base }
}

/// CPU time a process has used so far (user + system), in microseconds.
fn cpu_micros(pid: u32) -> f64 {
    let ticks_per_second = 100.0; // USER_HZ, the same on every Linux architecture Roster runs on
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / ticks_per_second * 1e6)
        })
        .unwrap_or(0.0)
}

/// One request of a scenario: method, path, body.
type RequestFn =
    Arc<dyn Fn(&mut StdRng, u64) -> (reqwest::Method, String, Option<Value>) + Send + Sync>;

struct Outcome {
    name: String,
    requests: u64,
    errors: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Server CPU time per request, in microseconds.
    server_cpu_us: f64,
    /// One past the last request number drawn (numbers start at `first_sequence`).
    sequence_end: u64,
}

/// How long a scenario runs and the number its first request gets.
struct Stint {
    seconds: u64,
    first_sequence: u64,
}

async fn run_scenario(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    options: &Options,
    stint: Stint,
    make: RequestFn,
) -> Outcome {
    let Stint {
        seconds,
        first_sequence,
    } = stint;
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(first_sequence));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for connection in 0..options.connections {
        let client = client.clone();
        let base = base.to_owned();
        let token = token.to_owned();
        let stop = stop.clone();
        let counter = counter.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(connection as u64 * 7919);
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let sequence = counter.fetch_add(1, Ordering::Relaxed);
                let (method, path, body) = make(&mut rng, sequence);
                let mut request = client
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(&token);
                if let Some(body) = body {
                    request = request
                        .header("Content-Type", "application/scim+json")
                        .body(body.to_string());
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed().as_micros() as u32);
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64
                / 1000.0
        }
    };
    Outcome {
        name: name.to_owned(),
        requests: latencies.len() as u64,
        errors,
        rps: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        server_cpu_us: 0.0,
        sequence_end: counter.load(Ordering::Relaxed),
    }
}

async fn json_request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A group with `size` of the sampled users' ids as members, added in chunks.
async fn make_group(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    members: &[String],
) -> String {
    let created = json_request(
        client,
        reqwest::Method::POST,
        &format!("{base}/scim/v2/Groups?excludedAttributes=members"),
        token,
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    for chunk in members.chunks(10_000) {
        let value: Vec<Value> = chunk.iter().map(|m| json!({"value": m})).collect();
        json_request(
            client,
            reqwest::Method::PATCH,
            &format!("{base}/scim/v2/Groups/{id}?excludedAttributes=members"),
            token,
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": value}]})),
        )
        .await;
    }
    id
}

fn main() {
    let options = Options::parse();
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let bench_dir = format!("{target}/bench");
    std::fs::create_dir_all(&bench_dir).unwrap();
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{bench_dir}/roster-{}.db", options.users));
    let marker = format!(
        "{bench_dir}/seeded-{}",
        database_url.replace(['/', ':', '@'], "_")
    );
    if !std::path::Path::new(&marker).exists() {
        eprintln!("seeding {} users into {database_url} …", options.users);
        let started = Instant::now();
        let report = roster(&[
            "seed",
            "--tenant",
            "bench",
            "--users",
            &options.users.to_string(),
            "--database-url",
            &database_url,
        ]);
        eprintln!(
            "seeded in {:.1} s: {report}",
            started.elapsed().as_secs_f64()
        );
        std::fs::write(&marker, report).unwrap();
    }
    let token_json: Value = serde_json::from_str(&roster(&[
        "token",
        "create",
        "--tenant",
        "bench",
        "--database-url",
        &database_url,
    ]))
    .unwrap();
    let token = token_json["scim_token"].as_str().unwrap().to_owned();
    let server = start_server(&database_url);
    let pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(options.connections).build().unwrap();
        let base = server.base.clone();
        // Sample users to address: pages spread over the whole tenant.
        let mut samples: Vec<Value> = Vec::new();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..10 {
            let start = rng.random_range(1..=options.users.saturating_sub(200).max(1));
            let page = json_request(&client, reqwest::Method::GET, &format!("{base}/scim/v2/Users?startIndex={start}&count=200"), &token, None).await;
            samples.extend(page["Resources"].as_array().cloned().unwrap_or_default());
        }
        let samples = Arc::new(samples);
        let ids: Vec<String> = samples.iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
        let big_members: Vec<String> = {
            let mut members = Vec::new();
            let mut cursor = String::new();
            while members.len() < 100_000.min(options.users as usize) {
                let page = json_request(&client, reqwest::Method::GET, &format!("{base}/scim/v2/Users?count=1000&attributes=id&cursor={cursor}"), &token, None).await;
                members.extend(page["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()));
                match page["nextCursor"].as_str() {
                    Some(next) => cursor = next.to_owned(),
                    None => break,
                }
            }
            members
        };
        let run_tag = format!("{}", std::process::id());
        let big_group = make_group(&client, &base, &token, &format!("big-{run_tag}"), &big_members).await;
        let small_group = make_group(&client, &base, &token, &format!("small-{run_tag}"), &big_members[..10]).await;
        let outsiders: Arc<Vec<String>> = Arc::new(ids.clone());
        eprintln!("groups ready: {} and 10 members; server peak so far {:.0} MiB", big_members.len(), peak_rss_mib(pid));

        let get = reqwest::Method::GET;
        // Every request path is built before the clock starts: the load generator shares
        // the machine with the server, and its own work would count against the server.
        let filter = |f: String| format!("/scim/v2/Users?filter={}", urlencode(&f));
        let paths = |path_of: &dyn Fn(&Value) -> String| -> Arc<Vec<String>> { Arc::new(samples.iter().map(path_of).collect()) };
        let any_of = |paths: Arc<Vec<String>>, method: reqwest::Method| -> RequestFn { Arc::new(move |rng, _| (method.clone(), paths[rng.random_range(0..paths.len())].clone(), None)) };
        let user_paths = paths(&|u| format!("/scim/v2/Users/{}", u["id"].as_str().unwrap()));
        let mut scenarios: Vec<(&str, RequestFn)> = Vec::new();
        scenarios.push(("/healthz", any_of(Arc::new(vec!["/healthz".into()]), get.clone())));
        scenarios.push(("GET user by id", any_of(user_paths.clone(), get.clone())));
        scenarios.push(("userName eq", any_of(paths(&|u| filter(format!("userName eq \"{}\"", u["userName"].as_str().unwrap()))), get.clone())));
        scenarios.push(("emails.value eq", any_of(paths(&|u| filter(format!("emails.value eq \"{}\"", u["emails"][0]["value"].as_str().unwrap()))), get.clone())));
        scenarios.push(("externalId eq", any_of(paths(&|u| filter(format!("externalId eq \"{}\"", u["externalId"].as_str().unwrap()))), get.clone())));
        let family = |u: &Value| u["name"]["familyName"].as_str().unwrap().to_lowercase();
        scenarios.push(("co filter, count=10", any_of(paths(&|u| format!("{}&count=10", filter(format!("userName co \"{}\"", family(u))))), get.clone())));
        // A surname and the first digits of a user's number: a handful of users.
        let few = |u: &Value| {
            let number: String = u["userName"].as_str().unwrap().split('.').nth(2).unwrap().chars().take_while(char::is_ascii_digit).take(4).collect();
            format!("{}.{number}", family(u))
        };
        scenarios.push(("co filter, a handful of matches", any_of(paths(&|u| format!("{}&count=10", filter(format!("userName co \"{}\"", few(u))))), get.clone())));
        scenarios.push(("search box: or of three co, count=10", any_of(paths(&|u| {
            let x = family(u);
            format!("{}&count=10", filter(format!("userName co \"{x}\" or emails.value co \"{x}\" or name.formatted co \"{x}\"")))
        }), get.clone())));
        { let get = get.clone(); scenarios.push(("list page 1, count=100", Arc::new(move |_, _| (get.clone(), "/scim/v2/Users?count=100".into(), None)))); }
        { let tag = run_tag.clone(); scenarios.push(("POST user", Arc::new(move |_, n| (reqwest::Method::POST, "/scim/v2/Users".into(), Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("bench-{tag}-{n}@load.test"),
            "name": {"givenName": "Load", "familyName": "Test"}, "emails": [{"value": format!("bench-{tag}-{n}@load.test"), "type": "work", "primary": true}]
        })))))); }
        { let p = user_paths.clone(); scenarios.push(("PATCH replace one attribute", Arc::new(move |rng, n| (reqwest::Method::PATCH, p[rng.random_range(0..p.len())].clone(), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": format!("T{n}")}]
        })))))); }
        for (label, group) in [("PATCH add member, 10-member group", small_group.clone()), ("PATCH add member, 100k-member group", big_group.clone())] {
            let o = outsiders.clone();
            scenarios.push((label, Arc::new(move |rng, _| {
                let member = &o[rng.random_range(0..o.len())];
                let op = if rng.random_bool(0.5) { "add" } else { "remove" };
                let body = if op == "add" {
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]})
                } else {
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]})
                };
                (reqwest::Method::PATCH, format!("/scim/v2/Groups/{group}?excludedAttributes=members"), Some(body))
            })));
        }

        let mut outcomes = Vec::new();
        for (name, make) in scenarios {
            if !options.wants(name) {
                continue;
            }
            // Untimed first: the pages this scenario reads come into the caches, so that
            // it measures its steady state rather than the order it runs in. Request
            // numbers go on from the warm-up's, so POST's user names stay new.
            let mut first_sequence = 0;
            if options.warmup > 0 {
                first_sequence = run_scenario(&client, &base, &token, name, &options, Stint { seconds: options.warmup, first_sequence: 0 }, make.clone()).await.sequence_end;
            }
            let cpu_before = cpu_micros(pid);
            let mut outcome = run_scenario(&client, &base, &token, name, &options, Stint { seconds: options.seconds, first_sequence }, make).await;
            outcome.server_cpu_us = (cpu_micros(pid) - cpu_before) / outcome.requests.max(1) as f64;
            eprintln!("{:<38} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  server {:>7.1} µs CPU/req  ({} errors)", outcome.name, outcome.rps, outcome.p50_ms, outcome.p99_ms, outcome.server_cpu_us, outcome.errors);
            outcomes.push(outcome);
        }

        let wanted = |name: &str| options.wants(name);
        // The import comparison: users through /Bulk against single POSTs, both from
        // the same server in the same run, then deleted again through /Bulk.
        let mut imports = Vec::new();
        if wanted("import") && options.import_users > 0 {
            let user = |n: usize| {
                let name = format!("import-{run_tag}-{n}@load.test");
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "externalId": format!("hr-{run_tag}-{n}"),
                    "name": {"givenName": "Import", "familyName": format!("User {n}")}, "emails": [{"value": name, "type": "work", "primary": true}]})
            };
            let singles = options.import_single_users;
            let (single_seconds, single_ids) = import(&client, &base, &token, (0..singles).map(user).collect(), 1, options.connections).await;
            let (bulk_seconds, bulk_ids) = import(&client, &base, &token, (singles..singles + options.import_users).map(user).collect(), options.import_batch, options.import_connections).await;
            let single_rate = single_ids.len() as f64 / single_seconds;
            let bulk_rate = bulk_ids.len() as f64 / bulk_seconds;
            eprintln!("import: {} users by single POSTs in {single_seconds:.1} s ({single_rate:.0}/s); {} users through /Bulk in {bulk_seconds:.1} s ({bulk_rate:.0}/s): {:.1}×", single_ids.len(), bulk_ids.len(), bulk_rate / single_rate);
            imports.push((format!("import by single POSTs, {} connections", options.connections), single_ids.len(), single_seconds));
            imports.push((format!("import through /Bulk, {} operations a request, {} connections", options.import_batch, options.import_connections), bulk_ids.len(), bulk_seconds));
            let mut all = single_ids;
            all.extend(bulk_ids);
            for chunk in all.chunks(options.import_batch.max(1)) {
                let operations: Vec<Value> = chunk.iter().map(|id| json!({"method": "DELETE", "path": format!("/Users/{id}")})).collect();
                json_request(&client, reqwest::Method::POST, &format!("{base}/scim/v2/Bulk"), &token, Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}))).await;
            }
        }
        // A full GET of the 100,000-member group, members streamed.
        let rss_before_group = peak_rss_mib(pid);
        let group_started = Instant::now();
        let full_group = if wanted("full GET of the 100k-member group") {
            json_request(&client, reqwest::Method::GET, &format!("{base}/scim/v2/Groups/{big_group}"), &token, None).await
        } else {
            Value::Null
        };
        let group_seconds = group_started.elapsed().as_secs_f64();
        let group_members = full_group["members"].as_array().map_or(0, Vec::len);
        let rss_after_group = peak_rss_mib(pid);
        drop(full_group);

        // The cursor walk: one client, every user once, pages of 1000.
        let walk_started = Instant::now();
        let rss_before = peak_rss_mib(pid);
        let mut walked = 0u64;
        let mut pages = 0u64;
        let mut cursor = String::new();
        while wanted("cursor walk") {
            let page = json_request(&client, reqwest::Method::GET, &format!("{base}/scim/v2/Users?count=1000&cursor={cursor}"), &token, None).await;
            walked += page["Resources"].as_array().map_or(0, |r| r.len() as u64);
            pages += 1;
            match page["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let walk_seconds = walk_started.elapsed().as_secs_f64();
        // Leave the store as seeded, so that runs stay comparable: the users the POST
        // scenario created (numbered from 0 by its request counter, warm-up included)
        // go again.
        let posted = outcomes.iter().find(|o| o.name == "POST user").map_or(0, |o| o.sequence_end);
        let mut deleters = Vec::new();
        for lane in 0..options.connections as u64 {
            let (client, base, token, tag) = (client.clone(), base.clone(), token.clone(), run_tag.clone());
            deleters.push(tokio::spawn(async move {
                for n in (lane..posted + options.connections as u64).step_by(options.connections) {
                    let filter = urlencode(&format!("userName eq \"bench-{tag}-{n}@load.test\""));
                    let page = json_request(&client, reqwest::Method::GET, &format!("{base}/scim/v2/Users?filter={filter}&attributes=id"), &token, None).await;
                    if let Some(id) = page["Resources"][0]["id"].as_str() {
                        let deleted = client.delete(format!("{base}/scim/v2/Users/{id}")).bearer_auth(&token).send().await.expect("delete user");
                        assert!(deleted.status().is_success(), "deleting user {id}: {}", deleted.status());
                    }
                }
            }));
        }
        for deleter in deleters {
            deleter.await.unwrap();
        }
        for group in [&big_group, &small_group] {
            let deleted = client.delete(format!("{base}/scim/v2/Groups/{group}")).bearer_auth(&token).send().await.expect("delete group");
            assert!(deleted.status().is_success(), "deleting group {group}: {}", deleted.status());
        }
        let peak = peak_rss_mib(pid);
        println!();
        println!("| scenario | requests/s | p50 ms | p99 ms | server CPU µs/request | errors |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        for o in &outcomes {
            println!("| {} | {:.0} | {:.2} | {:.2} | {:.0} | {} |", o.name, o.rps, o.p50_ms, o.p99_ms, o.server_cpu_us, o.errors);
        }
        for (name, users, seconds) in &imports {
            println!("| {name} | {users} users in {seconds:.1} s: {:.0} users/s | | | | |", *users as f64 / seconds);
        }
        if wanted("full GET of the 100k-member group") {
            println!("| full GET of the 100k-member group | {group_members} members in {group_seconds:.2} s (server peak RSS {rss_before_group:.0} → {rss_after_group:.0} MiB) | | | | |");
        }
        if wanted("cursor walk") {
            println!("| cursor walk, count=1000 | {walked} users in {walk_seconds:.1} s ({pages} pages) | | | | |");
        }
        println!();
        println!("users seeded: {}; server peak RSS: {peak:.0} MiB (before the cursor walk {rss_before:.0} MiB); connections: {}; {} s per scenario after {} s of warm-up", options.users, options.connections, options.seconds, options.warmup);
        let _ = requests_total(&outcomes);
    });
}

/// Creates `users` from `connections` connections, `batch` a request (1: single
/// POSTs, else `/Bulk` requests); returns the seconds it took and the new ids.
async fn import(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    users: Vec<Value>,
    batch: usize,
    connections: usize,
) -> (f64, Vec<String>) {
    let single = batch <= 1;
    let batches: Vec<Vec<Value>> = users.chunks(batch.max(1)).map(<[Value]>::to_vec).collect();
    let queue = Arc::new(std::sync::Mutex::new(batches));
    let started = Instant::now();
    let mut lanes = Vec::new();
    for _ in 0..connections.max(1) {
        let (client, base, token, queue) = (
            client.clone(),
            base.to_owned(),
            token.to_owned(),
            queue.clone(),
        );
        lanes.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let Some(batch) = queue.lock().unwrap().pop() else { return ids };
                if single {
                    let created = json_request(&client, reqwest::Method::POST, &format!("{base}/scim/v2/Users"), &token, batch.into_iter().next()).await;
                    ids.push(created["id"].as_str().unwrap().to_owned());
                    continue;
                }
                let operations: Vec<Value> = batch.into_iter().enumerate().map(|(n, data)| json!({"method": "POST", "path": "/Users", "bulkId": n.to_string(), "data": data})).collect();
                let answer = json_request(&client, reqwest::Method::POST, &format!("{base}/scim/v2/Bulk"), &token, Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations}))).await;
                for operation in answer["Operations"].as_array().unwrap() {
                    assert_eq!(operation["status"], "201", "{operation}");
                    ids.push(operation["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned());
                }
            }
        }));
    }
    let mut ids = Vec::new();
    for lane in lanes {
        ids.extend(lane.await.unwrap());
    }
    (started.elapsed().as_secs_f64(), ids)
}

fn requests_total(outcomes: &[Outcome]) -> u64 {
    outcomes.iter().map(|o| o.requests).sum()
}

fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
