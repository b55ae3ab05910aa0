//! Semantic checks on a deserialised [`Config`]: every problem is collected, none is fatal alone.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::load::{ConfigError, Origin};
use super::{Config, Secret};

/// Upper bound of the `[server]` connection and body limits (a semaphore's size).
const MAX_LIMIT: usize = 1_000_000;

/// Org roles Grafana accepts (case-sensitive, grafana-api.md §6).
pub const ROLES: &[&str] = &["Viewer", "Editor", "Admin", "None"];
/// Plain SCIM tokens shorter than this are refused: they can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

struct Check<'a> {
    errors: &'a mut Vec<ConfigError>,
    warnings: Vec<String>,
}

impl Check<'_> {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError::new(Origin::Value, Some(key.to_string()), message));
    }

    fn addr(&mut self, key: &str, value: &str) -> Option<SocketAddr> {
        let parsed = value.parse::<SocketAddr>().ok();
        if parsed.is_none() {
            self.fail(key, format!("`{value}` is not an address such as 127.0.0.1:8080 or [::]:8080"));
        }
        parsed
    }

    fn positive(&mut self, key: &str, value: Duration) {
        if value.is_zero() {
            self.fail(key, "must be longer than zero");
        }
    }

    fn file(&mut self, key: &str, path: Option<&Path>) {
        if let Some(path) = path {
            if !path.is_file() {
                self.fail(key, format!("{} does not exist or is not a file", path.display()));
            }
        }
    }
}

/// Checks `config`, pushing problems into `errors` and returning warnings.
pub(super) fn validate(config: &Config, errors: &mut Vec<ConfigError>) -> Vec<String> {
    let mut c = Check { errors, warnings: Vec::new() };
    server(config, &mut c);
    grafana(config, &mut c);
    store(config, &mut c);
    scim(config, &mut c);
    policy_and_gate(config, &mut c);
    if tracing_subscriber::EnvFilter::try_new(&config.log.level).is_err() {
        c.fail("[log] level", format!("`{}` is not a tracing filter such as `info`", config.log.level));
    }
    c.warnings
}

fn server(config: &Config, c: &mut Check<'_>) {
    let s = &config.server;
    let public = c.addr("[server] listen", &s.listen);
    let admin = c.addr("[admin] listen", &config.admin.listen);
    let admin_token = config.admin.token.is_some() || config.admin.token_file.is_some();
    if admin.is_some_and(|a| !a.ip().is_loopback()) && config.audit.enabled && !admin_token {
        c.warnings.push(
            "[admin] listen is not a loopback address and [admin] token is not set: anyone who \
             reaches it can read /audit (the names and emails SCIM wrote) and /metrics; set \
             [admin] token or token_file, or keep the port firewalled"
                .into(),
        );
    }
    if let (Some(public), Some(admin)) = (public, admin) {
        if public == admin && public.port() != 0 {
            c.fail("[admin] listen", "must differ from [server] listen");
        }
    }
    match (&s.tls_cert_file, &s.tls_key_file) {
        (Some(_), None) => c.fail("[server] tls_key_file", "is required with tls_cert_file"),
        (None, Some(_)) => c.fail("[server] tls_cert_file", "is required with tls_key_file"),
        _ => {}
    }
    c.file("[server] tls_cert_file", s.tls_cert_file.as_deref());
    c.file("[server] tls_key_file", s.tls_key_file.as_deref());
    if config.admin.token.as_ref().is_some_and(Secret::is_empty) {
        c.fail("[admin] token", "must not be empty");
    }
    let every = config.reconcile.interval;
    if !every.is_zero() && every < Duration::from_secs(60) {
        c.fail("[reconcile] interval", "must be 0s (off) or at least 1m");
    }
    if config.audit.enabled && config.audit.retention < Duration::from_secs(3600) {
        c.fail("[audit] retention", "must be at least 1h");
    }
    c.positive("[server] header_read_timeout", s.header_read_timeout);
    c.positive("[server] idle_timeout", s.idle_timeout);
    if s.max_header_bytes < 8192 {
        c.fail("[server] max_header_bytes", "must be at least 8192");
    }
    if s.max_body_bytes < 1024 {
        c.fail("[server] max_body_bytes", "must be at least 1024");
    }
    for cidr in s.trusted_proxies.iter().filter(|c| crate::edge::Cidr::parse(c).is_none()) {
        c.fail("[server] trusted_proxies", format!("`{cidr}` is not an address or CIDR such as 10.0.0.0/8"));
    }
    for name in s.strip_headers.iter().filter(|h| crate::edge::HeaderRule::parse(h).is_none()) {
        c.fail(
            "[server] strip_headers",
            format!(
                "`{name}` is not a header name (a trailing `*` matches a prefix), or names one the \
                 sidecar needs (Authorization, Cookie, Host, Content-Length, Content-Type)"
            ),
        );
    }
    c.positive("[server] body_read_timeout", s.body_read_timeout);
    if !(1..=MAX_LIMIT).contains(&s.max_connections) {
        c.fail("[server] max_connections", "must be between 1 and 1000000");
    }
    if !(1..=MAX_LIMIT).contains(&s.max_buffered_bodies) {
        c.fail("[server] max_buffered_bodies", "must be between 1 and 1000000");
    }
}

