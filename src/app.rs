//! Assembly: build every component from the configuration and run both listeners.
//!
//! [`run`] takes already-bound listeners and a shutdown future, so tests bind port 0 and stop the
//! sidecar cleanly, exactly as `main` does with real ports and SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Config;
use crate::grafana::GrafanaClient;
use crate::metrics::Metrics;
use crate::policy::PolicyEngine;
use crate::proxy::Forwarder;
use crate::store::MappingStore;
use crate::{admin, router, server, store, upstream};

/// The two listeners the sidecar serves.
#[derive(Debug)]
pub struct Listeners {
    /// Proxy, SCIM and the SAML gate.
    pub public: TcpListener,
    /// `/healthz`, `/readyz`, `/metrics`.
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds the addresses of `config`.
    ///
    /// # Errors
    /// When either address cannot be bound.
    pub async fn bind(config: &Config) -> std::io::Result<Self> {
        Ok(Self {
            public: TcpListener::bind(&config.server.listen).await?,
            admin: TcpListener::bind(&config.admin.listen).await?,
        })
    }

    /// The bound addresses (public, admin).
    ///
    /// # Errors
    /// When the OS cannot report a socket's address.
    pub fn local_addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.public.local_addr()?, self.admin.local_addr()?))
    }
}

/// Why the sidecar could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot build the Grafana client: {0}")]
    Upstream(#[from] upstream::UpstreamError),
    #[error("cannot set up proxying: {0}")]
    Forwarder(#[from] crate::proxy::ForwarderError),
    #[error("cannot load TLS material: {0}")]
    Tls(#[from] server::tls::TlsError),
    #[error("cannot build the Grafana API client: {0}")]
    Grafana(#[from] crate::grafana::GrafanaError),
    #[error("cannot open the mapping store: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot set up the saml login gate: {0}")]
    Gate(#[from] crate::login_gate::GateError),
    #[error("cannot set up entra token mode: {0}")]
    Entra(#[from] crate::entra::SourceError),
}

/// The assembled sidecar: every part built once from the configuration. Nothing but this module
/// (and `lib`/`main`) sees it; each part receives only the narrow state it owns.
pub struct App {
    pub config: Config,
    pub metrics: Metrics,
    /// SAML-only and Team Sync policy: cached report, SCIM permits, the guards' snapshot.
    pub policy: PolicyEngine,
    /// The public listener: SCIM, the login gate, the guards and the proxy.
    pub router: Arc<router::Router>,
    /// The admin listener: health, readiness and metrics.
    pub admin: Arc<admin::Admin>,
    /// The audit log's writer, flushed once the listeners have drained.
    pub auditor: crate::audit::Auditor,
    /// The drift check `[reconcile] interval` runs (never applies).
    pub reconciler: crate::reconcile::Reconciler,
}

impl App {
    /// Builds every component. Opens (and migrates) the store; does not contact Grafana.
    ///
    /// # Errors
    /// See [`RunError`].
    pub async fn build(config: Config) -> Result<Self, RunError> {
        let http = upstream::build_client(&config.grafana)?;
        let forwarder = Forwarder::new(&config.grafana, http.clone())?;
        let password = config.grafana.password.clone().unwrap_or_default();
        let metrics = Metrics::new();
        let grafana = GrafanaClient::new(
            &config.grafana.url,
            &config.grafana.user,
            password,
            http.clone(),
            config.grafana.request_timeout,
        )?
        .counting_calls(metrics.grafana_calls.clone());
        let store: Arc<dyn MappingStore> =
            store::open(config.store.url.expose(), config.store.max_connections).await?;
        let policy = PolicyEngine::new(grafana.clone(), &config, metrics.clone());
        // Shadow mode: provisioning's client plans its writes instead of sending them; the policy,
        // guards and login gate keep the plain client (they only read).
        let provisioning_grafana =
            if config.scim.mode.is_shadow() { grafana.clone().shadowing() } else { grafana.clone() };
        let provisioner = crate::provision::Provisioner::new(
            provisioning_grafana,
            store.clone(),
            crate::provision::Settings::from_config(&config),
            metrics.clone(),
        );
        let auditor = if config.audit.enabled {
            crate::audit::Auditor::start(
                store.clone(),
                config.audit.retention,
                metrics.audit_failures.clone(),
            )
        } else {
            crate::audit::Auditor::disabled()
        };
        let scim = crate::scim_api::ScimApi::new(
            &config,
            Arc::new(provisioner),
            policy.clone(),
            metrics.clone(),
            auditor.clone(),
        )
        .with_entra(config.scim.entra.as_ref().map(crate::entra::Verifier::new).transpose()?);
        let gate = crate::login_gate::LoginGate::from_config(
            &config.saml_gate,
            &config.grafana.url,
            config.server.max_body_bytes,
            store.clone(),
            grafana.clone(),
            policy.clone(),
            metrics.clone(),
        )?
        .map(|gate| gate.with_http_client(http.clone()).with_auditor(auditor.clone()));
        let guards = crate::guard::Guards::new(
            grafana.clone(),
            store.clone(),
            policy.clone(),
            metrics.clone(),
            config.server.max_body_bytes,
        )
        .with_auditor(auditor.clone());
        let router = Arc::new(router::Router {
            edge: crate::edge::Edge::new(&config.server),
            policy: policy.clone(),
            scim,
            gate,
            guards,
            forwarder,
            metrics: metrics.clone(),
        });
        let reconciler = crate::reconcile::Reconciler {
            grafana: grafana.clone(),
            store: store.clone(),
            scim: config.scim.clone(),
        };
        let admin = Arc::new(
            admin::Admin::new(&config, metrics.clone(), grafana, store, policy.clone())
                .with_auditor(auditor.clone()),
        );
        Ok(Self { config, metrics, policy, router, admin, auditor, reconciler })
    }
}

/// Runs the sidecar until `shutdown` completes, then drains in-flight requests.
///
/// # Errors
/// When a component cannot be built (see [`RunError`]); serving errors are logged, not returned.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let tls = match (&config.server.tls_cert_file, &config.server.tls_key_file) {
        (Some(cert), Some(key)) => Some(server::tls::acceptor_from_files(cert, key)?),
        _ => None,
    };
    if config.grafana.insecure_skip_verify {
        warn!("grafana certificate verification is OFF ([grafana] insecure_skip_verify)");
    }
    let app = App::build(config).await?;
    let (public_addr, admin_addr) = (listeners.public.local_addr().ok(), listeners.admin.local_addr().ok());
    info!(public = ?public_addr, admin = ?admin_addr, grafana = %app.config.grafana.url, "scim-sidecar listening");
    if app.config.scim.mode.is_shadow() {
        warn!("{}", app.config.scim.mode.describe());
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let refresher = app.policy.spawn_refresher(stopped(stop_rx.clone()));
    let drift = (!app.config.reconcile.interval.is_zero()).then(|| {
        let every = app.config.reconcile.interval;
        info!(interval = %humantime::format_duration(every), "drift check on ([reconcile] interval)");
        let gauges = app.metrics.drift_objects.clone();
        tokio::spawn(crate::reconcile::watch::run(
            app.reconciler.clone(),
            every,
            gauges,
            stopped(stop_rx.clone()),
        ))
    });
    // The gate's problems (off while SCIM is configured, no IdP metadata) are logged at start,
    // before the first login fails.
    let admin_app = app.admin.clone();
    let startup = admin_app.clone();
    let gate_matters = app.config.saml_gate.enabled || app.policy.scim_active();
    tokio::spawn(async move {
        if !gate_matters {
            return;
        }
        let report = startup.policy.report().await;
        for w in startup.gate_warnings(&report.saml) {
            warn!(warning = %w, "saml login gate warning");
        }
    });
    let admin_task = tokio::spawn({
        let server_cfg = app.config.server.clone();
        let admin_metrics = app.metrics.clone();
        let rx = stop_rx.clone();
        async move {
            let handler = move |req, _info| admin::handle(admin_app.clone(), req);
            server::serve(listeners.admin, None, &server_cfg, &admin_metrics, handler, stopped(rx)).await;
        }
    });
    let public_app = app.router.clone();
    let public = server::serve(
        listeners.public,
        tls,
        &app.config.server,
        &app.metrics,
        move |req, info| router::handle(public_app.clone(), req, info),
        stopped(stop_rx),
    );
    let signal = async move {
        shutdown.await;
        info!("shutting down: no new connections, draining in-flight requests");
        let _ = stop_tx.send(true);
    };
    tokio::join!(public, signal);
    let _ = admin_task.await;
    let _ = refresher.await;
    if let Some(drift) = drift {
        let _ = drift.await;
    }
    // Records of the requests that just drained are stored before the process exits.
    if tokio::time::timeout(std::time::Duration::from_secs(5), app.auditor.flush()).await.is_err() {
        warn!("audit records still queued at exit were not stored");
    }
    info!("scim-sidecar stopped");
    Ok(())
}
