//! What each subcommand does once the configuration is loaded.

mod audit;
mod migrate_team_sync;
mod reconcile;

use std::process::ExitCode;

use crate::cli::StoreCommand;
use crate::config::load::Loaded;
use crate::config::Config;
use crate::grafana::GrafanaClient;
use crate::login_gate::settings::GateReport;
use crate::metrics::Metrics;
use crate::policy::{render, PolicyEngine, Verdict};

pub use audit::{audit, AuditArgs};
pub use migrate_team_sync::{migrate_team_sync, MigrateArgs};
pub use reconcile::reconcile;

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
    if let Ok(store) = crate::store::describe_url(loaded.config.store.url.expose()) {
        println!("store: {store}");
    }
    if let Some(entra) = &loaded.config.scim.entra {
        println!("{}", entra.describe());
    }
    println!("{}", loaded.config.scim.mode.describe());
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
        let (report, store, entra) = tokio::join!(engine.observe(), store_state(config), entra_state(config));
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
                "entra": entra,
                "scim_mode": config.scim.mode,
            });
            serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"
        } else {
            let store_line = match &store {
                serde_json::Value::Object(m) if m.get("ok") == Some(&serde_json::Value::Bool(true)) => {
                    // `connection` starts with the backend: "postgres, sslmode=…" or "sqlite file …".
                    format!(
                        "{} (schema version {})",
                        m.get("connection").and_then(|v| v.as_str()).unwrap_or("?"),
                        m.get("schema_version").map(ToString::to_string).unwrap_or_default()
                    )
                }
                other => {
                    format!("error: {}", other.get("error").and_then(|v| v.as_str()).unwrap_or("unknown"))
                }
            };
            let extra = format!("{}{}{}\n", gate.human(), entra_human(&entra), config.scim.mode.describe());
            format!(
                "Policy check against {}\n{}",
                config.grafana.url,
                render::human_with(&report, &store_line, &extra)
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

/// `[scim.entra]`: the mode and whether the tenant's signing keys can be fetched now (`null`
/// when the mode is off). Does not change `check`'s exit code, which is the policy's.
async fn entra_state(config: &Config) -> serde_json::Value {
    let Some(cfg) = &config.scim.entra else { return serde_json::Value::Null };
    let fetched = match crate::entra::Verifier::new(cfg) {
        Ok(verifier) => verifier.fetch_keys().await,
        Err(e) => Err(e.to_string()),
    };
    let mut state = serde_json::json!({
        "tenant_id": cfg.tenant(),
        "namespaces": cfg.namespaces,
        "jwks_url": cfg.keys_url(),
        "reachable": fetched.is_ok(),
    });
    match fetched {
        Ok(keys) => state["signing_keys"] = keys.into(),
        Err(e) => state["error"] = e.into(),
    }
    state
}

fn entra_human(state: &serde_json::Value) -> String {
    let Some(cfg) = state.as_object() else { return String::new() };
    let url = cfg.get("jwks_url").and_then(|v| v.as_str()).unwrap_or_default();
    match (cfg.get("signing_keys"), cfg.get("error").and_then(|v| v.as_str())) {
        (Some(keys), _) => format!("Entra token mode: signing keys at {url} reachable ({keys} usable)\n"),
        (None, error) => format!(
            "Entra token mode: signing keys at {url} NOT reachable: {}; Entra tokens get 503 until they are\n",
            error.unwrap_or("unknown error")
        ),
    }
}

/// Opens (and so migrates) the store and reads its schema version; `connection` says what the
/// URL names (for PostgreSQL the TLS mode and what it verifies).
async fn store_state(config: &Config) -> serde_json::Value {
    let url = config.store.url.expose();
    let connection = crate::store::describe_url(url).unwrap_or_else(|e| e.to_string());
    match crate::store::open(url, 1).await {
        Ok(store) => match store.schema_version().await {
            Ok(v) => serde_json::json!({"ok": true, "backend": store.backend_name(), "schema_version": v,
                "connection": connection}),
            Err(e) => {
                serde_json::json!({"ok": false, "backend": store.backend_name(), "error": e.to_string(),
                "connection": connection})
            }
        },
        Err(e) => serde_json::json!({"ok": false, "error": e.to_string(), "connection": connection}),
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

/// `EX_USAGE`: the command cannot work as given (the operator must change it).
const EXIT_USAGE: u8 = 64;

/// `store backup` and `store copy`: print what was done, or why not. Exit 0 when done, 64 when
/// the operator must change the command (a PostgreSQL store to back up, an existing backup
/// file, a non-empty target, a source on another schema version, an invalid URL), 1 when the
/// store failed. Passwords of every URL involved are scrubbed from what is printed.
pub fn store(loaded: &Loaded, action: StoreCommand) -> ExitCode {
    use crate::store::transfer::{self, TransferError};
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let configured = loaded.config.store.url.expose();
    let (verb, urls, result) = match &action {
        StoreCommand::Backup { path } => {
            let done = runtime.block_on(transfer::backup(configured, path));
            ("backup", vec![configured], done.map(|c| format!("backed up {c} to {}", path.display())))
        }
        StoreCommand::Copy { from, to, force } => {
            let from = from.as_deref().unwrap_or(configured);
            let done = runtime.block_on(transfer::copy(from, to, *force)).map(|s| {
                let mut line = format!(
                    "copied {} from {} to {} (schema version {})",
                    s.copied, s.from_backend, s.to_backend, s.schema_version
                );
                if s.replaced != transfer::Counts::default() {
                    line.push_str(&format!("; replaced {}", s.replaced));
                }
                line
            });
            ("copy", vec![from, to.as_str()], done)
        }
    };
    let redact = |text: String| {
        let scrubbed = scrub(&text, &loaded.config);
        urls.iter().filter_map(|u| url::Url::parse(u).ok()).fold(scrubbed, |t, u| match u.password() {
            Some(p) if !p.is_empty() => t.replace(p, "***"),
            _ => t,
        })
    };
    match result {
        Ok(line) => {
            println!("{}", redact(line));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("store {verb}: {}", redact(e.to_string()));
            match e {
                TransferError::Usage(_)
                | TransferError::TargetNotEmpty(_)
                | TransferError::Store(crate::store::StoreError::InvalidUrl(_)) => ExitCode::from(EXIT_USAGE),
                TransferError::Mismatch { .. } | TransferError::Store(_) => ExitCode::FAILURE,
            }
        }
    }
}
