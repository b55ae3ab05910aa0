//! Is SAML Grafana's login method? Pure interpretation of what Grafana answered.
//!
//! Sources, in order of authority (grafana-scim.md §11, grafana-api.md §8–§9):
//! 1. `GET /api/v1/sso-settings/saml`: `settings.enabled` (Grafana 11+, licensed Enterprise). A 404
//!    `sso.notFound` means this Grafana cannot do SAML at all.
//! 2. `GET /api/admin/settings` → `auth.saml.enabled` (ini/env only; misses settings saved in the DB).
//! 3. `GET /api/frontend/settings` → `samlEnabled` and `licenseInfo.enabledFeatures.saml`.
//!
//! An enabled SAML must be confirmed by `/saml/metadata` answering with a valid SP
//! `EntityDescriptor` whose ACS is Grafana's `/saml/acs`.

use serde::Serialize;
use serde_json::Value;

use super::Verdict;

/// The default of Grafana's `assertion_attribute_external_uid`.
pub const DEFAULT_EXTERNAL_UID_ATTRIBUTE: &str = "userUID";

/// What one Grafana endpoint answered: a JSON body, "absent" (404 / route missing), or a failure.
#[derive(Debug, Clone)]
pub enum Answer<T> {
    Body(T),
    Absent,
    Failed(String),
}

impl<T> Answer<T> {
    pub fn as_body(&self) -> Option<&T> {
        match self {
            Answer::Body(b) => Some(b),
            _ => None,
        }
    }
}

/// The raw answers the SAML check reads.
#[derive(Debug, Clone)]
pub struct SamlObservations {
    pub sso_saml: Answer<Value>,
    pub admin_settings: Answer<Value>,
    pub frontend_settings: Answer<Value>,
    /// `Some(Ok(acs_url))` when the metadata parsed as an SP `EntityDescriptor`, `Some(Err(why))`
    /// when it did not, `None` when it was not fetched.
    pub metadata: Option<Result<String, String>>,
    /// The `entityID` of that SP metadata, when it parsed and named one.
    pub sp_entity_id: Option<String>,
}

/// Where the SAML verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SamlSource {
    SsoSettings,
    AdminSettings,
    FrontendSettings,
    None,
}

/// The SAML part of the policy report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamlState {
    pub verdict: Verdict,
    pub source: SamlSource,
    /// The assertion attribute carrying the external UID (`assertionAttributeExternalUid`).
    pub external_uid_attribute: String,
    /// The assertion attributes Grafana reads the login and email from, when known.
    pub login_attribute: Option<String>,
    pub email_attribute: Option<String>,
    /// SAML's `allow_sign_up`, when known.
    pub allow_sign_up: Option<bool>,
    /// `assertionAttributeGroups`: Team Sync may act at the next login when set.
    pub groups_attribute: Option<String>,
    /// The ACS URL from `/saml/metadata`, when it parsed.
    pub acs_url: Option<String>,
    /// Whether Grafana's settings name `external_uid_attribute` (false: it is Grafana's default).
    pub external_uid_attribute_named: bool,
    /// Grafana's SP entity id (the `entityID` of `/saml/metadata`), when it parsed.
    pub sp_entity_id: Option<String>,
    /// Where Grafana's SAML settings say the IdP metadata is, when readable.
    pub idp_metadata: Option<IdpMetadataSetting>,
    /// A file path Grafana reads the IdP metadata from (`idpMetadataPath` /
    /// `[auth.saml] idp_metadata_path`): the sidecar cannot read Grafana's file system.
    pub idp_metadata_path: Option<String>,
    /// Grafana's SAML org-role sync settings (all unset while SAML is not enabled).
    pub role_sync: super::role_sync::SamlRoleSync,
}

impl SamlState {
    /// A state that knows nothing beyond `verdict` and `source`: Grafana's defaults everywhere.
    pub fn bare(verdict: Verdict, source: SamlSource) -> Self {
        Self {
            verdict,
            source,
            external_uid_attribute: DEFAULT_EXTERNAL_UID_ATTRIBUTE.to_string(),
            login_attribute: None,
            email_attribute: None,
            allow_sign_up: None,
            groups_attribute: None,
            acs_url: None,
            external_uid_attribute_named: false,
            sp_entity_id: None,
            idp_metadata: None,
            idp_metadata_path: None,
            role_sync: super::role_sync::SamlRoleSync::default(),
        }
    }
}

/// The IdP metadata Grafana's SAML settings carry (SSO settings first, then `[auth.saml]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdpMetadataSetting {
    /// Inline metadata (`idpMetadata` / `idp_metadata`, base64-decoded); the XML is not serialised.
    Xml {
        setting: &'static str,
        #[serde(skip)]
        xml: String,
    },
    /// A URL to fetch it from (`idpMetadataUrl` / `idp_metadata_url`).
    Url { setting: &'static str, url: String },
}

