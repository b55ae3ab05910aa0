//! `scim-sidecar migrate-team-sync [--namespace NS] [--apply | --rollback] [--json]`: prints the
//! plan of moving Team-Sync-linked teams to SCIM groups, applies it, or rolls back the teams the
//! IdP has not claimed yet (`provision::migration`).
//!
//! Exit codes: **0** nothing to do, or everything applied / rolled back; **2** changes pending
//! (the plan, or teams an `--apply` had to leave: several links, a name or externalId taken);
//! **1** an error (Grafana or the store unreachable, a step failed); **64** a bad namespace.
//! Every change is an audit record (actor `migrate-team-sync`) when `[audit] enabled`.

use std::process::ExitCode;

use serde_json::json;

use crate::audit::Auditor;
use crate::config::load::Loaded;
use crate::config::Config;
use crate::grafana::GrafanaClient;
use crate::provision::migration::{self, Step};
use crate::store::MappingStore;

/// Nothing to do, or all done.
const DONE: u8 = 0;
/// An error.
const ERROR: u8 = 1;
/// Changes pending.
const PENDING: u8 = 2;
/// A bad namespace.
const USAGE: u8 = 64;

/// The flags, as clap parsed them.
#[derive(Debug, Clone, Default)]
pub struct MigrateArgs {
    pub namespace: Option<String>,
    pub apply: bool,
    pub rollback: bool,
    pub json: bool,
}

fn grafana_client(config: &Config) -> Result<GrafanaClient, String> {
    let http = crate::upstream::build_client(&config.grafana).map_err(|e| e.to_string())?;
    let password = config.grafana.password.clone().unwrap_or_default();
    GrafanaClient::new(
        &config.grafana.url,
        &config.grafana.user,
        password,
        http,
        config.grafana.request_timeout,
    )
    .map_err(|e| e.to_string())
}

/// Runs the command (see the module docs for the exit codes).
pub fn migrate_team_sync(loaded: &Loaded, args: &MigrateArgs) -> ExitCode {
    let namespace_org = match args.namespace.as_deref().map(|ns| (ns, crate::namespace::org_of(ns))) {
        None => None,
        Some((_, Some(org))) => Some(org),
        Some((ns, None)) => {
            eprintln!("invalid namespace {ns:?}: expected `default` or `org-<N>`");
            return ExitCode::from(USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(ERROR);
        }
    };
    let config = &loaded.config;
    let (code, text) = runtime.block_on(async {
        match run(config, namespace_org, args).await {
            Ok(done) => done,
            Err(e) => (ERROR, format!("migrate-team-sync: {e}\n")),
        }
    });
    let text = super::scrub(&text, config);
    if code == ERROR && !args.json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    ExitCode::from(code)
}

async fn run(config: &Config, org: Option<i64>, args: &MigrateArgs) -> Result<(u8, String), String> {
    let grafana = grafana_client(config).map_err(|e| format!("cannot build the Grafana client: {e}"))?;
    let store = crate::store::open(config.store.url.expose(), 2).await.map_err(|e| e.to_string())?;
    let orgs = match org {
        Some(org) => vec![org],
        None => migration::orgs(&grafana, &config.grafana.user).await.map_err(|e| e.to_string())?,
    };
    let auditor = if config.audit.enabled {
        Auditor::start(
            store.clone(),
            config.audit.retention,
            prometheus_client::metrics::counter::Counter::default(),
        )
    } else {
        Auditor::disabled()
    };
    let out = if args.rollback {
        rollback(&grafana, store.as_ref(), &auditor, &orgs, args.json).await
    } else {
        migrate(&grafana, store.as_ref(), &auditor, &orgs, config.policy.scan_concurrency, args).await
    };
    // The records are stored before the process exits.
    auditor.flush().await;
    out
}

async fn migrate(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    auditor: &Auditor,
    orgs: &[i64],
    concurrency: usize,
    args: &MigrateArgs,
) -> Result<(u8, String), String> {
    let observed = migration::observe(grafana, store, orgs, concurrency).await.map_err(|e| e.to_string())?;
    let mut steps = migration::plan(&observed);
    let code = if steps.is_empty() {
        DONE
    } else if !args.apply {
        PENDING
    } else {
        let all = migration::apply(grafana, store, auditor, &observed, &mut steps).await;
        let failed = steps.iter().any(|s| s.outcome.as_deref() == Some("failed"));
        match (all, failed) {
            (true, _) => DONE,
            (false, true) => ERROR,
            (false, false) => PENDING,
        }
    };
    Ok((code, show(&steps, args, code)))
}

fn show(steps: &[Step], args: &MigrateArgs, code: u8) -> String {
    if args.json {
        let body = json!({
            "applied": args.apply,
            "exit_code": code,
            "teams": steps,
        });
        return serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
    }
    let mut text = migration::plan::render(steps, args.apply);
    if args.apply && code == DONE && !steps.is_empty() {
        text.push_str(
            "Team Sync links removed. A running sidecar sees the policy's Team Sync check clear at its next \
             policy refresh ([policy] cache_ttl); `scim-sidecar check` shows it now. The IdP's first push \
             of each group adopts its team.\n",
        );
    }
    text
}

async fn rollback(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    auditor: &Auditor,
    orgs: &[i64],
    json: bool,
) -> Result<(u8, String), String> {
    let marked = migration::marked(grafana, store, orgs).await.map_err(|e| e.to_string())?;
    let restored = migration::rollback(grafana, store, auditor, &marked).await;
    let failed = restored.iter().any(|r| r.error.is_some());
    let code = if failed { ERROR } else { DONE };
    if json {
        let body = json!({"rolled_back": restored, "exit_code": code});
        return Ok((code, serde_json::to_string_pretty(&body).unwrap_or_default() + "\n"));
    }
    if restored.is_empty() {
        return Ok((code, "No team is marked for adoption: nothing to roll back.\n".into()));
    }
    let mut text = String::new();
    for r in &restored {
        text.push_str(&format!(
            "  team {:?} (namespace {}, team {}): Team Sync links {:?} {}\n",
            r.team_name,
            r.namespace,
            r.team_id,
            r.links,
            r.error
                .as_deref()
                .map_or("restored, record unmanaged again".to_string(), |e| format!("FAILED: {e}"))
        ));
    }
    Ok((code, text))
}
