//! `[scim.roles]`: SCIM role values mapped to Grafana org roles (and, when listed, to the Grafana
//! server-admin flag), globally and per namespace; and the checks `validate` runs on it.
//!
//! ```toml
//! [scim.roles]
//! enabled = true
//! grafana_admin_values = ["grafana-server-admins"]
//! [scim.roles.map]
//! "grafana-admins" = "Admin"
//! "grafana-editors" = "Editor"
//! [scim.roles.namespaces."org-2".map]
//! "grafana-editors" = "Viewer"
//! ```
//!
//! Role values compare ignoring ASCII case (SCIM's `roles.value` is not case-exact). A namespace's
//! map is laid over the global one: its entries win, the global entries it does not name stay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[scim.roles]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    /// Apply SCIM `roles` to Grafana org roles (off: roles are only stored and returned).
    pub enabled: bool,
    /// SCIM role value → Grafana org role (`Viewer`, `Editor`, `Admin`, `None`), every namespace.
    pub map: BTreeMap<String, String>,
    /// SCIM role values that make a user a Grafana server admin (empty: SCIM never touches the
    /// server-admin flag).
    pub grafana_admin_values: Vec<String>,
    /// Per-namespace overrides (`default`, `org-<N>`).
    pub namespaces: BTreeMap<String, NamespaceRoles>,
}

/// `[scim.roles.namespaces."<ns>"]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NamespaceRoles {
    /// Entries laid over `[scim.roles.map]` for this namespace.
    pub map: BTreeMap<String, String>,
}

impl RolesConfig {
    /// The map that applies in `org_id`: the global one with that namespace's entries laid over
    /// it. Keys are folded to ASCII lower case.
    pub fn map_for(&self, org_id: i64) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> =
            self.map.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), v.clone())).collect();
        for (ns, over) in &self.namespaces {
            if crate::namespace::org_of(ns) == Some(org_id) {
                for (k, v) in &over.map {
                    out.insert(k.trim().to_ascii_lowercase(), v.clone());
                }
            }
        }
        out
    }

    /// Every role value configured anywhere (maps and admin values), first spelling kept,
    /// sorted ignoring case: what `/Roles` lists.
    pub fn all_values(&self) -> Vec<String> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let names = self
            .map
            .keys()
            .chain(self.namespaces.values().flat_map(|n| n.map.keys()))
            .chain(self.grafana_admin_values.iter());
        for name in names {
            let name = name.trim();
            if !name.is_empty() {
                seen.entry(name.to_ascii_lowercase()).or_insert_with(|| name.to_string());
            }
        }
        seen.into_values().collect()
    }

    /// Problems (key, message) and warnings, for `config::validate`.
    pub(super) fn check(&self, roles: &[&str]) -> (Vec<(String, String)>, Vec<String>) {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        check_map("[scim.roles] map", &self.map, roles, &mut errors);
        for (ns, over) in &self.namespaces {
            let key = format!("[scim.roles.namespaces.\"{ns}\"] map");
            if crate::namespace::org_of(ns).is_none() {
                errors.push((
                    "[scim.roles] namespaces".to_string(),
                    format!("`{ns}` is not a namespace: use `default` or `org-<N>` (N ≥ 1)"),
                ));
            }
            check_map(&key, &over.map, roles, &mut errors);
        }
        let mut admins: Vec<String> = Vec::new();
        for value in &self.grafana_admin_values {
            let folded = value.trim().to_ascii_lowercase();
            if folded.is_empty() {
                errors.push(("[scim.roles] grafana_admin_values".into(), "entries must not be empty".into()));
            } else if admins.contains(&folded) {
                errors.push((
                    "[scim.roles] grafana_admin_values".into(),
                    format!("`{value}` is listed twice (values compare ignoring case)"),
                ));
            } else {
                admins.push(folded);
            }
        }
        if self.enabled && self.map.is_empty() && self.grafana_admin_values.is_empty() {
            let any_ns = self.namespaces.values().any(|n| !n.map.is_empty());
            if !any_ns {
                warnings.push(
                    "[scim.roles] enabled without any [scim.roles.map] entry: every SCIM user gets \
                     [scim] default_role"
                        .into(),
                );
            }
        }
        if !self.enabled && (!self.map.is_empty() || !self.grafana_admin_values.is_empty()) {
            warnings.push(
                "[scim.roles] map or grafana_admin_values is set but [scim.roles] enabled = false: \
                 SCIM roles are stored, not applied"
                    .into(),
            );
        }
        (errors, warnings)
    }
}

fn check_map(key: &str, map: &BTreeMap<String, String>, roles: &[&str], errors: &mut Vec<(String, String)>) {
    let mut seen: Vec<String> = Vec::new();
    for (value, role) in map {
        let folded = value.trim().to_ascii_lowercase();
        if folded.is_empty() {
            errors.push((key.to_string(), "role values must not be empty".into()));
        } else if seen.contains(&folded) {
            errors
                .push((key.to_string(), format!("`{value}` is mapped twice (values compare ignoring case)")));
        } else {
            seen.push(folded);
        }
        if !roles.contains(&role.as_str()) {
            errors.push((
                key.to_string(),
                format!("`{value}` = `{role}`: the org role must be one of {}", roles.join(", ")),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &[&str] = &["Viewer", "Editor", "Admin", "None"];

    fn cfg(text: &str) -> RolesConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn namespace_maps_lay_over_the_global_one() {
        let c = cfg("enabled = true\n[map]\n\"A\" = \"Admin\"\n\"e\" = \"Editor\"\n\
                     [namespaces.\"org-2\".map]\n\"E\" = \"Viewer\"\n\"x\" = \"None\"\n");
        let one = c.map_for(1);
        assert_eq!(one.get("a").map(String::as_str), Some("Admin"));
        assert_eq!(one.get("e").map(String::as_str), Some("Editor"));
        assert!(!one.contains_key("x"));
        let two = c.map_for(2);
        assert_eq!(two.get("e").map(String::as_str), Some("Viewer"));
        assert_eq!(two.get("x").map(String::as_str), Some("None"));
        assert_eq!(two.get("a").map(String::as_str), Some("Admin"));
        assert_eq!(c.all_values(), vec!["A", "e", "x"]);
        assert!(c.check(ROLES).0.is_empty());
    }

    #[test]
    fn bad_roles_namespaces_and_duplicates_are_errors() {
        let c = cfg("enabled = true\ngrafana_admin_values = [\"s\", \"S\", \" \"]\n[map]\n\"a\" = \"admin\"\n\"A\" = \"Admin\"\n\
                     [namespaces.\"stack-1\".map]\n\"b\" = \"Owner\"\n");
        let (errors, _) = c.check(ROLES);
        let text: Vec<String> = errors.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        assert!(text.iter().any(|t| t.contains("`a` = `admin`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("mapped twice")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("`stack-1` is not a namespace")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("`b` = `Owner`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("listed twice")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("must not be empty")), "{text:?}");
    }

    #[test]
    fn namespace_keys() {
        assert_eq!(crate::namespace::org_of("default"), Some(1));
        assert_eq!(crate::namespace::org_of("org-1"), Some(1));
        assert_eq!(crate::namespace::org_of("org-12"), Some(12));
        for bad in ["org-0", "org-", "org-x", "Default", "org--1"] {
            assert_eq!(crate::namespace::org_of(bad), None, "{bad}");
        }
    }
}
