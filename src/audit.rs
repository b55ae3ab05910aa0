//! The audit log: one record for every change the sidecar makes on behalf of SCIM and for every
//! refusal by the policy, the guards and the login gate.
//!
//! - [`record`]: the pure [`AuditRecord`] (who, what, changed fields before → after, outcome).
//! - [`diff`]: changed fields between two SCIM representations, by attribute path.
//! - [`notes`]: what an operation noticed (Grafana calls, deferrals, drift), per task.
//! - [`query`]: the filters `scim-sidecar audit` and `GET /audit` share.
//! - [`recorder`]: the [`Auditor`] every component records through. It logs each record at once
//!   as one event under the `scim_sidecar::audit` target, and hands it to a background writer
//!   that stores batches in the mapping store (`store::audit`) and prunes by retention, off the
//!   request's path. An audit fault never fails the audited request: it is counted in
//!   `scim_sidecar_audit_failures_total` and logged.
//!
//! Passwords and tokens are never recorded; emails and names are the operator's data and are.

pub mod diff;
pub mod notes;
pub mod query;
pub mod record;
pub mod recorder;

pub use query::AuditQuery;
pub use record::{encode, Actor, AuditRecord, Change, Outcome, Subject};
pub use recorder::Auditor;

/// The tracing target of audit log events.
pub const TARGET: &str = "scim_sidecar::audit";
