//! [`Provisioner`]: the state provisioning owns, and [`Scope`]: what one operation runs for.
//!
//! `app.rs` builds one `Provisioner` from the parts it needs (the Grafana client, the mapping
//! store, the `[scim]` settings, the metrics) and hands it to the SCIM edge; provisioning reaches
//! nothing else. A [`Scope`] adds what one request decided at the edge: the Grafana org of the
//! namespace, who authenticated, and the base URL `meta.location` is built from.

use std::sync::Arc;

use crate::config::{Config, ScimConfig};
use crate::grafana::GrafanaClient;
use crate::metrics::Metrics;
use crate::store::MappingStore;

use super::groups::GroupsState;
use super::users::UsersState;

/// Who made an authenticated SCIM request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// One of the configured static tokens.
    StaticToken,
    /// A Grafana service-account token Grafana vouched for (scoped to one org: it may not take
    /// over users beyond it).
    GrafanaToken,
    /// A token Entra ID signed (`[scim.entra]`): a static token's authority within its
    /// namespaces, except making a user a Grafana server admin unless `[scim.entra]
    /// allow_grafana_admin` says so (the token is not bound to this app).
    EntraToken,
}

/// The configuration provisioning reads.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `[scim]`.
    pub scim: ScimConfig,
    /// `[grafana] user`: the sidecar's own Grafana account, never written through SCIM.
    pub grafana_user: String,
}

impl Settings {
    /// The part of `config` provisioning reads.
    pub fn from_config(config: &Config) -> Self {
        Self { scim: config.scim.clone(), grafana_user: config.grafana.user.clone() }
    }
}

/// Long-lived state of provisioning, shared by every request.
pub struct Provisioner {
    pub grafana: GrafanaClient,
    pub store: Arc<dyn MappingStore>,
    pub settings: Settings,
    /// Counts deferred profile updates and kept last admins.
    pub metrics: Metrics,
    /// Per-process state of the Users operations (cached Grafana settings, create locks).
    pub users: UsersState,
    /// Per-process state of the Groups operations (Grafana version, known org members).
    pub groups: GroupsState,
}

impl Provisioner {
    pub fn new(
        grafana: GrafanaClient,
        store: Arc<dyn MappingStore>,
        settings: Settings,
        metrics: Metrics,
    ) -> Self {
        Self { grafana, store, settings, metrics, users: UsersState::new(), groups: GroupsState::default() }
    }
}

/// What one operation runs for.
pub struct Scope<'a> {
    pub prov: &'a Provisioner,
    /// The Grafana org the namespace names.
    pub org_id: i64,
    /// Who authenticated.
    pub principal: Principal,
    /// Absolute SCIM base URL as the client addressed it: `meta.location` and member `$ref`s are
    /// built from it.
    pub base_url: String,
    /// Whether this request may change users' roles (the policy's `role_sync` check).
    pub role_writes: crate::policy::RoleWrites,
}
