//! `/metrics` in Prometheus text format: requests by route template, method and
//! status with their latency, the database pools, the SQLite writer, database
//! errors and the token cache. Labels hold route templates and fixed words only,
//! never a path, id, tenant or user.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use metrics::{Counter, Histogram, SharedString};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;

/// Latency buckets, seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Writes per SQLite commit: 1 to the writer's most, 64.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's metrics recorder, installed on first use; its handle renders the
/// text. One per process: every server of a process reports into it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = match builder().and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!(%error, "cannot install the metrics recorder; /metrics stays empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            describe();
            let upkeep = handle.clone();
            let started = std::thread::Builder::new()
                .name("roster-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = started {
                tracing::warn!(%error, "cannot start the metrics upkeep thread");
            }
            handle
        })
        .clone()
}

fn builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("roster_sqlite_writer_batch_size".into()),
            BATCH_BUCKETS,
        )
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "roster_http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "roster_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer a request (to its first byte for streamed lists)"
    );
    describe_gauge!(
        "roster_db_pool_connections",
        "Database connections open in a pool"
    );
    describe_gauge!(
        "roster_db_pool_connections_in_use",
        "Database connections of a pool checked out"
    );
    describe_gauge!(
        "roster_db_pool_max_connections",
        "Most connections a pool opens"
    );
    describe_histogram!(
        "roster_db_pool_wait_seconds",
        metrics::Unit::Seconds,
        "Wait for a pooled connection"
    );
    describe_counter!(
        "roster_db_pool_timeouts_total",
        "Waits for a pooled connection that gave up"
    );
    describe_gauge!(
        "roster_sqlite_writer_queue_depth",
        "Writes queued for the SQLite writer"
    );
    describe_histogram!(
        "roster_sqlite_writer_batch_size",
        "Writes committed by one SQLite transaction"
    );
    describe_counter!(
        "roster_db_errors_total",
        "Database failures by kind (unavailable, lost, statement_timeout, database, commit, connection, corrupt)"
    );
    // Every kind shows from the start, at 0, so that alerts on its rate see it.
    for kind in crate::store::DATABASE_ERROR_KINDS {
        metrics::counter!("roster_db_errors_total", "kind" => kind).increment(0);
    }
    describe_counter!(
        "roster_token_cache_hits_total",
        "Bearer tokens found in the token cache"
    );
    describe_counter!(
        "roster_token_cache_misses_total",
        "Bearer tokens looked up in the store"
    );
}

/// A method as a label: the standard ones by name, any other as `OTHER`, so that a
/// client cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The template of the route a resource serves (`/scim/v2/Users/{id}`), attached
/// to the resource when it is registered, so that the middleware reads it without
/// matching the path again.
#[derive(Debug, Clone)]
pub struct RouteTemplate(pub Arc<str>);

/// A worker's series of one route, method and status.
type SeriesKey = (Option<Arc<str>>, &'static str, u16);

thread_local! {
    /// The series this worker has recorded into, so that a request costs no label
    /// allocation and no look-up in the recorder's registry. Bounded by the routes,
    /// methods and statuses there are.
    static SERIES: RefCell<HashMap<SeriesKey, (Counter, Histogram)>> = RefCell::new(HashMap::new());
}

fn series(key: SeriesKey) -> (Counter, Histogram) {
    SERIES.with(|series| {
        series
            .borrow_mut()
            .entry(key)
            .or_insert_with_key(|(route, method, status)| {
                let route: SharedString = match route {
                    Some(template) => template.clone().into(),
                    None => "unmatched".into(),
                };
                (
                    metrics::counter!(
                        "roster_http_requests_total",
                        "route" => route.clone(),
                        "method" => *method,
                        "status" => status.to_string(),
                    ),
                    metrics::histogram!(
                        "roster_http_request_duration_seconds",
                        "route" => route,
                        "method" => *method,
                    ),
                )
            })
            .clone()
    })
}

/// The middleware: counts each request and times it by the route template it
/// matched (`unmatched` for none).
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let answered = next.call(req).await;
    let (route, status) = match &answered {
        Ok(response) => (
            response
                .request()
                .app_data::<RouteTemplate>()
                .map(|template| template.0.clone()),
            response.status().as_u16(),
        ),
        Err(error) => (None, error.as_response_error().status_code().as_u16()),
    };
    let (requests, latency) = series((route, method, status));
    latency.record(started.elapsed().as_secs_f64());
    requests.increment(1);
    answered
}

/// `GET /metrics`: samples the pools and the writer queue, then renders every
/// series.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Service",
    responses((
        status = 200,
        description = "Metrics in Prometheus text format; served on its own address instead when `--metrics-listen` is set",
        body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8",
    )),
)]
pub async fn render(state: web::Data<AppState>) -> HttpResponse {
    for pool in state.store.pool_states() {
        metrics::gauge!("roster_db_pool_connections", "pool" => pool.pool)
            .set(f64::from(pool.connections));
        metrics::gauge!("roster_db_pool_connections_in_use", "pool" => pool.pool)
            .set(f64::from(pool.in_use));
        metrics::gauge!("roster_db_pool_max_connections", "pool" => pool.pool)
            .set(f64::from(pool.max_size));
    }
    if let Some(depth) = state.store.writer_queue_depth() {
        metrics::gauge!("roster_sqlite_writer_queue_depth").set(depth as f64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use actix_web::http::Method;

    #[test]
    fn only_standard_methods_name_their_series() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "OTHER");
    }
}
