//! Reconcile: find and repair drift between SCIM's state (the mapping store) and Grafana.
//!
//! Someone may change Grafana directly: disable, rename or delete a provisioned user, take them
//! out of the org or change their role, rename or delete a SCIM-managed team, change its members,
//! link it to an IdP group with Team Sync. Per namespace (org), [`Reconciler::plan`] reads both
//! sides ([`load`]) and decides the changes that make Grafana match SCIM ([`plan`], pure, with
//! its rules); `scim-sidecar reconcile` prints them ([`render`]) and with `--apply` runs them
//! ([`apply`]: one Grafana call each, each audited with actor `reconcile`). Objects SCIM does not
//! manage are never touched, and a user SCIM deactivated is never enabled.
//!
//! `serve` can run the check (never the repair) every `[reconcile] interval` and export the
//! number of pending changes per kind as `scim_sidecar_drift_objects{kind}` ([`watch`]).

pub mod apply;
pub mod desired;
pub mod load;
pub mod plan;
pub mod render;
pub mod watch;

use std::sync::Arc;

use crate::config::ScimConfig;
use crate::grafana::{GrafanaClient, GrafanaError};
use crate::store::{MappingStore, StoreError};

pub use plan::{Kind, Plan};

/// Why a reconcile could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("grafana: {0}")]
    Grafana(#[from] GrafanaError),
    /// The command cannot work as given.
    #[error("{0}")]
    Usage(String),
}

/// The org a namespace names: `default` is org 1, `org-<N>` org N.
///
/// # Errors
/// [`ReconcileError::Usage`] for anything else.
pub fn org_of(namespace: &str) -> Result<i64, ReconcileError> {
    crate::namespace::org_of(namespace).ok_or_else(|| {
        ReconcileError::Usage(format!("{namespace:?} is not a namespace (default or org-<N>)"))
    })
}

/// What reconcile works with: Grafana, the store and the `[scim]` settings.
#[derive(Clone)]
pub struct Reconciler {
    pub grafana: GrafanaClient,
    pub store: Arc<dyn MappingStore>,
    pub scim: ScimConfig,
}

impl Reconciler {
    /// The orgs to compare: the one `namespace` names, else every org the store holds records of.
    ///
    /// # Errors
    /// A bad namespace, or the store failing.
    pub async fn orgs(&self, namespace: Option<&str>) -> Result<Vec<i64>, ReconcileError> {
        match namespace {
            Some(ns) => Ok(vec![org_of(ns)?]),
            None => Ok(self.store.record_orgs().await?),
        }
    }

    /// The changes that make Grafana match SCIM in `org_id`.
    ///
    /// # Errors
    /// The store or a Grafana read failing (nothing is planned from half a picture).
    pub async fn plan(&self, org_id: i64) -> Result<Plan, ReconcileError> {
        let mut desired = load::desired(self.store.as_ref(), &self.scim, org_id).await?;
        let observed = load::observed(&self.grafana, org_id, &desired).await?;
        load::held_elsewhere(self.store.as_ref(), org_id, &mut desired, &observed).await?;
        let namespace = crate::namespace::name_of(org_id);
        Ok(plan::plan(&namespace, org_id, &desired, &observed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_name_orgs() {
        assert_eq!(org_of("default").unwrap(), 1);
        assert_eq!(org_of("org-1").unwrap(), 1);
        assert_eq!(org_of("org-42").unwrap(), 42);
        for bad in ["", "org-", "org-0", "org--1", "org-+2", "org-x", "Default", "org-99999999999999999999"] {
            assert!(matches!(org_of(bad), Err(ReconcileError::Usage(_))), "{bad:?}");
        }
    }
}
