//! SSO settings per provider (`/api/v1/sso-settings`): system defaults, database overrides saved
//! through PUT, and the secret redaction Grafana applies. Must not decide licensing: `state.rs`
//! filters the provider list.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// OAuth providers every edition offers, in Grafana's listing order.
pub const OAUTH_PROVIDERS: [&str; 6] = ["github", "gitlab", "google", "generic_oauth", "azuread", "okta"];

/// Grafana's redaction placeholder.
pub const REDACTED: &str = "*********";

const SECRET_KEYS: [&str; 4] = ["clientSecret", "certificate", "privateKey", "password"];

/// One provider's stored settings.
#[derive(Debug, Clone)]
pub struct SsoEntry {
    /// `""` for system settings, a generated id once saved.
    pub id: String,
    /// `system` or `database`.
    pub source: &'static str,
    /// camelCase settings.
    pub settings: Map<String, Value>,
}

/// All providers.
#[derive(Debug, Default)]
pub struct Sso {
    entries: BTreeMap<String, SsoEntry>,
}

fn system_saml(enabled: bool) -> Map<String, Value> {
    let v = json!({
        "enabled": enabled, "name": "SAML", "entityId": "", "singleLogout": false, "allowSignUp": true,
        "autoLogin": false, "allowIdpInitiated": false, "certificate": "emulator-certificate",
        "privateKey": "emulator-private-key", "signatureAlgorithm": "", "idpMetadataUrl": "https://idp.example.com/metadata",
        "maxIssueDelay": 90_000_000_000_i64, "metadataValidDuration": 172_800_000_000_000_i64,
        "assertionAttributeName": "displayName", "assertionAttributeLogin": "login",
        "assertionAttributeEmail": "email", "assertionAttributeGroups": "groups",
        "assertionAttributeRole": "", "assertionAttributeOrg": "", "nameIdFormat": "", "skipOrgRoleSync": false
    });
    v.as_object().cloned().unwrap_or_default()
}

fn system_oauth() -> Map<String, Value> {
    let v = json!({ "enabled": false, "clientId": "", "clientSecret": "", "allowSignUp": true, "autoLogin": false });
    v.as_object().cloned().unwrap_or_default()
}

impl Sso {
    /// System defaults for every provider.
    pub fn new(saml_enabled: bool) -> Self {
        let mut sso = Sso::default();
        for p in OAUTH_PROVIDERS {
            sso.reset(p, saml_enabled);
        }
        sso.reset("saml", saml_enabled);
        sso
    }

    /// Falls back to system settings (DELETE).
    pub fn reset(&mut self, provider: &str, saml_enabled: bool) {
        let settings = if provider == "saml" { system_saml(saml_enabled) } else { system_oauth() };
        self.entries.insert(provider.to_string(), SsoEntry { id: String::new(), source: "system", settings });
    }

    /// Saves settings (PUT); sending the redaction placeholder keeps a stored secret.
    pub fn save(&mut self, provider: &str, mut settings: Map<String, Value>, id: String) {
        if let Some(old) = self.entries.get(provider) {
            for key in SECRET_KEYS {
                if settings.get(key).and_then(Value::as_str) == Some(REDACTED) {
                    if let Some(v) = old.settings.get(key) {
                        settings.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
        let id = match self.entries.get(provider) {
            Some(e) if !e.id.is_empty() => e.id.clone(),
            _ => id,
        };
        self.entries.insert(provider.to_string(), SsoEntry { id, source: "database", settings });
    }

    /// Sets the `enabled` key of a provider.
    pub fn set_enabled(&mut self, provider: &str, on: bool) {
        if let Some(e) = self.entries.get_mut(provider) {
            e.settings.insert("enabled".into(), Value::Bool(on));
        }
    }

    /// Provider's entry.
    pub fn get(&self, provider: &str) -> Option<&SsoEntry> {
        self.entries.get(provider)
    }

    /// JSON for GET, secrets redacted.
    pub fn render(&self, provider: &str) -> Option<Value> {
        let e = self.entries.get(provider)?;
        let mut settings = e.settings.clone();
        for key in SECRET_KEYS {
            if let Some(v) = settings.get_mut(key) {
                if v.as_str().map(|s| !s.is_empty()).unwrap_or(!v.is_null()) {
                    *v = Value::String(REDACTED.into());
                }
            }
        }
        Some(json!({ "id": e.id, "provider": provider, "settings": settings, "source": e.source }))
    }
}

/// Lenient boolean: `true`, `"true"`, `"1"`.
pub fn lenient_bool(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
        }
        Some(Value::Number(n)) => n.as_i64().map(|n| n != 0).unwrap_or(false),
        _ => false,
    }
}
