//! Policy: SCIM only with SAML logins, and SCIM group sync never together with Team Sync.
//!
//! Detection is split into pure interpreters of Grafana's answers ([`saml`], [`team_sync`],
//! [`logins`]) and the engine that asks Grafana, caches the report and hands out permits.

pub mod logins;
pub mod saml;
pub mod team_sync;
mod verdict;

pub use verdict::Verdict;
