//! SCIM ↔ Grafana orchestration: typed operations in, domain outcomes out.
//!
//! The SCIM edge (`scim_api`) decodes a request into an [`Op`] and calls [`Users`] or [`Groups`]
//! through the [`Resource`] trait with a [`Scope`] (the [`Provisioner`]'s shared state plus the
//! request's org, principal and base URL). The answer is an [`Outcome`] or a [`ProvisionError`];
//! nothing here knows HTTP, and nothing here imports the edge. [`translate`] is the pure mapping
//! between SCIM documents and Grafana's users; [`identity`] keeps stable SCIM ids for what Grafana
//! holds; [`org_join`] adds users to orgs by id; [`migration`] moves Team-Sync-linked teams to
//! SCIM groups (`migrate-team-sync`).

mod error;
pub mod groups;
pub mod identity;
pub mod migration;
mod op;
pub mod org_join;
mod provisioner;
mod resource;
pub mod roles;
pub mod translate;
pub mod users;

pub use error::ProvisionError;
pub use error::{grafana_error, store_error};
pub(crate) use op::expect_version;
pub use op::{Op, Outcome, Page, Shown};
pub use provisioner::{Principal, Provisioner, Scope, Settings};
pub use resource::{Groups, Resource, Users};

#[cfg(test)]
mod tests;