fn grafana(config: &Config, c: &mut Check<'_>) {
    let g = &config.grafana;
    match url::Url::parse(&g.url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            c.fail("[grafana] url", "must be an http:// or https:// URL")
        }
        Ok(u) if u.host_str().is_none() => c.fail("[grafana] url", "has no host"),
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            c.fail("[grafana] url", "must not have a query or fragment")
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            c.fail("[grafana] url", "must not carry credentials; use [grafana] user and password")
        }
        Ok(_) => {}
        Err(e) => c.fail("[grafana] url", format!("not a URL: {e}")),
    }
    if g.user.trim().is_empty() {
        c.fail("[grafana] user", "must not be empty");
    }
    if g.password.as_ref().is_none_or(|p| p.is_empty()) {
        c.fail("[grafana] password", "is required (or set password_file)");
    }
    c.file("[grafana] ca_file", g.ca_file.as_deref());
    if g.insecure_skip_verify {
        c.warnings
            .push("[grafana] insecure_skip_verify = true: Grafana's TLS certificate is NOT verified".into());
    }
    c.positive("[grafana] connect_timeout", g.connect_timeout);
    c.positive("[grafana] request_timeout", g.request_timeout);
}

fn store(config: &Config, c: &mut Check<'_>) {
    let url = config.store.url.expose();
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            c.fail("[store] url", "sqlite:// needs a file path, e.g. sqlite://sidecar.db");
        }
    } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        // The URL may hold a password: describe it without echoing it.
        c.fail("[store] url", "must start with sqlite:// or postgres://");
    } else if let Err(e) = crate::store::describe_url(url) {
        // sslmode and the certificate files (libpq's parameters); the message never holds the URL.
        c.fail("[store] url", e.to_string());
    }
    if config.store.max_connections == 0 {
        c.fail("[store] max_connections", "must be at least 1");
    }
}

