//! The periodic drift check inside `serve` (`[reconcile] interval`): the plan of every namespace,
//! never applied, counted per kind into `scim_sidecar_drift_objects{kind}` and logged. A check
//! that cannot complete leaves the gauges as the last complete one set them.

use std::future::Future;
use std::time::Duration;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tracing::{info, warn};

use super::plan::Kind;
use super::{ReconcileError, Reconciler};
use crate::metrics::KindLabels;

/// One check over every namespace: the pending changes per kind.
///
/// # Errors
/// The store or Grafana failing for any namespace.
pub async fn check(r: &Reconciler) -> Result<Vec<(Kind, usize)>, ReconcileError> {
    let mut counts: Vec<(Kind, usize)> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
    for org in r.orgs(None).await? {
        let plan = r.plan(org).await?;
        for (kind, n) in plan.counts() {
            if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 += n;
            }
        }
    }
    Ok(counts)
}

/// Checks now and then every `every` until `stop` completes, setting `gauges`.
pub async fn run(
    r: Reconciler,
    every: Duration,
    gauges: Family<KindLabels, Gauge>,
    stop: impl Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        let checked = tokio::select! {
            () = &mut stop => return,
            checked = check(&r) => checked,
        };
        match checked {
            Ok(counts) => {
                let total: usize = counts.iter().map(|(_, n)| n).sum();
                for (kind, n) in counts {
                    gauges
                        .get_or_create(&KindLabels { kind: kind.label() })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                if total > 0 {
                    warn!(
                        changes = total,
                        "grafana drifted from scim: run `scim-sidecar reconcile` to see the plan"
                    );
                } else {
                    info!("drift check: grafana matches scim");
                }
            }
            Err(e) => warn!(error = %e, "drift check could not complete"),
        }
    }
}
