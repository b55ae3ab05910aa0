//! Every Prometheus metric the sidecar exports, in one registry served on the admin listener.
//!
//! Families are created here and handed out as cheap clones, so instrumented code never touches
//! the registry. Label values are small closed sets (route classes, outcomes), never user data.
//! The sidecar's own families carry the `scim_sidecar_` prefix; the process metrics
//! ([`process`]) keep the unprefixed `process_*` names every Prometheus client uses.

mod process;

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a served request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route class: `proxy`, `websocket`, `scim_users`, `scim_groups`, `scim_discovery`, `scim_other`, `saml_acs`, `guard`.
    pub route: &'static str,
    pub status: u16,
}

/// Labels carrying only a route class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

/// Labels naming a kind or cause.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// Labels of a Grafana API call the sidecar made: its route (`GET /api/users/:id`, ids and names
/// replaced, see `grafana::client`) and how it ended (`ok`, `client_error`, `server_error`,
/// `timeout`, `transport`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrafanaCallLabels {
    pub kind: String,
    pub outcome: &'static str,
}

/// Labels of a SCIM operation. Built only from [`ScimResource`], [`ScimOperation`] and
/// [`ScimOutcome`], so every resource type counts under the same values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScimOpLabels {
    pub resource: &'static str,
    pub operation: &'static str,
    pub outcome: &'static str,
}

impl ScimOpLabels {
    pub fn new(resource: ScimResource, operation: ScimOperation, outcome: ScimOutcome) -> Self {
        Self { resource: resource.label(), operation: operation.label(), outcome: outcome.label() }
    }
}

/// `resource` of `scim_operations_total`: the SCIM resource type.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ScimResource {
    User,
    Group,
}

impl ScimResource {
    pub fn label(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

/// `operation` of `scim_operations_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ScimOperation {
    /// `GET /{Type}/{id}`.
    Get,
    /// `GET /{Type}`.
    List,
    /// `POST /{Type}/.search`.
    Search,
    /// `POST /{Type}`.
    Create,
    /// `PUT /{Type}/{id}`.
    Replace,
    /// `PATCH /{Type}/{id}`.
    Patch,
    /// `DELETE /{Type}/{id}`.
    Delete,
    /// A step of a user's deactivation, counted by provisioning (only with
    /// [`ScimOutcome::LastAdminKept`]).
    Deactivate,
}

impl ScimOperation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Search => "search",
            Self::Create => "create",
            Self::Replace => "replace",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::Deactivate => "deactivate",
        }
    }
}

/// `outcome` of `scim_operations_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ScimOutcome {
    /// Answered with 2xx or 304.
    Ok,
    /// Answered with a 4xx (policy, authority, uniqueness, a bad request).
    Refused,
    /// Answered with a 5xx (Grafana or the store failed).
    Error,
    /// A deactivation left Grafana's last org admin in its org (sessions revoked instead).
    LastAdminKept,
}

impl ScimOutcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::Error => "error",
            Self::LastAdminKept => "last_admin_kept",
        }
    }
}

/// Labels of a policy check.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    pub check: &'static str,
}

/// Labels naming a SCIM namespace (`default`, `org-<N>`): as many as Grafana has orgs.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    pub namespace: String,
}

/// Labels naming a resource limit (`connections`, `body_read_timeout`, `buffered_bodies`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

