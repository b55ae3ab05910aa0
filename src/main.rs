//! The `scim-sidecar` binary: parse the command line, load the configuration, run.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use scim_sidecar::cli::{Cli, Command};
use scim_sidecar::config::load::{load, Sources};

/// `EX_USAGE` from sysexits.h: the configuration is invalid.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.clone().unwrap_or(Command::Serve);
    if let Command::Version = command {
        // The commit is known when the build was given it (SCIM_SIDECAR_COMMIT, as the Dockerfile
        // and scripts/build-image.sh do); a build.rs asking git would rebuild the crate at every commit.
        match option_env!("SCIM_SIDECAR_COMMIT").filter(|c| !c.is_empty()) {
            Some(commit) => println!("scim-sidecar {} (commit {commit})", env!("CARGO_PKG_VERSION")),
            None => println!("scim-sidecar {}", env!("CARGO_PKG_VERSION")),
        }
        return ExitCode::SUCCESS;
    }
    let sources = Sources::from_process(cli.config.clone(), cli.overrides());
    let loaded = match load(&sources) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!(
                "invalid configuration ({} problem{}):",
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" }
            );
            for e in &errors.0 {
                eprintln!("  - {e}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match command {
        Command::CheckConfig { quiet } => scim_sidecar::commands::check_config(&loaded, quiet),
        Command::Serve => scim_sidecar::commands::serve(loaded),
        Command::Check { json } => scim_sidecar::commands::check(&loaded, json),
        Command::Migrate => scim_sidecar::commands::migrate(&loaded),
        Command::Store(action) => scim_sidecar::commands::store(&loaded, action),
        Command::Audit { since, until, namespace, user, group, kind, json, limit } => {
            let args =
                scim_sidecar::commands::AuditArgs { since, until, namespace, user, group, kind, limit, json };
            scim_sidecar::commands::audit(&loaded, &args)
        }
        Command::Reconcile { namespace, apply, json } => {
            scim_sidecar::commands::reconcile(&loaded, namespace.as_deref(), apply, json)
        }
        Command::Version => ExitCode::SUCCESS,
        Command::MigrateTeamSync { namespace, apply, rollback, json } => {
            let args = scim_sidecar::commands::MigrateArgs { namespace, apply, rollback, json };
            scim_sidecar::commands::migrate_team_sync(&loaded, &args)
        }
    }
}
