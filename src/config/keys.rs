//! The table of every configuration key: its section, name and value kind.
//!
//! One table serves three jobs: it names the `SIDECAR_<SECTION>_<KEY>` environment variables (a
//! contract deployment scripts rely on), it lets the loader report *every* unknown key or wrongly
//! typed value instead of stopping at the first, and it tells which keys hold secrets. A unit test
//! checks it against the serde structs, so the two cannot drift.

/// The type a key's value must have, in TOML and when parsed from an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string (addresses, URLs, paths, durations such as `"90s"`, enum names).
    Str,
    /// `true` / `false` (environment: also `1`/`0`, `yes`/`no`, any case).
    Bool,
    /// A non-negative integer.
    Int,
    /// A list of strings (environment: comma-separated).
    StrList,
    /// `[scim] tokens`: a list of strings or `{ name, token }` tables (environment: strings,
    /// comma-separated).
    TokenList,
    /// A table of its own (`[scim.roles]`), checked by its serde struct; file only.
    Table,
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// The value is a secret: never echoed, and environment values replace rather than append.
    pub secret: bool,
}

const fn key(section: &'static str, name: &'static str, kind: Kind) -> Key {
    Key { section, name, kind, secret: false }
}

const fn secret(section: &'static str, name: &'static str, kind: Kind) -> Key {
    Key { section, name, kind, secret: true }
}

use Kind::{Bool, Int, Str, StrList, Table, TokenList};

/// Every key, in `sidecar.toml` order.
pub const KEYS: &[Key] = &[
    key("server", "listen", Str),
    key("server", "tls_cert_file", Str),
    key("server", "tls_key_file", Str),
    key("server", "header_read_timeout", Str),
    key("server", "max_header_bytes", Int),
    key("server", "max_body_bytes", Int),
    key("server", "shutdown_grace", Str),
    key("server", "idle_timeout", Str),
    key("server", "trusted_proxies", StrList),
    key("server", "strip_headers", StrList),
    key("server", "max_connections", Int),
    key("server", "body_read_timeout", Str),
    key("server", "max_buffered_bodies", Int),
    key("admin", "listen", Str),
    secret("admin", "token", Str),
    key("admin", "token_file", Str),
    key("grafana", "url", Str),
    key("grafana", "user", Str),
    secret("grafana", "password", Str),
    key("grafana", "password_file", Str),
    key("grafana", "ca_file", Str),
    key("grafana", "insecure_skip_verify", Bool),
    key("grafana", "connect_timeout", Str),
    key("grafana", "request_timeout", Str),
    key("grafana", "pool_idle_timeout", Str),
    key("grafana", "pool_max_idle", Int),
    secret("store", "url", Str),
    key("store", "max_connections", Int),
    secret("scim", "tokens", TokenList),
    key("scim", "token_file", Str),
    key("scim", "accept_grafana_tokens", Bool),
    key("scim", "grafana_token_cache_ttl", Str),
    key("scim", "default_role", Str),
    key("scim", "on_delete", Str),
    key("scim", "protected_users", StrList),
    key("scim", "adoptable_admins", StrList),
    key("scim", "max_results", Int),
    key("scim", "default_page_size", Int),
    key("scim", "mode", Str),
    key("scim", "roles", Table),
    key("policy", "require_saml", Bool),
    key("policy", "group_sync", Bool),
    key("policy", "strict_saml_only", Bool),
    key("policy", "cache_ttl", Str),
    key("policy", "check_timeout", Str),
    key("policy", "scan_concurrency", Int),
    key("saml_gate", "enabled", Bool),
    key("saml_gate", "acs_path", Str),
    key("saml_gate", "reject_non_provisioned_users", Bool),
    key("saml_gate", "external_uid_attribute", Str),
    key("saml_gate", "login_attribute", Str),
    key("saml_gate", "email_attribute", Str),
    key("saml_gate", "idp_metadata_url", Str),
    key("saml_gate", "idp_metadata_file", Str),
    key("saml_gate", "idp_metadata_xml", Str),
    key("saml_gate", "sp_private_key_file", Str),
    key("saml_gate", "audience", Str),
    key("saml_gate", "max_clock_skew", Str),
    key("saml_gate", "max_post_bytes", Int),
    key("saml_gate", "max_concurrent_verifications", Int),
    key("log", "format", Str),
    key("log", "level", Str),
    key("audit", "enabled", Bool),
    key("audit", "retention", Str),
    // A sub-table (`[scim.entra]`): the section is the dotted path; its environment variables
    // are `SIDECAR_SCIM_ENTRA_<KEY>`.
    key("scim.entra", "tenant_id", Str),
    key("scim.entra", "namespaces", StrList),
    key("scim.entra", "jwks_url", Str),
    key("scim.entra", "ca_file", Str),
    key("scim.entra", "max_clock_skew", Str),
    key("scim.entra", "jwks_cache_ttl", Str),
    key("scim.entra", "jwks_min_refresh_interval", Str),
    key("scim.entra", "allow_grafana_admin", Bool),
    key("reconcile", "interval", Str),
];

