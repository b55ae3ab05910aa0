//! One observation of Grafana: the calls behind a [`PolicyReport`], made concurrently.
//!
//! Owns the mapping from client results to the interpreters' inputs (`Answer`, `LinkScan`) and
//! the SP-metadata parse. Must not cache, log verdict changes or refuse anything: that is the
//! engine's job.

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::report::{judge, PolicyReport};
use super::saml::{self, Answer, SamlObservations};
use super::team_sync::{self, LinkScan, LinkedTeam};
use crate::config::PolicyConfig;
use crate::grafana::{GrafanaClient, GrafanaError};

/// Largest SP metadata document parsed.
const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Teams read per page while scanning for Team Sync links.
const TEAMS_PER_PAGE: u32 = 100;
/// Most team pages read per org (100 000 teams).
const MAX_TEAM_PAGES: u32 = 1000;

fn answer<T: Serialize>(result: Result<T, GrafanaError>) -> Answer<Value> {
    match result {
        Ok(body) => match serde_json::to_value(body) {
            Ok(v) => Answer::Body(v),
            Err(e) => Answer::Failed(e.to_string()),
        },
        Err(e) if e.is_not_found() => Answer::Absent,
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// What the gate and the SAML check read from Grafana's `/saml/metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    /// The `entityID` (Grafana's SP entity id, the audience its logins are addressed to).
    pub entity_id: Option<String>,
    /// The ACS pointing at Grafana's `/saml/acs`, the HTTP-POST one when several do.
    pub acs_url: String,
}

const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Parses `/saml/metadata` as an SP `EntityDescriptor`: `Ok(acs_url)` when it has an
/// AssertionConsumerService ending in `/saml/acs`.
pub fn parse_sp_metadata(xml: &str) -> Result<String, String> {
    parse_sp_metadata_full(xml).map(|m| m.acs_url)
}

/// Like [`parse_sp_metadata`], also keeping the entity id.
pub fn parse_sp_metadata_full(xml: &str) -> Result<SpMetadata, String> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(format!("metadata larger than {MAX_METADATA_BYTES} bytes"));
    }
    let descriptor: samael::metadata::EntityDescriptor =
        xml.parse().map_err(|e| format!("not a SAML EntityDescriptor: {e}"))?;
    let sp = descriptor
        .sp_sso_descriptors
        .as_deref()
        .and_then(<[_]>::first)
        .ok_or_else(|| "the EntityDescriptor has no SPSSODescriptor".to_string())?;
    let grafana_acs: Vec<_> = sp
        .assertion_consumer_services
        .iter()
        .filter(|acs| {
            url::Url::parse(acs.location.trim())
                .is_ok_and(|u| u.path().trim_end_matches('/').ends_with("/saml/acs"))
        })
        .collect();
    let acs = grafana_acs
        .iter()
        .find(|acs| acs.binding == HTTP_POST)
        .or_else(|| grafana_acs.first())
        .ok_or_else(|| "no AssertionConsumerService points at Grafana's /saml/acs".to_string())?;
    let entity_id = descriptor.entity_id.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    Ok(SpMetadata { entity_id, acs_url: acs.location.trim().to_string() })
}

/// Asks Grafana everything the policy needs and judges it against `config`.
/// `credential_user` is the configured server-admin login.
pub async fn observe(client: &GrafanaClient, config: &PolicyConfig, credential_user: &str) -> PolicyReport {
    let (health, frontend, admin, sso_saml, sso_list, metadata, me) = tokio::join!(
        client.health(),
        client.frontend_settings(),
        client.admin_settings(),
        client.sso_settings("saml"),
        client.sso_settings_list(),
        client.saml_metadata(),
        client.lookup_user(credential_user),
    );
    let grafana_edition =
        frontend.as_ref().ok().map(|f| f.build_info.edition.clone()).filter(|e| !e.is_empty());
    let grafana_version = match (&health, &frontend) {
        (Ok(h), _) if h.version.is_some() => h.version.clone(),
        (_, Ok(f)) if !f.build_info.version.is_empty() => Some(f.build_info.version.clone()),
        _ => None,
    };
    let credential_is_server_admin = match &me {
        Ok(Some(user)) => Some(user.is_grafana_admin),
        // Only server admins may look users up.
        Err(e) if e.is_forbidden() || e.is_unauthorized() => Some(false),
        _ => None,
    };
    let metadata = match metadata {
        Ok(Some(xml)) => Some(parse_sp_metadata_full(&xml)),
        Ok(None) => Some(Err("Grafana serves no SP metadata at /saml/metadata".to_string())),
        // Unreachable is not evidence of broken metadata.
        Err(_) => None,
    };
    let sp_entity_id = metadata.as_ref().and_then(|m| m.as_ref().ok()).and_then(|m| m.entity_id.clone());
    let obs = SamlObservations {
        sso_saml: answer(sso_saml),
        admin_settings: answer(admin),
        frontend_settings: answer(frontend),
        metadata: metadata.map(|m| m.map(|m| m.acs_url)),
        sp_entity_id,
    };
    let saml_state = saml::evaluate(&obs);
    let licensed = team_sync::licensed(obs.frontend_settings.as_body());
    let scan = if licensed == Some(false) {
        // No licence, no Team Sync: skip the scan entirely.
        LinkScan::Complete(Vec::new())
    } else {
        let credential_id = match &me {
            Ok(Some(user)) => Some(user.id),
            _ => None,
        };
        scan_team_links(client, config.scan_concurrency, credential_id).await
    };
    let team_sync_state = team_sync::evaluate(licensed, &scan, saml_state.groups_attribute.as_deref());
    let sso_list_value = sso_list.ok().and_then(|l| serde_json::to_value(l).ok());
    let admin_value = obs.admin_settings.as_body();
    let other_logins = if sso_list_value.is_none() && admin_value.is_none() {
        None
    } else {
        Some(super::logins::other_methods(sso_list_value.as_ref(), admin_value))
    };
    let checks = judge(config, &saml_state, &team_sync_state, other_logins.as_deref());
    PolicyReport {
        grafana_version,
        grafana_edition,
        saml: saml_state,
        team_sync: team_sync_state,
        other_logins,
        credential_is_server_admin,
        header_logins: super::header_logins::from_admin_settings(admin_value),
        checks,
        observed_at: chrono::Utc::now(),
        observed: Instant::now(),
    }
}

