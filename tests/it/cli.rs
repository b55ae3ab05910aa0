//! The `scim-sidecar` binary: exit codes, every config problem listed, and secrets kept out of
//! `check-config` output and logs.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::client::{http1, TestClient};
use crate::support::eventually;

const BIN: &str = env!("CARGO_BIN_EXE_scim-sidecar");
const PASSWORD: &str = "grafana-pass-DO-NOT-LEAK-1";
const TOKEN: &str = "scim-token-DO-NOT-LEAK-0123456789";

fn sidecar(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG").current_dir(std::env::temp_dir());
    // The test runner's own SIDECAR_* variables must not leak into the child.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
        cmd.env_remove(k);
    }
    cmd
}

#[test]
fn version_prints_the_crate_version() {
    let out = sidecar(&["version"]).output().unwrap();
    assert!(out.status.success());
    let want = match option_env!("SCIM_SIDECAR_COMMIT").filter(|c| !c.is_empty()) {
        Some(commit) => format!("scim-sidecar {} (commit {commit})", env!("CARGO_PKG_VERSION")),
        None => format!("scim-sidecar {}", env!("CARGO_PKG_VERSION")),
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

#[test]
fn migrate_creates_the_store_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = sidecar(&["migrate", "--store-url", &url]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("store schema at version "), "{stdout}");
    }
    assert!(dir.path().join("m.db").exists());
}

#[test]
fn check_config_accepts_a_valid_config_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("sidecar.toml");
    std::fs::write(
        &config,
        format!("[scim]\ntoken_file = {token_file:?}\n[store]\nurl = \"postgres://u:{PASSWORD}@db/x\"\n"),
    )
    .unwrap();
    let out = sidecar(&["check-config", "--config", config.to_str().unwrap()])
        .env("SIDECAR_GRAFANA_PASSWORD", PASSWORD)
        .env("SIDECAR_SCIM_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    for secret in [PASSWORD, TOKEN] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "secret leaked:\n{stdout}\n{stderr}");
    }
}

#[test]
fn check_config_lists_every_problem_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        format!("[grafana]\nurl = \"ftp://nope\"\npassword = \"{PASSWORD}\"\ntypo = 1\n[nosuch]\n"),
    )
    .unwrap();
    let out = sidecar(&["check-config", "--config", config.to_str().unwrap()])
        .env("SIDECAR_POLICY_REQUIRE_SAML", "perhaps")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    // Issue 28: the value problem (`url`) is listed with the layer problems, not after them.
    for needle in [
        "4 problems",
        "[grafana] url",
        "[grafana] typo: unknown key",
        "unknown section [nosuch]",
        "require_saml: expected a boolean",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?}:\n{stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    // Semantic problems are all listed too once the layers parse.
    std::fs::write(
        &config,
        "[grafana]\nurl = \"ftp://nope\"\n[server]\nlisten = \"x\"\n[scim]\ndefault_role = \"Root\"\n",
    )
    .unwrap();
    let out = sidecar(&["check-config", "--config", config.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("3 problems"), "{stderr}");
    // `serve` refuses to start on an invalid config with the same exit code.
    let out = sidecar(&["--config", config.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn send(client: &TestClient, url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = http::Request::get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    match client.request(req.body(scim_sidecar::body::empty()).unwrap()).await {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn logs_carry_one_completion_event_per_request_and_no_secrets() {
    let grafana = grafana_emulator::Emulator::start(Default::default()).await.unwrap();
    let (port, admin) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new(BIN)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--grafana-url", &grafana.url(), "--log-format", "json", "--log-level", "debug"])
        .args(["--store-url", &format!("sqlite://{}", dir.path().join("s.db").display())])
        .env("SIDECAR_GRAFANA_PASSWORD", "admin")
        .env("SIDECAR_SCIM_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = http1();
    let base = format!("http://127.0.0.1:{port}");
    eventually("the sidecar listens", || async {
        send(&client, &format!("{base}/api/health"), &[]).await == 200
    })
    .await;
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        send(&client, &format!("{base}/scim/v2/ServiceProviderConfig"), &[("authorization", &bearer)]).await,
        200
    );
    let cookie = "grafana_session=COOKIE-DO-NOT-LEAK";
    send(
        &client,
        &format!("{base}/api/user"),
        &[("cookie", cookie), ("authorization", "Basic YWRtaW46YWRtaW4=")],
    )
    .await;
    send(&client, &format!("{base}/scim/v2/Users"), &[("authorization", "Bearer wrong-token-DO-NOT-LEAK")])
        .await;
    // SIGTERM: graceful shutdown, then read everything the process logged.
    let pid = child.id().unwrap().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit after SIGTERM: {:?}\n{logs}", out.status);
    for secret in [TOKEN, "COOKIE-DO-NOT-LEAK", "wrong-token-DO-NOT-LEAK", "YWRtaW46YWRtaW4="] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
    }
    let completions: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "request completed")
        .collect();
    assert!(completions.len() >= 4, "{logs}");
    let scim =
        completions.iter().find(|v| v["route"] == "scim" && v["status"] == 200).expect("scim completion");
    assert_eq!(scim["method"], "GET");
    assert!(scim["latency_ms"].is_number());
    assert!(completions.iter().any(|v| v["route"] == "proxy"), "{logs}");
}

#[tokio::test]
async fn audit_prints_filtered_records_newest_first_as_text_or_json_lines() {
    use scim_sidecar::audit::{AuditRecord, Change, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let store = scim_sidecar::store::open(&url, 1).await.unwrap();
    let mut records = Vec::new();
    for (i, user) in ["alice", "bob", "alice"].iter().enumerate() {
        let mut r = AuditRecord::new("scim", "patch", Outcome::Applied);
        r.time = chrono::Utc::now() - chrono::Duration::minutes(10 - i as i64);
        r.request_id = format!("req-{i}");
        r.namespace = "default".into();
        r.user_name = Some((*user).into());
        r.changes = vec![Change { field: "active".into(), before: true.into(), after: false.into() }];
        records.push(r);
    }
    let rows = records.into_iter().map(|r| scim_sidecar::store::audit::AuditRow::new(r).unwrap()).collect();
    store.insert_audit(rows).await.unwrap();
    drop(store);

    let out = sidecar(&["audit", "--store-url", &url, "--user", "ALICE", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["request_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids, ["req-2", "req-0"]);

    let out = sidecar(&["audit", "--store-url", &url, "--since", "1h", "--limit", "1"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("applied scim patch default \"alice\"") && text.contains("active: true -> false"),
        "{text}"
    );

    let out = sidecar(&["audit", "--store-url", &url, "--since", "yesterday"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn check_config_says_when_shadow_mode_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shadow.toml");
    std::fs::write(&config, "[scim]\nmode = \"shadow\"\n").unwrap();
    let out = sidecar(&["check-config", "--quiet", "--config", config.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("scim mode: SHADOW (no SCIM change is written to Grafana"), "{stdout}");
    std::fs::write(&config, "").unwrap();
    let out = sidecar(&["check-config", "--quiet", "--config", config.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("scim mode: enforce"));
}
