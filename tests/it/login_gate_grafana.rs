//! The SAML login gate with nothing but `enabled` configured: audience, ACS, attribute names and
//! IdP metadata come from the Grafana emulator's SAML settings and SP metadata, and
//! `scim-sidecar check` says where each value came from.

use grafana_emulator::{Emulator, EmulatorOptions};
use scim_sidecar::config::SamlGateConfig;
use scim_sidecar::store;

use crate::login_gate::{save_grafana_saml, start_env, Env};
use crate::support::saml::{self, Claims, KeyPair};

/// The attribute Grafana is configured to read the external UID from in [`grafana_env`].
const GRAFANA_UID_ATTRIBUTE: &str = "objectGUID";

/// Grafana's SAML settings carry the IdP metadata (base64 `idpMetadata`) and a custom UID
/// attribute; its `root_url` is the public URL the sidecar serves (so its SP metadata names the
/// sidecar), while `[grafana] url` is its internal address. `[saml_gate]` sets nothing else.
async fn grafana_env(reject_non_provisioned: bool) -> Env {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let idp = KeyPair::generate(dir.path(), "idp");
    let public_root = saml::AUDIENCE.trim_end_matches("/saml/metadata");
    let emu = Emulator::start(EmulatorOptions::default().root_url(public_root)).await.unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(saml::idp_metadata(&idp));
    save_grafana_saml(
        &emu,
        serde_json::json!({
            "idpMetadata": b64,
            "idpMetadataUrl": "",
            "assertionAttributeExternalUid": GRAFANA_UID_ATTRIBUTE,
            "assertionAttributeLogin": "mail",
            "assertionAttributeEmail": "mail",
        }),
    );
    let url = format!("sqlite://{}", dir.path().join("sidecar.db").display());
    let store = store::open(&url, 2).await.unwrap();
    let saml_gate = SamlGateConfig {
        enabled: true,
        reject_non_provisioned_users: reject_non_provisioned,
        ..SamlGateConfig::default()
    };
    start_env(dir, idp, emu, store, url, saml_gate).await
}

/// A signed response carrying the external UID under `uid_attribute`.
fn response_with_uid_under(e: &Env, claims: &Claims, uid_attribute: &str) -> String {
    let assertion = saml::assertion(claims, "a-1", true)
        .replace(r#"Name="userUID""#, &format!(r#"Name="{uid_attribute}""#));
    saml::sign(e.dir.path(), &saml::response(&assertion, false), &e.idp)
}

#[tokio::test]
async fn gate_learns_audience_acs_attributes_and_idp_metadata_from_grafana() {
    let e = grafana_env(true).await;
    e.add_user("alice@example.com", Some("uid-alice"), true, false).await;
    let claims = Claims::new("alice@example.com", Some("uid-alice"));
    e.assert_forwarded(&response_with_uid_under(&e, &claims, GRAFANA_UID_ATTRIBUTE)).await;
    assert!(e.metric("forwarded").await);
}

#[tokio::test]
async fn grafanas_external_uid_attribute_is_honoured_not_the_default() {
    let e = grafana_env(false).await;
    e.add_user("alice@example.com", Some("uid-alice"), true, false).await;
    // The right UID under the default name is not what Grafana would read: a mismatch.
    let claims = Claims::new("alice@example.com", Some("uid-alice"));
    e.assert_refused(&response_with_uid_under(&e, &claims, "userUID"), "externalid_mismatch").await;
}

#[tokio::test]
async fn audience_from_grafana_refuses_a_response_for_the_internal_url() {
    let e = grafana_env(false).await;
    // Addressed to `[grafana] url` (the old default), not to Grafana's public entity id.
    let internal = e.emu.url().trim_end_matches('/').to_string();
    let c = Claims {
        audience: format!("{internal}/saml/metadata"),
        ..Claims::new("zoe@example.com", Some("uid-zoe"))
    };
    e.assert_refused(&response_with_uid_under(&e, &c, GRAFANA_UID_ATTRIBUTE), "invalid").await;
}

fn run_check(grafana_url: &str, json: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scim-sidecar"));
    cmd.arg("check")
        .args(["--grafana-url", grafana_url])
        .args(["--store-url", &format!("sqlite://{}", dir.path().join("s.db").display())])
        .env("SIDECAR_SAML_GATE_ENABLED", "true")
        .env("SIDECAR_SAML_GATE_LOGIN_ATTRIBUTE", "mail")
        .env("SIDECAR_SAML_GATE_REJECT_NON_PROVISIONED_USERS", "true")
        .env_remove("SIDECAR_CONFIG")
        .current_dir(dir.path());
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn check_reports_the_gate_and_where_each_value_came_from() {
    let e = grafana_env(false).await;
    let url = e.emu.url();
    let text = tokio::task::spawn_blocking(move || run_check(&url, false)).await.unwrap();
    for line in [
        "SAML login gate",
        "enabled: yes (intercepts POST /saml/acs)",
        "audience: https://grafana.example.com/saml/metadata (from grafana)",
        "acs url: https://grafana.example.com/saml/acs (from grafana)",
        "external uid attribute: objectGUID (from grafana)",
        "login attribute: mail (from config)",
        "email attribute: mail (from grafana)",
        "idp metadata: inline (from grafana sso_settings.idpMetadata)",
        "sp key for encrypted assertions: no",
        "reject non-provisioned users: yes",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("warning: no IdP metadata"), "{text}");

    let url = e.emu.url();
    let json = tokio::task::spawn_blocking(move || run_check(&url, true)).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let gate = &v["saml_gate"];
    assert_eq!(gate["enabled"], true, "{gate}");
    assert_eq!(gate["audience"]["origin"], "grafana", "{gate}");
    assert_eq!(gate["attributes"]["external_uid"]["value"], GRAFANA_UID_ATTRIBUTE, "{gate}");
    assert_eq!(gate["attributes"]["login"]["origin"], "config", "{gate}");
    assert_eq!(gate["idp_metadata"]["source"], "grafana", "{gate}");
    assert_eq!(gate["idp_metadata"]["setting"], "sso_settings.idpMetadata", "{gate}");
    assert_eq!(gate["warnings"], serde_json::json!([]), "{gate}");

    // Redacted inline metadata falls through to `[auth.saml] idp_metadata_url`; without SP
    // metadata the audience falls back to `[grafana] url`, which check warns about (not fails).
    save_grafana_saml(&e.emu, serde_json::json!({"idpMetadata": "*********", "idpMetadataUrl": ""}));
    e.emu.set_saml_enabled(false);
    let url = e.emu.url();
    let text = tokio::task::spawn_blocking(move || run_check(&url, false)).await.unwrap();
    assert!(
        text.contains(
            "idp metadata: https://idp.example.com/metadata (from grafana admin_settings.auth.saml.idp_metadata_url)"
        ),
        "{text}"
    );
    assert!(text.contains("warning: the audience cannot be read"), "{text}");
}
