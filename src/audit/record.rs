//! The audit record: a pure value describing one change the sidecar made, or one refusal.
//!
//! It knows nothing of HTTP, the store or Grafana's client; the recorder ([`super::Auditor`])
//! stores and logs it, the store persists it, and the `audit` command and `GET /audit` read it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Applied,
    /// The request changed nothing (a replace or PATCH to the current state).
    NoChange,
    /// Grafana refused an update of a SAML user; the sidecar kept it and retries on login.
    Deferred,
    /// Shadow mode: the change was planned, not made.
    Planned,
    /// The policy, a guard or the login gate refused the request.
    Refused,
    /// The change failed; `reason` says why.
    Failed,
    /// Seen in passing: a known Grafana object gone, or changed outside SCIM.
    Drift,
}

impl Outcome {
    /// The stored and printed label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::NoChange => "no_change",
            Self::Deferred => "deferred",
            Self::Planned => "planned",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Drift => "drift",
        }
    }

    /// The outcome a label names.
    pub fn parse(label: &str) -> Option<Self> {
        [
            Self::Applied,
            Self::NoChange,
            Self::Deferred,
            Self::Planned,
            Self::Refused,
            Self::Failed,
            Self::Drift,
        ]
        .into_iter()
        .find(|o| o.label() == label)
    }
}

/// One changed field, named by its SCIM attribute path (`userName`, `name.givenName`,
/// `emails[primary]`, `members`). For `members`, `before` holds the removed member ids and
/// `after` the added ones, not the whole lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub before: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub after: Value,
}

/// Who asked: the token's name (or the Grafana service account), and the client address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `[scim] tokens` entry name, `static-token` for an unnamed one, `service-account:<name>` for
    /// a Grafana token; empty when nobody authenticated (a passthrough or login refusal).
    pub name: String,
    /// The client's address as the edge saw it.
    pub client: String,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: DateTime<Utc>,
    pub request_id: String,
    pub actor: Actor,
    /// `default` or `org-<N>`.
    pub namespace: String,
    pub org_id: i64,
    /// What kind of record: `scim` (a SCIM write), `policy`, `guard`, `login_gate` (refusals),
    /// `drift`.
    pub kind: String,
    /// `User`, `Group`, or what a refusal concerned (may be empty).
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana_id: Option<i64>,
    /// `userName` of the user concerned (for `--user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `displayName` of the group concerned (for `--group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// `create`, `replace`, `patch`, `delete`, or the refused request (`POST /api/admin/users`).
    pub operation: String,
    pub outcome: Outcome,
    /// Why it was refused or failed, or what drifted; on an applied write, what it noted
    /// (role values mapped to no Grafana role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The Grafana calls made, as `METHOD route (status)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grafana_calls: Vec<String>,
    /// Whom a refused login named: the verified assertion's subject as the gate read it (never
    /// the assertion itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
}

/// The person a SAML login named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl AuditRecord {
    /// A record of `kind` stamped now, with everything else empty.
    pub fn new(kind: &str, operation: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            time: Utc::now(),
            request_id: String::new(),
            actor: Actor::default(),
            namespace: String::new(),
            org_id: 0,
            kind: kind.to_owned(),
            resource_type: String::new(),
            scim_id: None,
            grafana_id: None,
            user_name: None,
            group_name: None,
            operation: operation.into(),
            outcome,
            reason: None,
            changes: Vec::new(),
            grafana_calls: Vec::new(),
            subject: None,
        }
    }

    /// The namespace label of a Grafana org.
    pub fn namespace_of(org_id: i64) -> String {
        crate::namespace::name_of(org_id)
    }
}
