//! Sidecar configuration: the typed structs, their defaults, and how they are loaded.
//!
//! Sources are layered, later ones winning: built-in defaults → TOML file → `SIDECAR_<SECTION>_<KEY>`
//! environment variables → command-line flags ([`load::Sources`]). Every problem found on the way
//! (unknown keys, wrong types, bad values) is collected, so an operator sees all of them at once
//! ([`ConfigErrors`]). Secrets are wrapped in [`Secret`], which never prints its value.
//!
//! This module does not bind sockets, read TLS material or touch the network; it only checks that
//! files it names exist and are readable.

mod duration;
pub mod entra;
pub mod keys;
pub mod load;
pub mod roles;
mod secret;
mod service_links;
mod token;
mod validate;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use entra::EntraConfig;
pub use load::{ConfigError, ConfigErrors, Overrides, Sources};
pub use roles::{NamespaceRoles, RolesConfig};
pub use secret::Secret;
pub use token::ScimToken;

/// The whole configuration, one field per `[section]` of `sidecar.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub admin: AdminConfig,
    pub grafana: GrafanaConfig,
    pub store: StoreConfig,
    pub scim: ScimConfig,
    pub policy: PolicyConfig,
    pub saml_gate: SamlGateConfig,
    pub log: LogConfig,
    pub audit: AuditConfig,
    pub reconcile: ReconcileConfig,
}

/// `[server]`: the public listener that serves the proxy, SCIM and the SAML gate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the public listener.
    pub listen: String,
    /// PEM certificate chain; with `tls_key_file`, the listener speaks TLS (h2 + http/1.1 via ALPN).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key matching `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Time a client has to send its complete request head (slowloris guard).
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// Largest request head (request line + headers) accepted, in bytes.
    pub max_header_bytes: usize,
    /// Largest SCIM or SAML request body accepted, in bytes (proxied bodies stream and are not capped).
    pub max_body_bytes: usize,
    /// How long in-flight requests may drain after SIGTERM/SIGINT. The default (20 s) plus a 5 s
    /// `preStop` sleep stays inside Kubernetes' default 30 s termination grace period.
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
    /// Idle keep-alive connections are closed after this long.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// Peers (CIDRs such as `10.0.0.0/8`, or single addresses) whose `X-Forwarded-For`,
    /// `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Real-IP` are kept; from anyone else they
    /// are replaced. Empty: trust no peer.
    pub trusted_proxies: Vec<String>,
    /// Request headers removed from every client request before anything reads it (names, any
    /// case; a trailing `*` matches any name with that prefix). The names Grafana's
    /// `[auth.proxy]` and `[auth.jwt]` settings use are removed too.
    pub strip_headers: Vec<String>,
    /// Most connections served at once per listener; past it a new connection is closed at once.
    pub max_connections: usize,
    /// Time a client has to send a body the sidecar reads into memory (SCIM, guarded writes).
    #[serde(with = "duration")]
    pub body_read_timeout: Duration,
    /// Most bodies the passthrough guards read into memory at once; past it 503.
    pub max_buffered_bodies: usize,
}

/// `[admin]`: health, readiness and metrics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener (`/healthz`, `/readyz`, `/metrics`, `/audit`).
    pub listen: String,
    /// Bearer token `/audit` and `/metrics` require when set (`/healthz` and `/readyz` never do).
    pub token: Option<Secret>,
    /// File holding the admin token (first non-comment line).
    pub token_file: Option<PathBuf>,
}

/// `[audit]`: the audit log of every change made through SCIM and every refusal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Record changes and refusals in the mapping store and as `scim_sidecar::audit` log events.
    pub enabled: bool,
    /// How long records are kept; older ones are pruned hourly by `serve`.
    #[serde(with = "duration")]
    pub retention: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { enabled: true, retention: Duration::from_secs(90 * 24 * 3600) }
    }
}

/// `[reconcile]`: the drift check `serve` can run in the background (`scim-sidecar reconcile`
/// without `--apply`), exported as `scim_sidecar_drift_objects{kind}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileConfig {
    /// How often `serve` compares SCIM's state with Grafana; `0s` (the default) never.
    #[serde(with = "duration")]
    pub interval: Duration,
}

/// `[grafana]`: the Grafana behind the sidecar and the server-admin credential used for SCIM.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GrafanaConfig {
    /// Base URL of Grafana, including any sub-path (`serve_from_sub_path`).
    pub url: String,
    /// Login of a Grafana server admin (basic auth).
    pub user: String,
    /// Password of that user.
    pub password: Option<Secret>,
    /// File holding the password (first line); wins over `password`.
    pub password_file: Option<PathBuf>,
    /// Extra PEM CA bundle trusted for an `https://` Grafana, on top of the webpki roots.
    pub ca_file: Option<PathBuf>,
    /// Turn off certificate verification towards Grafana. Dangerous; warned about at every start.
    pub insecure_skip_verify: bool,
    /// Time allowed to open a connection to Grafana.
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// Time allowed for Grafana to produce response headers; past it the client gets 504.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Idle pooled connections to Grafana are closed after this long.
    #[serde(with = "duration")]
    pub pool_idle_timeout: Duration,
    /// Most idle pooled connections kept to Grafana.
    pub pool_max_idle: usize,
}

