//! scim-sidecar: SCIM 2.0 provisioning for an unmodified Grafana.
//!
//! See `docs/design.md` for the module map.
#![forbid(unsafe_code)]

pub mod body;
pub mod config;
pub mod proxy;
pub mod server;
pub mod upstream;
