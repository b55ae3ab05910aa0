//! Policy against the Grafana emulator in each profile: permits and refusals (the SCIM edge's
//! input), the passthrough guards and metrics through the real sidecar, cache refresh, and the
//! `scim-sidecar check` binary with its exit codes.

use std::process::Command;
use std::time::Duration;

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use http::{Method, Request};
use scim_sidecar::config::{Config, GrafanaConfig, PolicyConfig, Secret};
use scim_sidecar::grafana::GrafanaClient;
use scim_sidecar::metrics::Metrics;
use scim_sidecar::policy::{PolicyEngine, Verdict};

use crate::support::client::{body_string, get, http1};
use crate::support::eventually;
use crate::support::sidecar::{grafana_config, server_config, spawn_sidecar, ProxyHandle};

const TOKEN: &str = "policy-test-token-0123456789abcdef";
const PASSWORD: &str = "emulator-admin-pw-5678";

async fn emulator(opts: EmulatorOptions) -> EmulatorHandle {
    Emulator::start(opts.admin_password(PASSWORD)).await.unwrap()
}

fn config(url: &str, policy: PolicyConfig) -> Config {
    let mut config = Config {
        server: server_config(),
        grafana: GrafanaConfig { password: Some(Secret::new(PASSWORD)), ..grafana_config(url) },
        policy,
        ..Config::default()
    };
    config.grafana.request_timeout = Duration::from_secs(5);
    config.scim.tokens = vec![Secret::new(TOKEN).into()];
    config
}

fn policy(ttl_ms: u64) -> PolicyConfig {
    PolicyConfig { cache_ttl: Duration::from_millis(ttl_ms), ..PolicyConfig::default() }
}

fn engine(config: &Config) -> (PolicyEngine, Metrics) {
    let http = scim_sidecar::upstream::build_client(&config.grafana).unwrap();
    let client = GrafanaClient::new(
        &config.grafana.url,
        &config.grafana.user,
        Secret::new(PASSWORD),
        http,
        config.grafana.request_timeout,
    )
    .unwrap();
    let metrics = Metrics::new();
    (PolicyEngine::new(client, config, metrics.clone()), metrics)
}