/// Environment variables that are not `<SECTION>_<KEY>` pairs but still belong to the sidecar.
pub const ENV_PREFIX: &str = "SIDECAR_";
/// Names the configuration file (like `--config`).
pub const ENV_CONFIG: &str = "SIDECAR_CONFIG";
/// Adds one accepted SCIM bearer token to `[scim] tokens` (a fixed deployment contract).
pub const ENV_SCIM_TOKEN: &str = "SIDECAR_SCIM_TOKEN";

/// The sections, in order.
pub fn sections() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    KEYS.iter().filter_map(move |k| {
        if seen.contains(&k.section) {
            None
        } else {
            seen.push(k.section);
            Some(k.section)
        }
    })
}

/// Looks a key up by section and name (both exact, lower case as written in TOML).
pub fn find(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

/// Maps an environment variable name to its key: `SIDECAR_GRAFANA_URL` → `[grafana] url`.
///
/// Section names may contain `_` (`saml_gate`), so every known section is tried as a prefix; a
/// sub-table's dots are written `_` (`[scim.entra] tenant_id` → `SIDECAR_SCIM_ENTRA_TENANT_ID`).
pub fn from_env_name(var: &str) -> Option<&'static Key> {
    let rest = var.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
    sections().find_map(|section| {
        let name = rest.strip_prefix(&section.replace('.', "_"))?.strip_prefix('_')?;
        find(section, name)
    })
}

/// The environment variable for a key: `[saml_gate] enabled` → `SIDECAR_SAML_GATE_ENABLED`.
pub fn env_name(key: &Key) -> String {
    format!("{ENV_PREFIX}{}_{}", key.section.replace('.', "_"), key.name).to_ascii_uppercase()
}

/// The sub-table sections (`scim.entra`) nested in `section`, as `(name within it, full name)`.
pub fn subsections(section: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    sections().filter_map(move |s| Some((s.strip_prefix(section)?.strip_prefix('.')?, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn env_names_round_trip() {
        for k in KEYS {
            let found = from_env_name(&env_name(k)).map(|f| (f.section, f.name));
            assert_eq!(found, Some((k.section, k.name)), "{}", env_name(k));
        }
        assert!(from_env_name("SIDECAR_SAML_GATE_ENABLED").is_some());
        let entra = from_env_name("SIDECAR_SCIM_ENTRA_TENANT_ID").map(|k| (k.section, k.name));
        assert_eq!(entra, Some(("scim.entra", "tenant_id")));
        assert!(subsections("scim").any(|s| s == ("entra", "scim.entra")));
        assert!(from_env_name("SIDECAR_NOPE_X").is_none());
    }

    #[test]
    fn table_matches_the_serde_structs() {
        // Every key the default config serialises must be in the table...
        let value = toml::Value::try_from(Config::default()).unwrap();
        let table = value.as_table().unwrap();
        for (section, body) in table {
            for name in body.as_table().unwrap().keys() {
                assert!(find(section, name).is_some(), "[{section}] {name} missing from KEYS");
            }
        }
        // Sub-tables are absent by default; a present one serialises every key of its own.
        let mut config = Config::default();
        config.scim.entra = Some(Default::default());
        let value = toml::Value::try_from(config).unwrap();
        let entra = value["scim"]["entra"].as_table().unwrap();
        for name in entra.keys() {
            assert!(find("scim.entra", name).is_some(), "[scim.entra] {name} missing from KEYS");
        }
        // ...and every key in the table must be accepted by the structs.
        for k in KEYS {
            let sample = match k.kind {
                Kind::Str if k.name.ends_with("timeout") || k.name.ends_with("ttl") => "\"1s\"".to_string(),
                Kind::Str
                    if k.name == "max_clock_skew"
                        || k.name == "shutdown_grace"
                        || k.name == "retention"
                        || k.name == "jwks_min_refresh_interval"
                        || k.name == "interval" =>
                {
                    "\"1s\"".into()
                }
                Kind::Str if k.name == "on_delete" => "\"delete\"".into(),
                Kind::Str if k.name == "mode" => "\"shadow\"".into(),
                Kind::Str if k.name == "format" => "\"json\"".into(),
                Kind::Str => "\"x\"".into(),
                Kind::Bool => "true".into(),
                Kind::Int => "1".into(),
                Kind::StrList | Kind::TokenList => "[\"a\"]".into(),
                Kind::Table => "{}".into(),
            };
            let text = format!("[{}]\n{} = {}\n", k.section, k.name, sample);
            let parsed: Result<Config, _> = toml::from_str(&text);
            assert!(parsed.is_ok(), "{text}: {parsed:?}");
        }
    }
}
