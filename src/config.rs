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
    /// Create a long-lived SCIM bearer token; prints {"scim_token"} as JSON.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// The application the token acts as (default: the Management Application).
        #[arg(long)]
        app: Option<String>,
        #[command(flatten)]
        store: StoreConfig,
    },
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
    /// Largest accepted request body in bytes (default 4 MiB).
    #[arg(long, env = "ROSTER_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most operations accepted in one PATCH request; more is `400 invalidValue`.
    #[arg(long, env = "ROSTER_MAX_PATCH_OPERATIONS", default_value_t = crate::scim::patch::DEFAULT_MAX_PATCH_OPERATIONS)]
    pub max_patch_operations: usize,
    /// Page size of list responses when the client sends no `count`.
    #[arg(long, env = "ROSTER_DEFAULT_PAGE_SIZE", default_value_t = 100)]
    pub default_page_size: i64,
    /// Largest page size a client may ask for.
    #[arg(long, env = "ROSTER_MAX_PAGE_SIZE", default_value_t = 1000)]
    pub max_page_size: i64,
    /// Public base URL (e.g. https://roster.example.com) for `meta.location`;
    /// by default derived from each request's Host header.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "ROSTER_WORKERS")]
    pub workers: Option<usize>,
}
