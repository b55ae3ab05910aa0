//! The SAML-disable guard reads a settings write as Grafana does (issue 25 item 6): the
//! `settings` members merged, keys in Grafana's snake case (trimmed, any case), two keys meaning
//! `enabled` ambiguous, only `true` / `"true"` on. Every spelling that could leave SAML off is
//! refused before Grafana sees it.

use grafana_emulator::EmulatorOptions;
use http::Method;

use super::{admin_text, config, emulator, policy, send};
use crate::support::sidecar::spawn_sidecar;

#[tokio::test]
async fn saml_disable_guard_reads_settings_as_grafana_does() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let sidecar = spawn_sidecar(config(&g.url(), policy(60_000))).await;
    let saml = "/api/v1/sso-settings/saml";
    let admin = "/api/admin/settings";
    let refused: &[(Method, &str, &str)] = &[
        // Values other than true / "true" leave SAML off in Grafana.
        (Method::PUT, saml, r#"{"settings":{"enabled":"yes"}}"#),
        (Method::PUT, saml, r#"{"settings":{"enabled":1}}"#),
        (Method::PUT, saml, r#"{"settings":{"enabled":"True "}}"#),
        (Method::PATCH, saml, r#"{"settings":{"enabled":"on"}}"#),
        (Method::PATCH, saml, r#"{"settings":{"Enabled":"1"}}"#),
        // Keys are trimmed and snake-cased: these all mean `enabled`.
        (Method::PATCH, saml, r#"{"settings":{" enabled ":false}}"#),
        (Method::PATCH, saml, "{\"settings\":{\"\u{a0}ENABLED\\t\":\"false\"}}"),
        // Two keys meaning `enabled`: Grafana keeps one at random.
        (Method::PUT, saml, r#"{"settings":{"enabled":true," enabled":false}}"#),
        (Method::PUT, saml, r#"{"settings":{"enabled":true,"ENABLED":true,"Enabled ":false}}"#),
        (Method::PATCH, saml, r#"{"settings":{"enabled":true,"Enabled":false}}"#),
        // A patch body that is itself the settings map.
        (Method::PATCH, saml, r#"{" Enabled":false}"#),
        // Several `settings` members merge into one map.
        (Method::PUT, saml, r#"{"settings":{"Enabled":false},"SETTINGS":{"enabled":true}}"#),
        (Method::PATCH, saml, r#"{"settings":{"enabled":false},"Settings":{"allowSignUp":true}}"#),
        (Method::PUT, saml, r#"{"settings":{"enabled":true},"settings":null}"#),
        // Enterprise's runtime settings: the same keys, merged maps.
        (Method::PUT, admin, r#"{"updates":{"auth.saml":{"enabled":"false"}},"UPDATES":{}}"#),
        (Method::PUT, admin, r#"{"updates":{"auth.saml":{" enabled":"false"}}}"#),
        (Method::PUT, admin, r#"{"updates":{"auth.saml":{"enabled":"yes"}}}"#),
        (Method::PUT, admin, r#"{"updates":{" auth.saml ":{"enabled":"0"}}}"#),
        (Method::PUT, admin, r#"{"removals":{"auth.saml":[" Enabled "]}}"#),
        (Method::PUT, admin, r#"{"removals":{"auth.saml":["enabled"]},"Removals":{"auth.ldap":[]}}"#),
    ];
    for (m, path, body) in refused {
        let (status, _, answer) = send(&sidecar, &g, m.clone(), path, body).await;
        assert_eq!(status, 403, "{m} {path} {body}: {answer}");
        assert!(answer.contains("SAML"), "{answer}");
    }
    // Grafana untouched: none of them reached it, SAML still on.
    assert_eq!(g.count("PUT", saml) + g.count("PATCH", saml) + g.count("PUT", admin), 0);
    assert!(g.saml_active());
    let metrics = admin_text(&sidecar, "/metrics").await;
    let want = format!(r#"scim_sidecar_guard_refusals_total{{kind="saml_disable"}} {}"#, refused.len());
    assert!(metrics.contains(&want), "{metrics}");

    // Writes that keep SAML on still reach Grafana.
    let passed: &[(Method, &str, &str)] = &[
        (Method::PATCH, saml, r#"{"settings":{" allowSignUp ":true,"name":"SAML"}}"#),
        (Method::PATCH, saml, r#"{"settings":{"enabled":"true"}}"#),
        (Method::PUT, admin, r#"{"updates":{"auth.saml":{"enabled":"true","allow_sign_up":"true"}}}"#),
        (Method::PUT, saml, r#"{"settings":{"enabled":true,"enabledTeams":"x"}}"#),
    ];
    for (m, path, body) in passed {
        let before = g.count(m.as_str(), path);
        let (status, _, answer) = send(&sidecar, &g, m.clone(), path, body).await;
        assert_ne!(status, 403, "{m} {path} {body}: {answer}");
        assert_eq!(g.count(m.as_str(), path), before + 1, "{m} {path} {body} did not reach grafana");
    }
    assert!(g.saml_active());
    sidecar.stop().await;
}
