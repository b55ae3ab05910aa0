//! What each subcommand does once the configuration is loaded.

use std::process::ExitCode;

use crate::config::load::Loaded;

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

/// `serve`: bind the listeners and run until SIGTERM/SIGINT.
pub fn serve(loaded: Loaded) -> ExitCode {
    crate::telemetry::init(&loaded.config.log);
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