/// Every metric family, cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Requests served, by route class and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency (until response headers), by route class.
    pub latency: Family<RouteLabels, Histogram>,
    /// Failures talking to Grafana on the proxy path: `connect`, `timeout`, `broken`.
    pub upstream_errors: Family<KindLabels, Counter>,
    /// SCIM operations by resource, operation and outcome.
    pub scim_operations: Family<ScimOpLabels, Counter>,
    /// Grafana API calls the sidecar made (SCIM, policy, guards, the login gate), by route and
    /// outcome. Proxied requests are not calls: they are in `requests`.
    pub grafana_calls: Family<GrafanaCallLabels, Counter>,
    /// SCIM attribute updates Grafana refused for SAML users (applied at their next login).
    pub deferred_updates: Counter,
    /// Legacy or vendor-specific request shapes the SCIM normaliser rewrote, by shape.
    pub normalised_shapes: Family<KindLabels, Counter>,
    /// Policy checks: 1 satisfied, 0 violated, -1 undetermined.
    pub policy_state: Family<CheckLabels, Gauge>,
    /// Requests refused by policy, by check.
    pub policy_refusals: Family<CheckLabels, Counter>,
    /// SAML login gate decisions: `forwarded`, `externalid_mismatch`, `deactivated`, `not_provisioned`, `invalid`, `unavailable`.
    pub gate_decisions: Family<KindLabels, Counter>,
    /// Passthrough requests refused because they would edit SCIM-managed objects, by kind.
    pub guard_refusals: Family<KindLabels, Counter>,
    /// Connections or requests turned away by a resource limit of `[server]`, by limit.
    pub limit_rejections: Family<LimitLabels, Counter>,
    /// Audit records that could not be stored (queue full or store failure); the audited
    /// request itself succeeded.
    pub audit_failures: Counter,
    /// SCIM role values mapped to no Grafana role (kept in SCIM), by namespace.
    pub unmapped_roles: Family<NamespaceLabels, Counter>,
    /// Changes `reconcile` would make, by kind (`user`, `org_membership`, `team`, `team_member`,
    /// `team_sync_link`), from the last check `[reconcile] interval` ran inside `serve`.
    pub drift_objects: Family<KindLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s: proxy overhead lives at the low end, slow Grafana calls at the top.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector::new()));
        let registry = root.sub_registry_with_prefix("scim_sidecar");
        registry.register(
            "build",
            "The running binary: its version, and its commit when the build was given one",
            prometheus_client::metrics::info::Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("commit", option_env!("SCIM_SIDECAR_COMMIT").filter(|c| !c.is_empty()).unwrap_or("unknown")),
            ]),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let upstream_errors = Family::default();
        let scim_operations = Family::default();
        let grafana_calls = Family::default();
        let deferred_updates = Counter::default();
        let normalised_shapes = Family::default();
        let policy_state = Family::default();
        let policy_refusals = Family::default();
        let gate_decisions = Family::default();
        let guard_refusals = Family::default();
        let limit_rejections = Family::default();
        let audit_failures = Counter::default();
        let unmapped_roles = Family::default();
        let drift_objects = Family::default();
        registry.register("http_requests", "Requests served, by route class and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to response headers, by route class",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Proxy failures talking to Grafana, by kind",
            upstream_errors.clone(),
        );
        registry.register(
            "scim_operations",
            "SCIM operations by resource, operation and outcome",
            scim_operations.clone(),
        );
        registry.register(
            "grafana_calls",
            "Grafana API calls the sidecar made itself (SCIM, policy, guards, login gate), by route and outcome",
            grafana_calls.clone(),
        );
        registry.register(
            "scim_deferred_updates",
            "SCIM updates Grafana refused for SAML users, applied at next login",
            deferred_updates.clone(),
        );
        registry.register(
            "scim_normalised_shapes",
            "Vendor request shapes rewritten by the SCIM normaliser",
            normalised_shapes.clone(),
        );
        registry.register(
            "policy_state",
            "Policy checks: 1 satisfied, 0 violated, -1 undetermined",
            policy_state.clone(),
        );
        registry.register("policy_refusals", "Requests refused by policy, by check", policy_refusals.clone());
        registry.register("saml_gate_decisions", "SAML login gate decisions", gate_decisions.clone());
        registry.register(
            "guard_refusals",
            "Passthrough edits of SCIM-managed objects refused",
            guard_refusals.clone(),
        );
        registry.register(
            "limit_rejections",
            "Connections and requests turned away by a [server] resource limit, by limit",
            limit_rejections.clone(),
        );
        registry.register(
            "audit_failures",
            "Audit records that could not be stored (the audited request still succeeded)",
            audit_failures.clone(),
        );
        registry.register(
            "unmapped_roles",
            "SCIM role values mapped to no Grafana org role (kept in SCIM), by namespace",
            unmapped_roles.clone(),
        );
        registry.register(
            "drift_objects",
            "Changes reconcile would make to Grafana, by kind, as of the last periodic check",
            drift_objects.clone(),
        );
        Self {
            registry: Arc::new(root),
            requests,
            latency,
            upstream_errors,
            scim_operations,
            grafana_calls,
            deferred_updates,
            normalised_shapes,
            policy_state,
            policy_refusals,
            gate_decisions,
            guard_refusals,
            limit_rejections,
            audit_failures,
            unmapped_roles,
            drift_objects,
        }
    }

    /// Records one served request.
    pub fn observe_request(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { route, status }).inc();
        self.latency.get_or_create(&RouteLabels { route }).observe(seconds);
    }

    /// The Prometheus text exposition of every family.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_requests() {
        let m = Metrics::new();
        m.observe_request("proxy", 200, 0.002);
        m.upstream_errors.get_or_create(&KindLabels { kind: "timeout" }).inc();
        let text = m.render();
        assert!(
            text.contains("scim_sidecar_http_requests_total{route=\"proxy\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("scim_sidecar_upstream_errors_total{kind=\"timeout\"} 1"), "{text}");
        assert!(text.contains("scim_sidecar_http_request_duration_seconds_bucket"), "{text}");
        let build = format!("scim_sidecar_build_info{{version=\"{}\",commit=", env!("CARGO_PKG_VERSION"));
        assert!(text.contains(&build), "{text}");
        assert!(text.contains("\nprocess_start_time_seconds "), "{text}");
        #[cfg(target_os = "linux")]
        assert!(
            text.contains("\nprocess_resident_memory_bytes ")
                && text.contains("\nprocess_cpu_seconds_total "),
            "{text}"
        );
    }
}
