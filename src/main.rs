// Every command reports its failure as a message and an exit code, never a panic.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use roster::config::{
    AuditCommand, BackupConfig, Cli, Command, ImportConfig, ImportFormat, LogFormat, MatchKey,
    SeedConfig, ServeConfig, StoreConfig, TenantCommand, TokenCommand,
};
use roster::domain::{DomainError, tenants, tokens};
use roster::http::throttle::AuthFailureQuotas;
use roster::http::{AppState, HttpSettings, serve_with};
use roster::scim::bulk::BulkLimits;
use roster::scim::list::PageLimits;
use roster::store::{Backend, PoolSizes, Store, StoreTimeouts};

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(config) => run_serve(config),
        Command::Migrate(store) => open_store(&store, 0).map(|_| {
            eprintln!("migrations are up to date");
        }),
        Command::Tenant(TenantCommand::Create { name, store }) => {
            open_store(&store, 0).and_then(|store| {
                let credentials = store
                    .write_blocking(|conn| tenants::create_tenant(conn, &name))
                    .map_err(describe)?;
                println!("{}", json!(credentials));
                Ok(())
            })
        }
        Command::Seed(config) => run_seed(config),
        Command::Backup(config) => run_backup(config),
        Command::Import(config) => run_import(config),
        Command::Token(command) => run_token(command),
        Command::Audit(AuditCommand::Purge { older_than, store }) => open_store(&store, 0)
            .and_then(|store| {
                let report =
                    roster::domain::audit::purge_events(&store, older_than).map_err(describe)?;
                println!("{}", json!(report));
                Ok(())
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("roster: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    // Logs go to stderr: stdout carries the JSON that CLI commands print.
    let filter = EnvFilter::try_from_env("ROSTER_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Opens the store for a command; `lookups` is how many HTTP workers run index
/// look-ups on it (0 outside `serve`).
fn open_store(config: &StoreConfig, lookups: usize) -> Result<Store, String> {
    open_store_with_timeouts(config, lookups, StoreTimeouts::default())
}

fn open_store_with_timeouts(
    config: &StoreConfig,
    lookups: usize,
    timeouts: StoreTimeouts,
) -> Result<Store, String> {
    let sizes = PoolSizes {
        readers: config.db_pool_size,
        // Each keeps a 16 MiB page cache; past 64 workers, the rest read off the pool.
        lookups: u32::try_from(lookups.min(64)).unwrap_or(64),
    };
    Store::connect_with_timeouts(&config.database_url, sizes, timeouts).map_err(|e| e.to_string())
}

fn describe(err: DomainError) -> String {
    err.to_string()
}

fn run_serve(config: ServeConfig) -> Result<(), String> {
    let workers = config.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let timeouts = StoreTimeouts {
        checkout: Duration::from_millis(config.db_checkout_timeout_ms),
        statement: (config.statement_timeout_ms > 0)
            .then(|| Duration::from_millis(config.statement_timeout_ms)),
    };
    let store = open_store_with_timeouts(&config.store, workers, timeouts)?;
    if let Some(credentials) = store
        .write_blocking(tenants::ensure_default_tenant)
        .map_err(describe)?
    {
        println!(
            "Created tenant 'default'. These credentials are shown only once:\n\
             \n  tenant_id:     {}\n  client_id:     {}\n  client_secret: {}\n  scim_token:    {}\n\
             \nTry: curl -H 'Authorization: Bearer {}' http://{}/scim/v2/Users\n",
            credentials.tenant_id,
            credentials.client_id,
            credentials.client_secret,
            credentials.scim_token,
            credentials.scim_token,
            config.listen,
        );
    }
    if config.public_url.is_none() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "listening beyond loopback without --public-url: links in responses follow each \
             request's Host header; set --public-url (ROSTER_PUBLIC_URL) in production"
        );
    }
    let listener = TcpListener::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let metrics_listener = config
        .metrics_listen
        .map(|address| {
            TcpListener::bind(address)
                .map_err(|e| format!("cannot listen for /metrics on {address}: {e}"))
        })
        .transpose()?;
    let portal_url = format!(
        "{}{}",
        config.public_url.as_deref().map_or_else(
            || format!("http://{}", config.listen),
            |url| url.trim_end_matches('/').to_owned()
        ),
        roster::http::portal::PORTAL_PATH
    );
    let state = AppState::new(
        store,
        HttpSettings {
            max_body_bytes: config.max_body_bytes,
            page_limits: PageLimits {
                default_count: config.default_page_size,
                max_count: config.max_page_size,
            },
            max_patch_operations: config.max_patch_operations,
            bulk_limits: BulkLimits {
                max_operations: config.bulk_max_operations,
                max_payload_bytes: config.bulk_max_payload_bytes,
            },
            public_url: config.public_url,
            trusted_proxies: config.trusted_proxies,
            auth_failure_quotas: AuthFailureQuotas {
                per_client_id: NonZeroU32::new(config.auth_failures_per_client)
                    .unwrap_or(NonZeroU32::MIN),
                per_address: NonZeroU32::new(config.auth_failures_per_address)
                    .unwrap_or(NonZeroU32::MIN),
            },
            portal_sessions: roster::http::portal::SessionPolicy {
                idle_timeout: config.portal_idle_timeout,
                lifetime: config.portal_session_lifetime,
            },
        },
    );
    tracing::info!(listen = %config.listen, metrics_listen = ?config.metrics_listen, "roster is serving");
    println!("Admin Portal: {portal_url}");
    let runtime = actix_web::rt::System::new();
    runtime
        .block_on(async move { serve_with(listener, metrics_listener, state, workers)?.await })
        .map_err(|e| format!("the server stopped: {e}"))
}

fn run_token(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            tenant,
            app,
            expires_in,
            store,
        } => {
            let expiry = expires_in
                .map(|lifetime| i64::try_from(lifetime.as_secs()).map(tokens::Expiry::In))
                .transpose()
                .map_err(|_| "the lifetime is too long".to_owned())?;
            let issued = open_store(&store, 0)?
                .write_blocking(|conn| {
                    tokens::create_scim_token(conn, &tenant, app.as_deref(), expiry)
                })
                .map_err(describe)?;
            println!("{}", json!(issued));
        }
        TokenCommand::List { tenant, store } => {
            let listed = open_store(&store, 0)?
                .read_blocking(|conn| tokens::list_tenant_tokens(conn, &tenant))
                .map_err(describe)?;
            println!("{}", json!({ "tokens": listed }));
        }
        TokenCommand::Revoke { id, tenant, store } => {
            open_store(&store, 0)?
                .write_blocking(|conn| tokens::revoke_tenant_token(conn, &tenant, &id))
                .map_err(describe)?;
            println!("{}", json!({ "revoked": id }));
            eprintln!(
                "running instances refuse the token within {} seconds",
                roster::auth::TOKEN_CACHE_TTL.as_secs()
            );
        }
    }
    Ok(())
}

