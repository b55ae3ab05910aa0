//! The gate's effective settings: each one from `[saml_gate]` when set, else from what Grafana
//! says (its SAML settings and `/saml/metadata`, as recorded in the policy report), else from
//! Grafana's documented default. Also the gate's part of `scim-sidecar check`.
//!
//! Pure: takes the configuration and an already observed [`SamlState`]; never asks Grafana and
//! never verifies anything.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::config::SamlGateConfig;
use crate::policy::saml::{IdpMetadataSetting, SamlSource, SamlState, DEFAULT_EXTERNAL_UID_ATTRIBUTE};

/// Grafana's default for `assertion_attribute_login` and `assertion_attribute_email`.
pub const DEFAULT_MAIL_ATTRIBUTE: &str = "mail";

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Config,
    Grafana,
    Default,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Grafana => "grafana",
            Origin::Default => "default",
        }
    }
}

/// One effective value and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced {
    pub value: String,
    pub origin: Origin,
}

/// Where the IdP metadata comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum IdpPlan {
    ConfigUrl {
        url: String,
    },
    ConfigFile {
        path: PathBuf,
    },
    ConfigXml,
    /// Grafana's SAML settings (`setting` names the key).
    Grafana(IdpMetadataSetting),
    /// Nothing configured and nothing readable in Grafana: every login is refused.
    None,
}

/// The attribute names the identity is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeNames {
    pub external_uid: Sourced,
    pub login: Sourced,
    pub email: Sourced,
}

/// Everything the gate checks a login against, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateSettings {
    pub attributes: AttributeNames,
    /// Our SP entity id, the only audience accepted.
    pub audience: Sourced,
    /// The URL `Recipient` and `Destination` must name.
    pub acs_url: Sourced,
    pub idp_metadata: IdpPlan,
    /// Some value had to come from Grafana, but Grafana's SAML settings could not be read at
    /// all (Grafana down or too slow): the gate cannot know what Grafana would do, so it refuses.
    pub grafana_unreadable: bool,
}

/// Whether resolving needs the policy report at all (some value is not configured).
pub fn needs_grafana(cfg: &SamlGateConfig) -> bool {
    cfg.external_uid_attribute.is_none()
        || cfg.login_attribute.is_none()
        || cfg.email_attribute.is_none()
        || cfg.audience.is_none()
        || (cfg.idp_metadata_url.is_none()
            && cfg.idp_metadata_file.is_none()
            && cfg.idp_metadata_xml.is_none())
}

fn pick(configured: Option<&String>, grafana: Option<&str>, default: &str) -> Sourced {
    let configured = configured.map(|v| v.trim()).filter(|v| !v.is_empty());
    let grafana = grafana.map(str::trim).filter(|v| !v.is_empty());
    match (configured, grafana) {
        (Some(v), _) => Sourced { value: v.to_string(), origin: Origin::Config },
        (None, Some(v)) => Sourced { value: v.to_string(), origin: Origin::Grafana },
        (None, None) => Sourced { value: default.to_string(), origin: Origin::Default },
    }
}

/// Resolves every setting: `[saml_gate]` → Grafana (`saml`, when observed) → Grafana's default.
pub fn resolve(cfg: &SamlGateConfig, grafana_url: &str, saml: Option<&SamlState>) -> GateSettings {
    let uid_from_grafana =
        saml.filter(|s| s.external_uid_attribute_named).map(|s| s.external_uid_attribute.as_str());
    let attributes = AttributeNames {
        external_uid: pick(
            cfg.external_uid_attribute.as_ref(),
            uid_from_grafana,
            DEFAULT_EXTERNAL_UID_ATTRIBUTE,
        ),
        login: pick(
            cfg.login_attribute.as_ref(),
            saml.and_then(|s| s.login_attribute.as_deref()),
            DEFAULT_MAIL_ATTRIBUTE,
        ),
        email: pick(
            cfg.email_attribute.as_ref(),
            saml.and_then(|s| s.email_attribute.as_deref()),
            DEFAULT_MAIL_ATTRIBUTE,
        ),
    };
    let base = grafana_url.trim_end_matches('/');
    let grafana_sp = saml.and_then(|s| Some((s.sp_entity_id.clone()?, s.acs_url.clone()?)));
    let (audience, acs_url) = match (&cfg.audience, grafana_sp) {
        (Some(audience), _) => {
            let acs = match audience.strip_suffix("/saml/metadata") {
                Some(root) => format!("{root}{}", cfg.acs_path),
                None => format!("{base}{}", cfg.acs_path),
            };
            (
                Sourced { value: audience.clone(), origin: Origin::Config },
                Sourced { value: acs, origin: Origin::Config },
            )
        }
        (None, Some((entity, acs))) => (
            Sourced { value: entity, origin: Origin::Grafana },
            Sourced { value: acs, origin: Origin::Grafana },
        ),
        (None, None) => (
            Sourced { value: format!("{base}/saml/metadata"), origin: Origin::Default },
            Sourced { value: format!("{base}{}", cfg.acs_path), origin: Origin::Default },
        ),
    };
    let idp_metadata = if let Some(url) = &cfg.idp_metadata_url {
        IdpPlan::ConfigUrl { url: url.clone() }
    } else if let Some(path) = &cfg.idp_metadata_file {
        IdpPlan::ConfigFile { path: path.clone() }
    } else if cfg.idp_metadata_xml.is_some() {
        IdpPlan::ConfigXml
    } else {
        saml.and_then(|s| s.idp_metadata.clone()).map_or(IdpPlan::None, IdpPlan::Grafana)
    };
    let grafana_unreadable = needs_grafana(cfg) && saml.is_none_or(|s| s.source == SamlSource::None);
    GateSettings { attributes, audience, acs_url, idp_metadata, grafana_unreadable }
}

