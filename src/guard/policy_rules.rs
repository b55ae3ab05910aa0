//! The policy's passthrough rules: Grafana API calls that would break the policy while SCIM is
//! active are refused before they reach Grafana, with a Grafana-style `{"message": …}` 403. The
//! policy's verdicts come as a [`Snapshot`]; [`decide`] is pure.
//!
//! Refused while SCIM group sync is on, Team Sync links: `POST /api/teams/:id/groups`, and in
//! Grafana's Kubernetes-style identity API (`/apis/iam.grafana.app/…`) writes to
//! `externalgroupmappings` and team writes whose `spec.externalGroups` name groups. Refused while
//! SAML is required, whatever could turn it off: `PUT`/`PATCH`/`DELETE /api/v1/sso-settings/saml`
//! whose body disables it (`PATCH`, 13.x, merges `settings`), Enterprise's deprecated
//! `PUT /api/admin/settings` that sets or removes `auth.saml` `enabled`, and any write to the
//! identity API's SAML `ssosettings`, whose body this guard does not read.
//! `api_path` is the request path as Grafana's router resolves it (percent-decoded, without
//! Grafana's sub-path: [`crate::route_path`]); segments match case-insensitively, ignoring empty
//! ones. Must not touch any other request.

use http::{Method, StatusCode};
use serde_json::Value;

use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::Write;
use crate::policy::Snapshot;

mod saml_body;

/// The path's segments, lowercased, without empty ones.
fn segments(api_path: &str) -> Vec<String> {
    crate::route_path::segments(api_path).map(str::to_ascii_lowercase).collect()
}

fn is_saml_sso_settings(segs: &[String]) -> bool {
    matches!(segs, [a, v, s, p] if a == "api" && v == "v1" && s == "sso-settings" && p == "saml")
}

fn is_team_groups(segs: &[String]) -> bool {
    matches!(segs, [a, t, _, g] if a == "api" && t == "teams" && g == "groups")
}

/// The resource and object name of a path in Grafana's Kubernetes-style identity API
/// (`/apis/iam.grafana.app/<version>/namespaces/<ns>/<resource>[/<name>…]`).
fn identity_api_object(segs: &[String]) -> Option<(&str, Option<&str>)> {
    match segs {
        [a, g, _, n, _, resource, rest @ ..]
            if a == "apis"
                && (g == "iam.grafana.app" || g == "identity.grafana.app")
                && n == "namespaces" =>
        {
            Some((resource.as_str(), rest.first().map(String::as_str)))
        }
        _ => None,
    }
}

/// A write that creates or replaces a team in the identity API, whose `spec.externalGroups` are
/// Team Sync links.
fn is_identity_team_write(method: &Method, segs: &[String]) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
        && identity_api_object(segs).is_some_and(|(resource, _)| resource == "teams")
}

/// Enterprise's deprecated runtime settings update, `PUT /api/admin/settings` (only the
/// `auth.saml` section), still served in 12.x.
fn is_admin_settings(method: &Method, segs: &[String]) -> bool {
    method == Method::PUT && matches!(segs, [a, b, c] if a == "api" && b == "admin" && c == "settings")
}

/// Whether [`decide`] may refuse `method api_path`, whatever the body (a superset).
pub fn guards(method: &Method, api_path: &str) -> bool {
    if !super::may_refuse(method) {
        return false;
    }
    let segs = segments(api_path);
    (method == Method::POST && is_team_groups(&segs))
        || identity_api_object(&segs).is_some_and(|(resource, _)| {
            matches!(resource, "externalgroupmappings" | "ssosettings" | "teams")
        })
        || is_admin_settings(method, &segs)
        || is_saml_sso_settings(&segs)
}

/// Whether [`decide`] needs the request body for this request.
pub fn wants_body(method: &Method, api_path: &str) -> bool {
    let segs = segments(api_path);
    (matches!(*method, Method::PUT | Method::PATCH) && is_saml_sso_settings(&segs))
        || is_identity_team_write(method, &segs)
        || is_admin_settings(method, &segs)
}

/// A runtime settings update (`{"updates": {"auth.saml": {"enabled": "false"}}, "removals":
/// {"auth.saml": ["enabled"]}}`) that could leave SAML disabled: it sets SAML's `enabled` to
/// anything but `"true"` (or through two keys that mean `enabled`), or removes it (the ini value,
/// which may be off, takes over), or cannot be read as Grafana reads it ([`saml_body`]: duplicate
/// `updates`/`removals` members merge). Section names compare trimmed and ignoring case, more
/// broadly than Grafana's exact map keys.
fn settings_update_disables_saml(body: &[u8]) -> bool {
    use saml_body::{map_field, Enabled, Field};
    let saml_sections = |field: &str| -> Option<Vec<Value>> {
        match map_field(body, field)? {
            Field::Absent => Some(Vec::new()),
            Field::Map(sections) => Some(
                sections
                    .into_iter()
                    .filter(|(k, _)| crate::go_json::folds_equal(k.trim(), "auth.saml"))
                    .map(|(_, v)| v)
                    .collect(),
            ),
        }
    };
    let (Some(updates), Some(removals)) = (saml_sections("updates"), saml_sections("removals")) else {
        return true;
    };
    let sets_off = updates.len() > 1
        || updates.iter().any(|section| match section {
            Value::Object(keys) => saml_body::enabled(keys) == Enabled::NotOn,
            Value::Null => false,
            _ => true,
        });
    let removes = removals.iter().any(|keys| match keys {
        Value::Array(keys) => keys.iter().any(|k| k.as_str().is_none_or(saml_body::means_enabled)),
        Value::Null => false,
        _ => true,
    });
    sets_off || removes
}

