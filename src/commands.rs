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

/// `serve`: run until SIGTERM/SIGINT.
pub fn serve(loaded: Loaded) -> ExitCode {
    crate::telemetry::init(&loaded.config.log);
    for w in &loaded.warnings {
        tracing::warn!(warning = %w, "configuration warning");
    }
    tracing::error!("serve is not wired yet");
    ExitCode::FAILURE
}
