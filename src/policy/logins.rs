//! Which login methods other than SAML are enabled (for `[policy] strict_saml_only` and `check`).
//!
//! Read from `GET /api/v1/sso-settings` (OAuth providers, `settings.enabled`) and
//! `GET /api/admin/settings` (the login form, LDAP, JWT, auth proxy, anonymous access).

use serde_json::Value;

use super::saml::lenient_bool;

/// Every enabled non-SAML login method, as human labels (e.g. `oauth:github`, `login form`).
pub fn other_methods(sso_list: Option<&Value>, admin_settings: Option<&Value>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(Value::Array(providers)) = sso_list {
        for p in providers {
            let name = p.get("provider").and_then(Value::as_str).unwrap_or("unknown");
            let enabled = lenient_bool(p.pointer("/settings/enabled")).unwrap_or(false);
            if enabled && name != "saml" {
                found.push(if name == "ldap" { "ldap".to_string() } else { format!("oauth:{name}") });
            }
        }
    }
    if let Some(settings) = admin_settings {
        let flag = |section: &str, key: &str| lenient_bool(settings.get(section).and_then(|s| s.get(key)));
        if flag("auth", "disable_login_form") == Some(false) && flag("auth", "disable_login") != Some(true) {
            found.push("login form".into());
        }
        for (section, label) in [
            ("auth.ldap", "ldap"),
            ("auth.jwt", "jwt"),
            ("auth.proxy", "auth proxy"),
            ("auth.anonymous", "anonymous"),
        ] {
            if flag(section, "enabled") == Some(true) && !found.iter().any(|f| f == label) {
                found.push(label.into());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_enabled_methods_only() {
        let sso = json!([
            {"provider": "github", "settings": {"enabled": true}},
            {"provider": "google", "settings": {"enabled": false}},
            {"provider": "saml", "settings": {"enabled": true}}
        ]);
        let admin = json!({"auth": {"disable_login_form": "false"}, "auth.anonymous": {"enabled": "true"},
            "auth.ldap": {"enabled": "false"}});
        assert_eq!(other_methods(Some(&sso), Some(&admin)), vec!["oauth:github", "login form", "anonymous"]);
        let locked = json!({"auth": {"disable_login_form": "true"}});
        assert!(other_methods(None, Some(&locked)).is_empty());
    }
}