/// A `PUT` body that could leave SAML disabled: anything but a `settings` map (as Grafana builds
/// it, [`saml_body`]) with exactly one key meaning `enabled`, whose value is on.
fn disables_saml(body: &[u8]) -> bool {
    match saml_body::map_field(body, "settings") {
        Some(saml_body::Field::Map(settings)) => saml_body::enabled(&settings) != saml_body::Enabled::On,
        _ => true,
    }
}

/// A `PATCH` body that could leave SAML disabled: one whose `settings` (merged into the current
/// ones) name `enabled` with anything but on, through more than one key, or that cannot be read
/// as Grafana reads it. A patch without `settings`, or whose `settings` leave `enabled` out,
/// keeps SAML as it is. Keys meaning `enabled` at the top level count too, in case a Grafana
/// version binds a patch's body as the settings map itself.
fn patch_disables_saml(body: &[u8]) -> bool {
    let top = saml_body::top_level(body).map(|top| saml_body::enabled(&top));
    if top.is_none_or(|top| top == saml_body::Enabled::NotOn) {
        return true;
    }
    match saml_body::map_field(body, "settings") {
        Some(saml_body::Field::Absent) => false,
        Some(saml_body::Field::Map(settings)) => saml_body::enabled(&settings) == saml_body::Enabled::NotOn,
        None => true,
    }
}

/// Whether a team write's body (create, replace or any JSON patch) may link external groups:
/// it names some under `externalGroups`, or cannot be read as JSON.
fn links_external_groups(body: Option<&[u8]>) -> bool {
    let names = body.and_then(|b| super::iam::refs::names_under(b, "externalGroups"));
    names.is_none_or(|names| !names.is_empty())
}

