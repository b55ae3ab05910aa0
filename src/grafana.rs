//! The typed Grafana HTTP client ([`GrafanaClient`]), its JSON models ([`model`]) and
//! [`GrafanaError`].
//!
//! One method per Grafana endpoint the sidecar uses, always with the server-admin basic-auth
//! credential (or, for token validation, the token being checked), and `X-Grafana-Org-Id` on
//! every org-scoped call. No retry loops and no SCIM types here: callers decide what a failure
//! means.

pub mod client;
pub mod error;
pub mod model;
pub mod shadow;
#[cfg(test)]
mod tests;

pub use client::GrafanaClient;
pub use error::GrafanaError;
pub use model::Version;
