//! Runs the in-memory Grafana emulator as a program, for trying the sidecar without Grafana.
//!
//! `cargo run --example grafana-emulator -- --listen 127.0.0.1:3000 --version 12 --edition enterprise`

use std::net::SocketAddr;

use clap::Parser;
use grafana_emulator::{Edition, Emulator, EmulatorOptions, VersionProfile};

/// An in-memory emulator of the Grafana HTTP API used by scim-sidecar.
#[derive(Debug, Parser)]
#[command(name = "grafana-emulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Grafana version profile: 10, 11 or 12.
    #[arg(long, default_value = "12", value_parser = parse_version)]
    version: VersionProfile,
    /// Edition: oss or enterprise.
    #[arg(long, default_value = "enterprise", value_parser = parse_edition)]
    edition: Edition,
    /// Enable SAML (and license it; Enterprise only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    saml: bool,
    /// License Team Sync (Enterprise only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    team_sync: bool,
    /// Password of the seeded `admin` user.
    #[arg(long, default_value = "admin")]
    admin_password: String,
    /// `root_url` to report (defaults to the listen URL).
    #[arg(long)]
    root_url: Option<String>,
    /// Seed a service-account token with the Admin role in org 1 and print it.
    #[arg(long, default_value_t = false)]
    seed_token: bool,
}

fn parse_version(s: &str) -> Result<VersionProfile, String> {
    VersionProfile::parse(s).ok_or_else(|| format!("unknown version {s:?}; use 10, 11 or 12"))
}

fn parse_edition(s: &str) -> Result<Edition, String> {
    Edition::parse(s).ok_or_else(|| format!("unknown edition {s:?}; use oss or enterprise"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let enterprise = args.edition == Edition::Enterprise;
    let mut opts = EmulatorOptions::default()
        .version(args.version)
        .edition(args.edition)
        .saml_enabled(enterprise && args.saml)
        .saml_licensed(enterprise && args.saml)
        .team_sync_licensed(enterprise && args.team_sync)
        .admin_password(args.admin_password.clone())
        .seed_admin_token(args.seed_token);
    if let Some(root) = args.root_url {
        opts = opts.root_url(root);
    }
    let handle = Emulator::start_on(args.listen, opts).await?;
    println!("grafana emulator listening on {}", handle.url());
    println!(
        "version {} edition {:?} saml {} team sync {}",
        args.version.version_string(),
        args.edition,
        handle.saml_active(),
        enterprise && args.team_sync
    );
    println!("credentials: admin / {}", args.admin_password);
    if let Some(token) = handle.seed_token() {
        println!("service account token (org 1, Admin): {token}");
    }
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