/// The orgs the sidecar serves: those its credential is a member of (it can act on teams
/// nowhere else, so Team Sync elsewhere cannot fight SCIM), or every org when the credential's
/// id is unknown.
pub(crate) async fn served_orgs(
    client: &GrafanaClient,
    credential_id: Option<i64>,
) -> Result<Vec<i64>, String> {
    match credential_id {
        Some(id) => client
            .user_orgs(id)
            .await
            .map(|orgs| orgs.into_iter().map(|o| o.org_id).collect())
            .map_err(|e| format!("listing the credential's orgs: {e}")),
        None => client
            .list_orgs()
            .await
            .map(|orgs| orgs.into_iter().map(|o| o.id).collect())
            .map_err(|e| format!("listing orgs: {e}")),
    }
}

/// Every team of every served org, checked for external group links with at most
/// `concurrency` calls in flight. Stops at the first sign that the route does not exist.
async fn scan_team_links(client: &GrafanaClient, concurrency: usize, credential_id: Option<i64>) -> LinkScan {
    match served_orgs(client, credential_id).await {
        Ok(orgs) => scan_orgs(client, &orgs, concurrency).await,
        Err(e) => LinkScan::Failed(e),
    }
}

/// Every team of `orgs`, checked for external group links (see [`scan_team_links`]); also what
/// `migrate-team-sync` plans from.
pub(crate) async fn scan_orgs(client: &GrafanaClient, orgs: &[i64], concurrency: usize) -> LinkScan {
    let mut teams: Vec<(i64, i64, String)> = Vec::new();
    for &org in orgs {
        for page in 1..=MAX_TEAM_PAGES {
            let batch = match client.search_teams(org, None, None, page, TEAMS_PER_PAGE).await {
                Ok(b) => b,
                Err(e) => return LinkScan::Failed(format!("listing teams of org {org}: {e}")),
            };
            let n = batch.teams.len();
            teams.extend(batch.teams.into_iter().map(|t| (org, t.id, t.name)));
            if n < TEAMS_PER_PAGE as usize {
                break;
            }
        }
    }
    let mut results = stream::iter(teams)
        .map(|(org, team, name)| async move { (org, team, name, client.team_groups(org, team).await) })
        .buffer_unordered(concurrency.max(1));
    let mut linked = Vec::new();
    while let Some((org_id, team_id, team_name, groups)) = results.next().await {
        match groups {
            Ok(None) => return LinkScan::RouteAbsent,
            Ok(Some(groups)) if groups.is_empty() => {}
            Ok(Some(groups)) => linked.push(LinkedTeam {
                org_id,
                team_id,
                team_name,
                groups: groups.into_iter().map(|g| g.group_id).collect(),
            }),
            Err(e) => return LinkScan::Failed(format!("team {team_id} of org {org_id}: {e}")),
        }
    }
    linked.sort_by_key(|t| (t.org_id, t.team_id));
    LinkScan::Complete(linked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://g.example/saml/metadata">
  <SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://g.example/grafana/saml/acs" index="1"></AssertionConsumerService>
  </SPSSODescriptor>
</EntityDescriptor>"#;

    #[test]
    fn valid_sp_metadata_yields_the_acs() {
        assert_eq!(parse_sp_metadata(SP).unwrap(), "https://g.example/grafana/saml/acs");
        let full = parse_sp_metadata_full(SP).unwrap();
        assert_eq!(full.entity_id.as_deref(), Some("https://g.example/saml/metadata"));
    }

    #[test]
    fn the_http_post_acs_is_preferred() {
        let artifact = r#"<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://art.example/saml/acs" index="0"></AssertionConsumerService>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST""#;
        let xml = SP.replacen(
            r#"<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST""#,
            artifact,
            1,
        );
        assert_eq!(parse_sp_metadata_full(&xml).unwrap().acs_url, "https://g.example/grafana/saml/acs");
    }

    #[test]
    fn wrong_acs_idp_metadata_and_garbage_are_refused() {
        let wrong = SP.replace("/saml/acs", "/other");
        assert!(parse_sp_metadata(&wrong).unwrap_err().contains("AssertionConsumerService"));
        let idp = r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">
          <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
          <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp/sso"/>
          </IDPSSODescriptor></EntityDescriptor>"#;
        assert!(parse_sp_metadata(idp).unwrap_err().contains("SPSSODescriptor"));
        assert!(parse_sp_metadata("<html>not found</html>").is_err());
        assert!(parse_sp_metadata(&"x".repeat(MAX_METADATA_BYTES + 1)).is_err());
    }
}
