//! `scim-sidecar reconcile`: the plan that makes Grafana match SCIM, per namespace, printed as
//! text or JSON; with `--apply`, carried out and audited (see [`crate::reconcile`]).

use std::process::ExitCode;

use prometheus_client::metrics::counter::Counter;

use crate::audit::Auditor;
use crate::config::load::Loaded;
use crate::grafana::GrafanaClient;
use crate::reconcile::apply::{Applied, Applier};
use crate::reconcile::render::{self, Report};
use crate::reconcile::{Plan, ReconcileError, Reconciler};

/// Exit code: changes are pending (printed as a plan).
pub const EXIT_PENDING: u8 = 2;

/// Runs `reconcile`: exit 0 nothing to do (or, with `apply`, everything applied), 2 changes
/// pending, 1 on an error or a change that failed.
pub fn reconcile(loaded: &Loaded, namespace: Option<&str>, apply: bool, json: bool) -> ExitCode {
    if apply && loaded.config.scim.mode.is_shadow() {
        // Shadow mode promises no Grafana write; the plan alone is a rehearsal's review.
        eprintln!(
            "reconcile: [scim] mode is \"shadow\": --apply would write to Grafana; set mode = \"enforce\" \
             (and restart the sidecar) first"
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = &loaded.config;
    let done = runtime.block_on(async {
        let http = crate::upstream::build_client(&config.grafana).map_err(|e| e.to_string())?;
        let password = config.grafana.password.clone().unwrap_or_default();
        let grafana = GrafanaClient::new(
            &config.grafana.url,
            &config.grafana.user,
            password,
            http,
            config.grafana.request_timeout,
        )
        .map_err(|e| e.to_string())?
        // Counted calls are the ones the audit records list.
        .counting_calls(prometheus_client::metrics::family::Family::default());
        let store = crate::store::open(config.store.url.expose(), 2).await.map_err(|e| e.to_string())?;
        let auditor = if apply && config.audit.enabled {
            Auditor::start(store.clone(), config.audit.retention, Counter::default())
        } else {
            Auditor::disabled()
        };
        let r = Reconciler { grafana, store, scim: config.scim.clone() };
        let outcome = run(&r, &auditor, namespace, apply).await.map_err(|e| e.to_string());
        auditor.flush().await;
        outcome
    });
    let results = match done {
        Ok(results) => results,
        Err(e) => {
            eprintln!("reconcile: {}", super::scrub(&e, config));
            return ExitCode::FAILURE;
        }
    };
    let reports: Vec<Report<'_>> =
        results.iter().map(|(plan, applied)| Report { plan, applied: applied.as_deref() }).collect();
    if json {
        let doc = render::json(&reports, apply);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", render::text(&reports, apply));
    }
    let total: usize = results.iter().map(|(p, _)| p.changes.len()).sum();
    let failed = results.iter().flat_map(|(_, a)| a.iter().flatten()).filter(|a| a.error.is_some()).count();
    match (apply, total, failed) {
        (_, 0, _) | (true, _, 0) => ExitCode::SUCCESS,
        (true, _, _) => ExitCode::FAILURE,
        (false, _, _) => ExitCode::from(EXIT_PENDING),
    }
}

type Results = Vec<(Plan, Option<Vec<Applied>>)>;

async fn run(
    r: &Reconciler,
    auditor: &Auditor,
    namespace: Option<&str>,
    apply: bool,
) -> Result<Results, ReconcileError> {
    let run_id = format!("reconcile-{}", uuid::Uuid::now_v7());
    let mut out = Vec::new();
    for org in r.orgs(namespace).await? {
        let plan = r.plan(org).await?;
        let applied = if apply && !plan.changes.is_empty() {
            let applier = Applier { grafana: &r.grafana, store: r.store.as_ref(), auditor, run_id: &run_id };
            Some(applier.run(&plan).await)
        } else {
            None
        };
        out.push((plan, applied));
    }
    Ok(out)
}