fn run_backup(config: BackupConfig) -> Result<(), String> {
    let url = &config.store.database_url;
    if Backend::of_url(url) == Backend::Postgres {
        return Err(
            "roster backup copies SQLite stores; back up PostgreSQL with pg_dump \
             (pg_dump --format=custom --file=roster.dump DATABASE_URL) and restore with pg_restore"
                .into(),
        );
    }
    let report =
        roster::store::backup::backup_sqlite(url, &config.to).map_err(|e| e.to_string())?;
    println!("{}", json!(report));
    Ok(())
}

fn run_seed(config: SeedConfig) -> Result<(), String> {
    let store = open_store(&config.store, 0)?;
    let plan = roster::domain::seed::SeedPlan {
        tenant: config.tenant,
        users: config.users,
        groups: config.groups,
        max_group_size: config.max_group_size,
        seed: config.seed,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(roster::domain::seed::seed(&store, plan))
        .map_err(describe)?;
    println!("{}", json!(report));
    Ok(())
}

fn run_import(config: ImportConfig) -> Result<(), String> {
    use std::io::{IsTerminal, Write};

    use roster::domain::users::UserKey;
    use roster::import::{self, ImportOptions, Mapping, Record};

    let store = open_store(&config.store, 0)?;
    let scope = store
        .read_blocking(|conn| tenants::command_line_scope(conn, &config.tenant))
        .map_err(describe)?;
    let file = &config.file;
    let open =
        || std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()));
    let csv = config.format.map_or_else(
        || {
            file.extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"))
        },
        |format| format == ImportFormat::Csv,
    );
    let records: Box<dyn Iterator<Item = Record>> = if csv {
        let path = config
            .mapping
            .as_ref()
            .ok_or("a CSV import needs --mapping FILE (see README: roster import)")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mapping = Mapping::parse(&text)?;
        Box::new(import::csv_records(open()?, mapping)?)
    } else {
        Box::new(import::ndjson_records(open()?))
    };
    let total = import::count_lines(file).saturating_sub(u64::from(csv));
    let report_path = config.report.clone().unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".refused.ndjson");
        name.into()
    });
    let mut report: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut shown_refusals = 0;
    let dry_run = config.dry_run;
    let refused = |refusal: import::Refusal| -> Result<(), String> {
        if dry_run {
            if shown_refusals < 10 {
                eprintln!("refused: line {}: {}", refusal.line, refusal.reason);
                shown_refusals += 1;
            }
            return Ok(());
        }
        if report.is_none() {
            let file = std::fs::File::create(&report_path)
                .map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
            report = Some(std::io::BufWriter::new(file));
        }
        if let Some(writer) = report.as_mut() {
            writeln!(writer, "{}", json!(refusal))
                .map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
        }
        Ok(())
    };
    let started = std::time::Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} records  {per_sec}  ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut last_line = std::time::Instant::now();
    let progress = |done: u64| match &bar {
        Some(bar) => bar.set_position(done),
        None => {
            if last_line.elapsed() >= Duration::from_secs(2) || done >= total {
                last_line = std::time::Instant::now();
                let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                eprintln!("import: {done} of {total} records, {rate:.0}/s");
            }
        }
    };
    let options = ImportOptions {
        key: match config.match_key {
            MatchKey::ExternalId => UserKey::ExternalId,
            MatchKey::UserName => UserKey::UserName,
        },
        dry_run,
        batch: usize::try_from(config.batch).unwrap_or(1000),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let summary = runtime.block_on(import::import(
        &store, &scope, records, options, refused, progress,
    ))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(mut writer) = report.take() {
        writer
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
    }
    let verb = if dry_run { "would be" } else { "were" };
    eprintln!(
        "{} users {verb} created, {} updated, {} unchanged; {} records refused{} ({:.1} s)",
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.refused,
        if summary.refused > 0 && !dry_run {
            format!(", listed in {}", report_path.display())
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    for sample in &summary.samples {
        eprintln!("  {sample}");
    }
    let report_named = (summary.refused > 0 && !dry_run).then(|| report_path.display().to_string());
    println!(
        "{}",
        json!({
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "refused": summary.refused,
            "dry_run": dry_run,
            "report": report_named,
            "samples": summary.samples,
        })
    );
    Ok(())
}

/// Caps glibc's malloc arenas at two: by default every thread that allocates may
/// get an arena of its own (up to eight per core), and the blocking threads of the
/// database calls each keep theirs, which multiplies the server's resident memory.
/// (mimalloc was tried: about 10% more point reads per second, but 70 MiB more at
/// peak during concurrent scans.)
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