#[tokio::test]
async fn oss_refuses_every_scim_request_with_403() {
    let g = emulator(EmulatorOptions::oss()).await;
    let (engine, metrics) = engine(&config(&g.url(), policy(60_000)));
    let refusal = engine.permit_users().await.unwrap_err();
    assert_eq!(refusal.check, "saml");
    assert!(refusal.detail.contains("cannot authenticate with SAML"), "{}", refusal.detail);
    let scim = refusal.to_scim_error();
    assert_eq!(scim.status, 403);
    let groups = engine.permit_groups().await.unwrap_err();
    assert_eq!((groups.check, groups.to_scim_error().status), ("saml", 403));
    let report = engine.report().await;
    assert_eq!(report.grafana_edition.as_deref(), Some("Open Source"));
    // No licence: Team Sync cannot act, and the team scan was skipped.
    assert!(report.team_sync.verdict.is_satisfied());
    assert!(!g.calls().iter().any(|c| c.path.ends_with("/orgs") || c.path.ends_with("/groups")));
    let text = metrics.render();
    assert!(text.contains(r#"scim_sidecar_policy_state{check="saml"} 0"#), "{text}");
    assert!(text.contains(r#"scim_sidecar_policy_refusals_total{check="saml"} 2"#), "{text}");
}

#[tokio::test]
async fn enterprise_without_saml_is_violated_with_the_fix() {
    let g = emulator(EmulatorOptions::enterprise().saml_enabled(false)).await;
    let (engine, _) = engine(&config(&g.url(), policy(60_000)));
    let refusal = engine.permit_users().await.unwrap_err();
    assert_eq!(refusal.check, "saml");
    assert!(refusal.detail.contains("disabled") && refusal.detail.contains("enable"), "{}", refusal.detail);
    // Not requiring SAML lets user sync through.
    let relaxed = PolicyConfig { require_saml: false, ..policy(60_000) };
    let (engine, _) = self::engine(&config(&g.url(), relaxed));
    assert!(engine.permit_users().await.is_ok());
}

#[tokio::test]
async fn enterprise_with_saml_permits_users_and_groups() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    g.create_team(1, "Platform");
    let (engine, metrics) = engine(&config(&g.url(), policy(60_000)));
    engine.permit_users().await.unwrap();
    engine.permit_groups().await.unwrap();
    let report = engine.report().await;
    assert_eq!(report.overall(), Verdict::Satisfied);
    assert!(report.saml.acs_url.as_deref().unwrap().ends_with("/saml/acs"));
    assert_eq!(report.saml.external_uid_attribute, "userUID");
    assert_eq!(report.credential_is_server_admin, Some(true));
    assert_eq!(report.team_sync.licensed, Some(true));
    assert!(report.team_sync.linked_teams.is_empty());
    // The team was scanned for links.
    assert!(g.calls().iter().any(|c| c.path.ends_with("/groups")));
    // One observation served both permits: the cache coalesces.
    assert_eq!(g.count("GET", "/api/health"), 1);
    let text = metrics.render();
    for check in ["saml", "team_sync"] {
        assert!(text.contains(&format!(r#"scim_sidecar_policy_state{{check="{check}"}} 1"#)), "{text}");
    }
}

/// Many requests at once, with the background refresher running and Grafana answering slowly
/// (2 ms a call, as under load): one observation serves them all until the TTL ends. A report
/// that went missing from the cache between refreshes made every request start a new
/// observation (seven or more Grafana calls each), tens a second against one Grafana.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_observation_per_ttl() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    g.create_team(1, "Platform");
    let (engine, _) = engine(&config(&g.url(), policy(60_000)));
    let refresher = engine.spawn_refresher(std::future::pending());
    g.set_latency(Duration::from_millis(2));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move {
                for _ in 0..150 {
                    engine.permit_users().await.unwrap();
                    engine.permit_groups().await.unwrap();
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    refresher.abort();
    assert_eq!(g.count("GET", "/api/health"), 1, "one observation for 4,800 permits within the TTL");
}

#[tokio::test]
async fn team_sync_links_refuse_groups_but_not_users() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let admin = g.user_by_login("admin").unwrap().id;
    let org2 = g.create_org("Second");
    assert!(g.add_org_user(org2, admin, "Admin"));
    for i in 0..5 {
        g.create_team(1, &format!("plain-{i}"));
    }
    let linked = g.create_team(org2, "Synced");
    assert!(g.add_team_group(linked, "cn=ops"));
    // An org the credential is not a member of is not served, so its links cannot fight SCIM.
    let foreign = g.create_org("Foreign");
    let elsewhere = g.create_team(foreign, "Elsewhere");
    assert!(g.add_team_group(elsewhere, "cn=other"));
    let (engine, _) = engine(&config(&g.url(), policy(60_000)));
    engine.permit_users().await.unwrap();
    let refusal = engine.permit_groups().await.unwrap_err();
    assert_eq!(refusal.check, "team_sync");
    assert!(
        refusal.detail.contains("\"Synced\"") && refusal.detail.contains("group_sync"),
        "{}",
        refusal.detail
    );
    assert_eq!(refusal.to_scim_error().status, 403);
    let report = engine.report().await;
    assert_eq!(report.team_sync.linked_teams.len(), 1);
    assert_eq!(report.team_sync.linked_teams[0].groups, vec!["cn=ops".to_string()]);
    // SAML maps a groups attribute in this emulator: reported as a warning.
    assert!(report.team_sync.warning.is_some());

    // group_sync = false: /Groups is refused by configuration, and Team Sync is no violation.
    let off = PolicyConfig { group_sync: false, ..policy(60_000) };
    let (engine, _) = self::engine(&config(&g.url(), off));
    let refusal = engine.permit_groups().await.unwrap_err();
    assert_eq!(refusal.check, "group_sync");
    assert!(refusal.detail.contains("group_sync = false"), "{}", refusal.detail);
    assert_eq!(engine.report().await.overall(), Verdict::Satisfied);
}

#[tokio::test]
async fn strict_mode_reports_other_login_methods() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    // Turn on an OAuth provider through Grafana's own API.
    let client = http1();
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{}/api/v1/sso-settings/github", g.url()))
        .header("authorization", g.admin_basic_auth())
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(r#"{"settings":{"enabled":true,"clientId":"x"}}"#))
        .unwrap();
    assert!(client.request(req).await.unwrap().status().is_success());
    let strict = PolicyConfig { strict_saml_only: true, ..policy(60_000) };
    let (engine, _) = engine(&config(&g.url(), strict));
    let refusal = engine.permit_users().await.unwrap_err();
    assert_eq!(refusal.check, "strict_saml_only");
    assert!(refusal.detail.contains("oauth:github"), "{}", refusal.detail);
    // Without strict mode the same Grafana is compliant.
    let (engine, _) = self::engine(&config(&g.url(), policy(60_000)));
    engine.permit_users().await.unwrap();
}

#[tokio::test]
async fn grafana_down_is_undetermined_and_fails_closed() {
    let (engine, metrics) = engine(&config("http://127.0.0.1:1", policy(60_000)));
    let refusal = engine.permit_users().await.unwrap_err();
    assert_eq!(refusal.check, "saml");
    assert!(refusal.detail.contains("could not be decided"), "{}", refusal.detail);
    assert!(matches!(engine.report().await.overall(), Verdict::Undetermined(_)));
    assert!(metrics.render().contains(r#"scim_sidecar_policy_state{check="saml"} -1"#));
}

#[tokio::test]
async fn slow_grafana_does_not_hold_requests_and_fails_closed() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    g.set_latency(Duration::from_secs(3));
    let slow = PolicyConfig { check_timeout: Duration::from_millis(100), ..policy(60_000) };
    let (engine, _) = engine(&config(&g.url(), slow));
    let refusal = engine.permit_users().await.unwrap_err();
    assert!(refusal.detail.contains("did not answer"), "{}", refusal.detail);
    // The refresh kept running in the background and fills the cache once Grafana answers.
    g.set_latency(Duration::ZERO);
    eventually("permit after the slow refresh lands", || async { engine.permit_users().await.is_ok() }).await;
}

#[tokio::test]
async fn saml_switched_off_while_running_is_seen_after_the_cache_expires() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let (engine, _) = engine(&config(&g.url(), policy(200)));
    engine.permit_users().await.unwrap();
    g.set_saml_enabled(false);
    eventually("saml off is noticed", || async { engine.permit_users().await.is_err() }).await;
    g.set_saml_enabled(true);
    eventually("saml on is noticed", || async { engine.permit_users().await.is_ok() }).await;
}

async fn send(
    sidecar: &ProxyHandle,
    g: &EmulatorHandle,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, Option<String>, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", sidecar.url))
        .header("authorization", g.admin_basic_auth())
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = http1().request(req).await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    (status, ct, body_string(res).await)
}

async fn admin_text(sidecar: &ProxyHandle, path: &str) -> String {
    body_string(get(&http1(), &format!("{}{path}", sidecar.admin_url)).await).await
}

#[tokio::test]
async fn passthrough_guards_refuse_team_sync_links_and_saml_off() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let team = g.create_team(1, "Guarded");
    let sidecar = spawn_sidecar(config(&g.url(), policy(200))).await;

    let (status, ct, body) =
        send(&sidecar, &g, Method::POST, &format!("/api/teams/{team}/groups"), r#"{"groupId":"cn=x"}"#).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(ct.as_deref(), Some("application/json"));
    let msg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(msg["message"].as_str().unwrap().contains("Team Sync"), "{body}");
    assert!(g.team_groups(team).is_empty());
    assert_eq!(g.count("POST", &format!("/api/teams/{team}/groups")), 0);

    let saml = "/api/v1/sso-settings/saml";
    let (status, _, body) =
        send(&sidecar, &g, Method::PUT, saml, r#"{"settings":{"enabled":"false"}}"#).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = send(&sidecar, &g, Method::DELETE, saml, "").await;
    assert_eq!(status, 403, "{body}");
    assert!(g.saml_active());
    assert_eq!(g.count("PUT", saml) + g.count("DELETE", saml), 0);
    // Edits that keep SAML on, and reads, pass through untouched.
    let (status, _, body) = send(&sidecar, &g, Method::PUT, saml, r#"{"settings":{"enabled":true}}"#).await;
    assert_eq!(status, 204, "{body}");
    let (status, _, _) = send(&sidecar, &g, Method::GET, saml, "").await;
    assert_eq!(status, 200);
    let (status, _, _) = send(&sidecar, &g, Method::GET, &format!("/api/teams/{team}/groups"), "").await;
    assert_eq!(status, 200);

    let metrics = admin_text(&sidecar, "/metrics").await;
    assert!(metrics.contains(r#"scim_sidecar_guard_refusals_total{kind="team_sync_link"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"scim_sidecar_guard_refusals_total{kind="saml_disable"} 2"#), "{metrics}");
    assert!(
        metrics.contains(r#"scim_sidecar_http_requests_total{route="guard",status="403"} 3"#),
        "{metrics}"
    );
    sidecar.stop().await;
}

/// Grafana 13's `PATCH` of SSO settings, Enterprise's runtime settings update and the
/// Kubernetes-style identity API reach Team Sync and SAML too: the same rule holds there.
#[tokio::test]
async fn team_sync_links_and_saml_off_are_refused_on_every_route() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let sidecar = spawn_sidecar(config(&g.url(), policy(200))).await;
    let saml = "/api/v1/sso-settings/saml";
    let ns = "/apis/iam.grafana.app/v0alpha1/namespaces/default";
    let refused = [
        (Method::PATCH, saml.to_string(), r#"{"settings":{"enabled":false}}"#, "SAML"),
        (Method::PUT, "/api/admin/settings".to_string(), r#"{"removals":{"auth.saml":["enabled"]}}"#, "SAML"),
        (Method::PUT, format!("{ns}/ssosettings/saml"), r#"{"spec":{"settings":{"enabled":true}}}"#, "SAML"),
        (
            Method::POST,
            format!("{ns}/externalgroupmappings"),
            r#"{"spec":{"teamRef":{"name":"t"}}}"#,
            "Team Sync",
        ),
        (
            Method::POST,
            format!("{ns}/teams"),
            r#"{"spec":{"title":"T","externalGroups":["cn=x"]}}"#,
            "Team Sync",
        ),
        (Method::PATCH, format!("{ns}/teams/t1"), "spec:\n  externalGroups: [cn=x]", "Team Sync"),
    ];
    for (m, path, body, topic) in refused {
        let (status, _, answer) = send(&sidecar, &g, m.clone(), &path, body).await;
        assert_eq!(status, 403, "{m} {path}: {answer}");
        assert!(answer.contains(topic), "{answer}");
        assert_eq!(g.count(m.as_str(), &path), 0, "{m} {path} reached grafana");
    }
    assert!(g.saml_active());
    // Patches that leave SAML on and team writes without external groups reach Grafana.
    let passed = [
        (Method::PATCH, saml.to_string(), r#"{"settings":{"allowSignUp":true}}"#),
        (
            Method::PUT,
            "/api/admin/settings".to_string(),
            r#"{"updates":{"auth.saml":{"allow_sign_up":"true"}}}"#,
        ),
        (Method::POST, format!("{ns}/teams"), r#"{"spec":{"title":"T","externalGroups":[]}}"#),
        (Method::DELETE, format!("{ns}/externalgroupmappings/m1"), ""),
    ];
    for (m, path, body) in passed {
        let (status, _, answer) = send(&sidecar, &g, m.clone(), &path, body).await;
        assert_ne!(status, 403, "{m} {path}: {answer}");
        assert_eq!(g.count(m.as_str(), &path), 1, "{m} {path} did not reach grafana");
    }
    let metrics = admin_text(&sidecar, "/metrics").await;
    assert!(metrics.contains(r#"scim_sidecar_guard_refusals_total{kind="team_sync_link"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"scim_sidecar_guard_refusals_total{kind="saml_disable"} 3"#), "{metrics}");
    sidecar.stop().await;
}

#[tokio::test]
async fn guards_stay_out_of_the_way_without_scim() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let team = g.create_team(1, "Free");
    let mut cfg = config(&g.url(), policy(60_000));
    cfg.scim.tokens.clear();
    let sidecar = spawn_sidecar(cfg).await;
    let (status, _, body) =
        send(&sidecar, &g, Method::POST, &format!("/api/teams/{team}/groups"), r#"{"groupId":"cn=x"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(g.team_groups(team), vec!["cn=x".to_string()]);
    // Nothing is managed, so a bulk delete in the identity API takes nothing of SCIM's.
    let users = "/apis/iam.grafana.app/v0alpha1/namespaces/default/users";
    let (status, _, body) = send(&sidecar, &g, Method::DELETE, users, "").await;
    assert_ne!(status, 403, "{body}");
    assert_eq!(g.count("DELETE", users), 1);
    sidecar.stop().await;
}

#[tokio::test]
async fn sidecar_metrics_and_readyz_follow_saml_switched_off() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let sidecar = spawn_sidecar(config(&g.url(), policy(200))).await;
    let on = r#"scim_sidecar_policy_state{check="saml"} 1"#;
    eventually("background refresh reports saml on", || async {
        admin_text(&sidecar, "/metrics").await.contains(on)
    })
    .await;
    g.set_saml_enabled(false);
    let off = r#"scim_sidecar_policy_state{check="saml"} 0"#;
    eventually("saml off reaches the metrics", || async {
        admin_text(&sidecar, "/metrics").await.contains(off)
    })
    .await;
    let res = get(&http1(), &format!("{}/readyz", sidecar.admin_url)).await;
    // A policy violation is reported but does not make the sidecar unready.
    assert_eq!(res.status(), 200);
    let ready: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(ready["policy"]["saml"], "violated", "{ready}");
    assert_eq!(ready["policy"]["overall"], "violated", "{ready}");
    sidecar.stop().await;
}

fn run_check(url: &str, json: bool) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scim-sidecar"));
    cmd.arg("check")
        .args(["--grafana-url", url])
        .args(["--store-url", &format!("sqlite://{}", dir.path().join("s.db").display())])
        .env("SIDECAR_GRAFANA_PASSWORD", PASSWORD)
        .env("SIDECAR_SCIM_TOKEN", TOKEN)
        .env_remove("SIDECAR_CONFIG")
        .current_dir(dir.path());
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains(PASSWORD) && !text.contains(TOKEN), "secret leaked: {text}");
    (out.status.code().unwrap(), text)
}

#[tokio::test]
async fn check_command_exit_codes_and_output() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    let url = g.url();
    let (code, text) = tokio::task::spawn_blocking(move || run_check(&url, false)).await.unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Result: COMPLIANT") && text.contains("server admin: yes"), "{text}");
    assert!(text.contains("schema version"), "{text}");

    let team = g.create_team(1, "Linked");
    g.add_team_group(team, "cn=team");
    let url = g.url();
    let (code, text) = tokio::task::spawn_blocking(move || run_check(&url, true)).await.unwrap();
    assert_eq!(code, 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["result"], "violated");
    assert_eq!(v["report"]["team_sync"]["linked_teams"][0]["team_name"], "Linked");
    assert_eq!(v["store"]["ok"], true);

    let oss = emulator(EmulatorOptions::oss()).await;
    let url = oss.url();
    let (code, text) = tokio::task::spawn_blocking(move || run_check(&url, false)).await.unwrap();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Open Source") && text.contains("VIOLATED"), "{text}");

    let (code, text) = tokio::task::spawn_blocking(|| run_check("http://127.0.0.1:1", false)).await.unwrap();
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("Result: UNDETERMINED"), "{text}");
}

/// Issue 25 item 3: `check` reports Grafana's auth proxy, switched on while SCIM is active, as a
/// violation (behind the sidecar its IP allow-list only ever sees the sidecar).
#[tokio::test]
async fn check_reports_grafanas_auth_proxy_as_a_violation() {
    let g = emulator(EmulatorOptions::enterprise()).await;
    g.set_ini("auth.proxy", "enabled", "true");
    g.set_ini("auth.proxy", "header_name", "X-Remote-User");
    let url = g.url();
    let (code, text) = tokio::task::spawn_blocking(move || run_check(&url, false)).await.unwrap();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Grafana's auth proxy is off: VIOLATED"), "{text}");
    assert!(text.contains("x-remote-user"), "{text}");
    let url = g.url();
    let (code, text) = tokio::task::spawn_blocking(move || run_check(&url, true)).await.unwrap();
    assert_eq!(code, 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let check = v["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "auth_proxy")
        .unwrap()
        .clone();
    assert_eq!(check["enforced"], true, "{check}");
    assert!(check["verdict"].to_string().contains("auth proxy"), "{check}");
}

mod saml_settings;