/// Grafana's redaction placeholder for secrets in settings answers.
pub const REDACTED: &str = "*********";
/// Largest inline IdP metadata accepted from Grafana's settings.
const MAX_IDP_METADATA_BYTES: usize = 1024 * 1024;

/// A readable setting: non-blank and not redacted.
fn readable(value: Option<&Value>) -> Option<String> {
    lenient_string(value).filter(|s| s != REDACTED)
}

/// Inline metadata as Grafana stores it: base64 of the XML (raw XML is tolerated). Undecodable
/// text is kept as is, so the gate reports it as unparsable rather than silently absent.
fn decode_idp_metadata(value: &str) -> String {
    use base64::Engine;
    if value.trim_start().starts_with('<') {
        return value.to_string();
    }
    let cleaned: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| value.to_string())
}

/// The IdP metadata setting, in the order: SSO settings `idpMetadata`, `idpMetadataUrl`, then
/// admin settings `[auth.saml] idp_metadata`, `idp_metadata_url`. Redacted values are absent.
pub fn idp_metadata_setting(obs: &SamlObservations) -> Option<IdpMetadataSetting> {
    let sso = obs.sso_saml.as_body().and_then(|b| b.get("settings"));
    let admin = obs.admin_settings.as_body().and_then(|b| b.get("auth.saml"));
    let candidates: [(Option<&Value>, &str, &'static str, bool); 4] = [
        (sso, "idpMetadata", "sso_settings.idpMetadata", true),
        (sso, "idpMetadataUrl", "sso_settings.idpMetadataUrl", false),
        (admin, "idp_metadata", "admin_settings.auth.saml.idp_metadata", true),
        (admin, "idp_metadata_url", "admin_settings.auth.saml.idp_metadata_url", false),
    ];
    let read = |(section, key, setting, inline): (Option<&Value>, &str, &'static str, bool)| {
        let value = readable(section?.get(key))?;
        if inline {
            (value.len() <= MAX_IDP_METADATA_BYTES * 2)
                .then(|| IdpMetadataSetting::Xml { setting, xml: decode_idp_metadata(&value) })
        } else {
            Some(IdpMetadataSetting::Url { setting, url: value })
        }
    };
    let [a, b, c, d] = candidates;
    if let Some(found) = read(a).or_else(|| read(b)) {
        return Some(found);
    }
    // SSO settings that name a file path are what Grafana uses: the ini's values do not apply.
    if readable(sso.and_then(|s| s.get("idpMetadataPath"))).is_some() {
        return None;
    }
    read(c).or_else(|| read(d))
}

/// The file path Grafana's SAML settings read the IdP metadata from, if any.
pub fn idp_metadata_path(obs: &SamlObservations) -> Option<String> {
    let sso = obs.sso_saml.as_body().and_then(|b| b.get("settings"));
    let admin = obs.admin_settings.as_body().and_then(|b| b.get("auth.saml"));
    readable(sso.and_then(|s| s.get("idpMetadataPath")))
        .or_else(|| readable(admin.and_then(|s| s.get("idp_metadata_path"))))
}

/// A setting that may arrive as `true`, `"true"`, `"True"`, `1` or `"1"`.
pub fn lenient_bool(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" | "" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

/// A non-empty string setting.
pub fn lenient_string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Reads a key from SSO settings (camelCase) or admin settings (snake_case).
fn setting<'a>(settings: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    settings.get(camel).or_else(|| settings.get(snake))
}

/// Interprets the observations.
pub fn evaluate(obs: &SamlObservations) -> SamlState {
    let (enabled, source, settings): (Option<bool>, SamlSource, Option<&Value>) = match &obs.sso_saml {
        Answer::Body(body) => {
            let settings = body.get("settings");
            (lenient_bool(settings.and_then(|s| s.get("enabled"))), SamlSource::SsoSettings, settings)
        }
        _ => match obs.admin_settings.as_body().and_then(|b| b.get("auth.saml")) {
            Some(section) => (lenient_bool(section.get("enabled")), SamlSource::AdminSettings, Some(section)),
            None => match obs.frontend_settings.as_body() {
                // Open-source Grafana reports `samlEnabled: false`; a missing key means the same.
                Some(fe) => (
                    Some(lenient_bool(fe.get("samlEnabled")).unwrap_or(false)),
                    SamlSource::FrontendSettings,
                    None,
                ),
                None => (None, SamlSource::None, None),
            },
        },
    };
    let text = |camel: &str, snake: &str| settings.and_then(|s| lenient_string(setting(s, camel, snake)));
    let external_uid = text("assertionAttributeExternalUid", "assertion_attribute_external_uid");
    let mut state = SamlState {
        verdict: Verdict::Satisfied,
        source,
        external_uid_attribute_named: external_uid.is_some(),
        external_uid_attribute: external_uid.unwrap_or_else(|| DEFAULT_EXTERNAL_UID_ATTRIBUTE.to_string()),
        login_attribute: text("assertionAttributeLogin", "assertion_attribute_login"),
        email_attribute: text("assertionAttributeEmail", "assertion_attribute_email"),
        allow_sign_up: settings.and_then(|s| lenient_bool(setting(s, "allowSignUp", "allow_sign_up"))),
        groups_attribute: text("assertionAttributeGroups", "assertion_attribute_groups"),
        acs_url: obs.metadata.as_ref().and_then(|m| m.as_ref().ok().cloned()),
        sp_entity_id: obs.sp_entity_id.clone().filter(|_| matches!(obs.metadata, Some(Ok(_)))),
        idp_metadata: idp_metadata_setting(obs),
        idp_metadata_path: idp_metadata_path(obs),
        role_sync: if enabled == Some(true) {
            super::role_sync::SamlRoleSync::read(settings)
        } else {
            super::role_sync::SamlRoleSync::default()
        },
    };
    state.verdict = match (enabled, source) {
        (Some(true), _) => match &obs.metadata {
            Some(Ok(_)) => Verdict::Satisfied,
            Some(Err(why)) => Verdict::Violated(format!(
                "SAML is enabled in Grafana's settings but /saml/metadata is not valid SP metadata ({why}); \
                 check Grafana's SAML certificate, key and licence"
            )),
            None => Verdict::Undetermined("SAML is enabled but /saml/metadata was not checked".into()),
        },
        (Some(false), _) if no_saml_support(obs) => Verdict::Violated(
            "this Grafana cannot authenticate with SAML (no SAML SSO settings: open-source or unlicensed Grafana); \
             SCIM provisioning needs SAML logins"
                .into(),
        ),
        (Some(false), _) => Verdict::Violated(format!(
            "SAML authentication is disabled in Grafana (source: {}); enable [auth.saml] or the SAML SSO settings, \
             since SCIM provisioning only works with SAML logins",
            source_label(source)
        )),
        (None, _) => Verdict::Undetermined(undetermined_reason(obs)),
    };
    state
}

/// The SSO settings API exists but has no SAML provider, and nothing else mentions SAML.
fn no_saml_support(obs: &SamlObservations) -> bool {
    matches!(obs.sso_saml, Answer::Absent)
        && obs.admin_settings.as_body().and_then(|b| b.get("auth.saml")).is_none()
        && !matches!(obs.frontend_settings, Answer::Failed(_))
}

fn undetermined_reason(obs: &SamlObservations) -> String {
    let failures: Vec<&str> = [&obs.sso_saml, &obs.admin_settings, &obs.frontend_settings]
        .iter()
        .filter_map(|a| match a {
            Answer::Failed(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if failures.is_empty() {
        "Grafana's answers do not say whether SAML is enabled".into()
    } else {
        format!("cannot ask Grafana whether SAML is enabled: {}", failures.join("; "))
    }
}

fn source_label(source: SamlSource) -> &'static str {
    match source {
        SamlSource::SsoSettings => "SSO settings API",
        SamlSource::AdminSettings => "[auth.saml] in Grafana's configuration",
        SamlSource::FrontendSettings => "frontend settings",
        SamlSource::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(sso: Answer<Value>) -> SamlObservations {
        SamlObservations {
            sso_saml: sso,
            admin_settings: Answer::Absent,
            frontend_settings: Answer::Body(json!({"samlEnabled": false})),
            metadata: Some(Ok("https://g.example/saml/acs".into())),
            sp_entity_id: Some("https://g.example/saml/metadata".into()),
        }
    }

    #[test]
    fn sso_settings_enabled_with_valid_metadata_is_satisfied() {
        let s = evaluate(&obs(Answer::Body(json!({"settings": {"enabled": "true", "allowSignUp": false,
            "assertionAttributeExternalUid": "objectid", "assertionAttributeGroups": "groups"}}))));
        assert_eq!(s.verdict, Verdict::Satisfied);
        assert_eq!(s.source, SamlSource::SsoSettings);
        assert_eq!(s.external_uid_attribute, "objectid");
        assert_eq!(s.allow_sign_up, Some(false));
        assert_eq!(s.groups_attribute.as_deref(), Some("groups"));
    }

    #[test]
    fn external_uid_defaults_to_user_uid() {
        let s = evaluate(&obs(Answer::Body(json!({"settings": {"enabled": true}}))));
        assert_eq!(s.external_uid_attribute, "userUID");
    }

    #[test]
    fn disabled_is_violated_and_oss_is_violated() {
        let s = evaluate(&obs(Answer::Body(json!({"settings": {"enabled": false}}))));
        assert!(matches!(s.verdict, Verdict::Violated(ref r) if r.contains("disabled")));
        let mut o = obs(Answer::Absent);
        o.frontend_settings = Answer::Body(json!({"buildInfo": {"edition": "Open Source"}}));
        let s = evaluate(&o);
        assert!(
            matches!(s.verdict, Verdict::Violated(ref r) if r.contains("cannot authenticate with SAML")),
            "{s:?}"
        );
    }

    #[test]
    fn admin_settings_are_the_fallback() {
        let mut o = obs(Answer::Failed("403".into()));
        o.admin_settings = Answer::Body(json!({"auth.saml": {"enabled": "true", "allow_sign_up": "false"}}));
        let s = evaluate(&o);
        assert_eq!(s.source, SamlSource::AdminSettings);
        assert_eq!(s.verdict, Verdict::Satisfied);
        assert_eq!(s.allow_sign_up, Some(false));
    }

    #[test]
    fn enabled_but_broken_metadata_is_violated() {
        let mut o = obs(Answer::Body(json!({"settings": {"enabled": true}})));
        o.metadata = Some(Err("404".into()));
        assert!(matches!(evaluate(&o).verdict, Verdict::Violated(_)));
    }

    #[test]
    fn grafana_down_is_undetermined() {
        let o = SamlObservations {
            sso_saml: Answer::Failed("connection refused".into()),
            admin_settings: Answer::Failed("connection refused".into()),
            frontend_settings: Answer::Failed("connection refused".into()),
            metadata: None,
            sp_entity_id: None,
        };
        let s = evaluate(&o);
        assert!(matches!(s.verdict, Verdict::Undetermined(ref r) if r.contains("connection refused")));
    }

    #[test]
    fn idp_metadata_comes_from_sso_settings_then_admin_settings() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode("<EntityDescriptor/>");
        let mut o = obs(Answer::Body(json!({"settings": {"enabled": true, "idpMetadata": b64,
            "idpMetadataUrl": "https://idp/md"}})));
        o.admin_settings = Answer::Body(json!({"auth.saml": {"idp_metadata_url": "https://admin/md"}}));
        let xml = |setting| IdpMetadataSetting::Xml { setting, xml: "<EntityDescriptor/>".into() };
        assert_eq!(evaluate(&o).idp_metadata, Some(xml("sso_settings.idpMetadata")));

        // Redacted inline metadata is absent: the URL is next.
        o.sso_saml = Answer::Body(json!({"settings": {"enabled": true, "idpMetadata": REDACTED,
            "idpMetadataUrl": "https://idp/md"}}));
        let url = |setting, url: &str| IdpMetadataSetting::Url { setting, url: url.into() };
        assert_eq!(evaluate(&o).idp_metadata, Some(url("sso_settings.idpMetadataUrl", "https://idp/md")));

        o.sso_saml = Answer::Body(json!({"settings": {"enabled": true, "idpMetadata": REDACTED}}));
        let s = evaluate(&o);
        assert_eq!(
            s.idp_metadata,
            Some(url("admin_settings.auth.saml.idp_metadata_url", "https://admin/md"))
        );

        o.admin_settings = Answer::Body(json!({"auth.saml": {"idp_metadata": "<EntityDescriptor/>"}}));
        assert_eq!(evaluate(&o).idp_metadata, Some(xml("admin_settings.auth.saml.idp_metadata")));
        o.admin_settings = Answer::Failed("403".into());
        assert_eq!(evaluate(&o).idp_metadata, None);
    }

    #[test]
    fn external_uid_and_sp_entity_id_are_recorded() {
        let s = evaluate(&obs(Answer::Body(json!({"settings": {"enabled": true}}))));
        assert!(!s.external_uid_attribute_named);
        assert_eq!(s.sp_entity_id.as_deref(), Some("https://g.example/saml/metadata"));
        let s = evaluate(&obs(Answer::Body(
            json!({"settings": {"enabled": true, "assertionAttributeExternalUid": "oid"}}),
        )));
        assert!(s.external_uid_attribute_named);
        let mut o = obs(Answer::Body(json!({"settings": {"enabled": true}})));
        o.metadata = Some(Err("broken".into()));
        assert_eq!(evaluate(&o).sp_entity_id, None);
    }

    #[test]
    fn lenient_bools() {
        assert_eq!(lenient_bool(Some(&json!("True"))), Some(true));
        assert_eq!(lenient_bool(Some(&json!(0))), Some(false));
        assert_eq!(lenient_bool(Some(&json!("maybe"))), None);
        assert_eq!(lenient_bool(None), None);
    }
}
