//! Runs the real sidecar (`scim_sidecar::run`) on 127.0.0.1:0 in front of a test upstream.

use std::net::SocketAddr;
use std::time::Duration;

use scim_sidecar::config::{Config, GrafanaConfig, Secret, ServerConfig};
use scim_sidecar::Listeners;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::certs::TestCerts;

pub struct ProxyHandle {
    pub url: String,
    pub addr: SocketAddr,
    /// The admin listener (`/healthz`, `/readyz`, `/metrics`).
    pub admin_url: String,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
}

impl ProxyHandle {
    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task).await.unwrap().unwrap();
    }
}

/// Test defaults: short enough timeouts that failure tests finish quickly.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".into(),
        header_read_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

pub fn grafana_config(upstream_url: &str) -> GrafanaConfig {
    GrafanaConfig {
        url: upstream_url.into(),
        request_timeout: Duration::from_secs(30),
        ..GrafanaConfig::default()
    }
}

pub async fn spawn_proxy(upstream_url: &str, tls: bool) -> (ProxyHandle, Option<TestCerts>) {
    let certs = tls.then(TestCerts::generate);
    let handle = spawn_proxy_with(server_config(), grafana_config(upstream_url), certs.as_ref()).await;
    (handle, certs)
}

pub async fn spawn_proxy_with(
    server: ServerConfig,
    grafana: GrafanaConfig,
    tls: Option<&TestCerts>,
) -> ProxyHandle {
    let mut config = Config { server, grafana, ..Config::default() };
    // A bare proxy in front of a fake upstream that records every path: no login gate (which
    // would read Grafana's SAML settings in the background).
    config.saml_gate.enabled = false;
    if let Some(certs) = tls {
        config.server.tls_cert_file = Some(certs.cert_file.clone());
        config.server.tls_key_file = Some(certs.key_file.clone());
    }
    spawn_sidecar(config).await
}

/// Starts the real sidecar (`scim_sidecar::run`) on 127.0.0.1:0 (public and admin), with a fresh
/// SQLite store in a temporary directory unless `config.store.url` was set by the caller.
pub async fn spawn_sidecar(mut config: Config) -> ProxyHandle {
    let dir = tempfile::tempdir().unwrap();
    if config.store.url == Config::default().store.url {
        config.store.url = Secret::new(format!("sqlite://{}", dir.path().join("sidecar.db").display()));
    }
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = public.local_addr().unwrap();
    let admin_addr = admin.local_addr().unwrap();
    let tls = config.server.tls_cert_file.is_some();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _dir = dir;
        scim_sidecar::run(config, Listeners { public, admin }, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let url = if tls { format!("https://localhost:{}", addr.port()) } else { format!("http://{addr}") };
    ProxyHandle { url, addr, admin_url: format!("http://{admin_addr}"), shutdown: Some(tx), task }
}