/// Refuses what the policy forbids; reads the body (through `body`) only when [`wants_body`].
pub(super) async fn check(write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    let (method, path) = (&write.head.method, write.path);
    if !write.policy.scim_active {
        return Ok(());
    }
    let bytes = if wants_body(method, path) { Some(body.bytes().await?) } else { None };
    match decide(write.policy, method, path, bytes.as_deref()) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The refusal for this request under `policy`, if any; `body` when [`wants_body`] (`None`
/// stands for a body that could disable SAML or link groups).
pub fn decide(policy: Snapshot, method: &Method, api_path: &str, body: Option<&[u8]>) -> Option<Refusal> {
    // Only writes are guarded (the router skips this for reads; see `guard::may_refuse`).
    if !policy.scim_active || !super::may_refuse(method) {
        return None;
    }
    let segs = segments(api_path);
    let identity = identity_api_object(&segs);
    let team_sync_link = (method == Method::POST && is_team_groups(&segs))
        || (identity.is_some_and(|(resource, _)| resource == "externalgroupmappings")
            && method != Method::DELETE)
        || (is_identity_team_write(method, &segs) && links_external_groups(body));
    if policy.group_sync && team_sync_link {
        return Some(refusal(
            Kind::TeamSyncLink,
            "Team Sync group links are refused by scim-sidecar: SCIM group sync manages team membership and \
             Team Sync would undo it at the next login. Manage this team through your identity provider's \
             SCIM groups, or set [policy] group_sync = false in the sidecar to use Team Sync instead",
        ));
    }
    // The identity API's SSO settings cannot be read here: every write to SAML's is refused.
    let identity_saml = identity
        .is_some_and(|(resource, name)| resource == "ssosettings" && name.is_none_or(|n| n == "saml"));
    if policy.require_saml
        && is_admin_settings(method, &segs)
        && body.is_none_or(settings_update_disables_saml)
    {
        return Some(saml_refusal());
    }
    if policy.require_saml && (is_saml_sso_settings(&segs) || identity_saml) {
        let disabling = identity_saml
            || (method == Method::DELETE)
            || (method == Method::PUT && body.is_none_or(disables_saml))
            || (method == Method::PATCH && body.is_none_or(patch_disables_saml));
        if disabling {
            return Some(saml_refusal());
        }
    }
    None
}

fn saml_refusal() -> Refusal {
    refusal(
        Kind::SamlDisable,
        "turning SAML off is refused by scim-sidecar while SCIM provisioning is active: SCIM only works \
         with SAML logins. Keep settings.enabled = true, or set [policy] require_saml = false in the \
         sidecar first",
    )
}

/// A policy refusal: 403 with Grafana's `{"message"}` body.
fn refusal(kind: Kind, message: &'static str) -> Refusal {
    Refusal::new(kind, StatusCode::FORBIDDEN, Dialect::Message, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_as_grafana_resolves_them() {
        assert!(is_team_groups(&segments("/api/teams/7/groups")));
        assert!(is_team_groups(&segments("//api/Teams/7/groups/")));
        assert!(is_team_groups(&segments(&crate::route_path::route_path("/api/teams/7/%67roups", ""))));
        assert!(!is_team_groups(&segments("/api/teams/7/members")));
        assert!(!is_team_groups(&segments("/api/teams/7/groups/x")));
        assert!(wants_body(&Method::PUT, "/api/v1/sso-settings/saml"));
        assert!(wants_body(&Method::PUT, "/api/v1/sso-settings/SAML/"));
        assert!(!wants_body(&Method::PUT, "/api/v1/sso-settings/github"));
        assert!(!wants_body(&Method::GET, "/api/v1/sso-settings/saml"));
        assert!(wants_body(&Method::PATCH, "/api/v1/sso-settings/saml"));
        let teams = "/apis/iam.grafana.app/v0alpha1/namespaces/default/teams";
        assert!(wants_body(&Method::POST, teams));
        assert!(wants_body(&Method::PATCH, &format!("{teams}/t1")));
        assert!(!wants_body(&Method::DELETE, &format!("{teams}/t1")));
        assert_eq!(
            identity_api_object(&segments(
                "/APIS/iam.grafana.app/v0alpha1/namespaces/org-2/ssosettings/saml/"
            )),
            Some(("ssosettings", Some("saml")))
        );
        assert_eq!(identity_api_object(&segments("/apis/iam.grafana.app/v0alpha1/teams")), None);
    }

    #[test]
    fn saml_disabling_patches() {
        assert!(patch_disables_saml(br#"{"settings":{"enabled":false}}"#));
        assert!(patch_disables_saml(br#"{"SETTINGS":{"Enabled":"false"}}"#));
        assert!(patch_disables_saml(br#"{"settings":"off"}"#));
        assert!(patch_disables_saml(b"not json"));
        assert!(!patch_disables_saml(br#"{"settings":{"allowSignUp":true}}"#));
        assert!(!patch_disables_saml(br#"{"settings":{"enabled":true}}"#));
        assert!(!patch_disables_saml(br#"{}"#));
    }

    #[test]
    fn saml_disabling_settings_updates() {
        let off = |b: &str| settings_update_disables_saml(b.as_bytes());
        assert!(off(r#"{"updates":{"auth.saml":{"enabled":"false"}}}"#));
        assert!(off(r#"{"Updates":{"AUTH.SAML":{"ENABLED":"0"}}}"#));
        assert!(off(r#"{"removals":{"auth.saml":["enabled"]}}"#));
        assert!(off(r#"{"removals":{"auth.saml":[7]}}"#));
        assert!(off(r#"{"updates":"x"}"#));
        assert!(off("not json"));
        assert!(!off(r#"{"updates":{"auth.saml":{"enabled":"true","allow_sign_up":"false"}}}"#));
        assert!(!off(
            r#"{"removals":{"auth.saml":["allow_sign_up"]},"updates":{"auth.ldap":{"enabled":"false"}}}"#
        ));
        assert!(!off(r#"{}"#));
    }

    #[test]
    fn team_bodies_linking_external_groups() {
        assert!(links_external_groups(Some(br#"{"spec":{"title":"t","externalGroups":["g1"]}}"#)));
        assert!(links_external_groups(Some(
            br#"[{"op":"add","path":"/spec/externalGroups/-","value":"g"}]"#
        )));
        assert!(links_external_groups(Some(b"spec:\n  externalGroups: [g]")));
        assert!(links_external_groups(None));
        assert!(!links_external_groups(Some(br#"{"spec":{"title":"t","externalGroups":[]}}"#)));
        assert!(!links_external_groups(Some(br#"{"spec":{"title":"t"}}"#)));
    }

    #[test]
    fn saml_disabling_bodies() {
        assert!(disables_saml(br#"{"settings":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":"false"}}"#));
        assert!(disables_saml(br#"{"settings":{"allowSignUp":true}}"#));
        assert!(!disables_saml(br#"{"settings":{"enabled":"true"}}"#));
        // Read as Grafana reads it: any case, the last key wins, trailing bytes ignored.
        assert!(disables_saml(br#"{"Settings":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true},"SETTINGS":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":false}} {"settings":{"enabled":true}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true,"Enabled":false}}"#));
        assert!(!disables_saml(br#"{"settings":{"enabled":true}} trailing"#));
        // What cannot be read so, or says nothing, could disable SAML.
        assert!(disables_saml(b"not json"));
        assert!(disables_saml(br#"{"id":"x"}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true,"name":"\ud800"}}"#));
    }
}
