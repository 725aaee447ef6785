//! Configuration: command-line flags, each also read from a `ROSTER_*` variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Roster: multi-tenant user management over SCIM 2.0.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log output format.
    #[arg(long, env = "ROSTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (runs migrations first).
    Serve(ServeConfig),
    /// Run the database migrations and exit.
    Migrate(StoreConfig),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Fill a tenant (created if missing) with synthetic users and groups.
    Seed(SeedConfig),
    /// Copy a SQLite store, while the service runs, into a new file (PostgreSQL:
    /// use pg_dump).
    Backup(BackupConfig),
    /// Manage the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create or update a tenant's users from a file: newline-delimited SCIM User
    /// JSON, or CSV with a mapping. Prints {"created", "updated", "unchanged",
    /// "refused", …}.
    Import(ImportConfig),
}

/// Settings of `roster import`.
#[derive(Debug, Clone, Args)]
pub struct ImportConfig {
    /// The file: one SCIM User JSON object a line, or CSV with a header row.
    pub file: std::path::PathBuf,
    /// The tenant's name.
    #[arg(long)]
    pub tenant: String,
    /// The file's format (default: csv for a .csv file, else ndjson).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// CSV: the TOML file saying which column fills which SCIM attribute.
    #[arg(long)]
    pub mapping: Option<std::path::PathBuf>,
    /// What matches a record with an existing user.
    #[arg(long = "match", value_enum, default_value_t = MatchKey::ExternalId)]
    pub match_key: MatchKey,
    /// Print what would be created, updated, unchanged and refused; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the refused records go, with their reasons, one JSON object a line
    /// (default: FILE.refused.ndjson).
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
    /// Records looked up and written together.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
    #[command(flatten)]
    pub store: StoreConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Ndjson,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchKey {
    ExternalId,
    UserName,
}

/// Settings of `roster backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupConfig {
    /// The new file to write; an existing file is never overwritten.
    #[arg(long)]
    pub to: std::path::PathBuf,
    #[command(flatten)]
    pub store: StoreConfig,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Delete every tenant's audit events older than an age, in short transactions,
    /// and record the purge in each tenant's log; prints {"before", "deleted"}.
    Purge {
        /// The age past which events go: a number and a unit, `d` (days), `h`
        /// (hours) or `m` (minutes), e.g. `90d`.
        #[arg(long, value_parser = parse_age)]
        older_than: chrono::Duration,
        #[command(flatten)]
        store: StoreConfig,
    },
}

/// An age such as `90d`, `12h` or `30m`: a positive whole number and a unit.
pub fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    let invalid = || format!("'{text}' is not an age such as 90d, 12h or 30m");
    let split = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at_checked(split).ok_or_else(invalid)?;
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
    let age = match unit {
        "d" => chrono::Duration::try_days(number),
        "h" => chrono::Duration::try_hours(number),
        "m" => chrono::Duration::try_minutes(number),
        _ => None,
    };
    age.ok_or_else(invalid)
}

/// Settings of `roster seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedConfig {
    /// The tenant's name.
    #[arg(long)]
    pub tenant: String,
    /// How many users to create.
    #[arg(long)]
    pub users: u64,
    /// How many groups to create.
    #[arg(long, default_value_t = 0)]
    pub groups: u64,
    /// Largest group size (members drawn from the seeded users).
    #[arg(long, default_value_t = 100)]
    pub max_group_size: u64,
    /// Random seed, for repeatable data.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    #[command(flatten)]
    pub store: StoreConfig,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its Management Application; prints
    /// {"tenant_id", "client_id", "client_secret", "scim_token"} as JSON.
    Create {
        /// The tenant's unique name.
        name: String,
        #[command(flatten)]
        store: StoreConfig,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a long-lived SCIM bearer token; prints {"scim_token", "id", "expires"}
    /// as JSON.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// The application the token acts as (default: the Management Application).
        #[arg(long)]
        app: Option<String>,
        /// Lifetime of the token, e.g. `90d`, `12h`, `1y` (default: no expiry).
        #[arg(long, value_parser = parse_lifetime)]
        expires_in: Option<std::time::Duration>,
        #[command(flatten)]
        store: StoreConfig,
    },
    /// List the tenant's long-lived tokens as JSON (never their secrets).
    List {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Revoke one of the tenant's long-lived tokens; running instances stop
    /// accepting it within their token cache's lifetime (30 seconds).
    Revoke {
        /// The token's id, as `roster token list` shows it.
        id: String,
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreConfig,
    },
}