fn scim(config: &Config, c: &mut Check<'_>) {
    let s = &config.scim;
    for (i, token) in s.tokens.iter().enumerate() {
        let value = token.expose();
        let label = format!("token #{}", i + 1);
        if let Some(digest) = value.strip_prefix("sha256:") {
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                c.fail("[scim] tokens", format!("{label}: sha256: must be followed by 64 hex digits"));
            }
        } else if value.chars().count() < MIN_TOKEN_LEN {
            c.fail(
                "[scim] tokens",
                format!("{label}: plain tokens need at least {MIN_TOKEN_LEN} characters"),
            );
        }
    }
    for (key, message) in s.entra.iter().flat_map(super::entra::problems) {
        c.fail(key, message);
    }
    if s.tokens.is_empty() && !s.accept_grafana_tokens && s.entra.is_none() {
        c.warnings.push(
            "no SCIM token configured ([scim] tokens, SIDECAR_SCIM_TOKEN, accept_grafana_tokens or [scim.entra]): every SCIM request will get 401"
                .into(),
        );
    }
    if !ROLES.contains(&s.default_role.as_str()) {
        c.fail("[scim] default_role", format!("must be one of {}", ROLES.join(", ")));
    }
    if s.max_results == 0 {
        c.fail("[scim] max_results", "must be at least 1");
    }
    if s.default_page_size == 0 || s.default_page_size > s.max_results {
        c.fail("[scim] default_page_size", "must be between 1 and max_results");
    }
    if s.protected_users.iter().any(|u| u.trim().is_empty()) {
        c.fail("[scim] protected_users", "entries must not be empty");
    }
    if s.adoptable_admins.iter().any(|u| u.trim().is_empty()) {
        c.fail("[scim] adoptable_admins", "entries must not be empty");
    }
    c.positive("[scim] grafana_token_cache_ttl", s.grafana_token_cache_ttl);
    let (errors, warnings) = s.roles.check(ROLES);
    for (key, message) in errors {
        c.fail(&key, message);
    }
    c.warnings.extend(warnings);
}

fn policy_and_gate(config: &Config, c: &mut Check<'_>) {
    let p = &config.policy;
    c.positive("[policy] cache_ttl", p.cache_ttl);
    c.positive("[policy] check_timeout", p.check_timeout);
    if p.scan_concurrency == 0 {
        c.fail("[policy] scan_concurrency", "must be at least 1");
    }
    if !p.require_saml {
        c.warnings
            .push("[policy] require_saml = false: SCIM is served even if Grafana does not use SAML".into());
    }
    let g = &config.saml_gate;
    if !g.acs_path.starts_with('/') {
        c.fail("[saml_gate] acs_path", "must start with /");
    }
    let sources = [g.idp_metadata_url.is_some(), g.idp_metadata_file.is_some(), g.idp_metadata_xml.is_some()];
    if sources.iter().filter(|s| **s).count() > 1 {
        c.fail(
            "[saml_gate] idp_metadata_url",
            "set at most one of idp_metadata_url, idp_metadata_file, idp_metadata_xml",
        );
    }
    if let Some(u) = &g.idp_metadata_url {
        if url::Url::parse(u).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
            c.fail("[saml_gate] idp_metadata_url", "must be an http:// or https:// URL");
        }
    }
    if g.enabled && sources.iter().all(|s| !*s) {
        c.warnings.push(
            "[saml_gate] enabled without idp_metadata_url, idp_metadata_file or idp_metadata_xml: \
             the IdP metadata is read from Grafana's SAML settings, and every SAML login is refused \
             while they carry none (see `scim-sidecar check`)"
                .into(),
        );
    }
    let scim_active = !config.scim.tokens.is_empty()
        || config.scim.token_file.is_some()
        || config.scim.accept_grafana_tokens
        || config.scim.entra.is_some();
    if !g.enabled && scim_active {
        c.warnings.push(crate::login_gate::settings::GATE_OFF_WARNING.into());
    }
    if g.max_post_bytes < 1024 {
        c.fail("[saml_gate] max_post_bytes", "must be at least 1024");
    }
    if g.max_concurrent_verifications == 0 {
        c.fail("[saml_gate] max_concurrent_verifications", "must be at least 1");
    }
    c.file("[saml_gate] idp_metadata_file", g.idp_metadata_file.as_deref());
    c.file("[saml_gate] sp_private_key_file", g.sp_private_key_file.as_deref());
    for (key, value) in [
        ("[saml_gate] external_uid_attribute", &g.external_uid_attribute),
        ("[saml_gate] login_attribute", &g.login_attribute),
        ("[saml_gate] email_attribute", &g.email_attribute),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            c.fail(key, "must not be empty");
        }
    }
}
