//! The single integration-test binary: one module per area, shared helpers in `support`.

// Tests fail loudly by design; the crate-wide unwrap/expect lints are for production code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod audit;
mod audit_drift;
mod audit_queue;
mod cli;
mod edge;
mod entra;
mod login_gate;
mod login_gate_accounts;
mod login_gate_grafana;
mod login_gate_limits;
mod migrate_team_sync;
mod policy;
mod proxy;
mod reconcile;
mod scim_edge;
mod scim_groups;
mod scim_outcomes;
mod scim_users;
mod server;
mod shadow;
mod store_commands;
mod store_tls;
mod support;
