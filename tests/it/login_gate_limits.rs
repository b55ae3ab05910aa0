//! The login gate's defaults and bounds: on by default, warnings where an operator looks
//! (`/readyz`; `check` and `check-config` are covered with the CLI), a smaller body cap for SAML
//! posts, and a bounded number of logins being verified at once.

use grafana_emulator::{Emulator, EmulatorOptions};
use http::Request;
use scim_sidecar::config::{Config, SamlGateConfig, Secret};

use crate::login_gate::save_grafana_saml;
use crate::support::client::{body_string, get, http1};
use crate::support::saml;
use crate::support::sidecar::{grafana_config, server_config, spawn_sidecar, ProxyHandle};

const TOKEN: &str = "scim-token-for-the-gate-tests-0123456789";

async fn sidecar(emu: &grafana_emulator::EmulatorHandle, gate: SamlGateConfig) -> ProxyHandle {
    let mut config = Config {
        server: server_config(),
        grafana: grafana_config(&emu.url()),
        saml_gate: gate,
        ..Config::default()
    };
    config.scim.tokens = vec![Secret::new(TOKEN.to_string()).into()];
    spawn_sidecar(config).await
}

async fn readyz(s: &ProxyHandle) -> serde_json::Value {
    let res = get(&http1(), &format!("{}/readyz", s.admin_url)).await;
    serde_json::from_str(&body_string(res).await).unwrap()
}

fn warnings(v: &serde_json::Value) -> Vec<String> {
    v["saml_gate"]["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn readyz_warns_when_the_gate_is_off_under_scim() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let s = sidecar(&emu, SamlGateConfig { enabled: false, ..SamlGateConfig::default() }).await;
    let v = readyz(&s).await;
    assert_eq!(v["saml_gate"]["enabled"], false);
    assert!(warnings(&v).iter().any(|w| w.contains("[saml_gate] enabled = false")), "{v}");
    assert_eq!(v["ready"], true, "a warning, not unreadiness");
}

/// Grafana reads its IdP metadata from a file the sidecar cannot see: `/readyz` says so, naming
/// the settings to add, before any login fails.
#[tokio::test]
async fn readyz_names_the_setting_to_add_when_grafana_reads_metadata_from_a_file() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    save_grafana_saml(
        &emu,
        serde_json::json!({"idpMetadataPath": "/etc/grafana/idp.xml", "idpMetadataUrl": ""}),
    );
    let s = sidecar(&emu, SamlGateConfig::default()).await;
    let v = readyz(&s).await;
    assert_eq!(v["saml_gate"]["enabled"], true, "on by default");
    let w = warnings(&v);
    assert!(
        w.iter().any(|w| w.contains("/etc/grafana/idp.xml") && w.contains("[saml_gate] idp_metadata_file")),
        "{v}"
    );
}

#[tokio::test]
async fn saml_posts_over_max_post_bytes_get_413_and_never_reach_grafana() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let gate = SamlGateConfig { max_post_bytes: 4096, ..SamlGateConfig::default() };
    let s = sidecar(&emu, gate).await;
    let big = saml::form_body(&"x".repeat(8192));
    let req = Request::post(format!("{}/saml/acs", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(scim_sidecar::body::full(big))
        .unwrap();
    let res = http1().request(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert!(emu.acs_posts().is_empty());
}

/// Past `max_concurrent_verifications`, a login is turned away at once (503, counted as `busy`),
/// never queued. The first login holds the only slot while it fetches IdP metadata from a server
/// that accepts the connection and never answers; the test waits for that connection, not for a
/// time.
#[tokio::test]
async fn logins_past_max_concurrent_verifications_get_503_at_once() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gate = SamlGateConfig {
        max_concurrent_verifications: 1,
        idp_metadata_url: Some(format!("http://{}/metadata", silent.local_addr().unwrap())),
        audience: Some(saml::AUDIENCE.into()),
        external_uid_attribute: Some("userUID".into()),
        login_attribute: Some("mail".into()),
        email_attribute: Some("mail".into()),
        ..SamlGateConfig::default()
    };
    let s = sidecar(&emu, gate).await;
    let post = |url: String| async move {
        let req = Request::post(format!("{url}/saml/acs"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(scim_sidecar::body::full(saml::form_body("<samlp:Response/>")))
            .unwrap();
        http1().request(req).await.unwrap()
    };
    let first = tokio::spawn(post(s.url.clone()));
    // The first login is inside its slot once it asks the metadata server.
    let (held, _) = silent.accept().await.unwrap();
    let res = post(s.url.clone()).await;
    assert_eq!(res.status().as_u16(), 503);
    let metrics = body_string(get(&http1(), &format!("{}/metrics", s.admin_url)).await).await;
    assert!(metrics.contains(r#"scim_sidecar_saml_gate_decisions_total{kind="busy"} 1"#), "{metrics}");
    assert!(emu.acs_posts().is_empty());
    first.abort();
    drop(held);
}

/// An ACS post whose body does not arrive within `[server] body_read_timeout` gets 408, and
/// nothing reaches Grafana.
#[tokio::test]
async fn slow_saml_posts_get_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let mut config = Config {
        server: scim_sidecar::config::ServerConfig {
            body_read_timeout: std::time::Duration::from_millis(200),
            ..server_config()
        },
        grafana: grafana_config(&emu.url()),
        ..Config::default()
    };
    config.scim.tokens = vec![Secret::new(TOKEN.to_string()).into()];
    let s = spawn_sidecar(config).await;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(
        b"POST /saml/acs HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 500\r\n\r\nSAMLResponse=PHNhbWxw",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    while !String::from_utf8_lossy(&buf).contains("\r\n\r\n") {
        let mut chunk = [0u8; 1024];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(emu.acs_posts().is_empty());
}
