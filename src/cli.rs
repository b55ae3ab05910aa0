//! The command line (clap derive). It only parses; `main.rs` and the library act.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Overrides;

/// SCIM 2.0 provisioning for an unmodified Grafana: a reverse proxy that serves SCIM to your
/// identity provider and passes everything else through to Grafana.
#[derive(Debug, Parser)]
#[command(name = "scim-sidecar", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Default: $SIDECAR_CONFIG, else ./sidecar.toml if present, else built-in defaults.
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Public listener address (overrides [server] listen / SIDECAR_SERVER_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Admin listener address (overrides [admin] listen / SIDECAR_ADMIN_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    pub admin_listen: Option<String>,

    /// Grafana base URL (overrides [grafana] url / SIDECAR_GRAFANA_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub grafana_url: Option<String>,

    /// Mapping store URL, sqlite://PATH or postgres://... (overrides [store] url / SIDECAR_STORE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub store_url: Option<String>,

    /// Log format (overrides [log] format / SIDECAR_LOG_FORMAT).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,

    /// Log filter such as `info` or `scim_sidecar=debug` (overrides [log] level / SIDECAR_LOG_LEVEL;
    /// RUST_LOG wins over both).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do. Without a subcommand the sidecar serves.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the sidecar (the default).
    Serve,
    /// Validate the configuration: exit 0 when valid, 64 when not, listing every problem.
    CheckConfig {
        /// Only report problems; do not print the effective (redacted) configuration.
        #[arg(long)]
        quiet: bool,
    },
    /// Ask Grafana whether the policy holds (SAML only, no Team Sync with SCIM group sync) and
    /// print a report: exit 0 compliant, 1 violated, 2 undetermined.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create or upgrade the mapping store's schema, then exit (serve also does this at start).
    Migrate,
    /// Back up or copy the mapping store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print the audit log (changes made through SCIM, refusals, drift), newest first.
    Audit {
        /// Records at or after this time: a duration back from now (`24h`, `7d`) or RFC 3339.
        #[arg(long, value_name = "DURATION|RFC3339")]
        since: Option<String>,
        /// Records at or before this time: a duration back from now or RFC 3339.
        #[arg(long, value_name = "DURATION|RFC3339")]
        until: Option<String>,
        /// Only this namespace (`default`, `org-2`).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Only records about the user with this userName (ignoring case).
        #[arg(long, value_name = "USERNAME")]
        user: Option<String>,
        /// Only records about the group with this displayName (ignoring case).
        #[arg(long, value_name = "DISPLAYNAME")]
        group: Option<String>,
        /// Only records of this kind: scim, policy, guard, login_gate, drift.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// At most this many records (default 100).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Compare SCIM's state in the store with Grafana and print the changes that would make
    /// Grafana match (a plan): exit 0 nothing to do, 2 changes pending, 1 error. With --apply,
    /// make them (exit 0 when every change was applied, 1 otherwise).
    Reconcile {
        /// Only this namespace (`default`, `org-2`); default: every namespace with SCIM records.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Make the changes (each one Grafana call, each audited with actor `reconcile`).
        #[arg(long)]
        apply: bool,
        /// Print the plan (or what was applied) as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Print the version.
    Version,
    /// Move teams that use Team Sync (external group links) to SCIM groups: print the plan (which
    /// SCIM group will own each linked team); with --apply mark each team SCIM-managed and
    /// adoptable by the IdP's first push of that group, then remove its links. Exit 0 nothing to
    /// do (or all applied), 2 changes pending, 1 error.
    MigrateTeamSync {
        /// Only this namespace (`default`, `org-2`); default: every org the sidecar serves.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Make the changes (default: only print the plan).
        #[arg(long)]
        apply: bool,
        /// Undo the migration of teams the IdP has not claimed yet: re-add their links and
        /// return their records to unmanaged.
        #[arg(long, conflicts_with = "apply")]
        rollback: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `store` subcommands: whole-store operations for operators (`store::transfer`).
#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Write a consistent copy of the SQLite store to a new file, also while the sidecar runs
    /// (a PostgreSQL store is backed up with pg_dump). Exit 0, 64 when refused, 1 on failure.
    Backup {
        /// The new file to write (must not exist).
        path: PathBuf,
    },
    /// Copy every record from one store to another, e.g. SQLite to PostgreSQL when moving to
    /// replicas. The target is migrated first and must be empty (see --force); the copy is one
    /// transaction, committed only when the row counts match. Exit 0, 64 when refused, 1 on failure.
    Copy {
        /// Source store URL (default: the configured store, [store] url / SIDECAR_STORE_URL).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// Target store URL, sqlite://PATH or postgres://... (libpq TLS parameters apply).
        #[arg(long, value_name = "URL")]
        to: String,
        /// Replace the records the target already holds instead of refusing to copy.
        #[arg(long)]
        force: bool,
    },
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl Cli {
    /// The flag values as configuration overrides (the highest-precedence layer).
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        let mut add = |flag, section, key, value: &Option<String>| {
            if let Some(v) = value {
                o.set(flag, section, key, v.clone());
            }
        };
        add("--listen", "server", "listen", &self.listen);
        add("--admin-listen", "admin", "listen", &self.admin_listen);
        add("--grafana-url", "grafana", "url", &self.grafana_url);
        add("--store-url", "store", "url", &self.store_url);
        add("--log-level", "log", "level", &self.log_level);
        let format = self.log_format.map(|f| match f {
            LogFormatArg::Text => "text".to_string(),
            LogFormatArg::Json => "json".to_string(),
        });
        add("--log-format", "log", "format", &format);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_names_its_environment_variable() {
        // Operators configure containers through the environment: --help must say which variable
        // each flag stands for.
        let cmd = Cli::command();
        for arg in cmd.get_arguments().filter(|a| a.get_long().is_some_and(|l| l != "help" && l != "version"))
        {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                help.contains("SIDECAR_"),
                "--{} does not name its variable: {help}",
                arg.get_long().unwrap()
            );
        }
    }

    #[test]
    fn serve_is_the_default() {
        let cli = Cli::parse_from(["scim-sidecar", "--listen", "127.0.0.1:1"]);
        assert!(cli.command.is_none());
        let cli = Cli::parse_from(["scim-sidecar", "check-config", "--config", "x.toml"]);
        assert!(matches!(cli.command, Some(Command::CheckConfig { quiet: false })));
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        let cli = Cli::parse_from(["scim-sidecar", "check", "--json"]);
        assert!(matches!(cli.command, Some(Command::Check { json: true })));
    }

    #[test]
    fn store_subcommands_parse() {
        let cli = Cli::parse_from(["scim-sidecar", "store", "backup", "/b.db"]);
        assert!(
            matches!(cli.command, Some(Command::Store(StoreCommand::Backup { path })) if path == std::path::Path::new("/b.db"))
        );
        let cli = Cli::parse_from([
            "scim-sidecar",
            "--store-url",
            "sqlite://a.db",
            "store",
            "copy",
            "--to",
            "sqlite://b.db",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::Store(StoreCommand::Copy { from: None, force: false, .. }))
        ));
        assert!(Cli::try_parse_from(["scim-sidecar", "store", "copy"]).is_err(), "--to is required");
    }
}
