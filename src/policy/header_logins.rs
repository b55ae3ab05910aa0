//! Grafana's header-based logins as its settings (`GET /api/admin/settings`, section → key →
//! string) show them: `[auth.proxy]` trusts an identity header from any peer on its IP
//! allow-list, and behind the sidecar that peer is always the sidecar; `[auth.jwt]` reads a token
//! from a header. The edge ([`crate::edge`]) removes every header name found here from client
//! requests, and the `auth_proxy` check reports auth proxy switched on while SCIM is active.
//!
//! Pure: reads a settings document, never Grafana itself.

use serde::Serialize;
use serde_json::Value;

use super::saml::lenient_bool;
use super::Verdict;

/// What Grafana's settings say about header-based logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeaderLogins {
    /// `[auth.proxy] enabled` (`None`: the settings could not be read).
    pub auth_proxy_enabled: Option<bool>,
    /// Header names the settings name (lower case): `[auth.proxy] header_name`, the headers of
    /// `[auth.proxy] headers`, `[auth.jwt] header_name`.
    pub header_names: Vec<String>,
}

/// A section of the settings document, its name compared ignoring case.
fn section<'a>(settings: &'a Value, name: &str) -> Option<&'a serde_json::Map<String, Value>> {
    settings.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_object())
}

fn key<'a>(section: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    section.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Reads `settings` (`None`: Grafana's settings could not be read).
pub fn from_admin_settings(settings: Option<&Value>) -> HeaderLogins {
    let Some(settings) = settings else { return HeaderLogins::default() };
    let mut names = Vec::new();
    let mut push = |name: &str| {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    };
    let proxy = section(settings, "auth.proxy");
    // Grafana's default when the section says nothing.
    let mut enabled = Some(false);
    if let Some(proxy) = proxy {
        if let Some(v) = key(proxy, "enabled") {
            // A value Grafana would not read as false may be on.
            enabled = Some(lenient_bool(Some(v)).unwrap_or(true));
        }
        if let Some(name) = key(proxy, "header_name").and_then(Value::as_str) {
            push(name);
        }
        // `Field:Header` pairs separated by spaces or commas (Grafana's `util.SplitString`).
        if let Some(pairs) = key(proxy, "headers").and_then(Value::as_str) {
            for pair in pairs.split(|c: char| c == ',' || c.is_whitespace()) {
                if let Some((_, header)) = pair.split_once(':') {
                    push(header);
                }
            }
        }
    }
    if let Some(name) =
        section(settings, "auth.jwt").and_then(|jwt| key(jwt, "header_name")).and_then(Value::as_str)
    {
        push(name);
    }
    HeaderLogins { auth_proxy_enabled: enabled, header_names: names }
}

/// The `auth_proxy` check: violated while Grafana's auth proxy is on.
pub fn verdict(logins: &HeaderLogins) -> Verdict {
    match logins.auth_proxy_enabled {
        Some(false) => Verdict::Satisfied,
        Some(true) => Verdict::Violated(
            "Grafana's auth proxy is enabled ([auth.proxy] enabled = true): behind the sidecar its IP \
             allow-list only ever sees the sidecar, so it cannot tell who may assert an identity header, \
             and logins that bypass SAML bypass SCIM's deactivation too; disable it in Grafana"
                .into(),
        ),
        None => Verdict::Undetermined("cannot read Grafana's [auth.proxy] settings".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_header_names_and_the_auth_proxy_switch() {
        let s = json!({
            "auth.proxy": {"enabled": "true", "header_name": "X-Remote-User",
                "headers": "Email:X-User-Email Name:X-User-Name, Role:X-WEBAUTH-ROLE"},
            "auth.jwt": {"enabled": "false", "header_name": "X-JWT-Assertion"},
        });
        let l = from_admin_settings(Some(&s));
        assert_eq!(l.auth_proxy_enabled, Some(true));
        assert_eq!(
            l.header_names,
            ["x-remote-user", "x-user-email", "x-user-name", "x-webauth-role", "x-jwt-assertion"]
        );
        assert!(matches!(verdict(&l), Verdict::Violated(_)));
        let off = json!({"AUTH.PROXY": {"enabled": "false", "header_name": "X-WEBAUTH-USER"}, "auth.jwt": {"header_name": ""}});
        let l = from_admin_settings(Some(&off));
        assert_eq!((l.auth_proxy_enabled, l.header_names), (Some(false), vec!["x-webauth-user".to_string()]));
        assert_eq!(from_admin_settings(Some(&json!({}))).auth_proxy_enabled, Some(false));
        assert_eq!(
            from_admin_settings(Some(&json!({"auth.proxy": {"enabled": "maybe"}}))).auth_proxy_enabled,
            Some(true)
        );
        assert!(matches!(verdict(&from_admin_settings(None)), Verdict::Undetermined(_)));
    }
}
