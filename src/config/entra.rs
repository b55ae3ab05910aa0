//! `[scim.entra]`: Entra token mode, where Microsoft Entra ID authenticates with a token it signs
//! itself (the IdP's "Secret Token" field left empty) instead of a shared secret.
//!
//! This module holds the settings, their defaults and their checks; the verification itself is
//! [`crate::entra`]'s.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

/// The public Microsoft Entra ID cloud that publishes a tenant's signing keys by default.
pub const DEFAULT_LOGIN_HOST: &str = "https://login.microsoftonline.com";
/// Most tolerated clock difference accepted in configuration.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// `[scim.entra]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EntraConfig {
    /// The Entra tenant (directory) id, a GUID: tokens must be issued by
    /// `https://sts.windows.net/<tenant_id>/` and carry it as `tid`.
    pub tenant_id: String,
    /// The SCIM namespaces (`default`, `org-<N>`) an Entra token is accepted for.
    pub namespaces: Vec<String>,
    /// Where the tenant's signing keys (a JWKS) are fetched; `https://` only. Unset: the keys
    /// Entra publishes for the tenant's v1 (`sts.windows.net`) tokens,
    /// `https://login.microsoftonline.com/<tenant_id>/discovery/keys`.
    pub jwks_url: Option<String>,
    /// Extra PEM CA bundle trusted when fetching `jwks_url`, on top of the webpki roots.
    pub ca_file: Option<PathBuf>,
    /// Tolerated clock difference for the token's `exp` and `nbf`.
    #[serde(with = "duration")]
    pub max_clock_skew: Duration,
    /// How long fetched keys are used before they are fetched again.
    #[serde(with = "duration")]
    pub jwks_cache_ttl: Duration,
    /// Least time between two fetches a token naming an unknown key may cause (a flood of random
    /// key ids then costs Microsoft at most one fetch per interval).
    #[serde(with = "duration")]
    pub jwks_min_refresh_interval: Duration,
    /// Whether an Entra token may make a user a Grafana server admin (`[scim.roles]
    /// grafana_admin_values`). Off by default: such a token is not bound to this app (another
    /// SCIM app of the tenant receives tokens another party could replay here), so the one grant
    /// beyond every org stays with the static tokens.
    pub allow_grafana_admin: bool,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            tenant_id: String::new(),
            namespaces: vec!["default".into()],
            jwks_url: None,
            ca_file: None,
            max_clock_skew: Duration::from_secs(60),
            jwks_cache_ttl: Duration::from_secs(3600),
            jwks_min_refresh_interval: Duration::from_secs(300),
            allow_grafana_admin: false,
        }
    }
}

impl EntraConfig {
    /// The tenant id as tokens carry it (lower case).
    pub fn tenant(&self) -> String {
        self.tenant_id.trim().to_ascii_lowercase()
    }

    /// The key set URL: `jwks_url`, else the tenant's published keys.
    pub fn keys_url(&self) -> String {
        self.jwks_url
            .clone()
            .unwrap_or_else(|| format!("{DEFAULT_LOGIN_HOST}/{}/discovery/keys", self.tenant()))
    }

    /// One line saying what the mode accepts (for `check-config` and `check`).
    pub fn describe(&self) -> String {
        format!(
            "entra token mode: tenant {}, namespaces {}, signing keys from {}{}",
            self.tenant(),
            self.namespaces.join(", "),
            self.keys_url(),
            if self.allow_grafana_admin {
                "; may grant grafana server admin (allow_grafana_admin)"
            } else {
                ""
            }
        )
    }

    /// The Grafana org ids of `namespaces` (`default` is org 1); `None` for a malformed entry.
    pub fn org_ids(&self) -> Vec<Option<i64>> {
        self.namespaces.iter().map(|ns| crate::namespace::org_of(ns)).collect()
    }
}

/// True for a GUID such as `72f988bf-86f1-41af-91ab-2d7cd011db47` (8-4-4-4-12 hex digits).
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Every problem with `cfg`, as (`key`, message) pairs.
pub fn problems(cfg: &EntraConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !is_guid(cfg.tenant_id.trim()) {
        out.push((
            "[scim.entra] tenant_id",
            "must be the Entra tenant (directory) id, a GUID such as 00000000-0000-0000-0000-000000000000"
                .into(),
        ));
    }
    if cfg.namespaces.is_empty() {
        out.push(("[scim.entra] namespaces", "must list at least one namespace (e.g. [\"default\"])".into()));
    }
    for ns in cfg.namespaces.iter().filter(|ns| crate::namespace::org_of(ns).is_none()) {
        out.push(("[scim.entra] namespaces", format!("`{ns}` is not a namespace (`default` or `org-<N>`)")));
    }
    if let Some(u) = &cfg.jwks_url {
        match url::Url::parse(u) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() && u.username().is_empty() => {}
            _ => out.push(("[scim.entra] jwks_url", "must be an https:// URL without credentials".into())),
        }
    }
    if let Some(path) = &cfg.ca_file {
        if !path.is_file() {
            out.push(("[scim.entra] ca_file", format!("{} does not exist or is not a file", path.display())));
        }
    }
    if cfg.max_clock_skew > MAX_CLOCK_SKEW {
        out.push(("[scim.entra] max_clock_skew", "must be at most 5m".into()));
    }
    if cfg.jwks_cache_ttl < Duration::from_secs(60) {
        out.push(("[scim.entra] jwks_cache_ttl", "must be at least 1m".into()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_namespaces() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(is_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
        assert!(!is_guid("72f988bf86f141af91ab2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4g"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
        assert_eq!(crate::namespace::org_of("default"), Some(1));
        assert_eq!(crate::namespace::org_of("org-1"), Some(1));
        assert_eq!(crate::namespace::org_of("org-7"), Some(7));
        for bad in ["org-0", "org-", "org--1", "org-x", "Default", "stacks-1", ""] {
            assert_eq!(crate::namespace::org_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn problems_are_listed_and_defaults_pass_with_a_tenant() {
        let good = EntraConfig {
            tenant_id: "72F988BF-86F1-41AF-91AB-2D7CD011DB47".into(),
            ..EntraConfig::default()
        };
        assert!(problems(&good).is_empty(), "{:?}", problems(&good));
        assert_eq!(good.tenant(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(
            good.keys_url(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/keys"
        );
        let bad = EntraConfig {
            tenant_id: "contoso".into(),
            namespaces: vec!["stacks-1".into()],
            jwks_url: Some("http://keys.example/keys".into()),
            ca_file: Some("/no/such/ca.pem".into()),
            max_clock_skew: Duration::from_secs(600),
            jwks_cache_ttl: Duration::from_secs(1),
            jwks_min_refresh_interval: Duration::ZERO,
            allow_grafana_admin: false,
        };
        let keys: Vec<&str> = problems(&bad).iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "[scim.entra] tenant_id",
                "[scim.entra] namespaces",
                "[scim.entra] jwks_url",
                "[scim.entra] ca_file",
                "[scim.entra] max_clock_skew",
                "[scim.entra] jwks_cache_ttl"
            ]
        );
        let empty = EntraConfig { namespaces: vec![], ..good };
        assert_eq!(problems(&empty).len(), 1);
    }
}