/// A `--expires-in` duration: humantime's syntax (`30d`, `12h 30m`, `1y`).
fn parse_lifetime(text: &str) -> Result<std::time::Duration, String> {
    let lifetime = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration such as 30d, 12h or 1y: {e}"))?;
    if lifetime.as_secs() == 0 {
        return Err("a token's lifetime must be at least one second".into());
    }
    Ok(lifetime)
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` (embedded, the default) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "ROSTER_DATABASE_URL",
        default_value = "sqlite://roster.db"
    )]
    pub database_url: String,
    /// Database connections kept open.
    #[arg(long, env = "ROSTER_DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,
}

/// Settings of `roster serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreConfig,
    /// Serve /metrics (Prometheus text format) on this address, and then not on
    /// `--listen`; unset, /metrics is served on `--listen`.
    #[arg(long, env = "ROSTER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// PostgreSQL: longest run of one SQL statement of a request, in milliseconds
    /// (0: no limit); past it the request gets 503. Streamed responses read in many
    /// statements, each bounded alone. CLI commands and migrations run without it.
    #[arg(long, env = "ROSTER_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub statement_timeout_ms: u64,
    /// Longest wait of a request for a free database connection, in milliseconds;
    /// past it the request gets 503.
    #[arg(long, env = "ROSTER_DB_CHECKOUT_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_checkout_timeout_ms: u64,
    /// Largest accepted request body in bytes (default 4 MiB).
    #[arg(long, env = "ROSTER_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most operations accepted in one PATCH request; more is `400 invalidValue`.
    #[arg(long, env = "ROSTER_MAX_PATCH_OPERATIONS", default_value_t = crate::scim::patch::DEFAULT_MAX_PATCH_OPERATIONS)]
    pub max_patch_operations: usize,
    /// Most operations in one `/Bulk` request; more is `413`.
    #[arg(long, env = "ROSTER_BULK_MAX_OPERATIONS", default_value_t = crate::scim::bulk::DEFAULT_MAX_BULK_OPERATIONS, value_parser = clap::value_parser!(usize))]
    pub bulk_max_operations: usize,
    /// Largest `/Bulk` request body in bytes (default 4 MiB); larger is `413`.
    #[arg(long, env = "ROSTER_BULK_MAX_PAYLOAD_BYTES", default_value_t = crate::scim::bulk::DEFAULT_MAX_BULK_PAYLOAD_BYTES)]
    pub bulk_max_payload_bytes: usize,
    /// Page size of list responses when the client sends no `count`.
    #[arg(long, env = "ROSTER_DEFAULT_PAGE_SIZE", default_value_t = 100)]
    pub default_page_size: i64,
    /// Largest page size a client may ask for.
    #[arg(long, env = "ROSTER_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: i64,
    /// Public base URL (e.g. https://roster.example.com) for `meta.location` and
    /// `Location`; wins over any header. Unset, links follow each request's Host
    /// header (or a trusted proxy's forwarded host): set it in production.
    #[arg(long, env = "ROSTER_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Comma-separated IP addresses or CIDR ranges of reverse proxies whose
    /// `Forwarded` / `X-Forwarded-*` headers are believed (default: none).
    #[arg(
        long,
        env = "ROSTER_TRUSTED_PROXIES",
        default_value = "",
        hide_default_value = true,
        value_parser = crate::http::proxy::parse_trusted_proxies
    )]
    pub trusted_proxies: crate::http::proxy::TrustedProxies,
    /// Failed client authentications per minute at /oauth2/token before a client id
    /// is refused (429) for a while.
    #[arg(long, env = "ROSTER_AUTH_FAILURES_PER_CLIENT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failures_per_client: u32,
    /// Failed client authentications per minute at /oauth2/token before an address
    /// is refused (429) for a while.
    #[arg(long, env = "ROSTER_AUTH_FAILURES_PER_ADDRESS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failures_per_address: u32,
    /// An Admin Portal session unused this long ends (humantime: `30m`, `2h`).
    #[arg(long, env = "ROSTER_PORTAL_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_session_duration)]
    pub portal_idle_timeout: chrono::Duration,
    /// An Admin Portal session ends this long after sign-in, however busy.
    #[arg(long, env = "ROSTER_PORTAL_SESSION_LIFETIME", default_value = "12h", value_parser = parse_session_duration)]
    pub portal_session_lifetime: chrono::Duration,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "ROSTER_WORKERS")]
    pub workers: Option<usize>,
}

