//! Runs the sidecar data path (`server::serve` + `proxy::Forwarder`) on 127.0.0.1:0.
//!
//! Until `scim_sidecar::run` exists this composes the pieces directly; it is the one place to
//! rewire when it does.

use std::net::SocketAddr;
use std::time::Duration;

use scim_sidecar::config::{GrafanaConfig, ServerConfig};
use scim_sidecar::proxy::Forwarder;
use scim_sidecar::upstream;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::certs::TestCerts;

pub struct ProxyHandle {
    pub url: String,
    pub addr: SocketAddr,
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(TestCerts::acceptor);
    let client = upstream::build_client(&grafana).unwrap();
    let forwarder = Forwarder::new(&grafana, client).unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let handler = move |req, peer| {
            let forwarder = forwarder.clone();
            async move { forwarder.forward(req, peer).await }
        };
        scim_sidecar::server::serve(listener, acceptor, &server, handler, async {
            let _ = rx.await;
        })
        .await;
    });
    let url =
        if tls.is_some() { format!("https://localhost:{}", addr.port()) } else { format!("http://{addr}") };
    ProxyHandle { url, addr, shutdown: Some(tx), task }
}
