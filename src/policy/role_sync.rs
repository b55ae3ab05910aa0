//! The `role_sync` check: SCIM role sync (`[scim.roles] enabled`) must not run while Grafana's
//! own SAML role sync is active, since Grafana would overwrite SCIM's org roles at every login.
//! Pure interpretation of the SAML settings Grafana answered (`/api/v1/sso-settings/saml`, else
//! `[auth.saml]` of `/api/admin/settings`; see [`super::saml`]).
//!
//! Grafana syncs SAML org roles when `skip_org_role_sync` is false and the assertion names a role
//! (`assertion_attribute_role`) or orgs (`assertion_attribute_org`, `org_mapping`).

use serde::Serialize;
use serde_json::Value;

use super::saml::{lenient_bool, lenient_string};
use super::Verdict;

/// Grafana's SAML org-role sync settings, as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SamlRoleSync {
    /// `assertion_attribute_role` / `assertionAttributeRole`.
    pub role_attribute: Option<String>,
    /// `assertion_attribute_org` / `assertionAttributeOrg`.
    pub org_attribute: Option<String>,
    /// `org_mapping` / `orgMapping` (present or not; its value is not kept).
    pub org_mapping: bool,
    /// `skip_org_role_sync` / `skipOrgRoleSync` (`None`: not said, Grafana's default false).
    pub skip_org_role_sync: Option<bool>,
}

impl SamlRoleSync {
    /// Reads the settings object of either source (camelCase or snake_case keys).
    pub fn read(settings: Option<&Value>) -> Self {
        let Some(s) = settings else { return Self::default() };
        let get = |camel: &str, snake: &str| s.get(camel).or_else(|| s.get(snake));
        Self {
            role_attribute: lenient_string(get("assertionAttributeRole", "assertion_attribute_role")),
            org_attribute: lenient_string(get("assertionAttributeOrg", "assertion_attribute_org")),
            org_mapping: match get("orgMapping", "org_mapping") {
                Some(Value::String(m)) => !m.trim().is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Null) | None => false,
                Some(_) => true,
            },
            skip_org_role_sync: lenient_bool(get("skipOrgRoleSync", "skip_org_role_sync")),
        }
    }

    /// Whether Grafana would set org roles from SAML at each login.
    pub fn active(&self) -> bool {
        !self.skip_org_role_sync.unwrap_or(false)
            && (self.role_attribute.is_some() || self.org_attribute.is_some() || self.org_mapping)
    }

    /// The settings that turn it on, for the reason text.
    fn sources(&self) -> String {
        let mut out = Vec::new();
        if let Some(a) = &self.role_attribute {
            out.push(format!("assertion_attribute_role = {a:?}"));
        }
        if let Some(a) = &self.org_attribute {
            out.push(format!("assertion_attribute_org = {a:?}"));
        }
        if self.org_mapping {
            out.push("org_mapping".to_string());
        }
        out.join(", ")
    }
}

/// The `role_sync` verdict: `saml` is the SAML check's own verdict (SAML off means no SAML role
/// sync; SAML unknown means role sync unknown too).
pub fn verdict(saml: &Verdict, settings: &SamlRoleSync) -> Verdict {
    match saml {
        Verdict::Undetermined(reason) => {
            Verdict::Undetermined(format!("cannot tell whether Grafana's SAML role sync is on: {reason}"))
        }
        _ if settings.active() => Verdict::Violated(format!(
            "Grafana's SAML role sync is on ({}, skip_org_role_sync = false) and would overwrite the org \
             roles SCIM assigns at every login; set skip_org_role_sync = true in Grafana's SAML settings \
             ([auth.saml] skip_org_role_sync, or skipOrgRoleSync in the SAML SSO settings), or set \
             [scim.roles] enabled = false in the sidecar",
            settings.sources()
        )),
        _ => Verdict::Satisfied,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn role_attribute_or_org_mapping_without_skip_is_active() {
        let s =
            SamlRoleSync::read(Some(&json!({"assertionAttributeRole": "role", "skipOrgRoleSync": false})));
        assert!(s.active());
        let v = verdict(&Verdict::Satisfied, &s);
        assert!(
            matches!(&v, Verdict::Violated(r) if r.contains("assertion_attribute_role = \"role\"") && r.contains("skip_org_role_sync = true")),
            "{v:?}"
        );
        let s =
            SamlRoleSync::read(Some(&json!({"org_mapping": "Org:2:Editor", "skip_org_role_sync": "false"})));
        assert!(s.active());
        let s = SamlRoleSync::read(Some(&json!({"assertion_attribute_org": "orgs"})));
        assert!(s.active(), "skip defaults to false");
    }

    #[test]
    fn skipped_or_unconfigured_is_satisfied() {
        let s =
            SamlRoleSync::read(Some(&json!({"assertionAttributeRole": "role", "skipOrgRoleSync": "true"})));
        assert!(!s.active());
        let s = SamlRoleSync::read(Some(&json!({"assertionAttributeRole": "", "assertionAttributeOrg": " ",
            "orgMapping": "", "skipOrgRoleSync": false})));
        assert!(!s.active());
        assert_eq!(verdict(&Verdict::Satisfied, &s), Verdict::Satisfied);
        assert_eq!(
            verdict(&Verdict::Violated("saml off".into()), &SamlRoleSync::default()),
            Verdict::Satisfied
        );
        assert!(matches!(verdict(&Verdict::Undetermined("down".into()), &s), Verdict::Undetermined(_)));
    }
}