/// `[store]`: where the SCIM mapping lives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://PATH` (embedded, default) or `postgres://user:pass@host/db` (several replicas).
    pub url: Secret,
    /// Largest number of pooled PostgreSQL connections.
    pub max_connections: usize,
}

/// What SCIM `DELETE /Users/{id}` does in Grafana.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// Cut the user off (as `active=false`) and hide them from SCIM; Grafana keeps the account.
    Deactivate,
    /// Delete the Grafana user.
    Delete,
}

/// `[scim]`: the SCIM service provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// Accepted static bearer tokens: plain values, or `sha256:<hex>` digests of them; an entry
    /// may be a table that names the token for the audit log (`{ name = "…", token = "…" }`).
    pub tokens: Vec<ScimToken>,
    /// File with one accepted token (plain or `sha256:<hex>`) per line.
    pub token_file: Option<PathBuf>,
    /// Also accept Grafana service-account tokens, validated against Grafana (as Grafana Enterprise does).
    pub accept_grafana_tokens: bool,
    /// How long a Grafana token verdict is cached; revocation takes effect within this time.
    #[serde(with = "duration")]
    pub grafana_token_cache_ttl: Duration,
    /// Org role given to users the sidecar adds to an org (roles then come from SAML role sync).
    pub default_role: String,
    /// `deactivate` (default, as Grafana does) or `delete`.
    pub on_delete: OnDelete,
    /// Logins or emails never modified through SCIM (the sidecar's own credential always is).
    pub protected_users: Vec<String>,
    /// Logins of Grafana server admins a create may adopt (case-insensitive). Any other server
    /// admin is never taken over through SCIM; a Grafana service-account token never takes one over.
    pub adoptable_admins: Vec<String>,
    /// Largest result set a filter may produce (`filter.maxResults`); larger scans answer `tooMany`.
    pub max_results: usize,
    /// Page size used when the IdP gives no `count`.
    pub default_page_size: usize,
    /// `[scim.roles]`: SCIM role values → Grafana org roles (off by default).
    pub roles: RolesConfig,
    /// `[scim.entra]`: Entra token mode (accept the token Entra ID signs itself); off when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraConfig>,
    /// `enforce` (default): SCIM changes are written to Grafana. `shadow`: the IdP gets the same
    /// answers and the store keeps the SCIM state, but no write reaches Grafana; each is audited
    /// as `planned` (`reconcile --apply` in enforce mode makes Grafana match later).
    pub mode: ScimMode,
}

/// `[scim] mode`: whether SCIM writes reach Grafana.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ScimMode {
    /// Write every SCIM change to Grafana.
    #[default]
    Enforce,
    /// Keep the SCIM state in the store only; audit each Grafana write as planned.
    Shadow,
}

impl ScimMode {
    /// Whether SCIM writes are held back from Grafana.
    pub fn is_shadow(self) -> bool {
        self == Self::Shadow
    }

    /// One line for `check-config`, `check` and the start-up log.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Enforce => "scim mode: enforce (SCIM changes are written to Grafana)",
            Self::Shadow => {
                "scim mode: SHADOW (no SCIM change is written to Grafana; each is audited as planned; \
                 review with `scim-sidecar reconcile`, then switch to enforce and run `reconcile --apply`)"
            }
        }
    }
}

/// `[policy]`: the SAML-only and SCIM/Team Sync rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Refuse SCIM (except discovery) unless Grafana authenticates with SAML.
    pub require_saml: bool,
    /// Serve SCIM `/Groups` (refused while Team Sync is in use).
    pub group_sync: bool,
    /// Also require that no other login method (OAuth, login form) is enabled.
    pub strict_saml_only: bool,
    /// How long a policy verdict is cached before it is refreshed.
    #[serde(with = "duration")]
    pub cache_ttl: Duration,
    /// Longest a request waits for a policy check against a slow Grafana.
    #[serde(with = "duration")]
    pub check_timeout: Duration,
    /// Most concurrent Grafana calls while scanning teams for Team Sync links.
    pub scan_concurrency: usize,
}

