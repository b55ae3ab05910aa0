//! Policy: SCIM only with SAML logins, and SCIM group sync never together with Team Sync.
//!
//! Detection is split into pure interpreters of Grafana's answers ([`saml`], [`team_sync`],
//! [`logins`]) and the engine that asks Grafana, caches the report and hands out permits; the
//! passthrough guards read a [`Snapshot`] of its verdicts (this module imports nothing of them).

mod engine;
pub mod header_logins;
pub mod logins;
pub mod observe;
mod permit;
pub mod render;
pub mod report;
pub mod role_sync;
pub mod saml;
mod snapshot;
pub mod team_sync;
mod verdict;

pub use engine::PolicyEngine;
pub use permit::{GroupsPermit, PolicyRefusal, RoleWrites, UsersPermit, REFUSAL_STATUS};
pub use report::{CheckResult, PolicyReport};
pub use snapshot::Snapshot;
pub use verdict::Verdict;
