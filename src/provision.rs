//! SCIM ↔ Grafana orchestration. [`translate`] is the pure mapping; the orchestration of users
//! and groups (ordered, idempotent steps over the Grafana client and the mapping store) builds on it.

pub mod groups;
pub mod identity;
pub mod org_join;
pub mod translate;
pub mod users;