/// `[saml_gate]`: the SAML login gate in front of Grafana's ACS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SamlGateConfig {
    /// Intercept SAML logins and enforce the SCIM rules.
    pub enabled: bool,
    /// Path of Grafana's Assertion Consumer Service.
    pub acs_path: String,
    /// Refuse people SCIM did not provision.
    pub reject_non_provisioned_users: bool,
    /// Assertion attribute holding the external UID; unset: Grafana's
    /// `assertion_attribute_external_uid`, else `userUID`.
    pub external_uid_attribute: Option<String>,
    /// Assertion attribute holding the login; unset: Grafana's `assertion_attribute_login`, else `mail`.
    pub login_attribute: Option<String>,
    /// Assertion attribute holding the email; unset: Grafana's `assertion_attribute_email`, else `mail`.
    pub email_attribute: Option<String>,
    /// IdP metadata URL.
    pub idp_metadata_url: Option<String>,
    /// IdP metadata file.
    pub idp_metadata_file: Option<PathBuf>,
    /// IdP metadata inline XML.
    pub idp_metadata_xml: Option<String>,
    /// SP private key (PEM) used to decrypt encrypted assertions.
    pub sp_private_key_file: Option<PathBuf>,
    /// Expected audience (SP entity id); unset: the `entityID` of Grafana's `/saml/metadata`,
    /// else `<grafana url>/saml/metadata`.
    pub audience: Option<String>,
    /// Tolerated clock difference for `NotBefore`/`NotOnOrAfter`.
    #[serde(with = "duration")]
    pub max_clock_skew: Duration,
    /// Largest ACS post body read (a SAML response form); larger posts get 413.
    pub max_post_bytes: usize,
    /// Most SAML responses verified at once (on blocking threads); more get 503.
    pub max_concurrent_verifications: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `scim_sidecar=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

/// Defaults, named so that docs, tests and `sidecar.toml` agree.
pub mod defaults {
    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const ADMIN_LISTEN: &str = "127.0.0.1:9090";
    pub const GRAFANA_URL: &str = "http://localhost:3000";
    pub const GRAFANA_USER: &str = "admin";
    pub const GRAFANA_PASSWORD: &str = "admin";
    pub const STORE_URL: &str = "sqlite://sidecar.db";
    pub const DEFAULT_ROLE: &str = "Viewer";
    pub const ACS_PATH: &str = "/saml/acs";
    pub const EXTERNAL_UID_ATTRIBUTE: &str = "userUID";
    /// `[server] strip_headers`: Grafana's auth-proxy identity headers.
    pub const STRIP_HEADERS: &[&str] = &["X-WEBAUTH-USER", "X-WEBAUTH-*"];
    pub const SAML_MAX_POST_BYTES: usize = 256 * 1024;
    pub const SAML_MAX_CONCURRENT_VERIFICATIONS: usize = 8;
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: defaults::LISTEN.into(),
            tls_cert_file: None,
            tls_key_file: None,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(90),
            trusted_proxies: Vec::new(),
            strip_headers: defaults::STRIP_HEADERS.iter().map(|h| (*h).to_string()).collect(),
            max_connections: 4096,
            body_read_timeout: Duration::from_secs(30),
            max_buffered_bodies: 64,
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { listen: defaults::ADMIN_LISTEN.into(), token: None, token_file: None }
    }
}

impl Default for GrafanaConfig {
    fn default() -> Self {
        Self {
            url: defaults::GRAFANA_URL.into(),
            user: defaults::GRAFANA_USER.into(),
            password: Some(Secret::new(defaults::GRAFANA_PASSWORD)),
            password_file: None,
            ca_file: None,
            insecure_skip_verify: false,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle: 64,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { url: Secret::new(defaults::STORE_URL), max_connections: 8 }
    }
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            token_file: None,
            accept_grafana_tokens: false,
            grafana_token_cache_ttl: Duration::from_secs(30),
            default_role: defaults::DEFAULT_ROLE.into(),
            on_delete: OnDelete::Deactivate,
            protected_users: Vec::new(),
            adoptable_admins: Vec::new(),
            max_results: 1000,
            default_page_size: 100,
            roles: RolesConfig::default(),
            entra: None,
            mode: ScimMode::Enforce,
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            require_saml: true,
            group_sync: true,
            strict_saml_only: false,
            cache_ttl: Duration::from_secs(60),
            check_timeout: Duration::from_secs(2),
            scan_concurrency: 8,
        }
    }
}

impl Default for SamlGateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            acs_path: defaults::ACS_PATH.into(),
            reject_non_provisioned_users: false,
            external_uid_attribute: None,
            login_attribute: None,
            email_attribute: None,
            idp_metadata_url: None,
            idp_metadata_file: None,
            idp_metadata_xml: None,
            sp_private_key_file: None,
            audience: None,
            max_clock_skew: Duration::from_secs(90),
            max_post_bytes: defaults::SAML_MAX_POST_BYTES,
            max_concurrent_verifications: defaults::SAML_MAX_CONCURRENT_VERIFICATIONS,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}
