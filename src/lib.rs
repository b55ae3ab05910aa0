//! scim-sidecar: SCIM 2.0 provisioning for an unmodified Grafana.
//!
//! # Layout
//! - [`config`]: typed configuration, layering (defaults → TOML → env → flags) and validation.
//! - [`cli`]: the command line; [`commands`]: what each subcommand does.
//! - [`telemetry`], [`metrics`]: logs and Prometheus metrics.
//!
//! `docs/design.md` has the full module map.
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod audit;
pub mod body;
pub mod cli;
pub mod commands;
pub mod config;
pub mod edge;
pub mod entra;
#[doc(hidden)]
pub mod fuzzing;
pub mod go_json;
pub mod grafana;
pub mod guard;
pub mod login_gate;
pub mod metrics;
pub mod namespace;
pub mod policy;
pub mod provision;
pub mod proxy;
pub mod reconcile;
pub mod request_id;
pub mod route_path;
pub mod router;
pub mod scim;
pub mod scim_api;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod upstream;

pub use app::{run, App, Listeners, RunError};
