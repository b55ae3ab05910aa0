//! scim-sidecar: SCIM 2.0 provisioning for an unmodified Grafana.
//!
//! # Layout
//! - [`config`]: typed configuration, layering (defaults → TOML → env → flags) and validation.
//! - [`cli`]: the command line; [`commands`]: what each subcommand does.
//! - [`telemetry`], [`metrics`]: logs and Prometheus metrics.
//!
//! `docs/design.md` has the full module map.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod metrics;
pub mod policy;
pub mod scim;
pub mod scim_api;
pub mod telemetry;
