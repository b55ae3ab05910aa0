//! scim-sidecar: SCIM 2.0 provisioning for an unmodified Grafana.
//!
//! See `docs/design.md` for the module map.
#![forbid(unsafe_code)]

pub mod body;
pub mod config;
pub mod grafana;
pub mod store;
pub mod upstream;