/// What `check-config`, the start-up log, `/readyz` and `check` say when the gate is off while
/// SCIM is configured.
pub const GATE_OFF_WARNING: &str = "[saml_gate] enabled = false while SCIM is configured: users SCIM \
     deactivated or deleted can still sign in with SAML (Grafana keeps their accounts); set \
     [saml_gate] enabled = true";

/// The gate's part of `scim-sidecar check`.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    pub enabled: bool,
    pub acs_path: String,
    #[serde(flatten)]
    pub settings: GateSettings,
    pub sp_key_configured: bool,
    pub reject_non_provisioned_users: bool,
    /// Problems that would make the gate refuse every login (reported, not fatal).
    pub warnings: Vec<String>,
}

impl GateReport {
    /// Builds the report from the configuration and one observation of Grafana.
    pub fn new(cfg: &SamlGateConfig, grafana_url: &str, saml: &SamlState) -> Self {
        let settings = resolve(cfg, grafana_url, Some(saml));
        let mut warnings = Vec::new();
        if cfg.enabled {
            if settings.grafana_unreadable {
                warnings.push(
                    "Grafana's SAML settings cannot be read: the gate refuses every login until they can, \
                     or until every [saml_gate] value is configured"
                        .to_string(),
                );
            }
            match &settings.idp_metadata {
                IdpPlan::None if saml.idp_metadata_path.is_some() => warnings.push(format!(
                    "Grafana reads the IdP metadata from the file {}, which the sidecar cannot read: \
                     every SAML login is refused until [saml_gate] idp_metadata_file (a copy of that \
                     file), idp_metadata_url or idp_metadata_xml is set",
                    saml.idp_metadata_path.as_deref().unwrap_or_default()
                )),
                IdpPlan::None => warnings.push(
                    "no IdP metadata: none is configured and Grafana's SAML settings carry none readable \
                     (idpMetadata may be redacted); set [saml_gate] idp_metadata_url, idp_metadata_file or \
                     idp_metadata_xml, or every SAML login is refused"
                        .to_string(),
                ),
                IdpPlan::Grafana(IdpMetadataSetting::Xml { setting, xml }) => {
                    if let Err(e) = super::metadata::parse(xml) {
                        warnings.push(format!("the IdP metadata in Grafana's {setting} is unusable: {e}"));
                    }
                }
                _ => {}
            }
            if settings.audience.origin == Origin::Default {
                warnings.push(format!(
                    "the audience cannot be read from Grafana's /saml/metadata; falling back to {} \
                     (set [saml_gate] audience if Grafana's root_url differs from [grafana] url)",
                    settings.audience.value
                ));
            }
        }
        Self {
            enabled: cfg.enabled,
            acs_path: cfg.acs_path.clone(),
            settings,
            sp_key_configured: cfg.sp_private_key_file.is_some(),
            reject_non_provisioned_users: cfg.reject_non_provisioned_users,
            warnings,
        }
    }

    /// Adds the warning for a gate turned off while SCIM is configured.
    #[must_use]
    pub fn with_scim_active(mut self, scim_active: bool) -> Self {
        if !self.enabled && scim_active {
            self.warnings.push(GATE_OFF_WARNING.to_string());
        }
        self
    }

    /// Human-readable lines for `check`.
    pub fn human(&self) -> String {
        let mut out = String::from("SAML login gate\n");
        if !self.enabled {
            out.push_str("  disabled ([saml_gate] enabled = false)\n");
            for w in &self.warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
            return out;
        }
        let s = &self.settings;
        let line = |out: &mut String, name: &str, v: &Sourced| {
            let _ = writeln!(out, "  {name}: {} (from {})", v.value, v.origin.label());
        };
        let _ = writeln!(out, "  enabled: yes (intercepts POST {})", self.acs_path);
        line(&mut out, "audience", &s.audience);
        line(&mut out, "acs url", &s.acs_url);
        line(&mut out, "external uid attribute", &s.attributes.external_uid);
        line(&mut out, "login attribute", &s.attributes.login);
        line(&mut out, "email attribute", &s.attributes.email);
        let idp = match &s.idp_metadata {
            IdpPlan::ConfigUrl { url } => format!("{url} (from config idp_metadata_url)"),
            IdpPlan::ConfigFile { path } => format!("{} (from config idp_metadata_file)", path.display()),
            IdpPlan::ConfigXml => "inline (from config idp_metadata_xml)".to_string(),
            IdpPlan::Grafana(IdpMetadataSetting::Xml { setting, .. }) => {
                format!("inline (from grafana {setting})")
            }
            IdpPlan::Grafana(IdpMetadataSetting::Url { setting, url }) => {
                format!("{url} (from grafana {setting})")
            }
            IdpPlan::None => "none: every login is refused".to_string(),
        };
        let _ = writeln!(out, "  idp metadata: {idp}");
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let _ = writeln!(out, "  sp key for encrypted assertions: {}", yes_no(self.sp_key_configured));
        let _ =
            writeln!(out, "  reject non-provisioned users: {}", yes_no(self.reject_non_provisioned_users));
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        out
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
