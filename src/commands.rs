//! What each subcommand does once the configuration is loaded.

mod audit;

use std::process::ExitCode;

use crate::config::load::Loaded;
use crate::config::Config;
use crate::grafana::GrafanaClient;
use crate::login_gate::settings::GateReport;
use crate::metrics::Metrics;
use crate::policy::{render, PolicyEngine, Verdict};

pub use audit::{audit, AuditArgs};

/// `check-config`: the configuration loaded, so it is valid. Print where it came from, its
/// warnings and (unless `quiet`) the effective configuration with every secret redacted.
pub fn check_config(loaded: &Loaded, quiet: bool) -> ExitCode {
    match &loaded.file {
        Some(path) => {
            println!("configuration is valid (file: {}, plus environment and flags)", path.display())
        }
        None => println!("configuration is valid (built-in defaults, plus environment and flags)"),
    }
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    if !quiet {
        match toml::to_string_pretty(&loaded.config) {
            Ok(text) => println!("\n{text}"),
            Err(e) => println!("(cannot render the configuration: {e})"),
        }
    }
    ExitCode::SUCCESS
}

/// `check` exit codes: the policy holds, is violated, or could not be decided.
pub const CHECK_COMPLIANT: u8 = 0;
pub const CHECK_VIOLATED: u8 = 1;
pub const CHECK_UNDETERMINED: u8 = 2;

/// `check`: one uncached policy observation of Grafana, the store's state and the SAML login
/// gate's effective settings (with where each came from), printed as text or JSON. Gate
/// problems are warnings, not failures. Secrets from the configuration are scrubbed from
/// everything printed.
pub fn check(loaded: &Loaded, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(CHECK_UNDETERMINED);
        }
    };
    let config = &loaded.config;
    let (code, text) = runtime.block_on(async {
        let engine = match policy_engine(config) {
            Ok(engine) => engine,
            Err(e) => return (CHECK_UNDETERMINED, format!("cannot build the Grafana client: {e}\n")),
        };
        let (report, store) = tokio::join!(engine.observe(), store_state(config));
        let gate = GateReport::new(&config.saml_gate, &config.grafana.url, &report.saml)
            .with_scim_active(engine.scim_active());
        let code = match report.overall() {
            Verdict::Satisfied => CHECK_COMPLIANT,
            Verdict::Violated(_) => CHECK_VIOLATED,
            Verdict::Undetermined(_) => CHECK_UNDETERMINED,
        };
        let text = if json {
            let body = serde_json::json!({
                "result": match code {
                    CHECK_COMPLIANT => "compliant",
                    CHECK_VIOLATED => "violated",
                    _ => "undetermined",
                },
                "exit_code": code,
                "grafana_url": config.grafana.url,
                "report": report,
                "store": store,
                "saml_gate": gate,
            });
            serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"
        } else {
            let store_line = match &store {
                serde_json::Value::Object(m) if m.get("ok") == Some(&serde_json::Value::Bool(true)) => {
                    format!(
                        "{} (schema version {})",
                        m.get("backend").and_then(|v| v.as_str()).unwrap_or("?"),
                        m.get("schema_version").map(ToString::to_string).unwrap_or_default()
                    )
                }
                other => {
                    format!("error: {}", other.get("error").and_then(|v| v.as_str()).unwrap_or("unknown"))
                }
            };
            format!(
                "Policy check against {}\n{}",
                config.grafana.url,
                render::human_with(&report, &store_line, &gate.human())
            )
        };
        (code, text)
    });
    print!("{}", scrub(&text, config));
    ExitCode::from(code)
}

fn policy_engine(config: &Config) -> Result<PolicyEngine, String> {
    let http = crate::upstream::build_client(&config.grafana).map_err(|e| e.to_string())?;
    let password = config.grafana.password.clone().unwrap_or_default();
    let client = GrafanaClient::new(
        &config.grafana.url,
        &config.grafana.user,
        password,
        http,
        config.grafana.request_timeout,
    )
    .map_err(|e| e.to_string())?;
    Ok(PolicyEngine::new(client, config, Metrics::new()))
}

/// Opens (and so migrates) the store and reads its schema version.
async fn store_state(config: &Config) -> serde_json::Value {
    match crate::store::open(config.store.url.expose(), 1).await {
        Ok(store) => match store.schema_version().await {
            Ok(v) => serde_json::json!({"ok": true, "backend": store.backend_name(), "schema_version": v}),
            Err(e) => {
                serde_json::json!({"ok": false, "backend": store.backend_name(), "error": e.to_string()})
            }
        },
        Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
    }
}

/// Replaces every configured secret (Grafana password, SCIM tokens, the store URL's password)
/// found in `text`, in case an error message echoed one.
fn scrub(text: &str, config: &Config) -> String {
    let mut secrets: Vec<String> = config.scim.tokens.iter().map(|t| t.expose().to_string()).collect();
    if let Some(p) = &config.grafana.password {
        secrets.push(p.expose().to_string());
    }
    if let Ok(url) = url::Url::parse(config.store.url.expose()) {
        if let Some(p) = url.password() {
            secrets.push(p.to_string());
        }
    }
    let mut out = text.to_string();
    // Short values (such as the well-known default `admin`) would scrub ordinary words.
    for s in secrets.iter().filter(|s| s.len() >= 8) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

/// `serve`: bind the listeners and run until SIGTERM/SIGINT.
pub fn serve(loaded: Loaded) -> ExitCode {
    let _log = crate::telemetry::init(&loaded.config.log);
    for w in &loaded.warnings {
        tracing::warn!(warning = %w, "configuration warning");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listeners = match crate::Listeners::bind(&loaded.config).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, listen = %loaded.config.server.listen,
                    admin = %loaded.config.admin.listen, "cannot bind the listeners");
                return ExitCode::FAILURE;
            }
        };
        match crate::run(loaded.config, listeners, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                ExitCode::FAILURE
            }
        }
    })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `migrate`: bring the store's schema to this binary's version. Exit 0 on success, 1 on failure
/// (including a database newer than this binary, which is never downgraded).
pub fn migrate(loaded: &Loaded) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::store::migrate(loaded.config.store.url.expose())) {
        Ok(version) => {
            println!("store schema at version {version}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migration failed: {e}");
            ExitCode::FAILURE
        }
    }
}