/// A `--public-url`: an absolute http(s) URL, kept without its trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("'{text}' must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if !crate::http::proxy::is_valid_host(host) {
        return Err(format!("'{text}' does not name a valid host"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// A portal session duration: humantime's syntax, from one minute to 30 days.
fn parse_session_duration(text: &str) -> Result<chrono::Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration < std::time::Duration::from_secs(60)
        || duration > std::time::Duration::from_secs(30 * 24 * 3600)
    {
        return Err("a session duration must be between 1m and 30d".into());
    }
    chrono::Duration::from_std(duration).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_a_positive_number_and_a_unit() {
        assert_eq!(parse_age("90d"), Ok(chrono::Duration::days(90)));
        assert_eq!(parse_age("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_age("30m"), Ok(chrono::Duration::minutes(30)));
        for bad in ["", "d", "0d", "-1d", "90", "90y", "1.5d", "99999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_url_is_an_absolute_http_url() {
        assert_eq!(
            parse_public_url("https://roster.example.com/").as_deref(),
            Ok("https://roster.example.com")
        );
        assert_eq!(
            parse_public_url("http://10.0.0.1:8080/idm").as_deref(),
            Ok("http://10.0.0.1:8080/idm")
        );
        for bad in ["roster.example.com", "ftp://x", "https://", "https://a b/"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_lifetimes_are_human_durations() {
        assert_eq!(
            parse_lifetime("30d"),
            Ok(std::time::Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            parse_lifetime("1h 30m"),
            Ok(std::time::Duration::from_secs(5_400))
        );
        for bad in ["", "30", "soon", "0s", "-1d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serve_reads_its_hostile_caller_settings() {
        let cli = Cli::try_parse_from([
            "roster",
            "serve",
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.7",
            "--auth-failures-per-client",
            "3",
        ])
        .unwrap();
        let Command::Serve(config) = cli.command else {
            panic!("not serve");
        };
        assert!(
            config
                .trusted_proxies
                .contains("192.0.2.7".parse().unwrap())
        );
        assert!(
            !config
                .trusted_proxies
                .contains("192.0.2.8".parse().unwrap())
        );
        assert_eq!(config.auth_failures_per_client, 3);
        assert_eq!(config.statement_timeout_ms, 10_000);
        assert_eq!(config.db_checkout_timeout_ms, 5_000);
        assert!(Cli::try_parse_from(["roster", "serve", "--db-checkout-timeout-ms", "0"]).is_err());
        assert!(
            Cli::try_parse_from(["roster", "serve", "--auth-failures-per-address", "0"]).is_err()
        );
        assert!(
            Cli::try_parse_from(["roster", "serve", "--trusted-proxies", "proxy.local"]).is_err()
        );
    }
}
