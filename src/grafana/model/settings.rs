//! Settings shapes: `/api/frontend/settings`, `/api/admin/settings`, `/api/v1/sso-settings`.
//!
//! SSO settings values keep whatever JSON type they were saved with: typed when loaded from ini
//! (bools, durations as nanoseconds), often strings when saved through the API. The accessors
//! accept both.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The parts of `GET /api/frontend/settings` the sidecar reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FrontendSettings {
    pub build_info: BuildInfo,
    pub saml_enabled: bool,
    pub saml_name: Option<String>,
    pub license_info: LicenseInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: String,
    pub commit: String,
    /// `"Open Source"` or `"Enterprise"`.
    pub edition: String,
    pub env: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LicenseInfo {
    pub edition: String,
    pub enabled_features: BTreeMap<String, bool>,
}

impl FrontendSettings {
    pub fn is_enterprise(&self) -> bool {
        self.build_info.edition.eq_ignore_ascii_case("enterprise")
    }

    pub fn feature_enabled(&self, feature: &str) -> bool {
        self.license_info.enabled_features.get(feature).copied().unwrap_or(false)
    }
}

/// `GET /api/admin/settings`: section → key → string value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct AdminSettings(pub BTreeMap<String, BTreeMap<String, String>>);

impl AdminSettings {
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.0.get(section)?.get(key).map(String::as_str)
    }

    /// `"true"`/`"false"` (any case); `None` for anything else.
    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        parse_bool_str(self.get(section, key)?)
    }
}

/// One provider of `GET /api/v1/sso-settings[/:provider]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SsoSettings {
    pub id: String,
    pub provider: String,
    /// `"system"` or `"database"`.
    pub source: String,
    pub settings: Map<String, Value>,
}

fn parse_bool_str(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl SsoSettings {
    /// A bool given as `true` or `"true"`.
    pub fn bool_setting(&self, key: &str) -> Option<bool> {
        match self.settings.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool_str(s),
            _ => None,
        }
    }

    pub fn str_setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key)?.as_str()
    }

    /// A duration given as nanoseconds (number or digit string) or a humantime string (`"90s"`).
    pub fn duration_setting(&self, key: &str) -> Option<Duration> {
        match self.settings.get(key)? {
            Value::Number(n) => n.as_u64().map(Duration::from_nanos),
            Value::String(s) => {
                let s = s.trim();
                if s.len() > 64 {
                    return None;
                }
                match s.parse::<u64>() {
                    Ok(ns) => Some(Duration::from_nanos(ns)),
                    Err(_) => humantime::parse_duration(s).ok(),
                }
            }
            _ => None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.bool_setting("enabled").unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sso_values_are_read_leniently() {
        let s: SsoSettings = serde_json::from_str(
            r#"{"id":"","provider":"saml","source":"system","settings":{"enabled":"true","allowSignUp":false,
               "maxIssueDelay":90000000000,"metadataValidDuration":"48h","x":"90s","bad":[1]}}"#,
        )
        .unwrap();
        assert!(s.enabled());
        assert_eq!(s.bool_setting("allowSignUp"), Some(false));
        assert_eq!(s.duration_setting("maxIssueDelay"), Some(Duration::from_secs(90)));
        assert_eq!(s.duration_setting("metadataValidDuration"), Some(Duration::from_secs(48 * 3600)));
        assert_eq!(s.duration_setting("x"), Some(Duration::from_secs(90)));
        assert_eq!(s.duration_setting("bad"), None);
        assert_eq!(s.bool_setting("missing"), None);
    }

    #[test]
    fn frontend_and_admin_settings() {
        let f: FrontendSettings = serde_json::from_str(
            r#"{"buildInfo":{"version":"11.3.0","edition":"Enterprise"},"samlEnabled":true,
               "licenseInfo":{"enabledFeatures":{"saml":true,"teamsync":false}},"other":1}"#,
        )
        .unwrap();
        assert!(
            f.is_enterprise()
                && f.saml_enabled
                && f.feature_enabled("saml")
                && !f.feature_enabled("teamsync")
        );
        let a: AdminSettings =
            serde_json::from_str(r#"{"auth.saml":{"enabled":"TRUE","max_issue_delay":"90s"}}"#).unwrap();
        assert_eq!(a.get_bool("auth.saml", "enabled"), Some(true));
        assert_eq!(a.get("auth.saml", "max_issue_delay"), Some("90s"));
        assert_eq!(a.get("users", "x"), None);
    }
}
